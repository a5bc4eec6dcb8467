//! The follow-up desk: tiers become work.
//!
//! The [`Desk`] watches each profile's effective tier and active override, as the server
//! observes them, and turns crossings into announcements and tasks: entering a tier (or an
//! override) that has a playbook with an SLA opens one task with its playbook, owner and due
//! time; a later escalation raises it; falling to a tier without tasks closes it as expired. A
//! past-due task is breached and can go to the team's manager. Salespeople (or the CRM) claim,
//! snooze, reassign and complete tasks; a completion is an event in the profile's history.
//!
//! Everything is a pure function of what it is given and a `now`: the desk reads no clock and
//! stores nothing. Each call fills a [`Changes`] that the caller commits in one transaction (the
//! observed tiers, the tasks and the announcements together) and whose history events it appends
//! to the log.
//!
//! A crossing fires once: the desk remembers the last tier it announced per profile, so a score
//! that moves inside a tier announces nothing, and a score that jumps over a tier announces the
//! one change from where it was to where it is.
//!
//! # Layout
//! - [`plan`]: the plan's `follow_up:` section.
//! - [`report`]: speed-to-lead and SLA compliance.

pub mod plan;
pub mod report;

use crate::score::DISQUALIFIED;
use crate::time::Ts;
use plan::FollowUp;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for first contact.
    Open,
    /// Completed with a result.
    Done,
    /// Closed because the profile fell to a tier without tasks (or was disqualified).
    Expired,
    /// Closed because the profile merged into one that already had a task.
    Merged,
}

impl TaskStatus {
    /// `open`, `done`, `expired`, `merged`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Expired => "expired",
            TaskStatus::Merged => "merged",
        }
    }

    /// Parses a status name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            TaskStatus::Open,
            TaskStatus::Done,
            TaskStatus::Expired,
            TaskStatus::Merged,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// How a first contact went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    /// Spoke with the person.
    Contacted,
    /// Tried; nobody answered.
    NoAnswer,
    /// An appointment (test drive, visit) is booked.
    AppointmentSet,
    /// Not interested.
    NotInterested,
    /// The contact details reach someone else.
    WrongPerson,
}

impl TaskResult {
    /// Every result.
    pub const ALL: [TaskResult; 5] = [
        TaskResult::Contacted,
        TaskResult::NoAnswer,
        TaskResult::AppointmentSet,
        TaskResult::NotInterested,
        TaskResult::WrongPerson,
    ];

    /// `contacted`, `no_answer`, `appointment_set`, `not_interested`, `wrong_person`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskResult::Contacted => "contacted",
            TaskResult::NoAnswer => "no_answer",
            TaskResult::AppointmentSet => "appointment_set",
            TaskResult::NotInterested => "not_interested",
            TaskResult::WrongPerson => "wrong_person",
        }
    }

    /// Parses a result name (also with spaces or dashes: `appointment set`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|r| r.as_str() == t)
    }
}

