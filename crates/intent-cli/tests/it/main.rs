//! The `intent` binary end to end: generated traffic, replay against the incremental engine,
//! explanations, plan errors and bad input.

use intent_core::engine::Engine;
use intent_core::event::Event;
use intent_core::plan::Plan;
use intent_core::score::{Scorer, tier_name};
use intent_core::time::parse_timestamp;
use std::path::PathBuf;
use std::process::{Command, Output};

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn intent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intent"))
        .args(args)
        .current_dir(root())
        .env("CI", "true")
        .output()
        .expect("run intent")
}

pub(crate) fn ok(args: &[&str]) -> String {
    let out = intent(args);
    assert!(
        out.status.success(),
        "intent {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

pub(crate) fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("intent-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const SAMPLE: &str = "crates/intent-core/tests/fixtures/showroom-sample.ndjson";
const AT: &str = "2026-02-27T18:00:00Z";

fn plan(name: &str) -> Plan {
    let text = std::fs::read_to_string(root().join("plans").join(name)).unwrap();
    Plan::parse(&text, name).unwrap()
}

#[test]
fn gen_is_reproducible_and_gzip_reads_the_same() {
    let a = ok(&["gen", "--profiles", "200", "--days", "20", "--seed", "5"]);
    let b = ok(&["gen", "--profiles", "200", "--days", "20", "--seed", "5"]);
    let c = ok(&["gen", "--profiles", "200", "--days", "20", "--seed", "6"]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let gz = temp("gen.ndjson.gz");
    ok(&[
        "gen",
        "--profiles",
        "200",
        "--days",
        "20",
        "--seed",
        "5",
        "-o",
        gz.to_str().unwrap(),
    ]);
    let plain = temp("gen.ndjson");
    std::fs::write(&plain, &a).unwrap();
    let from_gz = ok(&[
        "replay",
        "--tier",
        "all",
        "--format",
        "csv",
        gz.to_str().unwrap(),
    ]);
    let from_plain = ok(&[
        "replay",
        "--tier",
        "all",
        "--format",
        "csv",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(from_gz, from_plain);
    assert!(from_plain.lines().count() > 200, "every profile is listed");
}

/// The batch pipeline (parallel decode, batch identity, per-profile replay) gives what the
/// incremental engine and the naive oracle give, for every profile, as of a moment inside the
/// history.
#[test]
fn replay_equals_the_incremental_engine() {
    let file = temp("engine.ndjson");
    let text = ok(&["gen", "--profiles", "1500", "--days", "30", "--seed", "11"]);
    std::fs::write(&file, &text).unwrap();
    for plan_name in ["showroom.yaml", "starter.yaml", "ipresso-automotive.yaml"] {
        let at = "2026-01-25T12:00:00Z";
        let csv = ok(&[
            "replay",
            "--plan",
            &format!("plans/{plan_name}"),
            "--at",
            at,
            "--tier",
            "all",
            "--format",
            "csv",
            file.to_str().unwrap(),
        ]);
        let plan = plan(plan_name);
        // As of `at`, later events (identity links included) do not exist yet.
        let now = parse_timestamp(at).unwrap();
        let events: Vec<Event> = text
            .lines()
            .enumerate()
            .map(|(i, line)| Event::from_json(line, || format!("line-{i}")).unwrap())
            .collect();
        let oracle = intent_core::reference::score_all(&plan, &events, now);
        let mut engine = Engine::new(Scorer::new(plan.clone()));
        for event in events.into_iter().filter(|e| e.timestamp <= now) {
            engine.ingest(event);
        }
        let mut rows = 0;
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let snap = engine
                .snapshot(f[0], now)
                .unwrap_or_else(|| panic!("{plan_name}: {} unknown to the engine", f[0]));
            assert_eq!(
                engine.canonical(f[0]).as_deref(),
                Some(f[0]),
                "{plan_name}: canonical id"
            );
            let score: f64 = f[3].parse().unwrap();
            assert!(
                (score - snap.score).abs() < 1e-3,
                "{plan_name} {}: replay {score} vs engine {}",
                f[0],
                snap.score
            );
            assert_eq!(
                f[1],
                tier_name(&plan, snap.tier),
                "{plan_name} {}: tier",
                f[0]
            );
            let want = &oracle[f[0]];
            assert!(
                (score - want.score).abs() < 1e-3,
                "{plan_name} {}: replay {score} vs oracle {}",
                f[0],
                want.score
            );
            assert_eq!(snap.tier, want.tier, "{plan_name} {}: tier vs oracle", f[0]);
            rows += 1;
        }
        assert!(rows > 500, "{plan_name}: {rows} rows");
        assert_eq!(
            rows,
            engine.profile_ids().len(),
            "{plan_name}: every profile, once"
        );
        assert_eq!(rows, oracle.len(), "{plan_name}: the oracle's profiles");
        // The explanation of the last profile listed (its events spread over several blocks
        // of the input) gives the same score.
        let last = csv.lines().last().unwrap().split(',').collect::<Vec<_>>();
        let json = ok(&[
            "explain",
            "--plan",
            &format!("plans/{plan_name}"),
            "--at",
            at,
            "--profile",
            last[0],
            "--format",
            "json",
            file.to_str().unwrap(),
        ]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let explained = v["explanation"]["score"].as_f64().unwrap();
        let listed: f64 = last[3].parse().unwrap();
        assert!(
            (explained - listed).abs() < 1e-3,
            "{plan_name} {}: {explained} vs {listed}",
            last[0]
        );
    }
}

#[test]
fn replay_prints_the_hot_list() {
    let out = intent(&[
        "replay",
        "--plan",
        "plans/showroom.yaml",
        "--at",
        AT,
        SAMPLE,
    ]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("24 lines: 23 events as of 2026-02-27T18:00:00.000Z (1 duplicates, 0 rejected) → 3 profiles"), "{summary}");
    let json = ok(&[
        "replay",
        "--plan",
        "plans/showroom.yaml",
        "--at",
        AT,
        "--tier",
        "all",
        "--format",
        "json",
        SAMPLE,
    ]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0]["override"], "ask_person",
        "escalations lead their tier"
    );
    assert_eq!(rows[2]["tier"], "disqualified");
}

#[test]
fn explain_shows_the_ledger() {
    let table = ok(&[
        "explain",
        "--plan",
        "plans/showroom.yaml",
        "--profile",
        "u-anna",
        "--at",
        AT,
        SAMPLE,
    ]);
    insta::assert_snapshot!(table);
    let json = ok(&[
        "explain",
        "--plan",
        "plans/showroom.yaml",
        "--profile",
        "kiosk-s1",
        "--at",
        AT,
        "--format",
        "json",
        SAMPLE,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["profile"], "user:u-anna",
        "any id finds the merged profile"
    );
    let x = &v["explanation"];
    let sum: f64 = x["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["remaining"].as_f64().unwrap())
        .sum();
    assert!((sum - x["score"].as_f64().unwrap()).abs() < 1e-9);
    let missing = intent(&["explain", "--profile", "nobody", SAMPLE]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no profile has the id `nobody`"));
}

#[test]
fn bad_lines_are_reported_with_file_line_and_field() {
    let file = temp("bad.ndjson");
    let good = std::fs::read_to_string(root().join(SAMPLE)).unwrap();
    let mut text: Vec<&str> = good.lines().take(3).collect();
    text.insert(
        1,
        r#"{"type":"track","userId":"u-x","timestamp":"2026-02-10T10:00:00Z"}"#,
    );
    text.insert(
        2,
        r#"{"type":"page","timestamp":"yesterday","userId":"u-x"}"#,
    );
    text.insert(3, r#"{"type":"track", broken"#);
    std::fs::write(&file, text.join("\n")).unwrap();
    let out = intent(&[
        "replay",
        "--tier",
        "all",
        "--at",
        AT,
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "bad lines do not stop the replay");
    let err = String::from_utf8_lossy(&out.stderr).replace(file.to_str().unwrap(), "bad.ndjson");
    insta::assert_snapshot!(err.lines().take(3).collect::<Vec<_>>().join("\n"));
    assert!(err.contains("6 lines: 3 events as of 2026-02-27T18:00:00.000Z (0 duplicates, 3 rejected) → 1 profiles"), "{err}");
}

#[test]
fn plan_check_names_file_line_and_column() {
    let good = ok(&[
        "plan",
        "check",
        "plans/showroom.yaml",
        "plans/starter.yaml",
        "plans/ipresso-automotive.yaml",
    ]);
    assert_eq!(good.lines().count(), 3);
    let bad = temp("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nname: bad\nsignals:\n  - id: a\n    when: { event: Offer Downloaded }\n    pionts: 5\ntiers:\n  levels:\n    - { name: hot, min_score: 10 }\n    - { name: cold }\n",
    )
    .unwrap();
    let out = intent(&["plan", "check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).replace(bad.to_str().unwrap(), "bad.yaml");
    insta::assert_snapshot!(err);
}

#[test]
fn bench_runs_small() {
    let out = ok(&["bench", "--profiles", "2000", "--passes", "2"]);
    assert!(out.contains("scoring core:"), "{out}");
    assert!(out.contains("bytes of state per profile"), "{out}");
}

/// A message id seen again far later in the input (another block, another thread) counts once:
/// the first copy wins, even when the copies differ.
#[test]
fn the_first_copy_of_a_message_id_wins_across_blocks() {
    let file = temp("dups.ndjson");
    let mut lines = vec![
        r#"{"type":"track","event":"Offer Downloaded","userId":"u-a","messageId":"dup","timestamp":"2026-02-01T10:00:00Z"}"#.to_string(),
    ];
    for i in 0..12_000 {
        lines.push(format!(
            r#"{{"type":"page","name":"Home","anonymousId":"a-{i}","messageId":"f-{i}","timestamp":"2026-02-01T09:00:00Z","properties":{{"category":"home","path":"/{}"}}}}"#,
            "x".repeat(60)
        ));
    }
    lines.push(r#"{"type":"track","event":"Form Submitted","userId":"u-a","messageId":"dup","timestamp":"2026-02-01T11:00:00Z","properties":{"form":"contact"}}"#.to_string());
    std::fs::write(&file, lines.join("\n")).unwrap();
    assert!(
        std::fs::metadata(&file).unwrap().len() > 2 << 20,
        "several blocks"
    );
    let json = ok(&[
        "explain",
        "--plan",
        "plans/ipresso-automotive.yaml",
        "--profile",
        "u-a",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rules: Vec<&str> = v["explanation"]["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["offer_download"]);
    let out = intent(&[
        "replay",
        "--tier",
        "all",
        "--plan",
        "plans/ipresso-automotive.yaml",
        file.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("(1 duplicates, 0 rejected)"));
}

mod follow;
mod import;
mod learn;
mod process;
mod serve;
