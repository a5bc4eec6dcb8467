//! The naive reference scorer: recomputes everything from the full history, in the plainest way,
//! with none of the incremental engine's tricks (no accumulators, no buckets, no hashes). It is
//! the oracle the property tests hold the fast paths to; it is not meant to be fast.

use crate::event::{Event, FieldPath};
use crate::plan::{BandMeasure, Frequency, Plan, RuleRef, Step};
use crate::score::DISQUALIFIED;
use crate::time::{Ts, bucket};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A profile's result by the oracle.
#[derive(Debug, Clone, PartialEq)]
pub struct RefProfile {
    /// The canonical id: `user:<id>` or `anon:<id>`.
    pub id: String,
    /// Engagement score at `now`.
    pub score: f64,
    /// Fit score.
    pub fit: f64,
    /// Effective tier at `now`.
    pub tier: u8,
    /// Every award: (time, message id, rule, offered, awarded).
    pub awards: Vec<(Ts, String, RuleRef, f64, f64)>,
    /// Effective tier changes at event times: (time, from, to).
    pub changes: Vec<(Ts, u8, u8)>,
    /// Score group values and scores.
    pub groups: BTreeMap<(String, String), f64>,
}

/// Canonical node name of an id.
fn node(user: bool, id: &str) -> String {
    if user {
        format!("user:{id}")
    } else {
        format!("anon:{id}")
    }
}

/// Naive identity resolution: sets of node names, merged link by link in canonical order.
pub fn resolve_naive(events: &[Event]) -> BTreeMap<String, String> {
    let mut links: Vec<(Ts, &str, String, String, bool)> = Vec::new();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    for e in events {
        if let Some(u) = &e.user_id {
            nodes.insert(node(true, u));
        }
        if let Some(a) = &e.anonymous_id {
            nodes.insert(node(false, a));
        }
        match (&e.kind, &e.user_id, &e.anonymous_id, &e.previous_id) {
            (crate::event::EventType::Alias, Some(u), _, Some(p)) => {
                for prev in [node(true, p), node(false, p)] {
                    nodes.insert(prev.clone());
                    links.push((e.timestamp, &e.message_id, prev, node(true, u), true));
                }
            }
            (_, Some(u), Some(a), _) => {
                links.push((
                    e.timestamp,
                    &e.message_id,
                    node(false, a),
                    node(true, u),
                    false,
                ));
            }
            _ => {}
        }
    }
    links.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut sets: Vec<(BTreeSet<String>, Option<String>)> = nodes
        .iter()
        .map(|n| {
            let user = n.starts_with("user:").then(|| n.clone());
            (BTreeSet::from([n.clone()]), user)
        })
        .collect();
    for (_, _, from, to, explicit) in links {
        let a = sets.iter().position(|s| s.0.contains(&from)).expect("node");
        let b = sets.iter().position(|s| s.0.contains(&to)).expect("node");
        if a == b {
            continue;
        }
        let (ua, ub) = (sets[a].1.clone(), sets[b].1.clone());
        if !explicit && ua.is_some() && ub.is_some() && ua != ub {
            continue;
        }
        let survivor = ub.or(ua);
        let moved = std::mem::take(&mut sets[a].0);
        sets[b].0.extend(moved);
        sets[b].1 = survivor;
        sets.remove(a);
    }
    let mut out = BTreeMap::new();
    for (members, user) in sets {
        let canon = user.unwrap_or_else(|| members.iter().next().cloned().unwrap_or_default());
        for m in members {
            out.insert(m, canon.clone());
        }
    }
    out
}

/// The oracle: every profile's score, fit and tier at `now`, from events in any order (repeated
/// message ids count once: the first seen). Events after `now`, identity links included, are
/// ignored: they have not happened yet.
pub fn score_all(plan: &Plan, events: &[Event], now: Ts) -> BTreeMap<String, RefProfile> {
    // As of `now`, later events (identity links included) do not exist yet.
    let mut seen = HashSet::new();
    let unique: Vec<Event> = events
        .iter()
        .filter(|e| seen.insert(e.message_id.clone()))
        .filter(|e| e.timestamp <= now)
        .cloned()
        .collect();
    let canon = resolve_naive(&unique);
    let mut by_profile: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in &unique {
        let n = match &e.user_id {
            Some(u) => node(true, u),
            None => node(false, e.anonymous_id.as_deref().expect("an id")),
        };
        by_profile.entry(canon[&n].clone()).or_default().push(e);
    }
    by_profile
        .into_iter()
        .map(|(id, mut evs)| {
            evs.sort_by(|a, b| (a.timestamp, &a.message_id).cmp(&(b.timestamp, &b.message_id)));
            let p = score_profile(plan, &id, &evs, now);
            (id, p)
        })
        .collect()
}

