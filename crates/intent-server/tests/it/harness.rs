//! A service over a temporary SQLite store, driven in process through the router with
//! `tower::ServiceExt::oneshot` (no sockets), in the style of axum's testing example.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use intent_core::plan::Plan;
use intent_server::Config;
use intent_server::auth::{hash_secret, new_secret};
use intent_server::live::Opener;
use intent_store::{KeyKind, Keys, SqliteStore, Store};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The showroom plan, as `intent serve` loads it by default.
pub const SHOWROOM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plans/showroom.yaml");

/// The showroom plan's text.
pub fn showroom() -> String {
    std::fs::read_to_string(SHOWROOM).expect("plans/showroom.yaml")
}

/// A folder under the system's temp folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "intent-server-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Who a request claims to be.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// HTTP Basic with the secret as the user name and an empty password.
    Basic(String),
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} response is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self.json()
    }

    /// Asserts an error response: the status, `success: false` and the error's code; returns
    /// the `error` object.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let v = self.expect(status);
        assert_eq!(v["success"], false, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        // Repeated at the top, where Segment's SDKs look.
        assert_eq!(v["code"], code, "{v}");
        assert_eq!(v["message"], v["error"]["message"], "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        assert!(v["error"]["field"].is_string(), "{v}");
        v["error"].clone()
    }
}

/// A running service with a write key and an admin token.
pub struct App {
    pub router: Router,
    /// A write key of the source `website`.
    pub write: String,
    /// An admin token.
    pub admin: String,
    /// The write key's id in the store.
    pub write_id: i64,
    dir: TempDir,
}

impl App {
    /// Starts a service over a fresh store with the showroom plan and waits until it is ready.
    pub async fn start() -> App {
        App::start_with(showroom()).await
    }

    /// Starts a service over a fresh store with a plan and waits until it is ready.
    pub async fn start_with(text: String) -> App {
        let dir = TempDir::new();
        let write = new_secret(KeyKind::Write);
        let admin = new_secret(KeyKind::Admin);
        let write_id = {
            let mut store = SqliteStore::open(&dir.0).expect("open store");
            let now = intent_server::now_ms();
            let id = store
                .add_key(KeyKind::Write, "website", &hash_secret(&write), now)
                .expect("write key");
            store
                .add_key(KeyKind::Admin, "admin", &hash_secret(&admin), now)
                .expect("admin token");
            id
        };
        let data = dir.0.clone();
        let opener: Opener = Arc::new(move || {
            SqliteStore::open(&data)
                .map(|s| Box::new(s) as Box<dyn Store>)
                .map_err(|e| e.to_string())
        });
        let plan = Plan::parse(&text, SHOWROOM).expect("the plan is valid");
        let service = intent_server::start(Config {
            opener,
            plan: (plan, text, "plans/showroom.yaml".into()),
            watch: None,
            webhooks: Default::default(),
            analyst: None,
        })
        .expect("start the service");
        let state = service.state;
        let started = Instant::now();
        while !state.shared.ready.load(Ordering::Acquire) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the service did not get ready"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        App {
            router: intent_server::api::router(state),
            write,
            admin,
            write_id,
            dir,
        }
    }

    /// Another connection to the service's store (as `intent keys` opens it).
    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.dir.0).expect("open store")
    }

    /// Sends one request through the router.
    pub async fn call(&self, req: Request<Body>) -> Resp {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("read the body");
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with `auth`, extra headers and a body.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        match auth {
            Auth::None => {}
            Auth::Basic(s) => {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{s}:"));
                b = b.header(header::AUTHORIZATION, format!("Basic {token}"));
            }
            Auth::Bearer(s) => b = b.header(header::AUTHORIZATION, format!("Bearer {s}")),
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.call(b.body(body.into()).expect("request")).await
    }

    /// POSTs JSON.
    pub async fn post(&self, uri: &str, auth: &Auth, body: &Value) -> Resp {
        self.send(
            Method::POST,
            uri,
            auth,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    /// POSTs JSON with the write key as HTTP Basic.
    pub async fn ingest(&self, uri: &str, body: &Value) -> Resp {
        self.post(uri, &self.basic(), body).await
    }

    /// GETs with `auth`.
    pub async fn get_as(&self, uri: &str, auth: &Auth) -> Resp {
        self.send(Method::GET, uri, auth, &[], Body::empty()).await
    }

    /// GETs with the admin token and expects 200 and JSON.
    #[track_caller]
    pub fn get(&self, uri: &str) -> impl std::future::Future<Output = Value> + '_ {
        let uri = uri.to_string();
        let caller = std::panic::Location::caller();
        async move {
            let r = self.get_as(&uri, &self.bearer()).await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "GET {uri} (from {caller}): {}",
                r.text()
            );
            r.json()
        }
    }

    /// DELETEs with `auth`.
    pub async fn delete_as(&self, uri: &str, auth: &Auth) -> Resp {
        self.send(Method::DELETE, uri, auth, &[], Body::empty())
            .await
    }

    /// GETs `uri` with the admin token until `done` holds for its JSON (the follow-up desk and
    /// the webhook dispatcher work after the request that caused them is answered); panics
    /// with the last answer after 5 s.
    #[track_caller]
    pub fn wait_for<'a>(
        &'a self,
        uri: &'a str,
        done: impl Fn(&Value) -> bool + 'a,
    ) -> impl std::future::Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let v = self.get(uri).await;
                if done(&v) {
                    return v;
                }
                assert!(
                    Instant::now() < deadline,
                    "GET {uri} (from {caller}): still not there after 5 s: {v}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// The write key as HTTP Basic.
    pub fn basic(&self) -> Auth {
        Auth::Basic(self.write.clone())
    }

    /// The admin token as a bearer token.
    pub fn bearer(&self) -> Auth {
        Auth::Bearer(self.admin.clone())
    }

    /// The Prometheus text.
    pub async fn metrics(&self) -> String {
        let r = self.get_as("/metrics", &Auth::None).await;
        assert_eq!(r.status, StatusCode::OK);
        r.text()
    }

    /// Profiles in live state, as the queue counts them.
    pub async fn profile_count(&self) -> u64 {
        self.get("/v1/queue").await["total"]
            .as_u64()
            .expect("total")
    }

    /// Messages in the quarantine.
    pub async fn quarantined(&self) -> u64 {
        self.get("/v1/quarantine").await["total"]
            .as_u64()
            .expect("total")
    }
}

/// The value of an unlabelled metric (`name value`) in Prometheus text.
#[track_caller]
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no metric `{name}` in:\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}

/// Now, as the server formats times.
pub fn now() -> i64 {
    intent_server::now_ms()
}

/// An http:// URL on a loopback port nothing listens on (bound, then closed), so every webhook
/// delivery to it fails with a refused connection.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hook")
}