/// One line of a task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskLog {
    /// When.
    pub at: Ts,
    /// `created`, `raised`, `claimed`, `snoozed`, `reassigned`, `breached`, `completed`, ...
    pub what: String,
    /// Who did it, when a person did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A follow-up task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Id, from 1.
    pub id: i64,
    /// The profile (`user:<id>` or `anon:<id>`).
    pub profile: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// The tier that opened (or last raised) it.
    pub tier: String,
    /// The tier's rank (0 = highest).
    pub rank: usize,
    /// The override that opened or raised it.
    pub override_id: Option<String>,
    /// The override's reason ("asked for a person").
    pub reason: Option<String>,
    /// The playbook.
    pub playbook: String,
    /// How to reach out.
    pub channel: String,
    /// Steps for the salesperson.
    pub steps: Vec<String>,
    /// The deadline as written (`15m`, `1bd`).
    pub sla: String,
    /// The team.
    pub team: Option<String>,
    /// Who owns it.
    pub owner: Option<String>,
    /// The team's manager.
    pub manager: Option<String>,
    /// Set when a breach escalated it to the manager.
    pub escalated_to: Option<String>,
    /// The profile's location (showroom).
    pub location: Option<String>,
    /// The person's name or e-mail, when known.
    pub name: Option<String>,
    /// The top reasons for the score, when it was opened.
    pub reasons: Vec<String>,
    /// The engagement score when last seen.
    pub score: f64,
    /// The fit grade when last seen.
    pub grade: Option<String>,
    /// When it was opened.
    pub created_at: Ts,
    /// The first-contact deadline.
    pub due_at: Ts,
    /// Who claimed it.
    pub claimed_by: Option<String>,
    /// When.
    pub claimed_at: Option<Ts>,
    /// Hidden from the queue until then.
    pub snoozed_until: Option<Ts>,
    /// When it was completed or closed.
    pub closed_at: Option<Ts>,
    /// The result of the contact.
    pub result: Option<TaskResult>,
    /// A note with the result.
    pub note: Option<String>,
    /// When the SLA was found breached (the deadline passed while open).
    pub breached_at: Option<Ts>,
    /// Why it was closed without a result.
    pub closed_reason: Option<String>,
    /// Its history.
    pub log: Vec<TaskLog>,
}

impl Task {
    /// Whether the first contact came (or will come) in time: `None` while open and not due.
    pub fn met_sla(&self, now: Ts) -> Option<bool> {
        match (self.status, self.closed_at) {
            (TaskStatus::Done, Some(at)) => Some(at <= self.due_at),
            (TaskStatus::Open, _) if now > self.due_at => Some(false),
            _ if self.breached_at.is_some() => Some(false),
            _ => None,
        }
    }

    fn note_log(&mut self, at: Ts, what: &str, by: Option<&str>, detail: Option<String>) {
        self.log.push(TaskLog {
            at,
            what: what.into(),
            by: by.map(str::to_string),
            detail,
        });
    }
}

/// A task as JSON for people and webhooks: times as ISO-8601, plus `due_in_s`, `overdue` and
/// `sla_met` as of `now`.
pub fn task_json(t: &Task, now: Ts) -> serde_json::Value {
    let mut v = serde_json::to_value(t).expect("a task is JSON");
    let o = v.as_object_mut().expect("object");
    for key in [
        "created_at",
        "due_at",
        "claimed_at",
        "snoozed_until",
        "closed_at",
        "breached_at",
    ] {
        if let Some(ts) = o.get(key).and_then(serde_json::Value::as_i64) {
            o.insert(key.into(), json!(crate::time::format_timestamp(ts)));
        }
    }
    if let Some(log) = o.get_mut("log").and_then(serde_json::Value::as_array_mut) {
        for l in log {
            if let Some(ts) = l.get("at").and_then(serde_json::Value::as_i64) {
                l["at"] = json!(crate::time::format_timestamp(ts));
            }
        }
    }
    o.remove("rank");
    let open = t.status == TaskStatus::Open;
    o.insert(
        "due_in_s".into(),
        json!(open.then_some((t.due_at - now) / 1000)),
    );
    o.insert(
        "snoozed".into(),
        json!(open && t.snoozed_until.is_some_and(|u| u > now)),
    );
    o.insert(
        "overdue".into(),
        json!(t.status == TaskStatus::Open && now > t.due_at),
    );
    o.insert("sla_met".into(), json!(t.met_sla(now)));
    v
}

/// What the desk remembers of a profile: the tier and override it last announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Tier name (or `disqualified`).
    pub tier: String,
    /// Active override id.
    pub override_id: Option<String>,
    /// Since when.
    pub since: Ts,
}

/// A profile's tier as observed now.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Canonical profile id.
    pub profile: String,
    /// Effective tier index, or [`DISQUALIFIED`].
    pub tier: u8,
    /// The active override.
    pub override_index: Option<usize>,
    /// The disqualifier's reason, when disqualified.
    pub disqualified: Option<String>,
    /// Engagement score.
    pub score: f64,
    /// Fit grade index.
    pub grade: Option<usize>,
    /// The latest location.
    pub location: Option<String>,
}

