//! End-to-end properties of the generated traffic.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use intent_core::event::Event;
use intent_core::time::{DAY, parse_timestamp};
use intent_gen::{GenConfig, GenStats, generate};
use serde_json::Value;

const START: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z

fn config(profiles: u64, seed: u64) -> GenConfig {
    GenConfig {
        profiles,
        days: 90,
        seed,
        start: START,
    }
}

fn run(cfg: &GenConfig) -> (Vec<u8>, GenStats, Vec<u64>) {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let stats = generate(cfg, &mut out, &mut |done| calls.push(done)).unwrap();
    (out, stats, calls)
}

/// 2000 profiles, generated once and shared by the tests.
fn sample() -> &'static (Vec<u8>, GenStats, Vec<Value>) {
    static SAMPLE: OnceLock<(Vec<u8>, GenStats, Vec<Value>)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let (out, stats, _) = run(&config(2000, 7));
        let lines = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out, stats, lines)
    })
}

fn event(v: &Value) -> Option<&str> {
    v.get("event").and_then(Value::as_str)
}

/// The profile a message belongs to (`m-<profile>-<n>`).
fn profile_of(v: &Value) -> &str {
    v["messageId"].as_str().unwrap().split('-').nth(1).unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = run(&config(300, 1)).0;
    let b = run(&config(300, 1)).0;
    let c = run(&config(300, 2)).0;
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn progress_is_reported_per_block_and_at_the_end() {
    let (_, stats, calls) = run(&config(5000, 3));
    assert_eq!(calls, vec![4096, 5000]);
    assert_eq!(stats.profiles, 5000);
    let (out, stats, calls) = run(&config(0, 3));
    assert!(out.is_empty() && calls.is_empty() && stats.events == 0);
}

#[test]
fn every_line_is_a_valid_segment_message() {
    let (out, stats, lines) = sample();
    assert_eq!(lines.len() as u64, stats.events);
    let end = START + 90 * DAY;
    for (v, raw) in lines.iter().zip(std::str::from_utf8(out).unwrap().lines()) {
        for key in ["type", "messageId", "timestamp"] {
            assert!(v[key].is_string(), "{key} missing: {raw}");
        }
        assert!(
            v["userId"].is_string() || v["anonymousId"].is_string(),
            "no id: {raw}"
        );
        let channel = v["context"]["channel"].as_str().unwrap();
        assert!(
            ["web", "email", "showroom", "crm"].contains(&channel),
            "{raw}"
        );
        let ts = parse_timestamp(v["timestamp"].as_str().unwrap()).unwrap();
        assert!((START..end).contains(&ts), "outside the window: {raw}");
        // And the engine itself accepts it.
        Event::from_json(raw, || unreachable!()).unwrap_or_else(|e| panic!("{e:?}: {raw}"));
    }
}

#[test]
fn volumes_and_mess_look_like_real_traffic() {
    let (_, stats, lines) = sample();
    let per_profile = lines.len() as f64 / 2000.0;
    assert!(
        (6.0..16.0).contains(&per_profile),
        "{per_profile} events per profile"
    );
    let identified: HashSet<&str> = lines
        .iter()
        .filter(|v| v["type"] == "identify")
        .map(profile_of)
        .collect();
    assert_eq!(identified.len() as u64, stats.identified);
    let share = identified.len() as f64 / 2000.0;
    assert!((0.25..0.60).contains(&share), "identified share {share}");

    // Duplicates: identical lines with the same messageId.
    let mut seen = HashMap::new();
    let mut dups = 0;
    for v in lines {
        if let Some(prev) = seen.insert(v["messageId"].as_str().unwrap(), v) {
            assert_eq!(prev, v);
            dups += 1;
        }
    }
    assert!(dups > 0);
    assert_eq!(dups, stats.duplicates);

    let out_of_order = lines
        .windows(2)
        .filter(|w| w[1]["timestamp"].as_str() < w[0]["timestamp"].as_str())
        .count();
    assert!(out_of_order > 0);

    // Distinct messages (a re-sent duplicate is one event).
    let count = |name: &str| {
        lines
            .iter()
            .filter(|v| event(v) == Some(name))
            .map(|v| v["messageId"].as_str().unwrap())
            .collect::<HashSet<_>>()
            .len() as u64
    };
    for outcome in [
        "Appointment Booked",
        "Appointment Attended",
        "Appointment No Show",
        "Test Drive Completed",
        "Vehicle Purchased",
        "Lead Lost",
    ] {
        assert!(count(outcome) > 0, "no {outcome}");
    }
    assert_eq!(count("Vehicle Purchased"), stats.sales);
    assert_eq!(count("Appointment Booked"), stats.appointments);
    assert_eq!(count("Test Drive Completed"), stats.test_drives);
    assert_eq!(count("Lead Lost"), stats.lost);

    let cta = |name: &str| {
        lines
            .iter()
            .any(|v| event(v) == Some("CTA Tapped") && v["properties"]["cta"] == name)
    };
    for name in [
        "ask_person",
        "test_drive",
        "financing",
        "contact",
        "service",
    ] {
        assert!(cta(name), "no {name} CTA");
    }
    for name in [
        "Email Opened",
        "Email Link Clicked",
        "Email Bounced",
        "Unsubscribed",
    ] {
        assert!(count(name) > 0, "no {name}");
    }
    assert!(lines.iter().any(|v| v["type"] == "alias"));
    assert!(lines.iter().any(|v| {
        v["traits"]["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@autogrupa-nowak.pl"))
    }));
    assert!(
        lines
            .iter()
            .any(|v| v["traits"]["company"] == "Konkurencja Motors")
    );
}

#[test]
fn kiosk_sessions_have_their_own_anonymous_id_and_arrive_late() {
    let (_, _, lines) = sample();
    let mut sessions: HashMap<&str, HashSet<&str>> = HashMap::new();
    for v in lines.iter().filter(|v| v["type"] == "screen") {
        let anon = v["anonymousId"].as_str().unwrap();
        assert!(anon.starts_with("kiosk-"));
        assert!(v["userId"].is_null());
        sessions
            .entry(anon)
            .or_default()
            .insert(v["properties"]["session_id"].as_str().unwrap());
    }
    assert!(sessions.values().all(|s| s.len() == 1));
    // Some kiosk sessions are joined to a person.
    assert!(lines.iter().any(|v| {
        v["type"] == "identify" && v["anonymousId"].as_str().unwrap().starts_with("kiosk-")
    }));
}

#[test]
fn hidden_intent_shows_in_behaviour() {
    let (_, _, lines) = sample();
    let mut signals: HashMap<&str, u32> = HashMap::new();
    let mut buyers = HashSet::new();
    for v in lines {
        let p = profile_of(v);
        let n = signals.entry(p).or_default();
        match event(v) {
            Some("Offer Downloaded" | "CTA Tapped" | "Form Submitted") => *n += 1,
            Some("Vehicle Purchased") => {
                buyers.insert(p);
            }
            _ => {}
        }
    }
    let mean = |bought: bool| {
        let xs: Vec<u32> = signals
            .iter()
            .filter(|(p, _)| buyers.contains(*p) == bought)
            .map(|(_, n)| *n)
            .collect();
        f64::from(xs.iter().sum::<u32>()) / xs.len() as f64
    };
    let (bought, not) = (mean(true), mean(false));
    assert!(bought > 1.5 * not, "buyers {bought:.2} vs others {not:.2}");
}
