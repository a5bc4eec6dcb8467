//! Regularised logistic regression with standard errors, and Platt calibration.
//!
//! [`fit`] answers two questions about a set of signals: how many points is each one worth, and
//! can we tell that it matters at all (does its 95 % interval exclude zero)?
//!
//! # The objective
//!
//! Every column is standardised (centred, divided by its population standard deviation; a
//! constant column carries no information, gets weight 0 and is left out of the solve), and
//!
//! ```text
//! minimise  Σᵢ logloss(yᵢ, b + w·zᵢ)  +  ½ · l2 · ‖w‖²      (intercept b not penalised)
//! ```
//!
//! which is scikit-learn's `LogisticRegression(C = 1 / l2)` on standardised features.
//!
//! # How it is solved
//!
//! 1. `linfa-logistic` (L-BFGS with a Moré–Thuente line search) finds the neighbourhood of the
//!    answer. Its objective is `-Σ log σ(yᵢ zᵢ) + α/2 · ‖w‖²` over the *sum* of the losses, with
//!    the intercept kept out of `w`, so `alpha = l2` exactly. Its labels are ±1 with +1 for the
//!    *more frequent* class, so the fitted signs are read back through `labels()`. On large
//!    inputs it sees an evenly strided sample of 100,000 rows (with `alpha` scaled to match): each
//!    of its iterations evaluates cost and gradient separately, with temporaries, so on a million
//!    rows it is several times slower than the Newton passes below.
//! 2. linfa reports neither its iteration count nor whether it converged, and its stopping rule is
//!    a gradient norm. So the fit is finished here with damped Newton steps on every row, one
//!    pass each, which also accumulate the Hessian `Zᵀ W Z + l2·I` needed for standard errors.
//! 3. The inverse Hessian is the covariance in standardised units; it is carried back to the
//!    caller's units by the linear map `w = w_std / sd`, `b = b_std − Σ w·mean`.
//!
//! The standardised copy (the only copy of the matrix) is column-major: linfa's gradient is
//! `Zᵀ r`, which ndarray without BLAS computes as one dot product per row of `Zᵀ`, and
//! column-major makes each of those a contiguous stream. Speed, measured on a busy 2-core
//! machine: 1,000,000 × 40 in about 2 s in release (`logit_speed_1m`).

use std::borrow::Cow;

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::LogisticRegression;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, ArrayView2, ArrayViewMut2, ShapeBuilder};

/// z value of a two-sided 95 % normal interval.
const Z_95: f64 = 1.959964;

/// Rows per block in the Newton pass: large enough for the Hessian product to run at matrix
/// multiplication speed, small enough that the block stays in cache.
const BLOCK: usize = 512;

/// L-BFGS runs on at most this many rows; see [`warm_start`].
const SAMPLE_ROWS: usize = 100_000;

/// L-BFGS hands over to Newton once the mean gradient norm is below this (or the caller's
/// tolerance, if looser); Newton converges quadratically from there.
const HANDOFF: f64 = 1e-4;

/// A row-major matrix of examples × features.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    /// Number of examples.
    pub rows: usize,
    /// Number of features.
    pub cols: usize,
    /// `rows × cols` values, row after row.
    pub values: &'a [f64],
}

/// Fitting options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Strength of the L2 penalty `½·l2·‖w‖²` on the standardised weights, next to the *sum*
    /// (not the mean) of the log losses; the intercept is not penalised. `1 / l2` is
    /// scikit-learn's `C`. Must be finite and at least 0.
    pub l2: f64,
    /// Cap on L-BFGS iterations, and separately on the Newton passes that finish the fit.
    pub max_iterations: u64,
    /// The fit has converged when the last Newton step moved no standardised coefficient (nor the
    /// intercept) by more than this. Must be finite and positive.
    pub tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            l2: 1.0,
            max_iterations: 300,
            tolerance: 1e-6,
        }
    }
}

/// A fitted model, weights in the caller's original feature units.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Log-odds of a row whose features are all 0.
    pub intercept: f64,
    /// Change in log-odds per unit of each feature; 0 for a constant column.
    pub weights: Vec<f64>,
    /// Standard error of each weight (original units); 0 for a constant column.
    ///
    /// From the inverse Hessian of the penalised objective, so with a strong `l2` these are
    /// the (smaller) posterior standard deviations under the matching Gaussian prior.
    pub std_errors: Vec<f64>,
    /// Standard error of the intercept (original units).
    pub intercept_std_error: f64,
    /// Newton passes over the rows after linfa's L-BFGS warm start, a halved retry included
    /// (linfa does not report its own count); 0 when the warm start already met the tolerance.
    pub iterations: u64,
    /// Whether the last Newton step was below [`Options::tolerance`].
    pub converged: bool,
}

impl Model {
    /// Log-odds for one row of features (original units).
    ///
    /// # Panics
    /// If `row` does not hold one value per weight.
    pub fn logit(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.weights.len(), "one value per feature");
        self.intercept + dot(&self.weights, row)
    }

    /// Probability of the positive outcome for one row of features.
    ///
    /// # Panics
    /// If `row` does not hold one value per weight.
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.logit(row))
    }

    /// 95 % Wald interval of weight j: weight ± 1.959964 × std error.
    ///
    /// # Panics
    /// If `j` is not a feature index.
    pub fn interval(&self, j: usize) -> (f64, f64) {
        let half = Z_95 * self.std_errors[j];
        (self.weights[j] - half, self.weights[j] + half)
    }
}

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    /// The matrix has no rows.
    #[error("no examples to fit")]
    NoExamples,
    /// Every example has the same outcome, so there is nothing to separate.
    #[error("all {rows} examples have the same outcome ({positives} positive); need both")]
    OneClass {
        /// Positive examples.
        positives: usize,
        /// All examples.
        rows: usize,
    },
    /// `values` does not hold `rows × cols` numbers.
    #[error("matrix of {rows} rows × {cols} columns cannot hold {values} values")]
    Shape {
        /// Declared rows.
        rows: usize,
        /// Declared columns.
        cols: usize,
        /// Length of `values`.
        values: usize,
    },
    /// There is not one label per row.
    #[error("{labels} labels for {rows} rows")]
    Labels {
        /// Rows in the matrix.
        rows: usize,
        /// Length of the label slice.
        labels: usize,
    },
    /// A cell is NaN or infinite (the first such cell, row by row).
    #[error("value at row {row}, column {col} is not finite")]
    NotFinite {
        /// Row index.
        row: usize,
        /// Column index.
        col: usize,
    },
    /// An option is out of range.
    #[error("option {name} = {value} is out of range")]
    Option {
        /// Field of [`Options`].
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The solver could not produce a model.
    #[error("solver failed: {0}")]
    Solver(String),
}