/// What a new task shows about the person, computed only when a task opens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// Name or e-mail.
    pub name: Option<String>,
    /// Top reasons (rule labels), most points first.
    pub reasons: Vec<String>,
    /// Top value per score group: (group id, value).
    pub groups: Vec<(String, String)>,
}

/// Every kind of announcement, in the order a person's story usually shows them.
pub const NOTICE_KINDS: [&str; 9] = [
    "tier.changed",
    "override.fired",
    "task.created",
    "task.raised",
    "task.claimed",
    "task.reassigned",
    "task.completed",
    "task.expired",
    "sla.breached",
];

/// An event to announce to webhook subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Stable, unique id (the `webhook-id`).
    pub id: String,
    /// `tier.changed`, `override.fired`, `task.created`, `task.raised`, `task.claimed`,
    /// `task.reassigned`, `task.completed`, `task.expired`, `sla.breached`.
    pub kind: &'static str,
    /// The tier it is about.
    pub tier: Option<String>,
    /// The location it is about.
    pub location: Option<String>,
    /// When.
    pub at: Ts,
    /// The body: `{"type", "timestamp", "data"}` as Standard Webhooks suggests.
    pub body: serde_json::Value,
}

/// An event to append to a profile's history (a task's result, a breach).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Deterministic message id, so appending twice stores it once.
    pub message_id: String,
    /// The profile.
    pub profile: String,
    /// The event name (`Task Completed`, `SLA Breached`).
    pub event: String,
    /// Its properties.
    pub properties: serde_json::Value,
    /// When.
    pub at: Ts,
}

/// What one call changed, to commit together.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Profiles whose observed state changed (`None`: forgotten, back at the lowest tier).
    pub observed: Vec<(String, Option<Seen>)>,
    /// Tasks opened or changed (ids).
    pub tasks: Vec<i64>,
    /// Announcements.
    pub notices: Vec<Notice>,
    /// History events to append.
    pub history: Vec<HistoryEvent>,
    /// The desk's counters changed (persist [`Desk::meta`]).
    pub meta: bool,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.observed.is_empty()
            && self.tasks.is_empty()
            && self.notices.is_empty()
            && self.history.is_empty()
            && !self.meta
    }
}

/// Why a task command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// No such task.
    #[error("no task {0}")]
    NotFound(i64),
    /// The task is closed.
    #[error("task {id} is {status}, not open")]
    Closed {
        /// The task.
        id: i64,
        /// Its status.
        status: &'static str,
    },
    /// Claimed by someone else.
    #[error("task {id} is claimed by {by}; reassign it first")]
    Claimed {
        /// The task.
        id: i64,
        /// Who holds it.
        by: String,
    },
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
}

/// Which tasks a queue shows.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Status; `None` = open.
    pub status: Option<TaskStatus>,
    /// Owner.
    pub owner: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Profile.
    pub profile: Option<String>,
    /// Include snoozed open tasks.
    pub snoozed: bool,
}

/// The counters a desk persists besides its profiles and tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// This desk's id, in every announcement id (so a new store never repeats an old id).
    pub origin: String,
    /// The next announcement number.
    pub next_notice: u64,
    /// Tasks routed per team so far (round-robin position).
    pub routed: Vec<(String, u64)>,
}

/// The plan facts the desk needs.
#[derive(Debug, Clone)]
pub struct DeskPlan {
    /// The follow-up section.
    pub follow: FollowUp,
    /// Tier names, highest first.
    pub levels: Vec<String>,
    /// Override ids and reasons.
    pub overrides: Vec<(String, String)>,
    /// Grade names, best first.
    pub grades: Vec<String>,
}

impl DeskPlan {
    /// The desk's view of a plan.
    pub fn of(plan: &crate::plan::Plan) -> DeskPlan {
        DeskPlan {
            follow: plan.follow_up.clone(),
            levels: plan.levels.iter().map(|l| l.name.clone()).collect(),
            overrides: plan
                .overrides
                .iter()
                .map(|o| (o.id.clone(), o.reason.clone()))
                .collect(),
            grades: plan.grades.iter().map(|g| g.name.clone()).collect(),
        }
    }

