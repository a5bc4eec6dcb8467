//! `intent tasks`, `intent webhooks` and `intent report`: a client of a running server's
//! follow-up desk (`/v1/tasks`, `/v1/webhooks`, `/v1/reports`), authenticated with an admin
//! token. Every request goes through [`Client::call`], which turns the server's
//! `{"error":{"code","message","field"}}` into the error the user sees.

use crate::Format;
use crate::output::{keep, right, short, table};
use anyhow::{Context, Result, anyhow, bail};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use comfy_table::Table;
use intent_core::action::{TaskResult, TaskStatus};
use intent_core::time::{Duration, Ts, format_timestamp, parse_timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::io::{Write, stdout};

/// Where the server is and the admin token to use.
#[derive(Args)]
pub struct Server {
    /// The server.
    #[arg(long, env = "INTENT_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin token (`intent keys create --kind admin --name <you>`), sent as a bearer token.
    // Optional in the type, required on the command line: `intent tasks` flattens the list's
    // flags beside its subcommands, and a required `String` there would refuse `--token` given
    // after a subcommand.
    #[arg(long, env = "INTENT_TOKEN", hide_env_values = true, required = true)]
    token: Option<String>,
}

/// `--format` where a command lists things: a table or JSON lines (no CSV here).
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new([
        PossibleValue::new("table").help("A table for people"),
        PossibleValue::new("json").help("JSON lines for machines: one object per line"),
    ])
    .map(|s| {
        if s == "json" {
            Format::Json
        } else {
            Format::Table
        }
    })
}

/// `intent tasks`: without a subcommand it lists the queue.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TasksArgs {
    #[command(subcommand)]
    command: Option<Box<TasksCommand>>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Subcommand)]
enum TasksCommand {
    /// The queue, most urgent first (also what `intent tasks` alone shows).
    List(ListArgs),
    /// One task in full: the person, why, the playbook's steps, who owns it, its history.
    Show {
        /// The task id (the `#` column of `intent tasks`).
        id: i64,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = format_parser())]
        format: Format,
        #[command(flatten)]
        server: Server,
    },
    /// Take a task: you become its owner.
    Claim {
        /// The task id.
        id: i64,
        #[command(flatten)]
        by: By,
        #[command(flatten)]
        server: Server,
    },
    /// Hide a task from the queue for a while (its SLA clock keeps running).
    Snooze {
        /// The task id.
        id: i64,
        #[command(flatten)]
        until: SnoozeUntil,
        #[command(flatten)]
        by: By,
        #[command(flatten)]
        server: Server,
    },
    /// Give a task to someone else (it is no longer claimed).
    Reassign {
        /// The task id.
        id: i64,
        /// The new owner.
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        by: By,
        #[command(flatten)]
        server: Server,
    },
    /// Record how the first contact went; this closes the task.
    Complete {
        /// The task id.
        id: i64,
        /// How it went.
        #[arg(long, value_parser = result_parser())]
        result: TaskResult,
        /// A note for the record (and the profile's history).
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        by: By,
        #[command(flatten)]
        server: Server,
    },
}

#[derive(Args)]
struct ListArgs {
    /// Tasks with this status.
    #[arg(long, default_value = "open", value_parser = ["open", "done", "expired", "merged"])]
    status: String,
    /// Only this owner's tasks.
    #[arg(long)]
    owner: Option<String>,
    /// Only this team's tasks.
    #[arg(long)]
    team: Option<String>,
    /// Only tasks in this tier (`hot`).
    #[arg(long)]
    tier: Option<String>,
    /// Only tasks at this location (showroom).
    #[arg(long)]
    location: Option<String>,
    /// Only this profile's tasks (`user:<id>` or `anon:<id>`).
    #[arg(long)]
    profile: Option<String>,
    /// Also show snoozed tasks (marked `*`).
    #[arg(long)]
    snoozed: bool,
    /// At most this many rows.
    #[arg(long, default_value_t = 25)]
    limit: usize,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = format_parser())]
    format: Format,
    #[command(flatten)]
    server: Server,
}

#[derive(Args)]
struct By {
    /// Who acts, for the task's history (default: the admin token's name).
    #[arg(long)]
    by: Option<String>,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct SnoozeUntil {
    /// For how long: a number and s, m, h, d or w (`2h`).
    #[arg(long = "for", value_name = "DURATION", value_parser = duration_arg)]
    duration: Option<String>,
    /// Until this time: ISO 8601 (`2026-03-02T09:00:00+01:00`) or a date (midnight UTC).
    #[arg(long, value_parser = moment_arg)]
    until: Option<String>,
}

fn result_parser() -> impl TypedValueParser<Value = TaskResult> {
    PossibleValuesParser::new(TaskResult::ALL.map(TaskResult::as_str))
        .map(|s| TaskResult::parse(&s).expect("a possible value is a result"))
}

/// Checks a duration such as `2h`; the server parses it again.
fn duration_arg(text: &str) -> Result<String, String> {
    Duration::parse(text).map(|_| text.trim().to_string())
}

/// Reads an ISO 8601 time or a date (midnight UTC) into the server's ISO form.
fn moment_arg(text: &str) -> Result<String, String> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    parse_timestamp(&full).map(format_timestamp)
}

