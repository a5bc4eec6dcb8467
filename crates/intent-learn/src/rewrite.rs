//! Writes learned points into a plan file's text, keeping everything else as the marketer wrote
//! it (comments, order, layout): each rule's `points`, its cap and per-event maximum scaled with
//! it, the tier thresholds, the fit grades, and the `model:` section at the end. The result is
//! parsed again and every changed number is checked, so a layout the rewriter does not
//! understand is an error, never a silently wrong plan.

use intent_core::plan::Plan;

/// New points for one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// The rule id.
    pub rule: String,
    /// Its new points.
    pub points: f64,
}

/// Everything to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Rule points.
    pub edits: Vec<Edit>,
    /// New `min_score` per tier name.
    pub tiers: Vec<(String, f64)>,
    /// New minimum per fit grade.
    pub grades: Vec<(String, f64)>,
    /// The `model:` section (YAML, starting with `model:`), replacing any there is.
    pub model: Option<String>,
}

/// Formats a number for a plan file: integers without a decimal point.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Finds `key: <number>` in `line` from byte `from`; returns the number's byte range.
fn find_number(line: &str, key: &str, from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while let Some(pos) = line[at..].find(key) {
        let start = at + pos;
        let before_ok = start == 0
            || matches!(
                line.as_bytes()[start - 1],
                b' ' | b'{' | b',' | b'\t' | b'-'
            );
        let after = start + key.len();
        if before_ok && line[after..].starts_with(':') {
            let rest = &line[after + 1..];
            let skip = rest.len() - rest.trim_start().len();
            let n0 = after + 1 + skip;
            let n1 = n0
                + line[n0..]
                    .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e')))
                    .unwrap_or(line.len() - n0);
            if n1 > n0 && line[n0..n1].parse::<f64>().is_ok() {
                return Some((n0, n1));
            }
        }
        at = start + key.len();
    }
    None
}

fn replace(line: &mut String, range: (usize, usize), value: f64) {
    line.replace_range(range.0..range.1, &number(value));
}

/// Where the rule with `id` is declared: its line index and the item's extent.
fn rule_lines(lines: &[String], id: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| {
        let mut at = 0;
        while let Some(p) = l[at..].find("id:") {
            let s = at + p;
            let ok_before = s == 0 || matches!(l.as_bytes()[s - 1], b' ' | b'{' | b',' | b'-');
            let rest = l[s + 3..].trim_start();
            let value = rest
                .split(|c: char| c == ',' || c == '}' || c == '#' || c.is_whitespace())
                .next()
                .unwrap_or("")
                .trim_matches(|c| c == '"' || c == '\'');
            if ok_before && value == id {
                return true;
            }
            at = s + 3;
        }
        false
    })?;
    // The item runs until a line that is less indented than its first key, or starts the next
    // item at the same dash.
    let first = &lines[start];
    let flow = first.trim_start().starts_with("- {") || first.contains("{ id:");
    if flow && first.trim_end().ends_with('}') {
        return Some((start, start + 1));
    }
    let key_indent = indent(first)
        + if first.trim_start().starts_with("- ") {
            2
        } else {
            0
        };
    let mut end = start + 1;
    while end < lines.len() {
        let l = &lines[end];
        if !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent(l) < key_indent {
            break;
        }
        end += 1;
    }
    Some((start, end))
}

