//! The follow-up thread: runs the pure [`Desk`] beside live scoring.
//!
//! The apply stage tells it which profiles each group of events touched; it looks at their tier
//! now, lets the desk decide (tier changes, tasks, announcements) and commits the outcome in one
//! store transaction: the observed tiers, the tasks and the webhook outbox together, so a crash
//! can neither lose an announcement nor invent one. Events for a profile's history (a task's
//! result, a breach) are appended to the log first, with ids that make a retry store nothing
//! new. Once a second it looks for breached SLAs; every few seconds it looks again at profiles
//! above the lowest tier, whose tier can change with time alone (decay, an override running out).
//! At start, and after a new plan goes live, it looks at every profile, which also catches up
//! on whatever a crash left unannounced.
//!
//! Task commands from the API (claim, snooze, reassign, complete) come through here too, so the
//! desk has one writer.

use crate::live::{Job, Opener, Shared};
use crate::now_ms;
use intent_core::action::{
    Changes, Desk, DeskPlan, Details, HistoryEvent, Meta, Observation, Seen, Task, TaskError,
    TaskResult, TaskStatus,
};
use intent_core::engine::{Changed, Engine};
use intent_core::score::DISQUALIFIED;
use intent_core::time::{Ts, format_timestamp};
use intent_store::{Announcement, FollowCommit, Store, TaskRow};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The key of the desk's counters among the observed rows.
const META_KEY: &str = "#desk";
/// How often open tasks are checked against their deadline.
const TICK: Duration = Duration::from_secs(1);
/// How often profiles above the lowest tier are looked at again.
const SWEEP: Duration = Duration::from_secs(5);
/// Profiles looked at under one hold of the engine's and the desk's locks.
const SLICE: usize = 100;

/// A task command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Claim for `who`.
    Claim,
    /// Hide until then.
    Snooze(Ts),
    /// Give to this owner.
    Reassign(String),
    /// Complete with a result and a note.
    Complete(TaskResult, Option<String>),
}

/// Why a command failed.
#[derive(Debug)]
pub enum CommandError {
    /// The desk refused it.
    Task(TaskError),
    /// The store failed.
    Store(String),
}

type CommandReply = oneshot::Sender<Result<Task, CommandError>>;

/// Work for the follow-up thread.
pub enum FollowMsg {
    /// Profiles touched by applied events.
    Changed(Vec<Changed>),
    /// A task command, by `who`.
    Command {
        /// The task.
        id: i64,
        /// What to do.
        command: Command,
        /// Who does it.
        who: String,
        /// Where the task goes after.
        reply: CommandReply,
    },
    /// A new plan went live: use its playbooks and look at everyone again.
    PlanChanged,
}

/// What handlers and the apply stage hold.
#[derive(Clone)]
pub struct Follow {
    /// The desk, for reads; only the follow-up thread writes.
    pub desk: Arc<RwLock<Desk>>,
    /// The thread's queue.
    pub tx: Sender<FollowMsg>,
    /// Every profile above the lowest tier (or disqualified) as last looked at, for the
    /// dashboard's queue.
    pub board: Arc<RwLock<Board>>,
    /// Set while the thread looks at every profile (after a start or a new plan): the board
    /// is still filling in.
    pub settling: Arc<std::sync::atomic::AtomicBool>,
}

/// The queue's index: every profile the follow-up thread last saw above the lowest tier (or
/// disqualified), with its tier, score and location then. The thread looks at each profile an
/// event touches as it is scored and at these every few seconds (decay), so the queue can list
/// its lanes from here in milliseconds instead of scoring a million profiles per request.
#[derive(Debug, Default)]
pub struct Board {
    /// By canonical profile id.
    pub rows: rustc_hash::FxHashMap<String, BoardRow>,
}

/// One profile on the [`Board`].
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    /// Tier index (0 is the highest) or [`DISQUALIFIED`].
    pub tier: u8,
    /// Whether an override holds it (it asked for a person).
    pub escalated: bool,
    /// Engagement score when looked at.
    pub score: f64,
    /// Its latest location then.
    pub location: Option<String>,
    /// The time of its latest event then.
    pub last_event: Ts,
}

impl Board {
    /// Notes an observation: kept above the lowest tier `floor`, dropped at it.
    pub fn note(&mut self, obs: &Observation, floor: u8, last_event: Ts) {
        if obs.tier == floor && obs.override_index.is_none() {
            self.rows.remove(&obs.profile);
        } else {
            let row = BoardRow {
                tier: obs.tier,
                escalated: obs.override_index.is_some(),
                score: obs.score,
                location: obs.location.clone(),
                last_event,
            };
            match self.rows.get_mut(&obs.profile) {
                Some(r) => *r = row,
                None => {
                    self.rows.insert(obs.profile.clone(), row);
                }
            }
        }
    }
}

