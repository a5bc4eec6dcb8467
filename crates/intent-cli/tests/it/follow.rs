//! The follow-up desk of a real `intent serve` process, announcing to a real webhook receiver on
//! loopback: a hot lead from the kiosk to a completed task, a crossing announced once (also
//! across a restart), retries, the dead-letter list and replay, `kill -9` in the middle of a
//! delivery, and subscription filters.

use super::process::{self, Process, basic, key};
use super::root;
use intent_core::time::parse_timestamp;
use intent_server::webhook::verify;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

fn data_dir(name: &str) -> PathBuf {
    process::data_dir("follow", name)
}

/// Polls `probe` until it gives a value; fails naming `what` after [`PATIENCE`].
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "expected {what} within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A running `intent serve` with the showroom plan and its keys; killed (SIGKILL) when dropped.
struct Server {
    process: Process,
    admin: String,
    write: String,
}

impl Server {
    fn start(data: &Path, admin: &str, write: &str, extra: &[&str]) -> Server {
        let process = Process::start(data, &root().join("plans/showroom.yaml"), extra, PATIENCE);
        Server {
            process,
            admin: admin.to_string(),
            write: write.to_string(),
        }
    }

    fn get_as(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.process.get(path, token)
    }

    /// GETs with the admin token; expects 200.
    fn get(&self, path: &str) -> Value {
        let (status, body) = self.get_as(path, Some(&self.admin));
        assert_eq!(status, 200, "GET {path} answers 200: {body}");
        body
    }

    /// POSTs with the admin token.
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.process
            .post_as(path, &format!("Bearer {}", self.admin), body)
    }

    /// Sends one Segment message with the write key; expects it acknowledged.
    fn send(&self, path: &str, message: &Value) {
        let (status, body) = self.process.post_as(path, &basic(&self.write), message);
        assert_eq!(status, 200, "POST {path} acknowledges {message}: {body}");
    }

    /// Subscribes `body["url"]`; returns the subscription (with its secret, shown once).
    fn subscribe(&self, body: Value) -> Value {
        let (status, sub) = self.post("/v1/webhooks", &body);
        assert_eq!(status, 201, "POST /v1/webhooks creates {body}: {sub}");
        let secret = sub["secret"].as_str().unwrap_or_default();
        assert!(
            secret.starts_with("whsec_"),
            "a Standard Webhooks secret (whsec_...), got {sub}"
        );
        sub
    }

    fn deliveries(&self, query: &str) -> Vec<Value> {
        let v = self.get(&format!("/v1/webhooks/deliveries?limit=1000&{query}"));
        v["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the desk has looked at every event acknowledged so far and committed what it
    /// announced, and until no delivery is pending (every receiver answered).
    fn settle(&self) {
        // Task commands go through the desk's queue behind the changes of every event
        // acknowledged before them; this one names no task, so it changes nothing.
        let (status, body) = self.post("/v1/tasks/999999999/snooze", &json!({"for": "1m"}));
        assert_eq!(
            status, 404,
            "a command for a task that does not exist is refused: {body}"
        );
        wait_for("no pending webhook deliveries", || {
            self.deliveries("status=pending").is_empty().then_some(())
        });
    }

    fn open_tasks(&self) -> Vec<Value> {
        let v = self.get("/v1/tasks");
        v["tasks"].as_array().cloned().unwrap_or_default()
    }

    fn kill9(self) {
        self.process.kill9();
    }
}

/// How the receiver answers a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reply {
    /// `200 OK`.
    Ok,
    /// This status.
    Status(u16),
    /// Holds the request this long without answering, then drops the connection.
    Hang(Duration),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    body: String,
    at: Instant,
    reply: Reply,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("expected a `{name}` header, got {:?}", self.headers))
    }

    fn id(&self) -> &str {
        self.header("webhook-id")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("expected a JSON body, got {:?}: {e}", self.body))
    }

    fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }

    /// The profile the announcement is about.
    fn profile(&self) -> String {
        self.json()["data"]["profile"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Checks the Standard Webhooks signature and the timestamp's freshness.
    fn assert_signed(&self, secret: &str) {
        let (id, signature) = (self.id(), self.header("webhook-signature"));
        let ts: i64 = self
            .header("webhook-timestamp")
            .parse()
            .expect("webhook-timestamp is seconds since the epoch");
        assert!(
            verify(secret, id, ts, &self.body, signature),
            "expected the signature of {id} ({signature}) to verify with the subscription's secret"
        );
        let now = intent_server::now_ms() / 1000;
        assert!(
            (now - ts).abs() <= 60,
            "expected webhook-timestamp {ts} near now ({now})"
        );
        assert_eq!(
            self.header("content-type"),
            "application/json",
            "deliveries are JSON"
        );
    }
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    then: Option<Reply>,
    hits: Vec<Hit>,
}

/// A webhook receiver on a loopback socket: answers with the scripted replies in order, then
/// with the fallback (which the test may change while it runs), and records every request.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    fn start(first: &[Reply], then: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script {
            next: first.iter().copied().collect(),
            then: Some(then),
            hits: Vec::new(),
        }));
        let shared = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let script = shared.clone();
                std::thread::spawn(move || serve_one(stream, &script));
            }
        });
        Receiver { url, script }
    }

    /// Answers every later request with `reply`.
    fn answer_with(&self, reply: Reply) {
        let mut s = self.script.lock().unwrap();
        s.next.clear();
        s.then = Some(reply);
    }

    fn hits(&self) -> Vec<Hit> {
        self.script.lock().unwrap().hits.clone()
    }

    /// Waits until the requests received satisfy `done`.
    fn wait(&self, what: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        wait_for(what, || {
            let hits = self.hits();
            done(&hits).then_some(hits)
        })
    }
}

