//! The fitted model a plan can carry (`model:`, written by `intent learn`): the probability that
//! a profile reaches an outcome within each horizon (7 and 30 days, say), computed from the
//! plan's own rules, so it is explained by the same ledger as the points.
//!
//! **Features.** Every signal, sequence and session band gives one feature: its awards' units
//! left at `now` after decay and expiry (an award of the rule's full points is one unit; a
//! per-minute signal counts minutes; a capped award counts what the cap let through). Every fit
//! rule gives one 0/1 feature. [`Features`] builds them from awards as the scorer makes them (the
//! batch learner) or from an [`Explanation`] (the service); both give the same numbers.
//!
//! **Prediction.** `p = sigmoid(slope × (intercept + Σ weight × feature) + offset)`: a logistic
//! regression with Platt calibration, per horizon.

use crate::explain::Explanation;
use crate::outcome::OutcomeKind;
use crate::plan::{DurationText, Plan, PlanIssue, RuleRef};
use crate::score::Award;
use crate::time::{Duration, Ts};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// `model:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// The outcome predicted (`appointment`, `sale`, …).
    pub outcome: Spanned<String>,
    /// Where the model comes from (data, dates, quality), for people.
    #[serde(default)]
    pub note: Option<String>,
    /// One fitted model per horizon.
    pub horizons: Vec<HorizonFile>,
}

/// One horizon of `model:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HorizonFile {
    /// The horizon, e.g. `7d`.
    pub within: DurationText,
    /// The model's intercept (log-odds with no activity).
    pub intercept: f64,
    /// Log-odds per unit of each rule, by rule id.
    pub weights: Spanned<BTreeMap<String, f64>>,
    /// Platt calibration of the log-odds.
    #[serde(default)]
    pub calibration: Option<CalibrationFile>,
}

/// `calibration:` of a horizon: Platt's `slope` and `offset`, or isotonic `knots`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// Multiplies the log-odds.
    #[serde(default)]
    pub slope: Option<f64>,
    /// Added to the log-odds.
    #[serde(default)]
    pub offset: Option<f64>,
    /// `[log-odds, probability]` pairs, increasing: the probability is read off the line
    /// through them (flat beyond the ends).
    #[serde(default)]
    pub knots: Option<Vec<[f64; 2]>>,
}

/// Which rule a feature reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureRef {
    /// A signal, sequence or session band: units left after decay.
    Rule(RuleRef),
    /// A fit rule, by index: 1 when it holds.
    Fit(usize),
}

/// The features of a plan, in a fixed order: signals, sequences, bands, fit rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// What each feature reads.
    pub refs: Vec<FeatureRef>,
    /// Rule ids.
    pub ids: Vec<String>,
    /// Rule labels.
    pub labels: Vec<String>,
    /// Points of each rule in the plan (for fit rules, their fit points).
    pub points: Vec<f64>,
    /// For fit rules, the trait they test first (`traits.source`); empty for other rules.
    pub trait_of: Vec<String>,
    signal_base: usize,
    sequence_base: usize,
    band_base: usize,
    fit_base: usize,
}

impl Layout {
    /// The layout of `plan`.
    pub fn of(plan: &Plan) -> Layout {
        let mut l = Layout {
            refs: Vec::new(),
            ids: Vec::new(),
            labels: Vec::new(),
            points: Vec::new(),
            trait_of: Vec::new(),
            signal_base: 0,
            sequence_base: 0,
            band_base: 0,
            fit_base: 0,
        };
        let push = |l: &mut Layout, r: FeatureRef, id: &str, label: &str, points: f64| {
            l.refs.push(r);
            l.ids.push(id.to_string());
            l.labels.push(label.to_string());
            l.points.push(points);
            l.trait_of.push(String::new());
        };
        for (i, s) in plan.signals.iter().enumerate() {
            push(
                &mut l,
                FeatureRef::Rule(RuleRef::Signal(i)),
                &s.id,
                &s.label,
                s.points,
            );
        }
        l.sequence_base = l.refs.len();
        for (i, s) in plan.sequences.iter().enumerate() {
            push(
                &mut l,
                FeatureRef::Rule(RuleRef::Sequence(i)),
                &s.id,
                &s.label,
                s.points,
            );
        }
        l.band_base = l.refs.len();
        for (i, b) in plan.session.iter().flat_map(|s| s.bands.iter()).enumerate() {
            push(
                &mut l,
                FeatureRef::Rule(RuleRef::Band(i)),
                &b.id,
                &b.label,
                b.points,
            );
        }
        l.fit_base = l.refs.len();
        for (i, f) in plan.fit_rules.iter().enumerate() {
            push(&mut l, FeatureRef::Fit(i), &f.id, &f.label, f.points);
            if let Some((path, _)) = f.conditions.first() {
                *l.trait_of.last_mut().expect("just pushed") = path.to_string();
            }
        }
        l
    }

