//! The plan page: the live plan and its version history, a diff between any two versions, and an
//! editor that validates a changed plan (errors with line, column and how to fix them; the diff
//! against the live plan) before it is published.

use super::learnings::diff_markup;
use super::{Nav, Viewer, layout, num, page_response, same_origin, viewer, when};
use crate::AppState;
use crate::api::{read_live, read_store};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use intent_core::plan::Plan;
use maud::{Markup, html};
use serde::Deserialize;
use std::time::Instant;

#[derive(Deserialize)]
pub(super) struct PlanQuery {
    v: Option<i64>,
    from: Option<i64>,
    to: Option<i64>,
    published: Option<i64>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PlanQuery>,
) -> Response {
    let started = Instant::now();
    let v = match viewer(&state, &headers, "/plan") {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let t = v.t();
    let versions = match read_store(&state, |s| s.plans()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let live = read_live(&state).plan_version;
    let rescoring = state.shared.rescoring.lock().expect("status").clone();
    let text_of = |n: i64| {
        versions
            .iter()
            .find(|p| p.version == n)
            .map(|p| p.text.as_str())
    };
    let shown = q.v.unwrap_or(live);
    let body = html! {
        div.toolbar {
            h1 { (t.plan_title) }
            a.button href="/plan/edit" { (t.edit_plan) }
        }
        @if let Some(n) = q.published {
            p.notice #published { (t.published(n)) }
        }
        @if let Some(r) = &rescoring {
            @if r.version != live {
                p.notice { (t.rescoring(r.version, r.done, r.total)) }
            }
            @if let Some(e) = &r.error { p.error { (e) } }
        }
        div.grid-side {
            section.panel #versions {
                h2 { (t.versions) }
                table.compact {
                    thead { tr { th { "#" } th { (t.created) } th { (t.origin) } th { "" } } }
                    tbody {
                        @for p in versions.iter().rev() {
                            tr data-version=(p.version) class=[(p.version == shown).then_some("selected")] {
                                td { a href=(format!("/plan?v={}", p.version)) { (p.version) } }
                                td.nowrap { (when(p.created_at)) }
                                td.small { (p.origin) }
                                td {
                                    @if p.version == live { span.badge-live { (t.live_badge) } }
                                    @else { a.small href=(format!("/plan?from={}&to={live}", p.version)) { (t.diff_vs_live) } }
                                }
                            }
                        }
                    }
                }
            }
            section.panel {
                @match (q.from.and_then(|f| text_of(f).map(|x| (f, x))), q.to.and_then(|n| text_of(n).map(|x| (n, x)))) {
                    (Some((f, a)), Some((to, b))) => {
                        h2 { (t.diff_title(f, to)) }
                        @if a == b { p.muted { (t.no_change) } } @else { (diff_markup(a, b, "version-diff")) }
                    }
                    _ => {
                        h2 { (t.version_title(shown)) @if shown == live { " " span.badge-live { (t.live_badge) } } }
                        @match text_of(shown) {
                            Some(text) => pre.plan-text #plan-text { (text) }
                            None => p.error { (t.no_version(shown)) }
                        }
                    }
                }
            }
        }
    };
    page_response(layout(&v, Nav::Plan, t.plan, "/plan", body), started)
}

fn editor(v: &Viewer, text: &str) -> Markup {
    let t = v.t();
    html! {
        form #plan-editor method="post" action="/plan/validate" {
            textarea name="text" spellcheck="false" rows="32" aria-label=(t.plan) { (text) }
            div.actions { button type="submit" { (t.validate) } a href="/plan" { (t.cancel) } }
        }
    }
}

pub(super) async fn edit(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let v = match viewer(&state, &headers, "/plan/edit") {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let t = v.t();
    let text = read_live(&state).plan_text.clone();
    let body = html! {
        h1 { (t.edit_plan) }
        p.muted { (t.edit_hint) }
        (editor(&v, &text))
    };
    page_response(
        layout(&v, Nav::Plan, t.edit_plan, "/plan/edit", body),
        started,
    )
}

#[derive(Deserialize)]
pub(super) struct PlanForm {
    text: String,
}

fn summary(v: &Viewer, plan: &Plan) -> Markup {
    let t = v.t();
    let tiers: Vec<String> = plan
        .levels
        .iter()
        .map(|l| match l.min_score {
            Some(m) => format!("{} ≥ {}", l.name, num(v.lang, m, 0)),
            None => l.name.clone(),
        })
        .collect();
    html! {
        ul.summary {
            li { (t.n_signals(plan.signals.len())) }
            li { (t.n_fit_rules(plan.fit_rules.len())) }
            li { (t.n_sequences(plan.sequences.len())) }
            li { (t.tiers_list) ": " (tiers.join(" · ")) }
            li { (t.n_overrides(plan.overrides.len(), plan.disqualifiers.len())) }
            @if plan.model.is_some() { li { (t.has_model) } }
        }
    }
}

pub(super) async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<PlanForm>,
) -> Response {
    let started = Instant::now();
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    let v = match viewer(&state, &headers, "/plan/edit") {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let t = v.t();
    // Browsers send CRLF line ends from a textarea.
    let text = f.text.replace("\r\n", "\n");
    let live_text = read_live(&state).plan_text.clone();
    let parsed = Plan::parse(&text, "dashboard");
    let ok = parsed.is_ok();
    let body = html! {
        h1 { (t.validate_title) }
        @match &parsed {
            Err(e) => {
                div.error #plan-errors role="alert" {
                    p { strong { (t.plan_invalid(e.issues.len())) } }
                    ul {
                        @for i in &e.issues {
                            li data-line=(i.line) { (t.line_col(i.line, i.column)) ": " (i.message) }
                        }
                    }
                }
                (editor(&v, &text))
            }
            Ok(plan) => {
                div.notice #plan-valid {
                    p { strong { (t.plan_valid) } }
                    (summary(&v, plan))
                }
                h2 { (t.changes_vs_live) }
                @if text == live_text { p.muted { (t.no_change) } }
                @else { (diff_markup(&live_text, &text, "edit-diff")) }
                div.actions {
                    @if text != live_text {
                        form method="post" action="/plan/publish" {
                            input type="hidden" name="text" value=(text);
                            button.primary type="submit" { (t.publish) }
                        }
                    }
                }
                details {
                    summary { (t.edit_again) }
                    (editor(&v, &text))
                }
            }
        }
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        page_response(
            layout(&v, Nav::Plan, t.validate_title, "/plan/edit", body),
            started,
        ),
    )
        .into_response()
}

pub(super) async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<PlanForm>,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    let v = match viewer(&state, &headers, "/plan/edit") {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let text = f.text.replace("\r\n", "\n");
    let origin = format!("dashboard ({})", v.name);
    let st = state.clone();
    match tokio::task::spawn_blocking(move || crate::api::publish(&st, text, &origin)).await {
        Ok(Ok(version)) => Redirect::to(&format!("/plan?published={version}")).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}
