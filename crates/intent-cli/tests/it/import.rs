//! `intent import`: a messy handmade export (BOM, CRLF, quotes, blanks, a bad date, a row without
//! an id), mapping errors with line and column, and a real sample (UCI Bank Marketing) imported
//! with the shipped mapping and read back by the engine.

use super::{intent, ok, root, temp};
use intent_core::event::Event;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const FIXTURES: &str = "crates/intent-cli/tests/fixtures/import";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn lines(ndjson: &str) -> Vec<Value> {
    ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The stderr of a run without its last line (the summary, which holds a duration).
fn problems(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    lines.join("\n")
}

#[test]
fn a_messy_export_imports_with_its_bad_rows_named() {
    let csv = fixture("handmade.csv");
    let mapping = fixture("handmade.yaml");
    let out = intent(&["import", &csv, "--mapping", &mapping]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "handmade.csv: 6 rows read, 14 messages written (4 identify, 7 events, 3 outcomes), 2 rows rejected, 1 cells left out in "
        ),
        "{stderr}"
    );
    insta::assert_snapshot!(problems(&out.stderr), @r#"
    handmade.csv: row 3 (line 4): column `signed_up`: `2026-13-01` is not a time: expected RFC 3339 (2026-03-01T10:00:00Z), YYYY-MM-DD or YYYY-MM-DD HH:MM:SS; for other layouts set `format:` under `time:`, e.g. "%d/%m/%Y"; the row is skipped
    handmade.csv: row 4 (line 5): column `id`: the id is empty; the row is skipped
    handmade.csv: row 5 (line 6): column `revenue`: `not a number` is not a number; the value is left out
    "#);

    let msgs = lines(&stdout);
    assert_eq!(msgs.len(), 14);
    // Each row: the identify, then the events in mapping order, then the outcomes.
    let shape: Vec<String> = msgs
        .iter()
        .map(|m| {
            let what = m["event"].as_str().unwrap_or(m["type"].as_str().unwrap());
            format!("{} {what}", m["userId"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        shape,
        [
            "hm-c-1 identify",
            "hm-c-1 Signed Up",
            "hm-c-1 Webinar Attended",
            "hm-c-1 Trial Started",
            "hm-c-1 Outcome Recorded",
            "hm-c-2 identify",
            "hm-c-2 Signed Up",
            "hm-c-2 Outcome Recorded",
            "hm-c-5 identify",
            "hm-c-5 Signed Up",
            "hm-c-5 Trial Started",
            "hm-c-5 Outcome Recorded",
            "hm-c-6 identify",
            "hm-c-6 Signed Up",
        ]
    );
    // Quotes, commas, a quoted line break and a BOM before the first header come through as text.
    let c1 = &msgs[0];
    assert_eq!(c1["traits"]["source"], "Google, paid");
    assert_eq!(c1["traits"]["note"], r#"He said "call me""#);
    assert_eq!(c1["traits"]["visits"], 3, "a number, not \"3\"");
    assert!(c1["traits"]["visits"].is_i64());
    assert_eq!(c1["context"]["channel"], "crm");
    assert_eq!(msgs[8]["traits"]["source"], "Two\r\nlines");
    assert_eq!(msgs[12]["traits"]["source"], "Zażółć");
    assert_eq!(msgs[12]["traits"]["visits"], 0.5);
    // Missing values (`NA`, `Select`, an empty cell) are left out, not written as text.
    let c2 = msgs[5]["traits"].as_object().unwrap();
    assert!(!c2.contains_key("visits"), "NA is missing: {c2:?}");
    assert!(
        !msgs[8]["traits"].as_object().unwrap().contains_key("note"),
        "Select is missing"
    );
    // Times: a date is midnight UTC, an offset is honoured, spaces around a date are trimmed.
    assert_eq!(c1["timestamp"], "2026-01-05T00:00:00.000Z");
    assert_eq!(msgs[5]["timestamp"], "2026-01-06T08:30:00.000Z");
    assert_eq!(msgs[8]["timestamp"], "2026-01-08T00:00:00.000Z");
    // Outcomes: at their own time column, else the row's time + `after` (2h here, 1d by default).
    assert_eq!(msgs[4]["timestamp"], "2026-01-20T10:00:00.000Z");
    assert_eq!(
        msgs[4]["properties"],
        serde_json::json!({"outcome": "sale", "source": "import"})
    );
    assert_eq!(msgs[7]["timestamp"], "2026-01-06T10:30:00.000Z");
    assert_eq!(
        msgs[7]["properties"],
        serde_json::json!({"outcome": "lost", "reason": "too expensive", "source": "import"})
    );
    assert_eq!(msgs[11]["timestamp"], "2026-01-09T00:00:00.000Z");
    assert!(
        msgs[11]["properties"].get("value").is_none(),
        "a value that is not a number is left out"
    );
    // Every line is an event the engine reads, with a unique, stable id.
    let mut ids = std::collections::HashSet::new();
    for line in stdout.lines() {
        let e = Event::from_json(line, || unreachable!("every message has an id")).unwrap();
        assert!(e.message_id.starts_with("import-"), "{}", e.message_id);
        assert!(ids.insert(e.message_id.clone()), "{} twice", e.message_id);
    }

    // The same file imported again gives the same bytes (so a server deduplicates it).
    assert_eq!(ok(&["import", &csv, "--mapping", &mapping]), stdout);
    // `--limit` reads the first rows only: here rows 1 and 2 (8 messages), a prefix of the whole.
    let two = ok(&["import", &csv, "--mapping", &mapping, "--limit", "2"]);
    assert_eq!(two.lines().count(), 8);
    assert!(stdout.starts_with(&two));
    // `--out` writes the same to a file.
    let file = temp("import-handmade.ndjson");
    let quiet = ok(&[
        "import",
        &csv,
        "--mapping",
        &mapping,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(quiet.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
}

/// The export can come on stdin (`intent import - …`); only the ids change (they name the file).
#[test]
fn stdin_reads_the_same_rows() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_intent"))
        .args(["import", "-", "--mapping", &fixture("handmade.yaml")])
        .current_dir(root())
        .env("CI", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(root().join(fixture("handmade.csv"))).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let from_file = lines(&ok(&[
        "import",
        &fixture("handmade.csv"),
        "--mapping",
        &fixture("handmade.yaml"),
    ]));
    let from_stdin = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(from_stdin.len(), from_file.len());
    for (mut a, mut b) in from_stdin.into_iter().zip(from_file) {
        assert_ne!(a["messageId"], b["messageId"]);
        a["messageId"] = Value::Null;
        b["messageId"] = Value::Null;
        assert_eq!(a, b);
    }
}

#[test]
fn mapping_errors_name_the_line_and_column_and_say_how_to_fix_them() {
    let csv = fixture("handmade.csv");
    let bad = temp("import-bad.yaml");
    std::fs::write(
        &bad,
        "id: ID\ntime:\n  column: signed_up\n  format: dd/mm/yyyy\ntraits:\n  - { column: visits, type: integer }\n  - { column: Source }\noutcome: { column: stage, positive: [Won], outcome: won, after: soon }\n",
    )
    .unwrap();
    let out = intent(&["import", &csv, "--mapping", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr).replace(bad.to_str().unwrap(), "bad.yaml");
    insta::assert_snapshot!(err);

    // Shape errors (a misspelt key) come from the YAML reader, with the same prefix.
    std::fs::write(
        &bad,
        "id: id\ntime: { column: signed_up }\ntraits:\n  - { column: visits, tpye: number }\n",
    )
    .unwrap();
    let out = intent(&["import", &csv, "--mapping", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).replace(bad.to_str().unwrap(), "bad.yaml");
    assert_eq!(
        err.trim(),
        "error: bad.yaml:4:23: unknown key `tpye`, expected one of column, as, type, missing"
    );

    // The wrong delimiter shows up as a header of one column, and the error says so.
    let bank = fixture("bank-additional-300.csv");
    std::fs::write(
        &bad,
        "id: { row_number: true }\ntime: { fixed: 2026-01-01 }\ntraits: [{ column: age }]\n",
    )
    .unwrap();
    let out = intent(&["import", &bank, "--mapping", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "bad.yaml:3:20: no column `age` in bank-additional-300.csv: its header is one column"
        ) && err.contains("set `delimiter: \";\"`"),
        "{err}"
    );
}

/// 300 real rows of UCI Bank Marketing (`;`, quoted, CRLF) through the shipped mapping: every row
/// an identify with typed traits, `y = yes` an outcome, and the engine reads it all.
#[test]
fn a_bank_marketing_sample_imports_with_the_shipped_mapping() {
    let csv = fixture("bank-additional-300.csv");
    let out = intent(&[
        "import",
        &csv,
        "--mapping",
        "examples/import/bank-marketing.yaml",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "bank-additional-300.csv: 300 rows read, 333 messages written (300 identify, 0 events, 33 outcomes), 0 rows rejected in "
        ),
        "{stderr}"
    );
    let text = std::fs::read_to_string(root().join(&csv)).unwrap();
    let yes = text.lines().filter(|l| l.ends_with(";\"yes\"")).count();
    assert_eq!(yes, 33, "the fixture's own count");

    let stdout = String::from_utf8(out.stdout).unwrap();
    let msgs = lines(&stdout);
    let first = &msgs[0];
    assert_eq!(first["type"], "identify");
    assert_eq!(first["userId"], "bank-1");
    assert_eq!(first["timestamp"], "2008-05-01T00:00:00.000Z");
    let t = &first["traits"];
    // 30;"blue-collar";"married";"basic.9y";"no";"yes";"no";"cellular";"may";"fri";487;2;999;0;
    // "nonexistent";-1.8;92.893;-46.2;1.313;5099.1;"no"
    assert_eq!(t["age"], 30);
    assert_eq!(t["job"], "blue-collar");
    assert_eq!(t["housing_loan"], true);
    assert_eq!(t["credit_in_default"], false);
    assert_eq!(t["duration_s"], 487, "imported, leak and all");
    assert_eq!(t["employment_variation_rate"], -1.8);
    assert_eq!(t["employees_thousands"], 5099.1);
    assert!(
        t.get("days_since_previous_campaign").is_none(),
        "pdays 999 means never: left out"
    );
    assert!(
        t.get("y").is_none(),
        "the label is the outcome, not a trait"
    );
    // "unknown" is missing.
    let unknown_education = msgs
        .iter()
        .filter(|m| m["type"] == "identify")
        .filter(|m| m["traits"].get("education").is_none())
        .count();
    let in_file = text
        .lines()
        .skip(1)
        .filter(|l| l.split(';').nth(3) == Some("\"unknown\""))
        .count();
    assert!(in_file > 0);
    assert_eq!(unknown_education, in_file);
    // The last row gets the end of the range.
    assert_eq!(
        msgs.iter().rev().find(|m| m["type"] == "identify").unwrap()["timestamp"],
        "2010-11-30T00:00:00.000Z"
    );

    // The engine reads every line: 333 events, no rejects, one profile per row.
    let file = temp("import-bank.ndjson");
    std::fs::write(&file, &stdout).unwrap();
    let replay = intent(&[
        "replay",
        "--plan",
        "plans/starter.yaml",
        "--tier",
        "all",
        "--format",
        "csv",
        file.to_str().unwrap(),
    ]);
    assert!(replay.status.success());
    let summary = String::from_utf8_lossy(&replay.stderr);
    assert!(
        summary.contains("333 lines: 333 events as of ")
            && summary.contains("(0 duplicates, 0 rejected) → 300 profiles"),
        "{summary}"
    );
}
