//! The funnel page: engaged → call to action → lead → appointment → outcome, overall and split by
//! channel, location, source or week, from the same journeys as `GET /v1/reports/funnel`.

use super::chart;
use super::{Nav, layout, num, page_response, pct, raw, urlencode, viewer};
use crate::AppState;
use crate::outcomes::{began, journeys};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use intent_core::time::Ts;
use intent_learn::funnel::{Journey, Split, funnel};
use maud::html;
use serde::Deserialize;
use std::time::Instant;

#[derive(Deserialize)]
pub(super) struct FunnelQuery {
    by: Option<String>,
    days: Option<i64>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<FunnelQuery>,
) -> Response {
    let started = Instant::now();
    let by =
        q.by.clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "channel".into());
    let days = q.days.filter(|d| *d > 0).map(|d| d.min(3650));
    let here = match days {
        Some(d) => format!("/funnel?by={}&days={d}", urlencode(&by)),
        None => format!("/funnel?by={}", urlencode(&by)),
    };
    let v = match viewer(&state, &headers, &here) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let t = v.t();
    let split = Split::parse(&by).unwrap_or(Split::Channel);
    let st = state.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let (all, _) = journeys(&st, split);
        let from: Option<Ts> = days.map(|d| crate::now_ms() - d * intent_core::time::DAY);
        let counted: Vec<Journey> = all
            .into_iter()
            .filter(|j| from.is_none_or(|f| began(j).is_some_and(|b| b >= f)))
            .collect();
        (
            funnel(&counted, Split::None),
            funnel(&counted, split),
            counted.len(),
        )
    })
    .await;
    let (overall, segments, profiles) = match computed {
        Ok(c) => c,
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
    };
    let splits = [
        ("channel", t.by_channel),
        ("location", t.by_location),
        ("source", t.by_source),
        ("week", t.by_week),
    ];
    let periods = [
        (None, t.all_time),
        (Some(7), t.last_7_days),
        (Some(30), t.last_30_days),
        (Some(90), t.last_90_days),
    ];
    let stage_names: Vec<&str> = intent_learn::funnel::STAGES
        .iter()
        .map(|s| t.stage_label(s))
        .collect();
    let body = html! {
        div.toolbar {
            h1 { (t.funnel_title) }
            nav.tabs {
                @for (id, label) in splits {
                    a href=(format!("/funnel?by={id}{}", days.map(|d| format!("&days={d}")).unwrap_or_default()))
                        class=[(id == by).then_some("active")] data-split=(id) { (label) }
                }
            }
            nav.tabs {
                @for (d, label) in periods {
                    a href=(format!("/funnel?by={}{}", urlencode(&by), d.map(|d| format!("&days={d}")).unwrap_or_default()))
                        class=[(d == days).then_some("active")] { (label) }
                }
            }
            p.muted { (t.funnel_hint(profiles)) }
        }
        @if let Some(seg) = overall.first() {
            section.panel #funnel-overall {
                h2 { (t.all_profiles) }
                @let rows: Vec<(String, f64, String)> = seg.steps.iter().enumerate().map(|(i, s)| {
                    let rate = s.rate.map(|r| format!(" · {} {}", pct(v.lang, r), t.of_previous)).unwrap_or_default();
                    (stage_names[i].to_string(), s.profiles as f64, format!("{}{rate}", num(v.lang, s.profiles as f64, 0)))
                }).collect();
                (raw(chart::bars("funnel-bars", &rows)))
                table.compact {
                    thead { tr { th { (t.stage) } th.num { (t.profiles) } th.num { (t.anonymous_col) } th.num { (t.from_previous) } th.num { (t.median_time) } } }
                    tbody {
                        @for (i, s) in seg.steps.iter().enumerate() {
                            tr data-stage=(s.stage) {
                                td { (stage_names[i]) }
                                td.num { (num(v.lang, s.profiles as f64, 0)) }
                                td.num { (num(v.lang, s.anonymous as f64, 0)) }
                                td.num { @if let Some(r) = s.rate { (pct(v.lang, r)) } @else { "—" } }
                                td.num { @if let Some(h) = s.median_hours { (t.hours(h)) } @else { "—" } }
                            }
                        }
                    }
                }
                p.muted { (t.won) ": " strong { (num(v.lang, seg.won as f64, 0)) } }
            }
        }
        section.panel #funnel-split {
            h2 { (splits.iter().find(|s| s.0 == by).map_or(t.by_channel, |s| s.1)) }
            @if segments.is_empty() { p.muted { (t.nothing_yet) } }
            @else {
                table #funnel-table {
                    thead { tr {
                        th { "" }
                        @for s in &stage_names { th.num { (s) } }
                        th.num { (t.won) }
                        th.num { (t.engaged_to_appointment) }
                    } }
                    tbody {
                        @for seg in &segments {
                            @let engaged = seg.steps.first().map_or(0, |s| s.profiles);
                            @let appointments = seg.steps.get(3).map_or(0, |s| s.profiles);
                            tr data-segment=(seg.name) {
                                th { (seg.name) }
                                @for s in &seg.steps {
                                    td.num {
                                        (num(v.lang, s.profiles as f64, 0))
                                        @if let Some(r) = s.rate { br; span.muted.small { (pct(v.lang, r)) } }
                                    }
                                }
                                td.num { (num(v.lang, seg.won as f64, 0)) }
                                td.num { @if engaged > 0 { (pct(v.lang, appointments as f64 / engaged as f64)) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
    };
    page_response(layout(&v, Nav::Funnel, t.funnel, &here, body), started)
}