    fn tier_name(&self, tier: u8) -> Option<&str> {
        if tier == DISQUALIFIED {
            Some("disqualified")
        } else {
            self.levels.get(tier as usize).map(String::as_str)
        }
    }

    fn floor(&self) -> &str {
        self.levels.last().map_or("", String::as_str)
    }
}

/// The follow-up desk.
#[derive(Debug, Clone)]
pub struct Desk {
    plan: DeskPlan,
    meta: Meta,
    observed: FxHashMap<String, Seen>,
    tasks: Vec<Task>,
    open: FxHashMap<String, i64>,
}

fn iso(ts: Ts) -> String {
    crate::time::format_timestamp(ts)
}

impl Desk {
    /// A desk with what was stored: observed profiles, tasks (any order) and counters (`origin`
    /// names a new desk's announcements when there are none).
    pub fn load(
        plan: DeskPlan,
        observed: Vec<(String, Seen)>,
        mut tasks: Vec<Task>,
        meta: Option<Meta>,
        origin: &str,
    ) -> Desk {
        tasks.sort_by_key(|t| t.id);
        let open = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .map(|t| (t.profile.clone(), t.id))
            .collect();
        Desk {
            plan,
            meta: meta.unwrap_or(Meta {
                origin: origin.to_string(),
                next_notice: 1,
                routed: Vec::new(),
            }),
            observed: observed.into_iter().collect(),
            tasks,
            open,
        }
    }

    /// Scores with a new plan from now on; tasks keep what they were opened with.
    pub fn set_plan(&mut self, plan: DeskPlan) {
        self.plan = plan;
    }

    /// The plan facts in use.
    pub fn plan(&self) -> &DeskPlan {
        &self.plan
    }

    /// The counters to persist.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Profiles above the lowest tier (or with an override): the ones whose tier can change
    /// with time alone (decay, an override running out).
    pub fn watched(&self) -> impl Iterator<Item = &str> {
        self.observed.keys().map(String::as_str)
    }

    /// What the desk last announced for a profile.
    pub fn seen(&self, profile: &str) -> Option<&Seen> {
        self.observed.get(profile)
    }

    /// A task.
    pub fn task(&self, id: i64) -> Option<&Task> {
        let i = self.tasks.binary_search_by_key(&id, |t| t.id).ok()?;
        Some(&self.tasks[i])
    }

    /// Every task, by id.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The open task of a profile.
    pub fn open_task(&self, profile: &str) -> Option<&Task> {
        self.open.get(profile).and_then(|&id| self.task(id))
    }

    fn task_mut(&mut self, id: i64) -> Result<&mut Task, TaskError> {
        let i = self
            .tasks
            .binary_search_by_key(&id, |t| t.id)
            .map_err(|_| TaskError::NotFound(id))?;
        Ok(&mut self.tasks[i])
    }

    fn open_mut(&mut self, id: i64) -> Result<&mut Task, TaskError> {
        let t = self.task_mut(id)?;
        if t.status != TaskStatus::Open {
            return Err(TaskError::Closed {
                id,
                status: t.status.as_str(),
            });
        }
        Ok(t)
    }

    fn notice(
        &mut self,
        out: &mut Changes,
        kind: &'static str,
        tier: Option<String>,
        location: Option<String>,
        at: Ts,
        data: serde_json::Value,
    ) {
        let id = format!("evt_{}_{}", self.meta.origin, self.meta.next_notice);
        self.meta.next_notice += 1;
        out.meta = true;
        out.notices.push(Notice {
            body: json!({ "type": kind, "timestamp": iso(at), "data": data }),
            id,
            kind,
            tier,
            location,
            at,
        });
    }

