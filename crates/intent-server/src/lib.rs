//! # intent-server
//!
//! The Intent Engine service: Segment-compatible ingestion into a durable event log, every event
//! scored on arrival, and a JSON read API over live profiles, the queue and plan versions.
//!
//! Handlers are thin: decode and authenticate at the edge ([`ingest`], [`auth`]), hand messages
//! to the single writer ([`live`]) that commits them as a group and applies them to the pure
//! engine, and read live state for the API ([`api`]). The server never panics on input: every
//! failure is an [`error::ApiError`] with a status, a stable code and the field it is about.
//!
//! # Layout
//! - [`ingest`]: bodies, limits, the Segment envelope, normalization and validation.
//! - [`auth`]: write keys and admin tokens, hashed.
//! - [`live`]: live state, group commit, start-up rebuild, background rescoring.
//! - [`api`]: the routes.
//! - [`follow`]: the follow-up desk's thread: tiers become tasks and announcements.
//! - [`webhook`]: signed webhook deliveries from the outbox.
//! - [`tasks`]: routes of the desk: tasks, the SLA report, webhook subscriptions.
//! - [`outcomes`]: recording outcomes, the funnel report, a plan model's predictions.
//! - [`dashboard`]: the web dashboard at `/` (queue, profile, funnel, learnings, plan; en/pl).
//! - [`metrics`]: Prometheus metrics.
//! - [`error`]: the one error type.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod follow;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod outcomes;
pub mod tasks;
pub mod webhook;

use intent_core::action::DeskPlan;
use intent_core::engine::Engine;
use intent_core::plan::Plan;
use intent_core::score::Scorer;
use live::{Job, Live, Opener, Shared};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the service needs to start.
pub struct Config {
    /// Opens a connection to the store (one writes, others read).
    pub opener: Opener,
    /// The plan to score with and its text; stored as a new version when it differs from the
    /// active one.
    pub plan: (Plan, String, String),
    /// A plan file to watch for changes.
    pub watch: Option<PathBuf>,
    /// Webhook delivery settings.
    pub webhooks: webhook::WebhookConfig,
    /// Runs the learning analysis over the store for the dashboard's Learnings page; the CLI
    /// gives it (learning lives with the batch reader), tests may leave it out.
    pub analyst: Option<dashboard::Analyst>,
}

/// State shared by handlers.
#[derive(Clone)]
pub struct AppState {
    /// Live state and metrics.
    pub shared: Arc<Shared>,
    /// The writer's queue.
    pub writer: mpsc::Sender<Job>,
    /// Keys.
    pub keys: Arc<auth::KeyCache>,
    /// A read connection for the quarantine, plans and message lookups.
    pub reader: Arc<Mutex<Box<dyn intent_store::Store>>>,
    /// Opens more connections (background rescoring).
    pub opener: Opener,
    /// The follow-up desk.
    pub follow: follow::Follow,
    /// The webhook dispatcher.
    pub webhooks: webhook::Dispatcher,
    /// The dashboard's sessions and its latest analysis.
    pub dashboard: Arc<dashboard::Dashboard>,
}

/// A running service's handles, for the CLI and tests.
pub struct Service {
    /// The state the router serves.
    pub state: AppState,
    /// The writer thread; it ends when every sender is dropped.
    pub writer: std::thread::JoinHandle<()>,
}

/// Opens the store, starts the writer (which first rebuilds live state from the log) and returns
/// the state to serve. Requests that write wait until the rebuild is done; `/readyz` tells.
pub fn start(config: Config) -> anyhow::Result<Service> {
    let opener = config.opener.clone();
    let mut store = opener().map_err(anyhow::Error::msg)?;
    let mut reader = opener().map_err(anyhow::Error::msg)?;
    reader.defer_maintenance()?;
    let (plan, text, origin) = config.plan;
    let desk_plan = plan.clone();
    let now = now_ms();
    let version = match store.active_plan()? {
        Some(active) if active.text == text => active.version,
        _ => {
            let v = store.add_plan(&text, &origin, now)?;
            store.activate(v)?;
            v
        }
    };
    let upto = store.last_seq()?;
    // Checkpoints of the log run beside the writer, never inside a commit.
    store.defer_maintenance()?;
    let maintenance = opener().map_err(anyhow::Error::msg)?;
    std::thread::Builder::new()
        .name("intent-maintenance".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                if let Err(e) = maintenance.maintain() {
                    tracing::warn!(error = %e, "store maintenance");
                }
            }
        })?;
    let shared = Arc::new(Shared {
        live: RwLock::new(Live {
            engine: Engine::without_dedupe(Scorer::new(plan.clone())),
            plan_version: version,
            plan_text: text,
            seq: 0,
        }),
        ready: AtomicBool::new(false),
        rebuilt: AtomicU64::new(0),
        rebuild_total: AtomicU64::new(upto as u64),
        rescoring: Mutex::new(None),
        metrics: metrics::Metrics::default(),
        follow: std::sync::OnceLock::new(),
        news: tokio::sync::broadcast::channel(1024).0,
        recent: Mutex::new(std::collections::VecDeque::with_capacity(live::RECENT)),
    });
    let keys_reader = opener.clone();
    let keys = Arc::new(auth::KeyCache::new(Box::new(move || {
        let s = keys_reader()?;
        s.keys().map_err(|e| e.to_string())
    })));
    let (tx, rx) = mpsc::channel::<Job>(4096);
    let writer_shared = shared.clone();
    let writer = std::thread::Builder::new()
        .name("intent-writer".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let progress = |n: u64| writer_shared.rebuilt.store(n, Ordering::Relaxed);
            let seen = match live::rebuild(&*store, plan, upto, &progress) {
                Ok((engine, seen)) => {
                    let mut live = writer_shared.live.write().expect("live state");
                    live.engine = engine;
                    live.engine.track_changes(true);
                    live.seq = upto;
                    tracing::info!(
                        events = upto,
                        profiles = live.engine.profile_count(),
                        seconds = started.elapsed().as_secs_f64(),
                        "live state rebuilt from the event log"
                    );
                    seen
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding live state failed");
                    std::process::exit(2);
                }
            };
            writer_shared.ready.store(true, Ordering::Release);
            live::run_writer(store, writer_shared, seen, rx);
        })?;
    let webhooks = webhook::Dispatcher::start(opener.clone(), config.webhooks, shared.clone())
        .map_err(anyhow::Error::msg)?;
    let wake = webhooks.clone();
    let follow = follow::start(
        opener.clone(),
        shared.clone(),
        tx.clone(),
        Box::new(move || wake.wake()),
        DeskPlan::of(&desk_plan),
    )
    .map_err(anyhow::Error::msg)?;
    let _ = shared.follow.set(follow.tx.clone());
    let state = AppState {
        shared,
        writer: tx,
        keys,
        reader: Arc::new(Mutex::new(reader)),
        opener,
        follow,
        webhooks,
        dashboard: Arc::new(dashboard::Dashboard::new(config.analyst)),
    };
    if let Some(path) = config.watch {
        api::watch_plan(state.clone(), path);
    }
    Ok(Service { state, writer })
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Wall-clock time in ms (the edge reads the clock; the core never does).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