fn latest_trait<'a>(
    events: &[&'a Event],
    upto: usize,
    path: &FieldPath,
) -> Option<crate::event::FieldValue<'a>> {
    events[..upto].iter().rev().find_map(|e| e.field(path))
}

fn fit_at(plan: &Plan, events: &[&Event], upto: usize) -> f64 {
    plan.fit_rules
        .iter()
        .filter(|r| {
            r.conditions
                .iter()
                .all(|(p, pred)| pred.matches(latest_trait(events, upto, p)))
        })
        .map(|r| r.points)
        .sum()
}

/// Scores one profile's events (sorted, all at or before `now`).
fn score_profile(plan: &Plan, id: &str, evs: &[&Event], now: Ts) -> RefProfile {
    // Awards: (event index, time, rule, offered, awarded, class).
    let mut awards: Vec<(usize, Ts, RuleRef, f64, f64, usize)> = Vec::new();
    let mut passed: Vec<(usize, Ts)> = Vec::new(); // (signal, time) passing frequency
    let mut seq_done: Vec<Option<usize>> = vec![None; plan.sequences.len()];
    let mut seq_passed: Vec<Vec<Ts>> = vec![Vec::new(); plan.sequences.len()];
    // Session tracking: key, last time, dwell, depth values seen, bands awarded.
    type Session = (Option<String>, Ts, f64, HashSet<String>, BTreeSet<usize>);
    let mut session: Option<Session> = None;
    let score_at = |awards: &[(usize, Ts, RuleRef, f64, f64, usize)], t: Ts| -> f64 {
        awards
            .iter()
            .filter(|a| plan.expire_after.is_none_or(|e| a.1 > t - e.millis()))
            .map(|a| a.4 * plan.decay_factor(a.5, t - a.1))
            .sum()
    };
    let last_level = plan.levels.len() - 1;
    let mut held = last_level;
    let mut eff = last_level as u8;
    let mut changes = Vec::new();
    let mut override_state: Option<(usize, Ts)> = None; // (override, until)
    let dq_of = |upto: usize, dq_fired: &BTreeSet<usize>| -> bool {
        plan.disqualifiers.iter().enumerate().any(|(i, d)| {
            dq_fired.contains(&i)
                || (!d.traits.is_empty()
                    && d.traits
                        .iter()
                        .all(|(p, pred)| pred.matches(latest_trait(evs, upto, p))))
        })
    };
    let mut dq_fired: BTreeSet<usize> = BTreeSet::new();
    let step = |t: Ts,
                upto: usize,
                awards: &[(usize, Ts, RuleRef, f64, f64, usize)],
                override_state: Option<(usize, Ts)>,
                dq_fired: &BTreeSet<usize>,
                held: &mut usize,
                eff: &mut u8,
                changes: &mut Vec<(Ts, u8, u8)>| {
        let score = score_at(awards, t);
        let grade = plan.grade_of(fit_at(plan, evs, upto));
        *held = plan.score_tier(score, grade, *held);
        let new = if dq_of(upto, dq_fired) {
            DISQUALIFIED
        } else if let Some((o, _)) = override_state.filter(|o| t < o.1) {
            plan.overrides[o].tier as u8
        } else {
            *held as u8
        };
        if new != *eff {
            changes.push((t, *eff, new));
            *eff = new;
        }
    };

    for (i, e) in evs.iter().enumerate() {
        let t = e.timestamp;
        if i > 0 {
            step(
                t,
                i,
                &awards,
                override_state,
                &dq_fired,
                &mut held,
                &mut eff,
                &mut changes,
            );
        }
        // Signals.
        for (si, sig) in plan.signals.iter().enumerate() {
            if !sig.matcher.matches(e) {
                continue;
            }
            let ok = match sig.frequency {
                Frequency::Every => true,
                Frequency::Once => !passed.iter().any(|p| p.0 == si),
                Frequency::AtMost { count, period } => {
                    passed
                        .iter()
                        .filter(|p| p.0 == si && bucket(p.1, period) == bucket(t, period))
                        .count()
                        < count as usize
                }
            };
            if !ok {
                continue;
            }
            passed.push((si, t));
            let raw = sig.raw_points(e);
            let mut pts = raw;
            if let Some(cap) = sig.cap {
                let used: f64 = awards
                    .iter()
                    .filter(|a| {
                        a.2 == RuleRef::Signal(si)
                            && cap.period.is_none_or(|p| bucket(a.1, p) == bucket(t, p))
                    })
                    .map(|a| a.4.abs())
                    .sum();
                let room = (cap.points - used).max(0.0);
                pts = raw.clamp(-room, room);
            }
            awards.push((i, t, RuleRef::Signal(si), raw, pts, sig.decay_class));
        }
        // Sequences.
        for (qi, q) in plan.sequences.iter().enumerate() {
            let step_matches = |j: usize, ev: &Event| match &q.steps[j] {
                Step::Signal(si) => plan.signals[*si].matcher.matches(ev),
                Step::Pattern(m) => m.matches(ev),
            };
            let k = q.steps.len();
            if !step_matches(k - 1, e) {
                continue;
            }
            let from = seq_done[qi].map_or(0, |d| d + 1);
            let complete = (from..i).any(|s| {
                if !step_matches(0, evs[s]) || t - evs[s].timestamp > q.within.millis() {
                    return false;
                }
                // Greedy: steps 1..k-1 in order strictly between s and i.
                let mut j = 1;
                for &e in &evs[s + 1..i] {
                    if j < k - 1 && step_matches(j, e) {
                        j += 1;
                    }
                }
                j == k - 1
            });
            if !complete {
                continue;
            }
            seq_done[qi] = Some(i);
            let ok = match q.frequency {
                Frequency::Every => true,
                Frequency::Once => seq_passed[qi].is_empty(),
                Frequency::AtMost { count, period } => {
                    seq_passed[qi]
                        .iter()
                        .filter(|&&p| bucket(p, period) == bucket(t, period))
                        .count()
                        < count as usize
                }
            };
            if ok {
                seq_passed[qi].push(t);
                awards.push((
                    i,
                    t,
                    RuleRef::Sequence(qi),
                    q.points,
                    q.points,
                    q.decay_class,
                ));
            }
        }
        // Sessions.
        if let Some(rule) = &plan.session
            && rule.matcher.matches(e)
        {
            let text = |p: &Option<FieldPath>| {
                p.as_ref()
                    .and_then(|p| e.field(p))
                    .and_then(|v| v.to_text().map(|t| t.into_owned()))
            };
            let key = text(&rule.key);
            let fresh = match &session {
                None => true,
                Some((k, last, ..)) => *k != key || t - last > rule.gap.millis(),
            };
            if fresh {
                session = Some((key.clone(), t, 0.0, HashSet::new(), BTreeSet::new()));
            }
            let s = session.as_mut().expect("session");
            s.1 = t;
            s.2 += rule
                .dwell
                .as_ref()
                .and_then(|p| e.field(p))
                .and_then(|v| v.as_f64())
                .filter(|v| v.is_finite() && *v > 0.0)
                .unwrap_or(0.0);
            if let Some(d) = text(&rule.depth) {
                s.3.insert(d);
            }
            for (bi, band) in rule.bands.iter().enumerate() {
                let reached = match band.measure {
                    BandMeasure::Dwell(d) => s.2 >= d,
                    BandMeasure::Depth(d) => s.3.len() >= d as usize,
                };
                if reached && s.4.insert(bi) {
                    awards.push((
                        i,
                        t,
                        RuleRef::Band(bi),
                        band.points,
                        band.points,
                        band.decay_class,
                    ));
                }
            }
        }
        if let Some(oi) = plan.overrides.iter().position(|o| o.matcher.matches(e)) {
            override_state = Some((oi, t + plan.overrides[oi].duration.millis()));
        }
        for (di, d) in plan.disqualifiers.iter().enumerate() {
            if d.matcher.as_ref().is_some_and(|m| m.matches(e)) {
                dq_fired.insert(di);
            }
        }
        step(
            t,
            i + 1,
            &awards,
            override_state,
            &dq_fired,
            &mut held,
            &mut eff,
            &mut changes,
        );
    }
    let score = score_at(&awards, now);
    let fit = fit_at(plan, evs, evs.len());
    let grade = plan.grade_of(fit);
    let tier = if evs.is_empty() {
        last_level as u8
    } else if dq_of(evs.len(), &dq_fired) {
        DISQUALIFIED
    } else if let Some((o, _)) = override_state.filter(|o| now < o.1) {
        plan.overrides[o].tier as u8
    } else {
        plan.score_tier(score, grade, held) as u8
    };
    let mut groups = BTreeMap::new();
    for a in &awards {
        let left = if plan.expire_after.is_some_and(|x| a.1 <= now - x.millis()) {
            0.0
        } else {
            a.4 * plan.decay_factor(a.5, now - a.1)
        };
        for g in &plan.groups {
            let counts = match (&g.signals, a.2) {
                (None, _) => true,
                (Some(list), RuleRef::Signal(si)) => list.contains(&si),
                _ => false,
            };
            if let (true, Some(v)) = (counts, evs[a.0].field(&g.key).and_then(|v| v.to_text())) {
                *groups.entry((g.id.clone(), v.into_owned())).or_insert(0.0) += left;
            }
        }
    }
    RefProfile {
        id: id.to_string(),
        score,
        fit,
        tier,
        awards: awards
            .iter()
            .map(|a| (a.1, evs[a.0].message_id.clone(), a.2, a.3, a.4))
            .collect(),
        changes,
        groups,
    }
}
