//! Outcomes through the router: recording them (durable, in the timeline, refusals naming the
//! field), the funnel report over a hand-made history, an appointment set on a task counting as
//! one, and a plan model's predictions in the profile and queue answers.

use crate::harness::{App, Auth, now, showroom};
use crate::openapi::{check_answer, doc};
use intent_core::time::{DAY, HOUR, MINUTE, Ts, format_timestamp, parse_timestamp};
use serde_json::{Value, json};

/// Checks an answer of `GET template` against the OpenAPI document.
#[track_caller]
fn documented(template: &str, method: &str, uri: &str, r: &crate::harness::Resp) {
    let doc = doc();
    check_answer(&doc, &doc["paths"][template][method], uri, r);
}

async fn record(app: &App, body: Value) -> Value {
    let r = app.post("/v1/outcomes", &app.bearer(), &body).await;
    documented("/v1/outcomes", "post", "/v1/outcomes", &r);
    r.expect(200)
}

fn at(ts: Ts) -> String {
    format_timestamp(ts)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_is_stored_scored_as_nothing_and_shown_in_the_timeline() {
    let app = App::start().await;
    let t = now() - 2 * DAY;
    let ack = record(
        &app,
        json!({"userId": "u1", "outcome": "sale", "value": 154900, "currency": "pln",
               "status": "won", "timestamp": at(t), "messageId": "crm-deal-1"}),
    )
    .await;
    assert_eq!(ack["success"], true, "{ack}");
    assert_eq!(ack["messageId"], "crm-deal-1");
    assert_eq!(ack["profile"], "user:u1");
    assert_eq!(ack["outcome"], "sale");
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ms(&ack["timestamp"]), t);

    // Acknowledged means on disk: the store's log has it, as the ingest path writes it.
    let stored = app.get("/v1/messages/crm-deal-1").await;
    let m = &stored["message"];
    assert_eq!(m["type"], "track", "{stored}");
    assert_eq!(m["event"], "Outcome Recorded");
    assert_eq!(m["userId"], "u1");
    assert_eq!(
        m["context"]["source"], "admin",
        "the admin token's name: {m}"
    );
    assert!(m["receivedAt"].is_string(), "{m}");
    assert_eq!(
        m["properties"],
        json!({"outcome": "sale", "value": 154900.0, "currency": "PLN", "status": "won",
               "source": "api"})
    );

    // ... and applied: the timeline shows it, and it adds no points.
    let events = app.get("/v1/profiles/u1/events").await;
    assert_eq!(events["total"], 1, "{events}");
    assert_eq!(events["items"][0]["name"], "Outcome Recorded");
    assert_eq!(events["items"][0]["properties"]["outcome"], "sale");
    let p = app.get("/v1/profiles/u1").await;
    assert_eq!(p["score"], 0.0, "{p}");
    assert_eq!(p["explanation"], json!([]), "{p}");
    // The showroom plan has no model: no prediction.
    assert_eq!(p["prediction"], Value::Null, "{p}");

    // A retry with the same message id is acknowledged and stored once.
    let again = record(
        &app,
        json!({"userId": "u1", "outcome": "sale", "value": 154900, "messageId": "crm-deal-1"}),
    )
    .await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(app.get("/v1/profiles/u1/events").await["total"], 1);

    // Without a message id or a time: a new id, now.
    let before = now();
    let lost = record(
        &app,
        json!({"userId": "u1", "outcome": "lost", "reason": "price"}),
    )
    .await;
    let id = lost["messageId"].as_str().unwrap();
    assert!(id.starts_with("srv-"), "{lost}");
    assert!(ms(&lost["timestamp"]) >= before, "{lost}");
    let events = app.get("/v1/profiles/u1/events").await;
    assert_eq!(events["total"], 2, "{events}");
    assert_eq!(events["items"][0]["messageId"], id);
    assert_eq!(events["items"][0]["properties"]["reason"], "price");

    // By any id of a known profile: a kiosk's anonymous id that identified.
    app.ingest(
        "/v1/identify",
        &json!({"userId": "u2", "anonymousId": "kiosk-7", "traits": {"name": "Ola"}}),
    )
    .await
    .expect(200);
    let booked = record(
        &app,
        json!({"profile": "kiosk-7", "outcome": "appointment"}),
    )
    .await;
    assert_eq!(booked["profile"], "user:u2", "{booked}");
    let events = app.get("/v1/profiles/u2/events").await;
    assert_eq!(events["items"][0]["name"], "Outcome Recorded", "{events}");
    assert_eq!(events["items"][0]["userId"], "u2", "{events}");
    // An anonymous id alone makes (or finds) an anonymous profile.
    let anon = record(&app, json!({"anonymousId": "k-9", "outcome": "no_show"})).await;
    assert_eq!(anon["profile"], "anon:k-9", "{anon}");

    // Admin only.
    let r = app
        .post(
            "/v1/outcomes",
            &app.basic(),
            &json!({"userId": "x", "outcome": "sale"}),
        )
        .await;
    r.expect_error(403, "forbidden");
    let r = app
        .post(
            "/v1/outcomes",
            &Auth::None,
            &json!({"userId": "x", "outcome": "sale"}),
        )
        .await;
    r.expect_error(401, "unauthorized");
    assert!(app.get_as("/v1/profiles/x", &app.bearer()).await.status == 404);
}

