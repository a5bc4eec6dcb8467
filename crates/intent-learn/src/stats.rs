//! The statistics every report uses: conversion rates with Wilson intervals, contrasts (lift and
//! odds ratio with a Woolf interval), ranking quality (ROC AUC, average precision, lift and
//! precision at the top) and calibration (reliability table, Brier score).
//!
//! Everything here runs on one to two million examples: each ranking metric sorts once
//! (`O(n log n)`) and then walks the groups of tied scores, never pairs of examples. Tied scores are
//! always treated as one group, so a constant score ranks nothing: AUC 0.5, lift 1, precision
//! equal to the base rate.
//!
//! Scores are compared as numbers (`-0.0` ties with `0.0`); a `NaN` score ranks below every number,
//! tied with the other `NaN`s.
//!
//! # Panics
//! Functions taking `scores` (or `probabilities`) and `labels` panic when the two slices differ in
//! length: that is a bug in the caller, not a property of the data.

use std::cmp::Reverse;

use serde::Serialize;

/// The standard normal quantile for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A count of profiles and how many of them converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rate {
    /// How many profiles.
    pub n: u64,
    /// How many of them converted.
    pub positives: u64,
}

impl Rate {
    /// A rate from its counts. `positives` must not exceed `n`.
    pub fn new(n: u64, positives: u64) -> Self {
        debug_assert!(positives <= n, "more positives than profiles");
        Rate { n, positives }
    }

    /// The share that converted; `NaN` when there are no profiles.
    pub fn rate(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.positives as f64 / self.n as f64
        }
    }

    /// Counts one more profile.
    pub fn add(&mut self, positive: bool) {
        self.n += 1;
        self.positives += u64::from(positive);
    }

    /// Adds another count to this one (for counting in parts and merging).
    pub fn merge(&mut self, other: Rate) {
        self.n += other.n;
        self.positives += other.positives;
    }

    /// The profiles that did not convert.
    pub fn negatives(&self) -> u64 {
        self.n - self.positives
    }

    /// The 95 % Wilson score interval for the rate. With no profiles it is `(0, 1)`: nothing is
    /// known. Unlike the normal ("Wald") interval it stays inside `[0, 1]` and does not collapse
    /// to a point at 0 % or 100 %.
    pub fn wilson(&self) -> (f64, f64) {
        if self.n == 0 {
            return (0.0, 1.0);
        }
        let n = self.n as f64;
        let p = self.positives as f64 / n;
        let z2 = Z95 * Z95;
        let denominator = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denominator;
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
        // At 0 % and 100 % the interval touches the end exactly; rounding would miss it by 1e-16.
        let low = if self.positives == 0 {
            0.0
        } else {
            centre - half
        };
        let high = if self.positives == self.n {
            1.0
        } else {
            centre + half
        };
        (low.clamp(0.0, 1.0), high.clamp(0.0, 1.0))
    }
}

/// Profiles with a trait against profiles without it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contrast {
    /// The profiles that have the trait.
    pub with: Rate,
    /// The profiles that do not.
    pub without: Rate,
    /// `rate(with) / rate(all)`: how many times the overall rate the trait's rate is.
    pub lift: f64,
    /// The odds of converting with the trait over the odds without it.
    pub odds_ratio: f64,
    /// The low end of the 95 % Woolf (log) interval for the odds ratio.
    pub ci_low: f64,
    /// The high end of the 95 % Woolf (log) interval for the odds ratio.
    pub ci_high: f64,
}

/// Compares the profiles with a trait to the profiles without it.
///
/// The odds ratio and its interval add 0.5 to each of the four cells when any cell is 0
/// (Haldane–Anscombe), so a trait every holder of which converted still gets a finite ratio and a
/// wide interval. When either group is empty there is nothing to compare: the odds ratio and its
/// interval are `NaN`. `lift` is `NaN` when nobody converted.
pub fn contrast(with: Rate, without: Rate) -> Contrast {
    let mut all = with;
    all.merge(without);
    let lift = with.rate() / all.rate();
    let (odds_ratio, ci_low, ci_high) = if with.n == 0 || without.n == 0 {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        let cells = [
            with.positives,
            with.negatives(),
            without.positives,
            without.negatives(),
        ];
        let correction = if cells.contains(&0) { 0.5 } else { 0.0 };
        let [a, b, c, d] = cells.map(|cell| cell as f64 + correction);
        let log_odds = (a * d / (b * c)).ln();
        let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
        (
            log_odds.exp(),
            (log_odds - Z95 * se).exp(),
            (log_odds + Z95 * se).exp(),
        )
    };
    Contrast {
        with,
        without,
        lift,
        odds_ratio,
        ci_low,
        ci_high,
    }
}

