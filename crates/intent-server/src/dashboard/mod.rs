//! The web dashboard at `/`: the sales queue (live), a profile's story, the funnel, the
//! learnings and the plan, in English and Polish.
//!
//! Pages are rendered on the server ([maud] templates) from the same live state and store the
//! JSON API reads; charts are inline SVG drawn here ([`chart`]), so the dashboard needs no CDN,
//! web font or build step and works offline on a showroom network. One small script
//! (`assets/app.js`) keeps the queue live: it listens to `/live` (server-sent events, sent after
//! the follow-up desk made a change durable), fetches the lanes again and counts SLA time down.
//!
//! Access is by admin token: `/login` checks it and keeps it in a server-side session (an
//! `HttpOnly`, `SameSite=Strict` cookie holds only a random session id). Form posts must come
//! from the dashboard's own origin. Every page sends `Server-Timing` with its render time.
//!
//! # Layout
//! - [`i18n`]: the two languages and every fixed text in them.
//! - [`chart`]: SVG charts (score over time with tier bands, bars).
//! - `queue`, `profile`, `funnel`, `learnings`, `plan`: one module per page.

pub mod chart;
mod funnel;
pub mod i18n;
mod learnings;
mod plan;
mod profile;
mod queue;

use crate::AppState;
use crate::auth::Caller;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
pub use i18n::{Lang, Words, words};
use intent_core::time::Ts;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a dashboard session lasts without being used.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// The session cookie.
const SESSION_COOKIE: &str = "intent_session";
/// The language cookie.
const LANG_COOKIE: &str = "intent_lang";

/// What the Learnings page asks of the analyst.
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    /// The live plan's text (the analysis scores history with it).
    pub plan_text: String,
    /// Its version.
    pub plan_version: i64,
    /// The moment the analysis is for.
    pub now: Ts,
    /// Follow-up SLA compliance by tier and owner, from the live desk (tasks live in the
    /// server, not in the event log).
    pub sla: Vec<intent_learn::html::SlaRow>,
}

/// What an analysis found: the review (in both languages: the figures are computed once) and
/// the plan the learner would recommend.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The review in English.
    pub en: intent_learn::html::Review,
    /// The same review in Polish.
    pub pl: intent_learn::html::Review,
    /// The recommended plan's text (the live plan with learned points and a model), when the
    /// history held enough outcomes to learn from.
    pub recommended: Option<String>,
    /// Events read.
    pub events: u64,
    /// Profiles scored.
    pub profiles: u64,
}

/// Runs the learning analysis over the store's history (given by the composition root).
pub type Analyst = Arc<dyn Fn(&AnalysisRequest) -> Result<Analysis, String> + Send + Sync>;

/// A finished analysis.
#[derive(Clone)]
pub struct Finished {
    /// When it finished.
    pub at: Ts,
    /// The plan version it analysed.
    pub plan_version: i64,
    /// How long it took.
    pub seconds: f64,
    /// What it found, or why it failed.
    pub result: Result<Arc<Analysis>, String>,
}

/// The analysis runs: at most one at a time, the last one kept.
#[derive(Default)]
pub struct Runs {
    /// Since when one has been running.
    pub running: Option<Ts>,
    /// The last one that finished.
    pub last: Option<Finished>,
}

struct Session {
    secret: String,
    used: Instant,
}

/// The dashboard's state: sessions and the latest analysis.
pub struct Dashboard {
    sessions: Mutex<HashMap<String, Session>>,
    analyst: Option<Analyst>,
    runs: Mutex<Runs>,
}

impl Dashboard {
    /// A dashboard with no sessions yet.
    pub fn new(analyst: Option<Analyst>) -> Self {
        Dashboard {
            sessions: Mutex::new(HashMap::new()),
            analyst,
            runs: Mutex::new(Runs::default()),
        }
    }
}

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/queue", get(queue::page))
        .route("/queue/lanes", get(queue::lanes))
        .route("/live", get(queue::live))
        .route("/tasks/{id}/claim", post(queue::claim))
        .route("/tasks/{id}/complete", post(queue::complete))
        .route("/profiles/{id}", get(profile::page))
        .route("/funnel", get(funnel::page))
        .route("/learnings", get(learnings::page))
        .route("/learnings/run", post(learnings::run))
        .route("/plan", get(plan::page))
        .route("/plan/edit", get(plan::edit))
        .route("/plan/validate", post(plan::validate))
        .route("/plan/publish", post(plan::publish))
}