/// Reads one HTTP/1.1 request (a `content-length` body), records it and answers as scripted.
fn serve_one(stream: TcpStream, script: &Mutex<Script>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = {
        let mut s = script.lock().unwrap();
        let fallback = s.then.unwrap_or(Reply::Ok);
        let reply = s.next.pop_front().unwrap_or(fallback);
        s.hits.push(Hit {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
            reply,
        });
        reply
    };
    let status = match reply {
        Reply::Ok => 200,
        Reply::Status(s) => s,
        Reply::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
    };
    let text = format!("receiver says {status}");
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = reader.get_mut().write_all(response.as_bytes());
}

fn kinds(hits: &[Hit]) -> Vec<String> {
    let mut k: Vec<String> = hits.iter().map(Hit::kind).collect();
    k.sort();
    k
}

fn has_kinds(hits: &[Hit], wanted: &[&str]) -> bool {
    let have = kinds(hits);
    wanted.iter().all(|w| have.iter().any(|h| h == w))
}

fn ask_person(user: &str, location: Option<&str>) -> Value {
    let mut properties = json!({"cta": "ask_person"});
    if let Some(l) = location {
        properties["location"] = json!(l);
    }
    json!({"userId": user, "event": "CTA Tapped", "properties": properties,
           "context": {"channel": "showroom"}})
}

const WARSAW_HOLIDAYS: [&str; 12] = [
    "01-01",
    "01-06",
    "05-01",
    "05-03",
    "08-15",
    "11-01",
    "11-11",
    "12-24",
    "12-25",
    "12-26",
    "2026-04-06",
    "2027-03-29",
];

/// Whether the showroom plan's default calendar is open at `ms`: Europe/Warsaw, Mon–Fri
/// 09:00–18:00, Sat 09:00–14:00, closed on its holidays.
fn open_in_warsaw(tz: &jiff::tz::TimeZone, ms: i64) -> bool {
    let z = jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned(tz.clone());
    let day = format!("{:02}-{:02}", z.month(), z.day());
    let date = format!("{}-{day}", z.year());
    if WARSAW_HOLIDAYS.contains(&day.as_str()) || WARSAW_HOLIDAYS.contains(&date.as_str()) {
        return false;
    }
    let close = match z.weekday() {
        jiff::civil::Weekday::Sunday => return false,
        jiff::civil::Weekday::Saturday => 14 * 60,
        _ => 18 * 60,
    };
    let minute = i32::from(z.hour()) * 60 + i32::from(z.minute());
    (9 * 60..close).contains(&minute)
}

