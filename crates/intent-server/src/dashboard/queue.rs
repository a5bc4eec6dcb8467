//! The queue page: one lane per tier (hot, warm, cold, …), the people most worth a call first,
//! live. Claim and complete from the card.
//!
//! A lane lists its first `n` profiles in the order of the JSON queue (asked for a person first,
//! then score) out of one pass over live state; only the listed cards are explained (their top
//! reasons), so the page costs one pass plus a few dozen explanations whatever the store holds.

use super::{Nav, Viewer, layout, num, pct, same_origin, urlencode, viewer};
use crate::AppState;
use crate::api::read_live;
use crate::follow::Command;
use crate::now_ms;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use intent_core::action::TaskResult;
use intent_core::time::Ts;
use maud::{Markup, html};
use serde::Deserialize;
use std::time::Instant;

/// Cards per lane unless asked.
const PER_LANE: usize = 20;

#[derive(Deserialize, Default, Clone)]
pub(super) struct QueueQuery {
    location: Option<String>,
    n: Option<usize>,
}

/// One card.
pub(super) struct Card {
    id: String,
    name: Option<String>,
    location: Option<String>,
    score: f64,
    grade: Option<String>,
    /// The override's reason ("asked for a person").
    escalation: Option<String>,
    reasons: Vec<String>,
    task: Option<TaskCard>,
    chance: Option<(f64, String)>,
}

struct TaskCard {
    id: i64,
    owner: Option<String>,
    claimed: bool,
    due_at: Ts,
    playbook: String,
}

/// One lane.
pub(super) struct Lane {
    tier: String,
    /// Profiles in the lane (not counted for the lowest lane under a location filter).
    total: Option<usize>,
    /// The lowest lane lists the most recently active first, not the highest scores.
    recent_first: bool,
    cards: Vec<Card>,
}