/// Fits `P(y) = sigmoid(intercept + weights · x)`; see the [module docs](self) for the objective.
pub fn fit(x: &Matrix, y: &[bool], options: &Options) -> Result<Model, FitError> {
    check_options(options)?;
    let (n, k) = (x.rows, x.cols);
    if n.checked_mul(k) != Some(x.values.len()) {
        return Err(FitError::Shape {
            rows: n,
            cols: k,
            values: x.values.len(),
        });
    }
    if y.len() != n {
        return Err(FitError::Labels {
            rows: n,
            labels: y.len(),
        });
    }
    if n == 0 {
        return Err(FitError::NoExamples);
    }
    let positives = y.iter().filter(|&&v| v).count();
    if positives == 0 || positives == n {
        return Err(FitError::OneClass { positives, rows: n });
    }

    let columns = summarise(x)?;
    let active: Vec<usize> = (0..k).filter(|&j| !columns[j].constant).collect();
    let z = standardise(x, &columns, &active);
    let data = Standardised {
        z: &z,
        rows: n,
        cols: active.len(),
        y,
    };
    let start = warm_start(&data, positives, options);
    let solved = refine(&data, start, options)?;

    // Back to the caller's units: θ_orig = A θ_std, Cov_orig = A Cov_std Aᵀ, where A divides each
    // weight by its column's sd and moves the centring into the intercept.
    let d = data.cols + 1;
    let cov = &solved.covariance;
    let mut weights = vec![0.0; k];
    let mut std_errors = vec![0.0; k];
    let mut shift = vec![0.0; d]; // row of A for the intercept
    shift[data.cols] = 1.0;
    let mut intercept = solved.theta[data.cols];
    for (a, &j) in active.iter().enumerate() {
        let Column { mean, sd, .. } = columns[j];
        weights[j] = solved.theta[a] / sd;
        std_errors[j] = cov[a * d + a].max(0.0).sqrt() / sd;
        intercept -= weights[j] * mean;
        shift[a] = -mean / sd;
    }
    let mut intercept_var = 0.0;
    for a in 0..d {
        intercept_var += shift[a] * dot(&cov[a * d..(a + 1) * d], &shift);
    }
    Ok(Model {
        intercept,
        weights,
        std_errors,
        intercept_std_error: intercept_var.max(0.0).sqrt(),
        iterations: solved.iterations,
        converged: solved.converged,
    })
}

/// The logistic function, `1 / (1 + e^-z)`, without overflow for large `|z|` (the one the
/// plan's model uses, so a fitted model and a served one agree).
pub use intent_core::model::sigmoid;

/// Platt scaling: p = sigmoid(slope × logit + offset), fitted by maximum likelihood (Newton is fine here, 2 parameters).
///
/// Following Platt (1999) and scikit-learn's `CalibratedClassifierCV(method="sigmoid")`, the
/// targets are the smoothed `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)` rather than 1 and 0, so the fit
/// stays finite when the logits separate the classes; with thousands of rows the difference
/// from the plain likelihood is negligible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Platt {
    /// Multiplies the logit; below 1 means the model was over-confident.
    pub slope: f64,
    /// Added after the slope; shifts every probability up or down.
    pub offset: f64,
}

impl Platt {
    /// Fits slope and offset to logits and outcomes. Non-finite logits are skipped; with no
    /// usable rows the identity (slope 1, offset 0) is returned.
    ///
    /// # Panics
    /// If `logits` and `y` differ in length.
    pub fn fit(logits: &[f64], y: &[bool]) -> Platt {
        assert_eq!(logits.len(), y.len(), "one outcome per logit");
        let rows = || logits.iter().zip(y).filter(|(z, _)| z.is_finite());
        let (mut pos, mut neg) = (0.0, 0.0);
        for (_, &yi) in rows() {
            if yi {
                pos += 1.0;
            } else {
                neg += 1.0;
            }
        }
        if pos + neg == 0.0 {
            return Platt {
                slope: 1.0,
                offset: 0.0,
            };
        }
        let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
        // Negative log-likelihood with its gradient and Hessian in (slope, offset).
        let evaluate = |a: f64, b: f64| {
            let (mut f, mut g, mut h) = (0.0, [0.0; 2], [0.0; 3]);
            for (&z, &yi) in rows() {
                let t = if yi { hi } else { lo };
                let e = a * z + b;
                f += softplus(e) - t * e;
                let p = sigmoid(e);
                let (r, v) = (p - t, p * (1.0 - p));
                g[0] += r * z;
                g[1] += r;
                h[0] += v * z * z;
                h[1] += v * z;
                h[2] += v;
            }
            (f, g, h)
        };
        let (mut a, mut b) = (0.0, ((pos + 1.0) / (neg + 1.0)).ln());
        let (mut f, mut g, mut h) = evaluate(a, b);
        for _ in 0..100 {
            // A tiny ridge keeps the 2×2 solve defined when every logit is the same.
            let (h00, h01, h11) = (h[0] + 1e-12, h[1], h[2] + 1e-12);
            let det = h00 * h11 - h01 * h01;
            let da = (h11 * g[0] - h01 * g[1]) / det;
            let db = (h00 * g[1] - h01 * g[0]) / det;
            if !(da.is_finite() && db.is_finite()) {
                break;
            }
            let slack = 1e-12 * f.abs();
            let mut t = 1.0;
            let accepted = loop {
                let (na, nb) = (a - t * da, b - t * db);
                let next = evaluate(na, nb);
                if next.0 <= f - 1e-4 * t * (g[0] * da + g[1] * db) + slack {
                    a = na;
                    b = nb;
                    (f, g, h) = next;
                    break true;
                }
                t *= 0.5;
                if t < 1e-10 {
                    break false;
                }
            };
            if !accepted || (t * da).abs().max((t * db).abs()) < 1e-10 {
                break;
            }
        }
        Platt {
            slope: a,
            offset: b,
        }
    }

    /// Calibrated probability for a raw logit.
    pub fn probability(&self, logit: f64) -> f64 {
        sigmoid(self.slope * logit + self.offset)
    }
}

fn check_options(options: &Options) -> Result<(), FitError> {
    if !(options.l2.is_finite() && options.l2 >= 0.0) {
        return Err(FitError::Option {
            name: "l2",
            value: options.l2,
        });
    }
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
        return Err(FitError::Option {
            name: "tolerance",
            value: options.tolerance,
        });
    }
    Ok(())
}

/// Centre and scale of one input column.
#[derive(Debug, Clone, Copy)]
struct Column {
    mean: f64,
    /// Population standard deviation (divide by n, as scikit-learn's `StandardScaler`).
    sd: f64,
    /// Every value is identical (tested exactly, not by a rounded variance).
    constant: bool,
}

