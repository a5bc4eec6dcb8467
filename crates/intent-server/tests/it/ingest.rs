//! The Segment tracking API: every call on its full and short path, keys, bodies, limits,
//! batches with invalid messages, repeats and clock skew.

use crate::harness::{App, Auth, metric, now};
use axum::http::Method;
use flate2::Compression;
use flate2::write::GzEncoder;
use intent_core::time::{SECOND, format_timestamp, parse_timestamp};
use intent_server::auth::{hash_secret, new_secret};
use intent_store::{KeyKind, Keys};
use serde_json::{Value, json};
use std::io::Write;

/// A valid message for each call, with its full and short path.
fn calls(user: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "/v1/track",
            "/v1/t",
            json!({"userId": user, "event": "Offer Downloaded", "properties": {"model": "suv"}}),
        ),
        (
            "/v1/identify",
            "/v1/i",
            json!({"userId": user, "traits": {"email": format!("{user}@example.com")}}),
        ),
        (
            "/v1/page",
            "/v1/p",
            json!({"userId": user, "name": "Home", "properties": {"category": "model"}}),
        ),
        (
            "/v1/screen",
            "/v1/s",
            json!({"userId": user, "name": "financing", "context": {"channel": "showroom"},
                   "properties": {"screen": "financing", "duration_s": 30}}),
        ),
        (
            "/v1/group",
            "/v1/g",
            json!({"userId": user, "groupId": "acme", "traits": {"company_size": "51-200"}}),
        ),
        (
            "/v1/alias",
            "/v1/a",
            json!({"userId": user, "previousId": format!("{user}-old")}),
        ),
    ]
}