/// `intent webhooks ...`
#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe a URL to announcements; prints its signing secret once.
    Add {
        /// Where deliveries are POSTed (http:// or https://).
        #[arg(value_name = "URL")]
        endpoint: String,
        /// Event kinds, comma-separated (`task.created,sla.breached`; default: all). Kinds:
        /// tier.changed, override.fired, task.created, task.raised, task.claimed,
        /// task.reassigned, task.completed, task.expired, sla.breached.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Tiers, comma-separated (default: all; events without a tier always pass).
        #[arg(long, value_delimiter = ',')]
        tiers: Vec<String>,
        /// Locations, comma-separated (default: all; events without one always pass).
        #[arg(long, value_delimiter = ',')]
        locations: Vec<String>,
        #[command(flatten)]
        server: Server,
    },
    /// Subscriptions (removed ones too) and how many deliveries stand where.
    List {
        /// Output format.
        #[arg(long, default_value = "table", value_parser = format_parser())]
        format: Format,
        #[command(flatten)]
        server: Server,
    },
    /// Stop new deliveries to a subscription (its history stays).
    Remove {
        /// The subscription id (`sub_...`).
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// Deliveries, newest first.
    Deliveries {
        /// Only deliveries with this status.
        #[arg(long, value_parser = ["pending", "delivered", "dead"])]
        status: Option<String>,
        /// Only this subscription's deliveries.
        #[arg(long)]
        subscription: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 25)]
        limit: usize,
        /// Only deliveries older than this delivery id (the next page).
        #[arg(long)]
        before: Option<i64>,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = format_parser())]
        format: Format,
        #[command(flatten)]
        server: Server,
    },
    /// Send a delivery again (from the dead-letter list, say): pending now, attempts reset.
    Replay {
        /// The delivery id.
        id: i64,
        #[command(flatten)]
        server: Server,
    },
}

/// `intent report ...`
#[derive(Subcommand)]
pub enum ReportCommand {
    /// SLA compliance and speed-to-lead: in total and by tier, owner, location and week.
    Sla(SlaArgs),
    /// The funnel engaged → CTA → lead → appointment → outcome, from history files.
    Funnel(crate::learn::FunnelArgs),
    /// For every rule: conversion with and without it, lift, odds ratio, lead time.
    Signals(crate::learn::SignalsArgs),
    /// The most telling ordered paths of signals and pages, and their lift.
    Paths(crate::learn::PathsArgs),
    /// Recent won and lost deals' journeys, side by side.
    Journeys(crate::learn::JourneysArgs),
    /// The weekly review: one self-contained HTML page with charts.
    Weekly(crate::learn::WeeklyArgs),
}

#[derive(Args)]
pub struct SlaArgs {
    /// Tasks opened at or after this time: ISO 8601 or a date (midnight UTC).
    #[arg(long, value_parser = moment_arg)]
    from: Option<String>,
    /// ... and before this one.
    #[arg(long, value_parser = moment_arg)]
    to: Option<String>,
    /// Output format (`json`: the report as the server sends it).
    #[arg(long, default_value = "table", value_parser = format_parser())]
    format: Format,
    #[command(flatten)]
    server: Server,
}

// The client.

/// A blocking HTTP client with the admin token.
struct Client {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

enum Verb<'a> {
    Get(&'a [(&'a str, String)]),
    Post(Value),
    Delete,
}

impl Client {
    fn new(s: &Server) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Client {
            agent,
            base: s.url.trim_end_matches('/').to_string(),
            auth: format!("Bearer {}", s.token.as_deref().unwrap_or_default()),
        }
    }

    fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.call(Verb::Get(query), path)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(Verb::Post(body), path)
    }

    /// Sends one request; a 2xx answer is its JSON (`null` when empty), anything else the
    /// server's error message.
    fn call(&self, verb: Verb, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let auth = ("Authorization", self.auth.as_str());
        let sent = match verb {
            Verb::Get(query) => self
                .agent
                .get(&url)
                .header(auth.0, auth.1)
                .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                .call(),
            Verb::Post(body) => self
                .agent
                .post(&url)
                .header(auth.0, auth.1)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            Verb::Delete => self.agent.delete(&url).header(auth.0, auth.1).call(),
        };
        let mut res = sent.with_context(|| {
            format!(
                "no answer from {} (is `intent serve` running there?)",
                self.base
            )
        })?;
        let status = res.status().as_u16();
        let text = res
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer from {url}"))?;
        answer(status, &text)
    }
}

/// The JSON of an answer, or its `{"error":{"message","field"}}` as an error.
fn answer(status: u16, text: &str) -> Result<Value> {
    if (200..300).contains(&status) {
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(text)
            .map_err(|_| anyhow!("the server's answer is not JSON: {}", clip(text, 200)));
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = &body["error"];
    let Some(message) = error["message"].as_str() else {
        bail!("the server answered {status}: {}", clip(text.trim(), 200));
    };
    let field = error["field"]
        .as_str()
        .filter(|f| !f.is_empty())
        .map(|f| format!(" (field `{f}`)"))
        .unwrap_or_default();
    let hint = if status == 401 {
        "; check --token or INTENT_TOKEN"
    } else {
        ""
    };
    bail!("{message}{field}{hint}")
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Percent-encodes a path segment (a subscription id).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON object of the fields that are given.
fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
    Value::Object(map)
}

/// Widths that keep each cell of the `whole` columns on one line (ids, times, numbers); a
/// header still wraps at its spaces. A width counts comfy-table's padding, a space each side.
fn widest(header: &[&str], rows: &[Vec<String>], whole: &[usize]) -> Vec<(usize, u16)> {
    let width = |c: usize| {
        let cells = rows.iter().map(|r| r[c].chars().count());
        let words = header[c].split(' ').map(|w| w.chars().count());
        cells.chain(words).max().unwrap_or(0) as u16 + 2
    };
    whole.iter().map(|&c| (c, width(c))).collect()
}

/// A table with columns at least `widths` wide and `numbers` aligned right; the others wrap.
fn grid(
    header: &[&str],
    rows: Vec<Vec<String>>,
    widths: &[(usize, u16)],
    numbers: &[usize],
) -> Table {
    let mut t = table(header);
    for r in rows {
        t.add_row(r);
    }
    keep(&mut t, widths);
    right(&mut t, numbers);
    t
}

/// Writes each value as one JSON line.
fn json_lines<'a>(out: &mut impl Write, items: impl IntoIterator<Item = &'a Value>) -> Result<()> {
    for v in items {
        serde_json::to_writer(&mut *out, v)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn array(v: &Value, key: &str) -> Vec<Value> {
    v[key].as_array().cloned().unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v).with_context(|| format!("reading the server's {what}"))
}

// Tasks.

/// A task as `/v1/tasks` sends it (times as ISO text).
#[derive(Deserialize)]
struct TaskView {
    id: i64,
    profile: String,
    status: TaskStatus,
    tier: String,
    override_id: Option<String>,
    reason: Option<String>,
    playbook: String,
    channel: String,
    #[serde(default)]
    steps: Vec<String>,
    sla: String,
    team: Option<String>,
    owner: Option<String>,
    manager: Option<String>,
    escalated_to: Option<String>,
    location: Option<String>,
    name: Option<String>,
    #[serde(default)]
    reasons: Vec<String>,
    score: f64,
    grade: Option<String>,
    created_at: String,
    due_at: String,
    claimed_by: Option<String>,
    claimed_at: Option<String>,
    snoozed_until: Option<String>,
    closed_at: Option<String>,
    result: Option<TaskResult>,
    note: Option<String>,
    breached_at: Option<String>,
    closed_reason: Option<String>,
    #[serde(default)]
    log: Vec<LogView>,
    /// Seconds left (negative when late); only while open.
    due_in_s: Option<i64>,
    overdue: bool,
    sla_met: Option<bool>,
}

#[derive(Deserialize)]
struct LogView {
    at: String,
    what: String,
    by: Option<String>,
    detail: Option<String>,
}

impl TaskView {
    fn due(&self) -> String {
        due_text(self.status, self.due_in_s.unwrap_or(0), self.overdue)
    }

    fn who(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.profile)
    }

    fn snoozed(&self, now: Ts) -> bool {
        self.snoozed_until
            .as_deref()
            .and_then(|u| parse_timestamp(u).ok())
            .is_some_and(|u| u > now)
    }

    /// Seconds from opening to closing, when closed.
    fn open_for_s(&self) -> Option<i64> {
        let opened = parse_timestamp(&self.created_at).ok()?;
        let closed = parse_timestamp(self.closed_at.as_deref()?).ok()?;
        Some((closed - opened) / 1000)
    }
}

