//! Signed webhook deliveries from the outbox, following the Standard Webhooks spec
//! (<https://www.standardwebhooks.com>).
//!
//! The follow-up desk commits announcements; the store fans each one out into one pending
//! delivery per subscription that wants it. The [`Dispatcher`] sends them: one coordinator thread
//! with its own store connection loads the due deliveries, hands each one to a pool of worker
//! threads that POST it, and records every answer. Only the coordinator writes, so a delivery's
//! row never races with itself.
//!
//! Each request carries `webhook-id` (the announcement's id: stable across retries, so receivers
//! can drop repeats), `webhook-timestamp` (seconds since the epoch, of this attempt) and
//! `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
//! subscription's secret). A 2xx answer delivers; anything else (another status, a refused
//! connection, a timeout, a bad url or secret) is a failed attempt, retried with exponential
//! backoff and jitter ([`retry_delay`]) until [`WebhookConfig::attempts`] have failed, and then
//! the delivery is dead until someone replays it.
//!
//! Delivery is at least once: a delivery is marked delivered only after its 2xx answer, so a
//! crash in between sends it again, with the same `webhook-id`.
//!
//! This module never panics on a subscription's data: a secret or url that does not work is a
//! failed attempt with its reason, like any other.

use crate::live::{Opener, Shared};
use crate::metrics::{Metrics, OutcomeLabels};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use intent_store::{Delivery, DeliveryOutcome, Store, Subscription};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type HmacSha256 = Hmac<Sha256>;

/// How a serialized signing secret starts.
const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new signing secret (the spec asks for 24 to 64).
const SECRET_BYTES: usize = 24;
/// Due deliveries loaded at once.
const BATCH: usize = 256;
/// The longest the coordinator sleeps, so that a replay made by another connection is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How long the cached subscriptions are trusted.
const SUBSCRIPTIONS_TTL: Duration = Duration::from_secs(5);
/// Bytes of a failed answer's body kept in the delivery's error.
const ERROR_BODY_BYTES: u64 = 200;
/// Bytes of a 2xx answer read (and dropped) so that the connection can be reused.
const DRAIN_BYTES: u64 = 64 * 1024;
/// The error of a delivery whose subscription is gone.
const REMOVED: &str = "subscription removed";

/// How deliveries are sent and retried.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// After this many failed attempts a delivery is dead (default 8).
    pub attempts: u32,
    /// The delay before the first retry (default 5 s); it doubles with every failed attempt.
    pub backoff: Duration,
    /// The longest nominal delay between attempts (default 1 h).
    pub max_backoff: Duration,
    /// The time one request may take, from connecting to reading the answer (default 10 s).
    pub timeout: Duration,
    /// Requests sent at once (default 4).
    pub workers: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            attempts: 8,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            workers: 4,
        }
    }
}

/// A signing secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// The part after `whsec_` is not base64.
    NotBase64(base64::DecodeError),
    /// The secret holds no key bytes.
    Empty,
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::NotBase64(e) => write!(f, "signing secret is not base64: {e}"),
            SecretError::Empty => write!(f, "signing secret is empty"),
        }
    }
}

impl std::error::Error for SecretError {}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    getrandom::fill(&mut key).expect("the system's random source");
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The HMAC of `{id}.{timestamp}.{body}` under `secret`, not yet finalized. The `whsec_` prefix
/// is optional, as in the spec's reference libraries.
fn mac(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<HmacSha256, SecretError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD.decode(encoded).map_err(SecretError::NotBase64)?;
    // HMAC takes keys of any length (so the error below cannot happen); an empty one is refused
    // as the mistake it is.
    if key.is_empty() {
        return Err(SecretError::Empty);
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SecretError::Empty)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(mac)
}

/// The `webhook-signature` of a request: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the key in `secret` (`whsec_` and base64 of the key bytes).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SecretError> {
    let tag = mac(secret, id, timestamp, body)?.finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Whether `header` (a `webhook-signature`: space-separated signatures, as sent while a secret
/// is rotated) holds a `v1` signature of `{id}.{timestamp}.{body}` under `secret`. Signatures are
/// compared in constant time. The timestamp's age is the receiver's to check.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let Ok(mac) = mac(secret, id, timestamp, body) else {
        return false;
    };
    header
        .split_ascii_whitespace()
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, signature)| STANDARD.decode(signature).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok())
}