/// Maps a score to a key whose unsigned order is the numeric order: `-0.0` and `0.0` share a key,
/// and every `NaN` gets key 0, below `-inf`.
fn order_key(score: f64) -> u64 {
    if score.is_nan() {
        return 0;
    }
    // Adding 0.0 turns -0.0 into 0.0.
    let bits = (score + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// One set of tied scores: how many positives and negatives share it.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    positives: u64,
    negatives: u64,
}

impl Group {
    fn n(&self) -> u64 {
        self.positives + self.negatives
    }
}

/// Sorts once and returns the groups of tied scores, highest score first, with the totals.
fn groups_descending(scores: &[f64], labels: &[bool]) -> (Vec<Group>, Group) {
    assert_eq!(
        scores.len(),
        labels.len(),
        "scores and labels differ in length"
    );
    let mut pairs: Vec<(u64, bool)> = scores
        .iter()
        .zip(labels)
        .map(|(&score, &label)| (order_key(score), label))
        .collect();
    pairs.sort_unstable_by_key(|&(key, _)| Reverse(key));
    let mut groups = Vec::new();
    let mut total = Group::default();
    let mut current: Option<(u64, Group)> = None;
    for (key, label) in pairs {
        match &mut current {
            Some((k, _)) if *k == key => {}
            _ => {
                if let Some((_, group)) = current.take() {
                    groups.push(group);
                }
                current = Some((key, Group::default()));
            }
        }
        let group = &mut current.as_mut().expect("just set").1;
        if label {
            group.positives += 1;
            total.positives += 1;
        } else {
            group.negatives += 1;
            total.negatives += 1;
        }
    }
    if let Some((_, group)) = current {
        groups.push(group);
    }
    (groups, total)
}

/// The area under the ROC curve: the chance that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney U statistic over `positives × negatives`).
/// `NaN` when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let (groups, total) = groups_descending(scores, labels);
    if total.positives == 0 || total.negatives == 0 {
        return f64::NAN;
    }
    // Twice U, in exact integers: each positive beats the negatives below its group and ties with
    // the negatives inside it. Walking from the top, "below" is everything not yet passed.
    let mut twice_u: u128 = 0;
    let mut negatives_below = total.negatives;
    for group in &groups {
        negatives_below -= group.negatives;
        twice_u += u128::from(group.positives)
            * (2 * u128::from(negatives_below) + u128::from(group.negatives));
    }
    twice_u as f64 / (2.0 * total.positives as f64 * total.negatives as f64)
}

/// Average precision, as scikit-learn's `average_precision_score`: the sum over distinct score
/// thresholds (tied scores taken together) of the gain in recall times the precision there.
/// `NaN` when there are no positives.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let (groups, total) = groups_descending(scores, labels);
    if total.positives == 0 {
        return f64::NAN;
    }
    let mut true_positives = 0u64;
    let mut seen = 0u64;
    let mut sum = 0.0;
    for group in &groups {
        true_positives += group.positives;
        seen += group.n();
        if group.positives > 0 {
            let precision = true_positives as f64 / seen as f64;
            sum += group.positives as f64 * precision;
        }
    }
    sum / total.positives as f64
}

/// The expected number of positives among the `k` highest scores. When the cut falls inside a
/// group of tied scores, the part of the group taken counts at the group's rate: the average over
/// every way of breaking the tie.
fn positives_in_top(groups: &[Group], k: u64) -> f64 {
    let mut left = k;
    let mut positives = 0.0;
    for group in groups {
        if left == 0 {
            break;
        }
        let n = group.n();
        if n <= left {
            positives += group.positives as f64;
            left -= n;
        } else {
            positives += group.positives as f64 * left as f64 / n as f64;
            left = 0;
        }
    }
    positives
}

/// The positive rate among the top `fraction` of examples by score, over the overall positive
/// rate. The top holds `round(fraction × n)` examples, at least one; a `fraction` above 1 counts
/// as 1. Ties at the cut count at their group's rate (see [`precision_at`]). `NaN` when there are
/// no examples, no positives, or `fraction` is not above 0.
pub fn lift_at(scores: &[f64], labels: &[bool], fraction: f64) -> f64 {
    let (groups, total) = groups_descending(scores, labels);
    let n = total.n();
    if n == 0 || total.positives == 0 || fraction.is_nan() || fraction <= 0.0 {
        return f64::NAN;
    }
    let k = ((fraction.min(1.0) * n as f64).round() as u64).clamp(1, n);
    let top_rate = positives_in_top(&groups, k) / k as f64;
    top_rate / (total.positives as f64 / n as f64)
}