/// Runs `intent tasks ...`.
pub fn tasks(a: TasksArgs) -> Result<()> {
    let mut out = stdout().lock();
    match a.command.map_or(TasksCommand::List(a.list), |c| *c) {
        TasksCommand::List(l) => list(&mut out, &l),
        TasksCommand::Show { id, format, server } => {
            let v = Client::new(&server).get(&format!("/v1/tasks/{id}"), &[])?;
            match format {
                Format::Json => json_lines(&mut out, [&v]),
                _ => show(&mut out, &parse(v, "task")?),
            }
        }
        TasksCommand::Claim { id, by, server } => {
            let t = act(&server, id, "claim", object([by.field()]))?;
            let who = t.claimed_by.as_deref().unwrap_or("you");
            writeln!(out, "task {id} claimed by {who} (due {})", t.due())?;
            Ok(())
        }
        TasksCommand::Snooze {
            id,
            until,
            by,
            server,
        } => {
            let body = object([
                ("for", until.duration.map(Value::from)),
                ("until", until.until.map(Value::from)),
                by.field(),
            ]);
            let t = act(&server, id, "snooze", body)?;
            let until = t.snoozed_until.as_deref().map(when).unwrap_or_default();
            writeln!(
                out,
                "task {id} snoozed until {until} (due {}; the SLA clock keeps running)",
                t.due()
            )?;
            Ok(())
        }
        TasksCommand::Reassign {
            id,
            owner,
            by,
            server,
        } => {
            let body = object([("owner", Some(owner.clone().into())), by.field()]);
            let t = act(&server, id, "reassign", body)?;
            let change = t
                .log
                .iter()
                .rev()
                .find(|l| l.what == "reassigned")
                .and_then(|l| l.detail.clone())
                .unwrap_or_else(|| format!("to {owner}"));
            writeln!(out, "task {id} reassigned: {change} (due {})", t.due())?;
            Ok(())
        }
        TasksCommand::Complete {
            id,
            result,
            note,
            by,
            server,
        } => {
            let body = object([
                ("result", Some(result.as_str().into())),
                ("note", note.map(Value::from)),
                by.field(),
            ]);
            let t = act(&server, id, "complete", body)?;
            writeln!(out, "{}", completed_line(&t))?;
            Ok(())
        }
    }
}

impl By {
    fn field(&self) -> (&'static str, Option<Value>) {
        ("by", self.by.clone().map(Value::from))
    }
}

/// Posts a task command; the answer is the task after it.
fn act(server: &Server, id: i64, command: &str, body: Value) -> Result<TaskView> {
    let v = Client::new(server).post(&format!("/v1/tasks/{id}/{command}"), body)?;
    parse(v, "task")
}

fn completed_line(t: &TaskView) -> String {
    let result = t.result.map_or("?", TaskResult::as_str);
    let sla = match t.sla_met {
        Some(true) => "SLA met, ",
        Some(false) => "SLA missed, ",
        None => "",
    };
    let after = t
        .open_for_s()
        .map(|s| format!("{} after it opened", duration_text(s as f64)))
        .unwrap_or_default();
    format!("task {} completed: {result} ({sla}{after})", t.id)
}