fn with_id(mut msg: Value, id: &str) -> Value {
    msg["messageId"] = json!(id);
    msg
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_is_accepted_on_full_and_short_paths_with_basic_auth_or_a_body_key() {
    let app = App::start().await;
    // (messageId, the type the path gives, the key's source)
    let mut ids: Vec<(String, String, &str)> = Vec::new();
    // History under the id that the alias calls name as `previousId`.
    app.ingest(
        "/v1/t",
        &json!({"anonymousId": "u1-old", "event": "X", "messageId": "old"}),
    )
    .await
    .expect(200);
    ids.push(("old".into(), "track".into(), "website"));
    for (full, short, msg) in calls("u1") {
        let kind = full.trim_start_matches("/v1/").to_string();
        // HTTP Basic with the write key as the user name.
        for path in [full, short] {
            let id = format!("basic{}", path.replace('/', "-"));
            let ack = app
                .ingest(path, &with_id(msg.clone(), &id))
                .await
                .expect(200);
            assert_eq!(
                ack,
                json!({"success": true, "accepted": 1, "duplicates": 0}),
                "{path}"
            );
            ids.push((id, kind.clone(), "website"));
        }
        // `writeKey` in the body, no header.
        for path in [full, short] {
            let id = format!("body{}", path.replace('/', "-"));
            let mut m = with_id(msg.clone(), &id);
            m["writeKey"] = json!(app.write);
            let ack = app.post(path, &Auth::None, &m).await.expect(200);
            assert_eq!(ack["accepted"], 1, "{path}: {ack}");
            ids.push((id, kind.clone(), "website"));
        }
    }
    // Only write keys send events: an admin token is refused, however it is sent.
    let by_admin = json!({"userId": "u1", "event": "X", "messageId": "by-admin"});
    for auth in [app.bearer(), Auth::Basic(app.admin.clone())] {
        let e = app
            .post("/v1/track", &auth, &by_admin)
            .await
            .expect_error(403, "forbidden");
        assert!(e["message"].as_str().unwrap().contains("write key"), "{e}");
    }
    let mut m = by_admin.clone();
    m["writeKey"] = json!(app.admin);
    app.post("/v1/t", &Auth::None, &m)
        .await
        .expect_error(403, "forbidden");
    app.get_as("/v1/messages/by-admin", &app.bearer())
        .await
        .expect_error(404, "not_found");

    // Every message is stored, normalized: the path's type, no key, the source's name.
    for (id, kind, source) in &ids {
        let stored = app.get(&format!("/v1/messages/{id}")).await;
        let m = &stored["message"];
        assert_eq!(m["messageId"], json!(id));
        assert_eq!(m["type"], json!(kind), "{m}");
        assert!(m.get("writeKey").is_none(), "the key is not stored: {m}");
        assert!(m["receivedAt"].is_string(), "{m}");
        assert_eq!(m["context"]["source"], *source, "{m}");
        assert!(stored["seq"].as_i64().unwrap() > 0);
    }
    // One profile (the alias joins `u1-old` to it) with every event.
    let p = app.get("/v1/profiles/u1").await;
    assert_eq!(p["id"], "user:u1");
    assert_eq!(p["events"], ids.len() as u64);
    assert_eq!(p["ids"], json!(["anon:u1-old", "user:u1"]), "{p}");
    assert_eq!(app.profile_count().await, 1);
    assert_eq!(p["traits"]["email"], "u1@example.com");
    assert_eq!(
        metric(&app.metrics().await, "intent_events_ingested_total"),
        ids.len() as f64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn text_plain_and_gzip_bodies_are_accepted() {
    let app = App::start().await;
    // The browser SDK sends JSON as text/plain to skip the CORS preflight.
    let body = json!({"anonymousId": "a1", "event": "CTA Tapped", "writeKey": app.write,
                      "properties": {"cta": "contact"}})
    .to_string();
    let r = app
        .send(
            Method::POST,
            "/v1/t",
            &Auth::None,
            &[("content-type", "text/plain;charset=UTF-8")],
            body,
        )
        .await;
    assert_eq!(r.expect(200)["accepted"], 1);

    // gzip, single and batch.
    let single = json!({"anonymousId": "a1", "name": "Home"}).to_string();
    let r = app
        .send(
            Method::POST,
            "/v1/page",
            &app.basic(),
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            gzip(single.as_bytes()),
        )
        .await;
    assert_eq!(r.expect(200)["accepted"], 1);
    let batch = json!({"batch": [
        {"type": "track", "anonymousId": "a1", "event": "Offer Downloaded"},
        {"type": "screen", "anonymousId": "a1", "name": "financing"},
    ]})
    .to_string();
    let r = app
        .send(
            Method::POST,
            "/v1/batch",
            &app.basic(),
            &[("content-encoding", "gzip")],
            gzip(batch.as_bytes()),
        )
        .await;
    let ack = r.expect(200);
    assert_eq!(ack["accepted"], 2, "{ack}");
    assert_eq!(ack["rejected"], json!([]));

    // A body that says gzip but is not.
    let r = app
        .send(
            Method::POST,
            "/v1/track",
            &app.basic(),
            &[("content-encoding", "gzip")],
            single,
        )
        .await;
    r.expect_error(400, "invalid_gzip");

    let p = app.get("/v1/profiles/anon:a1").await;
    assert_eq!(p["events"], 4);
    assert_eq!(app.get("/v1/profiles/a1/events").await["total"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_valid_key_are_refused_and_nothing_is_stored() {
    let app = App::start().await;
    let msg = json!({"userId": "u1", "event": "CTA Tapped", "properties": {"cta": "ask_person"}});
    let bad = "iw_000000000000000000000000000000000000000000000000".to_string();
    let refused = [
        ("no key", Auth::None, msg.clone()),
        ("bad basic key", Auth::Basic(bad.clone()), msg.clone()),
        ("bad bearer key", Auth::Bearer(bad.clone()), msg.clone()),
        ("empty basic user", Auth::Basic(String::new()), msg.clone()),
        ("bad body key", Auth::None, {
            let mut m = msg.clone();
            m["writeKey"] = json!(bad);
            m
        }),
        // A header key is checked first: a good key in the body does not rescue a bad header.
        ("bad header, good body key", Auth::Basic(bad.clone()), {
            let mut m = msg.clone();
            m["writeKey"] = json!(app.write);
            m
        }),
        // An invalid message without a key is refused, not quarantined.
        ("invalid message, no key", Auth::None, json!({"event": "X"})),
    ];
    for (what, auth, body) in &refused {
        for path in ["/v1/track", "/v1/t"] {
            let r = app.post(path, auth, body).await;
            let e = r.expect_error(401, "unauthorized");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"intent\""),
                "{what}"
            );
            assert!(!e["message"].as_str().unwrap().is_empty(), "{what}");
        }
    }
    for path in ["/v1/batch", "/v1/import", "/v1/b"] {
        let batch = json!({"batch": [{"type": "track", "userId": "u1", "event": "X"},
                                     {"type": "track", "event": "no id"}]});
        app.post(path, &Auth::None, &batch)
            .await
            .expect_error(401, "unauthorized");
        app.post(path, &Auth::Basic(bad.clone()), &batch)
            .await
            .expect_error(401, "unauthorized");
    }
    assert_eq!(app.quarantined().await, 0);
    assert_eq!(app.profile_count().await, 0);
    app.get_as("/v1/profiles/u1", &app.bearer())
        .await
        .expect_error(404, "not_found");
    let m = app.metrics().await;
    assert_eq!(metric(&m, "intent_events_ingested_total"), 0.0);
    assert_eq!(metric(&m, "intent_events_quarantined_total"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_stops_working_and_a_new_one_works() {
    let app = App::start().await;
    let msg = json!({"userId": "u1", "event": "X"});
    app.ingest("/v1/track", &msg).await.expect(200);
    // Revoked while the server runs (as `intent keys revoke` does): refused within 2 s.
    app.store().revoke_key(app.write_id).unwrap();
    tokio::time::sleep(intent_server::auth::REFRESH + std::time::Duration::from_millis(200)).await;
    app.ingest("/v1/track", &msg)
        .await
        .expect_error(401, "unauthorized");
    app.get_as(&format!("/v1/projects/{}/settings", app.write), &Auth::None)
        .await
        .expect_error(404, "not_found");
    // Made while the server runs: works at once (a miss reloads the keys, at most every
    // 250 ms: the refused requests above just did).
    let fresh = new_secret(KeyKind::Write);
    app.store()
        .add_key(KeyKind::Write, "kiosk", &hash_secret(&fresh), now())
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ack = app
        .post(
            "/v1/t",
            &Auth::Basic(fresh),
            &json!({"userId": "u1", "event": "X", "messageId": "from-kiosk"}),
        )
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 1);
    let stored = app.get("/v1/messages/from-kiosk").await;
    assert_eq!(stored["message"]["context"]["source"], "kiosk");
    assert_eq!(app.get("/v1/profiles/u1").await["events"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_a_400_naming_line_and_column() {
    let app = App::start().await;
    let body = "{\n  \"userId\": \"u1\",\n  \"event\": ,\n}";
    for path in ["/v1/track", "/v1/batch"] {
        let r = app
            .send(Method::POST, path, &app.basic(), &[], body.to_string())
            .await;
        let e = r.expect_error(400, "invalid_json");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("line 3 column 12"), "{path}: {message}");
    }
    // JSON, but not an object.
    let r = app
        .send(Method::POST, "/v1/track", &app.basic(), &[], "[1, 2]")
        .await;
    let e = r.expect_error(400, "invalid_json");
    assert!(e["message"].as_str().unwrap().contains("object"), "{e}");
    // An empty body.
    let r = app
        .send(Method::POST, "/v1/identify", &app.basic(), &[], "")
        .await;
    r.expect_error(400, "invalid_json");
    // A batch that is not one.
    app.ingest("/v1/batch", &json!({"messages": []}))
        .await
        .expect_error(400, "invalid_batch");
    let e = app
        .ingest("/v1/batch", &json!({"batch": {"type": "track"}}))
        .await
        .expect_error(400, "invalid_batch");
    assert_eq!(e["field"], "batch");
    assert_eq!(app.quarantined().await, 0);
    assert_eq!(app.profile_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_answer_413() {
    let app = App::start().await;
    // A body over 500 KB (a message that size is also over 32 KB: the body limit answers first).
    let big = json!({"userId": "u1", "event": "X", "properties": {"pad": "x".repeat(520_000)}});
    for path in ["/v1/track", "/v1/batch"] {
        let e = app.ingest(path, &big).await.expect_error(413, "too_large");
        assert!(
            e["message"].as_str().unwrap().contains("500 KB"),
            "{path}: {e}"
        );
    }
    // Over 500 KB once decompressed, though small on the wire.
    let text = serde_json::to_vec(&big).unwrap();
    let r = app
        .send(
            Method::POST,
            "/v1/t",
            &app.basic(),
            &[("content-encoding", "gzip")],
            gzip(&text),
        )
        .await;
    r.expect_error(413, "too_large");
    // Over 1 MiB as sent: the HTTP layer refuses it before the handler.
    let r = app
        .send(
            Method::POST,
            "/v1/track",
            &app.basic(),
            &[],
            vec![b' '; (1 << 20) + 1],
        )
        .await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.text());

    // 2,501 messages in one batch.
    let batch: Vec<Value> = (0..2501)
        .map(|i| json!({"type": "track", "userId": format!("b{i}"), "event": "X"}))
        .collect();
    let e = app
        .ingest("/v1/batch", &json!({ "batch": batch }))
        .await
        .expect_error(413, "too_large");
    assert_eq!(e["field"], "batch");
    assert!(e["message"].as_str().unwrap().contains("2501"), "{e}");
    // 2,500 pass.
    let ack = app
        .ingest("/v1/batch", &json!({ "batch": &batch[..2500] }))
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 2500);
    assert_eq!(app.profile_count().await, 2500);
    assert_eq!(app.quarantined().await, 0);

    // One message over 32 KB: 413 and kept in the quarantine.
    let msg = json!({"userId": "u1", "event": "X", "messageId": "too-big",
                     "properties": {"pad": "x".repeat(33 * 1024)}});
    let e = app
        .ingest("/v1/track", &msg)
        .await
        .expect_error(413, "invalid_message");
    assert!(e["message"].as_str().unwrap().contains("32 KB"), "{e}");
    // The same inside a batch: the batch succeeds and lists it.
    let ack = app
        .ingest(
            "/v1/batch",
            &json!({"batch": [
                {"type": "track", "userId": "u1", "event": "Y", "messageId": "small"},
                {"type": "track", "userId": "u1", "event": "X", "messageId": "too-big-2",
                 "properties": {"pad": "x".repeat(33 * 1024)}}
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 1);
    assert_eq!(ack["rejected"][0]["index"], 1);
    assert_eq!(ack["rejected"][0]["messageId"], "too-big-2");
    assert_eq!(ack["rejected"][0]["field"], "batch[1]");
    assert!(
        ack["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("32 KB")
    );
    let q = app.get("/v1/quarantine").await;
    assert_eq!(q["total"], 2, "{q}");
    app.get_as("/v1/messages/too-big", &app.bearer())
        .await
        .expect_error(404, "not_found");
    assert_eq!(app.get("/v1/profiles/u1").await["events"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_stores_its_valid_messages_and_quarantines_the_invalid_ones() {
    let app = App::start().await;
    let batch = json!({"batch": [
        {"type": "track", "userId": "u1", "event": "Offer Downloaded", "messageId": "ok-1"},
        {"type": "track", "event": "no id", "messageId": "bad-1"},
        {"userId": "u1", "event": "no type", "messageId": "bad-2"},
        {"type": "jump", "userId": "u1", "messageId": "bad-3"},
        {"type": "identify", "anonymousId": "a9", "traits": {"email": "a9@example.com"}, "messageId": "ok-2"},
        7,
        {"type": "track", "userId": "u1", "event": "X", "timestamp": "yesterday", "messageId": "bad-5"},
        {"type": "track", "userId": "u1", "messageId": "bad-6"},
        {"type": "page", "userId": "u2", "properties": "not an object", "messageId": "bad-7"},
        {"type": "page", "userId": "u2", "name": "Home", "messageId": "ok-3"},
    ]});
    let ack = app.ingest("/v1/batch", &batch).await.expect(200);
    assert_eq!(ack["success"], true);
    assert_eq!(ack["accepted"], 3, "{ack}");
    assert_eq!(ack["duplicates"], 0);
    let rejected: Vec<(u64, Value, String)> = ack["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(!r["reason"].as_str().unwrap().is_empty(), "{r}");
            (
                r["index"].as_u64().unwrap(),
                r["messageId"].clone(),
                r["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, json!("bad-1"), "batch[1].userId".to_string()),
            (2, json!("bad-2"), "batch[2].type".to_string()),
            (3, json!("bad-3"), "batch[3].type".to_string()),
            (5, Value::Null, "batch[5]".to_string()),
            (6, json!("bad-5"), "batch[6].timestamp".to_string()),
            (7, json!("bad-6"), "batch[7].event".to_string()),
            (8, json!("bad-7"), "batch[8].properties".to_string()),
        ]
    );

    // Valid ones are stored and scored.
    for id in ["ok-1", "ok-2", "ok-3"] {
        assert_eq!(
            app.get(&format!("/v1/messages/{id}")).await["message"]["messageId"],
            id
        );
    }
    assert_eq!(app.get("/v1/profiles/u1").await["events"], 1);
    assert_eq!(app.get("/v1/profiles/anon:a9").await["events"], 1);
    assert_eq!(app.profile_count().await, 3);
    // Invalid ones are not in the log but in the quarantine, with their field and reason.
    for id in ["bad-1", "bad-5"] {
        app.get_as(&format!("/v1/messages/{id}"), &app.bearer())
            .await
            .expect_error(404, "not_found");
    }
    let q = app.get("/v1/quarantine").await;
    assert_eq!(q["total"], 7, "{q}");
    let mut fields: Vec<&str> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["source"], "website", "{i}");
            assert!(i["received_at"].is_i64(), "{i}");
            assert!(!i["reason"].as_str().unwrap().is_empty(), "{i}");
            i["field"].as_str().unwrap()
        })
        .collect();
    fields.sort();
    let mut want: Vec<&str> = rejected.iter().map(|r| r.2.as_str()).collect();
    want.sort();
    assert_eq!(fields, want);
    let timestamp = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["field"] == "batch[6].timestamp")
        .unwrap();
    let body: Value = serde_json::from_str(timestamp["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["messageId"], "bad-5");
    assert_eq!(body["timestamp"], "yesterday");
    // Paging: newest first, `before` an id.
    let page = app.get("/v1/quarantine?limit=2").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let last = items[1]["id"].as_i64().unwrap();
    assert!(items[0]["id"].as_i64().unwrap() > last);
    let rest = app
        .get(&format!("/v1/quarantine?limit=100&before={last}"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 5);

    // A single call with an invalid message: 400 naming the field, and quarantined too.
    let e = app
        .ingest(
            "/v1/track",
            &json!({"userId": "u1", "messageId": "bad-single"}),
        )
        .await
        .expect_error(400, "invalid_message");
    assert_eq!(e["field"], "event");
    assert!(e["message"].as_str().unwrap().contains("quarantine"), "{e}");
    let e = app
        .ingest("/v1/i", &json!({"traits": {"email": "x@example.com"}}))
        .await
        .expect_error(400, "invalid_message");
    assert_eq!(e["field"], "userId");
    assert_eq!(app.quarantined().await, 9);

    let m = app.metrics().await;
    assert_eq!(metric(&m, "intent_events_quarantined_total"), 9.0);
    assert_eq!(metric(&m, "intent_events_ingested_total"), 3.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_message_ids_are_acknowledged_and_counted_once() {
    let app = App::start().await;
    let msg = json!({"userId": "u1", "event": "Offer Downloaded", "messageId": "m1"});
    let first = app.ingest("/v1/track", &msg).await.expect(200);
    assert_eq!(
        first,
        json!({"success": true, "accepted": 1, "duplicates": 0})
    );
    let again = app.ingest("/v1/t", &msg).await.expect(200);
    assert_eq!(
        again,
        json!({"success": true, "accepted": 0, "duplicates": 1})
    );
    // In a batch: a repeat of a stored id and a repeat within the batch.
    let ack = app
        .ingest(
            "/v1/batch",
            &json!({"batch": [
                {"type": "track", "userId": "u1", "event": "Offer Downloaded", "messageId": "m1"},
                {"type": "track", "userId": "u1", "event": "Configurator Completed", "messageId": "m2"},
                {"type": "track", "userId": "u1", "event": "Configurator Completed", "messageId": "m2"},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(ack["accepted"], 1, "{ack}");
    assert_eq!(ack["duplicates"], 2, "{ack}");
    assert_eq!(ack["rejected"], json!([]));

    let p = app.get("/v1/profiles/u1").await;
    assert_eq!(p["events"], 2, "{p}");
    // 15 (offer) + 12 (configurator), each once.
    assert!((p["score"].as_f64().unwrap() - 27.0).abs() < 0.01, "{p}");
    assert_eq!(app.get("/v1/profiles/u1/events").await["total"], 2);
    let m = app.metrics().await;
    assert_eq!(metric(&m, "intent_events_duplicate_total"), 3.0);
    assert_eq!(metric(&m, "intent_events_ingested_total"), 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sent_at_corrects_the_client_clock_in_the_timeline() {
    let app = App::start().await;
    // The client's clock is an hour fast: it stamped the event, then sent it 5 s later.
    let skew = 3_600 * SECOND;
    let before = now();
    let client_ts = before + skew;
    let single = json!({"userId": "u1", "event": "Offer Downloaded", "messageId": "skewed",
        "timestamp": format_timestamp(client_ts),
        "sentAt": format_timestamp(client_ts + 5 * SECOND)});
    app.ingest("/v1/track", &single).await.expect(200);
    // A batch's `sentAt` corrects its messages; this client is a day slow and sent 2 s later.
    let slow = now() - 86_400 * SECOND;
    let batch = json!({"sentAt": format_timestamp(slow + 2 * SECOND), "batch": [
        {"type": "page", "userId": "u1", "name": "Home", "messageId": "batched",
         "timestamp": format_timestamp(slow)}
    ]});
    app.ingest("/v1/batch", &batch).await.expect(200);
    // Without `sentAt` the timestamp is kept as sent.
    let past = before - 30 * 86_400 * SECOND;
    let plain = json!({"userId": "u1", "event": "Email Link Clicked", "messageId": "plain",
                       "timestamp": format_timestamp(past)});
    app.ingest("/v1/track", &plain).await.expect(200);
    // Without a timestamp the event happened when it arrived.
    app.ingest(
        "/v1/track",
        &json!({"userId": "u1", "event": "X", "messageId": "untimed"}),
    )
    .await
    .expect(200);
    let after = now();

    let timeline = app.get("/v1/profiles/user:u1/events").await;
    assert_eq!(timeline["id"], "user:u1");
    assert_eq!(timeline["total"], 4);
    assert_eq!(timeline["order"], "newest first");
    let at = |id: &str| -> i64 {
        let item = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["messageId"] == id)
            .unwrap_or_else(|| panic!("{id} in {timeline}"));
        parse_timestamp(item["timestamp"].as_str().unwrap()).unwrap()
    };
    let skewed = at("skewed");
    assert!(
        skewed >= before - 5 * SECOND && skewed <= after - 5 * SECOND,
        "corrected to arrival - 5 s: {} not in [{}, {}]",
        format_timestamp(skewed),
        format_timestamp(before - 5 * SECOND),
        format_timestamp(after - 5 * SECOND)
    );
    let batched = at("batched");
    assert!(
        batched >= before - 2 * SECOND && batched <= after - 2 * SECOND,
        "{}",
        format_timestamp(batched)
    );
    assert_eq!(at("plain"), past);
    let untimed = at("untimed");
    assert!(untimed >= before && untimed <= after);
    // Newest first: the skew-corrected events sit where they really happened.
    let order: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(order[3], "plain");
    assert_eq!(order[0], "untimed");

    // The stored message keeps the client's time.
    let stored = app.get("/v1/messages/skewed").await["message"].clone();
    assert_eq!(stored["originalTimestamp"], format_timestamp(client_ts));
    assert_eq!(stored["timestamp"], format_timestamp(skewed));
    let received = parse_timestamp(stored["receivedAt"].as_str().unwrap()).unwrap();
    assert_eq!(skewed, received - 5 * SECOND);
    let stored = app.get("/v1/messages/plain").await["message"].clone();
    assert!(stored.get("originalTimestamp").is_none(), "{stored}");
}

#[tokio::test(flavor = "multi_thread")]
async fn identify_merges_anonymous_history_into_the_user_profile() {
    let app = App::start().await;
    for (i, cat) in ["model", "financing"].iter().enumerate() {
        app.ingest(
            "/v1/page",
            &json!({"anonymousId": "a1", "name": "Page", "messageId": format!("p{i}"),
                    "properties": {"category": cat}}),
        )
        .await
        .expect(200);
    }
    let anon = app.get("/v1/profiles/a1").await;
    assert_eq!(anon["id"], "anon:a1");
    assert_eq!(anon["events"], 2);
    assert!(
        (anon["score"].as_f64().unwrap() - 9.0).abs() < 0.01,
        "{anon}"
    );
    assert_eq!(app.profile_count().await, 1);

    app.ingest(
        "/v1/identify",
        &json!({"userId": "u1", "anonymousId": "a1", "traits": {"email": "Ola@Example.com"}}),
    )
    .await
    .expect(200);
    let p = app.get("/v1/profiles/user:u1").await;
    assert_eq!(p["id"], "user:u1");
    assert_eq!(p["ids"], json!(["anon:a1", "user:u1"]));
    assert_eq!(p["events"], 3);
    assert!((p["score"].as_f64().unwrap() - 9.0).abs() < 0.01, "{p}");
    // Any id of the profile finds it.
    for id in ["a1", "anon:a1", "u1"] {
        assert_eq!(
            app.get(&format!("/v1/profiles/{id}")).await["id"],
            "user:u1",
            "{id}"
        );
    }
    let timeline = app.get("/v1/profiles/anon:a1/events").await;
    assert_eq!(timeline["id"], "user:u1");
    assert_eq!(timeline["total"], 3);
    assert_eq!(app.profile_count().await, 1);
    let found = app.get("/v1/search?q=ola%40example.com").await;
    assert_eq!(found["items"][0]["id"], "user:u1");
}
