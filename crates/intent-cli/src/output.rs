//! Tables for people (fit in 100 columns), JSON lines and CSV for machines.

use crate::Format;
use crate::batch::{Loaded, Row};
use anyhow::Result;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
use intent_core::explain::Explanation;
use intent_core::score::{Scorer, tier_name};
use intent_core::time::{Ts, format_timestamp};
use serde_json::json;
use std::io::Write;

const WIDTH: u16 = 100;

/// No outer border, a line under the header, light column rules, no lines between rows.
const STYLE: &str = "     ═╪ ┆          ";

pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.to_vec());
    t
}

/// Keeps a column on one line (dates, numbers); the text columns wrap instead.
pub(crate) fn keep(t: &mut Table, columns: &[(usize, u16)]) {
    for &(c, w) in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w)));
        }
    }
}

pub(crate) fn right(t: &mut Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A short time: `2026-03-01 14:05`.
pub(crate) fn short(ts: Ts) -> String {
    let full = format_timestamp(ts);
    format!("{} {}", &full[..10], &full[11..16])
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn reason(scorer: &Scorer, row: &Row) -> String {
    let plan = scorer.plan();
    match (row.snap.disqualifier, row.snap.override_index) {
        (Some(d), _) => plan.disqualifiers[d].reason.clone(),
        (None, Some(o)) => plan.overrides[o].reason.clone(),
        _ => String::new(),
    }
}

/// The profiles in `rows` (already in queue order), filtered by tier.
pub fn profiles(
    out: &mut impl Write,
    format: Format,
    scorer: &Scorer,
    loaded: &Loaded,
    rows: &[Row],
    tier: Option<u8>,
    limit: Option<usize>,
) -> Result<()> {
    let plan = scorer.plan();
    let selected = rows
        .iter()
        .filter(|r| tier.is_none_or(|t| r.snap.tier == t))
        .take(limit.unwrap_or(usize::MAX));
    let grade = |r: &Row| {
        r.snap
            .grade
            .map(|g| plan.grades[g].name.clone())
            .unwrap_or_default()
    };
    match format {
        Format::Table => {
            let mut t = table(&[
                "#", "profile", "tier", "since", "score", "fit", "events", "reason",
            ]);
            let mut shown = 0;
            for (i, r) in selected.enumerate() {
                shown += 1;
                t.add_row(vec![
                    (i + 1).to_string(),
                    loaded.profile_name(r.profile as usize),
                    tier_name(plan, r.snap.tier).to_string(),
                    r.snap.tier_since.map(short).unwrap_or_default(),
                    format!("{:.1}", r.snap.score),
                    format!("{:.0} {}", r.snap.fit, grade(r)),
                    r.snap.events.to_string(),
                    reason(scorer, r),
                ]);
            }
            right(&mut t, &[0, 4, 5, 6]);
            keep(&mut t, &[(3, 18), (2, 7), (4, 7)]);
            if shown == 0 {
                writeln!(out, "no profiles in that tier")?;
            } else {
                writeln!(out, "{t}")?;
            }
        }
        Format::Json => {
            for r in selected {
                let v = json!({
                    "profile": loaded.profile_name(r.profile as usize),
                    "tier": tier_name(plan, r.snap.tier),
                    "tier_since": r.snap.tier_since.map(format_timestamp),
                    "score": r.snap.score,
                    "fit": r.snap.fit,
                    "grade": r.snap.grade.map(|g| plan.grades[g].name.as_str()),
                    "events": r.snap.events,
                    "last_event": r.snap.last_event.map(format_timestamp),
                    "override": r.snap.override_index.map(|o| plan.overrides[o].id.as_str()),
                    "disqualifier": r.snap.disqualifier.map(|d| plan.disqualifiers[d].id.as_str()),
                    "reason": Some(reason(scorer, r)).filter(|s| !s.is_empty()),
                });
                serde_json::to_writer(&mut *out, &v)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            writeln!(
                out,
                "profile,tier,tier_since,score,fit,grade,events,last_event,reason"
            )?;
            for r in selected {
                writeln!(
                    out,
                    "{},{},{},{:.4},{},{},{},{},{}",
                    csv_field(&loaded.profile_name(r.profile as usize)),
                    tier_name(plan, r.snap.tier),
                    r.snap.tier_since.map(format_timestamp).unwrap_or_default(),
                    r.snap.score,
                    r.snap.fit,
                    grade(r),
                    r.snap.events,
                    r.snap.last_event.map(format_timestamp).unwrap_or_default(),
                    csv_field(&reason(scorer, r)),
                )?;
            }
        }
    }
    Ok(())
}

/// One profile's ledger.
pub fn explanation(
    out: &mut impl Write,
    format: Format,
    name: &str,
    members: &[String],
    x: &Explanation,
    now: Ts,
) -> Result<()> {
    match format {
        Format::Json => {
            let v = json!({ "profile": name, "ids": members, "now": format_timestamp(now), "explanation": x });
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
        }
        Format::Csv => {
            writeln!(
                out,
                "time,message_id,kind,rule,label,offered,awarded,remaining,note"
            )?;
            for c in &x.contributions {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{:.6},{}",
                    format_timestamp(c.ts),
                    csv_field(&c.message_id),
                    c.kind,
                    csv_field(&c.rule),
                    csv_field(&c.label),
                    c.offered,
                    c.awarded,
                    c.remaining,
                    c.note.unwrap_or("")
                )?;
            }
        }
        Format::Table => {
            let grade = x
                .grade
                .as_deref()
                .map(|g| format!(", grade {g}"))
                .unwrap_or_default();
            writeln!(out, "{name}")?;
            if !members.is_empty() {
                writeln!(out, "  also known as {}", members.join(", "))?;
            }
            let since = x
                .tier_since
                .map(|t| format!(" since {}", short(t)))
                .unwrap_or_default();
            writeln!(out, "  tier {}{since}", x.tier.to_uppercase())?;
            if let Some(r) = &x.reason {
                writeln!(out, "  because: {r}")?;
            }
            writeln!(
                out,
                "  engagement {:.1} points, fit {:.0}{grade}",
                x.score, x.fit
            )?;
            let mut t = table(&["when", "rule", "what", "offered", "awarded", "left", "note"]);
            for c in &x.contributions {
                t.add_row(vec![
                    short(c.ts),
                    if c.kind == "signal" {
                        c.rule.clone()
                    } else {
                        format!("{} {}", c.kind, c.rule)
                    },
                    c.label.clone(),
                    format!("{:.1}", c.offered),
                    format!("{:.1}", c.awarded),
                    format!("{:.2}", c.remaining),
                    c.note.unwrap_or("").to_string(),
                ]);
            }
            right(&mut t, &[3, 4, 5]);
            keep(&mut t, &[(0, 18), (3, 9), (4, 9), (5, 8)]);
            writeln!(out, "{t}")?;
            writeln!(out, "  total left at {}: {:.2} points", short(now), x.score)?;
            if !x.fit_rules.is_empty() {
                let fit: Vec<String> = x
                    .fit_rules
                    .iter()
                    .map(|(id, _, p)| format!("{id} +{p}"))
                    .collect();
                writeln!(out, "  fit: {}", fit.join(", "))?;
            }
            if !x.groups.is_empty() {
                let groups: Vec<String> = x
                    .groups
                    .iter()
                    .take(5)
                    .map(|(g, v, p)| format!("{g}={v} {p:.1}"))
                    .collect();
                writeln!(out, "  score groups: {}", groups.join(", "))?;
            }
            for c in &x.tier_changes {
                let why = c
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                writeln!(out, "  {}: {} → {}{why}", short(c.ts), c.from, c.to)?;
            }
        }
    }
    Ok(())
}