    /// How many features.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// Whether the plan has no rules.
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// The feature index of a rule.
    pub fn index(&self, rule: RuleRef) -> usize {
        match rule {
            RuleRef::Signal(i) => self.signal_base + i,
            RuleRef::Sequence(i) => self.sequence_base + i,
            RuleRef::Band(i) => self.band_base + i,
        }
    }

    /// The feature index of a fit rule.
    pub fn fit_index(&self, rule: usize) -> usize {
        self.fit_base + rule
    }

    /// The feature index of a rule id.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|x| x == id)
    }

    /// `signal`, `sequence`, `session` or `fit`.
    pub fn kind(&self, j: usize) -> &'static str {
        match self.refs[j] {
            FeatureRef::Rule(r) => r.kind(),
            FeatureRef::Fit(_) => "fit",
        }
    }
}

/// How many units of its rule an award is: points over the rule's points (1 for a full award),
/// or 1 for a rule worth 0 points.
pub fn award_units(rule_points: f64, awarded: f64) -> f64 {
    if rule_points == 0.0 {
        1.0
    } else {
        awarded / rule_points
    }
}

/// Adds an award, as it is left at `now` (after decay, and nothing once expired), to features
/// `values` in [`Layout`] order.
pub fn add_award(values: &mut [f64], plan: &Plan, layout: &Layout, award: &Award, now: Ts) {
    if plan
        .expire_after
        .is_some_and(|e| award.ts <= now - e.millis())
    {
        return;
    }
    let j = layout.index(award.rule);
    let decay = plan.decay_factor(award.class as usize, now - award.ts);
    values[j] += award_units(layout.points[j], award.points) * decay;
}

/// Sets the fit features in `values` from the fit rules holding (bit `i` for fit rule `i`).
pub fn set_fit(values: &mut [f64], layout: &Layout, holding: u128) {
    for (i, v) in values[layout.fit_base..].iter_mut().enumerate() {
        *v = if holding >> i & 1 == 1 { 1.0 } else { 0.0 };
    }
}

/// Builds one profile's features at `now`.
#[derive(Debug, Clone)]
pub struct Features {
    /// The values, in [`Layout`] order.
    pub values: Vec<f64>,
}

impl Features {
    /// All zeros.
    pub fn new(layout: &Layout) -> Self {
        Features {
            values: vec![0.0; layout.len()],
        }
    }

