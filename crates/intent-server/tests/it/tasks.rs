//! The follow-up desk through the router: tasks opened by tiers, the task commands and their
//! rules, the SLA report, webhook subscriptions and their deliveries, admin access.

use crate::harness::{App, Auth, closed_url, now};
use axum::http::Method;
use intent_core::time::{format_timestamp, parse_timestamp};
use serde_json::{Value, json};

/// A tap on "ask for a person" at a Warsaw kiosk: the `ask_person` override forces hot.
async fn ask_person(app: &App, user: &str) {
    let ack = app
        .ingest(
            "/v1/track",
            &json!({"userId": user, "event": "CTA Tapped",
                    "properties": {"cta": "ask_person", "location": "warszawa"},
                    "context": {"channel": "showroom"}}),
        )
        .await
        .expect(200);
    assert_eq!(ack["success"], true, "{ack}");
}

/// Waits until `profile` has an open task (the desk opens it after the ingest is answered)
/// and returns it.
async fn open_task(app: &App, profile: &str) -> Value {
    let list = app
        .wait_for(&format!("/v1/tasks?profile={profile}"), |v| v["total"] == 1)
        .await;
    list["tasks"][0].clone()
}

/// Ids of a task list.
fn ids(list: &Value) -> Vec<i64> {
    list["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

fn ms(v: &Value) -> i64 {
    parse_timestamp(v.as_str().unwrap_or_else(|| panic!("{v} is not a time")))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// A task's list entry without what depends on the moment it is read.
fn stable(task: &Value) -> Value {
    let mut t = task.clone();
    t.as_object_mut().expect("task").remove("due_in_s");
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ask_person_tap_opens_a_task_for_the_warsaw_team() {
    let app = App::start().await;
    let before = now();
    ask_person(&app, "ask").await;
    // A cold visitor gets no task.
    app.ingest(
        "/v1/page",
        &json!({"anonymousId": "browser", "name": "City car",
                "properties": {"category": "model", "location": "warszawa"}}),
    )
    .await
    .expect(200);

    let list = app.wait_for("/v1/tasks", |v| v["total"] == 1).await;
    assert_eq!((&list["offset"], &list["limit"]), (&json!(0), &json!(50)));
    let t = &list["tasks"][0];
    assert_eq!(t["id"], 1, "{t}");
    assert_eq!(t["profile"], "user:ask");
    assert_eq!(t["status"], "open");
    assert_eq!(t["tier"], "hot");
    assert_eq!(t.get("rank"), None, "internal: {t}");
    assert_eq!(t["override_id"], "ask_person");
    assert_eq!(t["reason"], "Asked for a person at the kiosk");
    assert_eq!(t["playbook"], "ask_person");
    assert_eq!(t["channel"], "in_showroom");
    assert_eq!(
        t["steps"],
        json!([
            "Go to the kiosk now; the customer asked for a person",
            "Offer a coffee and a test drive today"
        ])
    );
    assert_eq!(t["sla"], "15m");
    // The first team that serves Warsaw, its first member (round robin from the start).
    assert_eq!(t["team"], "waw");
    assert_eq!(t["owner"], "anna.kowalska");
    assert_eq!(t["manager"], "marta.zielinska");
    assert_eq!(t["location"], "warszawa");
    assert_eq!(t["score"], 0.0);
    for key in [
        "escalated_to",
        "claimed_by",
        "claimed_at",
        "snoozed_until",
        "closed_at",
        "result",
        "note",
        "breached_at",
        "closed_reason",
        "sla_met",
    ] {
        assert_eq!(t.get(key), Some(&Value::Null), "{key}: {t}");
    }
    assert_eq!(
        (&t["overdue"], &t["snoozed"]),
        (&json!(false), &json!(false))
    );
    // Fifteen minutes of opening hours: at least 15 minutes away, later when the showroom
    // is closed now.
    let (created, due) = (ms(&t["created_at"]), ms(&t["due_at"]));
    assert!(created >= before && created <= now(), "{t}");
    assert!(due - created >= 15 * 60_000, "{t}");
    let due_in = t["due_in_s"].as_i64().expect("due_in_s");
    assert!(due_in > 0 && due_in <= (due - created) / 1000, "{t}");
    assert_eq!(
        t["log"],
        json!([{"at": t["created_at"], "what": "created", "detail": format!("due {}", t["due_at"].as_str().unwrap())}])
    );

    // One task by id; an unknown id is a 404, a word a 400.
    let one = app.get("/v1/tasks/1").await;
    assert_eq!(stable(&one), stable(t));
    let e = app
        .get_as("/v1/tasks/2", &app.bearer())
        .await
        .expect_error(404, "not_found");
    assert_eq!(e["message"], "no task 2");
    let e = app
        .get_as("/v1/tasks/first", &app.bearer())
        .await
        .expect_error(400, "invalid_id");
    assert_eq!(
        (&e["field"], &e["message"]),
        (&json!("id"), &json!("`first` is not a task id"))
    );

    // Filters, alone and together.
    for (query, want) in [
        ("tier=hot", vec![1]),
        ("tier=warm", vec![]),
        ("owner=anna.kowalska", vec![1]),
        ("owner=piotr.wisniewski", vec![]),
        ("team=waw", vec![1]),
        ("team=bdc", vec![]),
        ("location=warszawa", vec![1]),
        ("location=krakow", vec![]),
        ("profile=user:ask", vec![1]),
        ("profile=anon:browser", vec![]),
        ("status=open", vec![1]),
        ("status=done", vec![]),
        ("status=expired", vec![]),
        ("tier=hot&location=krakow", vec![]),
        ("tier=hot&owner=anna.kowalska&location=warszawa", vec![1]),
        ("limit=1&offset=1", vec![]),
    ] {
        let list = app.get(&format!("/v1/tasks?{query}")).await;
        assert_eq!(ids(&list), want, "{query}: {list}");
    }
    assert_eq!(app.get("/v1/tasks?limit=1&offset=1").await["total"], 1);
    let e = app
        .get_as("/v1/tasks?status=closed", &app.bearer())
        .await
        .expect_error(400, "invalid_filter");
    assert_eq!(e["field"], "status");
    assert_eq!(
        e["message"],
        "no status `closed`; use open, done, expired or merged"
    );
    let e = app
        .get_as("/v1/tasks?tier=lukewarm", &app.bearer())
        .await
        .expect_error(400, "invalid_filter");
    assert_eq!(e["field"], "tier");
    assert_eq!(
        e["message"],
        "no tier `lukewarm`; the plan's tiers are hot, warm, cold"
    );
    // A query that does not decode is the HTTP layer's plain-text 400.
    let r = app.get_as("/v1/tasks?limit=many", &app.bearer()).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));

    // The profile shows its stage (hot is a sales qualified lead) and its tasks.
    let p = app.get("/v1/profiles/ask").await;
    assert_eq!(
        p["stage"],
        json!({"id": "sql", "label": "Sales qualified lead"})
    );
    assert_eq!(
        p["tasks"],
        json!([{"id": 1, "status": "open", "tier": "hot", "owner": "anna.kowalska",
                "due_at": t["due_at"], "result": null}])
    );
    let cold = app.get("/v1/profiles/browser").await;
    assert_eq!(cold.get("stage"), Some(&Value::Null), "{cold}");
    assert_eq!(cold["tasks"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_snooze_reassign_and_complete_follow_the_rules() {
    let app = App::start().await;
    let admin = app.bearer();
    ask_person(&app, "ask").await;
    assert_eq!(open_task(&app, "user:ask").await["id"], 1);

    // Claim: the claimer owns it; someone else cannot take it over.
    let t = app
        .post(
            "/v1/tasks/1/claim",
            &admin,
            &json!({"by": "piotr.wisniewski"}),
        )
        .await
        .expect(200);
    assert_eq!(t["claimed_by"], "piotr.wisniewski", "{t}");
    assert_eq!(t["owner"], "piotr.wisniewski");
    assert!(ms(&t["claimed_at"]) >= ms(&t["created_at"]));
    assert_eq!(
        t["log"][1],
        json!({"at": t["claimed_at"], "what": "claimed", "by": "piotr.wisniewski"})
    );
    for body in [json!({"by": "kamil.mazur"}), json!({})] {
        let e = app
            .post("/v1/tasks/1/claim", &admin, &body)
            .await
            .expect_error(409, "task_conflict");
        assert_eq!(
            e["message"],
            "task 1 is claimed by piotr.wisniewski; reassign it first"
        );
    }
    // Claiming again as the same person is fine.
    let again = app
        .post(
            "/v1/tasks/1/claim",
            &admin,
            &json!({"by": "piotr.wisniewski"}),
        )
        .await
        .expect(200);
    assert_eq!(again["claimed_by"], "piotr.wisniewski");

    // Reassign needs an owner; it releases the claim.
    for body in [json!({}), json!({"owner": "  "})] {
        let e = app
            .post("/v1/tasks/1/reassign", &admin, &body)
            .await
            .expect_error(400, "invalid_body");
        assert_eq!(
            (&e["field"], &e["message"]),
            (&json!("owner"), &json!("give the new `owner`"))
        );
    }
    let t = app
        .post(
            "/v1/tasks/1/reassign",
            &admin,
            &json!({"owner": "kamil.mazur"}),
        )
        .await
        .expect(200);
    assert_eq!(t["owner"], "kamil.mazur", "{t}");
    assert_eq!(
        (&t["claimed_by"], &t["claimed_at"]),
        (&Value::Null, &Value::Null)
    );
    let log = t["log"].as_array().unwrap();
    assert_eq!(log.len(), 4, "{t}");
    assert_eq!(log[3]["what"], "reassigned");
    assert_eq!(log[3]["by"], "admin", "the admin token's name by default");
    assert_eq!(log[3]["detail"], "piotr.wisniewski → kamil.mazur");
    assert_eq!(ids(&app.get("/v1/tasks?owner=kamil.mazur").await), [1]);
    assert_eq!(
        ids(&app.get("/v1/tasks?owner=anna.kowalska").await),
        Vec::<i64>::new()
    );

    // Snooze: `until` (a time) or `for` (a duration), in the future.
    let past = format_timestamp(now() - 60_000);
    for (body, field, message) in [
        (
            json!({}),
            "until",
            "give `until` (an ISO-8601 time) or `for` (e.g. `2h`)",
        ),
        (
            json!({"until": past, "for": "2h"}),
            "for",
            "give `until` or `for`, not both",
        ),
    ] {
        let e = app
            .post("/v1/tasks/1/snooze", &admin, &body)
            .await
            .expect_error(400, "invalid_body");
        assert_eq!(
            (&e["field"], &e["message"]),
            (&json!(field), &json!(message)),
            "{body}"
        );
    }
    let e = app
        .post("/v1/tasks/1/snooze", &admin, &json!({"for": "a while"}))
        .await
        .expect_error(400, "invalid_body");
    assert_eq!(e["field"], "for");
    let e = app
        .post("/v1/tasks/1/snooze", &admin, &json!({"until": "tomorrow"}))
        .await
        .expect_error(400, "invalid_body");
    assert_eq!(e["field"], "until");
    let e = app
        .post("/v1/tasks/1/snooze", &admin, &json!({"until": past}))
        .await
        .expect_error(400, "invalid_body");
    assert_eq!(e["message"], format!("`until` {past} is not in the future"));
    assert_eq!(e["field"], "until");
    let e = app
        .post(
            "/v1/tasks/1/snooze",
            &admin,
            &json!({"for": "2h", "later": true}),
        )
        .await
        .expect_error(400, "invalid_body");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `later`"),
        "{e}"
    );
    let asked = now();
    let t = app
        .post("/v1/tasks/1/snooze", &admin, &json!({"for": "2h"}))
        .await
        .expect(200);
    let until = ms(&t["snoozed_until"]);
    assert!(
        until >= asked + 7_200_000 && until <= now() + 7_200_000,
        "{t}"
    );
    assert_eq!(
        (&t["status"], &t["snoozed"]),
        (&json!("open"), &json!(true))
    );
    // Hidden from the queue, shown when asked for.
    assert_eq!(app.get("/v1/tasks").await["total"], 0);
    assert_eq!(ids(&app.get("/v1/tasks?snoozed=true").await), [1]);
    assert_eq!(
        ids(&app.get("/v1/tasks?status=open&snoozed=true").await),
        [1]
    );

    // Complete: a valid result (spaces allowed), once.
    for body in [json!({}), json!({"result": "maybe"})] {
        let e = app
            .post("/v1/tasks/1/complete", &admin, &body)
            .await
            .expect_error(400, "invalid_body");
        assert_eq!(e["field"], "result", "{body}");
        assert_eq!(
            e["message"],
            "give a `result`: one of contacted, no_answer, appointment_set, not_interested, wrong_person"
        );
    }
    let e = app
        .post(
            "/v1/tasks/999/complete",
            &admin,
            &json!({"result": "contacted"}),
        )
        .await
        .expect_error(404, "not_found");
    assert_eq!(e["message"], "no task 999");
    let note = "Test drive on Saturday at 10:00";
    let t = app
        .post(
            "/v1/tasks/1/complete",
            &admin,
            &json!({"result": "appointment set", "note": note, "by": "kamil.mazur"}),
        )
        .await
        .expect(200);
    assert_eq!(t["status"], "done", "{t}");
    assert_eq!(t["result"], "appointment_set");
    assert_eq!(t["note"], note);
    assert_eq!(t["owner"], "kamil.mazur");
    assert_eq!(t["sla_met"], true);
    assert_eq!(t["overdue"], false);
    let closed = ms(&t["closed_at"]);
    assert!(closed >= asked && closed <= now(), "{t}");
    let last = t["log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({"at": t["closed_at"], "what": "completed", "by": "kamil.mazur", "detail": "appointment_set"})
    );
    // A closed task takes no more commands.
    for (path, body) in [
        ("complete", json!({"result": "contacted"})),
        ("claim", json!({})),
        ("snooze", json!({"for": "1h"})),
        ("reassign", json!({"owner": "anna.kowalska"})),
    ] {
        let e = app
            .post(&format!("/v1/tasks/1/{path}"), &admin, &body)
            .await
            .expect_error(409, "task_conflict");
        assert_eq!(e["message"], "task 1 is done, not open", "{path}");
    }
    // Gone from the open queue, snoozed or not; no longer snoozed nor due.
    assert_eq!(app.get("/v1/tasks?snoozed=true").await["total"], 0);
    let shown = app.get("/v1/tasks/1").await;
    assert_eq!(shown["status"], "done");
    assert_eq!(
        (&shown["snoozed"], &shown["due_in_s"]),
        (&json!(false), &Value::Null)
    );

    // The result is an event in the profile's history, and the profile shows it.
    let events = app.get("/v1/profiles/ask/events").await;
    assert_eq!(events["total"], 2, "{events}");
    let e = &events["items"][0];
    assert_eq!(e["name"], "Task Completed", "{events}");
    assert_eq!((&e["type"], &e["userId"]), (&json!("track"), &json!("ask")));
    assert_eq!(e["timestamp"], t["closed_at"]);
    let id = e["messageId"].as_str().unwrap();
    assert!(
        id.starts_with("task-") && id.ends_with("-1-completed"),
        "{id}"
    );
    let props = &e["properties"];
    assert_eq!(props["task_id"], 1, "{e}");
    assert_eq!(props["result"], "appointment_set");
    assert_eq!(props["note"], note);
    assert_eq!(props["owner"], "kamil.mazur");
    assert_eq!(props["tier"], "hot");
    assert_eq!(props["playbook"], "ask_person");
    assert_eq!(props["contact_channel"], "in_showroom");
    assert_eq!(props["location"], "warszawa");
    assert_eq!(props["sla_met"], true);
    let p = app.get("/v1/profiles/ask").await;
    assert_eq!(p["stage"]["id"], "sql", "{p}");
    assert_eq!(p["events"], 2);
    assert_eq!(
        p["tasks"],
        json!([{"id": 1, "status": "done", "tier": "hot", "owner": "kamil.mazur",
                "due_at": t["due_at"], "result": "appointment_set"}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_snoozed_then_completed_is_listed_as_done() {
    let app = App::start().await;
    ask_person(&app, "ask").await;
    open_task(&app, "user:ask").await;
    let admin = app.bearer();
    app.post("/v1/tasks/1/snooze", &admin, &json!({"for": "1h"}))
        .await
        .expect(200);
    app.post(
        "/v1/tasks/1/complete",
        &admin,
        &json!({"result": "contacted"}),
    )
    .await
    .expect(200);
    // The snooze hid it from the open queue; a done task is not in that queue any more.
    let done = app.get("/v1/tasks?status=done").await;
    assert_eq!(ids(&done), [1], "{done}");
    assert_eq!(done["tasks"][0]["result"], "contacted");
}

/// An SLA report row with its counts (what does not depend on timing).
fn counts(row: &Value) -> Value {
    json!({
        "key": row["key"], "tasks": row["tasks"], "open": row["open"],
        "completed": row["completed"], "met": row["met"], "missed": row["missed"],
        "compliance": row["compliance"], "appointments": row["appointments"],
    })
}

fn row(key: &str, open: u64, met: u64, appointments: u64) -> Value {
    json!({
        "key": key, "tasks": 1, "open": open, "completed": 1 - open, "met": met, "missed": 0,
        "compliance": if met == 1 { json!(1.0) } else { Value::Null },
        "appointments": appointments,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_appointment_makes_a_warm_lead_sql_and_counts_in_the_sla_report() {
    let app = App::start().await;
    app.ingest(
        "/v1/track",
        &json!({"userId": "warm", "event": "Form Submitted", "properties": {"form": "contact"}}),
    )
    .await
    .expect(200);
    let t = open_task(&app, "user:warm").await;
    // 30 points: warm, an e-mail within a business day, for the call centre (no location).
    assert_eq!(
        (&t["tier"], &t["playbook"], &t["channel"], &t["sla"]),
        (
            &json!("warm"),
            &json!("warm_email"),
            &json!("email"),
            &json!("1bd")
        ),
        "{t}"
    );
    assert_eq!(
        (&t["team"], &t["owner"], &t["manager"]),
        (
            &json!("bdc"),
            &json!("karolina.duda"),
            &json!("adam.krawczyk")
        )
    );
    assert_eq!(
        (&t["override_id"], &t["location"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(t["reasons"], json!(["Sent a contact or test-drive form"]));
    let p = app.get("/v1/profiles/warm").await;
    assert_eq!(
        p["stage"],
        json!({"id": "mql", "label": "Marketing qualified lead"}),
        "{p}"
    );

    let week = {
        let zone = jiff::tz::TimeZone::get("Europe/Warsaw").unwrap();
        let at = jiff::Timestamp::from_millisecond(ms(&t["created_at"])).unwrap();
        let w = at.to_zoned(zone).date().iso_week_date();
        format!("{}-W{:02}", w.year(), w.week())
    };
    let report = app.get("/v1/reports/sla").await;
    assert_eq!(counts(&report["total"]), row("all", 1, 0, 0), "{report}");
    assert_eq!(report["total"]["speed_median_s"], Value::Null);

    let t = app
        .post(
            "/v1/tasks/1/complete",
            &app.bearer(),
            &json!({"result": "appointment_set"}),
        )
        .await
        .expect(200);
    assert_eq!(t["owner"], "karolina.duda");
    assert_eq!(app.get("/v1/tasks").await["total"], 0);
    let done = app.get("/v1/tasks?status=done").await;
    assert_eq!(ids(&done), [1]);
    assert_eq!(done["tasks"][0]["result"], "appointment_set");
    // An appointment makes a sales qualified lead whatever the tier.
    let p = app.get("/v1/profiles/warm").await;
    assert_eq!(p["tier"], "warm", "{p}");
    assert_eq!(
        p["stage"],
        json!({"id": "sql", "label": "Sales qualified lead"})
    );

    let report = app.get("/v1/reports/sla").await;
    assert_eq!(counts(&report["total"]), row("all", 0, 1, 1), "{report}");
    let speed = report["total"]["speed_median_s"].as_f64().expect("speed");
    let took = (ms(&t["closed_at"]) - ms(&t["created_at"])) as f64 / 1000.0;
    assert!((speed - took).abs() < 1e-9, "{speed} vs {took}");
    assert_eq!(
        report["total"]["speed_p90_s"],
        report["total"]["speed_median_s"]
    );
    for (group, key) in [
        ("by_tier", "warm"),
        ("by_owner", "karolina.duda"),
        ("by_location", "unknown"),
        ("by_week", week.as_str()),
    ] {
        let rows = report[group].as_array().expect(group);
        assert_eq!(rows.len(), 1, "{group}: {report}");
        assert_eq!(counts(&rows[0]), row(key, 0, 1, 1), "{group}");
    }
    assert_eq!(
        (&report["from"], &report["to"]),
        (&Value::Null, &Value::Null)
    );
    let at = ms(&report["now"]);
    assert!(at >= ms(&t["closed_at"]) && at <= now());

    // A window: tasks opened in [from, to).
    let hour_ago = format_timestamp(now() - 3_600_000);
    let in_an_hour = format_timestamp(now() + 3_600_000);
    let r = app
        .get(&format!("/v1/reports/sla?from={hour_ago}&to={in_an_hour}"))
        .await;
    assert_eq!(counts(&r["total"]), row("all", 0, 1, 1), "{r}");
    assert_eq!(
        (&r["from"], &r["to"]),
        (&json!(hour_ago), &json!(in_an_hour))
    );
    for query in [format!("from={in_an_hour}"), format!("to={hour_ago}")] {
        let r = app.get(&format!("/v1/reports/sla?{query}")).await;
        assert_eq!(r["total"]["tasks"], 0, "{query}: {r}");
        assert_eq!(r["by_tier"], json!([]), "{query}");
    }
    for field in ["from", "to"] {
        let e = app
            .get_as(&format!("/v1/reports/sla?{field}=last-week"), &app.bearer())
            .await
            .expect_error(400, "invalid_query");
        assert_eq!(e["field"], field);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("`{field}`: ")),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_subscriptions_are_validated_listed_and_disabled() {
    let app = App::start().await;
    let admin = app.bearer();
    for (body, field, message) in [
        (
            json!({"url": "ftp://example.com/hook"}),
            "url",
            "`ftp://example.com/hook` is not an http:// or https:// URL",
        ),
        (
            json!({"url": "http://x"}),
            "url",
            "`http://x` is not an http:// or https:// URL",
        ),
        (
            json!({"url": "https://example.com/hook", "events": ["task.opened"]}),
            "events[0]",
            "no event `task.opened`; events are: tier.changed, override.fired, task.created, \
             task.raised, task.claimed, task.reassigned, task.completed, task.expired, sla.breached",
        ),
        (
            json!({"url": "https://example.com/hook", "tiers": ["hot", "lukewarm"]}),
            "tiers[1]",
            "no tier `lukewarm`; tiers are: hot, warm, cold",
        ),
    ] {
        let e = app
            .post("/v1/webhooks", &admin, &body)
            .await
            .expect_error(400, "invalid_body");
        assert_eq!(
            (&e["field"], &e["message"]),
            (&json!(field), &json!(message)),
            "{body}"
        );
    }
    let e = app
        .post(
            "/v1/webhooks",
            &admin,
            &json!({"url": "https://example.com/hook", "events": ["task.created", "sla.late"]}),
        )
        .await
        .expect_error(400, "invalid_body");
    assert_eq!(e["field"], "events[1]");
    for body in [
        json!({}),
        json!({"url": "https://example.com/hook", "secret": "mine"}),
    ] {
        let e = app
            .post("/v1/webhooks", &admin, &body)
            .await
            .expect_error(400, "invalid_body");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("the body is not a valid subscription: "),
            "{e}"
        );
    }
    assert_eq!(app.get("/v1/webhooks").await["subscriptions"], json!([]));

    let made = app
        .post(
            "/v1/webhooks",
            &admin,
            &json!({"url": " https://crm.example.com/intent ", "events": ["task.created", "sla.breached"],
                    "tiers": ["hot", "disqualified"], "locations": ["warszawa"]}),
        )
        .await
        .expect(201);
    let id = made["id"].as_str().expect("id").to_string();
    assert!(
        id.len() == 20 && id.starts_with("sub_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    // The signing secret is shown once: `whsec_` and the base64 of 24 bytes.
    let secret = made["secret"].as_str().expect("secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 32,
        "{secret}"
    );
    assert_eq!(made["url"], "https://crm.example.com/intent", "trimmed");
    assert_eq!(made["events"], json!(["task.created", "sla.breached"]));
    assert_eq!(made["tiers"], json!(["hot", "disqualified"]));
    assert_eq!(made["locations"], json!(["warszawa"]));
    assert_eq!(made["disabled"], false);
    let created = ms(&made["created_at"]);
    assert!(created <= now() && created > now() - 60_000);
    let other = app
        .post(
            "/v1/webhooks",
            &admin,
            &json!({"url": "http://127.0.0.1:1/all"}),
        )
        .await
        .expect(201);
    assert_ne!(other["secret"], made["secret"]);
    assert_eq!(
        (&other["events"], &other["tiers"], &other["locations"]),
        (&json!([]), &json!([]), &json!([]))
    );

    // Listed oldest first, without secrets.
    let list = app.get("/v1/webhooks").await;
    let subs = list["subscriptions"].as_array().expect("subscriptions");
    assert_eq!(subs.len(), 2, "{list}");
    assert_eq!(
        (&subs[0]["id"], &subs[1]["id"]),
        (&made["id"], &other["id"])
    );
    assert!(subs.iter().all(|s| s.get("secret").is_none()), "{list}");
    assert_eq!(subs[0]["url"], "https://crm.example.com/intent");
    assert_eq!(subs[0]["events"], made["events"]);
    assert_eq!(subs[0]["disabled"], false);
    assert_eq!(subs[0]["created_at"], made["created_at"]);
    assert_eq!(
        list["deliveries"],
        json!({"pending": 0, "delivered": 0, "dead": 0})
    );

    // Removing disables it (its history stays); an unknown id is a 404.
    let r = app.delete_as(&format!("/v1/webhooks/{id}"), &admin).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text());
    assert!(r.body.is_empty());
    let subs = app.get("/v1/webhooks").await["subscriptions"].clone();
    assert_eq!(
        (&subs[0]["disabled"], &subs[1]["disabled"]),
        (&json!(true), &json!(false))
    );
    let e = app
        .delete_as("/v1/webhooks/sub_0000000000000000", &admin)
        .await
        .expect_error(404, "not_found");
    assert_eq!(e["message"], "no subscription sub_0000000000000000");
}

/// The kinds of a delivery list, newest first.
fn kinds(list: &Value) -> Vec<&str> {
    list["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn announcements_after_subscribing_become_deliveries_that_record_failures() {
    let app = App::start().await;
    let admin = app.bearer();
    let url = closed_url();
    let subscribe = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let v = app.post("/v1/webhooks", admin, &body).await.expect(201);
            v["id"].as_str().expect("id").to_string()
        }
    };
    let all = subscribe(json!({"url": url})).await;
    let warsaw =
        subscribe(json!({"url": url, "events": ["task.created"], "locations": ["warszawa"]})).await;
    let krakow =
        subscribe(json!({"url": url, "events": ["task.created"], "locations": ["krakow"]})).await;
    let warm = subscribe(json!({"url": url, "tiers": ["warm"]})).await;

    ask_person(&app, "ask").await;

    // Every announcement for `all`; only what passes the filters for the others; nothing
    // made before it for a subscription added later.
    let uri = format!("/v1/webhooks/deliveries?subscription={all}");
    let list = app
        .wait_for(&uri, |v| {
            v["deliveries"].as_array().is_some_and(|d| {
                d.len() == 3 && d.iter().all(|d| d["attempts"].as_u64() >= Some(1))
            })
        })
        .await;
    // The announcements are committed (they have deliveries): a subscription made now is late.
    let late = subscribe(json!({"url": url})).await;
    assert_eq!(
        kinds(&list),
        ["task.created", "tier.changed", "override.fired"]
    );
    let mut event_ids = Vec::new();
    for d in list["deliveries"].as_array().unwrap() {
        assert_eq!(d["subscription"], all.as_str());
        // The connection is refused: a failed attempt, retried later.
        assert_eq!(d["status"], "pending", "{d}");
        let error = d["last_error"].as_str().expect("last_error");
        assert!(error.starts_with("request failed"), "{error}");
        assert_eq!(
            (&d["last_status"], &d["delivered_at"]),
            (&Value::Null, &Value::Null)
        );
        assert!(ms(&d["next_at"]) > ms(&d["created_at"]), "{d}");
        assert_eq!(d["payload"]["type"], d["kind"]);
        assert!(d["payload"]["timestamp"].is_string());
        event_ids.push(d["event_id"].as_str().unwrap().to_string());
    }
    assert!(
        event_ids.iter().all(|e| e.starts_with("evt_")),
        "{event_ids:?}"
    );
    assert_eq!(
        list["deliveries"][0]["payload"]["data"]["owner"],
        "anna.kowalska"
    );
    assert_eq!(list["deliveries"][1]["payload"]["data"]["to"], "hot");
    assert_eq!(list["deliveries"][1]["payload"]["data"]["from"], "cold");
    assert_eq!(
        list["deliveries"][2]["payload"]["data"]["override"],
        "ask_person"
    );
    let only = app
        .get(&format!("/v1/webhooks/deliveries?subscription={warsaw}"))
        .await;
    assert_eq!(kinds(&only), ["task.created"]);
    assert_eq!(only["deliveries"][0]["event_id"], event_ids[0].as_str());
    for id in [&krakow, &warm, &late] {
        let none = app
            .get(&format!("/v1/webhooks/deliveries?subscription={id}"))
            .await;
        assert_eq!(none["deliveries"], json!([]), "{id}");
    }

    // Every delivery, newest first; filters and the cursor.
    let every = app.get("/v1/webhooks/deliveries").await;
    assert_eq!(
        kinds(&every),
        [
            "task.created",
            "task.created",
            "tier.changed",
            "override.fired"
        ]
    );
    let newest = every["deliveries"][0]["id"].as_i64().unwrap();
    let ids: Vec<i64> = every["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(
        kinds(&app.get("/v1/webhooks/deliveries?status=pending").await).len(),
        4
    );
    for status in ["delivered", "dead"] {
        let r = app
            .get(&format!("/v1/webhooks/deliveries?status={status}"))
            .await;
        assert_eq!(r["deliveries"], json!([]), "{status}");
    }
    let page = app.get("/v1/webhooks/deliveries?limit=1").await;
    assert_eq!(page["deliveries"][0]["id"], newest);
    assert_eq!(page["deliveries"].as_array().unwrap().len(), 1);
    let rest = app
        .get(&format!("/v1/webhooks/deliveries?before={newest}"))
        .await;
    assert_eq!(
        kinds(&rest),
        ["task.created", "tier.changed", "override.fired"]
    );
    let e = app
        .get_as("/v1/webhooks/deliveries?status=failed", &admin)
        .await
        .expect_error(400, "invalid_filter");
    assert_eq!(e["field"], "status");
    assert_eq!(
        e["message"],
        "no status `failed`; use pending, delivered or dead"
    );
    assert_eq!(
        app.get("/v1/webhooks").await["deliveries"],
        json!({"pending": 4, "delivered": 0, "dead": 0})
    );

    // Replay: an unknown delivery is a 404; a known one is due again at once.
    let e = app
        .post("/v1/webhooks/deliveries/999999/replay", &admin, &json!({}))
        .await
        .expect_error(404, "not_found");
    assert_eq!(e["message"], "no delivery 999999");
    let e = app
        .post("/v1/webhooks/deliveries/latest/replay", &admin, &json!({}))
        .await
        .expect_error(400, "invalid_id");
    assert_eq!(
        (&e["field"], &e["message"]),
        (&json!("id"), &json!("`latest` is not a delivery id"))
    );
    let asked = now();
    let r = app
        .post(
            &format!("/v1/webhooks/deliveries/{newest}/replay"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text());
    assert!(r.body.is_empty());
    // Tried again at once (and refused again): its next attempt is planned after the replay.
    app.wait_for("/v1/webhooks/deliveries?limit=1", |v| {
        let d = &v["deliveries"][0];
        d["attempts"].as_u64() >= Some(1) && ms(&d["next_at"]) > asked + 1_000
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_desk_route_needs_an_admin_token() {
    let app = App::start().await;
    let routes = [
        (Method::GET, "/v1/tasks"),
        (Method::GET, "/v1/tasks/1"),
        (Method::POST, "/v1/tasks/1/claim"),
        (Method::POST, "/v1/tasks/1/snooze"),
        (Method::POST, "/v1/tasks/1/reassign"),
        (Method::POST, "/v1/tasks/1/complete"),
        (Method::GET, "/v1/reports/sla"),
        (Method::GET, "/v1/webhooks"),
        (Method::POST, "/v1/webhooks"),
        (Method::DELETE, "/v1/webhooks/sub_1"),
        (Method::GET, "/v1/webhooks/deliveries"),
        (Method::POST, "/v1/webhooks/deliveries/1/replay"),
    ];
    let body = json!({"url": "https://example.com/hook", "result": "contacted"}).to_string();
    // No token or an unknown one: 401; a write key (as Basic or as a bearer token): 403.
    let refusals = [
        (
            Auth::None,
            401,
            "unauthorized",
            "no admin token: send `Authorization: Bearer <token>`",
        ),
        (
            Auth::Bearer("ia_not_a_token".into()),
            401,
            "unauthorized",
            "the admin token is not valid",
        ),
        (
            app.basic(),
            403,
            "forbidden",
            "a write key cannot read: use an admin token",
        ),
        (
            Auth::Bearer(app.write.clone()),
            403,
            "forbidden",
            "a write key cannot read: use an admin token",
        ),
    ];
    for (method, uri) in &routes {
        for (auth, status, code, message) in &refusals {
            let r = app.send(method.clone(), uri, auth, &[], body.clone()).await;
            let e = r.expect_error(*status, code);
            assert_eq!(e["message"], *message, "{method} {uri} {auth:?}");
            assert_eq!(e["field"], "", "{method} {uri}");
            let challenge = (*status == 401).then_some("Basic realm=\"intent\"");
            assert_eq!(r.header("www-authenticate"), challenge, "{method} {uri}");
        }
    }
    // Nothing was made or changed by the refused calls.
    assert_eq!(app.get("/v1/webhooks").await["subscriptions"], json!([]));
    assert_eq!(app.get("/v1/tasks?status=done").await["total"], 0);
}

/// A plan whose hot playbook is due in 1 s of an always-open clock, to watch a breach happen.
const QUICK_SLA: &str = r#"
version: 1
name: quick
signals:
  - { id: visit, when: { event: Visit }, points: 10 }
tiers:
  levels:
    - { name: hot, min_score: 30 }
    - { name: cold }
follow_up:
  teams:
    - { id: desk, members: [ola], manager: marta }
  playbooks:
    - { id: call_now, tier: hot, sla: 1s, channel: call, escalate: manager }
"#;

#[tokio::test]
async fn a_missed_deadline_is_breached_once_escalated_and_written_to_history() {
    let app = App::start_with(QUICK_SLA.to_string()).await;
    for i in 0..3 {
        app.ingest(
            "/v1/track",
            &json!({"userId": "late", "event": "Visit", "messageId": format!("v{i}")}),
        )
        .await
        .expect(200);
    }
    let list = app
        .wait_for("/v1/tasks?status=open", |v| v["total"] == 1)
        .await;
    let id = list["tasks"][0]["id"].as_i64().expect("task id");
    assert_eq!(list["tasks"][0]["owner"], "ola");
    // Within a few ticks of the 1 s deadline the task is breached and goes to the manager.
    let task = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
        loop {
            let t = app.get(&format!("/v1/tasks/{id}")).await;
            if !t["breached_at"].is_null() {
                break t;
            }
            assert!(std::time::Instant::now() < deadline, "not breached: {t}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    assert_eq!(task["escalated_to"], "marta");
    assert_eq!(task["overdue"], true);
    assert_eq!(task["sla_met"], false);
    let whats: Vec<&str> = task["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l["what"].as_str())
        .collect();
    assert_eq!(whats, ["created", "escalated", "breached"]);
    // The breach is an event in the person's history, once.
    app.wait_for("/v1/profiles/user:late/events", |v| {
        v["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["name"] == "SLA Breached"))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let events = app.get("/v1/profiles/user:late/events").await;
    let breaches: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["name"] == "SLA Breached")
        .collect();
    assert_eq!(breaches.len(), 1, "{events}");
    assert_eq!(breaches[0]["properties"]["task_id"], id);
    assert_eq!(breaches[0]["properties"]["escalated_to"], "marta");
    // The report counts it as missed.
    let report = app.get("/v1/reports/sla").await;
    assert_eq!(report["total"]["missed"], 1, "{report}");
    assert_eq!(report["total"]["met"], 0, "{report}");
}