/// Who is looking, in which language.
pub(crate) struct Viewer {
    /// The admin token's name.
    pub name: String,
    /// The language.
    pub lang: Lang,
}

impl Viewer {
    /// The fixed texts in the viewer's language.
    pub fn t(&self) -> &'static Words {
        i18n::words(self.lang)
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language: the cookie, else the browser's first choice between Polish and English.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        let code = part.split(';').next().unwrap_or("").trim();
        let primary = code.split('-').next().unwrap_or("").to_ascii_lowercase();
        if let Some(l) = Lang::parse(&primary) {
            return l;
        }
    }
    Lang::En
}

/// Why a request was turned away.
pub(crate) enum Denied {
    /// No session (or an ended one): to the login page, then back to this path.
    Login(String),
    /// A form post from another origin.
    CrossOrigin,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Login(here) => {
                Redirect::to(&format!("/login?next={}", urlencode(&here))).into_response()
            }
            Denied::CrossOrigin => (
                StatusCode::FORBIDDEN,
                "cross-origin form posts are refused\n",
            )
                .into_response(),
        }
    }
}

/// The viewer of a page, or the way to the login page.
pub(crate) fn viewer(state: &AppState, headers: &HeaderMap, here: &str) -> Result<Viewer, Denied> {
    let lang = lang_of(headers);
    let to_login = || Denied::Login(here.to_string());
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login());
    };
    let secret = {
        let mut sessions = state.dashboard.sessions.lock().expect("sessions");
        match sessions.get_mut(id) {
            Some(s) if s.used.elapsed() < SESSION_IDLE => {
                s.used = Instant::now();
                s.secret.clone()
            }
            Some(_) => {
                sessions.remove(id);
                return Err(to_login());
            }
            None => return Err(to_login()),
        }
    };
    // A revoked token ends its sessions too.
    match state.keys.admin_secret(&secret) {
        Ok(Caller { name, .. }) => Ok(Viewer { name, lang }),
        Err(_) => {
            state
                .dashboard
                .sessions
                .lock()
                .expect("sessions")
                .remove(id);
            Err(to_login())
        }
    }
}

/// Whether the session in the request's cookie is still good (for a live stream, which checks
/// again at every event: a logout or a revoked token ends it).
pub(crate) fn session_alive(state: &AppState, id: &str) -> bool {
    let secret = {
        let sessions = state.dashboard.sessions.lock().expect("sessions");
        match sessions.get(id) {
            Some(s) if s.used.elapsed() < SESSION_IDLE => s.secret.clone(),
            _ => return false,
        }
    };
    state.keys.admin_secret(&secret).is_ok()
}

/// The session id of a request.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).map(str::to_string)
}

/// A form post from another origin is refused (the session cookie is `SameSite=Strict` too).
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), Denied> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let host = header_text("host");
    // Behind a reverse proxy the browser's host arrives as `X-Forwarded-Host`.
    let forwarded = header_text("x-forwarded-host");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    let ours = origin_host == host || (!forwarded.is_empty() && origin_host == forwarded);
    if origin == "null" || !ours {
        return Err(Denied::CrossOrigin);
    }
    Ok(())
}

/// Percent-encodes a path for a query value.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A local path to go back to (never another site).
fn local(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and line breaks from a URL (`/\t/evil` is `//evil`): a path
        // with any control or space character is not followed.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.into()
        }
        _ => "/queue".into(),
    }
}

/// A page with its render time in `Server-Timing`.
pub(crate) fn page_response(markup: Markup, started: Instant) -> Response {
    timed_response(markup, started, &[])
}

