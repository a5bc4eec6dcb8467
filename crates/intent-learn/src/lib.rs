//! Learning from outcomes. Everything here is a pure function of its inputs: no clock, no I/O.
//!
//! - [`stats`]: ROC and PR AUC, lift, precision at k, rates with confidence intervals, odds
//!   ratios, calibration (reliability table, Brier score).
//! - [`logit`]: regularised logistic regression with standard errors, and Platt calibration.
//! - [`leakage`]: fields that predict too well, or exist only for converted rows.
//! - [`paths`]: the most common ordered paths (n-grams) and their conversion lift.
//! - [`funnel`]: engaged → call to action → lead → appointment → outcome, split and timed.
//! - [`rewrite`]: learned points written into a plan file, comments kept.
//! - [`html`]: the weekly review as one self-contained HTML page with SVG charts.

#![warn(missing_docs)]

pub mod funnel;
pub mod html;
pub mod leakage;
pub mod logit;
pub mod paths;
pub mod rewrite;
pub mod stats;
