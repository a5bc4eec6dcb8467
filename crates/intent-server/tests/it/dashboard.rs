//! The web dashboard through the router: login and sessions, same-origin form posts, the live
//! queue with claim and complete from a card, a profile's story, the funnel and the plan editor,
//! in English and Polish.

use crate::harness::{App, Auth, Resp, showroom};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures_util::StreamExt;
use intent_store::{KeyKind, Keys};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(if out.is_empty() { "" } else { "&" });
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    out
}

/// Asserts that `html` contains each of `needles`.
#[track_caller]
fn has(html: &str, needles: &[&str]) {
    for n in needles {
        assert!(html.contains(n), "no `{n}` in:\n{html}");
    }
}

/// Asserts that `html` contains none of `needles`.
#[track_caller]
fn lacks(html: &str, needles: &[&str]) {
    for n in needles {
        assert!(!html.contains(n), "`{n}` in:\n{html}");
    }
}

/// Asserts a status; returns the body.
#[track_caller]
fn status(r: &Resp, code: u16) -> String {
    assert_eq!(r.status.as_u16(), code, "{}", r.text());
    r.text()
}

/// Asserts a 303 to `to`.
#[track_caller]
fn see_other(r: &Resp, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location"), Some(to));
}

/// The part of `html` from `start` to the first `end` after it.
#[track_caller]
fn part<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in:\n{html}"));
    let rest = &html[i..];
    &rest[..rest.find(end).map_or(rest.len(), |j| j + end.len())]
}

/// A tier's lane on the queue page.
#[track_caller]
fn lane<'h>(html: &'h str, tier: &str) -> &'h str {
    let open = format!("<section class=\"lane\" data-tier=\"{tier}\">");
    part(html, &open, "</section>")
}

/// A profile's card on the queue page, from its opening tag.
#[track_caller]
fn card<'h>(html: &'h str, profile: &str) -> &'h str {
    let id = format!("data-profile=\"{profile}\"");
    let at = html
        .find(&id)
        .unwrap_or_else(|| panic!("no {id} in:\n{html}"));
    let start = html[..at].rfind("<article").expect("<article");
    part(&html[start..], "<article", "</article>")
}

/// Asserts the `Server-Timing` a page sends.
#[track_caller]
fn rendered(r: &Resp) {
    let timing = r.header("server-timing").expect("Server-Timing");
    // The whole render first; the queue adds its parts (`board`, `cards`) after it.
    let first = timing.split(", ").next().unwrap_or_default();
    let ms = first.strip_prefix("render;dur=").map(str::parse::<f64>);
    assert!(matches!(ms, Some(Ok(ms)) if ms >= 0.0), "{timing}");
}

/// A lane's count.
#[track_caller]
fn count(lane: &str) -> &str {
    let c = part(lane, "<span class=\"count\">", "</span>");
    &c["<span class=\"count\">".len()..c.len() - "</span>".len()]
}

/// Whether the queue page shows a task on user:hot's card.
fn has_task(html: &str) -> bool {
    card(html, "user:hot").contains("data-task=")
}

/// A form's content type.
const FORM: &str = "application/x-www-form-urlencoded";

/// POSTs a login form.
async fn login(app: &App, body: &str, headers: &[(&str, &str)]) -> Resp {
    let mut h = vec![("content-type", FORM)];
    h.extend_from_slice(headers);
    app.send(Method::POST, "/login", &Auth::None, &h, body.to_string())
        .await
}

/// The `name=value` a response's `Set-Cookie` sets.
#[track_caller]
fn set_cookie(r: &Resp) -> String {
    let c = r.header("set-cookie").expect("a Set-Cookie header");
    c.split(';').next().unwrap_or_default().to_string()
}

/// A browser logged in to the dashboard: its cookies go with every request.
struct Session<'a> {
    app: &'a App,
    cookies: String,
}

impl<'a> Session<'a> {
    async fn new(app: &'a App) -> Session<'a> {
        let r = login(app, &form(&[("token", &app.admin)]), &[]).await;
        see_other(&r, "/queue");
        let cookies = set_cookie(&r);
        Session { app, cookies }
    }

    /// The same session with one more cookie.
    fn with(&self, cookie: &str) -> Session<'a> {
        let cookies = format!("{}; {cookie}", self.cookies);
        Session { cookies, ..*self }
    }