fn ms(v: &Value) -> Ts {
    parse_timestamp(v.as_str().unwrap_or_else(|| panic!("{v} is not a time"))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_outcomes_name_the_field_and_store_nothing() {
    let app = App::start().await;
    for (body, field, says) in [
        (
            json!({"outcome": "sale"}),
            "userId",
            "give `userId`, `anonymousId` or `profile`",
        ),
        (json!({"userId": "", "outcome": "sale"}), "userId", "empty"),
        (
            json!({"userId": ["u"], "outcome": "sale"}),
            "userId",
            "a string",
        ),
        (
            json!({"userId": "u", "profile": "user:u", "outcome": "sale"}),
            "profile",
            "not both",
        ),
        (json!({"userId": "u"}), "outcome", "give `outcome`"),
        (
            json!({"userId": "u", "outcome": "won"}),
            "outcome",
            "no outcome `won`; outcomes are: appointment, shown, no_show, test_drive, sale, lost",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "value": -1}),
            "value",
            "0 or more",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "value": "lots"}),
            "value",
            "a number",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "currency": "zł"}),
            "currency",
            "three letters",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "timestamp": "last tuesday"}),
            "timestamp",
            "not an ISO 8601 timestamp",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "timestamp": 1767225600000_i64}),
            "timestamp",
            "a string",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "reason": 7}),
            "reason",
            "a string",
        ),
        (
            json!({"userId": "u", "outcome": "sale", "event": "Sold"}),
            "event",
            "unknown field `event`",
        ),
    ] {
        let r = app.post("/v1/outcomes", &app.bearer(), &body).await;
        documented("/v1/outcomes", "post", "/v1/outcomes", &r);
        let e = r.expect_error(400, "invalid_body");
        assert_eq!(e["field"], field, "{body}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // A value too large for a number is not JSON serde accepts: named by line and column.
    let r = app
        .send(
            axum::http::Method::POST,
            "/v1/outcomes",
            &app.bearer(),
            &[],
            r#"{"userId": "u", "outcome": "sale", "value": 1e999}"#,
        )
        .await;
    let e = r.expect_error(400, "invalid_json");
    assert!(
        e["message"].as_str().unwrap().contains("line 1 column"),
        "{e}"
    );
    // A profile nobody has.
    let r = app
        .post(
            "/v1/outcomes",
            &app.bearer(),
            &json!({"profile": "nobody", "outcome": "sale"}),
        )
        .await;
    documented("/v1/outcomes", "post", "/v1/outcomes", &r);
    assert_eq!(r.expect_error(404, "not_found")["field"], "profile");
    // Nothing reached the log, live state or the quarantine.
    assert_eq!(app.profile_count().await, 0);
    assert_eq!(app.quarantined().await, 0);
}

/// A hand-made week: a web visitor who becomes a buyer (engaged → CTA → lead → appointment →
/// sale), a web visitor who only looks, and a showroom visitor who leaves contact details.
async fn history(app: &App, t0: Ts) {
    let web = json!({"channel": "web"});
    let kiosk = json!({"channel": "showroom"});
    let ack = app
        .ingest(
            "/v1/batch",
            &json!({"batch": [
                {"type": "page", "anonymousId": "w1", "name": "RAV4", "timestamp": at(t0),
                 "properties": {"category": "model", "model": "RAV4"}, "context": web},
                {"type": "track", "anonymousId": "w1", "event": "CTA Tapped", "timestamp": at(t0 + HOUR),
                 "properties": {"cta": "test_drive"}, "context": web},
                {"type": "identify", "anonymousId": "w1", "userId": "buyer", "timestamp": at(t0 + 2 * HOUR),
                 "traits": {"email": "buyer@example.com"}, "context": web},
                {"type": "page", "anonymousId": "w2", "name": "Yaris", "timestamp": at(t0 + 30 * MINUTE),
                 "properties": {"category": "model", "model": "Yaris"}, "context": web},
                {"type": "screen", "anonymousId": "k1", "name": "Models", "timestamp": at(t0 + 3 * HOUR),
                 "properties": {"screen": "models", "duration_s": 120, "session_id": "s1"}, "context": kiosk},
                {"type": "track", "anonymousId": "k1", "userId": "visitor", "event": "CTA Tapped",
                 "timestamp": at(t0 + 3 * HOUR + 10 * MINUTE),
                 "properties": {"cta": "contact"}, "context": kiosk},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 6, "{ack}");
    // The appointment by the anonymous id the buyer started with; the sale by the user id.
    record(
        app,
        json!({"profile": "w1", "outcome": "appointment", "timestamp": at(t0 + 26 * HOUR)}),
    )
    .await;
    record(
        app,
        json!({"userId": "buyer", "outcome": "sale", "value": 154900, "currency": "PLN",
               "timestamp": at(t0 + 74 * HOUR)}),
    )
    .await;
}

/// (profiles, anonymous, rate, median hours) of each step.
fn steps(segment: &Value) -> Vec<(u64, u64, Value, Value)> {
    segment["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            let round = |v: &Value| match v.as_f64() {
                Some(x) => json!((x * 1000.0).round() / 1000.0),
                None => v.clone(),
            };
            (
                s["profiles"].as_u64().unwrap(),
                s["anonymous"].as_u64().unwrap(),
                round(&s["rate"]),
                round(&s["median_hours"]),
            )
        })
        .collect()
}

async fn funnel(app: &App, query: &str) -> Value {
    let uri = format!("/v1/reports/funnel{query}");
    let r = app.get_as(&uri, &app.bearer()).await;
    documented("/v1/reports/funnel", "get", &uri, &r);
    r.expect(200)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_funnel_counts_a_hand_made_history_by_channel() {
    let app = App::start().await;
    let t0 = (now() - 10 * DAY) / HOUR * HOUR;
    history(&app, t0).await;

    let by = funnel(&app, "?by=channel").await;
    assert_eq!(by["by"], "channel", "{by}");
    assert_eq!(by["plan_version"], 1);
    assert_eq!(by["profiles"], 3, "{by}");
    let segments = by["segments"].as_array().unwrap();
    let names: Vec<&str> = segments
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "showroom"], "largest first: {by}");
    let n = Value::Null;
    assert_eq!(
        steps(&segments[0]),
        [
            // w1 and w2 engaged; w2 stayed anonymous.
            (2, 1, n.clone(), n.clone()),
            // w1 tapped "test drive" an hour after the first page.
            (1, 0, json!(0.5), json!(1.0)),
            // ... identified an hour later (lead), booked a day later, bought two days later.
            (1, 0, json!(1.0), json!(1.0)),
            (1, 0, json!(1.0), json!(24.0)),
            (1, 0, json!(1.0), json!(48.0)),
        ],
        "{by}"
    );
    assert_eq!(segments[0]["won"], 1);
    assert_eq!(
        steps(&segments[1]),
        [
            (1, 0, n.clone(), n.clone()),
            // The contact tap 10 minutes after the kiosk screen, with a user id: CTA and lead.
            (1, 0, json!(1.0), json!(0.167)),
            (1, 0, json!(1.0), json!(0.0)),
            (0, 0, json!(0.0), n.clone()),
            // Nothing before it: no rate.
            (0, 0, n.clone(), n.clone()),
        ],
        "{by}"
    );
    assert_eq!(segments[1]["won"], 0);

    // One funnel; the labels.
    let all = funnel(&app, "").await;
    assert_eq!(all["by"], "none");
    assert_eq!(all["segments"].as_array().unwrap().len(), 1, "{all}");
    let one = &all["segments"][0];
    assert_eq!(one["name"], "all");
    let counts: Vec<u64> = steps(one).iter().map(|s| s.0).collect();
    assert_eq!(counts, [3, 2, 2, 1, 1], "{all}");
    let stages: Vec<&str> = one["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["engaged", "cta", "lead", "appointment", "outcome"]);
    assert_eq!(one["steps"][2]["label"], "Lead (identified)");

    // `from` and `to` take profiles by when they first engaged: [from, to).
    let late = funnel(&app, &format!("?by=channel&from={}", at(t0 + 2 * HOUR))).await;
    assert_eq!(late["profiles"], 1, "{late}");
    assert_eq!(late["segments"][0]["name"], "showroom", "{late}");
    assert_eq!(ms(&late["from"]), t0 + 2 * HOUR);
    let early = funnel(&app, &format!("?to={}", at(t0 + 30 * MINUTE))).await;
    assert_eq!(early["profiles"], 1, "only w1 began before w2: {early}");
    assert_eq!(early["segments"][0]["steps"][4]["profiles"], 1, "{early}");
    let window = funnel(
        &app,
        &format!("?from={}&to={}", at(t0 + 30 * MINUTE), at(t0 + 3 * HOUR)),
    )
    .await;
    assert_eq!(window["profiles"], 1, "w2 only: {window}");

    // Other splits: the week of the first engagement, the location and source nobody named.
    let weeks = funnel(&app, "?by=week").await;
    let week = intent_learn::funnel::iso_week(t0);
    assert_eq!(weeks["segments"][0]["name"], week.as_str(), "{weeks}");
    let loc = funnel(&app, "?by=location").await;
    assert_eq!(loc["segments"][0]["name"], "(unknown)", "{loc}");
    assert_eq!(loc["segments"][0]["steps"][0]["profiles"], 3, "{loc}");

    // Refusals name the parameter.
    for (query, field) in [
        ("?by=model", "by"),
        ("?from=yesterday", "from"),
        ("?to=x", "to"),
    ] {
        let uri = format!("/v1/reports/funnel{query}");
        let r = app.get_as(&uri, &app.bearer()).await;
        documented("/v1/reports/funnel", "get", &uri, &r);
        assert_eq!(
            r.expect_error(400, "invalid_query")["field"],
            field,
            "{query}"
        );
    }
    let r = app
        .get_as("/v1/reports/funnel?by=model", &app.bearer())
        .await;
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("channel, location, source, week or none")
    );
    app.get_as("/v1/reports/funnel", &app.basic())
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_funnel_splits_by_campaign_source() {
    let app = App::start().await;
    let t0 = now() - 3 * DAY;
    app.ingest(
        "/v1/batch",
        &json!({"batch": [
            {"type": "page", "anonymousId": "g1", "timestamp": at(t0),
             "properties": {"category": "model"},
             "context": {"campaign": {"source": "google", "name": "spring"}}},
            {"type": "page", "anonymousId": "g2", "timestamp": at(t0),
             "properties": {"category": "model", "utm_source": "google"}},
            {"type": "page", "anonymousId": "f1", "timestamp": at(t0),
             "properties": {"category": "model", "utm_source": "facebook"}},
            {"type": "page", "anonymousId": "f1", "timestamp": at(t0 + HOUR),
             "properties": {"category": "model", "utm_source": "google"}},
        ]}),
    )
    .await
    .expect(200);
    let by = funnel(&app, "?by=source").await;
    let named: Vec<(&str, u64)> = by["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["steps"][0]["profiles"].as_u64().unwrap(),
            )
        })
        .collect();
    // The first source a profile names is its source.
    assert_eq!(named, [("google", 2), ("facebook", 1)], "{by}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_appointment_set_on_a_task_counts_in_the_funnel() {
    let app = App::start().await;
    app.ingest(
        "/v1/track",
        &json!({"userId": "ask", "event": "CTA Tapped",
                "properties": {"cta": "ask_person", "location": "warszawa"},
                "context": {"channel": "showroom"}}),
    )
    .await
    .expect(200);
    let before = funnel(&app, "").await;
    let counts: Vec<u64> = steps(&before["segments"][0]).iter().map(|s| s.0).collect();
    // "Ask for a person" is a call to action (an override; no points), by a known user.
    assert_eq!(counts, [1, 1, 1, 0, 0], "{before}");

    let list = app
        .wait_for("/v1/tasks?profile=user:ask", |v| v["total"] == 1)
        .await;
    let id = list["tasks"][0]["id"].as_i64().unwrap();
    app.post(
        &format!("/v1/tasks/{id}/complete"),
        &app.bearer(),
        &json!({"result": "appointment_set"}),
    )
    .await
    .expect(200);
    // The `Task Completed` event is in the history the funnel replays: an appointment.
    let events = app.get("/v1/profiles/ask/events").await;
    assert_eq!(events["items"][0]["name"], "Task Completed", "{events}");
    let after = funnel(&app, "?by=channel").await;
    let segment = &after["segments"][0];
    assert_eq!(segment["name"], "showroom", "{after}");
    let counts: Vec<u64> = steps(segment).iter().map(|s| s.0).collect();
    assert_eq!(counts, [1, 1, 1, 1, 0], "{after}");
    // Still no points for it.
    assert_eq!(app.get("/v1/profiles/ask").await["score"], 0.0);
}

/// The showroom plan with a small hand-written model of a sale.
fn with_model() -> String {
    format!(
        "{}\nmodel:\n  outcome: sale\n  horizons:\n    - {{ within: 7d, intercept: -4, weights: {{ configurator: 0.5, cta_test_drive: 1.0 }} }}\n    - {{ within: 30d, intercept: -3, weights: {{ configurator: 0.6, cta_test_drive: 1.2 }} }}\n",
        showroom()
    )
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The showroom plan's decay (14 days' half-life) of an award made at `ts`, at `now`.
fn decay(ts: Ts, now: Ts) -> f64 {
    0.5_f64.powf((now - ts) as f64 / (14 * DAY) as f64)
}

/// (7-day, 30-day) probabilities of the hand-written model for a configurator at `conf` and a
/// test-drive tap at `cta`, at `now`.
fn expected(conf: Ts, cta: Ts, now: Ts) -> (f64, f64) {
    let (x1, x2) = (decay(conf, now), decay(cta, now));
    (
        sigmoid(-4.0 + 0.5 * x1 + 1.0 * x2),
        sigmoid(-3.0 + 0.6 * x1 + 1.2 * x2),
    )
}

fn chances(prediction: &Value) -> (f64, f64) {
    let c = prediction["chances"].as_array().expect("chances");
    assert_eq!(c.len(), 2, "{prediction}");
    // The core writes horizons in the largest whole unit: 7 days is `1w`.
    assert_eq!(c[0]["within"], "7d", "{prediction}");
    assert_eq!(c[1]["within"], "30d", "{prediction}");
    (
        c[0]["probability"].as_f64().unwrap(),
        c[1]["probability"].as_f64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_model_predicts_in_the_profile_and_the_queue() {
    let app = App::start_with(with_model()).await;
    let conf = (now() - 3 * DAY) / MINUTE * MINUTE;
    let cta = conf + HOUR;
    app.ingest(
        "/v1/batch",
        &json!({"batch": [
            {"type": "track", "userId": "m1", "event": "Configurator Completed",
             "timestamp": at(conf), "properties": {"model": "RAV4"}},
            {"type": "track", "userId": "m1", "event": "CTA Tapped",
             "timestamp": at(cta), "properties": {"cta": "test_drive"}},
            // Points, but none the model weighs.
            {"type": "page", "userId": "m2", "timestamp": at(conf),
             "properties": {"category": "model"}},
        ]}),
    )
    .await
    .expect(200);

    // The profile at a fixed moment: exactly the model's arithmetic.
    let moment = conf + 2 * DAY;
    let uri = format!("/v1/profiles/m1?at={}", at(moment));
    let r = app.get_as(&uri, &app.bearer()).await;
    documented("/v1/profiles/{id}", "get", &uri, &r);
    let p = r.expect(200);
    let prediction = &p["prediction"];
    assert_eq!(prediction["outcome"], "sale", "{p}");
    let (p7, p30) = chances(prediction);
    let (e7, e30) = expected(conf, cta, moment);
    assert!((p7 - e7).abs() < 1e-12, "{p7} vs {e7}");
    assert!((p30 - e30).abs() < 1e-12, "{p30} vs {e30}");
    // Drivers: the 30-day model's terms, largest effect first, naming the rules.
    let drivers = prediction["drivers"].as_array().unwrap();
    let named: Vec<(&str, &str, &str)> = drivers
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap(),
                d["label"].as_str().unwrap(),
                d["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("cta_test_drive", "Tapped \"book a test drive\"", "signal"),
            ("configurator", "Built a car in the configurator", "signal"),
        ],
        "{prediction}"
    );
    let x2 = decay(cta, moment);
    assert!((drivers[0]["value"].as_f64().unwrap() - x2).abs() < 1e-12);
    assert!((drivers[0]["effect"].as_f64().unwrap() - 1.2 * x2).abs() < 1e-12);

    // A profile with nothing the model weighs: the intercept alone, no drivers.
    let r = app.get_as("/v1/profiles/m2", &app.bearer()).await;
    documented("/v1/profiles/{id}", "get", "/v1/profiles/m2", &r);
    let m2 = r.expect(200);
    assert!(m2["score"].as_f64().unwrap() > 0.0, "{m2}");
    let (q7, q30) = chances(&m2["prediction"]);
    assert!((q7 - sigmoid(-4.0)).abs() < 1e-15 && (q30 - sigmoid(-3.0)).abs() < 1e-15);
    assert_eq!(m2["prediction"]["drivers"], json!([]));

    // The queue: each item carries the same prediction, at the moment of the request.
    let t0 = now();
    let r = app.get_as("/v1/queue", &app.bearer()).await;
    let t1 = now();
    documented("/v1/queue", "get", "/v1/queue", &r);
    let queue = r.expect(200);
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{queue}");
    let item = items.iter().find(|i| i["id"] == "user:m1").unwrap();
    let (p7, p30) = chances(&item["prediction"]);
    // Decay only lowers the features and the weights are positive: the probabilities at the
    // request's moment lie between those at its start and its end.
    let (hi7, hi30) = expected(conf, cta, t0);
    let (lo7, lo30) = expected(conf, cta, t1);
    assert!(
        lo7 - 1e-12 <= p7 && p7 <= hi7 + 1e-12,
        "{lo7} <= {p7} <= {hi7}"
    );
    assert!(
        lo30 - 1e-12 <= p30 && p30 <= hi30 + 1e-12,
        "{lo30} <= {p30} <= {hi30}"
    );
    assert_eq!(item["prediction"]["drivers"][0]["rule"], "cta_test_drive");
    let other = items.iter().find(|i| i["id"] == "user:m2").unwrap();
    let (q7, q30) = chances(&other["prediction"]);
    assert!((q7 - sigmoid(-4.0)).abs() < 1e-15 && (q30 - sigmoid(-3.0)).abs() < 1e-15);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_queue_items_predict_nothing() {
    let app = App::start().await;
    app.ingest(
        "/v1/track",
        &json!({"userId": "m1", "event": "Configurator Completed"}),
    )
    .await
    .expect(200);
    let r = app.get_as("/v1/queue", &app.bearer()).await;
    documented("/v1/queue", "get", "/v1/queue", &r);
    let queue = r.expect(200);
    assert_eq!(queue["items"][0]["id"], "user:m1", "{queue}");
    assert_eq!(queue["items"][0]["prediction"], Value::Null, "{queue}");
    // The search answer stays a plain row.
    let found = app.get("/v1/search?q=m1").await;
    assert_eq!(found["items"][0].get("prediction"), None, "{found}");
}
