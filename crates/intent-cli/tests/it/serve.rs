//! `intent serve` as a real process: keys made by the CLI, ingestion over a socket, restarts
//! that rebuild live state from the log, `kill -9` in the middle of a load, plan files watched.

use super::process::{self, Process, basic, key};
use super::root;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn data_dir(name: &str) -> PathBuf {
    process::data_dir("serve", name)
}

/// A running `intent serve`; killed (SIGKILL) when dropped.
struct Server(Process);

impl Server {
    fn start(data: &Path, plan: &Path, extra: &[&str]) -> Server {
        Server(Process::start(data, plan, extra, Duration::from_secs(60)))
    }

    fn agent() -> ureq::Agent {
        Process::agent()
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.0.get(path, token)
    }

    fn post(&self, path: &str, write_key: &str, body: &Value) -> (u16, Value) {
        self.0.post_as(path, &basic(write_key), body)
    }

    fn kill9(self) {
        self.0.kill9();
    }
}

fn post(agent: &ureq::Agent, url: &str, path: &str, write_key: &str, body: &Value) -> (u16, Value) {
    process::post_as(agent, url, path, &basic(write_key), body)
}

fn showroom() -> PathBuf {
    root().join("plans/showroom.yaml")
}

#[test]
fn restart_rebuilds_live_state_from_the_log() {
    let data = data_dir("restart");
    let w = key(&data, "write");
    let a = key(&data, "admin");
    let server = Server::start(&data, &showroom(), &[]);
    let batch = json!({"batch": [
        {"type": "page", "anonymousId": "kiosk-7", "messageId": "r1",
         "timestamp": "2026-11-20T10:00:00Z",
         "properties": {"category": "financing", "location": "Gdańsk", "model": "RAV4"},
         "context": {"channel": "showroom", "traits": {"phone": "+48 600 100 200"}}},
        {"type": "identify", "anonymousId": "kiosk-7", "userId": "jan", "messageId": "r2",
         "timestamp": "2026-11-20T10:01:00Z", "traits": {"email": "jan@example.pl"}},
        {"type": "track", "userId": "jan", "event": "Offer Downloaded", "messageId": "r3",
         "timestamp": "2026-11-20T10:02:00Z"},
        {"type": "track", "event": "no id", "messageId": "r4"}
    ]});
    let (status, body) = server.post("/v1/batch", &w, &batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["rejected"][0]["field"], "batch[3].userId");
    let at = "?at=2026-11-21T00:00:00Z";
    let (_, before) = server.get(&format!("/v1/profiles/jan{at}"), Some(&a));
    assert_eq!(before["events"], 3);
    assert_eq!(before["ids"], json!(["anon:kiosk-7", "user:jan"]));
    server.kill9();

    let server = Server::start(&data, &showroom(), &[]);
    assert_eq!(before["location"], "Gdańsk");
    assert_eq!(before["traits"]["phone"], "+48 600 100 200");
    let (_, after) = server.get(&format!("/v1/profiles/kiosk-7{at}"), Some(&a));
    for field in [
        "id",
        "ids",
        "events",
        "score",
        "tier",
        "traits",
        "explanation",
        "location",
        "channels",
        "groups",
    ] {
        assert_eq!(after[field], before[field], "{field} after restart");
    }
    let (_, found) = server.get("/v1/search?q=%2B48%20600%20100%20200", Some(&a));
    assert_eq!(
        found["items"][0]["id"], "user:jan",
        "the trait index is rebuilt too"
    );
    let (_, q) = server.get("/v1/queue?location=Gda%C5%84sk&channel=showroom", Some(&a));
    assert_eq!(q["total"], 1, "facets are rebuilt too: {q}");
    // The same messages again are repeats: acknowledged, counted once.
    let (status, body) = server.post("/v1/batch", &w, &batch);
    assert_eq!(status, 200);
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(3))
    );
    // Both rejects (one per request) are kept.
    let (_, q) = server.get("/v1/quarantine", Some(&a));
    assert_eq!(q["total"], 2);
    let (_, plans) = server.get("/v1/plans", Some(&a));
    assert_eq!(
        plans["versions"].as_array().unwrap().len(),
        1,
        "same plan, same version"
    );
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// Four writers send batches of 25 events, each batch for its own user; the server is killed
/// with SIGKILL mid-load. After a restart every acknowledged batch is there in full, and every
/// batch that was in flight is either all there or not at all.
#[test]
fn kill_9_mid_load_loses_no_acknowledged_event_and_applies_no_half_batch() {
    let data = data_dir("kill9");
    let w = key(&data, "write");
    let a = key(&data, "admin");
    let server = Server::start(&data, &showroom(), &[]);
    let url = server.0.url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (url, w, stop, acked, sent) = (
                url.clone(),
                w.clone(),
                stop.clone(),
                acked.clone(),
                sent.clone(),
            );
            std::thread::spawn(move || {
                let agent = Server::agent();
                for b in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let user = format!("w{t}-b{b}");
                    let batch: Vec<Value> = (0..25)
                        .map(|i| {
                            json!({"type": "track", "userId": user, "event": "Offer Downloaded",
                                   "messageId": format!("{user}-{i}"),
                                   "timestamp": format!("2026-11-20T10:{:02}:00Z", i)})
                        })
                        .collect();
                    sent.lock().unwrap().push(user.clone());
                    let (status, _) = post(&agent, &url, "/v1/batch", &w, &json!({"batch": batch}));
                    if status == 200 {
                        acked.lock().unwrap().push(user);
                    } else {
                        break; // the server is gone
                    }
                }
            })
        })
        .collect();
    // Let the load run, then kill once enough has been acknowledged.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in writers {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    assert!(
        acked.len() >= 200,
        "only {} batches acknowledged",
        acked.len()
    );

    let server = Server::start(&data, &showroom(), &[]);
    let agent = Server::agent();
    let mut in_flight_stored = 0;
    for user in &sent {
        let (status, p) = server.get(&format!("/v1/profiles/user:{user}"), Some(&a));
        let events = if status == 200 {
            p["events"].as_u64().unwrap()
        } else {
            0
        };
        if acked.contains(user) {
            assert_eq!(events, 25, "acknowledged batch {user} lost events");
        } else {
            assert!(
                events == 0 || events == 25,
                "batch {user} half applied: {events}"
            );
            in_flight_stored += usize::from(events == 25);
        }
    }
    // The live state after restart is exactly the log: no profile beyond the batches sent.
    let (_, queue) = server.get("/v1/queue?limit=1", Some(&a));
    assert_eq!(
        queue["total"].as_u64().unwrap() as usize,
        acked.len() + in_flight_stored
    );
    let (status, _) = post(
        &agent,
        &server.0.url,
        "/v1/track",
        &w,
        &json!({"userId": "after", "event": "X"}),
    );
    assert_eq!(status, 200, "the restarted server takes events");
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn a_watched_plan_file_becomes_a_new_version_and_rescores() {
    let data = data_dir("watch");
    let w = key(&data, "write");
    let a = key(&data, "admin");
    let plan = data_dir("watch-plan.yaml");
    std::fs::write(&plan, std::fs::read_to_string(showroom()).unwrap()).unwrap();
    let server = Server::start(&data, &plan, &["--watch"]);
    let (status, _) = server.post(
        "/v1/track",
        &w,
        &json!({"userId": "ola", "event": "Offer Downloaded", "messageId": "o1"}),
    );
    assert_eq!(status, 200);
    let (_, p) = server.get("/v1/profiles/ola", Some(&a));
    let before = p["score"].as_f64().unwrap();
    assert!(before > 14.0, "offer download scores 15: {p}");

    // A broken edit changes nothing.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&plan, "version: 1\nname: broken\nsignals: 7\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let (_, plans) = server.get("/v1/plans", Some(&a));
    assert_eq!(plans["live"], 1);
    assert_eq!(plans["versions"].as_array().unwrap().len(), 1);

    // A valid edit doubles the offer's points.
    let text = std::fs::read_to_string(showroom())
        .unwrap()
        .replace("points: 15\n", "points: 30\n");
    std::fs::write(&plan, text).unwrap();
    let started = Instant::now();
    loop {
        let (_, plans) = server.get("/v1/plans", Some(&a));
        if plans["live"] == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no new version: {plans}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, p) = server.get("/v1/profiles/ola", Some(&a));
    let after = p["score"].as_f64().unwrap();
    assert!((after - 2.0 * before).abs() < 0.1, "{before} -> {after}");
    assert_eq!(p["plan_version"], 2);
    let (status, old) = server.get("/v1/plans/1", Some(&a));
    assert_eq!(status, 200);
    assert!(old["text"].as_str().unwrap().contains("points: 15\n"));
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
    let _ = std::fs::remove_file(&plan);
}