/// Applies `changes` to plan text `text` and checks the result with `Plan::parse`.
pub fn rewrite(text: &str, changes: &Changes) -> Result<String, String> {
    let original = Plan::parse(text, "plan").map_err(|e| e.to_string())?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for edit in &changes.edits {
        let Some((from, to)) = rule_lines(&lines, &edit.rule) else {
            return Err(format!("rule `{}` not found in the plan text", edit.rule));
        };
        let old = old_points(&original, &edit.rule)
            .ok_or_else(|| format!("rule `{}` is not in the plan", edit.rule))?;
        let scale = if old == 0.0 {
            0.0
        } else {
            (edit.points / old).abs()
        };
        let mut done = false;
        for line in &mut lines[from..to] {
            let trimmed = line.trim_start().trim_start_matches("- ");
            if trimmed.starts_with("cap:") {
                if let Some(r) = find_number(line, "points", 0) {
                    let v: f64 = line[r.0..r.1].parse().unwrap_or(0.0);
                    replace(line, r, (v * scale).round().max(1.0));
                }
                continue;
            }
            if trimmed.starts_with("per:") {
                if let Some(r) = find_number(line, "max", 0) {
                    let v: f64 = line[r.0..r.1].parse().unwrap_or(0.0);
                    replace(line, r, (v * scale).round().max(1.0));
                }
                continue;
            }
            // Inside a flow map on one line, skip a `cap: { points: .. }` part.
            let skip_to = line
                .find("cap:")
                .map(|c| line[c..].find('}').map_or(line.len(), |e| c + e + 1));
            let found = match find_number(line, "points", 0) {
                Some(r) if skip_to.is_some() && line.find("cap:").is_some_and(|c| r.0 > c) => {
                    find_number(line, "points", skip_to.unwrap_or(0))
                }
                other => other,
            };
            if let Some(r) = found
                && !done
            {
                replace(line, r, edit.points);
                done = true;
                // A cap or a per-event maximum written on the same line scales too.
                for (part, key) in [("cap:", "points"), ("per:", "max")] {
                    if let Some(c) = line.find(part)
                        && let Some(r) = find_number(line, key, c)
                    {
                        let v: f64 = line[r.0..r.1].parse().unwrap_or(0.0);
                        replace(line, r, (v * scale).round().max(1.0));
                    }
                }
            }
        }
        if !done {
            return Err(format!("no `points:` found for rule `{}`", edit.rule));
        }
    }
    for (tier, min) in &changes.tiers {
        let line = lines
            .iter_mut()
            .find(|l| {
                l.contains("min_score")
                    && (l.contains(&format!("name: {tier},"))
                        || l.contains(&format!("name: {tier} "))
                        || l.trim_end().ends_with(&format!("name: {tier}")))
            })
            .ok_or_else(|| format!("tier `{tier}` with a min_score not found on one line"))?;
        let r = find_number(line, "min_score", 0).ok_or("min_score is not a number")?;
        replace(line, r, *min);
    }
    if !changes.grades.is_empty() {
        let line = lines
            .iter_mut()
            .find(|l| l.trim_start().starts_with("grades:"))
            .ok_or("fit grades not found on one line")?;
        for (grade, min) in &changes.grades {
            let r = find_number(line, grade, 0)
                .ok_or_else(|| format!("grade `{grade}` not found on the grades line"))?;
            replace(line, r, *min);
        }
    }
    if let Some(model) = &changes.model {
        if let Some(start) = lines.iter().position(|l| l.starts_with("model:")) {
            let mut end = start + 1;
            while end < lines.len()
                && (lines[end].is_empty()
                    || lines[end].starts_with(' ')
                    || lines[end].starts_with('#'))
            {
                end += 1;
            }
            lines.drain(start..end);
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        lines.push(String::new());
        lines.extend(model.lines().map(str::to_string));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    let plan = Plan::parse(&out, "learned plan").map_err(|e| e.to_string())?;
    for edit in &changes.edits {
        let got = old_points(&plan, &edit.rule);
        if got != Some(edit.points) {
            return Err(format!(
                "rule `{}` should have {} points after the rewrite but has {:?}",
                edit.rule, edit.points, got
            ));
        }
    }
    Ok(out)
}

/// A rule's points in a plan (signals, sequences, session bands, fit rules).
pub fn old_points(plan: &Plan, id: &str) -> Option<f64> {
    plan.signals
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.points)
        .or_else(|| plan.sequences.iter().find(|s| s.id == id).map(|s| s.points))
        .or_else(|| {
            plan.session
                .as_ref()
                .and_then(|s| s.bands.iter().find(|b| b.id == id).map(|b| b.points))
        })
        .or_else(|| plan.fit_rules.iter().find(|f| f.id == id).map(|f| f.points))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWROOM: &str = include_str!("../../../plans/showroom.yaml");

    #[test]
    fn rewrites_points_caps_tiers_and_grades_keeping_comments() {
        let changes = Changes {
            edits: vec![
                Edit { rule: "model_page".into(), points: 6.0 },
                Edit { rule: "careers_page".into(), points: -30.0 },
                Edit { rule: "visit_5min".into(), points: 2.0 },
                Edit { rule: "finance_tradein_cta".into(), points: 11.0 },
                Edit { rule: "region_served".into(), points: 12.0 },
                Edit { rule: "kiosk_dwell".into(), points: 1.0 },
            ],
            tiers: vec![("hot".into(), 70.0), ("warm".into(), 30.0)],
            grades: vec![("A".into(), 30.0), ("B".into(), 20.0)],
            model: Some("model:\n  outcome: sale\n  horizons:\n    - { within: 30d, intercept: -3.5, weights: { model_page: 0.2 } }\n".into()),
        };
        let out = rewrite(SHOWROOM, &changes).unwrap();
        let plan = Plan::parse(&out, "out").unwrap();
        assert_eq!(old_points(&plan, "model_page"), Some(6.0));
        assert_eq!(old_points(&plan, "careers_page"), Some(-30.0));
        assert_eq!(old_points(&plan, "visit_5min"), Some(2.0));
        assert_eq!(old_points(&plan, "region_served"), Some(12.0));
        // The cap doubled with the points (3 → 6): 30 → 60 a week.
        let model_page = plan.signals.iter().find(|s| s.id == "model_page").unwrap();
        assert_eq!(model_page.cap.unwrap().points, 60.0);
        // Per-event maximum halves with the points (2 → 1): 10 → 5.
        let dwell = plan.signals.iter().find(|s| s.id == "kiosk_dwell").unwrap();
        assert_eq!(dwell.per.as_ref().unwrap().max, Some(5.0));
        assert_eq!(plan.levels[0].min_score, Some(70.0));
        assert_eq!(plan.levels[1].min_score, Some(30.0));
        assert_eq!(plan.grades[0].min, 30.0);
        assert!(plan.model.is_some());
        // Comments survive.
        assert!(out.contains("# a visit two weeks ago counts half"));
        // Rules not edited keep their points.
        assert_eq!(old_points(&plan, "configurator"), Some(12.0));
        // A second rewrite replaces the model section instead of adding one.
        let again = rewrite(&out, &changes).unwrap();
        assert_eq!(again.matches("\nmodel:").count(), 1);
    }

    #[test]
    fn a_cap_on_the_rule_line_scales_with_its_points() {
        let text = SHOWROOM.replace(
            "  - id: configurator\n    label: Built a car in the configurator\n    when: { event: Configurator Completed }\n    points: 12\n    cap: { points: 24, per: 1w }\n",
            "  - { id: configurator, when: { event: Configurator Completed }, points: 12, cap: { points: 24, per: 1w } }\n",
        );
        assert!(text.contains("{ id: configurator,"));
        let changes = Changes {
            edits: vec![Edit {
                rule: "configurator".into(),
                points: 6.0,
            }],
            ..Changes::default()
        };
        let plan = Plan::parse(&rewrite(&text, &changes).unwrap(), "out").unwrap();
        let c = plan
            .signals
            .iter()
            .find(|s| s.id == "configurator")
            .unwrap();
        assert_eq!(c.points, 6.0);
        assert_eq!(c.cap.unwrap().points, 12.0);
    }

    #[test]
    fn an_unknown_rule_is_an_error() {
        let changes = Changes {
            edits: vec![Edit {
                rule: "nope".into(),
                points: 1.0,
            }],
            ..Changes::default()
        };
        assert!(rewrite(SHOWROOM, &changes).unwrap_err().contains("nope"));
    }

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(-0.00001), "-0.00001");
    }
}