/// The delay before the next attempt after `attempts` failed ones: the nominal delay is
/// `backoff` doubled per failed attempt after the first and capped at `max_backoff`; the delay
/// is spread ±20% around it by `jitter` (in `[0, 1)`: 0 gives 80% of the nominal delay, 0.5
/// exactly it, towards 1 up to 120%), so that receivers that fail together are not retried
/// together.
pub fn retry_delay(config: &WebhookConfig, attempts: u32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(63) as i32;
    let max = config.max_backoff.as_secs_f64();
    let nominal = (config.backoff.as_secs_f64() * 2f64.powi(doublings)).min(max);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let seconds = nominal * (1.0 + 0.4 * (jitter - 0.5));
    Duration::try_from_secs_f64(seconds).unwrap_or(config.max_backoff)
}

/// A random jitter in `[0, 1)` for [`retry_delay`].
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// Sends the outbox's deliveries in the background. Cloning gives another handle to the same
/// threads; they stop when the last handle is dropped (deliveries in flight then stay pending
/// and are sent again by the next start).
#[derive(Clone)]
pub struct Dispatcher {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// The coordinator's inbox; dropping the last handle stops it.
struct Handle {
    inbox: Sender<Msg>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.inbox.send(Msg::Stop);
    }
}

/// What the coordinator is told.
enum Msg {
    /// New deliveries may be due.
    Wake,
    /// A worker's attempt ended.
    Done(Box<Done>),
    /// Every handle is gone.
    Stop,
}

/// One attempt for a worker.
struct Job {
    delivery: Delivery,
    url: String,
    secret: String,
}

/// One attempt's end.
struct Done {
    delivery: Delivery,
    answer: Answer,
    /// The request's time.
    seconds: f64,
}

/// How an attempt ended.
#[derive(Debug)]
enum Answer {
    /// A 2xx status.
    Delivered(u16),
    /// Anything else.
    Failed {
        /// The reason, for the delivery's `last_error`.
        error: String,
        /// The status, when an answer came.
        status: Option<u16>,
        /// How long the receiver asked us to wait (`Retry-After` in seconds, on 429 and 503).
        retry_after: Option<Duration>,
    },
}

/// Handles to the webhook metrics of a [`Metrics`] (they count into the same registry).
#[derive(Clone)]
pub struct WebhookMetrics {
    deliveries: Family<OutcomeLabels, Counter>,
    seconds: Histogram,
    lag: Histogram,
}

impl From<&Metrics> for WebhookMetrics {
    fn from(metrics: &Metrics) -> Self {
        WebhookMetrics {
            deliveries: metrics.webhook_deliveries.clone(),
            seconds: metrics.webhook_delivery_seconds.clone(),
            lag: metrics.webhook_lag_seconds.clone(),
        }
    }
}

impl From<Arc<Shared>> for WebhookMetrics {
    fn from(shared: Arc<Shared>) -> Self {
        WebhookMetrics::from(&shared.metrics)
    }
}

impl WebhookMetrics {
    fn count(&self, outcome: &str) {
        let labels = OutcomeLabels {
            outcome: outcome.to_string(),
        };
        self.deliveries.get_or_create(&labels).inc();
    }
}

