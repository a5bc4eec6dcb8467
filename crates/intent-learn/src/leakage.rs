//! Fields filled in after the outcome was known.
//!
//! A real CRM export carries fields that the sales team fills in once it knows how a lead went
//! ("Closed by Horizzon", a lead-quality grade, the length of the call that sold the product). A
//! model that uses them looks brilliant and is useless: at scoring time they do not exist yet. The
//! learner finds them itself, from the data alone, with two rules:
//!
//! - **predicts too well**: the field on its own ranks converted above unconverted examples with a
//!   ROC AUC of at least [`LeakOptions::max_auc`];
//! - **only converted**: the field is filled in for a fair share of converted examples and far
//!   more often than for unconverted ones ([`LeakOptions::min_present_positive`],
//!   [`LeakOptions::min_presence_ratio`]).
//!
//! A flag is a warning for a person to read, with the numbers that raised it; nothing here drops
//! a field. See [`LeakOptions::default`] for how the thresholds were chosen on real data.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::stats::{Rate, roc_auc};

/// How strongly a category's out-of-fold conversion rate is pulled toward the fold's overall
/// rate: the rate is `(positives + M × overall) / (n + M)`. A value seen a handful of times says
/// little; a value seen hundreds of times keeps its own rate.
const SMOOTHING: f64 = 10.0;

/// The floor under `present_negative` when dividing by it, so that a field absent from every
/// negative example gives a huge but finite ratio.
const TINY: f64 = 1e-12;

/// One field's values over the examples, in the same order as the labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// A number per example; `None` (or `NaN`) when missing or not given.
    Number(Vec<Option<f64>>),
    /// A category code per example (any `u32`, only equality matters); `None` when missing.
    Category(Vec<Option<u32>>),
}

impl Values {
    /// Reads a column of text cells, `None` meaning missing (the caller decides which texts mean
    /// missing, such as `""`, `"Select"` or `"unknown"`). The column is a [`Values::Number`] when
    /// every present cell is a finite number, otherwise a [`Values::Category`] with codes given in
    /// order of first appearance.
    pub fn from_text<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> Values {
        let cells: Vec<Option<&str>> = cells.into_iter().collect();
        let numbers: Option<Vec<Option<f64>>> = cells
            .iter()
            .map(|cell| match cell {
                None => Some(None),
                Some(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some),
            })
            .collect();
        if let Some(numbers) = numbers {
            return Values::Number(numbers);
        }
        let mut codes: FxHashMap<&str, u32> = FxHashMap::default();
        Values::Category(
            cells
                .iter()
                .map(|cell| {
                    cell.map(|text| {
                        let next = codes.len() as u32;
                        *codes.entry(text).or_insert(next)
                    })
                })
                .collect(),
        )
    }

