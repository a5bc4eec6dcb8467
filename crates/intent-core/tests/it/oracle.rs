//! The incremental engine against the naive oracle on random event streams: any arrival order,
//! repeated message ids, identities merging late.

use crate::{root, shipped};
use intent_core::engine::Engine;
use intent_core::event::Event;
use intent_core::plan::Plan;
use intent_core::reference::score_all;
use intent_core::score::Scorer;
use intent_core::time::{HOUR, MINUTE, Ts};
use proptest::prelude::*;
use serde_json::{Value, json};

const T0: Ts = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn fixture_plan() -> Plan {
    let path = root().join("crates/intent-core/tests/fixtures/everything.yaml");
    let text = std::fs::read_to_string(path).expect("fixture plan");
    Plan::parse(&text, "everything.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// One random message: (who, what, when). Ids come from a small set so merges are frequent.
fn message() -> impl Strategy<Value = Value> {
    let who = (0..4usize, 0..5usize, 0..10u8);
    let when = 0..(12 * 24 * 60i64); // minutes over 12 days
    let what = prop_oneof![
        4 => (0..4usize, 0..3usize).prop_map(|(c, m)| json!({"type": "page",
            "properties": {"category": (["model", "careers", "home", "financing"][c]),
                           "model": (["corolla", "rav4", "yaris"][m])}})),
        2 => (0..3usize).prop_map(|m| json!({"type": "track", "event": "Offer Downloaded",
            "properties": {"model": (["corolla", "rav4", "yaris"][m])}})),
        5 => (0..4usize, 0..3usize, 0..400u32).prop_map(|(s, k, d)| json!({"type": "screen",
            "properties": {"screen": (["financing", "trade_in", "models", "offers"][s]),
                           "session_id": format!("s{k}"), "duration_s": d,
                           "location": (["Warszawa", "Gdańsk", "Poznań"][k])},
            "context": {"channel": "showroom"}})),
        3 => (0..4usize).prop_map(|c| json!({"type": "track", "event": "CTA Tapped",
            "properties": {"cta": (["test_drive", "service", "ask_person", "financing"][c])},
            "context": {"channel": "showroom"}})),
        1 => Just(json!({"type": "track", "event": "Unsubscribed"})),
        2 => (0..3usize, 0..3usize, 0..2usize).prop_map(|(r, a, e)| json!({"type": "identify",
            "traits": {"region": (["mazowieckie", "pomorskie", "slaskie"][r]),
                       "age_band": (["35-44", "18-24", "45-54"][a]),
                       "email": (["x@example.com", "y@staff.example"][e])}})),
        1 => Just(json!({"type": "alias"})),
    ];
    (who, when, what).prop_map(|((u, a, shape), minute, mut m)| {
        let user = format!("u{u}");
        let anon = format!("a{a}");
        let obj = m.as_object_mut().unwrap();
        let alias = obj["type"] == "alias";
        let identify = obj["type"] == "identify";
        if alias {
            obj.insert("userId".into(), json!(user));
            obj.insert(
                "previousId".into(),
                json!(if shape % 2 == 0 {
                    format!("u{}", (u + 1) % 4)
                } else {
                    anon
                }),
            );
        } else if identify || shape < 3 {
            obj.insert("userId".into(), json!(user));
            if shape % 2 == 0 || identify {
                obj.insert("anonymousId".into(), json!(anon));
            }
        } else {
            obj.insert("anonymousId".into(), json!(anon));
        }
        obj.insert(
            "timestamp".into(),
            json!(intent_core::time::format_timestamp(T0 + minute * MINUTE)),
        );
        m
    })
}

fn events(values: &[Value]) -> Vec<Event> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut v = v.clone();
            v["messageId"] = json!(format!("m{i}"));
            Event::from_json(&v.to_string(), || unreachable!())
                .unwrap_or_else(|e| panic!("{e}: {v}"))
        })
        .collect()
}

fn check(
    plan: Plan,
    values: Vec<Value>,
    order: Vec<usize>,
    dups: Vec<usize>,
) -> Result<(), TestCaseError> {
    let all = events(&values);
    let now = T0 + 13 * 24 * HOUR;
    let expected = score_all(&plan, &all, now);
    let mut engine = Engine::new(Scorer::new(plan));
    for &i in order.iter().chain(dups.iter()) {
        engine.ingest(all[i % all.len()].clone());
    }
    let ids = engine.profile_ids();
    prop_assert_eq!(&ids, &expected.keys().cloned().collect::<Vec<_>>());
    for (id, want) in &expected {
        let got = engine.snapshot(id, now).expect("profile");
        prop_assert!(
            (got.score - want.score).abs() < 1e-6,
            "{id}: score {} vs oracle {}",
            got.score,
            want.score
        );
        prop_assert!(
            (got.fit - want.fit).abs() < 1e-9,
            "{id}: fit {} vs oracle {}",
            got.fit,
            want.fit
        );
        prop_assert_eq!(got.tier, want.tier, "{}: tier", id);
        let ledger = engine.explain(id, now).expect("explanation");
        let sum: f64 = ledger.contributions.iter().map(|c| c.remaining).sum();
        prop_assert!(
            (sum - got.score).abs() < 1e-6,
            "{id}: ledger sums to {sum}, score {}",
            got.score
        );
        let awarded: Vec<f64> = ledger.contributions.iter().map(|c| c.awarded).collect();
        let oracle: Vec<f64> = want.awards.iter().map(|a| a.4).collect();
        prop_assert_eq!(awarded.len(), oracle.len(), "{}: number of awards", id);
        for (g, w) in awarded.iter().zip(&oracle) {
            prop_assert!(
                (g - w).abs() < 1e-9,
                "{id}: awards {awarded:?} vs oracle {oracle:?}"
            );
        }
    }
    Ok(())
}

