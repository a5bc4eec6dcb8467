//! A real `intent serve` process for the tests that need one: a fresh data folder, keys made by
//! the CLI, the server started on a free loopback port, and JSON over HTTP.

use super::root;
use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh (emptied) folder `intent-<suite>-it-<pid>-<name>` in the temp folder.
pub fn data_dir(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("intent-{suite}-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Makes a key of `kind` with `intent keys create`; returns its secret.
pub fn key(data: &Path, kind: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_intent"))
        .args(["keys", "create", "--kind", kind, "--name", "test", "--data"])
        .arg(data)
        .output()
        .expect("run intent keys");
    assert!(
        out.status.success(),
        "intent keys create succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running `intent serve`; killed (SIGKILL) when dropped.
pub struct Process {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Process {
    /// Starts `intent serve` on `data` with `plan` and `extra` flags, and waits until it is
    /// ready, for at most `ready_within`.
    pub fn start(data: &Path, plan: &Path, extra: &[&str], ready_within: Duration) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_intent"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--plan")
            .arg(plan)
            .args(extra)
            .current_dir(root())
            .env("INTENT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start intent serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on ADDR` first, got {line:?}"))
            .to_string();
        let server = Process { child, url };
        let started = Instant::now();
        while server.get("/readyz", None).0 != 200 {
            assert!(
                started.elapsed() < ready_within,
                "the server is not ready within {ready_within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// A client that hands back every status as an answer.
    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    /// GETs `path`, with an admin token when given.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = Self::agent().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.call())
    }

    /// POSTs JSON to `path` with an `Authorization` header.
    pub fn post_as(&self, path: &str, authorization: &str, body: &Value) -> (u16, Value) {
        post_as(&Self::agent(), &self.url, path, authorization, body)
    }

    /// Stops the server as a crash would.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `Authorization` header of a write key (HTTP Basic, as the SDKs send it).
pub fn basic(write_key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:"))
    )
}

/// POSTs JSON to `url` + `path` with an `Authorization` header.
pub fn post_as(
    agent: &ureq::Agent,
    url: &str,
    path: &str,
    authorization: &str,
    body: &Value,
) -> (u16, Value) {
    answer(
        agent
            .post(format!("{url}{path}"))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    )
}

/// The status and JSON body of an answer; `(0, Null)` when none came.
fn answer(res: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    match res {
        Ok(mut res) => {
            let status = res.status().as_u16();
            let text = res.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}
