//! Explanations: the ledger behind a score, as data. Every award of every rule, with the event
//! that earned it, the points the rule offered, what frequency limits and caps let through, and
//! what is left at `now` after decay and expiry. The ledger's `remaining` column sums to the score.

use crate::event::Event;
use crate::plan::RuleRef;
use crate::score::{Award, Classified, Scorer, Sink, Snapshot, TierChange};
use crate::time::Ts;
use std::collections::VecDeque;

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contribution {
    /// Event time.
    pub ts: Ts,
    /// The event's message id.
    pub message_id: String,
    /// `signal`, `sequence` or `session`.
    pub kind: &'static str,
    /// The rule's id.
    pub rule: String,
    /// The rule's label.
    pub label: String,
    /// Points the rule offered.
    pub offered: f64,
    /// Points awarded after caps.
    pub awarded: f64,
    /// Points left at `now` after decay and expiry.
    pub remaining: f64,
    /// Why less was awarded or is left: `capped`, `expired`.
    pub note: Option<&'static str>,
    /// Score group values of the event: (group id, value).
    pub groups: Vec<(String, String)>,
}

/// A fired override or tier change, for the story.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TierEvent {
    /// When.
    pub ts: Ts,
    /// From tier.
    pub from: String,
    /// To tier.
    pub to: String,
    /// The override's reason, when one forced it.
    pub reason: Option<String>,
}

/// Why a profile scores what it scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// Engagement score: the sum of `contributions[].remaining`.
    pub score: f64,
    /// Fit score.
    pub fit: f64,
    /// Fit rules that hold: (id, label, points).
    pub fit_rules: Vec<(String, String, f64)>,
    /// Fit grade.
    pub grade: Option<String>,
    /// Effective tier.
    pub tier: String,
    /// Since when.
    pub tier_since: Option<Ts>,
    /// Why the tier is forced (override or disqualifier), if it is.
    pub reason: Option<String>,
    /// Score groups: (group id, value, score), highest first.
    pub groups: Vec<(String, String, f64)>,
    /// The ledger, in event order.
    pub contributions: Vec<Contribution>,
    /// Tier changes in event order.
    pub tier_changes: Vec<TierEvent>,
}

struct Recorder {
    awards: Vec<(usize, Award)>,
    changes: Vec<(TierChange, Option<usize>)>,
    current: usize,
}

impl Sink for Recorder {
    fn award(&mut self, award: Award) {
        self.awards.push((self.current, award));
    }
    fn tier_change(&mut self, change: TierChange) {
        self.changes
            .push((change, change.by_override.map(|o| o as usize)));
    }
}

