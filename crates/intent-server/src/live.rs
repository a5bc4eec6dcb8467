//! Live state and the single writer.
//!
//! One thread owns the store's write connection. Requests hand it their prepared messages and
//! wait; it takes every request that is waiting, drops repeated message ids, appends the rest in
//! one transaction (one fsync for the whole group: group commit) and passes the group to the
//! apply thread, which scores it in the live engine and only then acknowledges; meanwhile the
//! next group is being committed. An acknowledged event is on disk and visible to reads; a
//! crash before the commit leaves neither the events nor their effects.
//!
//! Live state is a checkpoint of the log: at start it is rebuilt by scanning the log, and a new
//! plan version is scored from the log in the background while ingestion goes on, then caught
//! up with the tail and swapped in.

use crate::ingest::Prepared;
use crate::metrics::Metrics;
use intent_core::engine::Engine;
use intent_core::event::{Event, FieldPath, Keys};
use intent_core::plan::Plan;
use intent_core::score::Scorer;
use intent_store::{NewEvent, Store};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Opens a new connection to the store.
pub type Opener = Arc<dyn Fn() -> Result<Box<dyn Store>, String> + Send + Sync>;

/// The scored state of every profile, as of log sequence `seq`.
pub struct Live {
    /// The engine.
    pub engine: Engine,
    /// The plan version it scores with.
    pub plan_version: i64,
    /// The plan's YAML text.
    pub plan_text: String,
    /// The last log sequence applied.
    pub seq: i64,
}

/// A background rescoring with a new plan version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rescoring {
    /// The version being scored.
    pub version: i64,
    /// Events scored so far.
    pub done: u64,
    /// Events to score.
    pub total: u64,
    /// Set when it failed.
    pub error: Option<String>,
}

/// What handlers share.
pub struct Shared {
    /// Live state.
    pub live: RwLock<Live>,
    /// Whether the start-up rebuild has finished.
    pub ready: AtomicBool,
    /// Events replayed by the start-up rebuild.
    pub rebuilt: AtomicU64,
    /// Events to replay at start.
    pub rebuild_total: AtomicU64,
    /// The rescoring in progress, if any.
    pub rescoring: Mutex<Option<Rescoring>>,
    /// Metrics.
    pub metrics: Metrics,
    /// Where the apply stage sends the profiles each group touched (the follow-up thread).
    pub follow: std::sync::OnceLock<std::sync::mpsc::Sender<crate::follow::FollowMsg>>,
    /// What the follow-up desk just made durable (tier changes, task changes), for live pages.
    pub news: tokio::sync::broadcast::Sender<News>,
    /// The profiles events touched most recently, newest last (at most [`RECENT`]), for the
    /// queue's lowest lane.
    pub recent: Mutex<std::collections::VecDeque<String>>,
}

/// How many recently touched profiles [`Shared::recent`] keeps.
pub const RECENT: usize = 4096;

/// A change the dashboard's live pages hear about: sent after the change is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    /// `tier.changed`, `task.created`, … (an announcement's kind), or `task.updated`.
    pub kind: String,
    /// The profile's canonical id, when the change is about one.
    pub profile: Option<String>,
    /// The tier it is in now, when known.
    pub tier: Option<String>,
}

/// The outcome of an append.
#[derive(Debug, Default)]
pub struct Appended {
    /// Indices (in the request) of messages whose id was stored before.
    pub duplicates: Vec<usize>,
    /// Messages appended.
    pub stored: usize,
}

/// Work for the writer.
pub enum Job {
    /// Append a request's messages; reply once they are durable and applied.
    Append {
        /// The messages.
        prepared: Prepared,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<Appended, String>>,
    },
    /// A new plan's engine, scored up to `seq`: catch it up and make it live.
    Swap {
        /// The engine.
        engine: Box<Engine>,
        /// Scored up to here.
        seq: i64,
        /// Plan version.
        version: i64,
        /// Plan text.
        text: String,
    },
}

/// Every message id in the log, as 128-bit keyed hashes (SipHash with two random keys: ids a
/// client chooses cannot be made to collide), in shards so that growing never pauses for long.
pub struct Seen {
    keys: [std::hash::RandomState; 2],
    shards: Vec<rustc_hash::FxHashSet<u128>>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            keys: [std::hash::RandomState::new(), std::hash::RandomState::new()],
            shards: (0..64).map(|_| rustc_hash::FxHashSet::default()).collect(),
        }
    }
}