/// Two streaming passes: sums and extremes, then centred squares for the sd.
fn summarise(x: &Matrix) -> Result<Vec<Column>, FitError> {
    let (n, k) = (x.rows, x.cols);
    let mut sum = vec![0.0; k];
    let mut min = vec![f64::INFINITY; k];
    let mut max = vec![f64::NEG_INFINITY; k];
    // Branch-free: NaN and ±∞ reach the sums, and only then are the cells looked for.
    for values in x.values.chunks_exact(k.max(1)).take(n) {
        for (((&v, s), lo), hi) in values.iter().zip(&mut sum).zip(&mut min).zip(&mut max) {
            *s += v;
            *lo = v.min(*lo);
            *hi = v.max(*hi);
        }
    }
    if sum.iter().any(|s| !s.is_finite()) {
        if let Some(i) = x.values.iter().position(|v| !v.is_finite()) {
            return Err(FitError::NotFinite {
                row: i / k,
                col: i % k,
            });
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
    let mut squares = vec![0.0; k];
    for values in x.values.chunks_exact(k.max(1)).take(n) {
        for ((sq, &v), &m) in squares.iter_mut().zip(values).zip(&mean) {
            *sq += (v - m) * (v - m);
        }
    }
    (0..k)
        .map(|j| {
            let sd = (squares[j] / n as f64).sqrt();
            if !(mean[j].is_finite() && sd.is_finite()) {
                return Err(FitError::Solver(format!(
                    "column {j} is too large to standardise"
                )));
            }
            let constant = min[j] == max[j] || sd == 0.0;
            Ok(Column {
                mean: mean[j],
                sd,
                constant,
            })
        })
        .collect()
}

/// The standardised copy of the active columns, column-major (`n` values per column).
fn standardise(x: &Matrix, columns: &[Column], active: &[usize]) -> Vec<f64> {
    const TILE: usize = 256;
    let (n, k) = (x.rows, x.cols);
    let mut z = vec![0.0; n * active.len()];
    // Tiles of rows keep the strided reads in cache while each column is written in order.
    for r0 in (0..n).step_by(TILE) {
        let r1 = (r0 + TILE).min(n);
        let tile = &x.values[r0 * k..r1 * k];
        for (a, &j) in active.iter().enumerate() {
            let Column { mean, sd, .. } = columns[j];
            let scale = 1.0 / sd;
            for (out, row) in z[a * n + r0..a * n + r1]
                .iter_mut()
                .zip(tile.chunks_exact(k))
            {
                *out = (row[j] - mean) * scale;
            }
        }
    }
    z
}

/// The problem as the solvers see it.
struct Standardised<'a> {
    /// Column-major `rows × cols`.
    z: &'a [f64],
    rows: usize,
    cols: usize,
    y: &'a [bool],
}

impl Standardised<'_> {
    fn column(&self, a: usize) -> &[f64] {
        &self.z[a * self.rows..(a + 1) * self.rows]
    }
}

/// Standardised coefficients from linfa's L-BFGS: weights, then the intercept.
///
/// On more than [`SAMPLE_ROWS`] rows, L-BFGS sees an evenly strided sample (every m-th row, so
/// sorted input is still represented) with the penalty scaled to the sample, which puts it
/// within sampling error of the answer at a fraction of the cost; the Newton steps on every row
/// then converge quadratically. If linfa fails (for instance a sample with one class) the null
/// model is returned and the Newton steps do all the work.
fn warm_start(data: &Standardised, positives: usize, options: &Options) -> Vec<f64> {
    let (n, ka) = (data.rows, data.cols);
    let mut theta = vec![0.0; ka + 1];
    theta[ka] = ((positives as f64) / ((n - positives) as f64)).ln();
    if ka == 0 {
        return theta;
    }
    let stride = n.div_ceil(SAMPLE_ROWS);
    let rows = n.div_ceil(stride);
    let labels: Array1<bool> = data.y.iter().step_by(stride).copied().collect();
    let sample: Cow<[f64]> = if stride == 1 {
        Cow::Borrowed(data.z)
    } else {
        let mut sample = Vec::with_capacity(rows * ka);
        for a in 0..ka {
            sample.extend(data.column(a).iter().step_by(stride));
        }
        Cow::Owned(sample)
    };
    let Ok(records) = ArrayView2::from_shape((rows, ka).f(), &sample[..]) else {
        return theta;
    };
    let sample_positives = labels.iter().filter(|&&v| v).count();
    if sample_positives == 0 || sample_positives == rows {
        return theta;
    }
    // linfa labels the more frequent class +1 (on a tie, the class of the first row); start its
    // intercept at the null model's log-odds in that orientation.
    let null = ((sample_positives as f64) / ((rows - sample_positives) as f64)).ln();
    let plus_is_true = if 2 * sample_positives == rows {
        labels[0]
    } else {
        2 * sample_positives > rows
    };
    let mut init = Array1::zeros(ka + 1);
    init[ka] = if plus_is_true { null } else { -null };
    let dataset = DatasetBase::new(records, labels);
    // linfa's objective and gradient are sums over rows: scale the penalty to the sample and the
    // per-row tolerance by its rows.
    let fitted = LogisticRegression::default()
        .alpha(options.l2 * rows as f64 / n as f64)
        .with_intercept(true)
        .max_iterations(options.max_iterations)
        .gradient_tolerance(rows as f64 * options.tolerance.max(HANDOFF))
        .initial_params(init)
        .fit(&dataset);
    if let Ok(fitted) = fitted {
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let params = fitted.params();
        if params.len() == ka
            && params
                .iter()
                .chain([&fitted.intercept()])
                .all(|w| w.is_finite())
        {
            for (t, &w) in theta.iter_mut().zip(params) {
                *t = sign * w;
            }
            theta[ka] = sign * fitted.intercept();
        }
    }
    theta
}

/// The end of the solve.
struct Solved {
    /// Standardised weights, then the intercept.
    theta: Vec<f64>,
    /// Inverse Hessian, row-major `(cols + 1)²`.
    covariance: Vec<f64>,
    iterations: u64,
    converged: bool,
}