    /// Sets every value to 0.
    pub fn clear(&mut self) {
        self.values.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Adds an award as it is left at `now` (after decay, and nothing once expired).
    pub fn add_award(&mut self, plan: &Plan, layout: &Layout, award: &Award, now: Ts) {
        add_award(&mut self.values, plan, layout, award, now);
    }

    /// Sets the fit features from the fit rules holding (bit `i` for fit rule `i`).
    pub fn set_fit(&mut self, layout: &Layout, holding: u128) {
        set_fit(&mut self.values, layout, holding);
    }

    /// The features of an explanation made at `now`.
    pub fn from_explanation(plan: &Plan, layout: &Layout, e: &Explanation, now: Ts) -> Self {
        let mut f = Features::new(layout);
        let cutoff = plan.expire_after.map(|x| now - x.millis());
        for c in &e.contributions {
            let Some(j) = layout.find(&c.rule) else {
                continue;
            };
            let FeatureRef::Rule(rule) = layout.refs[j] else {
                continue;
            };
            if cutoff.is_some_and(|cut| c.ts <= cut) {
                continue;
            }
            let decay = plan.decay_factor(plan.decay_class(rule), now - c.ts);
            f.values[j] += award_units(layout.points[j], c.awarded) * decay;
        }
        for (id, _, _) in &e.fit_rules {
            if let Some(j) = layout.find(id) {
                f.values[j] = 1.0;
            }
        }
        f
    }
}

/// One horizon of a fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Horizon {
    /// The horizon.
    pub within: Duration,
    /// Intercept.
    pub intercept: f64,
    /// Weights in [`Layout`] order (0 for rules the model does not use).
    pub weights: Vec<f64>,
    /// Platt slope.
    pub slope: f64,
    /// Platt offset.
    pub offset: f64,
    /// Isotonic calibration knots (log-odds, probability); used instead of Platt when set.
    pub knots: Vec<(f64, f64)>,
}

impl Horizon {
    /// The uncalibrated log-odds.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.intercept + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }

    /// The calibrated probability.
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z = self.logit(x);
        interpolate(&self.knots, z).unwrap_or_else(|| sigmoid(self.slope * z + self.offset))
    }
}

/// Piecewise-linear interpolation through knots increasing in `x`, flat beyond the ends;
/// `None` without knots.
pub fn interpolate(knots: &[(f64, f64)], x: f64) -> Option<f64> {
    if x.is_nan() {
        return None;
    }
    let first = knots.first()?;
    let last = knots.last()?;
    if x <= first.0 {
        return Some(first.1);
    }
    if x >= last.0 {
        return Some(last.1);
    }
    let i = knots.partition_point(|k| k.0 <= x);
    let (a, b) = (knots[i - 1], knots[i]);
    let t = if b.0 > a.0 {
        (x - a.0) / (b.0 - a.0)
    } else {
        1.0
    };
    Some(a.1 + t * (b.1 - a.1))
}

/// A numerically stable logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The outcome it predicts.
    pub outcome: OutcomeKind,
    /// Where it comes from.
    pub note: String,
    /// Its features (the plan's layout).
    pub layout: Layout,
    /// One model per horizon, shortest first.
    pub horizons: Vec<Horizon>,
}

/// One horizon's probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chance {
    /// The horizon, e.g. `7d`.
    pub within: String,
    /// The probability of the outcome within it.
    pub probability: f64,
}

/// A horizon as people say it: whole days in days (`7d`, `30d`), otherwise as durations print.
pub fn within_text(d: Duration) -> String {
    if d.0 > 0 && d.0 % crate::time::DAY == 0 {
        format!("{}d", d.0 / crate::time::DAY)
    } else {
        d.to_string()
    }
}

/// What moves a prediction most.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Driver {
    /// Rule id.
    pub rule: String,
    /// Rule label.
    pub label: String,
    /// `signal`, `sequence`, `session` or `fit`.
    pub kind: &'static str,
    /// The feature's value (units left, or 1 for a fit rule).
    pub value: f64,
    /// Its effect on the longest horizon's log-odds.
    pub effect: f64,
}

/// A profile's predicted outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The outcome.
    pub outcome: OutcomeKind,
    /// Per horizon, shortest first.
    pub chances: Vec<Chance>,
    /// The features that move it most (by absolute effect), at most three.
    pub drivers: Vec<Driver>,
}

