//! The incremental scorer: a compact per-profile state (a few hundred bytes at most, laid out by
//! the plan) that takes one classified event at a time in event-time order, in O(1) and without
//! allocating.
//!
//! Two steps, both pure:
//! 1. [`Scorer::classify`] reads an [`Event`] once and records which rules it touches
//!    ([`Classified`]); it needs no profile state, so it can run anywhere (at ingest, in parallel).
//! 2. [`Scorer::apply`] advances a profile's state with a classified event at its time, reporting
//!    each award and tier change to a [`Sink`]. [`Scorer::peek`] reads the score, fit, grade and tier
//!    at any later `now`.
//!
//! Events must be applied in canonical order (time, then message id). An event older than the
//! profile's last one is refused with [`Late`]; the caller then rescores the profile from its
//! history (the [`crate::engine`] does). Decay is exact: exponential with per-class accumulators
//! rescaled on each update. Expiry ("only the last N days count") takes the awards from an
//! [`ExpiryLog`] the caller keeps, each award leaving exactly once.

use crate::event::{Event, FieldPath};
use crate::plan::{BandMeasure, Frequency, Plan, RuleRef, Step};
use crate::predicate::Predicate;
use crate::time::{Ts, bucket};
use rustc_hash::{FxHashMap, FxHasher};
use std::collections::VecDeque;
use std::hash::Hasher;

/// The effective tier value meaning `disqualified`.
pub const DISQUALIFIED: u8 = u8::MAX;
const NONE_TS: i64 = i64::MIN;
const NO_OVERRIDE: u8 = u8::MAX;

/// A signal that matched an event, with its points before frequency and caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Signal index in the plan.
    pub signal: u16,
    /// Raw points (fixed, or per unit).
    pub raw: f64,
}

/// A session event's measurements.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SessionHit {
    /// Hash of the session key (0 = no key).
    pub key: u32,
    /// Dwell seconds to add.
    pub dwell: f64,
    /// Hash of the depth value (0 = none).
    pub depth: u32,
}

/// A trait the event sets: the slot and which of the slot's predicates the new value passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraitUpdate {
    /// Trait slot.
    pub slot: u8,
    /// Bit per predicate of the slot.
    pub mask: u32,
}

/// What one event means to a plan. Reusable: [`Scorer::classify`] clears it first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classified {
    /// Signals matched, in plan order.
    pub hits: Vec<Hit>,
    /// Sequence steps matched (bit per step over all sequences).
    pub steps: u64,
    /// Session measurements, when the event belongs to sessions.
    pub session: Option<SessionHit>,
    /// Overrides fired (bit per override).
    pub overrides: u32,
    /// Event disqualifiers fired (bit per disqualifier).
    pub disqualify: u32,
    /// Traits set.
    pub traits: Vec<TraitUpdate>,
    /// Score group values: (group index, hash of the value).
    pub groups: Vec<(u8, u64)>,
    /// The outcome the event records (then it matches no signal: outcomes are labels).
    pub outcome: Option<crate::outcome::OutcomeHit>,
}

impl Classified {
    /// Whether the event touches no scoring rule at all.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
            && self.steps == 0
            && self.session.is_none()
            && self.overrides == 0
            && self.disqualify == 0
            && self.traits.is_empty()
    }
}

/// Points awarded by a rule for an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Award {
    /// Event time.
    pub ts: Ts,
    /// The rule.
    pub rule: RuleRef,
    /// Points the rule offered before frequency limits and caps.
    pub raw: f64,
    /// Points awarded after caps (may be 0 when capped).
    pub points: f64,
    /// Decay class.
    pub class: u8,
}

/// A change of effective tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierChange {
    /// When.
    pub ts: Ts,
    /// From (tier index or [`DISQUALIFIED`]).
    pub from: u8,
    /// To.
    pub to: u8,
    /// The override that forced it, if any.
    pub by_override: Option<u8>,
}

/// Receives what `apply` decides.
pub trait Sink {
    /// Points awarded (also 0-point awards of capped events, for the ledger).
    fn award(&mut self, award: Award);
    /// The effective tier changed.
    fn tier_change(&mut self, change: TierChange);
    /// An override fired.
    fn override_fired(&mut self, _ts: Ts, _index: usize) {}
}