/// Damped Newton from `theta` until the step is below the tolerance.
fn refine(data: &Standardised, mut theta: Vec<f64>, options: &Options) -> Result<Solved, FitError> {
    let d = data.cols + 1;
    let mut scratch = Scratch::new(data.rows.min(BLOCK), d);
    let mut here = Evaluation::new(d);
    let mut next = Evaluation::new(d);
    let mut factor = vec![0.0; d * d];
    let mut delta = vec![0.0; d];
    let mut candidate = vec![0.0; d];
    here.evaluate(data, &theta, options.l2, &mut scratch);
    let mut iterations = 0;
    let mut converged = false;
    loop {
        if !cholesky(&here.hessian, d, &mut factor) {
            return Err(singular());
        }
        delta.copy_from_slice(&here.gradient);
        cholesky_solve(&factor, d, &mut delta);
        let step = delta.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if !step.is_finite() {
            return Err(singular());
        }
        if step <= options.tolerance {
            // Quadratic convergence: this last step is far below the tolerance's worth of error,
            // and the Hessian it came from is the one to report.
            for (t, s) in theta.iter_mut().zip(&delta) {
                *t -= s;
            }
            converged = true;
            break;
        }
        if iterations >= options.max_iterations {
            break;
        }
        // Backtrack until the penalised loss decreases (Armijo), allowing for the rounding noise
        // of a sum over a million rows.
        let decrease = dot(&here.gradient, &delta);
        let slack = 1e-10 * here.loss.abs();
        let mut t = 1.0;
        let accepted = loop {
            for ((c, th), s) in candidate.iter_mut().zip(&theta).zip(&delta) {
                *c = th - t * s;
            }
            next.evaluate(data, &candidate, options.l2, &mut scratch);
            iterations += 1;
            if next.loss <= here.loss - 1e-4 * t * decrease + slack {
                break true;
            }
            t *= 0.5;
            if t < 1e-10 || iterations >= options.max_iterations {
                break false;
            }
        };
        if !accepted {
            break;
        }
        std::mem::swap(&mut theta, &mut candidate);
        std::mem::swap(&mut here, &mut next);
    }
    if !cholesky(&here.hessian, d, &mut factor) {
        return Err(singular());
    }
    Ok(Solved {
        theta,
        covariance: cholesky_inverse(&factor, d),
        iterations,
        converged,
    })
}

fn singular() -> FitError {
    FitError::Solver(
        "the Hessian is singular: columns are collinear or the classes are separable; raise l2"
            .to_owned(),
    )
}

/// Buffers for one block of rows, allocated once per fit.
struct Scratch {
    eta: Vec<f64>,
    residual: Vec<f64>,
    root_weight: Vec<f64>,
    /// `√(p(1-p)) · [z, 1]`, column-major, for the Hessian product.
    weighted: Vec<f64>,
}

impl Scratch {
    fn new(block: usize, d: usize) -> Scratch {
        Scratch {
            eta: vec![0.0; block],
            residual: vec![0.0; block],
            root_weight: vec![0.0; block],
            weighted: vec![0.0; block * d],
        }
    }
}

/// Penalised loss, gradient and Hessian at one point.
struct Evaluation {
    loss: f64,
    gradient: Vec<f64>,
    /// Row-major `d × d`.
    hessian: Vec<f64>,
}

impl Evaluation {
    fn new(d: usize) -> Evaluation {
        Evaluation {
            loss: 0.0,
            gradient: vec![0.0; d],
            hessian: vec![0.0; d * d],
        }
    }

    /// One pass over the rows, in blocks; no allocation.
    fn evaluate(&mut self, data: &Standardised, theta: &[f64], l2: f64, scratch: &mut Scratch) {
        let (n, ka, d) = (data.rows, data.cols, data.cols + 1);
        let (weights, intercept) = theta.split_at(ka);
        self.loss = 0.0;
        self.gradient.fill(0.0);
        self.hessian.fill(0.0);
        let mut hessian = ArrayViewMut2::from_shape((d, d), &mut self.hessian[..])
            .expect("hessian buffer is d × d");
        for r0 in (0..n).step_by(BLOCK) {
            let r1 = (r0 + BLOCK).min(n);
            let len = r1 - r0;
            let eta = &mut scratch.eta[..len];
            eta.fill(intercept[0]);
            for (a, &w) in weights.iter().enumerate() {
                for (e, &v) in eta.iter_mut().zip(&data.column(a)[r0..r1]) {
                    *e += w * v;
                }
            }
            let mut block_loss = 0.0;
            let residual = &mut scratch.residual[..len];
            let root_weight = &mut scratch.root_weight[..len];
            for (((&e, &yi), r), s) in eta
                .iter()
                .zip(&data.y[r0..r1])
                .zip(residual.iter_mut())
                .zip(root_weight.iter_mut())
            {
                // One exponential gives the loss, p and p(1-p) without cancellation.
                let t = (-e.abs()).exp();
                let p = if e >= 0.0 {
                    1.0 / (1.0 + t)
                } else {
                    t / (1.0 + t)
                };
                let margin = if yi { -e } else { e };
                block_loss += margin.max(0.0) + t.ln_1p();
                *r = p - if yi { 1.0 } else { 0.0 };
                *s = t.sqrt() / (1.0 + t);
            }
            self.loss += block_loss;
            let weighted = &mut scratch.weighted[..len * d];
            for a in 0..ka {
                let column = &data.column(a)[r0..r1];
                self.gradient[a] += dot(residual, column);
                for ((out, &v), &s) in weighted[a * len..(a + 1) * len]
                    .iter_mut()
                    .zip(column)
                    .zip(root_weight.iter())
                {
                    *out = s * v;
                }
            }
            self.gradient[ka] += residual.iter().sum::<f64>();
            weighted[ka * len..].copy_from_slice(root_weight);
            let m = ArrayView2::from_shape((len, d).f(), &*weighted).expect("block is len × d");
            general_mat_mul(1.0, &m.t(), &m, 1.0, &mut hessian);
        }
        for (a, &w) in weights.iter().enumerate() {
            self.loss += 0.5 * l2 * w * w;
            self.gradient[a] += l2 * w;
            self.hessian[a * d + a] += l2;
        }
    }
}

