//! Learning from outcomes end to end: `intent learn`, `intent backtest` and the reports on
//! generated traffic whose outcomes follow a hidden intent, and on a real data sample.

use super::{ok, root, temp};
use intent_core::plan::Plan;

/// Generated history: 4,000 people over 90 days, written once per test process.
fn history() -> std::path::PathBuf {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let path = temp("learn-history.ndjson");
    if !path.exists() {
        let text = ok(&["gen", "--profiles", "4000", "--days", "90", "--seed", "11"]);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn figure(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` in\n{text}"));
    line[line.find(label).unwrap() + label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{label}` in {line}"))
}

#[test]
fn learn_writes_a_valid_plan_with_a_model_that_ranks_better_than_chance() {
    let h = history();
    let out = temp("learned.yaml");
    let text = ok(&[
        "learn",
        "--outcome",
        "appointment",
        "--horizon",
        "30d",
        "--out",
        out.to_str().unwrap(),
        h.to_str().unwrap(),
    ]);
    let auc = figure(&text, "ROC AUC, model probability");
    assert!(auc > 0.7, "model AUC {auc}\n{text}");
    let current = figure(&text, "ROC AUC, current points");
    assert!(current > 0.6, "{text}");
    let brier = figure(&text, "Brier score (calibrated)");
    assert!(brier > 0.0 && brier < 0.1, "{text}");
    // The learned plan is a valid plan with the old comments, new points and a model.
    let learned = std::fs::read_to_string(&out).unwrap();
    assert!(learned.contains("# a visit two weeks ago counts half"));
    let plan = Plan::parse(&learned, "learned").unwrap();
    let model = plan.model.as_ref().expect("a model section");
    assert_eq!(model.horizons.len(), 2);
    assert_eq!(model.horizons[0].within.0, 7 * intent_core::time::DAY);
    assert!(!model.horizons[1].knots.is_empty());
    // Every rule of the plan is listed with old and new points.
    for s in &plan.signals {
        assert!(text.contains(&s.id), "{} missing from\n{text}", s.id);
    }
    // The backtest of the learned plan against the old one runs on the same profiles.
    let bt = ok(&[
        "backtest",
        "--plan",
        "plans/showroom.yaml",
        "--vs",
        out.to_str().unwrap(),
        "--outcome",
        "appointment",
        "--horizon",
        "30d",
        h.to_str().unwrap(),
    ]);
    assert_eq!(bt.matches("profiles,").count(), 2, "{bt}");
    assert!(bt.contains("Tier changes"), "{bt}");
}

#[test]
fn a_signal_that_fires_on_an_outcome_event_scores_nothing_and_leaks_nothing() {
    // A careless plan scores `Appointment Booked` itself: outcomes are labels, so that signal
    // never fires and the learner cannot see the answer in the features.
    let text = std::fs::read_to_string(root().join("plans/showroom.yaml")).unwrap();
    let careless = text.replace(
        "signals:\n",
        "signals:\n  - { id: booked, when: { event: Appointment Booked }, points: 50 }\n",
    );
    let path = temp("careless.yaml");
    std::fs::write(&path, careless).unwrap();
    let out = ok(&[
        "report",
        "signals",
        "--plan",
        path.to_str().unwrap(),
        history().to_str().unwrap(),
    ]);
    let line = out.lines().find(|l| l.starts_with("booked ")).expect(&out);
    let profiles: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert_eq!(profiles, 0, "{line}");
}

#[test]
fn reports_read_history_files() {
    let h = history();
    let h = h.to_str().unwrap();
    let funnel = ok(&["report", "funnel", "--by", "channel", h]);
    assert!(
        funnel.contains("Call to action") && funnel.contains("showroom"),
        "{funnel}"
    );
    let json = ok(&["report", "funnel", "--format", "json", h]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let steps = v[0]["steps"].as_array().unwrap();
    let counts: Vec<u64> = steps
        .iter()
        .map(|s| s["profiles"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts[3] > 0, "appointments: {counts:?}");
    let paths = ok(&["report", "paths", "--min-profiles", "10", h]);
    assert!(paths.contains("→"), "{paths}");
    let journeys = ok(&["report", "journeys", "--won", "2", "--lost", "2", h]);
    assert!(
        journeys.contains("[sale]") && journeys.contains("[lost]"),
        "{journeys}"
    );
    assert!(
        journeys.lines().all(|l| l.chars().count() <= 100),
        "{journeys}"
    );
    let page = temp("review.html");
    ok(&["report", "weekly", "--out", page.to_str().unwrap(), h]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg") && html.contains("What predicts"));
    assert!(!html.contains("<script"));
}

#[test]
fn learning_on_an_imported_bank_sample_flags_duration_as_leakage() {
    // UCI bank marketing's 10 % sample, 4,119 contacts (CC BY 4.0, Moro et al. 2014), from
    // the shared data sets beside the repository.
    let events = temp("bank.ndjson");
    let text = ok(&[
        "import",
        "../shared/data/bank-marketing/bank-additional.csv",
        "--mapping",
        "examples/import/bank-marketing.yaml",
    ]);
    std::fs::write(&events, text).unwrap();
    let plan = temp("bank-plan.yaml");
    std::fs::write(
        &plan,
        r#"version: 1
name: bank
signals:
  - { id: any_call, when: { type: track, event: Call }, points: 1 }
fit:
  rules:
    - { id: long_call, when: { traits.duration_s: { gte: 500 } }, points: 10 }
    - { id: mid_call, when: { traits.duration_s: { gte: 250, lt: 500 } }, points: 5 }
    - { id: short_call, when: { traits.duration_s: { gte: 120, lt: 250 } }, points: 2 }
    - { id: cellular, when: { traits.contact_type: cellular }, points: 5 }
    - { id: retired, when: { traits.job: { one_of: [retired, student] } }, points: 5 }
  grades: { A: 10, B: 0 }
tiers: { levels: [ { name: hot, min_score: 10 }, { name: cold } ] }
"#,
    )
    .unwrap();
    let out = ok(&[
        "learn",
        "--plan",
        plan.to_str().unwrap(),
        "--outcome",
        "sale",
        "--per-profile",
        "--holdout",
        "0.2",
        events.to_str().unwrap(),
    ]);
    assert!(out.contains("leakage: `traits.duration_s`"), "{out}");
    let long = out
        .lines()
        .find(|l| l.starts_with("long_call"))
        .expect(&out);
    assert!(long.contains("left out"), "{long}");
    let cellular = out.lines().find(|l| l.starts_with("cellular")).expect(&out);
    assert!(!cellular.contains("left out"), "{cellular}");
}

#[test]
fn per_profile_labels_an_outcome_in_the_same_millisecond_as_the_row() {
    // An import with `after: 0s` writes a row's identify and its outcome at one moment; the
    // outcome's message id sorts after it. The profile must still count as converted.
    let mut lines = String::new();
    for u in 0..60 {
        lines.push_str(&format!(
            r#"{{"type":"identify","messageId":"r-{u:03}-0","timestamp":"2026-01-{:02}T10:00:00Z","userId":"u{u}","traits":{{"vip":{}}}}}"#,
            1 + u % 28,
            u % 2 == 0
        ));
        lines.push('\n');
        if u % 2 == 0 {
            lines.push_str(&format!(
                r#"{{"type":"track","event":"Outcome Recorded","messageId":"r-{u:03}-1","timestamp":"2026-01-{:02}T10:00:00Z","userId":"u{u}","properties":{{"outcome":"sale"}}}}"#,
                1 + u % 28
            ));
            lines.push('\n');
        }
    }
    let events = temp("same-moment.ndjson");
    std::fs::write(&events, lines).unwrap();
    let out = ok(&[
        "backtest",
        "--plan",
        "plans/starter.yaml",
        "--per-profile",
        "--outcome",
        "sale",
        events.to_str().unwrap(),
    ]);
    let line = out.lines().find(|l| l.contains("profiles,")).expect(&out);
    assert!(!line.contains(" 0 converted"), "{out}");
}