fn list(out: &mut impl Write, a: &ListArgs) -> Result<()> {
    let text = |k: &'static str, v: &Option<String>| v.clone().map(|v| (k, v));
    let query: Vec<(&str, String)> = [
        Some(("status", a.status.clone())),
        text("owner", &a.owner),
        text("team", &a.team),
        text("tier", &a.tier),
        text("location", &a.location),
        text("profile", &a.profile),
        a.snoozed.then(|| ("snoozed", "true".to_string())),
        Some(("limit", a.limit.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect();
    let v = Client::new(&a.server).get("/v1/tasks", &query)?;
    let items = array(&v, "tasks");
    if a.format == Format::Json {
        return json_lines(out, &items);
    }
    let tasks: Vec<TaskView> = parse(Value::Array(items), "tasks")?;
    let total = v["total"].as_u64().unwrap_or(tasks.len() as u64);
    queue_table(out, &tasks, intent_server::now_ms())?;
    writeln!(out, "{}", queue_footer(&a.status, total, tasks.len()))?;
    Ok(())
}

fn queue_table(out: &mut impl Write, tasks: &[TaskView], now: Ts) -> Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let header = [
        "#",
        "TIER",
        "WHO",
        "WHERE",
        "OWNER",
        "DUE",
        "SCORE",
        "PLAYBOOK / CHANNEL",
    ];
    let mut rows = Vec::new();
    for task in tasks {
        let mark = if task.override_id.is_some() { "!" } else { "" };
        let snoozed = if task.snoozed(now) { "*" } else { "" };
        rows.push(vec![
            task.id.to_string(),
            format!("{}{mark}", task.tier),
            task.who().to_string(),
            task.location.clone().unwrap_or_default(),
            task.owner.clone().unwrap_or_default(),
            format!("{}{snoozed}", task.due()),
            format!("{:.1}", task.score),
            // Spaces let a long pair wrap between its names.
            format!("{} / {}", task.playbook, task.channel),
        ]);
    }
    // Names and playbooks wrap at their spaces; the rest stays whole (capped, for long values).
    let mut widths = widest(&header, &rows, &[0, 1, 3, 4, 5, 6]);
    widths[2].1 = widths[2].1.min(14);
    widths[3].1 = widths[3].1.min(20);
    let t = grid(&header, rows, &widths, &[0, 6]);
    writeln!(out, "{t}")?;
    let mut legend = Vec::new();
    if tasks.iter().any(|t| t.override_id.is_some()) {
        legend.push("! an override raised it");
    }
    if tasks.iter().any(|t| t.snoozed(now)) {
        legend.push("* snoozed");
    }
    if !legend.is_empty() {
        writeln!(out, "{}", legend.join(", "))?;
    }
    Ok(())
}

/// `12 open tasks (showing 10)`.
fn queue_footer(status: &str, total: u64, shown: usize) -> String {
    let s = if total == 1 { "" } else { "s" };
    if total == 0 {
        format!("no {status} tasks")
    } else {
        format!("{total} {status} task{s} (showing {shown})")
    }
}

/// A task in readable form.
fn show(out: &mut impl Write, t: &TaskView) -> Result<()> {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut add = |label, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            rows.push((label, v));
        }
    };
    add("profile", Some(t.profile.clone()));
    add("name", t.name.clone());
    add("tier", Some(tier_text(t)));
    add("score", Some(score_text(t)));
    add("reasons", Some(t.reasons.join("; ")));
    add("playbook", Some(format!("{} (SLA {})", t.playbook, t.sla)));
    add("channel", Some(t.channel.clone()));
    add("steps", Some(numbered(&t.steps)));
    add("owner", Some(owner_text(t)));
    add("team", t.team.clone());
    add("manager", manager_text(t));
    add("location", t.location.clone());
    add("opened", Some(when(&t.created_at)));
    let due = match t.status {
        TaskStatus::Open => format!("{} ({})", when(&t.due_at), t.due()),
        _ => when(&t.due_at),
    };
    add("due", Some(due));
    add(
        "snoozed",
        t.snoozed_until
            .as_deref()
            .map(|u| format!("until {}", when(u))),
    );
    add("status", Some(status_text(t)));
    add("history", Some(history(&t.log)));
    writeln!(out, "task {}", t.id)?;
    for (label, value) in rows {
        let mut lines = value.lines();
        writeln!(out, "  {label:<9} {}", lines.next().unwrap_or(""))?;
        for line in lines {
            writeln!(out, "  {:<9} {line}", "")?;
        }
    }
    Ok(())
}

fn tier_text(t: &TaskView) -> String {
    match (&t.override_id, &t.reason) {
        (Some(o), Some(r)) => format!("{} (override {o}: {r})", t.tier),
        (Some(o), None) => format!("{} (override {o})", t.tier),
        _ => t.tier.clone(),
    }
}

fn score_text(t: &TaskView) -> String {
    match &t.grade {
        Some(g) => format!("{:.1}, fit grade {g}", t.score),
        None => format!("{:.1}", t.score),
    }
}

fn owner_text(t: &TaskView) -> String {
    let owner = t.owner.as_deref().unwrap_or("nobody (the team's queue)");
    match (&t.claimed_by, &t.claimed_at) {
        (Some(by), Some(at)) => format!("{owner} (claimed by {by} at {})", when(at)),
        _ => owner.to_string(),
    }
}

fn manager_text(t: &TaskView) -> Option<String> {
    match (&t.manager, &t.escalated_to) {
        (_, Some(e)) => Some(format!("{e} (escalated after the breach)")),
        (m, None) => m.clone(),
    }
}

fn status_text(t: &TaskView) -> String {
    let mut s = t.status.as_str().to_string();
    if let Some(r) = t.result {
        s = format!("{s}: {}", r.as_str());
    }
    if let Some(at) = &t.closed_at {
        s = format!("{s} at {}", when(at));
    }
    if let Some(why) = &t.closed_reason {
        s = format!("{s} ({why})");
    }
    match t.sla_met {
        Some(true) => s.push_str(", SLA met"),
        Some(false) => s.push_str(", SLA missed"),
        None => {}
    }
    if let Some(at) = &t.breached_at {
        s = format!("{s}\nbreached at {}", when(at));
    }
    if let Some(n) = &t.note {
        s = format!("{s}\nnote: {n}");
    }
    s
}

fn numbered(steps: &[String]) -> String {
    let lines: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect();
    lines.join("\n")
}

fn history(log: &[LogView]) -> String {
    let width = log.iter().map(|l| l.what.len()).max().unwrap_or(0);
    let lines: Vec<String> = log
        .iter()
        .map(|l| {
            let what = match (&l.detail, &l.by) {
                (Some(d), Some(b)) => format!("{d} (by {b})"),
                (Some(d), None) => d.clone(),
                (None, Some(b)) => format!("by {b}"),
                (None, None) => String::new(),
            };
            let line = format!("{}  {:<width$}  {what}", when(&l.at), l.what);
            line.trim_end().to_string()
        })
        .collect();
    lines.join("\n")
}

/// An ISO time from the server as `2026-03-01 14:05` (UTC); kept as sent if it does not parse.
fn when(iso: &str) -> String {
    parse_timestamp(iso).map_or_else(|_| iso.to_string(), short)
}

// Webhooks.