/// Lower Cholesky factor of a symmetric `d × d` matrix, row-major; false unless positive definite.
fn cholesky(h: &[f64], d: usize, l: &mut [f64]) -> bool {
    l.fill(0.0);
    for i in 0..d {
        for j in 0..=i {
            let s = h[i * d + j] - dot(&l[i * d..i * d + j], &l[j * d..j * d + j]);
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return false;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place.
fn cholesky_solve(l: &[f64], d: usize, b: &mut [f64]) {
    for i in 0..d {
        let s = b[i] - dot(&l[i * d..i * d + i], &b[..i]);
        b[i] = s / l[i * d + i];
    }
    for i in (0..d).rev() {
        let mut s = b[i];
        for j in i + 1..d {
            s -= l[j * d + i] * b[j];
        }
        b[i] = s / l[i * d + i];
    }
}

/// `(L Lᵀ)⁻¹`, row-major.
fn cholesky_inverse(l: &[f64], d: usize) -> Vec<f64> {
    let mut inverse = vec![0.0; d * d];
    let mut e = vec![0.0; d];
    for c in 0..d {
        e.fill(0.0);
        e[c] = 1.0;
        cholesky_solve(l, d, &mut e);
        for r in 0..d {
            inverse[r * d + c] = e[r];
        }
    }
    inverse
}

/// Dot product in four lanes, so the compiler can vectorise it.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut lanes = [0.0; 4];
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for i in 0..4 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail = len - len % 4;
    let rest: f64 = a[tail..].iter().zip(&b[tail..]).map(|(x, y)| x * y).sum();
    (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]) + rest
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Isotonic calibration: a monotone, piecewise-linear map from log-odds to probability, fitted
/// by pool-adjacent-violators. Unlike [`Platt`] it does not assume the model's log-odds are off
/// by a straight line, so an over-confident top end (many page views, say) comes back down to
/// what those profiles actually did. Kept to a few knots, so it can be written into a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Isotonic {
    /// (log-odds, probability), increasing in both.
    pub knots: Vec<(f64, f64)>,
}

impl Isotonic {
    /// Fits the map on logits and outcomes with at most `max_knots` knots. Non-finite logits
    /// are skipped; with no usable rows the map is empty (see [`Isotonic::probability`]).
    ///
    /// # Panics
    /// If `logits` and `y` differ in length.
    pub fn fit(logits: &[f64], y: &[bool], max_knots: usize) -> Isotonic {
        assert_eq!(logits.len(), y.len(), "one outcome per logit");
        let mut rows: Vec<(f64, bool)> = logits
            .iter()
            .zip(y)
            .filter(|(l, _)| l.is_finite())
            .map(|(l, y)| (*l, *y))
            .collect();
        if rows.is_empty() {
            return Isotonic { knots: Vec::new() };
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Blocks of (sum of logits, positives, count), pooled while rates decrease.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        let mut i = 0;
        while i < rows.len() {
            // Equal logits form one block.
            let mut j = i;
            let (mut sl, mut pos) = (0.0, 0.0);
            while j < rows.len() && rows[j].0 == rows[i].0 {
                sl += rows[j].0;
                pos += f64::from(u8::from(rows[j].1));
                j += 1;
            }
            blocks.push((sl, pos, (j - i) as f64));
            while blocks.len() > 1 {
                let n = blocks.len();
                let (a, b) = (blocks[n - 2], blocks[n - 1]);
                if a.1 / a.2 <= b.1 / b.2 {
                    break;
                }
                blocks.truncate(n - 2);
                blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
            }
            i = j;
        }
        // At most `max_knots` groups of about equal weight; the rates stay monotone.
        let total: f64 = blocks.iter().map(|b| b.2).sum();
        let per = total / max_knots.max(1) as f64;
        let mut knots = Vec::new();
        let mut acc = (0.0, 0.0, 0.0);
        for (k, b) in blocks.iter().enumerate() {
            acc = (acc.0 + b.0, acc.1 + b.1, acc.2 + b.2);
            if acc.2 >= per || k + 1 == blocks.len() {
                // A little smoothing keeps the ends off exactly 0 and 1.
                let p = (acc.1 + 0.5) / (acc.2 + 1.0);
                let l = acc.0 / acc.2;
                match knots.last_mut() {
                    Some((ll, lp)) if p <= *lp => {
                        // Smoothing can tie neighbours: keep one knot, at the pooled place.
                        *ll = (*ll + l) / 2.0;
                    }
                    _ => knots.push((l, p)),
                }
                acc = (0.0, 0.0, 0.0);
            }
        }
        Isotonic { knots }
    }

    /// The probability for a log-odds: linear between knots, flat beyond the ends; the plain
    /// logistic function when the map is empty.
    pub fn probability(&self, logit: f64) -> f64 {
        interpolate(&self.knots, logit).unwrap_or_else(|| sigmoid(logit))
    }
}

pub use intent_core::model::interpolate;

#[cfg(test)]
mod isotonic_tests {
    use super::*;

    #[test]
    fn isotonic_is_monotone_and_tames_an_overconfident_top() {
        // True chance rises with the logit but flattens at 20 %: a model that keeps climbing
        // is over-confident at the top.
        let mut logits = Vec::new();
        let mut y = Vec::new();
        let mut state = 7u64;
        for i in 0..20_000 {
            let l = -6.0 + 10.0 * (i as f64 / 20_000.0);
            let p = sigmoid(l).min(0.2);
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            logits.push(l);
            y.push(u < p);
        }
        let iso = Isotonic::fit(&logits, &y, 20);
        assert!(
            iso.knots.len() <= 20 && iso.knots.len() >= 5,
            "{:?}",
            iso.knots
        );
        assert!(
            iso.knots
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1)
        );
        let top = iso.probability(4.0);
        assert!((0.15..0.26).contains(&top), "top {top}");
        let low = iso.probability(-5.0);
        assert!(low < 0.02, "low {low}");
        let platt = Platt::fit(&logits, &y);
        assert!(platt.probability(4.0) > top, "Platt keeps climbing");
    }

    #[test]
    fn interpolation_is_linear_between_knots_and_flat_outside() {
        let k = [(0.0, 0.1), (2.0, 0.3)];
        assert_eq!(interpolate(&k, -1.0), Some(0.1));
        assert!((interpolate(&k, 1.0).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(interpolate(&k, 5.0), Some(0.3));
        assert_eq!(interpolate(&[], 1.0), None);
        assert_eq!(Isotonic::fit(&[], &[], 10).probability(0.0), 0.5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: tiny, deterministic, and easy to replay in Python for the reference values.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 * (-53.0_f64).exp2()
        }

        /// A decayed point count: mostly 0, sometimes a few points.
        fn count(&mut self, rate: f64) -> f64 {
            let mut c = 0.0;
            while self.uniform() < rate {
                c += 0.5 + self.uniform();
            }
            c
        }
    }

    /// Draws rows from `P(y) = 1 / (1 + exp(-(b + w·x)))` with features from `feature`.
    fn simulate(
        rng: &mut SplitMix,
        rows: usize,
        intercept: f64,
        weights: &[f64],
        mut feature: impl FnMut(&mut SplitMix, usize) -> f64,
    ) -> (Vec<f64>, Vec<bool>) {
        let mut x = Vec::with_capacity(rows * weights.len());
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let mut eta = intercept;
            for (j, w) in weights.iter().enumerate() {
                let v = feature(rng, j);
                eta += w * v;
                x.push(v);
            }
            y.push(rng.uniform() < 1.0 / (1.0 + (-eta).exp()));
        }
        (x, y)
    }

    fn matrix(values: &[f64], cols: usize) -> Matrix<'_> {
        Matrix {
            rows: values.len() / cols,
            cols,
            values,
        }
    }

    fn options(l2: f64) -> Options {
        Options {
            l2,
            ..Options::default()
        }
    }

    fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        let err = (actual - expected).abs() / expected.abs().max(1e-12);
        assert!(
            err <= relative,
            "{what}: {actual} vs {expected} (relative error {err:e})"
        );
    }

    const TRUE_INTERCEPT: f64 = -2.5;
    const TRUE_WEIGHTS: [f64; 6] = [0.6, -0.4, 0.0, 0.9, 0.25, -1.1];

    /// Decayed counts in columns 0–2, 0/1 indicators in 3 and 5, a wide-scale count in 4.
    fn lead_feature(rng: &mut SplitMix, j: usize) -> f64 {
        match j {
            0 => rng.count(0.6),
            1 => rng.count(0.3),
            2 => rng.count(0.8),
            3 => f64::from(rng.uniform() < 0.2),
            4 => 4.0 * rng.count(0.5),
            _ => f64::from(rng.uniform() < 0.5),
        }
    }

    #[test]
    fn logit_recovers_known_weights_within_three_standard_errors() {
        let mut rng = SplitMix(7);
        let (x, y) = simulate(
            &mut rng,
            50_000,
            TRUE_INTERCEPT,
            &TRUE_WEIGHTS,
            lead_feature,
        );
        let model = fit(&matrix(&x, 6), &y, &options(1e-6)).unwrap();
        assert!(model.converged);
        for (j, &truth) in TRUE_WEIGHTS.iter().enumerate() {
            let (w, se) = (model.weights[j], model.std_errors[j]);
            assert!(se > 0.0 && se < 0.1, "weight {j}: std error {se}");
            assert!(
                (w - truth).abs() < 3.0 * se,
                "weight {j}: {w} ± {se}, truth {truth}"
            );
        }
        let (b, se) = (model.intercept, model.intercept_std_error);
        assert!(
            (b - TRUE_INTERCEPT).abs() < 3.0 * se,
            "intercept {b} ± {se}"
        );
        // The true zero weight is the one whose interval should straddle zero.
        let (lo, hi) = model.interval(2);
        assert!(lo < 0.0 && hi > 0.0, "({lo}, {hi})");
        let (lo, _) = model.interval(3);
        assert!(lo > 0.0);
    }

    #[test]
    fn logit_intervals_cover_about_95_percent() {
        let mut rng = SplitMix(11);
        let (mut covered, mut total) = (0, 0);
        for _ in 0..40 {
            let (x, y) = simulate(&mut rng, 4_000, TRUE_INTERCEPT, &TRUE_WEIGHTS, lead_feature);
            let model = fit(&matrix(&x, 6), &y, &options(1e-6)).unwrap();
            for (j, &truth) in TRUE_WEIGHTS.iter().enumerate() {
                let (lo, hi) = model.interval(j);
                covered += usize::from(lo <= truth && truth <= hi);
                total += 1;
            }
        }
        let rate = covered as f64 / total as f64;
        assert!(
            (0.90..=0.99).contains(&rate),
            "coverage {rate} ({covered}/{total})"
        );
    }

    // Reference values from scikit-learn 1.9.1 / numpy 2.4.6, with this script (same generator):
    //
    // import math, numpy as np
    // from sklearn.linear_model import LogisticRegression
    // M = (1 << 64) - 1
    // s = 42
    // def u():
    //     global s
    //     s = (s + 0x9E3779B97F4A7C15) & M
    //     z = s
    //     z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    //     z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    //     return ((z ^ (z >> 31)) >> 11) * 2.0**-53
    // X, y = [], []
    // for i in range(2000):
    //     r = [12.0 * u(), math.floor(4.0 * u()), 1000.0 * u(), 1.0 if u() < 0.3 else 0.0, 0.01 * u()]
    //     eta = -1.0 + 0.15 * r[0] - 0.4 * r[1] + 0.001 * r[2] + 0.8 * r[3] + 30.0 * r[4]
    //     X.append(r); y.append(u() < 1.0 / (1.0 + math.exp(-eta)))
    // X, y = np.array(X), np.array(y)
    // m, sd = X.mean(0), X.std(0)
    // Xs = (X - m) / sd
    // A = np.eye(6); A[1:, 1:] /= sd[:, None]; A[0, 1:] = -m / sd  # theta_orig = A theta_std
    // for l2 in [1.0, 100.0, 1e-8]:
    //     f = LogisticRegression(C=1 / l2, max_iter=10000, tol=1e-10).fit(Xs, y)
    //     th = np.r_[f.intercept_, f.coef_[0]]
    //     Xa = np.c_[np.ones(len(X)), Xs]
    //     p = 1 / (1 + np.exp(-Xa @ th))
    //     H = Xa.T @ (Xa * (p * (1 - p))[:, None]) + l2 * np.diag([0, 1, 1, 1, 1, 1])
    //     se = np.sqrt(np.diag(A @ np.linalg.inv(H) @ A.T))
    //     print("l2", l2, "positives", y.sum(), "n_iter", f.n_iter_)
    //     print("theta", repr(list(A @ th)))
    //     print("se   ", repr(list(se)))
    //     if l2 == 1e-8:  # unpenalised Fisher information in original units, as statsmodels reports
    //         Xo = np.c_[np.ones(len(X)), X]
    //         p = 1 / (1 + np.exp(-Xo @ (A @ th)))
    //         print("fisher", repr(list(np.sqrt(np.diag(np.linalg.inv(Xo.T @ (Xo * (p * (1 - p))[:, None])))))))
    //
    // theta and se are [intercept, w0..w4]. sklearn's own solution agrees with a Newton-polished
    // one to 4e-7 relative, so 1e-4 is a fair bar.

    fn reference_data() -> (Vec<f64>, Vec<bool>) {
        let mut rng = SplitMix(42);
        let mut x = Vec::with_capacity(2_000 * 5);
        let mut y = Vec::with_capacity(2_000);
        for _ in 0..2_000 {
            let r = [
                12.0 * rng.uniform(),
                (4.0 * rng.uniform()).floor(),
                1000.0 * rng.uniform(),
                f64::from(rng.uniform() < 0.3),
                0.01 * rng.uniform(),
            ];
            let eta = -1.0 + 0.15 * r[0] - 0.4 * r[1] + 0.001 * r[2] + 0.8 * r[3] + 30.0 * r[4];
            x.extend_from_slice(&r);
            y.push(rng.uniform() < 1.0 / (1.0 + (-eta).exp()));
        }
        (x, y)
    }

    fn assert_matches(model: &Model, theta: &[f64; 6], se: &[f64; 6], relative: f64) {
        assert_close(model.intercept, theta[0], relative, "intercept");
        assert_close(
            model.intercept_std_error,
            se[0],
            relative,
            "intercept std error",
        );
        for j in 0..5 {
            assert_close(model.weights[j], theta[j + 1], relative, &format!("w{j}"));
            assert_close(model.std_errors[j], se[j + 1], relative, &format!("se{j}"));
        }
    }

    #[test]
    fn logit_matches_scikit_learn() {
        let (x, y) = reference_data();
        assert_eq!(
            y.iter().filter(|&&v| v).count(),
            1040,
            "generator drifted from the script"
        );
        let x = matrix(&x, 5);

        let model = fit(&x, &y, &options(1.0)).unwrap();
        assert!(model.converged);
        let theta = [
            -0.7543500241307222,
            0.15143341052923134,
            -0.44734455831460257,
            0.0009125730876075407,
            0.7725343541490819,
            -6.204937207714831,
        ];
        let se = [
            0.1664187860998574,
            0.014375059115947874,
            0.044403583991157736,
            0.00017116047012569793,
            0.10824058302023544,
            16.751332051084898,
        ];
        assert_matches(&model, &theta, &se, 1e-4);
        // L-BFGS hands Newton a nearly solved problem only if alpha is mapped right.
        assert!(model.iterations <= 1, "{} Newton steps", model.iterations);

        let model = fit(&x, &y, &options(100.0)).unwrap();
        assert!(model.converged);
        let theta = [
            -0.5825280796582126,
            0.118667606470517,
            -0.35010910959981156,
            0.0007189500575156612,
            0.6063823389616719,
            -4.12591882365001,
        ];
        let se = [
            0.14871509345616113,
            0.01250493462193268,
            0.038682842801819384,
            0.0001503815832149709,
            0.09474152659773714,
            14.82584251363165,
        ];
        assert_matches(&model, &theta, &se, 1e-4);
        // L-BFGS hands Newton a nearly solved problem only if alpha is mapped right.
        assert!(model.iterations <= 1, "{} Newton steps", model.iterations);
    }

    #[test]
    fn logit_std_errors_match_unpenalised_fisher_information() {
        let (x, y) = reference_data();
        let model = fit(&matrix(&x, 5), &y, &options(1e-8)).unwrap();
        assert!(model.converged);
        let theta = [
            -0.7567131447575535,
            0.15188549341768637,
            -0.44868814781861327,
            0.00091526956524685,
            0.7748371465695821,
            -6.2363577483998105,
        ];
        let fisher = [
            0.16665385683276596,
            0.014401116081446895,
            0.04448301883079557,
            0.00017143978808642574,
            0.10842400280029356,
            16.776540012943336,
        ];
        assert_matches(&model, &theta, &fisher, 1e-4);
        // L-BFGS hands Newton a nearly solved problem only if alpha is mapped right.
        assert!(model.iterations <= 1, "{} Newton steps", model.iterations);
        // x4's interval is wide enough to include zero; x0's is not.
        let (lo, hi) = model.interval(4);
        assert!(lo < 0.0 && 0.0 < hi);
        assert!(model.interval(0).0 > 0.0);
    }

    #[test]
    fn logit_flipping_the_outcome_negates_the_model() {
        // linfa labels the majority class +1, so both orientations must come back right.
        let (x, y) = reference_data();
        let flipped: Vec<bool> = y.iter().map(|v| !v).collect();
        let x = matrix(&x, 5);
        let a = fit(&x, &y, &options(1.0)).unwrap();
        let b = fit(&x, &flipped, &options(1.0)).unwrap();
        // Newton would mend a wrongly oriented start, but not in one step.
        assert!(a.iterations <= 1 && b.iterations <= 1, "{a:?} {b:?}");
        assert_close(b.intercept, -a.intercept, 1e-7, "intercept");
        for j in 0..5 {
            assert_close(b.weights[j], -a.weights[j], 1e-7, "weight");
            assert_close(b.std_errors[j], a.std_errors[j], 1e-7, "std error");
        }
        // Rare positives, the usual lead-scoring case, through the same path.
        let mut rng = SplitMix(3);
        let (x, y) = simulate(&mut rng, 5_000, -4.0, &[0.8, 0.5], |r, _| r.count(0.5));
        let model = fit(&matrix(&x, 2), &y, &options(1e-6)).unwrap();
        assert!(
            model.weights[0] > 0.5 && model.weights[1] > 0.2,
            "{model:?}"
        );
    }

    #[test]
    fn logit_row_order_does_not_matter_on_large_inputs() {
        // Over SAMPLE_ROWS, L-BFGS sees a strided sample; rows sorted by outcome give it a
        // different sample, and the Newton steps must still land on the same optimum.
        let mut rng = SplitMix(13);
        let rows = SAMPLE_ROWS + SAMPLE_ROWS / 2 + 1;
        let (x, y) = simulate(&mut rng, rows, -3.0, &[0.7, -0.3, 1.0], |r, j| match j {
            0 => r.count(0.5),
            1 => r.count(0.7),
            _ => f64::from(r.uniform() < 0.3),
        });
        let mut order: Vec<usize> = (0..rows).collect();
        order.sort_by_key(|&i| !y[i]);
        let sorted_x: Vec<f64> = order
            .iter()
            .flat_map(|&i| x[i * 3..i * 3 + 3].to_vec())
            .collect();
        let sorted_y: Vec<bool> = order.iter().map(|&i| y[i]).collect();
        assert!(sorted_y[0] && !sorted_y[rows - 1]);
        let a = fit(&matrix(&x, 3), &y, &Options::default()).unwrap();
        let b = fit(&matrix(&sorted_x, 3), &sorted_y, &Options::default()).unwrap();
        assert!(a.converged && b.converged);
        assert_close(b.intercept, a.intercept, 1e-8, "intercept");
        for j in 0..3 {
            assert_close(b.weights[j], a.weights[j], 1e-8, "weight");
            assert_close(b.std_errors[j], a.std_errors[j], 1e-8, "std error");
            let truth = [0.7, -0.3, 1.0][j];
            assert!(
                (a.weights[j] - truth).abs() < 3.0 * a.std_errors[j],
                "{a:?}"
            );
        }
    }

    #[test]
    fn logit_rejects_bad_input() {
        let o = Options::default();
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(
            fit(&matrix(&x, 2), &[true, true], &o),
            Err(FitError::OneClass {
                positives: 2,
                rows: 2
            })
        );
        assert_eq!(
            fit(&matrix(&x, 2), &[false, false], &o),
            Err(FitError::OneClass {
                positives: 0,
                rows: 2
            })
        );
        assert_eq!(fit(&matrix(&[], 3), &[], &o), Err(FitError::NoExamples));
        let nan = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, f64::NAN, 8.0];
        let err = fit(&matrix(&nan, 3), &[true, false, true], &o).unwrap_err();
        assert_eq!(err, FitError::NotFinite { row: 2, col: 1 });
        assert_eq!(err.to_string(), "value at row 2, column 1 is not finite");
        let inf = [0.0, f64::INFINITY, 2.0, 3.0];
        assert_eq!(
            fit(&matrix(&inf, 2), &[true, false], &o),
            Err(FitError::NotFinite { row: 0, col: 1 })
        );
        let short = Matrix {
            rows: 2,
            cols: 3,
            values: &x,
        };
        let err = fit(&short, &[true, false], &o).unwrap_err();
        assert_eq!(
            err,
            FitError::Shape {
                rows: 2,
                cols: 3,
                values: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "matrix of 2 rows × 3 columns cannot hold 4 values"
        );
        assert_eq!(
            fit(&matrix(&x, 2), &[true, false, true], &o),
            Err(FitError::Labels { rows: 2, labels: 3 })
        );
        let negative = Options { l2: -1.0, ..o };
        assert_eq!(
            fit(&matrix(&x, 2), &[true, false], &negative),
            Err(FitError::Option {
                name: "l2",
                value: -1.0
            })
        );
    }

    #[test]
    fn logit_constant_column_gets_weight_zero() {
        let (x, y) = reference_data();
        // Insert a constant 0.1 (inexact in binary, so its computed variance need not be 0).
        let with: Vec<f64> = x
            .chunks_exact(5)
            .flat_map(|r| [r[0], r[1], 0.1, r[2], r[3], r[4]])
            .collect();
        let plain = fit(&matrix(&x, 5), &y, &options(1.0)).unwrap();
        let model = fit(&matrix(&with, 6), &y, &options(1.0)).unwrap();
        assert_eq!((model.weights[2], model.std_errors[2]), (0.0, 0.0));
        assert_eq!(model.interval(2), (0.0, 0.0));
        assert_close(model.intercept, plain.intercept, 1e-9, "intercept");
        for (a, j) in [(0, 0), (1, 1), (3, 2), (4, 3), (5, 4)] {
            assert_close(model.weights[a], plain.weights[j], 1e-9, "weight");
            assert_close(model.std_errors[a], plain.std_errors[j], 1e-9, "std error");
        }
        // Only constant columns: the intercept-only model, p = share of positives.
        let constant = vec![5.0; y.len()];
        let model = fit(&matrix(&constant, 1), &y, &options(1.0)).unwrap();
        assert!(model.converged);
        assert_close(
            model.probability(&[5.0]),
            1040.0 / 2000.0,
            1e-9,
            "base rate",
        );
        assert!(model.intercept_std_error > 0.0);
    }

    #[test]
    fn logit_separable_data_converges_with_finite_weights() {
        let x: Vec<f64> = (0..200).map(|i| f64::from(i) * 0.5).collect();
        let y: Vec<bool> = x.iter().map(|&v| v > 50.0).collect();
        let model = fit(&matrix(&x, 1), &y, &options(1.0)).unwrap();
        assert!(model.converged, "{model:?}");
        assert!(model.weights[0].is_finite() && model.weights[0] > 0.0);
        assert!(model.std_errors[0].is_finite() && model.std_errors[0] > 0.0);
        assert!(model.probability(&[10.0]) < 0.01);
        assert!(model.probability(&[90.0]) > 0.99);
        // A stronger penalty shrinks the separating weight.
        let shrunk = fit(&matrix(&x, 1), &y, &options(100.0)).unwrap();
        assert!(shrunk.converged && shrunk.weights[0] < model.weights[0]);
    }

    #[test]
    fn logit_model_helpers_use_original_units() {
        let model = Model {
            intercept: -1.0,
            weights: vec![0.5, 2.0],
            std_errors: vec![0.1, 3.0],
            intercept_std_error: 0.2,
            iterations: 0,
            converged: true,
        };
        assert_eq!(model.logit(&[2.0, 0.5]), 1.0);
        assert_eq!(model.probability(&[2.0, 0.0]), 0.5);
        let (lo, hi) = model.interval(0);
        assert_close(lo, 0.5 - 0.1959964, 1e-12, "lower");
        assert_close(hi, 0.5 + 0.1959964, 1e-12, "upper");
        let (lo, hi) = model.interval(1);
        assert!(lo < 0.0 && hi > 0.0);
    }

    #[test]
    fn logit_sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!(sigmoid(-700.0) > 0.0);
        assert_close(
            sigmoid(-30.0),
            (-30.0_f64).exp() / (1.0 + (-30.0_f64).exp()),
            1e-15,
            "",
        );
        assert_close(sigmoid(2.0) + sigmoid(-2.0), 1.0, 1e-15, "symmetry");
    }

    #[test]
    fn logit_platt_recovers_a_known_miscalibration() {
        let mut rng = SplitMix(5);
        let mut logits = Vec::new();
        let mut y = Vec::new();
        for _ in 0..50_000 {
            let z = 12.0 * rng.uniform() - 6.0;
            logits.push(z);
            y.push(rng.uniform() < sigmoid(0.5 * z - 1.0));
        }
        let platt = Platt::fit(&logits, &y);
        assert!((platt.slope - 0.5).abs() < 0.02, "{platt:?}");
        assert!((platt.offset + 1.0).abs() < 0.04, "{platt:?}");
        assert_close(
            platt.probability(2.0),
            sigmoid(platt.slope * 2.0 + platt.offset),
            1e-15,
            "probability",
        );
        // A calibrated model is left nearly alone.
        let y: Vec<bool> = logits.iter().map(|&z| rng.uniform() < sigmoid(z)).collect();
        let platt = Platt::fit(&logits, &y);
        assert!(
            (platt.slope - 1.0).abs() < 0.04 && platt.offset.abs() < 0.04,
            "{platt:?}"
        );
    }

    #[test]
    fn logit_platt_degenerate_inputs_stay_finite() {
        assert_eq!(
            Platt::fit(&[], &[]),
            Platt {
                slope: 1.0,
                offset: 0.0
            }
        );
        let one_class = Platt::fit(&[1.0, 2.0, 3.0], &[true, true, true]);
        assert!(one_class.slope.is_finite() && one_class.offset.is_finite());
        assert!(one_class.probability(2.0) > 0.5);
        let separable = Platt::fit(&[-2.0, -1.0, 1.0, 2.0], &[false, false, true, true]);
        assert!(
            separable.slope > 0.0 && separable.slope.is_finite(),
            "{separable:?}"
        );
        let same = Platt::fit(&[0.3, 0.3, 0.3, f64::NAN], &[true, false, false, true]);
        assert!(
            same.slope.is_finite() && same.offset.is_finite(),
            "{same:?}"
        );
        assert!(same.probability(0.3) < 0.5);
    }

    /// Measurement, not a check: `cargo test --release -p intent-learn logit_speed_1m -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn logit_speed_1m() {
        const ROWS: usize = 1_000_000;
        const COLS: usize = 40;
        let weights: Vec<f64> = (0..COLS)
            .map(|j| 0.4 * ((j % 7) as f64 - 3.0) / 3.0)
            .collect();
        let mut rng = SplitMix(1);
        let (x, y) = simulate(&mut rng, ROWS, -3.0, &weights, |r, j| {
            if j % 3 == 0 {
                f64::from(r.uniform() < 0.1)
            } else {
                r.count(0.3)
            }
        });
        let positives = y.iter().filter(|&&v| v).count();
        let start = std::time::Instant::now();
        let model = fit(&matrix(&x, COLS), &y, &Options::default()).unwrap();
        let elapsed = start.elapsed();
        println!(
            "logit_speed_1m: {ROWS} × {COLS}, {positives} positives: {elapsed:.2?}, \
             {} Newton steps, converged {}",
            model.iterations, model.converged
        );
        assert!(model.converged);
    }
}
