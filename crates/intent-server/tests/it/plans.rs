//! Plan versions over HTTP: an invalid plan changes nothing; a valid one is rescored in the
//! background and goes live, old versions stay readable.

use crate::harness::{App, showroom};
use axum::http::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn publish(app: &App, text: &str) -> crate::harness::Resp {
    app.send(
        Method::POST,
        "/v1/plans",
        &app.bearer(),
        &[("content-type", "application/yaml")],
        text.to_string(),
    )
    .await
}

fn score(profile: &Value) -> f64 {
    profile["score"].as_f64().expect("score")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_plan_is_refused_with_line_and_column_and_changes_nothing() {
    let app = App::start().await;
    let before = app.get("/v1/plans").await;
    assert_eq!(before["live"], 1);
    assert_eq!(before["rescoring"], Value::Null);

    // A rule that names a signal that does not exist, and a YAML syntax error.
    let unknown = showroom().replace("- signal: kiosk_trade_in", "- signal: kiosk_nothing");
    let broken = showroom().replace("points: 25", "points: [25");
    let typed = showroom().replace("points: 25", "points: lots");
    for (what, text) in [
        ("unknown signal", unknown),
        ("syntax", broken),
        ("type", typed),
    ] {
        let r = publish(&app, &text).await;
        let v = r.expect(422);
        assert_eq!(v["success"], false, "{what}");
        assert_eq!(v["error"]["code"], "invalid_plan", "{what}");
        assert!(v["error"]["message"].is_string(), "{what}");
        let issues = v["error"]["issues"].as_array().expect("issues");
        assert!(!issues.is_empty(), "{what}: {v}");
        for i in issues {
            assert!(i["line"].as_u64().unwrap() > 0, "{what}: {i}");
            assert!(i["column"].as_u64().unwrap() > 0, "{what}: {i}");
            assert!(!i["message"].as_str().unwrap().is_empty(), "{what}: {i}");
        }
        // The line is the one that is wrong.
        let line = issues[0]["line"].as_u64().unwrap() as usize;
        let wrong = text.lines().nth(line - 1).unwrap_or_default();
        assert!(
            wrong.contains("kiosk_nothing") || wrong.contains("points:"),
            "{what}: line {line} is `{wrong}`: {v}"
        );
    }
    // Not UTF-8.
    let r = app
        .send(
            Method::POST,
            "/v1/plans",
            &app.bearer(),
            &[],
            vec![0xff, 0xfe, 0x00],
        )
        .await;
    r.expect_error(400, "invalid_plan");

    let after = app.get("/v1/plans").await;
    assert_eq!(after["live"], 1);
    assert_eq!(after["rescoring"], Value::Null);
    assert_eq!(after["versions"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/plans/live").await["text"], showroom());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_plan_is_rescored_and_goes_live_and_old_versions_stay_readable() {
    let app = App::start().await;
    app.ingest(
        "/v1/batch",
        &json!({"batch": [
            {"type": "track", "userId": "u1", "event": "Offer Downloaded", "messageId": "o1"},
            {"type": "page", "userId": "u1", "name": "Financing", "messageId": "f1",
             "properties": {"category": "financing"}},
        ]}),
    )
    .await
    .expect(200);
    let p = app.get("/v1/profiles/u1").await;
    assert!((score(&p) - 21.0).abs() < 0.01, "15 + 6: {p}");
    assert_eq!(p["tier"], "cold");

    // An offer download is now worth 25 (under its weekly cap of 30).
    let old = showroom();
    let new = old.replace(
        "when: { event: Offer Downloaded }\n    points: 15",
        "when: { event: Offer Downloaded }\n    points: 25",
    );
    assert_ne!(old, new, "the plan text changed");
    let r = publish(&app, &new).await;
    let v = r.expect(202);
    assert_eq!(v["success"], true);
    assert_eq!(v["version"], 2);
    assert!(v["status"].is_string());

    // Poll until the rescoring is over and the new version is live.
    let started = Instant::now();
    let plans = loop {
        let plans = app.get("/v1/plans").await;
        if let Some(error) = plans["rescoring"]["error"].as_str() {
            panic!("rescoring failed: {error}");
        }
        if plans["rescoring"].is_null() && plans["live"] == 2 {
            break plans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the new version did not go live: {plans}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let versions = plans["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["live"], false);
    assert_eq!(versions[0]["origin"], "plans/showroom.yaml");
    assert_eq!(versions[1]["version"], 2);
    assert_eq!(versions[1]["live"], true);
    assert_eq!(versions[1]["origin"], "api");
    assert!(versions[1]["created_at"].is_string());

    // The old version is still readable; `live` names the new one.
    let v1 = app.get("/v1/plans/1").await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["live"], false);
    assert_eq!(v1["text"], old);
    let v2 = app.get("/v1/plans/2").await;
    assert_eq!(v2["live"], true);
    assert_eq!(v2["text"], new);
    assert_eq!(app.get("/v1/plans/live").await["version"], 2);
    app.get_as("/v1/plans/3", &app.bearer())
        .await
        .expect_error(404, "not_found");
    let e = app
        .get_as("/v1/plans/latest", &app.bearer())
        .await
        .expect_error(400, "invalid_version");
    assert_eq!(e["field"], "version");

    // Scores reflect the new points, history included; new events too.
    let p = app.get("/v1/profiles/u1").await;
    assert_eq!(p["plan_version"], 2);
    assert!((score(&p) - 31.0).abs() < 0.01, "25 + 6: {p}");
    assert_eq!(p["tier"], "warm");
    app.ingest(
        "/v1/track",
        &json!({"userId": "u2", "event": "Offer Downloaded"}),
    )
    .await
    .expect(200);
    let p2 = app.get("/v1/profiles/u2").await;
    assert!((score(&p2) - 25.0).abs() < 0.01, "{p2}");
    let q = app.get("/v1/queue").await;
    assert_eq!(q["plan_version"], 2);
    assert_eq!(q["items"][0]["id"], "user:u1");
}

#[tokio::test(flavor = "multi_thread")]
async fn right_after_a_publish_the_plans_route_shows_the_rescoring_or_the_new_version() {
    let app = App::start().await;
    app.ingest(
        "/v1/track",
        &json!({"userId": "u1", "event": "CTA Tapped", "properties": {"cta": "test_drive"}}),
    )
    .await
    .expect(200);
    // The window is short: ten publishes make a miss all but certain.
    for points in 26..36 {
        let text = showroom().replace("points: 25", &format!("points: {points}"));
        let version = publish(&app, &text).await.expect(202)["version"]
            .as_i64()
            .unwrap();
        let plans = app.get("/v1/plans").await;
        assert!(
            !plans["rescoring"].is_null() || plans["live"] == version,
            "published version {version} (202), then GET /v1/plans says nothing is rescoring \
             and version {} is live: {plans}",
            plans["live"]
        );
        let started = Instant::now();
        while app.get("/v1/plans").await["live"] != version {
            assert!(started.elapsed() < Duration::from_secs(60));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let p = app.get("/v1/profiles/u1").await;
        assert!((score(&p) - points as f64).abs() < 0.01, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_published_plan_ends_up_live_when_two_are_published_together() {
    for _ in 0..5 {
        let app = App::start().await;
        let batch: Vec<Value> = (0..2000)
            .map(|i| json!({"type": "track", "userId": format!("u{i}"), "event": "Offer Downloaded"}))
            .collect();
        app.ingest("/v1/batch", &json!({ "batch": batch }))
            .await
            .expect(200);
        let (a, b) = (
            showroom().replace("points: 25", "points: 26"),
            showroom().replace("points: 25", "points: 27"),
        );
        let (ra, rb) = tokio::join!(publish(&app, &a), publish(&app, &b));
        let newest = ra.expect(202)["version"]
            .as_i64()
            .unwrap()
            .max(rb.expect(202)["version"].as_i64().unwrap());
        // Both rescorings end within a second or two on 2,000 events.
        let started = Instant::now();
        let plans = loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let plans = app.get("/v1/plans").await;
            if (plans["live"] == newest && plans["rescoring"].is_null())
                || started.elapsed() > Duration::from_secs(5)
            {
                break plans;
            }
        };
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let later = app.get("/v1/plans").await;
        assert_eq!(
            (plans["live"].as_i64(), later["live"].as_i64()),
            (Some(newest), Some(newest)),
            "published {} and {} together; the newest, {newest}, should be live: {later}",
            newest - 1,
            newest
        );
    }
}