/// A sink that ignores everything.
pub struct NoSink;

impl Sink for NoSink {
    fn award(&mut self, _: Award) {}
    fn tier_change(&mut self, _: TierChange) {}
}

/// Awards that will expire, oldest first, kept by the caller for plans with `expire_after`.
pub trait ExpiryLog {
    /// Records an award.
    fn push(&mut self, ts: Ts, class: u8, points: f64);
    /// Removes and returns the oldest award at or before `cutoff`.
    fn pop_expired(&mut self, cutoff: Ts) -> Option<(Ts, u8, f64)>;
    /// Visits the awards at or before `cutoff` without removing them.
    fn each_expired(&self, cutoff: Ts, f: &mut dyn FnMut(Ts, u8, f64));
}

/// For plans without expiry: remembers nothing.
pub struct NoExpiry;

impl ExpiryLog for NoExpiry {
    fn push(&mut self, _: Ts, _: u8, _: f64) {}
    fn pop_expired(&mut self, _: Ts) -> Option<(Ts, u8, f64)> {
        None
    }
    fn each_expired(&self, _: Ts, _: &mut dyn FnMut(Ts, u8, f64)) {}
}

impl ExpiryLog for VecDeque<(Ts, u8, f64)> {
    fn push(&mut self, ts: Ts, class: u8, points: f64) {
        if points != 0.0 {
            self.push_back((ts, class, points));
        }
    }
    fn pop_expired(&mut self, cutoff: Ts) -> Option<(Ts, u8, f64)> {
        if self.front().is_some_and(|f| f.0 <= cutoff) {
            self.pop_front()
        } else {
            None
        }
    }
    fn each_expired(&self, cutoff: Ts, f: &mut dyn FnMut(Ts, u8, f64)) {
        for &(ts, class, points) in self.iter().take_while(|e| e.0 <= cutoff) {
            f(ts, class, points);
        }
    }
}

/// The event was older than the profile's last event: rescore from history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event at {ts} is older than the profile's last event at {last}")]
pub struct Late {
    /// The event's time.
    pub ts: Ts,
    /// The profile's last event time.
    pub last: Ts,
}

/// A profile's scores at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Engagement score (decayed, expiry applied).
    pub score: f64,
    /// Fit score.
    pub fit: f64,
    /// Fit grade index (0 = best), when the plan grades fit.
    pub grade: Option<usize>,
    /// Effective tier (index, or [`DISQUALIFIED`]).
    pub tier: u8,
    /// Since when the effective tier holds.
    pub tier_since: Option<Ts>,
    /// The active override, if any.
    pub override_index: Option<usize>,
    /// The disqualifier that applies, if any.
    pub disqualifier: Option<usize>,
    /// Events applied.
    pub events: u32,
    /// Last event time.
    pub last_event: Option<Ts>,
}

struct TraitSlot {
    path: FieldPath,
    preds: Vec<Predicate>,
    absent_mask: u32,
}

/// Byte offsets of the state's parts; sizes depend on the plan.
#[derive(Debug, Clone)]
struct Layout {
    size: usize,
    accs: usize,
    /// Once-bits of signals, then of sequences.
    once: usize,
    once_seq: usize,
    freq: Vec<Option<usize>>,
    cap: Vec<Option<usize>>,
    seq: Vec<(usize, Option<usize>)>,
    session: usize,
    traits: usize,
    /// Bytes per trait slot's predicate mask (1, 2 or 4).
    trait_width: usize,
}

// Fixed header offsets.
const LAST_TS: usize = 0;
const TIER_SINCE: usize = 8;
const OVERRIDE_UNTIL: usize = 16;
const EVENTS: usize = 24;
const DQ_EVENTS: usize = 28;
const SCORE_TIER: usize = 32;
const EFF_TIER: usize = 33;
const OVERRIDE_IDX: usize = 34;
const HEADER: usize = 35;

