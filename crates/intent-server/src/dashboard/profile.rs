//! A profile's story: who they are, where they stand (tier, score, fit, stage), what the model
//! expects, the score over time, every event across web, e-mail and showroom with the points it
//! earned and what is left of them now, the tasks and the outcomes.

use super::chart::{self, Band, Point};
use super::{Nav, Viewer, layout, num, page_response, pct, raw, urlencode, viewer, when};
use crate::AppState;
use crate::api::{at, read_live, resolve};
use crate::now_ms;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use intent_core::action::TaskStatus;
use intent_core::event::{Event, EventType};
use intent_core::outcome::outcome_of;
use intent_core::time::Ts;
use maud::{Markup, html};
use std::collections::HashMap;
use std::time::Instant;

/// Events listed, newest first.
const TIMELINE: usize = 300;
/// Evenly spaced samples of the score line (besides one at every event).
const SAMPLES: i64 = 120;

/// What an event was, in a few words: its name and up to three telling properties.
fn describe(e: &Event) -> (String, String) {
    let name = match (&e.kind, &e.name) {
        (_, Some(n)) => n.clone(),
        (EventType::Identify, None) => "identify".into(),
        (k, None) => k.as_str().to_string(),
    };
    let mut bits = Vec::new();
    for (k, v) in e.properties.iter() {
        if bits.len() == 3 {
            break;
        }
        let text = match v {
            serde_json::Value::String(s) if s.len() <= 40 => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        if matches!(k, "url" | "referrer" | "search" | "title") {
            continue;
        }
        bits.push(format!("{k}: {text}"));
    }
    (name, bits.join(" · "))
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let here = format!("/profiles/{}", urlencode(&id));
    let v = match viewer(&state, &headers, &here) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let st = state.clone();
    let lang = v.lang;
    let name = v.name.clone();
    let body = tokio::task::spawn_blocking(move || {
        let v = Viewer { name, lang };
        render(&st, &v, &id, now_ms()).map(|(title, body)| (title, body, v))
    })
    .await;
    match body {
        Ok(Some((title, body, v))) => {
            page_response(layout(&v, Nav::Profile, &title, &here, body), started)
        }
        Ok(None) => {
            let t = v.t();
            let body = html! { h1 { (t.no_profile) } p { code { (here) } } p { a href="/queue" { (t.back_to_queue) } } };
            (
                StatusCode::NOT_FOUND,
                layout(&v, Nav::Profile, t.no_profile, "/queue", body),
            )
                .into_response()
        }
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

fn render(state: &AppState, v: &Viewer, id: &str, clock: Ts) -> Option<(String, Markup)> {
    let t = v.t();
    let live = read_live(state);
    let engine = &live.engine;
    let plan = engine.scorer().plan();
    let canonical = resolve(engine, id).ok()?;
    let now = at(engine, &canonical, clock);
    let snap = engine.snapshot(&canonical, now)?;
    let x = engine.explain(&canonical, now)?;
    let details = crate::follow::details(engine, &canonical, now);
    let events = engine.timeline(&canonical);
    let back = format!("/profiles/{}", urlencode(&canonical));
    let title = details.name.clone().unwrap_or_else(|| canonical.clone());
    let location = engine
        .facets(&canonical)
        .and_then(|f| f.location)
        .map(|l| engine.label(l).to_string());
    let tier = intent_core::score::tier_name(plan, snap.tier).to_string();
    let stage = {
        let desk = state.follow.desk.read().expect("desk");
        desk.stage(&canonical, snap.tier, snap.score, snap.grade)
            .map(|s| s.label.clone())
    };
    let tasks: Vec<intent_core::action::Task> = {
        let desk = state.follow.desk.read().expect("desk");
        desk.tasks()
            .iter()
            .filter(|task| task.profile == canonical)
            .cloned()
            .collect()
    };
    let prediction = plan.model.as_ref().map(|m| m.explain(plan, &x, now));

    // Points per event: awarded, and left now after decay.
    let mut per_event: HashMap<&str, (f64, f64, Vec<&str>)> = HashMap::new();
    for c in &x.contributions {
        let e = per_event.entry(c.message_id.as_str()).or_default();
        e.0 += c.awarded;
        e.1 += c.remaining;
        e.2.push(c.label.as_str());
    }

    // The score line: evenly spaced samples plus one just after every event.
    let first = events.first().map_or(now, |e| e.timestamp);
    let span = (now - first).max(1);
    let mut times: Vec<Ts> = (0..=SAMPLES).map(|i| first + span * i / SAMPLES).collect();
    times.extend(events.iter().map(|e| e.timestamp));
    times.sort_unstable();
    times.dedup();
    let series = engine.score_series(&canonical, &times).unwrap_or_default();
    let changes: HashMap<Ts, String> = x
        .tier_changes
        .iter()
        .map(|c| {
            let why = c
                .reason
                .clone()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            (c.ts, format!("{} → {}{why}", c.from, c.to))
        })
        .collect();
    let line: Vec<Point> = times
        .iter()
        .zip(&series)
        .map(|(&ts, s)| Point {
            ts,
            score: s.score,
            note: changes
                .get(&ts)
                .map(|c| format!("{} · {} {}", when(ts), num(v.lang, s.score, 1), c))
                .unwrap_or_default(),
        })
        .collect();
    let bands: Vec<Band<'_>> = plan
        .levels
        .iter()
        .map(|l| Band {
            name: &l.name,
            min: l.min_score,
        })
        .collect();
    let marks: Vec<(Ts, f64, String)> = x
        .contributions
        .iter()
        .filter(|c| c.awarded != 0.0)
        .map(|c| {
            (
                c.ts,
                c.awarded,
                format!("{} · {} {:+.1}", when(c.ts), c.label, c.awarded),
            )
        })
        .collect();
    // Days on the axis; hours and minutes for a story shorter than two days; seconds for one
    // shorter than two hours.
    let hour = 3_600_000;
    let (from, to) = if span < 2 * hour {
        (11, 19)
    } else if span < 48 * hour {
        (5, 16)
    } else {
        (0, 10)
    };
    let svg = chart::score_over_time("score-chart", &line, &bands, &marks, |ts| {
        let w = intent_core::time::format_timestamp(ts).replace('T', " ");
        w.get(from..to).unwrap_or_default().to_string()
    });

    let outcomes: Vec<(Ts, String)> = events
        .iter()
        .filter_map(|e| {
            let hit = outcome_of(&plan.outcomes, e)?;
            let value = if hit.value.is_finite() {
                format!(" · {}", num(v.lang, hit.value, 0))
            } else {
                String::new()
            };
            Some((e.timestamp, format!("{}{value}", t.outcome_label(hit.kind))))
        })
        .collect();

    let body = html! {
        div.profile-head {
            div {
                h1 { (title) }
                p.ids { @for m in engine.members(&canonical) { code { (m) } " " } }
            }
            div.figures {
                div.figure { span.label { (t.tier) } span.value.tier data-tier=(tier) { (tier) } }
                div.figure { span.label { (t.score) } span.value #score { (num(v.lang, snap.score, 1)) } }
                div.figure { span.label { (t.fit) } span.value { (num(v.lang, snap.fit, 0))
                    @if let Some(g) = &x.grade { " · " (g) } } }
                @if let Some(l) = &location { div.figure { span.label { (t.location) } span.value { (l) } } }
                @if let Some(s) = &stage { div.figure { span.label { (t.stage) } span.value { (s) } } }
            }
            @if let Some(r) = &x.reason {
                p.badge-override { "⚑ " (r) }
            }
        }
        div.grid2 {
            section.panel #prediction {
                h2 { (t.prediction) }
                @match &prediction {
                    None => { p.muted { (t.no_model) } }
                    Some(p) => {
                        p { (t.chance_of(t.outcome_label(p.outcome))) }
                        ul.chances {
                            @for c in &p.chances {
                                li { strong { (pct(v.lang, c.probability)) } " " (t.within) " " (c.within) }
                            }
                        }
                        @if !p.drivers.is_empty() {
                            h3 { (t.drivers) }
                            table.compact {
                                @for d in p.drivers.iter().take(5) {
                                    tr { td { (d.label) } td.num.neg[d.effect < 0.0] { (format!("{:+.2}", d.effect)) } }
                                }
                            }
                        }
                    }
                }
            }
            section.panel #fit {
                h2 { (t.fit_card) }
                @if x.fit_rules.is_empty() {
                    p.muted { (t.no_fit) }
                } @else {
                    table.compact {
                        @for (rule, label, pts) in &x.fit_rules {
                            tr title=(rule) { td { (label) } td.num { (num(v.lang, *pts, 0)) } }
                        }
                        tr.total { td { (t.total) } td.num { (num(v.lang, x.fit, 0)) } }
                    }
                }
                @if !x.groups.is_empty() {
                    h3 { (t.groups) }
                    table.compact #groups {
                        @for (g, value, score) in x.groups.iter().take(8) {
                            tr { td { (g) } td { (value) } td.num { (num(v.lang, *score, 1)) } }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { (t.score_over_time) }
            (raw(svg))
            p.muted.small { (t.chart_hint) }
        }
        div.grid2 {
            section.panel #tasks {
                h2 { (t.tasks) }
                @if tasks.is_empty() { p.muted { (t.no_tasks) } }
                @for task in tasks.iter().rev() {
                    div.task-row data-task=(task.id) data-status=(task.status.as_str()) {
                        strong { (task.playbook) } " · " (task.tier) " · " (t.status_label(task.status))
                        div.muted.small {
                            (t.due) " " (when(task.due_at))
                            @if let Some(o) = task.claimed_by.as_ref().or(task.owner.as_ref()) { " · " (o) }
                            @if let Some(r) = task.result { " · " (t.result_label(r)) }
                        }
                        @if task.status == TaskStatus::Open {
                            (super::queue::task_actions(v, task.id, task.claimed_by.is_some(), &back))
                        }
                    }
                }
            }
            section.panel #outcomes {
                h2 { (t.outcomes) }
                @if outcomes.is_empty() { p.muted { (t.no_outcomes) } }
                ul { @for (ts, o) in &outcomes { li { (when(*ts)) " — " (o) } } }
            }
        }
        section.panel {
            h2 { (t.timeline) " " span.count { (num(v.lang, events.len() as f64, 0)) } }
            table #timeline {
                thead { tr {
                    th { (t.when) } th { (t.channel) } th { (t.event) } th { (t.rules) }
                    th.num { (t.awarded) } th.num { (t.left_now) }
                } }
                tbody {
                    @for e in events.iter().rev().take(TIMELINE) {
                        @let (what, props) = describe(e);
                        @let pts = per_event.get(e.message_id.as_str());
                        tr data-event=(e.message_id) data-channel=(e.channel().unwrap_or("")) {
                            td.nowrap { (when(e.timestamp)) }
                            td { span.channel { (e.channel().unwrap_or("—")) } }
                            td { strong { (what) } @if !props.is_empty() { br; span.muted.small { (props) } } }
                            td.small { @if let Some(p) = pts { (p.2.join(", ")) } }
                            td.num { @if let Some(p) = pts { (format!("{:+.1}", p.0)) } }
                            td.num { @if let Some(p) = pts { (num(v.lang, p.1, 1)) } }
                        }
                    }
                }
            }
            @if events.len() > TIMELINE { p.more { (t.and_more(events.len() - TIMELINE)) } }
        }
    };
    Some((title, body))
}