/// Explains a profile from its events in canonical order (time, then message id), all at or
/// before `now`. Returns the explanation and the snapshot the incremental state gives, which the
/// explanation agrees with.
pub fn explain(
    scorer: &Scorer,
    events: &[(&Event, &Classified)],
    now: Ts,
) -> (Explanation, Snapshot) {
    let plan = scorer.plan();
    let mut state = scorer.new_state();
    let mut log = VecDeque::new();
    let mut rec = Recorder {
        awards: Vec::new(),
        changes: Vec::new(),
        current: 0,
    };
    for (i, (e, c)) in events.iter().enumerate() {
        rec.current = i;
        scorer
            .apply(&mut state, e.timestamp, c, &mut log, &mut rec)
            .expect("explain takes events in canonical order");
    }
    let snap = scorer.peek(&state, now, &log);
    let cutoff = plan.expire_after.map(|e| now - e.millis());
    let mut contributions = Vec::with_capacity(rec.awards.len());
    let mut groups: Vec<(String, String, f64)> = Vec::new();
    for (ei, a) in &rec.awards {
        let (event, _) = events[*ei];
        let expired = cutoff.is_some_and(|c| a.ts <= c);
        let remaining = if expired {
            0.0
        } else {
            a.points * plan.decay_factor(a.class as usize, now - a.ts)
        };
        let (id, label) = plan.rule(a.rule);
        let note = if expired && a.points != 0.0 {
            Some("expired")
        } else if a.points != a.raw {
            Some("capped")
        } else {
            None
        };
        let mut event_groups = Vec::new();
        for g in &plan.groups {
            let counts = match (&g.signals, a.rule) {
                (None, _) => true,
                (Some(list), RuleRef::Signal(si)) => list.contains(&si),
                (Some(_), _) => false,
            };
            if !counts {
                continue;
            }
            if let Some(v) = event.field(&g.key).and_then(|v| v.to_text()) {
                let v = v.into_owned();
                match groups.iter_mut().find(|x| x.0 == g.id && x.1 == v) {
                    Some(x) => x.2 += remaining,
                    None => groups.push((g.id.clone(), v.clone(), remaining)),
                }
                event_groups.push((g.id.clone(), v));
            }
        }
        contributions.push(Contribution {
            ts: a.ts,
            message_id: event.message_id.clone(),
            kind: a.rule.kind(),
            rule: id.to_string(),
            label: label.to_string(),
            offered: a.raw,
            awarded: a.points,
            remaining,
            note,
            groups: event_groups,
        });
    }
    groups.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)));
    // `+ 0.0` turns the empty sum (-0.0) into 0.0.
    let score = contributions.iter().map(|c| c.remaining).sum::<f64>() + 0.0;
    let name = |t: u8| crate::score::tier_name(plan, t).to_string();
    let reason = match (snap.disqualifier, snap.override_index) {
        (Some(d), _) => Some(plan.disqualifiers[d].reason.clone()),
        (None, Some(o)) => Some(plan.overrides[o].reason.clone()),
        _ => None,
    };
    let fit_rules = fit_rules_holding(scorer, events);
    let explanation = Explanation {
        score,
        fit: snap.fit,
        fit_rules,
        grade: snap.grade.map(|g| plan.grades[g].name.clone()),
        tier: name(snap.tier),
        tier_since: snap.tier_since,
        reason,
        groups,
        contributions,
        tier_changes: rec
            .changes
            .iter()
            .map(|(c, o)| TierEvent {
                ts: c.ts,
                from: name(c.from),
                to: name(c.to),
                reason: o.map(|o| plan.overrides[o].reason.clone()),
            })
            .collect(),
    };
    (explanation, snap)
}

/// A profile's scores at each of `times` (ascending), each counting only the events at or
/// before that moment: the score a salesperson would have seen then. Events are in canonical
/// order. One pass: the incremental state is peeked at each moment between events.
pub fn score_series(
    scorer: &Scorer,
    events: &[(&Event, &Classified)],
    times: &[Ts],
) -> Vec<Snapshot> {
    let mut state = scorer.new_state();
    let mut log = VecDeque::new();
    let mut rec = Recorder {
        awards: Vec::new(),
        changes: Vec::new(),
        current: 0,
    };
    let mut out = Vec::with_capacity(times.len());
    let mut next = 0;
    for &t in times {
        while let Some((e, c)) = events.get(next).filter(|(e, _)| e.timestamp <= t) {
            scorer
                .apply(&mut state, e.timestamp, c, &mut log, &mut rec)
                .expect("events in canonical order");
            next += 1;
        }
        // Only the state matters here; the recorder's ledger is not kept.
        rec.awards.clear();
        rec.changes.clear();
        out.push(scorer.peek(&state, t, &log));
    }
    out
}

/// The fit rules that hold on the latest traits.
fn fit_rules_holding(
    scorer: &Scorer,
    events: &[(&Event, &Classified)],
) -> Vec<(String, String, f64)> {
    let plan = scorer.plan();
    // Latest value of every trait the fit rules read.
    plan.fit_rules
        .iter()
        .filter(|rule| {
            rule.conditions.iter().all(|(path, pred)| {
                let latest = events.iter().rev().find_map(|(e, _)| e.field(path));
                pred.matches(latest)
            })
        })
        .map(|r| (r.id.clone(), r.label.clone(), r.points))
        .collect()
}