fn row(t: &Task) -> TaskRow {
    TaskRow {
        id: t.id,
        profile: t.profile.clone(),
        status: t.status.as_str().into(),
        created_at: t.created_at,
        body: serde_json::to_string(t).expect("a task is JSON"),
    }
}

/// Loads the desk from the store.
pub fn load_desk(store: &dyn Store, plan: DeskPlan) -> Result<Desk, String> {
    let (rows, tasks) = store.follow_state().map_err(|e| e.to_string())?;
    let mut meta: Option<Meta> = None;
    let mut observed = Vec::new();
    for (profile, body) in rows {
        if profile == META_KEY {
            meta = Some(serde_json::from_str(&body).map_err(|e| format!("desk counters: {e}"))?);
        } else {
            let seen: Seen =
                serde_json::from_str(&body).map_err(|e| format!("observed {profile}: {e}"))?;
            observed.push((profile, seen));
        }
    }
    let tasks = tasks
        .iter()
        .map(|r| serde_json::from_str::<Task>(&r.body).map_err(|e| format!("task {}: {e}", r.id)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut origin = [0u8; 4];
    getrandom::fill(&mut origin).map_err(|e| e.to_string())?;
    let origin: String = origin.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Desk::load(plan, observed, tasks, meta, &origin))
}

/// The segment message for a history event.
pub fn history_json(h: &HistoryEvent) -> String {
    let mut v = serde_json::json!({
        "type": "track",
        "event": h.event,
        "messageId": h.message_id,
        "properties": h.properties,
        "timestamp": format_timestamp(h.at),
        "context": { "source": "intent-follow-up" },
    });
    let o = v.as_object_mut().expect("object");
    match h.profile.split_once(':') {
        Some(("user", id)) => o.insert("userId".into(), id.into()),
        Some((_, id)) => o.insert("anonymousId".into(), id.into()),
        None => o.insert("anonymousId".into(), h.profile.clone().into()),
    };
    v.to_string()
}

/// An observation of a profile at `now` (never before its last event).
fn observation(engine: &Engine, profile: &str, now: Ts) -> Option<Observation> {
    let at = engine.last_event_time(profile).map_or(now, |t| now.max(t));
    let snap = engine.snapshot(profile, at)?;
    let plan = engine.scorer().plan();
    Some(Observation {
        profile: profile.to_string(),
        tier: snap.tier,
        override_index: snap.override_index,
        disqualified: snap
            .disqualifier
            .filter(|_| snap.tier == DISQUALIFIED)
            .map(|d| plan.disqualifiers[d].reason.clone()),
        score: (snap.score * 100.0).round() / 100.0,
        grade: snap.grade,
        location: engine
            .facets(profile)
            .and_then(|f| f.location)
            .map(|l| engine.label(l).to_string()),
    })
}

/// What a task card shows: a name, the top reasons and the top value per score group.
pub fn details(engine: &Engine, profile: &str, now: Ts) -> Details {
    let mut d = Details::default();
    let traits = engine.traits(profile);
    let text = |k: &str| traits.get(k).and_then(|v| v.as_str()).map(str::to_string);
    d.name = match (text("firstName"), text("lastName")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => text("name").or_else(|| text("email")),
    };
    let at = engine.last_event_time(profile).map_or(now, |t| now.max(t));
    if let Some(x) = engine.explain(profile, at) {
        let mut by_rule: Vec<(String, f64)> = Vec::new();
        for c in &x.contributions {
            match by_rule.iter_mut().find(|(l, _)| *l == c.label) {
                Some((_, p)) => *p += c.remaining,
                None => by_rule.push((c.label.clone(), c.remaining)),
            }
        }
        by_rule.sort_by(|a, b| b.1.total_cmp(&a.1));
        d.reasons = by_rule
            .into_iter()
            .filter(|(_, p)| *p > 0.0)
            .take(3)
            .map(|(l, _)| l)
            .collect();
        for (g, value, _) in &x.groups {
            if !d.groups.iter().any(|(x, _)| x == g) {
                d.groups.push((g.clone(), value.clone()));
            }
        }
    }
    d
}

struct Worker {
    store: Box<dyn Store>,
    shared: Arc<Shared>,
    desk: Arc<RwLock<Desk>>,
    board: Arc<RwLock<Board>>,
    settling: Arc<std::sync::atomic::AtomicBool>,
    writer: mpsc::Sender<Job>,
    wake: Box<dyn Fn() + Send>,
    /// The plan version the desk reads observations with.
    plan_version: i64,
}

impl Worker {
    /// Appends history events and waits until they are durable.
    fn append_history(&self, history: &[HistoryEvent]) -> Result<(), String> {
        if history.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = history.iter().map(history_json).collect();
        let raws: Vec<&serde_json::value::RawValue> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("history JSON"))
            .collect();
        let envelope = crate::ingest::Envelope {
            received_at: now_ms(),
            sent_at: None,
            context: None,
            batch: true,
            source: "follow-up",
        };
        let prepared = crate::ingest::prepare_batch(&raws, &envelope);
        let (reply, rx) = oneshot::channel();
        self.writer
            .blocking_send(Job::Append { prepared, reply })
            .map_err(|_| "the writer has stopped".to_string())?;
        rx.blocking_recv()
            .map_err(|_| "the writer has stopped".to_string())?
            .map(|_| ())
    }

    /// Makes a desk call's changes durable: history first, then observed tiers, tasks and
    /// announcements in one transaction; then wakes the webhook dispatcher.
    fn commit(&mut self, changes: Changes) -> Result<(), String> {
        if changes.is_empty() {
            return Ok(());
        }
        self.append_history(&changes.history)?;
        let commit = {
            let desk = self.desk.read().expect("desk");
            let mut observed: Vec<(String, Option<String>)> = changes
                .observed
                .iter()
                .map(|(p, s)| {
                    let body = s.as_ref().map(|s| serde_json::to_string(s).expect("JSON"));
                    (p.clone(), body)
                })
                .collect();
            if changes.meta {
                observed.push((
                    META_KEY.into(),
                    Some(serde_json::to_string(desk.meta()).expect("JSON")),
                ));
            }
            FollowCommit {
                observed,
                tasks: changes
                    .tasks
                    .iter()
                    .filter_map(|&id| desk.task(id).map(row))
                    .collect(),
                announcements: changes
                    .notices
                    .iter()
                    .map(|n| Announcement {
                        id: n.id.clone(),
                        kind: n.kind.to_string(),
                        tier: n.tier.clone(),
                        location: n.location.clone(),
                        payload: n.body.to_string(),
                        at: n.at,
                    })
                    .collect(),
            }
        };
        self.store
            .commit_follow(&commit)
            .map_err(|e| e.to_string())?;
        // Live pages hear of it only now that it is durable; nobody listening is fine.
        for a in &commit.announcements {
            let body: serde_json::Value = serde_json::from_str(&a.payload).unwrap_or_default();
            let _ = self.shared.news.send(crate::live::News {
                kind: a.kind.clone(),
                profile: body["data"]["profile"].as_str().map(str::to_string),
                tier: a.tier.clone(),
            });
        }
        if commit.announcements.is_empty() && !commit.tasks.is_empty() {
            let _ = self.shared.news.send(crate::live::News {
                kind: "task.updated".into(),
                profile: commit.tasks.first().map(|t| t.profile.clone()),
                tier: None,
            });
        }
        if !commit.announcements.is_empty() {
            let m = &self.shared.metrics;
            for a in &commit.announcements {
                m.announcements
                    .get_or_create(&crate::metrics::KindLabels {
                        kind: a.kind.clone(),
                    })
                    .inc();
            }
            (self.wake)();
        }
        Ok(())
    }

    /// After a failed commit the store is the truth: reload the desk from it.
    fn recover(&mut self, error: String) {
        tracing::error!(error = %error, "follow-up commit failed; reloading the desk from the store");
        let plan = self.desk.read().expect("desk").plan().clone();
        match load_desk(&*self.store, plan) {
            Ok(desk) => *self.desk.write().expect("desk") = desk,
            Err(e) => tracing::error!(error = %e, "reloading the desk"),
        }
        self.reconcile();
    }

    fn finish(&mut self, changes: Changes) {
        if let Err(e) = self.commit(changes) {
            self.recover(e);
        }
    }

    /// Looks at profiles now: merges first, then each profile's tier.
    fn look(&mut self, changed: &[Changed]) {
        if changed.is_empty() {
            return;
        }
        let now = now_ms();
        let mut out = Changes::default();
        {
            let live = self.shared.live.read().expect("live state");
            let engine = &live.engine;
            let mut desk = self.desk.write().expect("desk");
            let mut board = self.board.write().expect("board");
            let floor = (engine.scorer().plan().levels.len() - 1) as u8;
            // Observations are read with the plan of the engine that made them: a new plan goes
            // live in the engine first, and its tiers and playbooks must not be read with the
            // old plan's.
            if live.plan_version != self.plan_version {
                desk.set_plan(DeskPlan::of(engine.scorer().plan()));
                self.plan_version = live.plan_version;
                // Tier indices of another plan mean nothing now: the sweep after a plan
                // change looks at everyone and fills the board again.
                board.rows.clear();
            }
            for c in changed {
                let (name, merged_into) = match c {
                    Changed::Merged { from, into } => (from, Some(into)),
                    Changed::Profile(p) => (p, None),
                };
                // Where the id lives now: a later merge may have moved `into` (or a swept
                // name) on since the change was noted.
                match engine
                    .canonical(name)
                    .or_else(|| merged_into.and_then(|i| engine.canonical(i)))
                {
                    Some(c) if c == *name => {
                        if let Some(obs) = observation(engine, name, now) {
                            // A clock ahead of ours must not put someone first for hours.
                            let last = engine.last_event_time(name).unwrap_or(now).min(now);
                            board.note(&obs, floor, last);
                            desk.observe(&obs, now, &mut || details(engine, name, now), &mut out);
                        }
                    }
                    Some(c) => {
                        board.rows.remove(name.as_str());
                        desk.merge(name, &c, now, &mut out)
                    }
                    // Not a profile of the log (a store rebuilt without it): nothing to do.
                    None => {}
                }
            }
        }
        self.finish(out);
    }

    /// Completions whose history event reached the log while their task's commit did not (a
    /// crash or a failed commit in between) are completed again from that event, so the log and
    /// the desk agree. Breaches need nothing: the task is still past due and is breached again,
    /// with the same history id.
    fn reconcile(&mut self) {
        let now = now_ms();
        let mut out = Changes::default();
        {
            let live = self.shared.live.read().expect("live state");
            let engine = &live.engine;
            let mut desk = self.desk.write().expect("desk");
            let origin = desk.meta().origin.clone();
            let open: Vec<(i64, String)> = desk
                .tasks()
                .iter()
                .filter(|t| t.status == TaskStatus::Open)
                .map(|t| (t.id, t.profile.clone()))
                .collect();
            for (id, profile) in open {
                let message_id = format!("task-{origin}-{id}-completed");
                let Some(e) = engine.find_event(&profile, &message_id) else {
                    continue;
                };
                let text = |k: &str| {
                    e.properties
                        .get(k)
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                };
                let Some(result) = text("result").as_deref().and_then(TaskResult::parse) else {
                    continue;
                };
                let who = text("owner").unwrap_or_else(|| "unknown".into());
                tracing::warn!(
                    task = id,
                    "completing a task from its history event (its commit was lost)"
                );
                let _ = desk.complete(
                    id,
                    result,
                    text("note"),
                    &who,
                    e.timestamp.max(0).min(now),
                    &mut out,
                );
            }
        }
        self.finish(out);
    }

    /// What a sweep looks at: every profile the desk watches (above the lowest tier), and, when
    /// `all`, every profile above it that the desk has not seen.
    fn sweep_list(&self, all: bool) -> VecDeque<Changed> {
        let desk = self.desk.read().expect("desk");
        let mut list: VecDeque<Changed> = desk
            .watched()
            .map(|p| Changed::Profile(p.to_string()))
            .collect();
        if all {
            let live = self.shared.live.read().expect("live state");
            let engine = &live.engine;
            let floor = (engine.scorer().plan().levels.len() - 1) as u8;
            for v in engine.profiles_at(now_ms()) {
                if v.snapshot.tier != floor || v.snapshot.override_index.is_some() {
                    let name = engine.key_name(v.key);
                    if desk.seen(&name).is_none() {
                        list.push_back(Changed::Profile(name));
                    }
                }
            }
        }
        list
    }

    fn tick(&mut self) {
        let mut out = Changes::default();
        self.desk.write().expect("desk").tick(now_ms(), &mut out);
        self.finish(out);
    }

    fn command(&mut self, id: i64, command: Command, who: &str) -> Result<Task, CommandError> {
        let now = now_ms();
        let mut out = Changes::default();
        {
            let mut desk = self.desk.write().expect("desk");
            let done = match command {
                Command::Claim => desk.claim(id, who, now, &mut out),
                Command::Snooze(until) => desk.snooze(id, until, who, now, &mut out),
                Command::Reassign(owner) => desk.reassign(id, &owner, who, now, &mut out),
                Command::Complete(result, note) => {
                    desk.complete(id, result, note, who, now, &mut out)
                }
            };
            done.map_err(CommandError::Task)?;
        }
        if let Err(e) = self.commit(out) {
            self.recover(e.clone());
            return Err(CommandError::Store(e));
        }
        let desk = self.desk.read().expect("desk");
        Ok(desk.task(id).expect("the task").clone())
    }
}

