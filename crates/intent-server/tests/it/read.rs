//! The read API: profiles, the queue and its filters, search, admin access; the browser SDK's
//! routes, CORS, health.

use crate::harness::{App, Auth};
use axum::body::Body;
use axum::http::Method;
use serde_json::{Value, json};

/// Three people: one asked for a person at the kiosk (forced hot), one hot by score, one cold.
async fn showroom_day(app: &App) {
    let ack = app
        .ingest(
            "/v1/batch",
            &json!({"batch": [
                {"type": "identify", "userId": "ask", "traits": {"email": "Ask.Me@Example.com", "phone": "+48 600 000 000"}},
                {"type": "track", "userId": "ask", "event": "CTA Tapped",
                 "properties": {"cta": "ask_person", "location": "warszawa-1"},
                 "context": {"channel": "showroom"}},
                {"type": "track", "userId": "eager", "event": "Form Submitted",
                 "properties": {"form": "test_drive", "location": "krakow"}, "context": {"channel": "web"}},
                {"type": "track", "userId": "eager", "event": "CTA Tapped",
                 "properties": {"cta": "test_drive"}, "context": {"channel": "web"}},
                {"type": "track", "userId": "eager", "event": "Offer Downloaded",
                 "properties": {"model": "suv"}, "context": {"channel": "web"}},
                {"type": "page", "anonymousId": "browser", "name": "City car",
                 "properties": {"category": "model", "model": "city"}, "context": {"channel": "web"}},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 6, "{ack}");
}

fn ids(v: &Value) -> Vec<&str> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_for_a_person_puts_a_lead_first_in_the_hot_queue() {
    let app = App::start().await;
    showroom_day(&app).await;

    let ask = app.get("/v1/profiles/ask").await;
    assert_eq!(ask["id"], "user:ask");
    assert_eq!(ask["tier"], "hot", "{ask}");
    assert_eq!(ask["override"], "ask_person");
    assert_eq!(ask["reason"], "Asked for a person at the kiosk");
    assert_eq!(ask["score"], 0.0, "forced hot without points: {ask}");
    assert_eq!(ask["location"], "warszawa-1");
    assert_eq!(ask["channels"], json!(["showroom"]));
    assert!(ask["tier_since"].is_string());
    assert_eq!(ask["tiers"], json!(["hot", "warm", "cold"]));
    assert_eq!(ask["plan_version"], 1);
    let changes = ask["tier_changes"].as_array().unwrap();
    assert_eq!(changes.last().unwrap()["to"], "hot", "{ask}");
    assert_eq!(
        changes.last().unwrap()["reason"],
        "Asked for a person at the kiosk"
    );
    // Fit: a known phone.
    assert_eq!(ask["fit"], 5.0, "{ask}");
    assert_eq!(ask["fit_rules"][0]["rule"], "known_phone");

    let eager = app.get("/v1/profiles/eager").await;
    assert_eq!(eager["tier"], "hot", "{eager}");
    assert_eq!(eager["override"], Value::Null);
    assert!(
        (eager["score"].as_f64().unwrap() - 70.0).abs() < 0.01,
        "30 + 25 + 15: {eager}"
    );
    let rules: Vec<&str> = eager["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 3, "{eager}");
    for r in ["contact_form", "cta_test_drive", "offer_download"] {
        assert!(rules.contains(&r), "{r} in {rules:?}");
    }
    assert_eq!(eager["groups"][0]["group"], "model");
    assert_eq!(eager["groups"][0]["value"], "suv");

    // The hot queue: the forced lead before the higher score.
    let hot = app.get("/v1/queue?tier=hot").await;
    assert_eq!(hot["total"], 2, "{hot}");
    assert_eq!(ids(&hot), ["user:ask", "user:eager"]);
    assert_eq!(hot["plan_version"], 1);
    assert_eq!(hot["items"][0]["override"], "ask_person");
    // The whole queue: hot first, then cold.
    let all = app.get("/v1/queue").await;
    assert_eq!(ids(&all), ["user:ask", "user:eager", "anon:browser"]);
    assert_eq!(all["items"][2]["tier"], "cold");
    assert_eq!(ids(&app.get("/v1/queue?tier=cold").await), ["anon:browser"]);
    assert_eq!(app.get("/v1/queue?tier=warm").await["total"], 0);
    assert_eq!(app.get("/v1/queue?tier=disqualified").await["total"], 0);
    // Paging.
    let page = app.get("/v1/queue?limit=1&offset=1").await;
    assert_eq!(page["total"], 3);
    assert_eq!(
        (page["limit"].as_u64(), page["offset"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(ids(&page), ["user:eager"]);
    // Location and channel filters, alone and with the tier.
    assert_eq!(
        ids(&app.get("/v1/queue?location=warszawa-1").await),
        ["user:ask"]
    );
    assert_eq!(
        ids(&app.get("/v1/queue?location=krakow").await),
        ["user:eager"]
    );
    assert_eq!(app.get("/v1/queue?location=gdansk").await["total"], 0);
    assert_eq!(
        ids(&app.get("/v1/queue?channel=showroom").await),
        ["user:ask"]
    );
    assert_eq!(
        ids(&app.get("/v1/queue?channel=web").await),
        ["user:eager", "anon:browser"]
    );
    assert_eq!(
        ids(&app.get("/v1/queue?channel=web&tier=hot").await),
        ["user:eager"]
    );
    assert_eq!(app.get("/v1/queue?channel=email").await["total"], 0);
    // Score groups.
    assert_eq!(
        ids(&app.get("/v1/queue?group=model:suv").await),
        ["user:eager"]
    );
    assert_eq!(
        ids(&app.get("/v1/queue?group=city").await),
        ["anon:browser"]
    );
    // An unknown tier is an error that names it.
    let e = app
        .get_as("/v1/queue?tier=lukewarm", &app.bearer())
        .await
        .expect_error(400, "invalid_filter");
    assert_eq!(e["field"], "tier");
    assert!(e["message"].as_str().unwrap().contains("hot, warm, cold"));

    // Search by a trait value, any case; by id.
    let found = app.get("/v1/search?q=ask.me%40example.com").await;
    assert_eq!(ids(&found), ["user:ask"]);
    assert_eq!(found["items"][0]["tier"], "hot");
    assert_eq!(
        ids(&app.get("/v1/search?q=ASK.ME%40EXAMPLE.COM").await),
        ["user:ask"]
    );
    assert_eq!(ids(&app.get("/v1/search?q=eager").await), ["user:eager"]);
    assert_eq!(app.get("/v1/search?q=nobody").await["items"], json!([]));
    for q in ["/v1/search", "/v1/search?q=", "/v1/search?q=%20"] {
        let e = app
            .get_as(q, &app.bearer())
            .await
            .expect_error(400, "invalid_query");
        assert_eq!(e["field"], "q");
    }

    // Missing profiles.
    for id in ["nobody", "user:nobody", "anon:ask"] {
        app.get_as(&format!("/v1/profiles/{id}"), &app.bearer())
            .await
            .expect_error(404, "not_found");
        app.get_as(&format!("/v1/profiles/{id}/events"), &app.bearer())
            .await
            .expect_error(404, "not_found");
    }
    // `?at=`: scores later on. Points halve in 14 days; the override lasts 24 hours.
    let later = intent_core::time::format_timestamp(crate::harness::now() + 14 * 86_400_000);
    let eager = app.get(&format!("/v1/profiles/eager?at={later}")).await;
    assert!(
        (eager["score"].as_f64().unwrap() - 35.0).abs() < 0.1,
        "{eager}"
    );
    assert_eq!(eager["tier"], "warm", "{eager}");
    assert_eq!(eager["now"], later);
    let ask = app.get(&format!("/v1/profiles/ask?at={later}")).await;
    assert_eq!(ask["override"], Value::Null, "{ask}");
    assert_eq!(ask["tier"], "cold", "{ask}");
    let e = app
        .get_as("/v1/profiles/eager?at=tomorrow", &app.bearer())
        .await
        .expect_error(400, "invalid_query");
    assert_eq!(e["field"], "at");

    // Queue depth by tier in the metrics.
    let m = app.metrics().await;
    assert!(m.contains("intent_queue_depth{tier=\"hot\"} 2"), "{m}");
    assert!(m.contains("intent_queue_depth{tier=\"cold\"} 1"), "{m}");
    assert!(m.contains("intent_profiles 3"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_refuse_write_keys_and_callers_without_a_token() {
    let app = App::start().await;
    showroom_day(&app).await;
    let bad = Auth::Bearer("ia_000000000000000000000000000000000000000000000000".into());
    let reads = [
        "/v1/profiles/ask",
        "/v1/profiles/ask/events",
        "/v1/queue",
        "/v1/queue?tier=hot",
        "/v1/search?q=ask",
        "/v1/quarantine",
        "/v1/messages/x",
        "/v1/plans",
        "/v1/plans/1",
    ];
    for uri in reads {
        for write in [app.basic(), Auth::Bearer(app.write.clone())] {
            let e = app.get_as(uri, &write).await.expect_error(403, "forbidden");
            assert!(e["message"].as_str().unwrap().contains("admin"), "{uri}");
        }
        for none in [&Auth::None, &bad] {
            let r = app.get_as(uri, none).await;
            r.expect_error(401, "unauthorized");
            assert!(r.header("www-authenticate").is_some(), "{uri}");
        }
        // The admin token works as a bearer token and as the HTTP Basic user.
        for admin in [app.bearer(), Auth::Basic(app.admin.clone())] {
            let r = app.get_as(uri, &admin).await;
            assert!(
                r.status.is_success() || r.status.as_u16() == 404,
                "{uri}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    let plan = crate::harness::showroom().replace("points: 25", "points: 26");
    for (auth, status, code) in [
        (app.basic(), 403, "forbidden"),
        (Auth::None, 401, "unauthorized"),
        (bad.clone(), 401, "unauthorized"),
    ] {
        app.send(Method::POST, "/v1/plans", &auth, &[], plan.clone())
            .await
            .expect_error(status, code);
    }
    // Nothing was published.
    let plans = app.get("/v1/plans").await;
    assert_eq!(plans["versions"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_sdk_routes_settings_and_metrics() {
    let app = App::start().await;
    let uri = format!("/v1/projects/{}/settings", app.write);
    let r = app
        .send(
            Method::GET,
            &uri,
            &Auth::None,
            &[
                ("host", "intent.example.com"),
                ("x-forwarded-proto", "https"),
            ],
            Body::empty(),
        )
        .await;
    let s = r.expect(200);
    let io = &s["integrations"]["Segment.io"];
    assert_eq!(io["apiHost"], "intent.example.com/v1");
    assert_eq!(io["protocol"], "https");
    assert_eq!(io["apiKey"], json!(app.write));
    // Without a Host header: the default.
    let s = app.get_as(&uri, &Auth::None).await.expect(200);
    assert_eq!(
        s["integrations"]["Segment.io"]["apiHost"],
        "127.0.0.1:8080/v1"
    );
    assert_eq!(s["integrations"]["Segment.io"]["protocol"], "http");
    // An admin token has no SDK settings (it must never sit in a web page).
    app.get_as(&format!("/v1/projects/{}/settings", app.admin), &Auth::None)
        .await
        .expect_error(404, "not_found");
    // An unknown key.
    app.get_as(
        "/v1/projects/iw_000000000000000000000000000000000000000000000000/settings",
        &Auth::None,
    )
    .await
    .expect_error(404, "not_found");
    // The SDK's own telemetry: accepted and ignored, no key needed.
    let r = app
        .send(
            Method::POST,
            "/v1/m",
            &Auth::None,
            &[("content-type", "text/plain")],
            "{\"series\":[]}",
        )
        .await;
    assert_eq!(r.expect(200), json!({"success": true}));
    assert_eq!(app.profile_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_allows_the_browser_sdk() {
    let app = App::start().await;
    let r = app
        .send(
            Method::OPTIONS,
            "/v1/t",
            &Auth::None,
            &[
                ("origin", "https://shop.example.com"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type,authorization",
                ),
            ],
            Body::empty(),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    for m in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("content-type") && headers.contains("authorization"),
        "{headers}"
    );
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    // The actual request carries the allow-origin header too.
    let r = app
        .send(
            Method::POST,
            "/v1/t",
            &app.basic(),
            &[("origin", "https://shop.example.com")],
            json!({"anonymousId": "a1", "event": "X"}).to_string(),
        )
        .await;
    assert_eq!(r.expect(200)["accepted"], 1);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_the_openapi_document() {
    let app = App::start().await;
    let r = app.get_as("/healthz", &Auth::None).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.text(), "ok\n");
    let ready = app.get_as("/readyz", &Auth::None).await.expect(200);
    assert_eq!(ready, json!({"ready": true, "seq": 0}));
    app.ingest("/v1/track", &json!({"userId": "u1", "event": "X"}))
        .await
        .expect(200);
    let ready = app.get_as("/readyz", &Auth::None).await.expect(200);
    assert_eq!(ready["seq"], 1);

    let r = app.get_as("/openapi.json", &Auth::None).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.expect(200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["paths"].as_object().unwrap().len() > 20);

    let r = app.get_as("/metrics", &Auth::None).await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text();
    assert!(
        text.contains("intent_http_requests_total{route=\"/v1/track\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("intent_http_requests_total{route=\"/readyz\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));
}
