use crate::shipped;
use intent_core::plan::Plan;

#[test]
fn shipped_plans_parse() {
    let showroom = shipped("showroom.yaml");
    assert!((10..=15).contains(&showroom.signals.len()));
    assert_eq!(showroom.levels.len(), 3);
    assert!(showroom.overrides.iter().any(|o| o.id == "ask_person"));
    let ipresso = shipped("ipresso-automotive.yaml");
    let points: Vec<(&str, f64)> = ipresso
        .signals
        .iter()
        .map(|s| (s.id.as_str(), s.points))
        .collect();
    assert_eq!(
        points,
        [
            ("model_page_visit", 5.0),
            ("email_open", 10.0),
            ("email_click", 15.0),
            ("contact_form", 20.0),
            ("offer_download", 25.0)
        ]
    );
    assert_eq!(ipresso.fit_rules.len(), 3);
    let starter = shipped("starter.yaml");
    let negative = starter.signals.iter().filter(|s| s.points < 0.0).count();
    let positive = starter.signals.len() - negative;
    assert!((5..=7).contains(&positive) && (3..=5).contains(&negative));
}

fn error(text: &str) -> String {
    Plan::parse(text, "plans/bad.yaml").unwrap_err().to_string()
}

const HEAD: &str = "version: 1\nname: t\ntiers:\n  levels:\n    - { name: hot, min_score: 10 }\n    - { name: cold }\n";

#[test]
fn errors_name_line_column_and_fix() {
    insta::assert_snapshot!("unknown_key", error(&format!("{HEAD}signalz: []\n")));
    insta::assert_snapshot!(
        "unknown_signal_key",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ event: X }}\n    point: 5\n"
        ))
    );
    insta::assert_snapshot!(
        "bad_duration",
        error(&format!("{HEAD}decay:\n  half_life: 14 days\n"))
    );
    insta::assert_snapshot!(
        "bad_regex",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ where: {{ properties.x: {{ regex: \"(\" }} }} }}\n    points: 5\n"
        ))
    );
    insta::assert_snapshot!(
        "bad_path",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ where: {{ props.x: 1 }} }}\n    points: 5\n"
        ))
    );
    insta::assert_snapshot!(
        "unknown_test",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ where: {{ properties.x: {{ greater: 1 }} }} }}\n    points: 5\n"
        ))
    );
    insta::assert_snapshot!(
        "unknown_step_and_duplicate_id",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ event: X }}\n    points: 5\n  - id: a\n    when: {{ event: Beta }}\n    points: 1\nsequences:\n  - id: s\n    steps: [{{ signal: a }}, {{ signal: b }}]\n    within: 30m\n    points: 5\n"
        ))
    );
    insta::assert_snapshot!(
        "bad_tiers",
        error(
            "version: 1\nname: t\ntiers:\n  levels:\n    - { name: warm, min_score: 10 }\n    - { name: hot, min_score: 20 }\n    - { name: cold }\noverrides:\n  - id: o\n    when: { event: X }\n    tier: scorching\n    for: 1h\n    reason: r\n"
        )
    );
    insta::assert_snapshot!(
        "version",
        error(
            "version: 2\nname: t\ntiers:\n  levels:\n    - { name: hot, min_score: 10 }\n    - { name: cold }\n"
        )
    );
    insta::assert_snapshot!(
        "frequency",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{ event: X }}\n    points: 5\n    frequency: twice\n"
        ))
    );
    insta::assert_snapshot!(
        "match_all",
        error(&format!(
            "{HEAD}signals:\n  - id: a\n    when: {{}}\n    points: 5\n"
        ))
    );
}

/// The hot state of a profile under the showroom plan stays within its budget (issue #2:
/// at most 256 bytes), so a million profiles fit in a quarter of a gigabyte.
#[test]
fn showroom_state_fits_the_budget() {
    let scorer = intent_core::score::Scorer::new(shipped("showroom.yaml"));
    assert!(scorer.state_size() <= 256, "{} bytes", scorer.state_size());
}