/// Everything the lanes show.
pub(super) struct Lanes {
    lanes: Vec<Lane>,
    locations: Vec<String>,
    now: Ts,
    profiles: usize,
    /// Milliseconds spent waiting for and reading the board, and on the cards.
    timing: [(&'static str, f64); 2],
}

/// The lanes at `now`.
///
/// The lanes above the lowest tier come from the follow-up thread's [`Board`]: it looks at every
/// profile an event touches as it is scored, and at those above the lowest tier again every few
/// seconds (decay), and keeps their tier and score. Lanes are ordered from there (people who asked
/// for a person first, the most recently active of them first: they are in the showroom now;
/// then by score), and only the listed cards are read from live state. The lowest lane (usually nearly every profile) lists
/// who was active most recently and counts the rest. One pass over a million profiles' scores
/// would take a second; this takes milliseconds.
///
/// [`Board`]: crate::follow::Board
pub(super) fn compute(state: &AppState, q: &QueueQuery, now: Ts) -> Lanes {
    let per_lane = q.n.unwrap_or(PER_LANE).clamp(1, 200);
    let recent: Vec<String> = {
        let r = state.shared.recent.lock().expect("recent");
        r.iter().rev().cloned().collect()
    };
    let began = Instant::now();
    let want_location = q.location.as_deref().filter(|l| !l.is_empty());
    // Locks in the follow-up thread's order: live state, then the board and the desk.
    let live = read_live(state);
    let levels = live.engine.scorer().plan().levels.len();
    let floor = levels - 1;
    let mut locations: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut by_tier: Vec<Vec<(bool, f64, String)>> = vec![Vec::new(); levels];
    let mut totals = vec![0usize; levels];
    // Profiles on the board (above the lowest tier, or disqualified).
    let not_lowest;
    {
        let board = state.follow.board.read().expect("board");
        not_lowest = board.rows.len();
        let mut places: std::collections::HashSet<&str> = std::collections::HashSet::new();
        // (asked for a person, their last event or the score, id): people who asked for a
        // person first, the latest of them first (they are in the showroom now), then by score.
        let mut lanes: Vec<Vec<(bool, f64, &str)>> = vec![Vec::new(); levels];
        for (id, row) in &board.rows {
            if let Some(l) = &row.location {
                places.insert(l);
            }
            if want_location.is_some() && row.location.as_deref() != want_location {
                continue;
            }
            if let Some(lane) = lanes.get_mut(row.tier as usize) {
                let key = if row.escalated {
                    row.last_event as f64
                } else {
                    row.score
                };
                lane.push((row.escalated, key, id));
            }
        }
        let order = |a: &(bool, f64, &str), b: &(bool, f64, &str)| {
            b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(b.2))
        };
        for (tier, rows) in lanes.iter_mut().enumerate() {
            let total = rows.len();
            if rows.len() > per_lane {
                rows.select_nth_unstable_by(per_lane - 1, order);
                rows.truncate(per_lane);
            }
            rows.sort_unstable_by(order);
            by_tier[tier] = rows
                .iter()
                .map(|(e, key, id)| {
                    let score = board.rows.get(*id).map_or(*key, |r| r.score);
                    (*e, score, id.to_string())
                })
                .collect();
            totals[tier] = total;
        }
        locations.extend(places.into_iter().map(str::to_string));
    }
    let board_ms = began.elapsed().as_secs_f64() * 1000.0;
    let cards_began = Instant::now();
    let desk = state.follow.desk.read().expect("desk");
    let engine = &live.engine;
    let plan = engine.scorer().plan();
    let location_id = want_location.map(|l| engine.label_id(l));
    let location_of = |id: &str| engine.facets(id).and_then(|f| f.location);
    let in_place = |id: &str| match location_id {
        None => true,
        Some(want) => want.is_some() && location_of(id) == want,
    };
    // The lowest lane: the most recently active of its profiles, newest first.
    let mut seen = std::collections::HashSet::new();
    let mut lowest: Vec<(bool, f64, String)> = Vec::new();
    for id in &recent {
        if lowest.len() == per_lane {
            break;
        }
        if !seen.insert(id.as_str()) {
            continue;
        }
        let Some(s) = engine.snapshot(id, crate::api::at(engine, id, now)) else {
            continue;
        };
        if let Some(l) = location_of(id) {
            locations.insert(engine.label(l).to_string());
        }
        if s.tier as usize == floor && s.override_index.is_none() && in_place(id) {
            lowest.push((false, s.score, id.clone()));
        }
    }
    let lowest_total = engine.profile_count().saturating_sub(not_lowest);
    let card_of = |id: &str, score: f64| -> Card {
        let at = crate::api::at(engine, id, now);
        let snap = engine.snapshot(id, at);
        let details = crate::follow::details(engine, id, at);
        let escalation = snap
            .as_ref()
            .and_then(|s| s.override_index)
            .map(|o| plan.overrides[o].reason.clone());
        let grade = snap
            .as_ref()
            .and_then(|s| s.grade)
            .map(|g| plan.grades[g].name.clone());
        let location = location_of(id).map(|l| engine.label(l).to_string());
        let chance = plan.model.as_ref().and_then(|m| {
            let x = engine.explain(id, at)?;
            let first = m.explain(plan, &x, at).chances.into_iter().next()?;
            Some((first.probability, first.within))
        });
        let task = desk.open_task(id).map(|t| TaskCard {
            id: t.id,
            owner: t.claimed_by.clone().or_else(|| t.owner.clone()),
            claimed: t.claimed_by.is_some(),
            due_at: t.due_at,
            playbook: t.playbook.clone(),
        });
        Card {
            id: id.to_string(),
            name: details.name,
            location,
            // The board's score is from when the profile was last looked at; show it now.
            score: snap.as_ref().map_or(score, |s| s.score),
            grade,
            escalation,
            reasons: details.reasons,
            task,
            chance,
        }
    };
    let mut lanes = Vec::with_capacity(by_tier.len());
    for (tier, mut rows) in by_tier.into_iter().enumerate() {
        let is_lowest = tier == floor;
        let total = if is_lowest {
            // Counted only without a location filter: the rest are not looked at one by one.
            if location_id.is_some() {
                None
            } else {
                Some(lowest_total)
            }
        } else {
            Some(totals[tier])
        };
        if is_lowest {
            rows = std::mem::take(&mut lowest);
        }
        let cards = rows
            .iter()
            .map(|(_, score, id)| card_of(id, *score))
            .collect();
        lanes.push(Lane {
            tier: plan
                .levels
                .get(tier)
                .map_or_else(String::new, |l| l.name.clone()),
            total,
            recent_first: is_lowest,
            cards,
        });
    }
    Lanes {
        lanes,
        locations: locations.into_iter().collect(),
        now,
        profiles: engine.profile_count(),
        timing: [
            ("board", board_ms),
            ("cards", cards_began.elapsed().as_secs_f64() * 1000.0),
        ],
    }
}

fn countdown(v: &Viewer, due: Ts, now: Ts) -> String {
    let t = v.t();
    let secs = (due - now) / 1000;
    let (abs, late) = (secs.unsigned_abs(), secs < 0);
    let text = if abs >= 3600 {
        format!("{} h {:02} min", abs / 3600, (abs % 3600) / 60)
    } else {
        format!("{}:{:02}", abs / 60, abs % 60)
    };
    if late {
        format!("{} {text}", t.overdue_by)
    } else {
        format!("{text} {}", t.left)
    }
}

fn card(v: &Viewer, c: &Card, now: Ts, back: &str) -> Markup {
    let t = v.t();
    let anonymous = c.id.starts_with("anon:");
    let shown = c.name.clone().unwrap_or_else(|| {
        let short: String = c.id.chars().take(22).collect();
        short
    });
    html! {
        article.card.escalated[c.escalation.is_some()] data-profile=(c.id) {
            div.card-head {
                a.card-name href=(format!("/profiles/{}", urlencode(&c.id))) {
                    @if anonymous && c.name.is_none() { span.anon { (t.anonymous) " " } }
                    (shown)
                }
                span.score title=(t.score) { (num(v.lang, c.score, 0)) }
                @if let Some(g) = &c.grade { span.grade title=(t.fit_grade) { (g) } }
            }
            @if let Some(e) = &c.escalation {
                div.badge-override title=(e) { "⚑ " (t.asked_for_person) }
            }
            div.meta {
                @if let Some(l) = &c.location { span.location { (l) } }
                @if let Some((p, within)) = &c.chance {
                    span.chance title=(t.predicted_chance) { (pct(v.lang, *p)) " / " (within) }
                }
            }
            @if !c.reasons.is_empty() {
                ol.reasons {
                    @for r in &c.reasons { li { (r) } }
                }
            }
            @if let Some(task) = &c.task {
                div.task data-task=(task.id) {
                    span.sla.late[task.due_at < now] data-due=(task.due_at)
                        title=(t.sla_title) { (countdown(v, task.due_at, now)) }
                    span.owner { @if let Some(o) = &task.owner { (o) } @else { (t.unassigned) } }
                    span.playbook { (task.playbook) }
                }
                (task_actions(v, task.id, task.claimed, back))
            }
        }
    }
}

pub(super) fn lanes_markup(v: &Viewer, l: &Lanes, back: &str) -> Markup {
    let t = v.t();
    html! {
        div #lanes data-now=(l.now) data-profiles=(l.profiles) {
            @for lane in &l.lanes {
                section.lane data-tier=(lane.tier) {
                    h2 {
                        span.tier-name { (lane.tier) } " "
                        span.count { @if let Some(n) = lane.total { (num(v.lang, n as f64, 0)) } }
                    }
                    @if lane.recent_first { p.lane-note { (t.recent_first) } }
                    @if lane.cards.is_empty() {
                        p.empty { (t.lane_empty) }
                    }
                    @for c in &lane.cards { (card(v, c, l.now, back)) }
                    @if let Some(more) = lane.total.map(|n| n.saturating_sub(lane.cards.len())).filter(|m| *m > 0) {
                        p.more { (t.and_more(more)) }
                    }
                }
            }
        }
    }
}

