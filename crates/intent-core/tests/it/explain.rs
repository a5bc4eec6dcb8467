//! The explanations of the shipped plans on a small fixture, pinned as snapshots: which event,
//! which rule, points offered, awarded and left at `now`.

use crate::{root, shipped};
use intent_core::engine::Engine;
use intent_core::event::Event;
use intent_core::explain::Explanation;
use intent_core::score::Scorer;
use intent_core::time::{format_timestamp, parse_timestamp};
use std::fmt::Write;

fn engine(plan: &str) -> Engine {
    let text = std::fs::read_to_string(
        root().join("crates/intent-core/tests/fixtures/showroom-sample.ndjson"),
    )
    .expect("fixture");
    let mut engine = Engine::new(Scorer::new(shipped(plan)));
    for (i, line) in text.lines().enumerate() {
        let event = Event::from_json(line, || format!("line-{i}")).expect("fixture event");
        engine.ingest(event);
    }
    engine
}

/// The ledger as a person reads it, rounded to 3 decimals so the snapshot is stable.
fn render(id: &str, x: &Explanation) -> String {
    let mut out = String::new();
    let since = x.tier_since.map(format_timestamp).unwrap_or_default();
    let grade = x.grade.as_deref().unwrap_or("-");
    writeln!(
        out,
        "{id}: score {:.3}, fit {:.1} (grade {grade}), tier {} since {since}",
        x.score, x.fit, x.tier
    )
    .unwrap();
    if let Some(r) = &x.reason {
        writeln!(out, "  reason: {r}").unwrap();
    }
    for c in &x.contributions {
        let note = c.note.unwrap_or("");
        writeln!(
            out,
            "  {} {:<6} {:<9} {:<22} offered {:>7.3} awarded {:>7.3} left {:>7.3} {note}",
            format_timestamp(c.ts),
            c.message_id,
            c.kind,
            c.rule,
            c.offered,
            c.awarded,
            c.remaining
        )
        .unwrap();
    }
    for (rule, _, points) in &x.fit_rules {
        writeln!(out, "  fit {rule}: {points}").unwrap();
    }
    for (group, value, points) in &x.groups {
        writeln!(out, "  group {group}={value}: {points:.3}").unwrap();
    }
    for t in &x.tier_changes {
        let reason = t.reason.as_deref().unwrap_or("");
        writeln!(
            out,
            "  tier {} {} -> {} {reason}",
            format_timestamp(t.ts),
            t.from,
            t.to
        )
        .unwrap();
    }
    let sum: f64 = x.contributions.iter().map(|c| c.remaining).sum();
    assert!((sum - x.score).abs() < 1e-9, "the ledger sums to the score");
    out
}

fn explain_all(plan: &str, now: &str) -> String {
    let engine = engine(plan);
    let now = parse_timestamp(now).unwrap();
    let mut out = String::new();
    for id in engine.profile_ids() {
        let x = engine.explain(&id, now).expect("explanation");
        let snap = engine.snapshot(&id, now).expect("snapshot");
        assert!(
            (snap.score - x.score).abs() < 1e-6,
            "{id}: snapshot {} vs ledger {}",
            snap.score,
            x.score
        );
        out.push_str(&render(&id, &x));
    }
    out
}

#[test]
fn showroom_plan_explains_the_sample() {
    insta::assert_snapshot!(explain_all("showroom.yaml", "2026-02-27T18:00:00Z"));
}

#[test]
fn ipresso_plan_explains_the_sample() {
    insta::assert_snapshot!(explain_all(
        "ipresso-automotive.yaml",
        "2026-02-27T18:00:00Z"
    ));
}

#[test]
fn starter_plan_explains_the_sample() {
    insta::assert_snapshot!(explain_all("starter.yaml", "2026-02-27T18:00:00Z"));
}

#[test]
fn the_retried_message_counts_once() {
    let engine = engine("ipresso-automotive.yaml");
    let x = engine
        .explain(
            "user:u-anna",
            parse_timestamp("2026-02-27T18:00:00Z").unwrap(),
        )
        .unwrap();
    let offers = x
        .contributions
        .iter()
        .filter(|c| c.rule == "offer_download")
        .count();
    assert_eq!(offers, 1);
}

/// The score line of the profile page: at every moment it is the score of the profile's history
/// (all its ids, merged) up to that moment, replayed from scratch (the naive oracle), on every
/// shipped plan.
#[test]
fn the_score_series_matches_replaying_each_prefix() {
    for plan in ["showroom.yaml", "starter.yaml", "ipresso-automotive.yaml"] {
        let engine = engine(plan);
        for id in engine.profile_ids() {
            let timeline = engine.timeline(&id);
            let (first, last) = (
                timeline.first().unwrap().timestamp,
                timeline.last().unwrap().timestamp,
            );
            // Before the first event, at each event, between events, and long after.
            let mut times: Vec<i64> = timeline.iter().map(|e| e.timestamp).collect();
            times
                .extend((0..=10).map(|i| first - 1000 + (last - first + 40 * 86_400_000) * i / 10));
            times.sort_unstable();
            times.dedup();
            let series = engine.score_series(&id, &times).expect("series");
            assert_eq!(series.len(), times.len());
            for (t, got) in times.iter().zip(&series) {
                // The naive way: replay the profile's (merged) history up to `t` from scratch.
                let want = engine.explain(&id, *t).map_or(0.0, |x| x.score);
                assert!(
                    (got.score - want).abs() < 1e-9,
                    "{plan} {id} at {t}: series {} vs replay {want}",
                    got.score
                );
            }
        }
    }
}