// Session part offsets (relative).
const S_KEY: usize = 0;
const S_LAST: usize = 4;
const S_DWELL: usize = 12;
const S_BANDS: usize = 20;
const S_DEPTH_N: usize = 24;
const S_DEPTH: usize = 25;

#[inline]
fn rd8(b: &[u8], o: usize) -> [u8; 8] {
    b[o..o + 8].try_into().expect("8 bytes")
}
#[inline]
fn get_i64(b: &[u8], o: usize) -> i64 {
    i64::from_le_bytes(rd8(b, o))
}
#[inline]
fn set_i64(b: &mut [u8], o: usize, v: i64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}
#[inline]
fn get_f64(b: &[u8], o: usize) -> f64 {
    f64::from_le_bytes(rd8(b, o))
}
#[inline]
fn set_f64(b: &mut [u8], o: usize, v: f64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}
#[inline]
fn get_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
#[inline]
fn set_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
/// A stable 64-bit hash of text (FxHash of the bytes), used for session keys, depth values and
/// group values.
pub fn text_hash(text: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(text.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

fn hash32(text: &str) -> u32 {
    let h = text_hash(text);
    ((h >> 32) as u32 ^ h as u32) | 1
}

/// A plan compiled for scoring.
pub struct Scorer {
    plan: Plan,
    layout: Layout,
    by_name: FxHashMap<String, Vec<u16>>,
    /// Signals that match on no name, per event type (indexed by the type's number): an event
    /// checks only those that can match its type.
    unnamed: [Vec<u16>; 6],
    slots: Vec<TraitSlot>,
    fit_needs: Vec<Vec<(usize, u32)>>,
    dq_needs: Vec<Vec<(usize, u32)>>,
    step_base: Vec<usize>,
    /// Some tier needs a least fit grade.
    grid: bool,
}

impl Scorer {
    /// Compiles a plan.
    pub fn new(plan: Plan) -> Self {
        let mut by_name: FxHashMap<String, Vec<u16>> = FxHashMap::default();
        let mut unnamed: [Vec<u16>; 6] = Default::default();
        for (i, s) in plan.signals.iter().enumerate() {
            if s.matcher.names.is_empty() {
                for t in crate::event::EventType::ALL {
                    if s.matcher.types == 0 || s.matcher.types & t.bit() != 0 {
                        unnamed[t as usize].push(i as u16);
                    }
                }
            } else {
                for n in &s.matcher.names {
                    by_name.entry(n.clone()).or_default().push(i as u16);
                }
            }
        }
        // Trait slots: one per distinct trait path; a bit per predicate on it.
        let mut slots: Vec<TraitSlot> = Vec::new();
        let mut need = |conds: &[(FieldPath, Predicate)]| -> Vec<(usize, u32)> {
            conds
                .iter()
                .map(|(path, pred)| {
                    let slot = match slots.iter().position(|s| &s.path == path) {
                        Some(i) => i,
                        None => {
                            slots.push(TraitSlot {
                                path: path.clone(),
                                preds: Vec::new(),
                                absent_mask: 0,
                            });
                            slots.len() - 1
                        }
                    };
                    let s = &mut slots[slot];
                    let bit = s.preds.len() as u32;
                    if pred.matches(None) {
                        s.absent_mask |= 1 << bit;
                    }
                    s.preds.push(pred.clone());
                    (slot, 1u32 << bit)
                })
                .collect()
        };
        let fit_needs: Vec<_> = plan.fit_rules.iter().map(|r| need(&r.conditions)).collect();
        let dq_needs: Vec<_> = plan.disqualifiers.iter().map(|d| need(&d.traits)).collect();
        let mut step_base = Vec::new();
        let mut n = 0;
        for q in &plan.sequences {
            step_base.push(n);
            n += q.steps.len();
        }
        let widest = slots.iter().map(|s| s.preds.len()).max().unwrap_or(0);
        let trait_width = match widest {
            0..=8 => 1,
            9..=16 => 2,
            _ => 4,
        };
        let layout = Self::layout(&plan, slots.len(), trait_width);
        Scorer {
            grid: plan.levels.iter().any(|l| l.min_grade.is_some()),
            plan,
            layout,
            by_name,
            unnamed,
            slots,
            fit_needs,
            dq_needs,
            step_base,
        }
    }

    fn layout(plan: &Plan, n_slots: usize, trait_width: usize) -> Layout {
        let mut at = HEADER;
        let mut take = |n: usize| {
            let o = at;
            at += n;
            o
        };
        let accs = take(8 * plan.decay_classes.len());
        let once = if plan.signals.iter().any(|s| s.frequency == Frequency::Once) {
            take(plan.signals.len().div_ceil(8))
        } else {
            0
        };
        let once_seq = if plan
            .sequences
            .iter()
            .any(|s| s.frequency == Frequency::Once)
        {
            take(plan.sequences.len().div_ceil(8))
        } else {
            0
        };
        let freq = plan
            .signals
            .iter()
            .map(|s| matches!(s.frequency, Frequency::AtMost { .. }).then(|| take(8)))
            .collect();
        let cap = plan
            .signals
            .iter()
            .map(|s| s.cap.map(|_| take(12)))
            .collect();
        let seq = plan
            .sequences
            .iter()
            .map(|q| {
                let best = take(8 * (q.steps.len() - 1).max(1));
                let f = matches!(q.frequency, Frequency::AtMost { .. }).then(|| take(8));
                (best, f)
            })
            .collect();
        let session = match &plan.session {
            Some(s) => take(S_DEPTH + 4 * s.depth_limit as usize),
            None => 0,
        };
        let traits = take(trait_width * n_slots);
        Layout {
            size: at,
            accs,
            once,
            once_seq,
            trait_width,
            freq,
            cap,
            seq,
            session,
            traits,
        }
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Bytes of state per profile for this plan.
    pub fn state_size(&self) -> usize {
        self.layout.size
    }

    /// A fresh state for a profile with no events.
    pub fn new_state(&self) -> Vec<u8> {
        let mut s = vec![0u8; self.layout.size];
        self.reset(&mut s);
        s
    }

    /// Resets a state in place to "no events".
    pub fn reset(&self, s: &mut [u8]) {
        s.fill(0);
        set_i64(s, LAST_TS, NONE_TS);
        set_i64(s, TIER_SINCE, NONE_TS);
        s[SCORE_TIER] = (self.plan.levels.len() - 1) as u8;
        s[EFF_TIER] = (self.plan.levels.len() - 1) as u8;
        s[OVERRIDE_IDX] = NO_OVERRIDE;
        for (qi, q) in self.plan.sequences.iter().enumerate() {
            let (best, _) = self.layout.seq[qi];
            for j in 0..q.steps.len().saturating_sub(1).max(1) {
                set_i64(s, best + 8 * j, NONE_TS);
            }
        }
        if self.plan.session.is_some() {
            set_i64(s, self.layout.session + S_LAST, NONE_TS);
        }
        for (i, slot) in self.slots.iter().enumerate() {
            self.set_mask(s, i, slot.absent_mask);
        }
    }

    /// Reads an event against the plan.
    pub fn classify(&self, event: &Event, out: &mut Classified) {
        out.hits.clear();
        out.traits.clear();
        out.groups.clear();
        out.steps = 0;
        out.session = None;
        out.overrides = 0;
        out.disqualify = 0;
        let plan = &self.plan;
        out.outcome = if event.kind == crate::event::EventType::Track {
            crate::outcome::outcome_of(&plan.outcomes, event)
        } else {
            None
        };
        let named = event
            .name
            .as_deref()
            .and_then(|n| self.by_name.get(n))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let unnamed = &self.unnamed[event.kind as usize];
        let scored = if out.outcome.is_some() {
            &[][..]
        } else {
            named
        };
        let unscored: &[u16] = if out.outcome.is_some() { &[] } else { unnamed };
        for &i in scored.iter().chain(unscored.iter()) {
            let s = &plan.signals[i as usize];
            if s.matcher.matches(event) {
                out.hits.push(Hit {
                    signal: i,
                    raw: s.raw_points(event),
                });
            }
        }
        if !unnamed.is_empty() && !named.is_empty() {
            out.hits.sort_by_key(|h| h.signal);
        }
        for (qi, q) in plan.sequences.iter().enumerate() {
            for (j, step) in q.steps.iter().enumerate() {
                let hit = match step {
                    Step::Signal(si) => out.hits.iter().any(|h| h.signal as usize == *si),
                    Step::Pattern(m) => m.matches(event),
                };
                if hit {
                    out.steps |= 1u64 << (self.step_base[qi] + j);
                }
            }
        }
        if let Some(rule) = &plan.session
            && rule.matcher.matches(event)
        {
            let text_of = |p: &Option<FieldPath>| {
                p.as_ref()
                    .and_then(|p| event.field(p))
                    .and_then(|v| v.to_text().map(|t| hash32(&t)))
                    .unwrap_or(0)
            };
            out.session = Some(SessionHit {
                key: text_of(&rule.key),
                dwell: rule
                    .dwell
                    .as_ref()
                    .and_then(|p| event.field(p))
                    .and_then(|v| v.as_f64())
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .unwrap_or(0.0),
                depth: text_of(&rule.depth),
            });
        }
        for (i, o) in plan.overrides.iter().enumerate() {
            if o.matcher.matches(event) {
                out.overrides |= 1 << i;
            }
        }
        for (i, d) in plan.disqualifiers.iter().enumerate() {
            if d.matcher.as_ref().is_some_and(|m| m.matches(event)) {
                out.disqualify |= 1 << i;
            }
        }
        if !event.traits.is_empty() {
            for (i, slot) in self.slots.iter().enumerate() {
                if let Some(v) = event.field(&slot.path) {
                    let mut mask = 0;
                    for (b, p) in slot.preds.iter().enumerate() {
                        if p.matches(Some(v)) {
                            mask |= 1 << b;
                        }
                    }
                    out.traits.push(TraitUpdate {
                        slot: i as u8,
                        mask,
                    });
                }
            }
        }
        for (gi, g) in plan.groups.iter().enumerate() {
            if let Some(t) = event.field(&g.key).and_then(|v| v.to_text()) {
                out.groups.push((gi as u8, text_hash(&t)));
            }
        }
    }

    /// Advances a profile's state with one classified event at `ts`.
    pub fn apply(
        &self,
        s: &mut [u8],
        ts: Ts,
        c: &Classified,
        log: &mut impl ExpiryLog,
        sink: &mut impl Sink,
    ) -> Result<(), Late> {
        let plan = &self.plan;
        let l = &self.layout;
        let last = get_i64(s, LAST_TS);
        if last != NONE_TS {
            if ts < last {
                return Err(Late { ts, last });
            }
            let dt = ts - last;
            if dt > 0 {
                for (ci, class) in plan.decay_classes.iter().enumerate() {
                    if let Some(h) = class {
                        let o = l.accs + 8 * ci;
                        let v = get_f64(s, o);
                        if v != 0.0 {
                            set_f64(s, o, v * (-(dt as f64) / h.millis() as f64).exp2());
                        }
                    }
                }
            }
        }
        set_i64(s, LAST_TS, ts);
        if let Some(exp) = plan.expire_after {
            while let Some((t, class, pts)) = log.pop_expired(ts - exp.millis()) {
                let o = l.accs + 8 * class as usize;
                let left = pts * plan.decay_factor(class as usize, ts - t);
                set_f64(s, o, get_f64(s, o) - left);
            }
        }
        // Decay and expired overrides may have lowered the tier since the last event.
        if last != NONE_TS {
            self.step_tier(s, ts, sink);
        }
        for t in &c.traits {
            self.set_mask(s, t.slot as usize, t.mask);
        }

        let mut award = |s: &mut [u8], rule: RuleRef, raw: f64, points: f64, class: usize| {
            if points != 0.0 {
                let o = l.accs + 8 * class;
                set_f64(s, o, get_f64(s, o) + points);
                log.push(ts, class as u8, points);
            }
            sink.award(Award {
                ts,
                rule,
                raw,
                points,
                class: class as u8,
            });
        };

        for hit in &c.hits {
            let si = hit.signal as usize;
            let sig = &plan.signals[si];
            match sig.frequency {
                Frequency::Every => {}
                Frequency::Once => {
                    let o = l.once + si / 8;
                    if s[o] & (1 << (si % 8)) != 0 {
                        continue;
                    }
                    s[o] |= 1 << (si % 8);
                }
                Frequency::AtMost { count, period } => {
                    let o = l.freq[si].expect("frequency slot");
                    let b = bucket(ts, period) as u32;
                    let mut n = get_u32(s, o + 4);
                    if get_u32(s, o) != b {
                        set_u32(s, o, b);
                        n = 0;
                    }
                    if n >= count {
                        continue;
                    }
                    set_u32(s, o + 4, n + 1);
                }
            }
            let mut points = hit.raw;
            if let Some(cap) = sig.cap {
                let o = l.cap[si].expect("cap slot");
                let b = cap.period.map_or(0, |p| bucket(ts, p) as u32);
                let mut used = get_f64(s, o + 4);
                if get_u32(s, o) != b {
                    set_u32(s, o, b);
                    used = 0.0;
                }
                let room = (cap.points - used).max(0.0);
                points = points.clamp(-room, room);
                set_f64(s, o + 4, used + points.abs());
            }
            award(s, RuleRef::Signal(si), hit.raw, points, sig.decay_class);
        }

        if c.steps != 0 {
            for (qi, q) in plan.sequences.iter().enumerate() {
                let base = self.step_base[qi];
                let (best, freq) = l.seq[qi];
                let k = q.steps.len();
                for j in (0..k).rev() {
                    if c.steps & (1u64 << (base + j)) == 0 {
                        continue;
                    }
                    if j == 0 {
                        set_i64(s, best, ts);
                        continue;
                    }
                    let start = get_i64(s, best + 8 * (j - 1));
                    if start == NONE_TS {
                        continue;
                    }
                    if j + 1 < k {
                        let o = best + 8 * j;
                        if start > get_i64(s, o) {
                            set_i64(s, o, start);
                        }
                        continue;
                    }
                    if ts - start > q.within.millis() {
                        continue;
                    }
                    // Completed: consume the partial matches; this event starts nothing new.
                    for m in 0..k - 1 {
                        set_i64(s, best + 8 * m, NONE_TS);
                    }
                    let allowed = match q.frequency {
                        Frequency::Every => true,
                        Frequency::Once => {
                            let o = l.once_seq + qi / 8;
                            let first = s[o] & (1 << (qi % 8)) == 0;
                            s[o] |= 1 << (qi % 8);
                            first
                        }
                        Frequency::AtMost { count, period } => {
                            let o = freq.expect("sequence frequency slot");
                            let b = bucket(ts, period) as u32;
                            let mut n = get_u32(s, o + 4);
                            if get_u32(s, o) != b {
                                set_u32(s, o, b);
                                n = 0;
                            }
                            let ok = n < count;
                            if ok {
                                set_u32(s, o + 4, n + 1);
                            }
                            ok
                        }
                    };
                    if allowed {
                        award(s, RuleRef::Sequence(qi), q.points, q.points, q.decay_class);
                    }
                    break;
                }
            }
        }

        if let (Some(hit), Some(rule)) = (c.session, &plan.session) {
            let o = l.session;
            let prev_last = get_i64(s, o + S_LAST);
            let fresh = prev_last == NONE_TS
                || get_u32(s, o + S_KEY) != hit.key
                || ts - prev_last > rule.gap.millis();
            if fresh {
                set_u32(s, o + S_KEY, hit.key);
                set_f64(s, o + S_DWELL, 0.0);
                set_u32(s, o + S_BANDS, 0);
                s[o + S_DEPTH_N] = 0;
            }
            set_i64(s, o + S_LAST, ts);
            let dwell = get_f64(s, o + S_DWELL) + hit.dwell;
            set_f64(s, o + S_DWELL, dwell);
            let mut depth = s[o + S_DEPTH_N] as u32;
            if hit.depth != 0 && depth < rule.depth_limit {
                let seen =
                    (0..depth as usize).any(|d| get_u32(s, o + S_DEPTH + 4 * d) == hit.depth);
                if !seen {
                    set_u32(s, o + S_DEPTH + 4 * depth as usize, hit.depth);
                    depth += 1;
                    s[o + S_DEPTH_N] = depth as u8;
                }
            }
            let mut bands = get_u32(s, o + S_BANDS);
            for (bi, band) in rule.bands.iter().enumerate() {
                if bands & (1 << bi) != 0 {
                    continue;
                }
                let reached = match band.measure {
                    BandMeasure::Dwell(d) => dwell >= d,
                    BandMeasure::Depth(d) => depth >= d,
                };
                if reached {
                    bands |= 1 << bi;
                    award(
                        s,
                        RuleRef::Band(bi),
                        band.points,
                        band.points,
                        band.decay_class,
                    );
                }
            }
            set_u32(s, o + S_BANDS, bands);
        }

        if c.overrides != 0 {
            let oi = c.overrides.trailing_zeros() as usize;
            let o = &plan.overrides[oi];
            s[OVERRIDE_IDX] = oi as u8;
            set_i64(s, OVERRIDE_UNTIL, ts + o.duration.millis());
            sink.override_fired(ts, oi);
        }
        if c.disqualify != 0 {
            set_u32(s, DQ_EVENTS, get_u32(s, DQ_EVENTS) | c.disqualify);
        }
        set_u32(s, EVENTS, get_u32(s, EVENTS) + 1);
        self.step_tier(s, ts, sink);
        Ok(())
    }

    /// The fit rules that hold in a profile's state: bit `i` for rule `i`.
    pub fn fit_holding(&self, s: &[u8]) -> u128 {
        let mut bits = 0u128;
        for (ri, needs) in self.fit_needs.iter().enumerate() {
            if self.holds(s, needs) {
                bits |= 1 << ri;
            }
        }
        bits
    }

    fn fit_of(&self, s: &[u8]) -> f64 {
        let mut fit = 0.0;
        for (ri, needs) in self.fit_needs.iter().enumerate() {
            if self.holds(s, needs) {
                fit += self.plan.fit_rules[ri].points;
            }
        }
        fit
    }

    fn holds(&self, s: &[u8], needs: &[(usize, u32)]) -> bool {
        needs
            .iter()
            .all(|&(slot, bit)| self.mask(s, slot) & bit != 0)
    }

    /// A trait slot's predicate mask.
    fn mask(&self, s: &[u8], slot: usize) -> u32 {
        let (w, o) = (
            self.layout.trait_width,
            self.layout.traits + self.layout.trait_width * slot,
        );
        let mut b = [0u8; 4];
        b[..w].copy_from_slice(&s[o..o + w]);
        u32::from_le_bytes(b)
    }

    fn set_mask(&self, s: &mut [u8], slot: usize, mask: u32) {
        let (w, o) = (
            self.layout.trait_width,
            self.layout.traits + self.layout.trait_width * slot,
        );
        s[o..o + w].copy_from_slice(&mask.to_le_bytes()[..w]);
    }

    fn disqualifier_of(&self, s: &[u8]) -> Option<usize> {
        let dq = get_u32(s, DQ_EVENTS);
        (0..self.plan.disqualifiers.len()).find(|&i| {
            dq & (1 << i) != 0 || (!self.dq_needs[i].is_empty() && self.holds(s, &self.dq_needs[i]))
        })
    }

    fn raw_score(&self, s: &[u8], now: Ts, log: &dyn ExpiryLogRead) -> f64 {
        let plan = &self.plan;
        let last = get_i64(s, LAST_TS);
        if last == NONE_TS {
            return 0.0;
        }
        let age = (now - last).max(0);
        let mut score = 0.0;
        for ci in 0..plan.decay_classes.len() {
            score += get_f64(s, self.layout.accs + 8 * ci) * plan.decay_factor(ci, age);
        }
        if let Some(exp) = plan.expire_after {
            log.each(now - exp.millis(), &mut |t, class, pts| {
                score -= pts * plan.decay_factor(class as usize, now.max(last) - t);
            });
        }
        score
    }

    /// Effective tier at `now` given the held score tier (does not change state).
    fn tier_at(
        &self,
        s: &[u8],
        now: Ts,
        score: f64,
        grade: Option<usize>,
    ) -> (u8, u8, Option<usize>, Option<usize>) {
        let held = s[SCORE_TIER] as usize;
        let score_tier = self.plan.score_tier(score, grade, held) as u8;
        if let Some(d) = self.disqualifier_of(s) {
            return (DISQUALIFIED, score_tier, None, Some(d));
        }
        let oi = s[OVERRIDE_IDX];
        if oi != NO_OVERRIDE && now < get_i64(s, OVERRIDE_UNTIL) {
            let forced = self.plan.overrides[oi as usize].tier as u8;
            return (forced, score_tier, Some(oi as usize), None);
        }
        (score_tier, score_tier, None, None)
    }

    fn step_tier(&self, s: &mut [u8], ts: Ts, sink: &mut impl Sink) {
        // Expired awards were already taken out of the accumulators.
        let score = self.raw_score(s, ts, &NoExpiryRead);
        // The grade matters to tiers only on a fit × engagement grid.
        let grade = if self.grid {
            self.plan.grade_of(self.fit_of(s))
        } else {
            None
        };
        let (eff, score_tier, by_override, _) = self.tier_at(s, ts, score, grade);
        s[SCORE_TIER] = score_tier;
        let from = s[EFF_TIER];
        if eff != from || get_i64(s, TIER_SINCE) == NONE_TS {
            s[EFF_TIER] = eff;
            set_i64(s, TIER_SINCE, ts);
            if eff != from {
                sink.tier_change(TierChange {
                    ts,
                    from,
                    to: eff,
                    by_override: by_override.map(|o| o as u8),
                });
            }
        }
    }

    /// The profile's scores and tier at `now` (≥ its last event), without changing its state.
    pub fn peek(&self, s: &[u8], now: Ts, log: &impl ExpiryLog) -> Snapshot {
        let read = LogRead(log);
        let score = self.raw_score(s, now, &read);
        let fit = self.fit_of(s);
        let grade = self.plan.grade_of(fit);
        let (tier, _, override_index, disqualifier) = self.tier_at(s, now, score, grade);
        let last = get_i64(s, LAST_TS);
        let since = get_i64(s, TIER_SINCE);
        let tier_since = if last == NONE_TS {
            None
        } else if tier == s[EFF_TIER] {
            Some(since)
        } else {
            Some(self.change_time(s, last, now, grade, &read))
        };
        Snapshot {
            score,
            fit,
            grade,
            tier,
            tier_since,
            override_index,
            disqualifier,
            events: get_u32(s, EVENTS),
            last_event: (last != NONE_TS).then_some(last),
        }
    }

    /// When, between the last event and `now`, the effective tier left the one held at the last
    /// event (an override ran out, or decay took the score below a threshold).
    fn change_time(
        &self,
        s: &[u8],
        last: Ts,
        now: Ts,
        grade: Option<usize>,
        log: &dyn ExpiryLogRead,
    ) -> Ts {
        let held = s[EFF_TIER];
        let differs = |t: Ts| {
            let score = self.raw_score(s, t, log);
            self.tier_at(s, t, score, grade).0 != held
        };
        let (mut lo, mut hi) = (last, now);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if differs(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

trait ExpiryLogRead {
    fn each(&self, cutoff: Ts, f: &mut dyn FnMut(Ts, u8, f64));
}
struct NoExpiryRead;
impl ExpiryLogRead for NoExpiryRead {
    fn each(&self, _: Ts, _: &mut dyn FnMut(Ts, u8, f64)) {}
}
struct LogRead<'a, L: ExpiryLog>(&'a L);
impl<L: ExpiryLog> ExpiryLogRead for LogRead<'_, L> {
    fn each(&self, cutoff: Ts, f: &mut dyn FnMut(Ts, u8, f64)) {
        self.0.each_expired(cutoff, f)
    }
}

/// The tier's name (`disqualified` for [`DISQUALIFIED`]).
pub fn tier_name(plan: &Plan, tier: u8) -> &str {
    if tier == DISQUALIFIED {
        "disqualified"
    } else {
        &plan.levels[tier as usize].name
    }
}