impl Seen {
    fn key(&self, id: &str) -> u128 {
        use std::hash::BuildHasher;
        (u128::from(self.keys[0].hash_one(id)) << 64) | u128::from(self.keys[1].hash_one(id))
    }

    fn shard(&mut self, k: u128) -> &mut rustc_hash::FxHashSet<u128> {
        &mut self.shards[(k >> 64) as usize % 64]
    }

    /// Adds an id; false when it was there.
    pub fn insert(&mut self, id: &str) -> bool {
        let k = self.key(id);
        self.shard(k).insert(k)
    }

    /// Forgets an id (its append failed).
    pub fn remove(&mut self, id: &str) {
        let k = self.key(id);
        self.shard(k).remove(&k);
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn parse_stored(body: &str, seq: i64) -> Result<Event, String> {
    Event::from_json(body, || format!("seq-{seq}"))
        .map_err(|e| format!("stored message {seq} does not decode: {e}"))
}

/// Scores the log up to `upto` with a plan, on every core: this thread reads the log in batches,
/// two threads decode them, and one scores them in log order. Also returns the set of message ids
/// in the log.
pub fn rebuild(
    store: &dyn Store,
    plan: Plan,
    upto: i64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Engine, Seen), String> {
    type Raw = (u64, Vec<(i64, String)>);
    type Decoded = (u64, Result<Vec<(Event, String)>, String>);
    const BATCH: usize = 4096;
    // The log keeps every message whole; scoring it again needs only what the plan reads, the
    // facets (channel, location) and the traits (the search index).
    let mut projection = plan.projection();
    for path in [
        "channel",
        "properties.location",
        "context.location",
        "context.traits",
    ] {
        projection.add(&FieldPath::parse(path).expect("a valid path"));
    }
    projection.traits = Keys::All;
    let projection = &projection;
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Raw>(8);
    // Shared by the decoders only: when both stop (the scorer failed), the reader's sends fail.
    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let (dec_tx, dec_rx) = std::sync::mpsc::sync_channel::<Decoded>(8);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (raw_rx, dec_tx) = (raw_rx.clone(), dec_tx.clone());
            scope.spawn(move || {
                loop {
                    let next = raw_rx.lock().expect("log batches").recv();
                    let Ok((n, lines)) = next else { return };
                    let decoded = lines
                        .into_iter()
                        .map(|(seq, body)| {
                            Event::from_json_projected(&body, projection, || format!("seq-{seq}"))
                                .map(|e| (e, body))
                                .map_err(|e| format!("stored message {seq} does not decode: {e}"))
                        })
                        .collect();
                    if dec_tx.send((n, decoded)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(dec_tx);
        drop(raw_rx);
        let scorer = scope.spawn(move || -> Result<(Engine, Seen), String> {
            let mut engine = Engine::without_dedupe(Scorer::new(plan));
            let mut seen = Seen::default();
            let mut pending = std::collections::BTreeMap::new();
            let mut next = 0u64;
            let mut done = 0u64;
            for (n, batch) in dec_rx {
                pending.insert(n, batch);
                while let Some(batch) = pending.remove(&next) {
                    next += 1;
                    for (e, json) in batch? {
                        done += 1;
                        // A log never holds a repeat; if one did, the first would count.
                        if seen.insert(&e.message_id) {
                            engine.ingest_json(e, json);
                        }
                    }
                    progress(done);
                }
            }
            Ok((engine, seen))
        });
        let mut batch = Vec::with_capacity(BATCH);
        let mut n = 0u64;
        let read = store
            .scan(0, upto, &mut |seq, body| {
                batch.push((seq, body.to_string()));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    raw_tx
                        .send((n, full))
                        .map_err(|_| "scoring stopped".to_string())?;
                    n += 1;
                }
                Ok(())
            })
            .map_err(|e| e.to_string());
        if !batch.is_empty() {
            let _ = raw_tx.send((n, batch));
        }
        drop(raw_tx);
        let scored = scorer
            .join()
            .map_err(|_| "scoring the log panicked".to_string())?;
        read.and(scored)
    })
}

/// Work for the apply thread.
enum Apply {
    /// A committed group: apply in order, then acknowledge.
    Group {
        appends: Vec<(Prepared, Reply)>,
        repeat: Vec<Vec<bool>>,
        first: i64,
        stored: usize,
    },
    /// Everything before this has been applied.
    Barrier(std::sync::mpsc::SyncSender<()>),
}

/// The most messages one group commit takes: enough to make an fsync cheap per message, small
/// enough that scoring a group never holds acknowledgements back for long.
const MAX_GROUP_EVENTS: usize = 2048;

/// The writer; returns when every sender is gone.
///
/// Two stages run in step: this thread commits group N+1 while the apply thread scores group N
/// and acknowledges it. An acknowledged event is durable and visible to reads.
pub fn run_writer(
    mut store: Box<dyn Store>,
    shared: Arc<Shared>,
    mut seen: Seen,
    mut rx: mpsc::Receiver<Job>,
) {
    let (apply_tx, apply_rx) = std::sync::mpsc::sync_channel::<Apply>(2);
    let applier = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("intent-apply".into())
            .spawn(move || apply_loop(&shared, apply_rx))
            .expect("spawn the apply thread")
    };
    let mut jobs = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        let mut events = 0;
        while events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    if let Job::Append { prepared, .. } = &job {
                        events += prepared.accepted.len();
                    }
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut appends = Vec::new();
        for job in jobs.drain(..) {
            match job {
                Job::Append { prepared, reply } => appends.push((prepared, reply)),
                Job::Swap {
                    engine,
                    seq,
                    version,
                    text,
                } => {
                    if !appends.is_empty() {
                        commit(
                            &mut *store,
                            &shared,
                            &mut seen,
                            &apply_tx,
                            std::mem::take(&mut appends),
                        );
                    }
                    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
                    if apply_tx.send(Apply::Barrier(done_tx)).is_ok() {
                        let _ = done_rx.recv();
                    }
                    swap(&mut *store, &shared, *engine, seq, version, text);
                }
            }
        }
        if !appends.is_empty() {
            commit(&mut *store, &shared, &mut seen, &apply_tx, appends);
        }
    }
    drop(apply_tx);
    let _ = applier.join();
}

type Reply = oneshot::Sender<Result<Appended, String>>;

fn commit(
    store: &mut dyn Store,
    shared: &Shared,
    seen: &mut Seen,
    apply: &std::sync::mpsc::SyncSender<Apply>,
    appends: Vec<(Prepared, Reply)>,
) {
    let started = Instant::now();
    // Which messages are new: not in the log, not earlier in this group.
    let repeat: Vec<Vec<bool>> = appends
        .iter()
        .map(|(p, _)| {
            p.accepted
                .iter()
                .map(|a| !seen.insert(&a.event.message_id))
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for ((p, _), rep) in appends.iter().zip(&repeat) {
        for (a, _) in p.accepted.iter().zip(rep).filter(|(_, r)| !**r) {
            rows.push(NewEvent {
                message_id: &a.event.message_id,
                received_at: a.received_at,
                body: &a.json,
            });
        }
        rejected.extend(p.rejected.iter().map(|r| r.2.clone()));
    }
    let result = store.append(&rows, &rejected);
    let stored = rows.len();
    drop(rows);
    let first = match result {
        Ok(first) => first,
        Err(e) => {
            tracing::error!(error = %e, "appending to the event log");
            for ((p, _), rep) in appends.iter().zip(&repeat) {
                for (a, _) in p.accepted.iter().zip(rep).filter(|(_, r)| !**r) {
                    seen.remove(&a.event.message_id);
                }
            }
            for (_, reply) in appends {
                let _ = reply.send(Err(e.to_string()));
            }
            return;
        }
    };
    let m = &shared.metrics;
    m.commit_seconds.observe(started.elapsed().as_secs_f64());
    m.commit_events.observe(stored as f64);
    m.ingested.inc_by(stored as u64);
    m.quarantined.inc_by(rejected.len() as u64);
    let _ = apply.send(Apply::Group {
        appends,
        repeat,
        first,
        stored,
    });
}

fn apply_loop(shared: &Shared, rx: std::sync::mpsc::Receiver<Apply>) {
    let m = &shared.metrics;
    for job in rx {
        let (appends, repeat, first, stored) = match job {
            Apply::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
            Apply::Group {
                appends,
                repeat,
                first,
                stored,
            } => (appends, repeat, first, stored),
        };
        let mut replies = Vec::with_capacity(appends.len());
        {
            let mut live = shared.live.write().expect("live state");
            for ((p, reply), rep) in appends.into_iter().zip(repeat) {
                let mut out = Appended::default();
                for (a, r) in p.accepted.into_iter().zip(rep) {
                    if r {
                        out.duplicates.push(a.index);
                    } else {
                        out.stored += 1;
                        live.engine.ingest_json(a.event, a.json);
                    }
                }
                replies.push((reply, out));
            }
            if stored > 0 {
                live.seq = first + stored as i64 - 1;
            }
            m.log_seq.set(live.seq);
            let changed = live.engine.take_changed();
            if !changed.is_empty()
                && let Some(follow) = shared.follow.get()
            {
                let _ = follow.send(crate::follow::FollowMsg::Changed(changed));
            }
        }
        for (reply, out) in replies {
            m.duplicates.inc_by(out.duplicates.len() as u64);
            let _ = reply.send(Ok(out));
        }
    }
}

fn swap(
    store: &mut dyn Store,
    shared: &Shared,
    mut engine: Engine,
    mut seq: i64,
    version: i64,
    text: String,
) {
    let (upto, live_version) = {
        let live = shared.live.read().expect("live state");
        (live.seq, live.plan_version)
    };
    if version < live_version {
        // Two plans were published close together and the later one is already live.
        tracing::info!(
            version,
            live_version,
            "a newer plan version is live; dropping this one"
        );
        return;
    }
    let caught = store.scan(seq, upto, &mut |s, body| {
        engine.ingest_json(parse_stored(body, s)?, body.to_string());
        seq = s;
        Ok(())
    });
    let finish = match caught {
        Ok(()) => store.activate(version).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let mut status = shared.rescoring.lock().expect("rescoring status");
    let mine = status.as_ref().is_some_and(|s| s.version == version);
    match finish {
        Ok(()) => {
            let mut live = shared.live.write().expect("live state");
            live.engine = engine;
            live.engine.track_changes(true);
            live.plan_version = version;
            live.plan_text = text;
            live.seq = upto;
            tracing::info!(version, seq = upto, "plan version is live");
            if let Some(follow) = shared.follow.get() {
                let _ = follow.send(crate::follow::FollowMsg::PlanChanged);
            }
            if mine {
                *status = None;
            }
        }
        Err(e) => {
            tracing::error!(version, error = %e, "rescoring failed; the old plan stays live");
            if let Some(s) = status.as_mut().filter(|_| mine) {
                s.error = Some(e);
            }
        }
    }
}

/// Rescores the whole log with a new plan version in the background; the writer swaps it in.
/// The status shows the newest version being scored from the moment this returns; when two
/// versions are published close together, the later one ends up live whichever finishes first.
pub fn rescore(
    opener: Opener,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Job>,
    plan: Plan,
    version: i64,
    text: String,
) {
    let upto = shared.live.read().expect("live state").seq;
    {
        let mut status = shared.rescoring.lock().expect("rescoring status");
        if status.as_ref().is_none_or(|s| s.version < version) {
            *status = Some(Rescoring {
                version,
                done: 0,
                total: upto.max(0) as u64,
                error: None,
            });
        }
    }
    std::thread::spawn(move || {
        let started = Instant::now();
        let result = opener().and_then(|store| {
            rebuild(&*store, plan, upto, &|done| {
                let mut status = shared.rescoring.lock().expect("rescoring status");
                if let Some(s) = status.as_mut().filter(|s| s.version == version) {
                    s.done = done;
                }
            })
        });
        match result {
            Ok((engine, _)) => {
                tracing::info!(
                    version,
                    events = upto,
                    seconds = started.elapsed().as_secs_f64(),
                    "rescored the log with a new plan version"
                );
                let _ = tx.blocking_send(Job::Swap {
                    engine: Box::new(engine),
                    seq: upto,
                    version,
                    text,
                });
            }
            Err(e) => {
                tracing::error!(version, error = %e, "rescoring failed");
                let mut status = shared.rescoring.lock().expect("rescoring status");
                if let Some(s) = status.as_mut().filter(|s| s.version == version) {
                    s.error = Some(e);
                }
            }
        }
    });
}