impl Dispatcher {
    /// Opens a store connection for the coordinator and starts it and `config.workers` workers
    /// (at least one). Deliveries already due are sent at once. Counts and times go to the
    /// webhook metrics of `metrics` (a `&Metrics`, or the service's `Arc<Shared>`).
    pub fn start(
        opener: Opener,
        config: WebhookConfig,
        metrics: impl Into<WebhookMetrics>,
    ) -> Result<Dispatcher, String> {
        let mut store = opener().map_err(|e| format!("opening the store for webhooks: {e}"))?;
        // Checkpoints run on their own connection, never inside this thread's commits.
        store
            .defer_maintenance()
            .map_err(|e| format!("opening the store for webhooks: {e}"))?;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_global(Some(config.timeout))
                // A status is an answer to record, not an error.
                .http_status_as_error(false)
                // The spec counts a redirect as a failure: the subscription's url should change.
                .max_redirects(0)
                .user_agent(format!("intent-engine/{}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let (inbox, messages) = mpsc::channel();
        let (jobs, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..config.workers.max(1) {
            let (agent, queue, results) = (agent.clone(), queue.clone(), inbox.clone());
            let timeout = config.timeout;
            std::thread::Builder::new()
                .name(format!("intent-webhook-{n}"))
                .spawn(move || work(&agent, timeout, &queue, &results))
                .map_err(|e| format!("starting a webhook worker: {e}"))?;
        }
        let coordinator = Coordinator {
            store,
            config,
            metrics: metrics.into(),
            jobs,
            in_flight: HashSet::new(),
            subscriptions: HashMap::new(),
            loaded: None,
            gone: Vec::new(),
        };
        std::thread::Builder::new()
            .name("intent-webhook".into())
            .spawn(move || coordinator.run(&messages))
            .map_err(|e| format!("starting the webhook dispatcher: {e}"))?;
        Ok(Dispatcher {
            handle: Arc::new(Handle { inbox }),
        })
    }

    /// New deliveries may be due now (announcements were committed, a delivery was replayed):
    /// look at once instead of at the next poll.
    pub fn wake(&self) {
        let _ = self.handle.inbox.send(Msg::Wake);
    }
}

/// A worker: sends the jobs it is given and reports how each one ended.
fn work(
    agent: &ureq::Agent,
    timeout: Duration,
    queue: &Mutex<Receiver<Job>>,
    results: &Sender<Msg>,
) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        let started = Instant::now();
        // A panic in the HTTP client must not leave the delivery in flight forever.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            attempt(agent, timeout, &job)
        }))
        .unwrap_or_else(|_| Answer::Failed {
            error: "the request panicked".into(),
            status: None,
            retry_after: None,
        });
        let done = Done {
            delivery: job.delivery,
            answer,
            seconds: started.elapsed().as_secs_f64(),
        };
        if results.send(Msg::Done(Box::new(done))).is_err() {
            return;
        }
    }
}