/// Starts the follow-up thread; it waits for live state to be rebuilt, then looks at every
/// profile once and follows changes from then on.
pub fn start(
    opener: Opener,
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
    wake: Box<dyn Fn() + Send>,
    plan: DeskPlan,
) -> Result<Follow, String> {
    let mut store = opener()?;
    // Checkpoints run on their own connection (see `start`), never inside this thread's commits.
    store.defer_maintenance().map_err(|e| e.to_string())?;
    let desk = Arc::new(RwLock::new(load_desk(&*store, plan)?));
    let (tx, rx) = std::sync::mpsc::channel();
    let board = Arc::new(RwLock::new(Board::default()));
    let settling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut worker = Worker {
        store,
        shared,
        desk: desk.clone(),
        board: board.clone(),
        settling: settling.clone(),
        writer,
        wake,
        plan_version: -1,
    };
    std::thread::Builder::new()
        .name("intent-follow".into())
        .spawn(move || run(&mut worker, rx))
        .map_err(|e| e.to_string())?;
    Ok(Follow {
        desk,
        tx,
        board,
        settling,
    })
}

fn run(w: &mut Worker, rx: Receiver<FollowMsg>) {
    while !w.shared.ready.load(std::sync::atomic::Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(20));
    }
    w.reconcile();
    // A sweep is looked at a slice at a time between the changes that keep arriving, so that a
    // long sweep never holds back the announcement of a fresh crossing.
    let mut sweep = w.sweep_list(true);
    let mut full_sweep = Some((sweep.len(), Instant::now()));
    let mut next_tick = Instant::now() + TICK;
    let mut next_sweep = Instant::now() + SWEEP;
    loop {
        let wait = if sweep.is_empty() {
            next_tick.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        let first = match rx.recv_timeout(wait) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut changed: Vec<Changed> = Vec::new();
        let mut plan_changed = false;
        for msg in first
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            match msg {
                FollowMsg::Changed(c) => changed.extend(c),
                FollowMsg::PlanChanged => plan_changed = true,
                FollowMsg::Command {
                    id,
                    command,
                    who,
                    reply,
                } => {
                    // Profiles changed before the command are looked at first.
                    w.look(&std::mem::take(&mut changed));
                    let _ = reply.send(w.command(id, command, &who));
                }
            }
        }
        // Once each, in the order the changes happened (a merge noted later may move a profile
        // a merge noted earlier moved into).
        let mut once = std::collections::HashSet::new();
        changed.retain(|c| once.insert(c.clone()));
        if !changed.is_empty() {
            let mut recent = w.shared.recent.lock().expect("recent");
            for c in &changed {
                if let Changed::Profile(p) = c {
                    if recent.len() == crate::live::RECENT {
                        recent.pop_front();
                    }
                    recent.push_back(p.clone());
                }
            }
        }
        // In slices, so that ingestion waits for the engine's lock for a short while only.
        for chunk in changed.chunks(SLICE) {
            w.look(chunk);
        }
        if plan_changed {
            // The desk takes the new plan in its next look; everyone is looked at again.
            sweep = w.sweep_list(true);
            full_sweep = Some((sweep.len(), Instant::now()));
            w.settling.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if !sweep.is_empty() {
            let slice: Vec<Changed> = sweep.drain(..SLICE.min(sweep.len())).collect();
            w.look(&slice);
        }
        if sweep.is_empty()
            && let Some((profiles, started)) = full_sweep.take()
        {
            w.settling
                .store(false, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(
                profiles,
                seconds = started.elapsed().as_secs_f64(),
                "follow-up desk looked at every profile"
            );
        }
        let now = Instant::now();
        if now >= next_tick {
            w.tick();
            next_tick = now + TICK;
        }
        if now >= next_sweep && sweep.is_empty() {
            sweep = w.sweep_list(false);
            next_sweep = now + SWEEP;
        }
    }
}