    /// How many examples.
    pub fn len(&self) -> usize {
        match self {
            Values::Number(values) => values.len(),
            Values::Category(values) => values.len(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether example `i` has a value.
    pub fn is_present(&self, i: usize) -> bool {
        match self {
            Values::Number(values) => values[i].is_some_and(|v| !v.is_nan()),
            Values::Category(values) => values[i].is_some(),
        }
    }
}

/// A named field and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name, as the report shows it.
    pub name: String,
    /// One value per example.
    pub values: Values,
}

/// The thresholds of the two leak rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakOptions {
    /// Flag a field whose own (folded) ROC AUC reaches this.
    pub max_auc: f64,
    /// Flag a field present at least this many times as often among converted examples as among
    /// unconverted ones (together with [`LeakOptions::min_present_positive`]).
    pub min_presence_ratio: f64,
    /// The smallest share of converted examples that must have the field for the presence rule
    /// to apply, so that a field seen on a handful of rows is not flagged on noise.
    pub min_present_positive: f64,
}

impl Default for LeakOptions {
    /// `max_auc` 0.78, `min_presence_ratio` 2.0, `min_present_positive` 0.05.
    ///
    /// Chosen on three real exports (X Education leads, UCI bank marketing, Olist closed deals;
    /// the figures are this module's own and agree with pandas + scikit-learn to 4 decimals):
    ///
    /// - **AUC 0.78** sits in the middle of the gap between the strongest legitimate fields and the
    ///   weakest leaks seen. Legitimate: bank `nr.employed` 0.749 and `euribor3m` 0.743 (economy
    ///   indicators, strong because the calls are ordered in time and the economy moved), leads
    ///   `Last Activity` 0.726 and `What is your current occupation` 0.705. Leaks: bank `duration`
    ///   0.818 (known only once the call is over), leads `Lead Quality` 0.800 and `Tags` 0.921.
    ///   Whole models without the leaks reach about 0.79 (bank) and 0.90 (leads), so one field
    ///   alone near 0.8 is worth a person's look.
    /// - **Presence ratio 2.0**, for at least **5 % of converted examples**: a field the sales team
    ///   fills in while working a lead is filled in much more often for the leads that bought.
    ///   Leads `Lead Quality` (71 % of converted, 34 % of unconverted: 2.09) and `Lead Profile`
    ///   (42 % against 16 %: 2.70) reach it; the most lopsided self-declared fields (`What matters
    ///   most to you in choosing a course` 1.52, `What is your current occupation` 1.51) do not.
    ///   Fields of a closed deal (Olist: present on 7–100 % of deals, on no open lead) pass by
    ///   far; 5 % still catches the rarest of them (`has_company`, 7.5 % of deals) while a field
    ///   seen on a few converted rows is left alone.
    fn default() -> Self {
        LeakOptions {
            max_auc: 0.78,
            min_presence_ratio: 2.0,
            min_present_positive: 0.05,
        }
    }
}

/// Why a field was flagged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Leak {
    /// The field alone ranks outcomes better than [`LeakOptions::max_auc`].
    PredictsTooWell {
        /// The field's folded ROC AUC.
        auc: f64,
    },
    /// The field is filled in mostly for converted examples.
    OnlyConverted {
        /// The share of converted examples with a value.
        present_positive: f64,
        /// The share of unconverted examples with a value.
        present_negative: f64,
    },
}

/// The verdict on one field, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldCheck {
    /// The field's name.
    pub name: String,
    /// The field's univariate ROC AUC, folded to at least 0.5 (`max(a, 1 − a)`); `NaN` when one
    /// class has no examples.
    pub auc: f64,
    /// The share of converted examples where the field has a value (`NaN` if none converted).
    pub present_positive: f64,
    /// The share of unconverted examples where the field has a value (`NaN` if all converted).
    pub present_negative: f64,
    /// The rule the field broke, if any. When both rules fire, [`Leak::OnlyConverted`] is given:
    /// it says why the field predicts so well; the AUC is still in [`FieldCheck::auc`].
    pub leak: Option<Leak>,
}

/// Checks every field against the labels; one verdict per field, in the same order.
///
/// How the AUC is computed:
/// - **numbers** rank by value; all missing values (`None` or `NaN`) form one group, tied with
///   each other and ranked below every present value. Folding to `max(a, 1 − a)` means a field
///   whose low values (or whose absence) go with converting counts as much as one whose high
///   values do. A field whose effect is not monotone (high at both ends) scores lower than its
///   real strength: the rule is meant for the blatant cases.
/// - **categories** (missing is one more category) are target-encoded out of fold: the examples
///   are split into two folds by index parity, each example's value is replaced by that value's
///   smoothed conversion rate in the *other* fold, and each fold's examples are ranked by those
///   rates (the two folds' AUCs pooled by their number of positive–negative pairs). A value never
///   seen in the other fold gets the other fold's overall rate. An identifier-like field (a value
///   per example) therefore scores 0.5 instead of memorising the labels, and so does a constant
///   field. (Folding by parity assumes the row order says nothing about the outcome at odd
///   against even rows, which holds for any export not built to defeat it.)
///
/// # Panics
/// When a field's length differs from `labels.len()`.
pub fn check(fields: &[Field], labels: &[bool], options: &LeakOptions) -> Vec<FieldCheck> {
    let positives = labels.iter().filter(|&&label| label).count();
    let negatives = labels.len() - positives;
    fields
        .iter()
        .map(|field| {
            assert_eq!(
                field.values.len(),
                labels.len(),
                "field {} has {} values for {} labels",
                field.name,
                field.values.len(),
                labels.len()
            );
            let auc = match &field.values {
                Values::Number(values) => number_auc(values, labels),
                Values::Category(values) => category_auc(values, labels),
            };
            let auc = auc.max(1.0 - auc);
            let (mut present_pos, mut present_neg) = (0usize, 0usize);
            for (i, &label) in labels.iter().enumerate() {
                if field.values.is_present(i) {
                    if label {
                        present_pos += 1;
                    } else {
                        present_neg += 1;
                    }
                }
            }
            let present_positive = present_pos as f64 / positives as f64;
            let present_negative = present_neg as f64 / negatives as f64;
            // Both classes must be there for presence to say anything about the outcome.
            let only_converted = positives > 0
                && negatives > 0
                && present_positive >= options.min_present_positive
                && present_positive / present_negative.max(TINY) >= options.min_presence_ratio;
            let leak = if only_converted {
                Some(Leak::OnlyConverted {
                    present_positive,
                    present_negative,
                })
            } else if auc >= options.max_auc {
                Some(Leak::PredictsTooWell { auc })
            } else {
                None
            };
            FieldCheck {
                name: field.name.clone(),
                auc,
                present_positive,
                present_negative,
                leak,
            }
        })
        .collect()
}