/// A page with its render time and the time of its named parts in `Server-Timing`.
pub(crate) fn timed_response(markup: Markup, started: Instant, parts: &[(&str, f64)]) -> Response {
    let mut res = markup.into_response();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut timing = format!("render;dur={ms:.1}");
    for (name, ms) in parts {
        timing.push_str(&format!(", {name};dur={ms:.1}"));
    }
    if let Ok(v) = HeaderValue::from_str(&timing) {
        res.headers_mut().insert("server-timing", v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Which page of the navigation is open.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Queue,
    Profile,
    Funnel,
    Learnings,
    Plan,
}

impl Nav {
    fn id(self) -> &'static str {
        match self {
            Nav::Queue => "queue",
            Nav::Profile => "profile",
            Nav::Funnel => "funnel",
            Nav::Learnings => "learnings",
            Nav::Plan => "plan",
        }
    }
}

/// The page around a page's content: the top bar with navigation, language switch and logout.
pub(crate) fn layout(v: &Viewer, nav: Nav, title: &str, here: &str, body: Markup) -> Markup {
    let t = v.t();
    let next = urlencode(here);
    let links = [
        (Nav::Queue, "/queue", t.queue),
        (Nav::Funnel, "/funnel", t.funnel),
        (Nav::Learnings, "/learnings", t.learnings),
        (Nav::Plan, "/plan", t.plan),
    ];
    html! {
        (DOCTYPE)
        html lang=(v.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Intent Engine" }
                link rel="stylesheet" href=(format!("/assets/app.css?v={}", asset_version()));
                script src=(format!("/assets/app.js?v={}", asset_version())) defer {}
            }
            body data-page=(nav.id()) {
                header.top {
                    a.brand href="/queue" { "Intent" }
                    nav {
                        @for (n, href, label) in links {
                            a href=(href) data-page=(n.id()) class=[(n == nav).then_some("active")] { (label) }
                        }
                    }
                    div.right {
                        @if nav == Nav::Queue {
                            span #live data-state="connecting" title=(t.live_title) { (t.live) }
                        }
                        span.langs {
                            a data-lang="en" href=(format!("/lang/en?next={next}"))
                                class=[(v.lang == Lang::En).then_some("active")] { "EN" }
                            a data-lang="pl" href=(format!("/lang/pl?next={next}"))
                                class=[(v.lang == Lang::Pl).then_some("active")] { "PL" }
                        }
                        span.user { (v.name) }
                        form.logout method="post" action="/logout" {
                            button type="submit" { (t.log_out) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// A short hash of the assets, so a new build is never served from a stale cache.
fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let h = intent_core::score::text_hash(&format!("{CSS}{JS}"));
        format!("{:08x}", h as u32)
    })
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_markup(lang: Lang, next: &str, error: Option<&str>) -> Markup {
    let t = i18n::words(lang);
    let other = match lang {
        Lang::En => ("pl", "Polski"),
        Lang::Pl => ("en", "English"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t.log_in) " · Intent Engine" }
                link rel="stylesheet" href=(format!("/assets/app.css?v={}", asset_version()));
            }
            body.login {
                form #login method="post" action="/login" {
                    h1 { "Intent Engine" }
                    p.muted { (t.login_hint) }
                    @if let Some(e) = error {
                        p.error role="alert" { (e) }
                    }
                    label for="token" { (t.admin_token) }
                    input #token type="password" name="token" autocomplete="current-password"
                        placeholder="ia_…" required autofocus;
                    input type="hidden" name="next" value=(next);
                    button type="submit" { (t.log_in) }
                    p.muted.small {
                        a data-lang=(other.0) href=(format!("/lang/{}?next={}", other.0, urlencode(&format!("/login?next={}", urlencode(next))))) { (other.1) }
                    }
                }
            }
        }
    }
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = local(q.next.as_deref());
    login_markup(lang_of(&headers), &next, None).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    let lang = lang_of(&headers);
    let next = local(f.next.as_deref());
    let secret = f.token.trim().to_string();
    if state.keys.admin_secret(&secret).is_err() {
        let page = login_markup(lang, &next, Some(i18n::words(lang).login_failed));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    {
        let mut sessions = state.dashboard.sessions.lock().expect("sessions");
        sessions.retain(|_, s| s.used.elapsed() < SESSION_IDLE);
        sessions.insert(
            id.clone(),
            Session {
                secret,
                used: Instant::now(),
            },
        );
    }
    // No Max-Age: the server ends a session after SESSION_IDLE without use, however long it
    // has been in use; the browser forgets it when it closes.
    let cookie = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict");
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, next)],
    )
        .into_response()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = same_origin(&headers) {
        return r.into_response();
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state
            .dashboard
            .sessions
            .lock()
            .expect("sessions")
            .remove(id);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

async fn set_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let next = local(q.next.as_deref());
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                    lang.code()
                ),
            ),
            (header::LOCATION, next),
        ],
    )
        .into_response()
}