    /// Sends a form (or a GET) with the session's cookies.
    async fn send(&self, method: Method, path: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
        let mut h = vec![("cookie", self.cookies.as_str()), ("content-type", FORM)];
        h.extend_from_slice(headers);
        let body = body.to_string();
        self.app.send(method, path, &Auth::None, &h, body).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, "", &[]).await
    }

    async fn post_form(&self, path: &str, body: &str) -> Resp {
        self.send(Method::POST, path, body, &[]).await
    }

    /// GETs a page, expects 200 and returns its HTML.
    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text());
        r.text()
    }

    /// GETs a page until `done` holds for its HTML (the desk works after the ingest).
    async fn page_until(&self, path: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let html = self.page(path).await;
            if done(&html) {
                return html;
            }
            assert!(Instant::now() < deadline, "after 5 s:\n{html}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Sends one event and expects it accepted.
async fn send(app: &App, path: &str, body: Value) {
    let ack = app.ingest(path, &body).await.expect(200);
    assert_eq!(ack["success"], true, "{ack}");
}

/// A tap on "ask for a person" at a Warsaw kiosk: the `ask_person` override forces hot.
async fn ask_person(app: &App, user: &str) {
    let tap = json!({"userId": user, "event": "CTA Tapped",
        "properties": {"cta": "ask_person", "location": "warszawa"},
        "context": {"channel": "showroom"}});
    send(app, "/v1/track", tap).await;
}

/// Waits for the open task the desk makes for `profile`; returns its id.
async fn task_of(app: &App, profile: &str) -> i64 {
    let uri = format!("/v1/tasks?profile={profile}");
    let list = app.wait_for(&uri, |v| v["total"] == 1).await;
    list["tasks"][0]["id"].as_i64().expect("id")
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_without_a_session_send_to_the_login_page() {
    let app = App::start().await;
    for (page, next) in [
        ("/queue", "/queue"),
        ("/profiles/x", "/profiles/x"),
        ("/funnel", "/funnel%3Fby%3Dchannel"),
        ("/learnings", "/learnings"),
        ("/plan", "/plan"),
        ("/plan/edit", "/plan/edit"),
    ] {
        let r = app.get_as(page, &Auth::None).await;
        see_other(&r, &format!("/login?next={next}"));
    }
    // A made-up session id, or the admin token as a bearer token, is no session.
    let bogus = [("cookie", "intent_session=00ff")];
    let bearer = app.bearer();
    let r = app.send(Method::GET, "/queue", &bearer, &bogus, Body::empty());
    see_other(&r.await, "/login?next=/queue");
    for path in ["/queue/lanes", "/live"] {
        status(&app.get_as(path, &Auth::None).await, 401);
    }
    // The login page carries where to go next, only ever a local path.
    for (next, kept) in [("/profiles/x", "/profiles/x"), ("//evil.example", "/queue")] {
        let r = app
            .get_as(&format!("/login?next={next}"), &Auth::None)
            .await;
        let html = status(&r, 200);
        let form = r#"<form id="login" method="post" action="/login">"#;
        let next = format!(r#"name="next" value="{kept}""#);
        has(&html, &[form, &next]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_takes_only_an_admin_token_and_logout_ends_the_session() {
    let app = App::start().await;
    for token in ["ia_wrong", app.write.as_str()] {
        let r = login(&app, &form(&[("token", token), ("next", "/plan")]), &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(r.header("set-cookie"), None, "{token}");
        let error = r#"<p class="error" role="alert">That token is not a valid admin token.</p>"#;
        has(&r.text(), &[error, r#"name="next" value="/plan""#]);
    }

    let body = form(&[("token", &app.admin), ("next", "/profiles/user:x")]);
    let r = login(&app, &body, &[]).await;
    see_other(&r, "/profiles/user:x");
    let c = r.header("set-cookie").expect("a session cookie");
    let id = set_cookie(&r);
    let id = id.strip_prefix("intent_session=").expect(c);
    let hex = id.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(id.len() == 48 && hex, "{c}");
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(c.split("; ").any(|a| a == attr), "{attr}: {c}");
    }
    // Never to another site after login.
    for next in ["//evil.example", "http://evil.example", "/\\evil"] {
        let r = login(&app, &form(&[("token", &app.admin), ("next", next)]), &[]).await;
        see_other(&r, "/queue");
    }

    let (a, b) = (Session::new(&app).await, Session::new(&app).await);
    assert_ne!(a.cookies, b.cookies);
    let user = r#"<span class="user">admin</span>"#;
    has(&a.page("/queue").await, &[user]);
    let r = a.post_form("/logout", "").await;
    see_other(&r, "/login");
    let cleared = r.header("set-cookie").expect("the cookie is cleared");
    has(cleared, &["intent_session=;", "Max-Age=0"]);
    see_other(&a.get("/queue").await, "/login?next=/queue");
    assert_eq!(a.get("/queue/lanes").await.status, StatusCode::UNAUTHORIZED);
    // Logging out ends that session only.
    b.page("/queue").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_admin_token_ends_its_sessions() {
    let app = App::start().await;
    let s = Session::new(&app).await;
    s.page("/queue").await;
    let keys = app.store().keys().unwrap();
    let admin = keys.iter().find(|k| k.kind == KeyKind::Admin).unwrap();
    app.store().revoke_key(admin.id).unwrap();
    tokio::time::sleep(intent_server::auth::REFRESH + Duration::from_millis(200)).await;
    see_other(&s.get("/queue").await, "/login?next=/queue");
    assert_eq!(s.get("/live").await.status, StatusCode::UNAUTHORIZED);
    let r = login(&app, &form(&[("token", &app.admin)]), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn form_posts_from_another_origin_are_refused() {
    let app = App::start().await;
    let token = form(&[("token", &app.admin)]);
    let host = ("host", "intent.local:8080");
    let evil = [("origin", "http://evil.example"), host];
    let null = [("origin", "null"), host];
    for headers in [&evil, &null] {
        let r = login(&app, &token, headers).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(r.text(), "cross-origin form posts are refused\n");
        assert_eq!(r.header("set-cookie"), None);
    }
    let mine = [("origin", "http://intent.local:8080"), host];
    see_other(&login(&app, &token, &mine).await, "/queue");

    // With a session too: the task stays unclaimed, no plan is published, the session lives.
    ask_person(&app, "hot").await;
    let id = task_of(&app, "user:hot").await;
    let s = Session::new(&app).await;
    let claim = format!("/tasks/{id}/claim");
    let r = s.send(Method::POST, &claim, "next=/queue", &evil).await;
    status(&r, 403);
    let t = app.get(&format!("/v1/tasks/{id}")).await;
    assert_eq!(t["claimed_by"], Value::Null, "{t}");
    let text = form(&[("text", &showroom().replace("points: 25", "points: 26"))]);
    let r = s.send(Method::POST, "/plan/publish", &text, &evil).await;
    assert_eq!((r.status.as_u16(), r.header("location")), (403, None));
    status(&s.send(Method::POST, "/logout", "", &evil).await, 403);
    let plans = app.get("/v1/plans").await;
    assert_eq!(plans["versions"].as_array().unwrap().len(), 1, "{plans}");
    s.page("/queue").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_has_a_lane_per_tier_with_the_person_who_asked_on_top() {
    let app = App::start().await;
    ask_person(&app, "hot").await;
    let contact = json!({"userId": "warm", "event": "Form Submitted",
        "properties": {"form": "contact"}});
    send(&app, "/v1/track", contact).await;
    for anon in ["c1", "c2"] {
        let page = json!({"anonymousId": anon, "name": "City car",
            "properties": {"category": "model"}});
        send(&app, "/v1/page", page).await;
    }
    let s = Session::new(&app).await;
    // After the start the desk looks at everyone once; the page says so until it is done.
    s.page_until("/queue", |h| !h.contains(r#"id="settling""#))
        .await;
    // The lanes are the follow-up desk's view: it looks at each profile just after scoring.
    let counted = |h: &str| count(lane(h, "hot")) == "1" && count(lane(h, "warm")) == "1";
    s.page_until("/queue", counted).await;
    let r = s.get("/queue").await;
    let html = status(&r, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    rendered(&r);
    has(&html, &[r#"<html lang="en">"#, "<h1>Who to call now</h1>"]);
    let at = |tier: &str| html.find(&format!(r#"<section class="lane" data-tier="{tier}">"#));
    let (hot, warm, cold) = (at("hot"), at("warm"), at("cold"));
    let ordered = hot.is_some() && hot < warm && warm < cold;
    assert!(ordered, "{html}");

    let (hot, warm, cold) = (lane(&html, "hot"), lane(&html, "warm"), lane(&html, "cold"));
    assert_eq!((count(hot), count(warm), count(cold)), ("1", "1", "2"));
    let badge = r#"<div class="badge-override" title="Asked for a person at the kiosk">⚑ Asked for a person</div>"#;
    let location = r#"<span class="location">warszawa</span>"#;
    has(card(hot, "user:hot"), &[badge, location]);
    let w = card(warm, "user:warm");
    has(w, &["<li>Sent a contact or test-drive form</li>"]);
    lacks(w, &["badge-override"]);
    for anon in ["anon:c1", "anon:c2"] {
        let anonymous = r#"<span class="anon">Anonymous </span>"#;
        has(card(cold, anon), &[anonymous]);
    }
    lacks(hot, &["user:warm"]);
    lacks(warm, &["user:hot"]);
    lacks(cold, &["user:"]);

    // The desk opens a task for the hot profile after the ingest is answered.
    let html = s.page_until("/queue", has_task).await;
    let owner = r#"<span class="owner">anna.kowalska</span>"#;
    let playbook = r#"<span class="playbook">ask_person</span>"#;
    let (claim, complete) = (r#"data-action="claim""#, r#"data-action="complete""#);
    let c = card(&html, "user:hot");
    has(c, &[owner, playbook, claim, complete]);

    // The lanes alone, and filtered by location (the warm profile has none).
    let r = s.get("/queue/lanes").await;
    rendered(&r);
    let lanes = status(&r, 200);
    assert!(lanes.starts_with(r#"<div id="lanes""#), "{lanes}");
    lacks(&lanes, &["<html"]);
    assert_eq!(count(lane(&lanes, "cold")), "2");
    let html = s.page("/queue?location=warszawa").await;
    let (hot, warm) = (lane(&html, "hot"), lane(&html, "warm"));
    assert_eq!((count(hot), count(warm)), ("1", "0"));
    has(warm, &["Nobody here right now."]);
    let option = r#"<option value="warszawa" selected>warszawa</option>"#;
    has(&html, &[option]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_escalated_card_has_one_class_attribute() {
    let app = App::start().await;
    ask_person(&app, "hot").await;
    let s = Session::new(&app).await;
    let html = s
        .page_until("/queue", |h| h.contains(r#"data-profile="user:hot""#))
        .await;
    let c = card(&html, "user:hot");
    let tag = &c[..c.find('>').unwrap()];
    // Browsers keep the first of two `class` attributes: `escalated` would be lost.
    assert_eq!(tag.matches("class=").count(), 1, "{tag}");
    has(tag, &["escalated"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_is_claimed_and_completed_from_its_card() {
    let app = App::start().await;
    ask_person(&app, "hot").await;
    let id = task_of(&app, "user:hot").await;
    let s = Session::new(&app).await;
    let html = s.page_until("/queue", has_task).await;
    let claim = format!("/tasks/{id}/claim");
    let complete = format!("/tasks/{id}/complete");
    let data = format!(r#"data-task="{id}""#);
    let action = format!(r#"action="{claim}""#);
    has(card(&html, "user:hot"), &[&data, &action]);
    let task = format!("/v1/tasks/{id}");
    let state = |t: &Value, k: &str| (t["status"].clone(), t[k].clone());

    // No session: to the login page, nothing done.
    let h = [("content-type", FORM)];
    let r = app.send(Method::POST, &claim, &Auth::None, &h, "next=/queue");
    see_other(&r.await, "/login?next=/queue");
    // An unknown result is refused before anything happens.
    let r = s.post_form(&complete, "next=/queue&result=maybe").await;
    assert_eq!(status(&r, 400), "no result `maybe`\n");
    let t = app.get(&task).await;
    assert_eq!(state(&t, "claimed_by"), (json!("open"), Value::Null), "{t}");

    see_other(&s.post_form(&claim, "next=/queue").await, "/queue");
    let t = app.get(&task).await;
    let claimed = (json!("open"), json!("admin"));
    assert_eq!(state(&t, "claimed_by"), claimed, "{t}");
    let html = s.page("/queue").await;
    let c = card(&html, "user:hot");
    has(c, &[r#"<span class="owner">admin</span>"#]);
    lacks(c, &[r#"data-action="claim""#]);

    let body = form(&[("next", "/queue"), ("result", "appointment_set")]);
    see_other(&s.post_form(&complete, &body).await, "/queue");
    let t = app.get(&task).await;
    let done = (json!("done"), json!("appointment_set"));
    assert_eq!(state(&t, "result"), done, "{t}");
    assert_eq!(t["claimed_by"], "admin");
    status(&s.post_form("/tasks/999/claim", "next=/queue").await, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_sends_a_change_event_naming_the_profile_when_a_tier_changes() {
    let app = App::start().await;
    let s = Session::new(&app).await;
    let req = Request::get("/live").header("cookie", &s.cookies);
    let req = req.body(Body::empty()).unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let mut stream = res.into_body().into_data_stream();

    ask_person(&app, "sse").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut heard = String::new();
    let event = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(frame) = tokio::time::timeout(left, stream.next()).await else {
            panic!("no tier.changed within 5 s; heard:\n{heard}");
        };
        let frame = frame.expect("open").expect("a frame");
        heard.push_str(&String::from_utf8_lossy(&frame));
        let mut events = heard.split("\n\n");
        if let Some(e) = events.find(|e| e.contains(r#""kind":"tier.changed""#)) {
            break e.to_string();
        }
    };
    assert!(event.starts_with("event: change\ndata: {"), "{heard}");
    has(&event, &[r#""tier":"hot""#, r#""profile":"user:sse""#]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_page_tells_the_story_and_escapes_what_people_typed() {
    let app = App::start().await;
    let m1 = json!({"userId": "ann", "messageId": "m1",
        "traits": {"firstName": "<script>alert(1)</script>", "lastName": "Nowak"}});
    let m2 = json!({"userId": "ann", "messageId": "m2", "name": "SUV",
        "properties": {"category": "model", "model": "<img src=x onerror=alert(2)>"}});
    let m3 = json!({"userId": "ann", "messageId": "m3", "event": "Offer Downloaded"});
    let m4 = json!({"userId": "ann", "messageId": "m4", "event": "CTA Tapped",
        "properties": {"cta": "ask_person"}});
    send(&app, "/v1/identify", m1).await;
    send(&app, "/v1/page", m2).await;
    send(&app, "/v1/track", m3).await;
    send(&app, "/v1/track", m4).await;
    let id = task_of(&app, "user:ann").await;
    let s = Session::new(&app).await;
    let html = s.page("/profiles/ann").await;
    let name = "&lt;script&gt;alert(1)&lt;/script&gt; Nowak";
    let h1 = format!("<h1>{name}</h1>");
    let title = format!("<title>{name} · Intent Engine</title>");
    let model = "&lt;img src=x onerror=alert(2)&gt;";
    let badge = r#"<p class="badge-override">⚑ Asked for a person at the kiosk</p>"#;
    has(&html, &[&h1, &title, model, badge]);
    lacks(&html, &["<script>alert(1)", "<img src=x"]);
    has(part(&html, "<svg", "</svg>"), &[r#"id="score-chart""#]);
    let timeline = part(&html, r#"<table id="timeline">"#, "</table>");
    assert_eq!(timeline.matches("data-event=").count(), 4, "{timeline}");
    for m in ["m1", "m2", "m3", "m4"] {
        has(timeline, &[&format!(r#"data-event="{m}""#)]);
    }
    has(part(timeline, r#"data-event="m3""#, "</tr>"), &["+15.0"]);
    let tasks = part(&html, r#"id="tasks""#, "</section>");
    let row = format!(r#"data-task="{id}" data-status="open""#);
    has(tasks, &[&row, "<strong>ask_person</strong>"]);
    // The queue card escapes the name too.
    let queue = s.page("/queue").await;
    has(card(&queue, "user:ann"), &[name]);
    lacks(&queue, &["<script>alert"]);

    let html = status(&s.get("/profiles/nobody").await, 404);
    let code = "<code>/profiles/nobody</code>";
    has(&html, &["<h1>No such profile</h1>", code]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_speaks_polish_when_asked() {
    let app = App::start().await;
    ask_person(&app, "hot").await;
    task_of(&app, "user:hot").await;
    let s = Session::new(&app).await;
    // The language switch sets a cookie and goes back.
    let r = s.get("/lang/pl?next=/queue").await;
    see_other(&r, "/queue");
    let lang = set_cookie(&r);
    assert_eq!(lang, "intent_lang=pl");
    let pl = s.with(&lang);
    let nav = [">Kolejka</a>", ">Lejek</a>", ">Wnioski</a>"];
    let html = pl.page("/queue").await;
    has(&html, &nav);
    let (pl_html, title) = (r#"<html lang="pl">"#, "Do kogo dzwonić teraz");
    has(&html, &[pl_html, title, "Prosi o doradcę"]);
    // The browser's language without a cookie; the cookie wins over it.
    let browser = [("accept-language", "pl-PL,pl;q=0.9,en;q=0.8")];
    let r = s.send(Method::GET, "/queue", "", &browser).await;
    has(&r.text(), &[pl_html, title]);
    let en = s.with("intent_lang=en");
    let r = en.send(Method::GET, "/queue", "", &browser).await;
    has(&r.text(), &[r#"<html lang="en">"#, "Who to call now"]);

    let pages = "/queue /profiles/hot /funnel?by=channel /funnel?by=location /funnel?by=source \
        /funnel?by=week /funnel?by=channel&days=7 /learnings /plan /plan?from=1&to=1 /plan/edit";
    for (session, code, queue, other) in [
        (&en, "en", "Queue", "Kolejka"),
        (&pl, "pl", "Kolejka", "Queue"),
    ] {
        for path in pages.split_whitespace() {
            let html = session.page(path).await;
            let nav = format!(">{queue}</a><a href=\"/funnel\"");
            has(&html, &[&format!(r#"<html lang="{code}">"#), &nav]);
            lacks(&html, &[&format!(">{other}</a>")]);
        }
        let lanes = session.page("/queue/lanes").await;
        has(&lanes, &[r#"data-profile="user:hot""#]);
    }
    // No analyst in this service: the Learnings page says so, with no button to run it.
    for (session, text) in [
        (&en, "This server has no analyst configured."),
        (&pl, "Ten serwer nie ma skonfigurowanej analizy."),
    ] {
        let html = session.page("/learnings").await;
        has(&html, &[text]);
        lacks(&html, &["/learnings/run"]);
    }
    let cookie = [("cookie", "intent_lang=pl")];
    let r = app.send(Method::GET, "/login", &Auth::None, &cookie, Body::empty());
    has(&r.await.text(), &[pl_html, "Zaloguj się"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_is_validated_with_its_errors_and_diff_then_published() {
    let app = App::start().await;
    let s = Session::new(&app).await;
    let html = s.page("/plan").await;
    let v1 = part(&html, r#"<tr data-version="1""#, "</tr>");
    let live_badge = r#"<span class="badge-live">live</span>"#;
    has(v1, &[r#"class="selected""#, live_badge]);
    assert_eq!(html.matches("<tr data-version=").count(), 1, "{html}");
    let edit = s.page("/plan/edit").await;
    has(&edit, &["min_score: 60", r#"action="/plan/validate""#]);

    let live = showroom();
    let broken = live.replace("min_score: 60", "min_score: sixty");
    assert_ne!(broken, live);
    let line = broken.lines().position(|l| l.contains("sixty")).unwrap() + 1;
    let validate = async |text: &str| {
        let body = form(&[("text", text)]);
        s.post_form("/plan/validate", &body).await
    };
    let html = status(&validate(&broken).await, 422);
    let item = format!(r#"<li data-line="{line}">"#);
    has(part(&html, r#"id="plan-errors""#, "</div>"), &[&item]);
    lacks(&html, &[r#"action="/plan/publish""#]);

    // A signal worth 26 instead of 25, sent with a browser's CRLF line ends: valid, one line
    // changed.
    let changed = live.replace("    points: 25\n", "    points: 26\n");
    assert_ne!(changed, live);
    let crlf = changed.replace('\n', "\r\n");
    let html = status(&validate(&crlf).await, 200);
    let publish = r#"action="/plan/publish""#;
    let valid = r#"id="plan-valid""#;
    has(&html, &[valid, "The plan is valid.", publish]);
    let diff = part(&html, r#"<pre class="diff" id="edit-diff">"#, "</pre>");
    let del = "<span class=\"del\">-    points: 25\n</span>";
    has(diff, &[del, "<span class=\"add\">+    points: 26\n</span>"]);
    let changed_lines =
        diff.matches("class=\"add\"").count() + diff.matches("class=\"del\"").count();
    assert_eq!(changed_lines, 2, "{diff}");

    let body = form(&[("text", &changed)]);
    see_other(
        &s.post_form("/plan/publish", &body).await,
        "/plan?published=2",
    );
    let done = |p: &Value| p["live"] == 2 && p["rescoring"].is_null();
    let plans = app.wait_for("/v1/plans", done).await;
    assert_eq!(plans["versions"].as_array().unwrap().len(), 2, "{plans}");
    assert_eq!(app.get("/v1/plans/live").await["text"], changed);
    let html = s.page("/plan?published=2").await;
    has(&html, &[r#"id="published""#]);
    let (v1, v2) = (r#"<tr data-version="1""#, r#"<tr data-version="2""#);
    let row2 = part(&html, v2, "</tr>");
    has(row2, &["badge-live", "dashboard (admin)"]);
    has(part(&html, v1, "</tr>"), &["/plan?from=1&amp;to=2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_funnel_counts_engaged_profiles_per_channel() {
    let app = App::start().await;
    for (who, channel) in [("w1", "web"), ("w2", "web"), ("e1", "email")] {
        let page = json!({"anonymousId": who, "name": "SUV", "properties": {"category": "model"},
            "context": {"channel": channel}});
        send(&app, "/v1/page", page).await;
    }
    ask_person(&app, "k1").await;
    // Not engaged: no signal, never identified.
    let idle = json!({"anonymousId": "idle", "name": "Home", "properties": {"category": "home"}});
    send(&app, "/v1/page", idle).await;
    let s = Session::new(&app).await;
    let html = s.page("/funnel?by=channel").await;
    let profiles = |row: &str| part(row, r#"<td class="num">"#, "</td>").to_string();
    let overall = part(&html, r#"id="funnel-overall""#, "</section>");
    let engaged = part(overall, r#"<tr data-stage="engaged">"#, "</tr>");
    assert_eq!(profiles(engaged), r#"<td class="num">4</td>"#, "{engaged}");
    let cta = part(overall, r#"<tr data-stage="cta">"#, "</tr>");
    assert_eq!(profiles(cta), r#"<td class="num">1</td>"#, "{cta}");
    let split = part(&html, r#"id="funnel-split""#, "</section>");
    assert_eq!(split.matches("data-segment=").count(), 3, "{split}");
    for (channel, n) in [("web", 2), ("email", 1), ("showroom", 1)] {
        let row = part(split, &format!(r#"<tr data-segment="{channel}">"#), "</tr>");
        let want = format!(r#"<td class="num">{n}</td>"#);
        assert_eq!(profiles(row), want, "{channel}: {row}");
    }
    let (web, email) = (split.find(r#""web""#), split.find(r#""email""#));
    assert!(web < email, "largest first: {split}");
    let by = s.page("/funnel?by=location").await;
    let split = part(&by, r#"id="funnel-split""#, "</section>");
    has(split, &[r#"<tr data-segment="warszawa">"#]);
}