    fn task_notice(&mut self, out: &mut Changes, kind: &'static str, id: i64, at: Ts) {
        let t = self.task(id).expect("task").clone();
        let data = task_json(&t, at);
        self.notice(out, kind, Some(t.tier), t.location, at, data);
        if !out.tasks.contains(&id) {
            out.tasks.push(id);
        }
    }

    /// Takes a profile's tier as observed at `now`; `details` is called only when a task opens.
    pub fn observe(
        &mut self,
        obs: &Observation,
        now: Ts,
        details: &mut dyn FnMut() -> Details,
        out: &mut Changes,
    ) {
        let floor = self.plan.floor().to_string();
        // An observation made with another plan than the desk's names no tier here: it is the
        // caller's to look again once the desk has that plan.
        let Some(to) = self.plan.tier_name(obs.tier).map(str::to_string) else {
            return;
        };
        let override_id = obs
            .override_index
            .and_then(|i| self.plan.overrides.get(i))
            .map(|o| o.0.clone());
        let (from, from_override) = match self.observed.get(&obs.profile) {
            Some(s) => (s.tier.clone(), s.override_id.clone()),
            None => (floor.clone(), None),
        };
        if let Some(task) = self.open.get(&obs.profile).copied() {
            let t = self.task_mut(task).expect("open task");
            t.score = obs.score;
        }
        if to == from && override_id == from_override {
            return;
        }
        let location = obs.location.clone();
        if let Some(o) = &override_id
            && Some(o) != from_override.as_ref()
        {
            let reason = obs
                .override_index
                .and_then(|i| self.plan.overrides.get(i))
                .map(|o| o.1.clone());
            self.notice(
                out,
                "override.fired",
                Some(to.clone()),
                location.clone(),
                now,
                json!({ "profile": obs.profile, "override": o, "reason": reason, "tier": to, "score": obs.score }),
            );
        }
        if to != from {
            let grade = obs.grade.and_then(|g| self.plan.grades.get(g)).cloned();
            let playbook = if obs.tier == DISQUALIFIED {
                None
            } else {
                self.plan
                    .follow
                    .playbook(obs.tier as usize, obs.override_index)
            };
            let data = json!({
                "profile": obs.profile,
                "from": from,
                "to": to,
                "score": obs.score,
                "grade": grade,
                "override": override_id,
                "disqualified": obs.disqualified,
                "location": location,
                "playbook": playbook.map(|p| json!({"id": p.id, "sla": p.sla.map(|s| s.to_string()), "channel": p.channel, "nurture": p.nurture})),
            });
            self.notice(
                out,
                "tier.changed",
                Some(to.clone()),
                location.clone(),
                now,
                data,
            );
        }
        let seen = (to != floor || override_id.is_some()).then(|| Seen {
            tier: to.clone(),
            override_id: override_id.clone(),
            since: now,
        });
        match &seen {
            Some(s) => self.observed.insert(obs.profile.clone(), s.clone()),
            None => self.observed.remove(&obs.profile),
        };
        out.observed.push((obs.profile.clone(), seen));
        self.follow_task(obs, &to, override_id, now, details, out);
    }