/// Sends one delivery, signed now.
fn attempt(agent: &ureq::Agent, timeout: Duration, job: &Job) -> Answer {
    let d = &job.delivery;
    let timestamp = crate::now_ms().div_euclid(1000);
    let signature = match sign(&job.secret, &d.event_id, timestamp, &d.payload) {
        Ok(signature) => signature,
        Err(e) => {
            return Answer::Failed {
                error: e.to_string(),
                status: None,
                retry_after: None,
            };
        }
    };
    let sent = agent
        .post(job.url.as_str())
        .header("webhook-id", d.event_id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .content_type("application/json")
        .send(d.payload.as_bytes());
    match sent {
        Ok(mut response) => {
            let status = response.status().as_u16();
            if response.status().is_success() {
                // Reading the answer lets the connection go back to the pool; its errors do
                // not matter, the status does.
                let mut body = response.body_mut().as_reader().take(DRAIN_BYTES);
                let _ = std::io::copy(&mut body, &mut std::io::sink());
                return Answer::Delivered(status);
            }
            let retry_after = matches!(status, 429 | 503)
                .then(|| response.headers().get("retry-after"))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut head = Vec::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(ERROR_BODY_BYTES)
                .read_to_end(&mut head);
            let head = String::from_utf8_lossy(&head);
            let error = match head.trim() {
                "" => format!("status {status}"),
                text => format!("status {status}: {text}"),
            };
            Answer::Failed {
                error,
                status: Some(status),
                retry_after,
            }
        }
        Err(ureq::Error::Timeout(_)) => timed_out(timeout),
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => timed_out(timeout),
        Err(e) => Answer::Failed {
            error: format!("request failed: {e}"),
            status: None,
            retry_after: None,
        },
    }
}

fn timed_out(timeout: Duration) -> Answer {
    Answer::Failed {
        error: format!("timeout: no answer within {timeout:?}"),
        status: None,
        retry_after: None,
    }
}

/// The one thread that reads the outbox and records every attempt.
struct Coordinator {
    store: Box<dyn Store>,
    config: WebhookConfig,
    metrics: WebhookMetrics,
    jobs: Sender<Job>,
    /// Deliveries handed to workers and not yet recorded.
    in_flight: HashSet<i64>,
    /// Subscriptions by id, removed ones included.
    subscriptions: HashMap<String, Subscription>,
    /// When the subscriptions were loaded.
    loaded: Option<Instant>,
    /// Subscriptions whose receiver answered 410 Gone, to disable.
    gone: Vec<String>,
}

impl Coordinator {
    fn run(mut self, messages: &Receiver<Msg>) {
        loop {
            let wait = self.dispatch();
            let mut next = match messages.recv_timeout(wait) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Everything already waiting is handled before the outbox is read again, and the
            // attempts that ended are recorded together: one transaction, one fsync.
            let mut ended = Vec::new();
            while let Some(msg) = next {
                match msg {
                    Msg::Wake => {}
                    Msg::Done(done) => ended.push(self.record(*done)),
                    Msg::Stop => return,
                }
                next = messages.try_recv().ok();
            }
            if !ended.is_empty()
                && let Err(e) = self.store.record_deliveries(&ended)
            {
                // Unrecorded, the deliveries stay pending and are sent again: at least once.
                tracing::warn!(error = %e, attempts = ended.len(), "recording webhook attempts");
            }
            for id in std::mem::take(&mut self.gone) {
                match self.store.remove_subscription(&id) {
                    Ok(()) => tracing::warn!(
                        subscription = %id,
                        "the receiver answered 410 Gone: subscription disabled"
                    ),
                    Err(e) => {
                        tracing::warn!(subscription = %id, error = %e, "disabling a gone subscription")
                    }
                }
                // Its other pending deliveries are dead-lettered on the next look.
                self.loaded = None;
            }
        }
    }

    /// Hands every due delivery that is not in flight to the workers; returns how long to sleep
    /// until the next one is due (at most [`MAX_SLEEP`]).
    fn dispatch(&mut self) -> Duration {
        let now = crate::now_ms();
        // Looking a little ahead tells when to wake up next, not only what is due now.
        let lookahead = MAX_SLEEP.as_millis() as i64;
        let due = match self.store.due_deliveries(now + lookahead, BATCH) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "loading due webhook deliveries");
                return MAX_SLEEP;
            }
        };
        let mut reloaded = false;
        for d in due {
            if self.in_flight.contains(&d.id) {
                continue;
            }
            if d.next_at > now {
                // Soonest first: this one is the next to fall due.
                let wait = (d.next_at - crate::now_ms()).clamp(0, lookahead);
                return Duration::from_millis(wait as u64);
            }
            let stale = self
                .loaded
                .is_none_or(|at| at.elapsed() >= SUBSCRIPTIONS_TTL);
            if !reloaded && (stale || !self.subscriptions.contains_key(&d.subscription)) {
                reloaded = true;
                if !self.reload() {
                    return MAX_SLEEP;
                }
            }
            match self.subscriptions.get(&d.subscription) {
                Some(s) if !s.disabled => {
                    let (id, url, secret) = (d.id, s.url.clone(), s.secret.clone());
                    let job = Job {
                        delivery: d,
                        url,
                        secret,
                    };
                    if self.jobs.send(job).is_err() {
                        tracing::error!("every webhook worker has stopped");
                        return MAX_SLEEP;
                    }
                    self.in_flight.insert(id);
                }
                // Removed subscriptions stay listed, so one not found was never stored.
                _ => self.dead_letter(&d, REMOVED),
            }
        }
        MAX_SLEEP
    }

    /// Loads the subscriptions; false when the store failed.
    fn reload(&mut self) -> bool {
        match self.store.subscriptions() {
            Ok(list) => {
                self.subscriptions = list.into_iter().map(|s| (s.id.clone(), s)).collect();
                self.loaded = Some(Instant::now());
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "loading webhook subscriptions");
                false
            }
        }
    }

    /// Marks a delivery dead without an attempt.
    fn dead_letter(&mut self, d: &Delivery, error: &str) {
        self.metrics.count("dead");
        if let Err(e) = self
            .store
            .delivery_failed(d.id, d.attempts, None, error, None)
        {
            tracing::warn!(delivery = d.id, error = %e, "recording a dead webhook delivery");
        } else {
            tracing::info!(
                delivery = d.id,
                event = %d.event_id,
                subscription = %d.subscription,
                reason = error,
                "webhook delivery dead"
            );
        }
    }

    /// An attempt's end, counted in the metrics (first, so that whoever sees the row sees them),
    /// to record.
    fn record(&mut self, done: Done) -> DeliveryOutcome {
        let d = done.delivery;
        self.in_flight.remove(&d.id);
        self.metrics.seconds.observe(done.seconds);
        let attempts = d.attempts.saturating_add(1);
        let now = crate::now_ms();
        match done.answer {
            Answer::Delivered(status) => {
                self.metrics.count("delivered");
                let lag = (now - d.created_at).max(0) as f64 / 1000.0;
                self.metrics.lag.observe(lag);
                tracing::debug!(
                    delivery = d.id,
                    event = %d.event_id,
                    subscription = %d.subscription,
                    attempts,
                    status,
                    "webhook delivered"
                );
                DeliveryOutcome::Done {
                    id: d.id,
                    attempts,
                    status,
                    now,
                }
            }
            Answer::Failed {
                error,
                status,
                retry_after,
            } => {
                // 410 Gone: the receiver says the endpoint is no more (Standard Webhooks):
                // this delivery is dead and the subscription is disabled.
                let gone = status == Some(410);
                if gone && !self.gone.contains(&d.subscription) {
                    self.gone.push(d.subscription.clone());
                }
                let next_at = (attempts < self.config.attempts && !gone).then(|| {
                    let mut delay = retry_delay(&self.config, attempts, jitter());
                    if let Some(asked) = retry_after {
                        delay = delay.max(asked.min(self.config.max_backoff));
                    }
                    now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
                });
                let outcome = if next_at.is_some() { "failed" } else { "dead" };
                self.metrics.count(outcome);
                tracing::info!(
                    delivery = d.id,
                    event = %d.event_id,
                    subscription = %d.subscription,
                    attempts,
                    error = %error,
                    outcome,
                    "webhook attempt failed"
                );
                DeliveryOutcome::Failed {
                    id: d.id,
                    attempts,
                    next_at,
                    error,
                    status,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intent_store::{Announcement, DeliveryStatus, FollowCommit, SqliteStore};
    use std::collections::VecDeque;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;

    #[test]
    fn sign_matches_the_standard_webhooks_vectors() {
        // From the spec repository: libraries/javascript/src/webhook.test.ts ("sign function
        // works") and libraries/rust/src/lib.rs (test_sign).
        let (secret, id, ts, body) = (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(sign(secret, id, ts, body).unwrap(), expected);
        assert_eq!(
            sign(
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                r#"{"email":"test@example.com","username":"test_user"}"#,
            )
            .unwrap(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );

        assert!(verify(secret, id, ts, body, expected));
        // Rotation: any one of several signatures may match.
        let several = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,xyz {expected}");
        assert!(verify(secret, id, ts, body, &several));
        assert!(!verify(secret, id, ts, r#"{"test": 2432232315}"#, expected));
        assert!(!verify(secret, id, ts + 1, body, expected));
        assert!(!verify(secret, "msg_other", ts, body, expected));
        assert!(!verify(
            secret,
            id,
            ts,
            body,
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ));
        assert!(!verify(secret, id, ts, body, "v1,g0hM9SsE"));
        assert!(!verify(secret, id, ts, body, ""));
        assert!(!verify("whsec_not base64!", id, ts, body, expected));
    }

    #[test]
    fn secrets_are_fresh_and_bad_ones_are_errors() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let key = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
        let signature = sign(&a, "e1", 1, "{}").unwrap();
        assert!(verify(&a, "e1", 1, "{}", &signature));
        assert!(!verify(&b, "e1", 1, "{}", &signature));

        assert!(matches!(
            sign("whsec_%%%", "e1", 1, "{}"),
            Err(SecretError::NotBase64(_))
        ));
        assert_eq!(sign("whsec_", "e1", 1, "{}"), Err(SecretError::Empty));
        assert_eq!(
            SecretError::Empty.to_string(),
            "signing secret is empty".to_string()
        );
    }

    #[test]
    fn retry_delay_grows_is_capped_and_jitter_stays_in_bounds() {
        let config = WebhookConfig::default();
        let nominal: Vec<u64> = (1..=12)
            .map(|n| retry_delay(&config, n, 0.5).as_secs())
            .collect();
        assert_eq!(
            nominal,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        // No attempt yet counts as the first.
        assert_eq!(retry_delay(&config, 0, 0.5), Duration::from_secs(5));
        assert_eq!(
            retry_delay(&config, u32::MAX, 0.5),
            Duration::from_secs(3600)
        );
        for n in [1, 3, 20] {
            let base = retry_delay(&config, n, 0.5).as_secs_f64();
            let low = retry_delay(&config, n, 0.0).as_secs_f64();
            let high = retry_delay(&config, n, 0.999_999).as_secs_f64();
            assert!((low - 0.8 * base).abs() < 1e-6, "{n}: {low} vs {base}");
            assert!(
                high < 1.2 * base && high > 1.199 * base,
                "{n}: {high} vs {base}"
            );
            for _ in 0..100 {
                let d = retry_delay(&config, n, jitter()).as_secs_f64();
                assert!(d >= low - 1e-9 && d < 1.2 * base, "{n}: {d}");
            }
        }
        // Jitter out of range is clamped, never a panic.
        assert_eq!(retry_delay(&config, 1, -3.0), Duration::from_secs(4));
        assert_eq!(retry_delay(&config, 1, f64::NAN), Duration::from_secs(5));
    }

    /// A scripted answer of the test receiver.
    #[derive(Clone, Copy)]
    struct Reply {
        status: u16,
        delay: Duration,
    }

    const OK: Reply = Reply {
        status: 200,
        delay: Duration::ZERO,
    };

    /// One request as the receiver saw it.
    struct Request {
        headers: HashMap<String, String>,
        body: String,
    }

    #[derive(Default)]
    struct Script {
        replies: VecDeque<Reply>,
        fallback: Option<Reply>,
        received: Vec<Request>,
    }

    /// A webhook receiver on a loopback socket: answers with the scripted replies in order,
    /// then with the fallback.
    struct Endpoint {
        url: String,
        script: Arc<Mutex<Script>>,
    }

    impl Endpoint {
        fn start(replies: &[Reply], fallback: Reply) -> Endpoint {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            let script = Arc::new(Mutex::new(Script {
                replies: replies.iter().copied().collect(),
                fallback: Some(fallback),
                received: Vec::new(),
            }));
            let shared = script.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let script = shared.clone();
                    std::thread::spawn(move || answer(stream, &script));
                }
            });
            Endpoint { url, script }
        }

        fn set_fallback(&self, reply: Reply) {
            self.script.lock().unwrap().fallback = Some(reply);
        }

        fn received<T>(&self, f: impl FnOnce(&[Request]) -> T) -> T {
            f(&self.script.lock().unwrap().received)
        }
    }

    fn answer(stream: TcpStream, script: &Mutex<Script>) {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream);
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
            let mut script = script.lock().unwrap();
            script.received.push(Request {
                headers,
                body: String::from_utf8(body).unwrap(),
            });
            let fallback = script.fallback.unwrap_or(OK);
            script.replies.pop_front().unwrap_or(fallback)
        };
        std::thread::sleep(reply.delay);
        let text = format!("answer {}", reply.status);
        // A 503 asks for a second's pause, as a busy receiver would.
        let retry_after = if reply.status == 503 {
            "retry-after: 1\r\n"
        } else {
            ""
        };
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n{retry_after}connection: close\r\n\r\n{text}",
            reply.status,
            text.len()
        );
        let _ = reader.get_mut().write_all(response.as_bytes());
    }

    /// A fresh store folder and an opener for it (migrated before anyone else opens it).
    fn store(name: &str) -> (Opener, Box<dyn Store>, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("intent-webhook-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.clone();
        let opener: Opener = Arc::new(move || {
            SqliteStore::open(&path)
                .map(|s| Box::new(s) as Box<dyn Store>)
                .map_err(|e| e.to_string())
        });
        let store = opener().unwrap();
        (opener, store, dir)
    }

    fn subscribe(store: &mut dyn Store, id: &str, url: &str, secret: &str) {
        store
            .add_subscription(&Subscription {
                id: id.into(),
                url: url.into(),
                secret: secret.into(),
                events: vec![],
                tiers: vec![],
                locations: vec![],
                created_at: crate::now_ms(),
                disabled: false,
            })
            .unwrap();
    }

    fn payload(event: &str) -> String {
        format!(r#"{{"type":"task.created","data":{{"event":"{event}"}}}}"#)
    }

    fn announce(store: &mut dyn Store, event: &str) {
        let commit = FollowCommit {
            announcements: vec![Announcement {
                id: event.into(),
                kind: "task.created".into(),
                tier: Some("hot".into()),
                location: None,
                payload: payload(event),
                at: crate::now_ms(),
            }],
            ..FollowCommit::default()
        };
        store.commit_follow(&commit).unwrap();
    }

    /// Waits (5 s at most) until the delivery of `event` to `subscription` satisfies `done`.
    fn wait_for(
        store: &dyn Store,
        event: &str,
        subscription: &str,
        done: impl Fn(&Delivery) -> bool,
    ) -> Delivery {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = store
                .deliveries(None, Some(subscription), 100, None)
                .unwrap()
                .into_iter()
                .find(|d| d.event_id == event);
            match found {
                Some(d) if done(&d) => return d,
                last if Instant::now() > deadline => panic!("timed out waiting: {last:?}"),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn count(metrics: &Metrics, outcome: &str) -> u64 {
        let labels = OutcomeLabels {
            outcome: outcome.into(),
        };
        metrics.webhook_deliveries.get_or_create(&labels).get()
    }

    fn quick() -> WebhookConfig {
        WebhookConfig {
            attempts: 3,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            workers: 2,
        }
    }

    #[test]
    fn delivers_signed_request_and_marks_it_delivered() {
        let (opener, mut store, dir) = store("delivers");
        let endpoint = Endpoint::start(&[], OK);
        let secret = new_secret();
        subscribe(&mut *store, "sub_1", &endpoint.url, &secret);
        let metrics = Metrics::default();
        let dispatcher = Dispatcher::start(opener, quick(), &metrics).unwrap();

        announce(&mut *store, "ev_1");
        dispatcher.wake();
        let d = wait_for(&*store, "ev_1", "sub_1", |d| {
            d.status == DeliveryStatus::Delivered
        });
        assert_eq!((d.attempts, d.last_status), (1, Some(200)));
        assert!(d.delivered_at.is_some_and(|at| at >= d.created_at));

        endpoint.received(|requests| {
            assert_eq!(requests.len(), 1);
            let r = &requests[0];
            assert_eq!(r.body, payload("ev_1"));
            assert_eq!(r.headers["webhook-id"], "ev_1");
            assert_eq!(r.headers["content-type"], "application/json");
            let ua = &r.headers["user-agent"];
            assert_eq!(*ua, format!("intent-engine/{}", env!("CARGO_PKG_VERSION")));
            let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
            assert!((ts - crate::now_ms() / 1000).abs() <= 5, "{ts}");
            let signature = &r.headers["webhook-signature"];
            assert!(
                verify(&secret, "ev_1", ts, &r.body, signature),
                "{signature}"
            );
            assert!(!verify(&new_secret(), "ev_1", ts, &r.body, signature));
        });
        assert_eq!(count(&metrics, "delivered"), 1);
        assert_eq!(count(&metrics, "failed"), 0);
        let text = metrics.encode();
        assert!(
            text.contains("intent_webhook_delivery_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains("intent_webhook_lag_seconds_count 1"),
            "{text}"
        );
        drop(dispatcher);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn retries_after_500_with_the_same_webhook_id() {
        let (opener, mut store, dir) = store("retries");
        let fail = Reply {
            status: 500,
            delay: Duration::ZERO,
        };
        let endpoint = Endpoint::start(&[fail, fail], OK);
        let secret = new_secret();
        subscribe(&mut *store, "sub_1", &endpoint.url, &secret);
        announce(&mut *store, "ev_1");
        let metrics = Metrics::default();
        let started = Instant::now();
        let _dispatcher = Dispatcher::start(opener, quick(), &metrics).unwrap();

        let d = wait_for(&*store, "ev_1", "sub_1", |d| {
            d.status == DeliveryStatus::Delivered
        });
        // Two retries: at least 80% of 50 ms, then of 100 ms.
        assert!(started.elapsed() >= Duration::from_millis(120));
        assert_eq!((d.attempts, d.last_status), (3, Some(200)));
        assert_eq!(d.last_error.as_deref(), Some("status 500: answer 500"));
        endpoint.received(|requests| {
            assert_eq!(requests.len(), 3);
            for r in requests {
                assert_eq!(r.headers["webhook-id"], "ev_1");
                let ts = r.headers["webhook-timestamp"].parse().unwrap();
                let signature = &r.headers["webhook-signature"];
                assert!(verify(&secret, "ev_1", ts, &r.body, signature));
            }
        });
        assert_eq!(
            (count(&metrics, "failed"), count(&metrics, "delivered")),
            (2, 1)
        );
        assert_eq!(count(&metrics, "dead"), 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn retry_after_is_honoured_and_410_disables_the_subscription() {
        let (opener, mut store, dir) = store("gone");
        let busy = Reply {
            status: 503,
            delay: Duration::ZERO,
        };
        let gone = Reply {
            status: 410,
            delay: Duration::ZERO,
        };
        let endpoint = Endpoint::start(&[busy], OK);
        let leaving = Endpoint::start(&[gone], OK);
        subscribe(&mut *store, "sub_busy", &endpoint.url, &new_secret());
        subscribe(&mut *store, "sub_gone", &leaving.url, &new_secret());
        announce(&mut *store, "ev_1");
        let metrics = Metrics::default();
        let started = Instant::now();
        let _dispatcher = Dispatcher::start(opener, quick(), &metrics).unwrap();
        // The busy receiver asked for 1 s: the retry waits that long, not the 50 ms backoff.
        let d = wait_for(&*store, "ev_1", "sub_busy", |d| {
            d.status == DeliveryStatus::Delivered
        });
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((d.attempts, d.last_status), (2, Some(200)));
        // The gone receiver's delivery is dead after one attempt, and its subscription is off.
        let d = wait_for(&*store, "ev_1", "sub_gone", |d| {
            d.status == DeliveryStatus::Dead
        });
        assert_eq!((d.attempts, d.last_status), (1, Some(410)));
        let subs = store.subscriptions().unwrap();
        let off: Vec<(&str, bool)> = subs.iter().map(|s| (s.id.as_str(), s.disabled)).collect();
        assert_eq!(off, [("sub_busy", false), ("sub_gone", true)]);
        leaving.received(|requests| assert_eq!(requests.len(), 1));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn timeouts_dead_letter_then_replay_delivers() {
        let (opener, mut store, dir) = store("timeouts");
        let slow = Reply {
            status: 200,
            delay: Duration::from_millis(600),
        };
        let endpoint = Endpoint::start(&[], slow);
        subscribe(&mut *store, "sub_1", &endpoint.url, &new_secret());
        announce(&mut *store, "ev_1");
        let config = WebhookConfig {
            timeout: Duration::from_millis(300),
            ..quick()
        };
        let metrics = Metrics::default();
        let dispatcher = Dispatcher::start(opener, config, &metrics).unwrap();

        let d = wait_for(&*store, "ev_1", "sub_1", |d| {
            d.status == DeliveryStatus::Dead
        });
        assert_eq!(d.attempts, 3);
        assert_eq!(d.last_status, None);
        let error = d.last_error.clone().unwrap();
        assert!(error.starts_with("timeout"), "{error}");
        assert_eq!(endpoint.received(<[Request]>::len), 3);
        assert_eq!((count(&metrics, "failed"), count(&metrics, "dead")), (2, 1));

        endpoint.set_fallback(OK);
        store.replay(d.id, crate::now_ms()).unwrap();
        dispatcher.wake();
        let d = wait_for(&*store, "ev_1", "sub_1", |d| {
            d.status == DeliveryStatus::Delivered
        });
        assert_eq!((d.attempts, d.last_status), (1, Some(200)));
        endpoint.received(|requests| {
            assert_eq!(requests.len(), 4);
            assert!(requests.iter().all(|r| r.headers["webhook-id"] == "ev_1"));
        });
        assert_eq!(count(&metrics, "delivered"), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn removed_subscriptions_bad_secrets_and_urls_are_recorded() {
        let (opener, mut store, dir) = store("bad");
        let endpoint = Endpoint::start(&[], OK);
        subscribe(&mut *store, "sub_gone", &endpoint.url, &new_secret());
        subscribe(&mut *store, "sub_secret", &endpoint.url, "whsec_%%%");
        subscribe(&mut *store, "sub_url", "not a url", &new_secret());
        subscribe(&mut *store, "sub_ok", &endpoint.url, &new_secret());
        announce(&mut *store, "ev_1");
        store.remove_subscription("sub_gone").unwrap();
        let config = WebhookConfig {
            attempts: 2,
            backoff: Duration::from_millis(10),
            ..quick()
        };
        let metrics = Metrics::default();
        let _dispatcher = Dispatcher::start(opener, config, &metrics).unwrap();

        let dead = |d: &Delivery| d.status == DeliveryStatus::Dead;
        let gone = wait_for(&*store, "ev_1", "sub_gone", dead);
        assert_eq!(gone.last_error.as_deref(), Some("subscription removed"));
        assert_eq!(gone.attempts, 0);
        let secret = wait_for(&*store, "ev_1", "sub_secret", dead);
        assert_eq!(secret.attempts, 2);
        let error = secret.last_error.unwrap();
        assert!(error.starts_with("signing secret is not base64"), "{error}");
        let url = wait_for(&*store, "ev_1", "sub_url", dead);
        assert_eq!(url.attempts, 2);
        let error = url.last_error.unwrap();
        assert!(error.starts_with("request failed"), "{error}");
        wait_for(&*store, "ev_1", "sub_ok", |d| {
            d.status == DeliveryStatus::Delivered
        });
        // Only the good subscription's request reached the receiver.
        assert_eq!(endpoint.received(<[Request]>::len), 1);
        assert_eq!(count(&metrics, "dead"), 3);
        let _ = std::fs::remove_dir_all(dir);
    }
}
