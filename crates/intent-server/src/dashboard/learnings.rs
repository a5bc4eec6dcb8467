//! The learnings page: what history says about the live plan. Signal and path lift, calibration,
//! the backtest of the plan by tier, and the plan the learner recommends, as a diff.
//!
//! The analysis reads the whole event log (it is `intent report weekly` and `intent learn` run
//! on the store), so it runs in the background: on the first visit, and again when asked. The
//! page shows the last one that finished, with when and on which plan version it ran.

use super::{
    Analysis, AnalysisRequest, Finished, Nav, Viewer, layout, page_response, raw, same_origin,
    viewer, when,
};
use crate::AppState;
use crate::api::read_live;
use crate::now_ms;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use intent_learn::html;
use maud::{Markup, html as markup};
use std::sync::Arc;
use std::time::Instant;

/// Starts an analysis unless one is running; false when there is no analyst.
fn start(state: &AppState) -> bool {
    let Some(analyst) = state.dashboard.analyst.clone() else {
        return false;
    };
    {
        let mut runs = state.dashboard.runs.lock().expect("runs");
        if runs.running.is_some() {
            return true;
        }
        runs.running = Some(now_ms());
    }
    let now = now_ms();
    let sla = {
        let desk = state.follow.desk.read().expect("desk");
        let r = intent_core::action::report::sla_report(
            desk.tasks(),
            &desk.plan().follow,
            i64::MIN,
            i64::MAX,
            now,
        );
        let tier = |x: &intent_core::action::report::SlaRow| format!("tier {}", x.key);
        r.by_tier
            .iter()
            .map(|x| (tier(x), x))
            .chain(r.by_owner.iter().map(|x| (x.key.clone(), x)))
            .filter(|(_, x)| x.met + x.missed > 0)
            .map(|(group, x)| html::SlaRow {
                group,
                tasks: x.met + x.missed,
                met: x.met,
                median_minutes: x.speed_median_s.map(|s| s / 60.0),
            })
            .collect()
    };
    let request = {
        let live = read_live(state);
        AnalysisRequest {
            plan_text: live.plan_text.clone(),
            plan_version: live.plan_version,
            now,
            sla,
        }
    };
    let dashboard = state.dashboard.clone();
    let spawned = std::thread::Builder::new()
        .name("intent-analysis".into())
        .spawn(move || {
            let began = Instant::now();
            // A panic in the analysis is its failure, not a run that never ends.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyst(&request)))
                    .unwrap_or_else(|p| {
                        let why = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "it panicked".into());
                        Err(format!("the analysis stopped: {why}"))
                    })
                    .map(Arc::new);
            if let Err(e) = &result {
                tracing::warn!(error = %e, "dashboard analysis failed");
            } else {
                tracing::info!(
                    seconds = began.elapsed().as_secs_f64(),
                    "dashboard analysis done"
                );
            }
            let mut runs = dashboard.runs.lock().expect("runs");
            runs.running = None;
            runs.last = Some(Finished {
                at: now_ms(),
                plan_version: request.plan_version,
                seconds: began.elapsed().as_secs_f64(),
                result,
            });
        });
    if spawned.is_err() {
        state.dashboard.runs.lock().expect("runs").running = None;
    }
    true
}

/// The recommended plan against the live one, as a unified diff.
pub(super) fn diff_markup(old: &str, new: &str, id: &str) -> Markup {
    let diff = similar::TextDiff::from_lines(old, new);
    markup! {
        pre.diff id=(id) {
            @for group in diff.grouped_ops(3) {
                span.hunk { "@@\n" }
                @for op in &group {
                    @for change in diff.iter_changes(op) {
                        @let (class, sign) = match change.tag() {
                            similar::ChangeTag::Delete => ("del", "-"),
                            similar::ChangeTag::Insert => ("add", "+"),
                            similar::ChangeTag::Equal => ("ctx", " "),
                        };
                        span class=(class) { (sign) (change.value()) }
                        @if change.missing_newline() { "\n" }
                    }
                }
            }
        }
    }
}

fn analysis_markup(
    v: &Viewer,
    a: &Analysis,
    f: &Finished,
    live_text: &str,
    live_version: i64,
) -> Markup {
    let t = v.t();
    let review = match v.lang {
        super::Lang::En => &a.en,
        super::Lang::Pl => &a.pl,
    };
    let lang = v.lang;
    markup! {
        p.muted #analysis-meta {
            (t.analysis_meta(&when(f.at), f.plan_version, a.events, a.profiles, f.seconds))
        }
        style { (maud::PreEscaped(html::style())) }
        (raw(html::sections(review, lang)))
        section.panel #recommended {
            h2 { (t.recommended_plan) }
            @match &a.recommended {
                None => p.muted { (t.no_recommendation) }
                Some(text) if text == live_text => p.muted { (t.no_change) }
                Some(_) if f.plan_version != live_version => p.notice { (t.stale_analysis) }
                Some(text) => {
                    p { (t.recommended_hint) }
                    (diff_markup(live_text, text, "recommended-diff"))
                    form method="post" action="/plan/validate" {
                        input type="hidden" name="text" value=(text);
                        button type="submit" { (t.review_and_publish) }
                    }
                }
            }
        }
    }
}

pub(super) async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let v = match viewer(&state, &headers, "/learnings") {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let t = v.t();
    let (running, last) = {
        let runs = state.dashboard.runs.lock().expect("runs");
        (runs.running, runs.last.clone())
    };
    let running = if running.is_none() && last.is_none() {
        start(&state).then(now_ms)
    } else {
        running
    };
    let (live_text, live_version) = {
        let live = read_live(&state);
        (live.plan_text.clone(), live.plan_version)
    };
    let body = markup! {
        div.toolbar {
            h1 { (t.learnings_title) }
            @if state.dashboard.analyst.is_some() {
                form method="post" action="/learnings/run" {
                    button type="submit" disabled[running.is_some()] { (t.run_analysis) }
                }
            }
            p.muted { (t.learnings_hint) }
        }
        @if let Some(since) = running {
            p.notice #analysis-running data-since=(since) {
                (t.analysis_running(&when(since)))
            }
            // The page looks again while the analysis runs.
            meta http-equiv="refresh" content="3";
        }
        @match &last {
            None if state.dashboard.analyst.is_none() => p.muted { (t.no_analyst) }
            None => {}
            Some(f) => @match &f.result {
                Ok(a) => (analysis_markup(&v, a, f, &live_text, live_version)),
                Err(e) => p.error { (t.analysis_failed) ": " (e) }
            }
        }
    };
    page_response(
        layout(&v, Nav::Learnings, t.learnings, "/learnings", body),
        started,
    )
}

pub(super) async fn run(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    if let Err(r) = viewer(&state, &headers, "/learnings") {
        return r.into_response();
    }
    start(&state);
    Redirect::to("/learnings").into_response()
}