    fn follow_task(
        &mut self,
        obs: &Observation,
        to: &str,
        override_id: Option<String>,
        now: Ts,
        details: &mut dyn FnMut() -> Details,
        out: &mut Changes,
    ) {
        let open = self.open.get(&obs.profile).copied();
        let playbook = if obs.tier == DISQUALIFIED {
            None
        } else {
            self.plan
                .follow
                .playbook(obs.tier as usize, obs.override_index)
                .filter(|p| p.sla.is_some())
                .cloned()
        };
        let Some(pb) = playbook else {
            if let Some(id) = open {
                let reason = match &obs.disqualified {
                    Some(r) => format!("disqualified: {r}"),
                    None => format!("fell to {to}"),
                };
                let t = self.task_mut(id).expect("open task");
                t.status = TaskStatus::Expired;
                t.closed_at = Some(now);
                t.closed_reason = Some(reason.clone());
                t.note_log(now, "expired", None, Some(reason));
                self.open.remove(&obs.profile);
                self.task_notice(out, "task.expired", id, now);
            }
            return;
        };
        let rank = obs.tier as usize;
        let sla = pb.sla.expect("filtered");
        let calendar = self.plan.follow.calendar(obs.location.as_deref());
        let due = sla.due(calendar, now);
        let reason = obs
            .override_index
            .and_then(|i| self.plan.overrides.get(i))
            .map(|o| o.1.clone());
        match open {
            Some(id) => {
                let t = self.task_mut(id).expect("open task");
                let higher = rank < t.rank
                    || (rank == t.rank && override_id.is_some() && t.override_id.is_none());
                if !higher {
                    return;
                }
                let detail = format!("{} → {}", t.tier, to);
                t.tier = to.to_string();
                t.rank = rank;
                t.override_id = override_id;
                t.reason = reason;
                t.playbook = pb.id.clone();
                t.channel = pb.channel.clone();
                t.steps = pb.steps.clone();
                t.sla = sla.to_string();
                t.due_at = t.due_at.min(due);
                t.snoozed_until = None;
                t.note_log(now, "raised", None, Some(detail));
                self.task_notice(out, "task.raised", id, now);
            }
            None => {
                let d = details();
                let (team, owner, manager) = self.route(obs.location.as_deref(), &d.groups);
                out.meta = true;
                let id = self.tasks.last().map_or(1, |t| t.id + 1);
                let grade = obs.grade.and_then(|g| self.plan.grades.get(g)).cloned();
                let mut task = Task {
                    id,
                    profile: obs.profile.clone(),
                    status: TaskStatus::Open,
                    tier: to.to_string(),
                    rank,
                    override_id,
                    reason,
                    playbook: pb.id.clone(),
                    channel: pb.channel.clone(),
                    steps: pb.steps.clone(),
                    sla: sla.to_string(),
                    team,
                    owner,
                    manager,
                    escalated_to: None,
                    location: obs.location.clone(),
                    name: d.name,
                    reasons: d.reasons,
                    score: obs.score,
                    grade,
                    created_at: now,
                    due_at: due,
                    claimed_by: None,
                    claimed_at: None,
                    snoozed_until: None,
                    closed_at: None,
                    result: None,
                    note: None,
                    breached_at: None,
                    closed_reason: None,
                    log: Vec::new(),
                };
                task.note_log(now, "created", None, Some(format!("due {}", iso(due))));
                self.tasks.push(task);
                self.open.insert(obs.profile.clone(), id);
                self.task_notice(out, "task.created", id, now);
            }
        }
    }

    fn route(
        &mut self,
        location: Option<&str>,
        groups: &[(String, String)],
    ) -> (Option<String>, Option<String>, Option<String>) {
        let Some(team) = self
            .plan
            .follow
            .teams
            .iter()
            .find(|t| t.serves(location, groups))
        else {
            return (None, None, None);
        };
        let slot = match self.meta.routed.iter_mut().find(|(id, _)| *id == team.id) {
            Some((_, n)) => n,
            None => {
                self.meta.routed.push((team.id.clone(), 0));
                &mut self.meta.routed.last_mut().expect("pushed").1
            }
        };
        let owner = (!team.members.is_empty())
            .then(|| team.members[(*slot % team.members.len() as u64) as usize].clone());
        *slot += 1;
        (Some(team.id.clone()), owner, team.manager.clone())
    }

    /// A profile merged into another: its observed state moves to the other profile (unless it
    /// has its own), and its open task moves too (or closes as merged when the other has one).
    pub fn merge(&mut self, from: &str, into: &str, now: Ts, out: &mut Changes) {
        if from == into {
            return;
        }
        if let Some(seen) = self.observed.remove(from) {
            out.observed.push((from.to_string(), None));
            // The person's tier was announced under the old id: the merged profile starts
            // from it, so the merge itself announces no crossing.
            if !self.observed.contains_key(into) {
                self.observed.insert(into.to_string(), seen.clone());
                out.observed.push((into.to_string(), Some(seen)));
            }
        }
        let Some(id) = self.open.remove(from) else {
            return;
        };
        let target = self.open.get(into).copied();
        let t = self.task_mut(id).expect("open task");
        match target {
            Some(other) => {
                t.status = TaskStatus::Merged;
                t.closed_at = Some(now);
                t.closed_reason = Some(format!("merged into {into} (task {other})"));
                t.note_log(now, "merged", None, Some(into.to_string()));
            }
            None => {
                t.profile = into.to_string();
                t.note_log(now, "moved", None, Some(format!("{from} is now {into}")));
                self.open.insert(into.to_string(), id);
            }
        }
        out.tasks.push(id);
    }