/// The AUC of a numeric field, missing values tied below every present one. `stats` ranks `NaN`
/// below `-inf`, so missing becomes `NaN`.
fn number_auc(values: &[Option<f64>], labels: &[bool]) -> f64 {
    let scores: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    roc_auc(&scores, labels)
}

/// The AUC of a category field after two-fold out-of-fold target encoding (see [`check`]).
fn category_auc(values: &[Option<u32>], labels: &[bool]) -> f64 {
    let mut counts: FxHashMap<Option<u32>, [Rate; 2]> = FxHashMap::default();
    let mut totals = [Rate::default(); 2];
    for (i, (&value, &label)) in values.iter().zip(labels).enumerate() {
        counts.entry(value).or_default()[i % 2].add(label);
        totals[i % 2].add(label);
    }
    // Each fold is ranked on its own: its scores all come from the other fold's counts, and a
    // fold-wide offset between the two encoders (the folds' rates differ a little) must not turn
    // into ranking power. The two folds' AUCs are pooled by their number of pairs.
    let mut pooled = 0.0;
    let mut pairs = 0.0;
    for fold in 0..2 {
        let other = 1 - fold;
        let prior = totals[other].rate();
        let (scores, fold_labels): (Vec<f64>, Vec<bool>) = values
            .iter()
            .zip(labels)
            .skip(fold)
            .step_by(2)
            .map(|(value, &label)| {
                let seen = counts[value][other];
                let score =
                    (seen.positives as f64 + SMOOTHING * prior) / (seen.n as f64 + SMOOTHING);
                (score, label)
            })
            .unzip();
        let weight = totals[fold].positives as f64 * totals[fold].negatives() as f64;
        if weight > 0.0 {
            pooled += roc_auc(&scores, &fold_labels) * weight;
            pairs += weight;
        }
    }
    if pairs > 0.0 {
        pooled / pairs
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, values: Values) -> Field {
        Field {
            name: name.to_owned(),
            values,
        }
    }

    #[test]
    fn numbers_rank_missing_below_every_value() {
        // from sklearn.metrics import roc_auc_score
        // y = [1, 0, 1, 0, 0, 1, 0, 1]; x = [3.0, None, 1.0, 2.0, None, None, 0.5, 5.0]
        // roc_auc_score(y, [3.0, -1e9, 1.0, 2.0, -1e9, -1e9, 0.5, 5.0]) -> 0.75
        let labels = [true, false, true, false, false, true, false, true];
        let values = Values::Number(vec![
            Some(3.0),
            None,
            Some(1.0),
            Some(2.0),
            Some(f64::NAN),
            None,
            Some(0.5),
            Some(5.0),
        ]);
        let checks = check(&[field("x", values)], &labels, &LeakOptions::default());
        assert!((checks[0].auc - 0.75).abs() < 1e-12, "{checks:?}");
        assert_eq!(checks[0].present_positive, 0.75);
        assert_eq!(checks[0].present_negative, 0.5);
        assert_eq!(checks[0].leak, None);
    }

    #[test]
    fn auc_is_folded() {
        let labels = [true, true, false, false];
        let high = Values::Number(vec![Some(3.0), Some(4.0), Some(1.0), Some(2.0)]);
        let low = Values::Number(vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        let checks = check(
            &[field("high", high), field("low", low)],
            &labels,
            &LeakOptions::default(),
        );
        assert_eq!((checks[0].auc, checks[1].auc), (1.0, 1.0));
        assert_eq!(checks[1].leak, Some(Leak::PredictsTooWell { auc: 1.0 }));
    }

    #[test]
    fn categories_are_encoded_out_of_fold() {
        // Reference: pandas + scikit-learn, missing written as "-":
        //   y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
        //   c = np.array(list("aabbbaa-b--c"), dtype=object)
        //   idx = np.arange(12); enc = np.zeros(12)
        //   for f in (0, 1):
        //       tr = idx % 2 != f; te = idx % 2 == f; prior = y[tr].mean()
        //       g = pd.DataFrame({"c": c[tr], "y": y[tr]}).groupby("c")["y"].agg(["sum", "count"])
        //       s = (g["sum"] + 10 * prior) / (g["count"] + 10)
        //       enc[te] = pd.Series(c[te]).map(s).fillna(prior).values
        //   per fold: roc_auc_score(y[te], enc[te]) -> 0.0 (3 × 3 pairs), 0.4375 (2 × 4 pairs)
        //   pooled (0 · 9 + 0.4375 · 8) / 17 = 0.20588235294117646, folded 0.7941176470588236
        let labels = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0].map(|v| v == 1);
        let (a, b, c) = (Some(7), Some(9), Some(2));
        let values = Values::Category(vec![a, a, b, b, b, a, a, None, b, None, None, c]);
        let checks = check(&[field("c", values)], &labels, &LeakOptions::default());
        assert!(
            (checks[0].auc - 0.7941176470588236).abs() < 1e-12,
            "{checks:?}"
        );
    }

    #[test]
    fn an_identifier_does_not_memorise_the_labels() {
        // One distinct value per example: in-sample target encoding would give AUC 1.
        let labels: Vec<bool> = (0..2_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % 7 < 3)
            .collect();
        let id = Values::Category((0..2_000).map(Some).collect());
        let checks = check(&[field("id", id)], &labels, &LeakOptions::default());
        assert_eq!(checks[0].auc, 0.5, "{checks:?}");
        assert_eq!(checks[0].leak, None);
    }

    #[test]
    fn a_field_only_converted_rows_have_is_flagged() {
        let labels: Vec<bool> = (0..200).map(|i| i % 5 == 0).collect();
        // Present for 32 of 40 converted rows, for no unconverted row.
        let values = Values::Category(
            (0..200u32)
                .map(|i| (i % 5 == 0 && i < 160).then_some(i % 3))
                .collect(),
        );
        let checks = check(
            &[field("segment", values)],
            &labels,
            &LeakOptions::default(),
        );
        assert_eq!(
            checks[0].leak,
            Some(Leak::OnlyConverted {
                present_positive: 0.8,
                present_negative: 0.0
            })
        );
        // The same field on too few converted rows is left alone.
        let rare = Values::Category((0..200u32).map(|i| (i == 0).then_some(1)).collect());
        let checks = check(&[field("rare", rare)], &labels, &LeakOptions::default());
        assert_eq!(checks[0].present_positive, 0.025);
        assert_eq!(checks[0].leak, None);
    }

    #[test]
    fn text_columns_become_numbers_or_categories() {
        let numbers = Values::from_text([Some("1.5"), None, Some(" 3 ")]);
        assert_eq!(numbers, Values::Number(vec![Some(1.5), None, Some(3.0)]));
        let categories = Values::from_text([Some("b"), Some("1"), None, Some("b"), Some("NaN")]);
        assert_eq!(
            categories,
            Values::Category(vec![Some(0), Some(1), None, Some(0), Some(2)])
        );
        assert!(Values::from_text([]).is_empty());
    }

    #[test]
    fn one_class_gives_nan_and_no_flag() {
        let values = Values::Number(vec![Some(1.0), Some(2.0)]);
        let checks = check(
            &[field("x", values)],
            &[true, true],
            &LeakOptions::default(),
        );
        assert!(checks[0].auc.is_nan());
        assert!(checks[0].present_negative.is_nan());
        assert_eq!(checks[0].leak, None);
    }

    /// Real exports, read from the shared data folder.
    mod real {
        use super::super::*;

        const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/");

        /// Reads a CSV file into fields (every column but `target`) and labels.
        fn read(
            path: &str,
            delimiter: u8,
            target: &str,
            positive: &str,
            missing: &[&str],
        ) -> (Vec<Field>, Vec<bool>) {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_path(format!("{DATA}{path}"))
                .unwrap_or_else(|e| panic!("reading {path}: {e}"));
            let headers: Vec<String> = reader
                .headers()
                .expect("header")
                .iter()
                .map(str::to_owned)
                .collect();
            let rows: Vec<csv::StringRecord> =
                reader.records().collect::<Result<_, _>>().expect("rows");
            let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
            let target = column(target);
            let labels = rows.iter().map(|row| &row[target] == positive).collect();
            let fields = headers
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != target)
                .map(|(i, name)| Field {
                    name: name.clone(),
                    values: Values::from_text(
                        rows.iter()
                            .map(|row| Some(&row[i]).filter(|cell| !missing.contains(cell))),
                    ),
                })
                .collect();
            (fields, labels)
        }

        fn print(checks: &[FieldCheck]) {
            println!(
                "{:<46} {:>6} {:>7} {:>7}  verdict",
                "field", "auc", "pres+", "pres-"
            );
            for c in checks {
                println!(
                    "{:<46} {:>6.4} {:>7.4} {:>7.4}  {:?}",
                    c.name, c.auc, c.present_positive, c.present_negative, c.leak
                );
            }
        }

        fn by_name<'a>(checks: &'a [FieldCheck], name: &str) -> &'a FieldCheck {
            checks
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no field {name}"))
        }

        #[test]
        fn leads_flag_the_sales_team_fields() {
            let (fields, labels) = read(
                "x-education-leads/Leads.csv",
                b',',
                "Converted",
                "1",
                &["", "Select"],
            );
            assert_eq!(labels.len(), 9_240);
            let checks = check(&fields, &labels, &LeakOptions::default());
            print(&checks);
            let flagged: Vec<&str> = checks
                .iter()
                .filter(|c| c.leak.is_some())
                .map(|c| c.name.as_str())
                .collect();
            // Exactly the rules' catch: Tags predicts too well; Lead Quality and Lead Profile are
            // filled in far more often for leads that bought. Last Activity (0.726), Last Notable
            // Activity (0.703) and the Asymmetrique columns (≤ 0.571, present equally often) are
            // sales-process fields the rules do not catch: by AUC they look like occupation
            // (0.705), a genuine field.
            assert_eq!(flagged, ["Tags", "Lead Quality", "Lead Profile"]);
            let tags = by_name(&checks, "Tags");
            assert!(matches!(tags.leak, Some(Leak::PredictsTooWell { auc }) if auc > 0.9));
            assert!(matches!(
                by_name(&checks, "Lead Quality").leak,
                Some(Leak::OnlyConverted { .. })
            ));
            // It would be flagged by its AUC alone as well.
            assert!(by_name(&checks, "Lead Quality").auc >= 0.78);
            for name in [
                "Lead Origin",
                "Lead Source",
                "TotalVisits",
                "Page Views Per Visit",
                "What is your current occupation",
                "City",
                "Total Time Spent on Website",
                "Prospect ID",
                "Lead Number",
            ] {
                assert_eq!(by_name(&checks, name).leak, None, "{name}");
            }
            // The genuine behavioural signal: strong, not a leak (sklearn: 0.6506).
            let time = by_name(&checks, "Total Time Spent on Website").auc;
            assert!((time - 0.6506).abs() < 1e-3, "{time}");
            // A unique id per lead is not predictive once encoded out of fold.
            assert_eq!(by_name(&checks, "Prospect ID").auc, 0.5);
            // Nor is a field that is "No" on every row.
            assert_eq!(by_name(&checks, "Magazine").auc, 0.5);
        }

        #[test]
        fn bank_flags_the_call_duration() {
            let (fields, labels) = read(
                "bank-marketing/bank-additional-full.csv",
                b';',
                "y",
                "yes",
                &["unknown"],
            );
            assert_eq!(labels.len(), 41_188);
            let checks = check(&fields, &labels, &LeakOptions::default());
            print(&checks);
            let flagged: Vec<&str> = checks
                .iter()
                .filter(|c| c.leak.is_some())
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(flagged, ["duration"]);
            let duration = by_name(&checks, "duration");
            // sklearn: roc_auc_score(y, duration) -> 0.8184
            assert!((duration.auc - 0.8184).abs() < 1e-3, "{duration:?}");
            for name in [
                "age",
                "job",
                "campaign",
                "pdays",
                "poutcome",
                "euribor3m",
                "nr.employed",
            ] {
                assert_eq!(by_name(&checks, name).leak, None, "{name}");
            }
            // The economy moves with time and predicts well, but stays under the threshold.
            let employed = by_name(&checks, "nr.employed").auc;
            assert!((employed - 0.7490).abs() < 1e-3, "{employed}");
        }

        #[test]
        fn olist_flags_what_only_closed_deals_have() {
            let read_rows = |path: &str| {
                let mut reader = csv::Reader::from_path(format!("{DATA}{path}"))
                    .unwrap_or_else(|e| panic!("reading {path}: {e}"));
                let headers = reader.headers().expect("header").clone();
                let rows: Vec<csv::StringRecord> =
                    reader.records().collect::<Result<_, _>>().expect("rows");
                (headers, rows)
            };
            let (mql_headers, mqls) =
                read_rows("olist-marketing-funnel/olist_marketing_qualified_leads_dataset.csv");
            let (deal_headers, deals) =
                read_rows("olist-marketing-funnel/olist_closed_deals_dataset.csv");
            let column = |headers: &csv::StringRecord, name: &str| {
                headers.iter().position(|h| h == name).expect(name)
            };
            let deal_columns = ["business_segment", "lead_type", "has_company"];
            let by_mql: FxHashMap<&str, &csv::StringRecord> = deals
                .iter()
                .map(|deal| (&deal[column(&deal_headers, "mql_id")], deal))
                .collect();
            let mql_id = column(&mql_headers, "mql_id");
            let labels: Vec<bool> = mqls
                .iter()
                .map(|m| by_mql.contains_key(&m[mql_id]))
                .collect();
            assert_eq!(labels.iter().filter(|&&l| l).count(), 842);
            let mut fields: Vec<Field> = ["origin", "landing_page_id"]
                .iter()
                .map(|&name| {
                    let i = column(&mql_headers, name);
                    Field {
                        name: name.to_owned(),
                        values: Values::from_text(
                            mqls.iter().map(|m| Some(&m[i]).filter(|c| !c.is_empty())),
                        ),
                    }
                })
                .collect();
            for name in deal_columns {
                let i = column(&deal_headers, name);
                fields.push(Field {
                    name: name.to_owned(),
                    values: Values::from_text(mqls.iter().map(|m| {
                        by_mql
                            .get(&m[mql_id])
                            .map(|deal| &deal[i])
                            .filter(|c| !c.is_empty())
                    })),
                });
            }
            let checks = check(&fields, &labels, &LeakOptions::default());
            print(&checks);
            assert_eq!(by_name(&checks, "origin").leak, None);
            assert_eq!(by_name(&checks, "landing_page_id").leak, None);
            for name in deal_columns {
                let c = by_name(&checks, name);
                assert!(
                    matches!(c.leak, Some(Leak::OnlyConverted { present_negative, .. }) if present_negative == 0.0),
                    "{c:?}"
                );
            }
        }
    }
}