fn stream() -> impl Strategy<Value = (Vec<Value>, Vec<usize>, Vec<usize>)> {
    prop::collection::vec(message(), 1..60).prop_flat_map(|values| {
        let n = values.len();
        let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        let dups = prop::collection::vec(0..n, 0..5);
        (Just(values), order, dups)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_oracle_on_every_feature((values, order, dups) in stream()) {
        check(fixture_plan(), values, order, dups)?;
    }

    #[test]
    fn engine_equals_oracle_on_the_showroom_plan((values, order, dups) in stream()) {
        check(shipped("showroom.yaml"), values, order, dups)?;
    }

    #[test]
    fn arrival_order_does_not_matter((values, order, _dups) in stream()) {
        let plan = fixture_plan();
        let all = events(&values);
        let now = T0 + 13 * 24 * HOUR;
        let mut a = Engine::new(Scorer::new(plan.clone()));
        let mut b = Engine::new(Scorer::new(plan));
        for e in &all { a.ingest(e.clone()); }
        for &i in &order { b.ingest(all[i].clone()); }
        prop_assert_eq!(a.profile_ids(), b.profile_ids());
        for id in a.profile_ids() {
            prop_assert_eq!(a.snapshot(&id, now), b.snapshot(&id, now));
            prop_assert_eq!(facet_names(&a, &id), facet_names(&b, &id));
            prop_assert_eq!(a.members(&id), b.members(&id));
            let ids = |e: &Engine| e.timeline(&id).iter().map(|x| x.message_id.clone()).collect::<Vec<_>>();
            prop_assert_eq!(ids(&a), ids(&b));
        }
        for text in ["u1", "a2", "x@example.com", "X@EXAMPLE.COM", "pomorskie", "nobody"] {
            prop_assert_eq!(a.search(text), b.search(text));
        }
    }
}

/// A profile's facets with labels as names (label ids depend on arrival order).
fn facet_names(e: &Engine, id: &str) -> (Vec<String>, Option<String>, Vec<(u8, u64)>) {
    let f = e.facets(id).expect("profile");
    (
        f.channels
            .iter()
            .map(|&c| e.label(c).to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        f.location.map(|l| e.label(l).to_string()),
        f.groups.clone(),
    )
}

#[test]
fn timeline_search_and_facets_follow_identity() {
    let plan = shipped("showroom.yaml");
    let mut e = Engine::new(Scorer::new(plan));
    let msgs = [
        json!({"type": "screen", "anonymousId": "kiosk-1", "messageId": "m1", "timestamp": "2026-01-01T10:00:00Z",
               "properties": {"screen": "financing", "location": "Gdańsk"}, "context": {"channel": "showroom"}}),
        json!({"type": "page", "anonymousId": "web-9", "messageId": "m2", "timestamp": "2026-01-02T10:00:00Z",
               "properties": {"category": "model", "model": "rav4", "location": "Warszawa"}, "context": {"channel": "web"}}),
        json!({"type": "identify", "anonymousId": "kiosk-1", "userId": "jan", "messageId": "m3",
               "timestamp": "2026-01-03T10:00:00Z", "traits": {"email": "Jan@Example.pl"}}),
    ];
    // Kept as JSON text, the history explains and lists exactly as kept decoded.
    let mut kept = Engine::new(Scorer::new(shipped("showroom.yaml")));
    for m in &msgs {
        e.ingest(Event::from_json(&m.to_string(), || unreachable!()).unwrap());
        kept.ingest_json(
            Event::from_json(&m.to_string(), || unreachable!()).unwrap(),
            m.to_string(),
        );
    }
    let at = 1_767_500_000_000;
    assert_eq!(e.explain("user:jan", at), kept.explain("user:jan", at));
    assert_eq!(e.timeline("user:jan"), kept.timeline("user:jan"));
    assert_eq!(e.last_event_time("user:jan"), Some(1_767_434_400_000));
    assert_eq!(e.search("jan@example.pl"), vec!["user:jan"]);
    assert_eq!(e.search("kiosk-1"), vec!["user:jan"]);
    assert_eq!(e.search("web-9"), vec!["anon:web-9"]);
    assert!(e.search("nobody").is_empty());
    assert_eq!(e.members("anon:kiosk-1"), vec!["anon:kiosk-1", "user:jan"]);
    let ids: Vec<String> = e
        .timeline("user:jan")
        .iter()
        .map(|x| x.message_id.clone())
        .collect();
    assert_eq!(ids, vec!["m1", "m3"]);
    let (channels, location, _) = facet_names(&e, "user:jan");
    assert_eq!(
        (channels, location),
        (vec!["showroom".to_string()], Some("Gdańsk".to_string()))
    );
    assert_eq!(facet_names(&e, "anon:web-9").1.as_deref(), Some("Warszawa"));
    assert!(e.contains_message("m2") && !e.contains_message("m9"));
    assert_eq!((e.profile_count(), e.event_count()), (2, 3));
    let hot = e.profiles_at(1_767_500_000_000).count();
    assert_eq!(hot, 2);
}

/// Decoding only what a plan reads changes nothing the plan sees.
fn projected_equals_full(plan: &Plan, values: &[Value]) -> Result<(), TestCaseError> {
    let scorer = Scorer::new(plan.clone());
    let projection = plan.projection();
    let (mut a, mut b) = (Default::default(), Default::default());
    for (i, v) in values.iter().enumerate() {
        let mut v = v.clone();
        v["messageId"] = json!(format!("m{i}"));
        // Noise a real SDK sends, which no plan reads.
        v["context"]["library"] = json!({"name": "analytics.js", "version": "5.2.0"});
        v["context"]["page"] = json!({"url": "https://example.pl/x?y=1", "referrer": ""});
        v["properties"]["noise"] = json!([1, {"deep": true}]);
        v["sentAt"] = json!("2026-01-01T00:00:00Z");
        let text = v.to_string();
        let full = Event::from_json(&text, || unreachable!()).unwrap();
        let proj = Event::from_json_projected(&text, &projection, || unreachable!()).unwrap();
        scorer.classify(&full, &mut a);
        scorer.classify(&proj, &mut b);
        prop_assert_eq!(&a, &b, "{}", text);
    }
    Ok(())
}

proptest! {
    #[test]
    fn projection_keeps_what_plans_read(values in prop::collection::vec(message(), 1..40)) {
        for plan in [fixture_plan(), shipped("showroom.yaml"), shipped("starter.yaml"), shipped("ipresso-automotive.yaml")] {
            projected_equals_full(&plan, &values)?;
        }
    }
}

#[test]
fn projection_rejects_what_full_decoding_rejects() {
    let projection = shipped("showroom.yaml").projection();
    for text in [
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2026-01-01T00:00:00Z","properties":"oops"}"#,
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2026-01-01T00:00:00Z","context":[1]}"#,
        r#"{"type":"track","userId":"u","timestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"page","timestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2026-01-01T00:00:00Z"} trailing"#,
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2026-01-01T00:00:00Z","properties":{"a":}}"#,
        r#"[1,2]"#,
    ] {
        let full = Event::from_json(text, || "f".into()).unwrap_err();
        let proj = Event::from_json_projected(text, &projection, || "f".into()).unwrap_err();
        assert_eq!(full.field, proj.field, "{text}");
        if !full.field.is_empty() {
            assert_eq!(full.message, proj.message, "{text}");
        }
    }
}

#[test]
fn changes_and_events_are_found_across_a_merge() {
    let mut e = Engine::new(Scorer::new(shipped("showroom.yaml")));
    e.track_changes(true);
    let msg = |id: &str, body: Value| {
        let mut v = body;
        v["messageId"] = json!(id);
        v["timestamp"] = json!("2026-03-01T10:00:00Z");
        Event::from_json(&v.to_string(), || unreachable!()).unwrap()
    };
    e.ingest(msg(
        "k1",
        json!({"type": "track", "anonymousId": "kiosk-1", "event": "CTA Tapped", "properties": {"cta": "ask_person"}}),
    ));
    assert_eq!(
        e.take_changed(),
        [intent_core::engine::Changed::Profile("anon:kiosk-1".into())]
    );
    e.ingest(msg(
        "i1",
        json!({"type": "identify", "anonymousId": "kiosk-1", "userId": "jan"}),
    ));
    let changed = e.take_changed();
    assert!(
        changed.contains(&intent_core::engine::Changed::Merged {
            from: "anon:kiosk-1".into(),
            into: "user:jan".into()
        }),
        "{changed:?}"
    );
    assert!(changed.contains(&intent_core::engine::Changed::Profile("user:jan".into())));
    // The kiosk's event is in the merged profile's history, found by its id.
    let found = e.find_event("user:jan", "k1").expect("found");
    assert_eq!(
        found.properties.get("cta").and_then(|v| v.as_str()),
        Some("ask_person")
    );
    assert!(e.find_event("user:jan", "nope").is_none());
    assert!(e.take_changed().is_empty());
}