/// The naive oracle of a business-time deadline: walks minute by minute (opening hours change
/// only on whole minutes) until `minutes` of open time have passed since `start`.
fn business_deadline(start: i64, minutes: i64) -> i64 {
    let tz = jiff::tz::TimeZone::get("Europe/Warsaw").unwrap();
    let (mut t, mut left) = (start, minutes * 60_000);
    while left > 0 {
        let next = (t.div_euclid(60_000) + 1) * 60_000;
        if open_in_warsaw(&tz, t) {
            let step = (next - t).min(left);
            left -= step;
            t += step;
        } else {
            t = next;
        }
    }
    t
}

fn ts(v: &Value) -> i64 {
    parse_timestamp(v.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("expected an ISO-8601 time, got {v}: {e}"))
}

/// A kiosk visitor asks for a person: the receiver hears of it, signed; the task is routed,
/// claimed (by the CLI) and completed; the result lands in the profile's history, the SLA
/// report and the lifecycle stage.
#[test]
fn a_hot_lead_goes_end_to_end() {
    let data = data_dir("e2e");
    let (w, a) = (key(&data, "write"), key(&data, "admin"));
    let server = Server::start(&data, &a, &w, &[]);
    let hook = Receiver::start(&[], Reply::Ok);
    let sub = server.subscribe(json!({"url": hook.url}));
    let secret = sub["secret"].as_str().unwrap().to_string();

    server.send(
        "/v1/identify",
        &json!({"userId": "anna-z", "traits": {"firstName": "Anna", "lastName": "Zielińska",
                "email": "anna.z@example.pl"}}),
    );
    server.send("/v1/track", &ask_person("anna-z", Some("warszawa")));
    let asked = Instant::now();
    let hits = hook.wait(
        "override.fired, tier.changed and task.created at the receiver",
        |h| has_kinds(h, &["override.fired", "tier.changed", "task.created"]),
    );
    let arrived = hits.iter().map(|h| h.at).max().unwrap();
    assert!(
        arrived.saturating_duration_since(asked) < Duration::from_secs(5),
        "expected the announcements within a few seconds, took {:?}",
        arrived.saturating_duration_since(asked)
    );
    server.settle();
    let hits = hook.hits();
    assert_eq!(
        kinds(&hits),
        ["override.fired", "task.created", "tier.changed"],
        "one announcement of each kind, no more"
    );
    let of = |kind: &str| hits.iter().find(|h| h.kind() == kind).unwrap().json();
    let fired = of("override.fired");
    assert_eq!(fired["data"]["profile"], "user:anna-z", "{fired}");
    assert_eq!(fired["data"]["override"], "ask_person", "{fired}");
    let changed = of("tier.changed");
    assert_eq!(
        (&changed["data"]["from"], &changed["data"]["to"]),
        (&json!("cold"), &json!("hot")),
        "expected a change from cold to hot: {changed}"
    );
    assert_eq!(changed["data"]["location"], "warszawa", "{changed}");
    assert_eq!(changed["data"]["playbook"]["id"], "ask_person", "{changed}");

    let tasks = server.open_tasks();
    assert_eq!(tasks.len(), 1, "expected one open task: {tasks:?}");
    let task = &tasks[0];
    let id = task["id"].as_i64().expect("a task id");
    assert_eq!(
        of("task.created")["data"]["id"],
        id,
        "task.created is about the task in the queue"
    );
    for (field, want) in [
        ("profile", json!("user:anna-z")),
        ("status", json!("open")),
        ("tier", json!("hot")),
        ("override_id", json!("ask_person")),
        ("reason", json!("Asked for a person at the kiosk")),
        ("playbook", json!("ask_person")),
        ("channel", json!("in_showroom")),
        ("sla", json!("15m")),
        ("team", json!("waw")),
        ("owner", json!("anna.kowalska")),
        ("manager", json!("marta.zielinska")),
        ("location", json!("warszawa")),
        ("name", json!("Anna Zielińska")),
    ] {
        assert_eq!(
            task[field], want,
            "task {field}: expected {want}, in {task}"
        );
    }
    assert_eq!(
        task["steps"],
        json!([
            "Go to the kiosk now; the customer asked for a person",
            "Offer a coffee and a test drive today"
        ]),
        "the playbook's steps"
    );
    // The SLA clock runs in Warsaw's opening hours: 15 open minutes after the task opened.
    let (created, due) = (ts(&task["created_at"]), ts(&task["due_at"]));
    assert!(
        due >= created + 15 * 60_000,
        "expected due_at {} at least 15 minutes after created_at {}",
        task["due_at"],
        task["created_at"]
    );
    let tz = jiff::tz::TimeZone::get("Europe/Warsaw").unwrap();
    assert!(
        open_in_warsaw(&tz, due - 1),
        "expected due_at {} to fall in Warsaw opening hours",
        task["due_at"]
    );
    assert_eq!(
        due,
        business_deadline(created, 15),
        "expected due_at {} to be 15 business minutes after {}",
        task["due_at"],
        task["created_at"]
    );

    // The CLI lists the same queue and claims the task.
    let intent = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_intent"))
            .args(args)
            .args(["--url", &server.process.url, "--token", &a])
            .env("CI", "true")
            .output()
            .expect("run intent");
        assert!(
            out.status.success(),
            "intent {args:?} succeeds: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = intent(&["tasks", "list", "--format", "json"]);
    let lines: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one task listed: {listed}");
    assert_eq!(
        (&lines[0]["id"], &lines[0]["owner"]),
        (&json!(id), &json!("anna.kowalska")),
        "the CLI lists the API's task: {listed}"
    );
    let claimed = intent(&["tasks", "claim", &id.to_string(), "--by", "anna.kowalska"]);
    assert!(
        claimed.starts_with(&format!("task {id} claimed by anna.kowalska")),
        "expected the claim confirmed, got {claimed:?}"
    );

    let (status, done) = server.post(
        &format!("/v1/tasks/{id}/complete"),
        &json!({"result": "appointment_set", "note": "test drive on Saturday", "by": "anna.kowalska"}),
    );
    assert_eq!(status, 200, "the task completes: {done}");
    assert_eq!(
        (&done["status"], &done["result"], &done["sla_met"]),
        (&json!("done"), &json!("appointment_set"), &json!(true)),
        "expected done, appointment_set, SLA met: {done}"
    );
    let hits = hook.wait("task.claimed and task.completed", |h| {
        has_kinds(h, &["task.claimed", "task.completed"])
    });
    server.settle();
    let hits_after = hook.hits();
    assert_eq!(
        hits_after.len(),
        5,
        "five announcements in all: {:?}",
        kinds(&hits_after)
    );
    let completed = hits.iter().find(|h| h.kind() == "task.completed").unwrap();
    assert_eq!(
        completed.json()["data"]["result"],
        "appointment_set",
        "{}",
        completed.body
    );
    let mut ids = HashSet::new();
    for h in &hits_after {
        h.assert_signed(&secret);
        assert_eq!(h.path, "/hook", "delivered to the subscribed url");
        assert!(
            ids.insert(h.id().to_string()),
            "webhook-id {} is unique per event",
            h.id()
        );
    }
    assert!(
        !verify(
            &intent_server::webhook::new_secret(),
            completed.id(),
            completed.header("webhook-timestamp").parse().unwrap(),
            &completed.body,
            completed.header("webhook-signature")
        ),
        "another secret does not verify"
    );

    let timeline = server.get("/v1/profiles/anna-z/events");
    let items = timeline["items"].as_array().unwrap();
    let result = items
        .iter()
        .find(|e| e["name"] == "Task Completed")
        .unwrap_or_else(|| panic!("expected a Task Completed event in {timeline}"));
    assert_eq!(
        (
            &result["properties"]["result"],
            &result["properties"]["task_id"]
        ),
        (&json!("appointment_set"), &json!(id)),
        "expected the result in the history: {result}"
    );

    let sla = server.get("/v1/reports/sla");
    let total = &sla["total"];
    for (field, want) in [
        ("tasks", 1),
        ("completed", 1),
        ("met", 1),
        ("missed", 0),
        ("appointments", 1),
    ] {
        assert_eq!(
            total[field], want,
            "SLA report total.{field}: expected {want}, in {sla}"
        );
    }

    let profile = server.get("/v1/profiles/anna-z");
    assert_eq!(
        profile["stage"]["id"], "sql",
        "expected the sql stage: {profile}"
    );
    assert_eq!(profile["tier"], "hot", "{profile}");
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// More events for a profile already hot announce nothing; a restart announces nothing new for
/// unchanged profiles and keeps the open task.
#[test]
fn a_crossing_fires_once() {
    let data = data_dir("once");
    let (w, a) = (key(&data, "write"), key(&data, "admin"));
    let server = Server::start(&data, &a, &w, &[]);
    let hook = Receiver::start(&[], Reply::Ok);
    server.subscribe(json!({"url": hook.url}));
    server.send("/v1/track", &ask_person("olek", Some("warszawa")));
    hook.wait("the first crossing announced", |h| {
        has_kinds(h, &["override.fired", "tier.changed", "task.created"])
    });
    server.settle();
    let first = hook.hits();
    assert_eq!(first.len(), 3, "three announcements: {:?}", kinds(&first));

    // The score climbs over the hot line (15 + 3 + 3 + 12 + 30 = 63) and the person asks again:
    // still hot, still the same override.
    for (i, message) in [
        json!({"userId": "olek", "event": "Offer Downloaded"}),
        json!({"userId": "olek", "type": "page", "properties": {"category": "model", "model": "RAV4"}}),
        json!({"userId": "olek", "type": "page", "properties": {"category": "model", "model": "Corolla"}}),
        json!({"userId": "olek", "event": "Configurator Completed"}),
        ask_person("olek", Some("warszawa")),
        json!({"userId": "olek", "event": "Form Submitted", "properties": {"form": "contact"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let path = if i == 1 || i == 2 {
            "/v1/page"
        } else {
            "/v1/track"
        };
        server.send(path, &message);
    }
    server.settle();
    let profile = server.get("/v1/profiles/olek");
    assert!(
        profile["score"].as_f64().unwrap() >= 60.0,
        "expected the score over the hot line: {profile}"
    );
    let after = hook.hits();
    assert_eq!(
        after.len(),
        3,
        "expected no new announcement for a profile already hot, got {:?}",
        kinds(&after)
    );
    let tasks = server.open_tasks();
    assert_eq!(tasks.len(), 1, "one open task: {tasks:?}");
    let task_id = tasks[0]["id"].clone();
    server.kill9();

    let server = Server::start(&data, &a, &w, &[]);
    let ready = Instant::now();
    server.settle();
    std::thread::sleep(Duration::from_secs(2).saturating_sub(ready.elapsed()));
    let restarted = hook.hits();
    assert_eq!(
        restarted.len(),
        3,
        "expected nothing announced after a restart for unchanged profiles, got {:?}",
        kinds(&restarted[3..])
    );
    let tasks = server.open_tasks();
    assert_eq!(
        tasks.len(),
        1,
        "expected the open task kept across the restart: {tasks:?}"
    );
    assert_eq!(tasks[0]["id"], task_id, "the same task");
    let all = server.deliveries("");
    assert_eq!(all.len(), 3, "three deliveries in the outbox: {all:?}");
    assert!(
        all.iter().all(|d| d["status"] == "delivered"),
        "expected every delivery delivered: {all:?}"
    );
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// A receiver that fails (500, then no answer in time) is retried with backoff and the same
/// webhook-id until the attempts run out; the dead delivery is replayed once it recovers.
#[test]
fn a_failing_receiver_is_retried_then_dead_lettered_then_replayed() {
    let data = data_dir("dead");
    let (w, a) = (key(&data, "write"), key(&data, "admin"));
    let server = Server::start(
        &data,
        &a,
        &w,
        &[
            "--webhook-attempts",
            "3",
            "--webhook-retry-ms",
            "100",
            "--webhook-timeout-ms",
            "300",
        ],
    );
    let hook = Receiver::start(
        &[Reply::Status(500)],
        Reply::Hang(Duration::from_millis(1500)),
    );
    let sub = server.subscribe(json!({"url": hook.url, "events": ["task.created"]}));
    let secret = sub["secret"].as_str().unwrap().to_string();
    server.send("/v1/track", &ask_person("dora", Some("warszawa")));

    let dead = wait_for("the delivery on the dead-letter list", || {
        server.deliveries("status=dead").into_iter().next()
    });
    assert_eq!(dead["kind"], "task.created", "{dead}");
    assert_eq!(dead["attempts"], 3, "expected exactly 3 attempts: {dead}");
    assert_eq!(
        dead["last_status"], 500,
        "expected the 500 recorded: {dead}"
    );
    let error = dead["last_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("timeout") && error.contains("300ms"),
        "expected last_error to name the 300 ms timeout, got {error:?}"
    );
    let hits = hook.hits();
    assert_eq!(hits.len(), 3, "expected 3 requests, got {hits:?}");
    let replies: Vec<Reply> = hits.iter().map(|h| h.reply).collect();
    assert_eq!(
        replies,
        [
            Reply::Status(500),
            Reply::Hang(Duration::from_millis(1500)),
            Reply::Hang(Duration::from_millis(1500))
        ],
        "500, then no answer twice"
    );
    for h in &hits {
        assert_eq!(
            h.id(),
            dead["event_id"],
            "every attempt has the same webhook-id"
        );
        h.assert_signed(&secret);
    }
    // Backoff: ≥ 80% of 100 ms after the 500; after the timeout, ≥ 300 ms plus 80% of 200 ms.
    let gaps: Vec<Duration> = hits.windows(2).map(|p| p[1].at - p[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(80),
        "expected the first retry after ≥ 80 ms, got {:?}",
        gaps[0]
    );
    assert!(
        gaps[1] >= Duration::from_millis(400),
        "expected the second retry after the timeout and ≥ 160 ms more, got {:?}",
        gaps[1]
    );

    hook.answer_with(Reply::Ok);
    let (status, body) = server.post(
        &format!("/v1/webhooks/deliveries/{}/replay", dead["id"]),
        &json!({}),
    );
    assert_eq!(status, 202, "the replay is accepted: {body}");
    let delivered = wait_for("the replayed delivery delivered", || {
        server
            .deliveries("status=delivered")
            .into_iter()
            .find(|d| d["id"] == dead["id"])
    });
    assert_eq!(delivered["last_status"], 200, "{delivered}");
    let hits = hook.hits();
    assert_eq!(hits.len(), 4, "one more request after the replay: {hits:?}");
    assert_eq!(
        hits[3].id(),
        dead["event_id"],
        "the replay has the same webhook-id"
    );
    hits[3].assert_signed(&secret);
    assert!(
        server.deliveries("status=dead").is_empty(),
        "expected the dead-letter list empty after the replay"
    );
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// The server dies while the receiver holds a delivery: after a restart the same webhook-id
/// comes again (at least once) and is delivered; every acknowledged event is still there.
#[test]
fn a_server_killed_mid_delivery_delivers_after_restart() {
    let data = data_dir("midway");
    let (w, a) = (key(&data, "write"), key(&data, "admin"));
    let flags = ["--webhook-timeout-ms", "30000", "--webhook-retry-ms", "100"];
    let server = Server::start(&data, &a, &w, &flags);
    let hook = Receiver::start(&[Reply::Hang(Duration::from_secs(20))], Reply::Ok);
    let sub = server.subscribe(json!({"url": hook.url}));
    let secret = sub["secret"].as_str().unwrap().to_string();
    server.send(
        "/v1/identify",
        &json!({"userId": "max", "traits": {"email": "max@example.pl"}}),
    );
    server.send(
        "/v1/page",
        &json!({"userId": "max", "properties": {"category": "model", "model": "RAV4"}}),
    );
    server.send(
        "/v1/track",
        &json!({"userId": "max", "event": "Offer Downloaded"}),
    );
    server.send("/v1/track", &ask_person("max", Some("krakow")));
    let hits = hook.wait("three announcements sent", |h| h.len() >= 3);
    let held: Vec<&Hit> = hits
        .iter()
        .filter(|h| matches!(h.reply, Reply::Hang(_)))
        .collect();
    assert_eq!(held.len(), 1, "the receiver holds one request: {hits:?}");
    let held_id = held[0].id().to_string();
    wait_for("the other two recorded as delivered", || {
        let all = server.deliveries("");
        let delivered = all.iter().filter(|d| d["status"] == "delivered").count();
        (all.len() == 3 && delivered == 2).then_some(())
    });
    let pending = server.deliveries("status=pending");
    assert_eq!(
        (pending.len(), &pending[0]["event_id"]),
        (1, &json!(held_id)),
        "expected the held delivery pending: {pending:?}"
    );
    server.kill9();

    let server = Server::start(&data, &a, &w, &flags);
    let hits = hook.wait("the held webhook-id sent again", |h| {
        h.len() > 3 && h[3..].iter().any(|x| x.id() == held_id)
    });
    server.settle();
    let all = server.deliveries("");
    assert_eq!(all.len(), 3, "still three deliveries: {all:?}");
    assert!(
        all.iter().all(|d| d["status"] == "delivered"),
        "expected every delivery delivered after the restart: {all:?}"
    );
    let after = hook.hits();
    assert_eq!(
        after.len(),
        4,
        "expected only the held delivery sent again, got {:?}",
        after.iter().map(Hit::id).collect::<Vec<_>>()
    );
    let again = &hits[3];
    again.assert_signed(&secret);
    assert_eq!(again.body, held[0].body, "the same announcement");
    let profile = server.get("/v1/profiles/max");
    assert_eq!(
        profile["events"], 4,
        "expected the 4 acknowledged events after the restart: {profile}"
    );
    assert_eq!(profile["tier"], "hot", "{profile}");
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}

/// A subscription gets only what its filters pass: kinds and tiers for one, a location for the
/// other (announcements without a location pass every location filter).
#[test]
fn a_subscription_filter_is_honoured() {
    let data = data_dir("filter");
    let (w, a) = (key(&data, "write"), key(&data, "admin"));
    let server = Server::start(&data, &a, &w, &[]);
    let (hot_tasks, krakow) = (
        Receiver::start(&[], Reply::Ok),
        Receiver::start(&[], Reply::Ok),
    );
    let sub_a = server
        .subscribe(json!({"url": hot_tasks.url, "events": ["task.created"], "tiers": ["hot"]}));
    let sub_b = server.subscribe(json!({"url": krakow.url, "locations": ["krakow"]}));
    server.send("/v1/track", &ask_person("f-waw", Some("warszawa")));
    server.send("/v1/track", &ask_person("f-krk", Some("krakow")));
    server.send("/v1/track", &ask_person("f-nowhere", None));
    // 30 points: warm, with a one-business-day task.
    server.send(
        "/v1/track",
        &json!({"userId": "f-krk-warm", "event": "Form Submitted",
                "properties": {"form": "contact", "location": "krakow"}}),
    );
    server.settle();
    let tasks = server.open_tasks();
    assert_eq!(tasks.len(), 4, "four tasks opened: {tasks:?}");

    let got = |hits: &[Hit]| {
        let mut v: Vec<(String, String)> = hits.iter().map(|h| (h.profile(), h.kind())).collect();
        v.sort();
        v
    };
    let want = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(p, k)| (format!("user:{p}"), k.to_string()))
            .collect();
        v.sort();
        v
    };
    let a_hits = hot_tasks.hits();
    assert_eq!(
        got(&a_hits),
        want(&[
            ("f-waw", "task.created"),
            ("f-krk", "task.created"),
            ("f-nowhere", "task.created"),
        ]),
        "expected only hot task.created for the first subscription"
    );
    let b_hits = krakow.hits();
    assert_eq!(
        got(&b_hits),
        want(&[
            ("f-krk", "override.fired"),
            ("f-krk", "tier.changed"),
            ("f-krk", "task.created"),
            ("f-nowhere", "override.fired"),
            ("f-nowhere", "tier.changed"),
            ("f-nowhere", "task.created"),
            ("f-krk-warm", "tier.changed"),
            ("f-krk-warm", "task.created"),
        ]),
        "expected Kraków's and location-less announcements only for the second subscription"
    );
    let (secret_a, secret_b) = (
        sub_a["secret"].as_str().unwrap(),
        sub_b["secret"].as_str().unwrap(),
    );
    for h in &a_hits {
        h.assert_signed(secret_a);
    }
    for h in &b_hits {
        h.assert_signed(secret_b);
        assert!(
            !verify(
                secret_a,
                h.id(),
                h.header("webhook-timestamp").parse().unwrap(),
                &h.body,
                h.header("webhook-signature")
            ),
            "expected one subscription's secret not to verify the other's deliveries"
        );
    }
    let by_sub = |s: &Value| {
        server
            .deliveries(&format!("subscription={}", s["id"].as_str().unwrap()))
            .len()
    };
    assert_eq!(
        (by_sub(&sub_a), by_sub(&sub_b)),
        (3, 8),
        "the outbox holds only what each filter passed"
    );
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
}