#[test]
fn keys_are_listed_without_secrets_and_revoked_keys_are_refused() {
    let data = data_dir("keys");
    let w = key(&data, "write");
    let a = key(&data, "admin");
    let server = Server::start(&data, &showroom(), &[]);
    let body = json!({"userId": "k", "event": "X"});
    assert_eq!(server.post("/v1/track", &w, &body).0, 200);
    let list = Command::new(env!("CARGO_BIN_EXE_intent"))
        .args(["keys", "list", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(
        text.contains("write\ttest") && text.contains("admin\ttest"),
        "{text}"
    );
    assert!(
        !text.contains(&w) && !text.contains(&a),
        "secrets are never shown again"
    );
    let id = text
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let revoke = Command::new(env!("CARGO_BIN_EXE_intent"))
        .args(["keys", "revoke", &id, "--data"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(revoke.success());
    // A new key works within 250 ms; the revoked one is refused within the refresh interval.
    let w2 = key(&data, "write");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.post("/v1/track", &w2, &body).0, 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(server.post("/v1/track", &w, &body).0, 401);
    assert_eq!(server.post("/v1/track", &w2, &body).0, 200);
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// Segment's official SDKs (`@segment/analytics-node`, `analytics-python`) send real traffic to a
/// real server; `tests/sdk/run.sh` checks the profiles they make. `.ci/run` installs both; a
/// machine without them skips this test, except under `CI=true`.
#[test]
fn official_segment_sdks_send_real_traffic() {
    let sdk = root().join("tests/sdk");
    let node_ready = sdk.join("node_modules/@segment/analytics-node").exists();
    let python_ready = Command::new("python3")
        .args(["-c", "import segment.analytics"])
        .status()
        .is_ok_and(|s| s.success());
    if !(node_ready && python_ready) {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install the SDKs (npm ci in tests/sdk; pip install segment-analytics-python)"
        );
        eprintln!("skipped: the SDKs are not installed (see .ci/run)");
        return;
    }
    let out = Command::new("bash")
        .arg(sdk.join("run.sh"))
        .arg(env!("CARGO_BIN_EXE_intent"))
        .current_dir(root())
        .output()
        .expect("run tests/sdk/run.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SDK tests failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("sdk: 3 passed, 0 failed"), "{text}");
}

/// The browser SDK (`@segment/analytics-next`) in headless Chromium, from a page on another
/// origin: settings route, short paths, `text/plain`, CORS preflights; then the web dashboard
/// (`e2e/dashboard.mjs`: login, the live queue, tasks, funnel, learnings, plan, Polish).
/// `.ci/run` installs Chromium and the npm packages; without them this is skipped, except under
/// `CI=true`.
#[test]
fn the_browser_sdk_tracks_from_a_kiosk_page() {
    let e2e = root().join("e2e");
    let ready = e2e.join("node_modules/playwright-core").exists()
        && Path::new("/usr/bin/chromium").exists();
    if !ready {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium and the e2e npm packages (see .ci/run)"
        );
        eprintln!("skipped: chromium or e2e/node_modules missing (see .ci/run)");
        return;
    }
    let out = Command::new("bash")
        .arg(e2e.join("run.sh"))
        .arg(env!("CARGO_BIN_EXE_intent"))
        .current_dir(root())
        .output()
        .expect("run e2e/run.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser SDK test failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("e2e: browser SDK passed"), "{text}");
    assert!(text.contains("e2e: dashboard passed"), "{text}");
}

/// `intent gen | intent send`: generated history posted in batches arrives whole; sending it
/// again stores nothing new (every message id is a repeat).
#[test]
fn intent_send_posts_generated_history() {
    let data = data_dir("send");
    let w = key(&data, "write");
    let a = key(&data, "admin");
    let server = Server::start(&data, &showroom(), &[]);
    let history = data_dir("send.ndjson");
    let gen_out = Command::new(env!("CARGO_BIN_EXE_intent"))
        .args([
            "gen",
            "--profiles",
            "300",
            "--days",
            "20",
            "--seed",
            "5",
            "--output",
        ])
        .arg(&history)
        .status()
        .unwrap();
    assert!(gen_out.success());
    let lines = std::fs::read_to_string(&history).unwrap().lines().count();
    let send = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_intent"))
            .args([
                "send",
                "--url",
                &server.0.url,
                "--write-key",
                &w,
                "--batch",
                "37",
            ])
            .args(extra)
            .arg(&history)
            .env("CI", "true")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let first = send(&[]);
    // Every line is accounted for: stored, a repeat the generator made on purpose, or rejected.
    let n = |text: &str, what: &str| -> usize {
        let at = text
            .find(what)
            .unwrap_or_else(|| panic!("{what} in {text}"));
        text[..at]
            .rsplit(|c: char| !c.is_ascii_digit() && c != ' ')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (accepted, repeats) = (n(&first, " accepted"), n(&first, " repeats"));
    assert_eq!(
        accepted + repeats + n(&first, " rejected"),
        lines,
        "{first}"
    );
    assert!(accepted > 1000, "{first}");
    let (_, seq) = server.get("/readyz", None);
    assert_eq!(seq["seq"].as_u64().unwrap() as usize, accepted);
    let second = send(&["--concurrency", "2"]);
    assert_eq!(n(&second, " accepted"), 0, "{second}");
    assert_eq!(n(&second, " repeats"), accepted + repeats, "{second}");
    let (_, q) = server.get("/v1/queue?limit=1", Some(&a));
    assert!(q["total"].as_u64().unwrap() >= 300, "{q}");
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
    let _ = std::fs::remove_file(&history);
}