    /// Finds tasks whose deadline passed at `now`: each is breached once, announced, recorded
    /// in the profile's history and, when its playbook says so, escalated to the manager.
    pub fn tick(&mut self, now: Ts, out: &mut Changes) {
        let mut due: Vec<i64> = self
            .open
            .values()
            .copied()
            .filter(|&id| {
                self.task(id)
                    .is_some_and(|t| t.breached_at.is_none() && t.due_at < now)
            })
            .collect();
        due.sort_unstable();
        for id in due {
            let escalate = {
                let t = self.task(id).expect("task");
                self.plan
                    .follow
                    .playbooks
                    .iter()
                    .find(|p| p.id == t.playbook)
                    .is_some_and(|p| p.escalate_to_manager)
            };
            let origin = self.meta.origin.clone();
            let t = self.task_mut(id).expect("task");
            t.breached_at = Some(now);
            let late = now - t.due_at;
            if escalate && let Some(m) = t.manager.clone() {
                t.escalated_to = Some(m.clone());
                t.note_log(now, "escalated", None, Some(m));
            }
            t.note_log(
                now,
                "breached",
                None,
                Some(format!("due {}", iso(t.due_at))),
            );
            let history = HistoryEvent {
                message_id: format!("task-{origin}-{id}-breached"),
                profile: t.profile.clone(),
                event: "SLA Breached".into(),
                properties: json!({
                    "task_id": id, "tier": t.tier, "playbook": t.playbook, "owner": t.owner,
                    "due_at": iso(t.due_at), "late_s": late / 1000, "escalated_to": t.escalated_to,
                }),
                at: now,
            };
            out.history.push(history);
            self.task_notice(out, "sla.breached", id, now);
        }
    }

    /// Claims a task for `who` (who becomes its owner).
    pub fn claim(
        &mut self,
        id: i64,
        who: &str,
        now: Ts,
        out: &mut Changes,
    ) -> Result<(), TaskError> {
        let t = self.open_mut(id)?;
        if let Some(by) = &t.claimed_by
            && by != who
        {
            return Err(TaskError::Claimed { id, by: by.clone() });
        }
        t.claimed_by = Some(who.to_string());
        t.claimed_at = Some(now);
        t.owner = Some(who.to_string());
        t.note_log(now, "claimed", Some(who), None);
        self.task_notice(out, "task.claimed", id, now);
        Ok(())
    }

    /// Hides a task from the queue until `until` (the SLA clock keeps running).
    pub fn snooze(
        &mut self,
        id: i64,
        until: Ts,
        who: &str,
        now: Ts,
        out: &mut Changes,
    ) -> Result<(), TaskError> {
        if until <= now {
            return Err(TaskError::Invalid(format!(
                "snooze until {} is not in the future",
                iso(until)
            )));
        }
        let t = self.open_mut(id)?;
        t.snoozed_until = Some(until);
        t.note_log(
            now,
            "snoozed",
            Some(who),
            Some(format!("until {}", iso(until))),
        );
        out.tasks.push(id);
        Ok(())
    }