/// The share of positives among the `k` highest scores. When the `k`-th place falls inside a group
/// of tied scores, the part of the group taken counts at the group's rate, so the answer does not
/// depend on the input order. `k` above the number of examples counts as all of them; `NaN` when
/// `k` is 0 or there are no examples.
pub fn precision_at(scores: &[f64], labels: &[bool], k: usize) -> f64 {
    let (groups, total) = groups_descending(scores, labels);
    let k = (k as u64).min(total.n());
    if k == 0 {
        return f64::NAN;
    }
    positives_in_top(&groups, k) / k as f64
}

/// The median, reordering `values` in place (linear time). For an even count it is the mean of
/// the two middle values. `None` when `values` is empty. `NaN`s take part in `f64::total_cmp`
/// order, so remove them first if they mean "missing".
pub fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (below, middle, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let middle = *middle;
    if n % 2 == 1 {
        return Some(middle);
    }
    let lower = below
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("an even, non-empty slice has a lower half");
    Some(lower + (middle - lower) / 2.0)
}

/// The `q`-quantile of values already sorted ascending, interpolating linearly between the two
/// nearest ranks (numpy's default, `method="linear"`). `q` is clamped to `[0, 1]`; `NaN` when
/// `sorted` is empty or `q` is `NaN`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let weight = position - lower as f64;
    let (a, b) = (sorted[lower], sorted[upper]);
    if weight == 0.0 {
        a
    } else {
        a + (b - a) * weight
    }
}

/// One row of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    /// The lower edge of the bin.
    pub lo: f64,
    /// The upper edge of the bin.
    pub hi: f64,
    /// How many predictions fell in the bin.
    pub n: u64,
    /// The mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// The share of the bin's examples that converted.
    pub observed: f64,
}

/// A reliability (calibration) table: `bins` equal-width bins over `[0, 1]`, each with its mean
/// prediction and observed rate. A bin holds `[lo, hi)`, the last one also 1; probabilities
/// outside `[0, 1]` are counted in the end bins and `NaN`s are skipped. Empty bins are left out.
pub fn reliability(probabilities: &[f64], labels: &[bool], bins: usize) -> Vec<Bin> {
    assert_eq!(
        probabilities.len(),
        labels.len(),
        "probabilities and labels differ in length"
    );
    if bins == 0 {
        return Vec::new();
    }
    // (n, positives, sum of predictions)
    let mut sums = vec![(0u64, 0u64, 0.0f64); bins];
    for (&p, &label) in probabilities.iter().zip(labels) {
        if p.is_nan() {
            continue;
        }
        let index = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        let bin = &mut sums[index];
        bin.0 += 1;
        bin.1 += u64::from(label);
        bin.2 += p;
    }
    sums.iter()
        .enumerate()
        .filter(|(_, bin)| bin.0 > 0)
        .map(|(i, &(n, positives, sum))| Bin {
            lo: i as f64 / bins as f64,
            hi: (i + 1) as f64 / bins as f64,
            n,
            mean_predicted: sum / n as f64,
            observed: positives as f64 / n as f64,
        })
        .collect()
}