impl Model {
    /// Validates a `model:` section against the plan it sits in.
    pub fn build(file: ModelFile, plan: &Plan, issues: &mut Vec<PlanIssue>) -> Option<Model> {
        let mut at = |line: u64, column: u64, message: String| {
            issues.push(PlanIssue {
                line,
                column,
                message,
            })
        };
        let outcome = OutcomeKind::parse(&file.outcome.value);
        if outcome.is_none() {
            at(
                file.outcome.referenced.line(),
                file.outcome.referenced.column(),
                format!(
                    "no outcome `{}`; outcomes are: {}",
                    file.outcome.value,
                    OutcomeKind::names()
                ),
            );
        }
        let layout = Layout::of(plan);
        let mut horizons = Vec::new();
        for h in file.horizons {
            let mut weights = vec![0.0; layout.len()];
            for (id, w) in &h.weights.value {
                match layout.find(id) {
                    Some(j) => weights[j] = *w,
                    None => at(
                        h.weights.referenced.line(),
                        h.weights.referenced.column(),
                        format!(
                            "the model weighs `{id}`, but the plan has no such rule: remove it, or learn the model again with `intent learn`"
                        ),
                    ),
                }
            }
            let (slope, offset, knots) = match h.calibration {
                None => (1.0, 0.0, Vec::new()),
                Some(c) => {
                    let knots: Vec<(f64, f64)> = c
                        .knots
                        .unwrap_or_default()
                        .into_iter()
                        .map(|[l, p]| (l, p))
                        .collect();
                    let ok = knots
                        .windows(2)
                        .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
                        && knots
                            .iter()
                            .all(|k| k.0.is_finite() && (0.0..=1.0).contains(&k.1));
                    if !ok {
                        at(
                            h.weights.referenced.line(),
                            h.weights.referenced.column(),
                            "calibration knots must be `[log-odds, probability]` pairs increasing in both, with probabilities between 0 and 1".into(),
                        );
                    }
                    (c.slope.unwrap_or(1.0), c.offset.unwrap_or(0.0), knots)
                }
            };
            horizons.push(Horizon {
                within: h.within.0,
                intercept: h.intercept,
                weights,
                slope,
                offset,
                knots,
            });
        }
        if horizons.is_empty() {
            at(
                file.outcome.referenced.line(),
                file.outcome.referenced.column(),
                "a model needs at least one horizon, e.g. `horizons: [{ within: 30d, intercept: -4, weights: {...} }]`".into(),
            );
        }
        horizons.sort_by_key(|h| h.within.0);
        if horizons.windows(2).any(|w| w[0].within == w[1].within) {
            at(
                file.outcome.referenced.line(),
                file.outcome.referenced.column(),
                "two horizons with the same `within`: keep one".into(),
            );
        }
        let finite = |h: &Horizon| {
            h.intercept.is_finite()
                && h.slope.is_finite()
                && h.offset.is_finite()
                && h.weights.iter().all(|w| w.is_finite())
        };
        if !horizons.iter().all(finite) {
            at(
                file.outcome.referenced.line(),
                file.outcome.referenced.column(),
                "the model's intercept, weights and calibration must be finite numbers".into(),
            );
        }
        Some(Model {
            outcome: outcome?,
            note: file.note.unwrap_or_default(),
            layout,
            horizons,
        })
    }

    /// The prediction for features `x` (in the plan's [`Layout`] order).
    pub fn predict(&self, x: &[f64]) -> Prediction {
        let chances = self
            .horizons
            .iter()
            .map(|h| Chance {
                within: within_text(h.within),
                probability: h.probability(x),
            })
            .collect();
        let mut drivers: Vec<Driver> = match self.horizons.last() {
            None => Vec::new(),
            Some(h) => h
                .weights
                .iter()
                .zip(x)
                .enumerate()
                .filter(|(_, (w, v))| **w != 0.0 && **v != 0.0)
                .map(|(j, (w, v))| Driver {
                    rule: self.layout.ids[j].clone(),
                    label: self.layout.labels[j].clone(),
                    kind: self.layout.kind(j),
                    value: *v,
                    effect: w * v,
                })
                .collect(),
        };
        drivers.sort_by(|a, b| b.effect.abs().total_cmp(&a.effect.abs()));
        drivers.truncate(3);
        Prediction {
            outcome: self.outcome,
            chances,
            drivers,
        }
    }

    /// The prediction for a profile's explanation made at `now`.
    pub fn explain(&self, plan: &Plan, e: &Explanation, now: Ts) -> Prediction {
        self.predict(&Features::from_explanation(plan, &self.layout, e, now).values)
    }
}