fn here(q: &QueueQuery) -> String {
    match q.location.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => format!("/queue?location={}", urlencode(l)),
        None => "/queue".into(),
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let started = Instant::now();
    let path = here(&q);
    let v = match viewer(&state, &headers, &path) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let st = state.clone();
    let q2 = q.clone();
    let lanes = match tokio::task::spawn_blocking(move || compute(&st, &q2, now_ms())).await {
        Ok(l) => l,
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
    };
    let t = v.t();
    let selected = q.location.clone().unwrap_or_default();
    let settling = state
        .follow
        .settling
        .load(std::sync::atomic::Ordering::Relaxed);
    let body = html! {
        div.toolbar {
            h1 { (t.queue_title) }
            form.filters method="get" action="/queue" {
                label { (t.location) " "
                    select name="location" onchange="this.form.submit()" {
                        option value="" selected[selected.is_empty()] { (t.all_locations) }
                        @for l in &lanes.locations {
                            option value=(l) selected[*l == selected] { (l) }
                        }
                    }
                }
                noscript { button type="submit" { (t.show) } }
            }
            p.muted { (t.queue_hint) }
            @if settling { p.notice #settling { (t.settling) } }
        }
        (lanes_markup(&v, &lanes, &path))
    };
    let timing = lanes.timing;
    super::timed_response(
        layout(&v, Nav::Queue, t.queue, &path, body),
        started,
        &timing,
    )
}

/// The lanes alone, for the live page to swap in.
pub(super) async fn lanes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let started = Instant::now();
    let path = here(&q);
    let v = match viewer(&state, &headers, &path) {
        Ok(v) => v,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let st = state.clone();
    let q2 = q.clone();
    match tokio::task::spawn_blocking(move || compute(&st, &q2, now_ms())).await {
        Ok(l) => super::timed_response(lanes_markup(&v, &l, &path), started, &l.timing),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

/// Server-sent events: one `change` event per durable change (a tier crossed, a task opened,
/// claimed or done), with the profile and tier as JSON.
pub(super) async fn live(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if viewer(&state, &headers, "/queue").is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let session = super::session_id(&headers).unwrap_or_default();
    let rx = state.shared.news.subscribe();
    let stream = futures_util::stream::unfold(rx, move |mut rx| {
        let (state, session) = (state.clone(), session.clone());
        async move {
            let news = rx.recv().await;
            // A logout or a revoked token ends the stream at its next event.
            if !super::session_alive(&state, &session) {
                return None;
            }
            let data = match news {
                Ok(n) => serde_json::json!({
                    "kind": n.kind, "profile": n.profile, "tier": n.tier,
                })
                .to_string(),
                // Fell behind: one change event makes the page read everything again.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => "{}".to_string(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let ev = SseEvent::default().event("change").data(data);
            Some((Ok::<_, std::convert::Infallible>(ev), rx))
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct TaskForm {
    next: Option<String>,
    result: Option<String>,
    note: Option<String>,
}

async fn task_command(
    state: AppState,
    headers: HeaderMap,
    id: String,
    f: TaskForm,
    command: impl FnOnce(&TaskForm) -> Result<Command, String>,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    let back = super::local(f.next.as_deref());
    let v = match viewer(&state, &headers, &back) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "no such task\n").into_response();
    };
    let command = match command(&f) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    match crate::tasks::run(&state, id, command, v.name.clone()).await {
        Ok(_) => Redirect::to(&back).into_response(),
        // Someone else was quicker, or the task is gone: say so on a page, not in JSON.
        Err(e) => {
            let t = v.t();
            let body = html! {
                p.error role="alert" { (e.message) }
                p { a href=(back) { (t.back_to_queue) } }
            };
            (e.status, layout(&v, Nav::Queue, t.queue, &back, body)).into_response()
        }
    }
}

pub(super) async fn claim(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TaskForm>,
) -> Response {
    task_command(state, headers, id, f, |_| Ok(Command::Claim)).await
}

pub(super) async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TaskForm>,
) -> Response {
    task_command(state, headers, id, f, |f| {
        let text = f.result.as_deref().unwrap_or("contacted");
        let result = TaskResult::parse(text).ok_or_else(|| format!("no result `{text}`\n"))?;
        let note = f.note.clone().filter(|n| !n.trim().is_empty());
        Ok(Command::Complete(result, note))
    })
    .await
}

/// For the profile page: the same card actions.
pub(super) fn task_actions(v: &Viewer, task_id: i64, claimed: bool, back: &str) -> Markup {
    let t = v.t();
    html! {
        div.actions {
            @if !claimed {
                form method="post" action=(format!("/tasks/{task_id}/claim")) data-action="claim" {
                    input type="hidden" name="next" value=(back);
                    button type="submit" { (t.claim) }
                }
            }
            form method="post" action=(format!("/tasks/{task_id}/complete")) data-action="complete" {
                input type="hidden" name="next" value=(back);
                select name="result" aria-label=(t.result) {
                    @for r in TaskResult::ALL { option value=(r.as_str()) { (t.result_label(r)) } }
                }
                button type="submit" { (t.complete) }
            }
        }
    }
}