/// The Brier score: the mean squared difference between the predicted probability and the
/// outcome (1 or 0). Lower is better; always predicting the base rate `p` scores `p(1 − p)`.
/// `NaN` when there are no examples.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(
        probabilities.len(),
        labels.len(),
        "probabilities and labels differ in length"
    );
    if probabilities.is_empty() {
        return f64::NAN;
    }
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &label)| {
            let error = p - f64::from(u8::from(label));
            error * error
        })
        .sum();
    sum / probabilities.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
    }

    macro_rules! assert_close {
        ($a:expr, $b:expr) => {{
            let (a, b): (f64, f64) = ($a, $b);
            assert!(close(a, b), "{} = {a}, expected {b}", stringify!($a));
        }};
    }

    // Reference values from scikit-learn 1.9.1 / numpy / scipy:
    //   from sklearn.metrics import roc_auc_score, average_precision_score, brier_score_loss
    //   s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.65, 0.05]
    //   y = [0, 0, 1, 1, 1, 1, 0, 0, 1, 0]
    //   roc_auc_score(y, s)            -> 0.8799999999999999
    //   average_precision_score(y, s)  -> 0.8761904761904762
    //   brier_score_loss(y, s)         -> 0.13275
    //   s2 = [3, 1, 2, 2, 5, 0, 2, 4, 1, 3, 3, 0]
    //   y2 = [1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0]
    //   roc_auc_score(y2, s2)           -> 0.8194444444444444
    //   average_precision_score(y2, s2) -> 0.8041666666666666
    const S: [f64; 10] = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.65, 0.05];
    const Y: [u8; 10] = [0, 0, 1, 1, 1, 1, 0, 0, 1, 0];
    const S2: [f64; 12] = [3.0, 1.0, 2.0, 2.0, 5.0, 0.0, 2.0, 4.0, 1.0, 3.0, 3.0, 0.0];
    const Y2: [u8; 12] = [1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0];

    fn labels(y: &[u8]) -> Vec<bool> {
        y.iter().map(|&v| v == 1).collect()
    }

    #[test]
    fn auc_and_average_precision_match_scikit_learn() {
        assert_close!(roc_auc(&S, &labels(&Y)), 0.8799999999999999);
        assert_close!(pr_auc(&S, &labels(&Y)), 0.8761904761904762);
        assert_close!(roc_auc(&S2, &labels(&Y2)), 0.8194444444444444);
        assert_close!(pr_auc(&S2, &labels(&Y2)), 0.8041666666666666);
    }

    #[test]
    fn constant_scores_rank_nothing() {
        let scores = [0.3; 8];
        let y = labels(&[1, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(roc_auc(&scores, &y), 0.5);
        assert_close!(lift_at(&scores, &y, 0.25), 1.0);
        assert_close!(precision_at(&scores, &y, 2), 3.0 / 8.0);
        // sklearn: average_precision_score(y, [0.3]*8) -> 0.375, the base rate
        assert_close!(pr_auc(&scores, &y), 0.375);
    }

    #[test]
    fn zero_signs_tie_and_nan_ranks_lowest() {
        // -0.0 and 0.0 are one score: AUC 0.5, not 1.
        assert_eq!(roc_auc(&[0.0, -0.0], &[true, false]), 0.5);
        assert_eq!(roc_auc(&[f64::NAN, f64::NEG_INFINITY], &[false, true]), 1.0);
        assert_eq!(roc_auc(&[f64::NAN, f64::NAN], &[false, true]), 0.5);
    }

    #[test]
    fn empty_classes_give_nan() {
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_nan());
        assert!(roc_auc(&[], &[]).is_nan());
        assert!(pr_auc(&[0.1, 0.2], &[false, false]).is_nan());
        // No negatives: every threshold has precision 1.
        assert_eq!(pr_auc(&[0.1, 0.2], &[true, true]), 1.0);
        assert!(lift_at(&[], &[], 0.1).is_nan());
        assert!(precision_at(&[0.5], &[true], 0).is_nan());
        assert!(brier(&[], &[]).is_nan());
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn mismatched_lengths_panic() {
        roc_auc(&[0.1, 0.2], &[true]);
    }

    #[test]
    fn lift_and_precision_at_the_top() {
        let y = labels(&Y);
        // Sorted by score: 0.9(1) 0.8(1) 0.65(1) 0.4(1,0,0) 0.35(1) 0.2(0) 0.1(0) 0.05(0)
        assert_close!(precision_at(&S, &y, 3), 1.0);
        // The 4th place is one of three tied 0.4s, one of them positive.
        assert_close!(precision_at(&S, &y, 4), (3.0 + 1.0 / 3.0) / 4.0);
        assert_close!(precision_at(&S, &y, 100), 0.5);
        // top 20 % = 2 examples, both positive; overall rate 0.5
        assert_close!(lift_at(&S, &y, 0.2), 2.0);
        assert_close!(lift_at(&S, &y, 1.0), 1.0);
        assert_close!(lift_at(&S, &y, 7.0), 1.0);
        // round(0.04 × 10) = 0 is raised to one example
        assert_close!(lift_at(&S, &y, 0.04), 2.0);
        assert!(lift_at(&S, &y, 0.0).is_nan());
    }

    #[test]
    fn wilson_matches_scipy() {
        // from scipy.stats import binomtest
        // binomtest(7, 20).proportion_ci(method='wilson')  -> (0.1811918241010821, 0.5671457233147637)
        // binomtest(0, 10).proportion_ci(method='wilson')  -> (0.0, 0.27753279986288926)
        // binomtest(10, 10).proportion_ci(method='wilson') -> (0.7224672001371109, 1.0)
        let (lo, hi) = Rate::new(20, 7).wilson();
        assert_close!(lo, 0.1811918241010821);
        assert_close!(hi, 0.5671457233147637);
        let (lo, hi) = Rate::new(10, 0).wilson();
        assert_eq!(lo, 0.0);
        assert_close!(hi, 0.27753279986288926);
        let (lo, hi) = Rate::new(10, 10).wilson();
        assert_close!(lo, 0.7224672001371109);
        assert_eq!(hi, 1.0);
        assert_eq!(Rate::default().wilson(), (0.0, 1.0));
        assert!(Rate::default().rate().is_nan());
    }

    #[test]
    fn rate_counts() {
        let mut rate = Rate::default();
        for positive in [true, false, false, true] {
            rate.add(positive);
        }
        assert_eq!(rate, Rate::new(4, 2));
        rate.merge(Rate::new(6, 1));
        assert_eq!(rate, Rate::new(10, 3));
        assert_eq!(rate.negatives(), 7);
        assert_close!(rate.rate(), 0.3);
    }

    #[test]
    fn contrast_matches_scipy_woolf() {
        // from scipy.stats.contingency import odds_ratio
        // r = odds_ratio([[30, 70], [20, 180]], kind='sample'); r.confidence_interval()
        //   -> 3.857142857142857, (2.05519458587015, 7.238998741381538)
        let c = contrast(Rate::new(100, 30), Rate::new(200, 20));
        assert_close!(c.odds_ratio, 3.857142857142857);
        assert_close!(c.ci_low, 2.05519458587015);
        assert_close!(c.ci_high, 7.238998741381538);
        // rate(with) = 0.3, rate(all) = 50 / 300
        assert_close!(c.lift, 1.8);
    }

    #[test]
    fn contrast_with_an_empty_cell_adds_one_half() {
        // a, b, c, d = 5.5, 0.5, 10.5, 20.5; z = scipy.stats.norm.ppf(0.975)
        // o = a*d/(b*c); se = sqrt(1/a+1/b+1/c+1/d); exp(log(o) -/+ z*se)
        //   -> 21.476190476190474, 1.0809753614120006, 426.6764755555084
        let c = contrast(Rate::new(5, 5), Rate::new(30, 10));
        assert_close!(c.odds_ratio, 21.476190476190474);
        assert!((c.ci_low - 1.0809753614120006).abs() < 1e-10);
        assert!((c.ci_high - 426.6764755555084).abs() < 1e-8);
        let empty = contrast(Rate::default(), Rate::new(30, 10));
        assert!(empty.odds_ratio.is_nan() && empty.ci_low.is_nan() && empty.lift.is_nan());
    }

    #[test]
    fn median_and_quantile_match_numpy() {
        // np.median([5, 1, 4, 2]) -> 3.0
        assert_eq!(median(&mut [5.0, 1.0, 4.0, 2.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 4.0]), Some(4.0));
        assert_eq!(median(&mut []), None);
        // np.quantile([1, 2, 4, 8, 16], 0.3) -> 2.4; 0.9 -> 12.8; 0.0 -> 1.0
        let sorted = [1.0, 2.0, 4.0, 8.0, 16.0];
        assert_close!(quantile(&sorted, 0.3), 2.4);
        assert_close!(quantile(&sorted, 0.9), 12.8);
        assert_eq!(quantile(&sorted, 0.0), 1.0);
        assert_eq!(quantile(&sorted, 1.0), 16.0);
        assert_eq!(quantile(&[7.0], 0.5), 7.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn brier_matches_scikit_learn() {
        assert_close!(brier(&S, &labels(&Y)), 0.13275);
    }

    #[test]
    fn reliability_bins() {
        let p = [0.05, 0.15, 0.12, 0.95, 1.0, 0.5];
        let y = labels(&[0, 1, 0, 1, 1, 0]);
        let table = reliability(&p, &y, 10);
        let rows: Vec<(u64, f64, f64)> = table
            .iter()
            .map(|b| (b.n, b.mean_predicted, b.observed))
            .collect();
        assert_eq!(table.len(), 4, "empty bins are left out: {table:?}");
        assert_eq!((table[0].lo, table[0].hi), (0.0, 0.1));
        assert_eq!(rows[0], (1, 0.05, 0.0));
        assert_eq!(rows[1].0, 2);
        assert_close!(rows[1].1, 0.135);
        assert_close!(rows[1].2, 0.5);
        assert_eq!((table[2].lo, table[2].n), (0.5, 1));
        // 1.0 falls in the last bin, with 0.95
        assert_eq!((table[3].lo, table[3].hi, table[3].n), (0.9, 1.0, 2));
        assert!(reliability(&p, &y, 0).is_empty());
    }

    /// The naive oracle: every positive against every negative.
    fn pairwise_auc(scores: &[f64], labels: &[bool]) -> f64 {
        let mut wins = 0.0;
        let mut pairs = 0.0;
        for (i, &li) in labels.iter().enumerate() {
            for (j, &lj) in labels.iter().enumerate() {
                if li && !lj {
                    pairs += 1.0;
                    if scores[i] > scores[j] {
                        wins += 1.0;
                    } else if scores[i] == scores[j] {
                        wins += 0.5;
                    }
                }
            }
        }
        if pairs == 0.0 { f64::NAN } else { wins / pairs }
    }

    /// Scores drawn from a few values, so that ties are common.
    fn examples() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
        prop::collection::vec(
            ((-4i32..5).prop_map(|v| f64::from(v) / 2.0), any::<bool>()),
            0..60,
        )
        .prop_map(|pairs| pairs.into_iter().unzip())
    }

    proptest! {
        #[test]
        fn auc_equals_the_pairwise_count((scores, labels) in examples()) {
            let fast = roc_auc(&scores, &labels);
            let naive = pairwise_auc(&scores, &labels);
            prop_assert!(fast.is_nan() && naive.is_nan() || close(fast, naive), "{fast} vs {naive}");
        }

        #[test]
        fn negating_scores_mirrors_auc((scores, labels) in examples()) {
            let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
            let a = roc_auc(&scores, &labels);
            let b = roc_auc(&negated, &labels);
            prop_assert!(a.is_nan() && b.is_nan() || close(a, 1.0 - b), "{a} vs 1 - {b}");
        }

        #[test]
        fn flipping_labels_mirrors_auc((scores, labels) in examples()) {
            let flipped: Vec<bool> = labels.iter().map(|l| !l).collect();
            let a = roc_auc(&scores, &labels);
            let b = roc_auc(&scores, &flipped);
            prop_assert!(a.is_nan() && b.is_nan() || close(a, 1.0 - b));
        }

        #[test]
        fn metrics_ignore_input_order((scores, labels) in examples(), seed in any::<u64>()) {
            let mut order: Vec<usize> = (0..scores.len()).collect();
            // A cheap deterministic shuffle.
            order.sort_by_key(|&i| (i as u64 ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let s2: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
            let l2: Vec<bool> = order.iter().map(|&i| labels[i]).collect();
            let same = |a: f64, b: f64| a.is_nan() && b.is_nan() || close(a, b);
            prop_assert!(same(roc_auc(&scores, &labels), roc_auc(&s2, &l2)));
            prop_assert!(same(pr_auc(&scores, &labels), pr_auc(&s2, &l2)));
            prop_assert!(same(precision_at(&scores, &labels, 5), precision_at(&s2, &l2, 5)));
            prop_assert!(same(lift_at(&scores, &labels, 0.3), lift_at(&s2, &l2, 0.3)));
        }

        #[test]
        fn average_precision_is_a_probability((scores, labels) in examples()) {
            let ap = pr_auc(&scores, &labels);
            prop_assert_eq!(ap.is_nan(), !labels.contains(&true));
            prop_assert!(ap.is_nan() || (0.0..=1.0).contains(&ap), "{ap}");
        }

        #[test]
        fn precision_at_all_is_the_base_rate((scores, labels) in examples()) {
            prop_assume!(!scores.is_empty());
            let rate = labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64;
            prop_assert!(close(precision_at(&scores, &labels, labels.len()), rate));
        }

        #[test]
        fn median_matches_sorting(mut values in prop::collection::vec(-1e6f64..1e6, 1..40)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let expected = quantile(&sorted, 0.5);
            let got = median(&mut values).expect("non-empty");
            prop_assert!(close(got, expected), "{got} vs {expected}");
        }

        #[test]
        fn wilson_contains_the_rate(n in 1u64..10_000, share in 0.0f64..=1.0) {
            let rate = Rate::new(n, (n as f64 * share) as u64);
            let (lo, hi) = rate.wilson();
            prop_assert!(0.0 <= lo && lo <= rate.rate() && rate.rate() <= hi && hi <= 1.0);
        }
    }
}