    /// Gives a task to another owner.
    pub fn reassign(
        &mut self,
        id: i64,
        owner: &str,
        who: &str,
        now: Ts,
        out: &mut Changes,
    ) -> Result<(), TaskError> {
        if owner.trim().is_empty() {
            return Err(TaskError::Invalid("owner must not be empty".into()));
        }
        let t = self.open_mut(id)?;
        let before = t.owner.clone().unwrap_or_else(|| "nobody".into());
        t.owner = Some(owner.to_string());
        t.claimed_by = None;
        t.claimed_at = None;
        t.note_log(
            now,
            "reassigned",
            Some(who),
            Some(format!("{before} → {owner}")),
        );
        self.task_notice(out, "task.reassigned", id, now);
        Ok(())
    }

    /// Completes a task with a result; the result becomes a `Task Completed` event in the
    /// profile's history.
    pub fn complete(
        &mut self,
        id: i64,
        result: TaskResult,
        note: Option<String>,
        who: &str,
        now: Ts,
        out: &mut Changes,
    ) -> Result<(), TaskError> {
        let origin = self.meta.origin.clone();
        let t = self.open_mut(id)?;
        t.status = TaskStatus::Done;
        t.result = Some(result);
        t.note = note.clone();
        t.closed_at = Some(now);
        if t.owner.is_none() {
            t.owner = Some(who.to_string());
        }
        t.note_log(now, "completed", Some(who), Some(result.as_str().into()));
        let profile = t.profile.clone();
        let history = HistoryEvent {
            message_id: format!("task-{origin}-{id}-completed"),
            profile: profile.clone(),
            event: "Task Completed".into(),
            properties: json!({
                "task_id": id, "result": result.as_str(), "note": note, "owner": t.owner,
                "tier": t.tier, "playbook": t.playbook, "contact_channel": t.channel,
                "sla_met": now <= t.due_at, "speed_to_lead_s": (now - t.created_at) / 1000,
                "location": t.location,
            }),
            at: now,
        };
        self.open.remove(&profile);
        out.history.push(history);
        self.task_notice(out, "task.completed", id, now);
        Ok(())
    }

    /// Tasks matching `filter`, most urgent first: tier, escalations, due time, score.
    pub fn queue(&self, filter: &TaskFilter, now: Ts) -> Vec<&Task> {
        let status = filter.status.unwrap_or(TaskStatus::Open);
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        let mut out: Vec<&Task> = self
            .tasks
            .iter()
            .filter(|t| t.status == status)
            .filter(|t| eq(&filter.owner, &t.owner))
            .filter(|t| eq(&filter.team, &t.team))
            .filter(|t| eq(&filter.location, &t.location))
            .filter(|t| filter.tier.as_ref().is_none_or(|x| *x == t.tier))
            .filter(|t| filter.profile.as_ref().is_none_or(|x| *x == t.profile))
            .filter(|t| {
                filter.snoozed
                    || t.status != TaskStatus::Open
                    || t.snoozed_until.is_none_or(|u| u <= now)
            })
            .collect();
        out.sort_by(|a, b| {
            (a.rank, a.override_id.is_none(), a.due_at)
                .cmp(&(b.rank, b.override_id.is_none(), b.due_at))
                .then(b.score.total_cmp(&a.score))
                .then(a.id.cmp(&b.id))
        });
        out
    }

    /// The highest lifecycle stage a profile has reached: its score, grade and tier now, or a
    /// result of one of its tasks.
    pub fn stage(
        &self,
        profile: &str,
        tier: u8,
        score: f64,
        grade: Option<usize>,
    ) -> Option<&plan::Stage> {
        let results: Vec<TaskResult> = self
            .tasks
            .iter()
            .filter(|t| t.profile == profile)
            .filter_map(|t| t.result)
            .collect();
        self.plan.follow.stages.iter().rev().find(|s| {
            let by_result = s.results.iter().any(|r| results.contains(r));
            let given = s.min_score.is_some() || s.min_grade.is_some() || !s.tiers.is_empty();
            let by_state = given
                && s.min_score.is_none_or(|m| score >= m)
                && s.min_grade.is_none_or(|m| grade.is_some_and(|g| g <= m))
                && (s.tiers.is_empty() || s.tiers.iter().any(|&t| t as u8 == tier));
            by_result || by_state
        })
    }
}

#[cfg(test)]
mod tests;