#[derive(Deserialize)]
struct SubscriptionView {
    id: String,
    url: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    tiers: Vec<String>,
    #[serde(default)]
    locations: Vec<String>,
    /// ms since the epoch in the list, ISO text when just made.
    created_at: Value,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize)]
struct DeliveryView {
    id: i64,
    subscription: String,
    kind: String,
    status: String,
    attempts: u32,
    created_at: String,
    last_error: Option<String>,
    last_status: Option<u16>,
}

impl SubscriptionView {
    /// Its filters: `all`, or `events task.created, sla.breached; tiers hot`.
    fn wants(&self) -> String {
        let parts: Vec<String> = [
            ("events", &self.events),
            ("tiers", &self.tiers),
            ("locations", &self.locations),
        ]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(name, list)| format!("{name} {}", list.join(", ")))
        .collect();
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// Runs `intent webhooks ...`.
pub fn webhooks(cmd: WebhooksCommand) -> Result<()> {
    let mut out = stdout().lock();
    match cmd {
        WebhooksCommand::Add {
            endpoint,
            events,
            tiers,
            locations,
            server,
        } => {
            let body = json!({ "url": endpoint, "events": events, "tiers": tiers, "locations": locations });
            let v = Client::new(&server).post("/v1/webhooks", body)?;
            let secret = v["secret"].as_str().unwrap_or_default().to_string();
            let sub: SubscriptionView = parse(v, "subscription")?;
            writeln!(out, "id      {}", sub.id)?;
            writeln!(out, "secret  {secret}")?;
            eprintln!(
                "keep the secret now: it is shown only this once, and it signs every delivery to {} \
                 (Standard Webhooks: check the webhook-signature header)",
                sub.url
            );
            Ok(())
        }
        WebhooksCommand::List { format, server } => {
            let v = Client::new(&server).get("/v1/webhooks", &[])?;
            let subs = array(&v, "subscriptions");
            if format == Format::Json {
                return json_lines(&mut out, &subs);
            }
            let subs: Vec<SubscriptionView> = parse(Value::Array(subs), "subscriptions")?;
            subscriptions_table(&mut out, &subs)?;
            let n = |k: &str| v["deliveries"][k].as_i64().unwrap_or(0);
            writeln!(
                out,
                "deliveries to all subscriptions: {} pending, {} delivered, {} dead",
                n("pending"),
                n("delivered"),
                n("dead")
            )?;
            Ok(())
        }
        WebhooksCommand::Remove { id, server } => {
            Client::new(&server).call(Verb::Delete, &format!("/v1/webhooks/{}", segment(&id)))?;
            writeln!(
                out,
                "subscription {id} removed: no new deliveries; its history stays"
            )?;
            Ok(())
        }
        WebhooksCommand::Deliveries {
            status,
            subscription,
            limit,
            before,
            format,
            server,
        } => {
            let query: Vec<(&str, String)> = [
                status.map(|s| ("status", s)),
                subscription.map(|s| ("subscription", s)),
                Some(("limit", limit.to_string())),
                before.map(|b| ("before", b.to_string())),
            ]
            .into_iter()
            .flatten()
            .collect();
            let v = Client::new(&server).get("/v1/webhooks/deliveries", &query)?;
            let items = array(&v, "deliveries");
            if format == Format::Json {
                return json_lines(&mut out, &items);
            }
            let list: Vec<DeliveryView> = parse(Value::Array(items), "deliveries")?;
            deliveries_table(&mut out, &list, limit)
        }
        WebhooksCommand::Replay { id, server } => {
            let path = format!("/v1/webhooks/deliveries/{id}/replay");
            Client::new(&server).post(&path, json!({}))?;
            writeln!(
                out,
                "delivery {id} is pending again with its attempts reset; it goes out now"
            )?;
            Ok(())
        }
    }
}

fn subscriptions_table(out: &mut impl Write, subs: &[SubscriptionView]) -> Result<()> {
    if subs.is_empty() {
        writeln!(
            out,
            "no subscriptions (add one with `intent webhooks add URL`)"
        )?;
        return Ok(());
    }
    let header = ["ID", "URL", "WANTS", "CREATED", "STATE"];
    let mut rows = Vec::new();
    for s in subs {
        let created = match &s.created_at {
            Value::Number(n) => n.as_i64().map(short).unwrap_or_default(),
            Value::String(iso) => when(iso),
            _ => String::new(),
        };
        let day = created.split(' ').next().unwrap_or_default().to_string();
        rows.push(vec![
            s.id.clone(),
            s.url.clone(),
            s.wants(),
            day,
            if s.disabled { "removed" } else { "active" }.to_string(),
        ]);
    }
    let mut widths = widest(&header, &rows, &[0, 1, 3, 4]);
    // A long URL breaks rather than squeeze the filters into a sliver.
    widths[1].1 = widths[1].1.min(45);
    writeln!(out, "{}", grid(&header, rows, &widths, &[]))?;
    Ok(())
}

fn deliveries_table(out: &mut impl Write, list: &[DeliveryView], limit: usize) -> Result<()> {
    if list.is_empty() {
        writeln!(out, "no deliveries")?;
        return Ok(());
    }
    let header = [
        "ID",
        "EVENT",
        "SUBSCRIPTION",
        "STATUS",
        "TRIES",
        "LAST",
        "CREATED",
    ];
    let mut rows = Vec::new();
    for d in list {
        let last = match (d.last_status, &d.last_error) {
            (Some(s), Some(e)) if d.status != "delivered" => format!("{s}: {}", clip(e, 40)),
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => clip(e, 40),
            (None, None) => String::new(),
        };
        rows.push(vec![
            d.id.to_string(),
            d.kind.clone(),
            d.subscription.clone(),
            d.status.clone(),
            d.attempts.to_string(),
            last,
            when(&d.created_at),
        ]);
    }
    let widths = widest(&header, &rows, &[0, 1, 2, 3, 4, 6]);
    let t = grid(&header, rows, &widths, &[0, 4]);
    writeln!(out, "{t}")?;
    let s = if list.len() == 1 { "y" } else { "ies" };
    write!(out, "{} deliver{s}, newest first", list.len())?;
    match list.last() {
        Some(oldest) if list.len() >= limit => {
            writeln!(out, "; older ones: --before {}", oldest.id)?
        }
        _ => writeln!(out)?,
    }
    Ok(())
}

// Reports.

#[derive(Deserialize)]
struct SlaView {
    from: Option<String>,
    to: Option<String>,
    now: String,
    total: SlaRowView,
    by_tier: Vec<SlaRowView>,
    by_owner: Vec<SlaRowView>,
    by_location: Vec<SlaRowView>,
    by_week: Vec<SlaRowView>,
}

#[derive(Deserialize)]
struct SlaRowView {
    key: String,
    tasks: u64,
    open: u64,
    met: u64,
    missed: u64,
    compliance: Option<f64>,
    speed_median_s: Option<f64>,
    speed_p90_s: Option<f64>,
    business_median_s: Option<f64>,
    appointments: u64,
}

/// One group of the SLA report: (group, tasks, met, median minutes to contact).
pub type SlaGroup = (String, u64, u64, Option<f64>);

/// SLA compliance by tier and by owner from a running server, for the weekly review.
pub fn sla_groups(url: &str, token: &str) -> Result<Vec<SlaGroup>> {
    let server = Server {
        url: url.to_string(),
        token: Some(token.to_string()),
    };
    let v = Client::new(&server).get("/v1/reports/sla", &[])?;
    let r: SlaView = parse(v, "SLA report")?;
    Ok(r.by_tier
        .iter()
        .map(|x| (format!("tier {}", x.key), x))
        .chain(r.by_owner.iter().map(|x| (x.key.clone(), x)))
        .map(|(k, x)| {
            (
                k,
                x.met + x.missed,
                x.met,
                x.speed_median_s.map(|s| s / 60.0),
            )
        })
        .collect())
}

/// Runs `intent report ...`.
pub fn report(cmd: ReportCommand) -> Result<()> {
    let a = match cmd {
        ReportCommand::Sla(a) => a,
        ReportCommand::Funnel(a) => return crate::learn::report_funnel(a),
        ReportCommand::Signals(a) => return crate::learn::report_signals(a),
        ReportCommand::Paths(a) => return crate::learn::report_paths(a),
        ReportCommand::Journeys(a) => return crate::learn::report_journeys(a),
        ReportCommand::Weekly(a) => return crate::learn::report_weekly(a),
    };
    let text = |k: &'static str, v: &Option<String>| v.clone().map(|v| (k, v));
    let query: Vec<(&str, String)> = [text("from", &a.from), text("to", &a.to)]
        .into_iter()
        .flatten()
        .collect();
    let v = Client::new(&a.server).get("/v1/reports/sla", &query)?;
    let mut out = stdout().lock();
    if a.format == Format::Json {
        return json_lines(&mut out, [&v]);
    }
    sla_tables(&mut out, &parse(v, "SLA report")?)
}

fn sla_tables(out: &mut impl Write, r: &SlaView) -> Result<()> {
    let from = r.from.as_deref().map_or("the first task".to_string(), when);
    let to = r.to.as_deref().map_or("now".to_string(), when);
    writeln!(
        out,
        "SLA report: tasks opened from {from} to {to}, as of {} UTC",
        when(&r.now)
    )?;
    let groups = [
        ("ALL", std::slice::from_ref(&r.total)),
        ("TIER", &r.by_tier[..]),
        ("OWNER", &r.by_owner[..]),
        ("LOCATION", &r.by_location[..]),
        ("WEEK", &r.by_week[..]),
    ];
    let cells: Vec<Vec<Vec<String>>> = groups
        .iter()
        .map(|(_, rows)| rows.iter().map(sla_cells).collect())
        .collect();
    // One set of widths for every table, so that their columns line up.
    let every: Vec<Vec<String>> = cells.iter().flatten().cloned().collect();
    let mut header = SLA_HEADER;
    header[0] = "LOCATION";
    let mut widths = widest(&header, &every, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    widths[0].1 = widths[0].1.min(26);
    for ((key, _), rows) in groups.iter().zip(cells) {
        if rows.is_empty() {
            continue;
        }
        header[0] = key;
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            grid(&header, rows, &widths, &[1, 2, 3, 4, 5, 6, 7, 8, 9])
        )?;
    }
    Ok(())
}

const SLA_HEADER: [&str; 10] = [
    "KEY",
    "TASKS",
    "OPEN",
    "MET",
    "MISSED",
    "COMPLIANCE %",
    "MEDIAN",
    "P90",
    "BUSINESS MEDIAN",
    "APPTS",
];

fn sla_cells(r: &SlaRowView) -> Vec<String> {
    let time = |s: Option<f64>| s.map_or("-".to_string(), duration_text);
    vec![
        r.key.clone(),
        r.tasks.to_string(),
        r.open.to_string(),
        r.met.to_string(),
        r.missed.to_string(),
        r.compliance
            .map_or("-".to_string(), |c| format!("{:.1}", c * 100.0)),
        time(r.speed_median_s),
        time(r.speed_p90_s),
        time(r.business_median_s),
        r.appointments.to_string(),
    ]
}

// Formatting.

/// When a task is due, as a person says it: `in 12m`, `overdue 5m`; a closed task's status.
fn due_text(status: TaskStatus, due_in_s: i64, overdue: bool) -> String {
    match status {
        TaskStatus::Open if overdue => format!("overdue {}", span(-due_in_s)),
        TaskStatus::Open => format!("in {}", span(due_in_s)),
        closed => closed.as_str().to_string(),
    }
}

/// A time span in its largest whole unit: `45s`, `12m`, `3h` (up to 47h), `2d`.
fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..172_800 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A duration in its two largest units: `45s`, `4m 10s`, `3h 5m`, `2d 4h` (rounded to seconds).
fn duration_text(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    let (big, small, names) = match s {
        0..60 => return format!("{s}s"),
        60..3_600 => (s / 60, s % 60, ("m", "s")),
        3_600..86_400 => (s / 3_600, s % 3_600 / 60, ("h", "m")),
        _ => (s / 86_400, s % 86_400 / 3_600, ("d", "h")),
    };
    if small == 0 {
        format!("{big}{}", names.0)
    } else {
        format!("{big}{} {small}{}", names.0, names.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_are_well_formed() {
        use clap::CommandFactory;
        crate::Cli::command().debug_assert();
    }

    #[test]
    fn the_token_goes_before_or_after_a_subcommand() {
        use clap::Parser;
        for args in [
            &["intent", "tasks", "list", "--token", "x"][..],
            &["intent", "tasks", "claim", "3", "--token", "x"],
            &["intent", "tasks", "--token", "x"],
            &["intent", "webhooks", "list", "--token", "x"],
            &["intent", "report", "sla", "--token", "x"],
        ] {
            assert!(crate::Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
        // INTENT_TOKEN may be set in a developer's shell; check the refusal only when it is not.
        if std::env::var_os("INTENT_TOKEN").is_none() {
            assert!(crate::Cli::try_parse_from(["intent", "tasks", "claim", "3"]).is_err());
        }
    }

    #[test]
    fn due_text_says_when_in_one_unit() {
        let open = TaskStatus::Open;
        assert_eq!(due_text(open, 12 * 60 + 59, false), "in 12m");
        assert_eq!(due_text(open, 3 * 3_600 + 1_799, false), "in 3h");
        assert_eq!(due_text(open, 45, false), "in 45s");
        assert_eq!(due_text(open, 0, false), "in 0s");
        assert_eq!(due_text(open, 47 * 3_600, false), "in 47h");
        assert_eq!(due_text(open, 2 * 86_400 + 5, false), "in 2d");
        assert_eq!(due_text(open, -(5 * 60 + 30), true), "overdue 5m");
        // The server rounds towards zero: a task half a second late is overdue by 0s.
        assert_eq!(due_text(open, 0, true), "overdue 0s");
        assert_eq!(due_text(TaskStatus::Done, -600, false), "done");
        assert_eq!(due_text(TaskStatus::Expired, 600, false), "expired");
    }

    #[test]
    fn duration_text_keeps_two_units() {
        assert_eq!(duration_text(0.0), "0s");
        assert_eq!(duration_text(44.6), "45s");
        assert_eq!(duration_text(250.0), "4m 10s");
        assert_eq!(duration_text(240.2), "4m");
        assert_eq!(duration_text(3_600.0), "1h");
        assert_eq!(duration_text(3.0 * 3_600.0 + 5.0 * 60.0 + 59.0), "3h 5m");
        assert_eq!(duration_text(2.0 * 86_400.0 + 4.0 * 3_600.0), "2d 4h");
        assert_eq!(duration_text(-3.0), "0s");
    }

    #[test]
    fn errors_show_the_message_and_field() {
        let body =
            r#"{"error":{"code":"invalid_body","message":"`for`: `2y` is bad","field":"for"}}"#;
        let e = answer(400, body).unwrap_err().to_string();
        assert_eq!(e, "`for`: `2y` is bad (field `for`)");
        let body = r#"{"error":{"code":"not_found","message":"no task 9","field":""}}"#;
        assert_eq!(answer(404, body).unwrap_err().to_string(), "no task 9");
        let body = r#"{"error":{"code":"unauthorized","message":"the admin token is not valid","field":""}}"#;
        assert_eq!(
            answer(401, body).unwrap_err().to_string(),
            "the admin token is not valid; check --token or INTENT_TOKEN"
        );
        let e = answer(400, "Failed to deserialize query string").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the server answered 400: Failed to deserialize query string"
        );
        assert_eq!(answer(202, "").unwrap(), Value::Null);
        assert_eq!(answer(200, r#"{"a":1}"#).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn moments_and_durations_are_checked_before_sending() {
        assert_eq!(
            moment_arg("2026-03-01").unwrap(),
            "2026-03-01T00:00:00.000Z"
        );
        assert_eq!(
            moment_arg("2026-03-01T10:00:00+01:00").unwrap(),
            "2026-03-01T09:00:00.000Z"
        );
        assert!(moment_arg("yesterday").is_err());
        assert_eq!(duration_arg("2h").unwrap(), "2h");
        assert!(duration_arg("2").is_err());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("sub_0a1b"), "sub_0a1b");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    fn task(json: Value) -> TaskView {
        let mut base = json!({
            "id": 12, "profile": "user:u1", "status": "open", "tier": "hot", "rank": 0,
            "override_id": null, "reason": null, "playbook": "hot_call", "channel": "call",
            "steps": ["Call", "Offer a test drive"], "sla": "30m", "team": "waw",
            "owner": "anna.kowalska", "manager": "marta.zielinska", "escalated_to": null,
            "location": "warszawa", "name": "Jan Kowalski", "reasons": ["Viewed financing"],
            "score": 42.25, "grade": "A", "created_at": "2026-03-01T10:00:00.000Z",
            "due_at": "2026-03-01T10:30:00.000Z", "claimed_by": null, "claimed_at": null,
            "snoozed_until": null, "closed_at": null, "result": null, "note": null,
            "breached_at": null, "closed_reason": null,
            "log": [{"at": "2026-03-01T10:00:00.000Z", "what": "created",
                     "detail": "due 2026-03-01T10:30:00.000Z"}],
            "due_in_s": 720, "overdue": false, "sla_met": null
        });
        for (k, v) in json.as_object().expect("object") {
            base[k] = v.clone();
        }
        serde_json::from_value(base).expect("a task")
    }

    #[test]
    fn a_completion_says_how_it_went() {
        let t = task(json!({
            "status": "done", "result": "appointment_set", "sla_met": true,
            "closed_at": "2026-03-01T10:04:10.000Z",
        }));
        assert_eq!(
            completed_line(&t),
            "task 12 completed: appointment_set (SLA met, 4m 10s after it opened)"
        );
    }

    #[test]
    fn the_queue_reads_at_100_columns() {
        let tasks = [
            task(json!({})),
            task(json!({
                "id": 13, "override_id": "ask_person", "playbook": "ask_person",
                "channel": "in_showroom", "name": null, "profile": "anon:4f1c2d",
                "owner": "piotr.wisniewski", "due_in_s": -330, "overdue": true,
                "snoozed_until": "2026-03-01T11:00:00.000Z",
            })),
        ];
        let mut out = Vec::new();
        let now = parse_timestamp("2026-03-01T10:20:00Z").unwrap();
        queue_table(&mut out, &tasks, now).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.contains("hot!"), "{text}");
        assert!(text.contains("overdue 5m*"), "{text}");
        assert!(text.contains("in 12m"), "{text}");
        assert!(
            text.ends_with("! an override raised it, * snoozed\n"),
            "{text}"
        );
        assert_eq!(queue_footer("open", 40, 25), "40 open tasks (showing 25)");
        assert_eq!(queue_footer("done", 1, 1), "1 done task (showing 1)");
        assert_eq!(queue_footer("open", 0, 0), "no open tasks");
    }

    #[test]
    fn a_task_reads_as_a_card() {
        let t = task(json!({
            "status": "done", "override_id": "ask_person",
            "reason": "Asked for a person at the kiosk", "escalated_to": "marta.zielinska",
            "claimed_by": "anna.kowalska", "claimed_at": "2026-03-01T10:02:00.000Z",
            "closed_at": "2026-03-01T10:40:00.000Z", "result": "appointment_set",
            "note": "Test drive on Saturday", "breached_at": "2026-03-01T10:31:00.000Z",
            "sla_met": false,
            "log": [
                {"at": "2026-03-01T10:00:00.000Z", "what": "created", "detail": "due 10:30"},
                {"at": "2026-03-01T10:02:00.000Z", "what": "claimed", "by": "anna.kowalska"},
                {"at": "2026-03-01T10:31:00.000Z", "what": "escalated", "detail": "marta.zielinska"},
                {"at": "2026-03-01T10:40:00.000Z", "what": "completed", "by": "anna.kowalska",
                 "detail": "appointment_set"}
            ],
        }));
        let mut out = Vec::new();
        show(&mut out, &t).unwrap();
        let expected = "\
task 12
  profile   user:u1
  name      Jan Kowalski
  tier      hot (override ask_person: Asked for a person at the kiosk)
  score     42.2, fit grade A
  reasons   Viewed financing
  playbook  hot_call (SLA 30m)
  channel   call
  steps     1. Call
            2. Offer a test drive
  owner     anna.kowalska (claimed by anna.kowalska at 2026-03-01 10:02)
  team      waw
  manager   marta.zielinska (escalated after the breach)
  location  warszawa
  opened    2026-03-01 10:00
  due       2026-03-01 10:30
  status    done: appointment_set at 2026-03-01 10:40, SLA missed
            breached at 2026-03-01 10:31
            note: Test drive on Saturday
  history   2026-03-01 10:00  created    due 10:30
            2026-03-01 10:02  claimed    by anna.kowalska
            2026-03-01 10:31  escalated  marta.zielinska
            2026-03-01 10:40  completed  appointment_set (by anna.kowalska)
";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    fn sla_row(key: &str, compliance: Option<f64>, median: Option<f64>) -> Value {
        json!({
            "key": key, "tasks": 1234, "open": 12, "completed": 1100, "met": 1000,
            "missed": 150, "compliance": compliance, "speed_median_s": median,
            "speed_p90_s": median.map(|m| m * 20.0), "business_median_s": median,
            "appointments": 300
        })
    }

    #[test]
    fn the_sla_tables_line_up_within_100_columns() {
        let report: SlaView = serde_json::from_value(json!({
            "from": null, "to": "2026-03-08T00:00:00.000Z", "now": "2026-03-09T10:00:00.000Z",
            "total": sla_row("all", Some(0.869_56), Some(250.0)),
            "by_tier": [sla_row("hot", Some(1.0), Some(250.4))],
            "by_owner": [sla_row("piotr.wisniewski", None, None)],
            "by_location": [],
            "by_week": [sla_row("2026-W09", Some(0.5), Some(3.0 * 3_600.0))],
        }))
        .unwrap();
        let mut out = Vec::new();
        sla_tables(&mut out, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "SLA report: tasks opened from the first task to 2026-03-08 00:00, as of 2026-03-09 10:00 UTC\n"
        ));
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.contains(" all "), "{text}");
        assert!(text.contains(" 87.0 ┆ 4m 10s ┆ 1h 23m "), "{text}");
        assert!(
            !text.contains("LOCATION"),
            "an empty breakdown is left out: {text}"
        );
        // Every table has the same column rules.
        let rules: Vec<&str> = text.lines().filter(|l| l.contains('╪')).collect();
        assert_eq!(rules.len(), 4, "{text}");
        assert!(rules.iter().all(|r| r == &rules[0]), "{text}");
    }

    #[test]
    fn webhook_tables_fit_100_columns() {
        let subs: Vec<SubscriptionView> = serde_json::from_value(json!([{
            "id": "sub_0123456789abcdef", "url": "https://crm.example.com/hooks/intent-engine",
            "events": ["task.created", "sla.breached"], "tiers": ["hot"], "locations": [],
            "created_at": 1_772_359_200_000_i64, "disabled": true
        }]))
        .unwrap();
        let list: Vec<DeliveryView> = serde_json::from_value(json!([{
            "id": 123, "subscription": "sub_0123456789abcdef", "kind": "task.reassigned",
            "status": "dead", "attempts": 8, "created_at": "2026-03-01T10:00:00.000Z",
            "last_error": "request failed: io: Connection refused (os error 111)",
            "last_status": null
        }]))
        .unwrap();
        let mut out = Vec::new();
        subscriptions_table(&mut out, &subs).unwrap();
        deliveries_table(&mut out, &list, 1).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert_eq!(
            subs[0].wants(),
            "events task.created, sla.breached; tiers hot"
        );
        assert!(
            text.contains("https://crm.example.com/hooks/intent-engine"),
            "{text}"
        );
        assert!(text.contains(" 2026-03-01 ┆ removed"), "{text}");
        assert!(text.contains(" 2026-03-01 10:00"), "{text}");
        assert!(
            text.ends_with("1 delivery, newest first; older ones: --before 123\n"),
            "{text}"
        );
    }
}