/// Formats a number for people: grouped thousands, the language's decimal mark.
pub(crate) fn num(lang: Lang, x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    // Halves round away from zero (14.5 % shows as 15 %, not 14 %).
    let scale = 10f64.powi(decimals as i32);
    let s = format!("{:.*}", decimals, (x.abs() * scale).round() / scale);
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let (sep, dec) = match lang {
        Lang::En => (",", "."),
        Lang::Pl => ("\u{a0}", ","),
    };
    let mut grouped = String::new();
    let digits: Vec<char> = int.chars().collect();
    for (i, c) in digits.iter().enumerate() {
        // Polish groups only from five digits up (1000, but 12 345).
        let group = digits.len() > if lang == Lang::Pl { 4 } else { 3 };
        if i > 0 && (digits.len() - i) % 3 == 0 && group {
            grouped.push_str(sep);
        }
        grouped.push(*c);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}{dec}{frac}")
    }
}

/// A share as a percentage.
pub(crate) fn pct(lang: Lang, x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let d = if x > 0.0 && x < 0.1 { 1 } else { 0 };
    match lang {
        Lang::En => format!("{}%", num(lang, x * 100.0, d)),
        Lang::Pl => format!("{}\u{a0}%", num(lang, x * 100.0, d)),
    }
}

/// A moment as `2026-11-27 14:05` (UTC), for tables.
pub(crate) fn when(ts: Ts) -> String {
    let s = intent_core::time::format_timestamp(ts);
    s.get(..16).unwrap_or(&s).replace('T', " ")
}

/// Raw, already-escaped markup (SVG the chart module built).
pub(crate) fn raw(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well_in_both_languages() {
        assert_eq!(num(Lang::En, 1234567.891, 1), "1,234,567.9");
        assert_eq!(num(Lang::Pl, 1234567.891, 1), "1\u{a0}234\u{a0}567,9");
        assert_eq!(num(Lang::Pl, 1234.0, 0), "1234");
        assert_eq!(num(Lang::En, -3.0, 0), "−3");
        assert_eq!(num(Lang::En, -0.0001, 1), "0.0");
        assert_eq!(pct(Lang::Pl, 0.045), "4,5\u{a0}%");
        assert_eq!(pct(Lang::Pl, 0.126), "13\u{a0}%");
        assert_eq!(num(Lang::En, 2.5, 0), "3");
        assert_eq!(pct(Lang::En, f64::NAN), "—");
        assert_eq!(pct(Lang::En, 0.5), "50%");
        assert_eq!(num(Lang::En, f64::NAN, 1), "n/a");
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local(Some("/profiles/user:1")), "/profiles/user:1");
        assert_eq!(local(Some("//evil.example")), "/queue");
        assert_eq!(local(Some("https://evil.example")), "/queue");
        assert_eq!(local(None), "/queue");
        assert_eq!(local(Some("/\t/evil.example")), "/queue");
        assert_eq!(local(Some("/\n/evil.example")), "/queue");
        assert_eq!(local(Some("/\\evil.example")), "/queue");
    }

    #[test]
    fn the_browser_language_is_the_default() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("pl-PL,pl;q=0.9,en;q=0.8"),
        );
        assert_eq!(lang_of(&h), Lang::Pl);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; intent_lang=en"),
        );
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(lang_of(&HeaderMap::new()), Lang::En);
    }
}
