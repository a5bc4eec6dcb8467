//! Learning from outcomes on history files: `intent backtest`, `intent learn`, and the reports
//! `funnel`, `signals`, `paths`, `journeys` and `weekly`. The statistics and the model live in
//! `intent-learn` (pure); this module reads history, cuts it at moments and prints.

use crate::batch::{self, Loaded};
use crate::history::{self, Cut, Target, Tokens};
use anyhow::{Context, Result, bail};
use clap::Args;
use intent_core::model::Layout;
use intent_core::plan::Plan;
use intent_core::score::{DISQUALIFIED, Scorer, tier_name};
use intent_core::time::{DAY, Duration, Ts, format_timestamp};
use intent_learn::{funnel, leakage, logit, paths, rewrite, stats};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// What every history command reads.
#[derive(Args, Clone)]
pub struct Input {
    /// The plan file.
    #[arg(long, default_value = "plans/showroom.yaml")]
    pub plan: PathBuf,
    /// NDJSON history files, plain or gzip; `-` or nothing reads stdin.
    pub files: Vec<PathBuf>,
}

/// The outcome and the window.
#[derive(Args, Clone)]
pub struct Window {
    /// The outcome to predict: appointment (booked; shown, no-show and test drive imply one),
    /// shown, no_show, test_drive, sale or lost.
    #[arg(long, default_value = "appointment")]
    pub outcome: String,
    /// How long after the cutoff an outcome counts.
    #[arg(long, default_value = "30d")]
    pub horizon: String,
    /// Score everyone as of this moment (default: the last event minus the horizon).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Score each profile just before its first outcome (or at its last event) instead of at
    /// one cutoff: for imported lead tables, where each row is one moment.
    #[arg(long)]
    pub per_profile: bool,
    /// With `--per-profile`: the share of profiles, latest first, held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
}

impl Default for Window {
    /// The command line's defaults: appointments within 30 days, one cutoff.
    fn default() -> Self {
        Window {
            outcome: "appointment".into(),
            horizon: "30d".into(),
            cutoff: None,
            per_profile: false,
            holdout: 0.2,
        }
    }
}

impl Window {
    fn parse(&self) -> Result<(Target, i64)> {
        let target = Target::parse(&self.outcome)?;
        let horizon = Duration::parse(&self.horizon)
            .map_err(|e| anyhow::anyhow!("--horizon `{}`: {e}", self.horizon))?
            .millis();
        Ok((target, horizon))
    }
}

fn load(input: &Input, marks: bool) -> Result<(Scorer, Loaded, String)> {
    let text = std::fs::read_to_string(&input.plan)
        .with_context(|| format!("reading plan {}", input.plan.display()))?;
    let plan = Plan::parse(&text, &input.plan.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let scorer = Scorer::new(plan);
    let loaded = batch::load_with(&scorer, &input.files, marks)?;
    loaded.report_problems();
    if loaded.decoded() == 0 {
        bail!("no events in the input ({} lines read)", loaded.lines);
    }
    Ok((scorer, loaded, text))
}

fn moment(text: &Option<String>) -> Result<Option<Ts>> {
    text.as_deref().map(crate::parse_moment).transpose()
}

fn day(ts: Ts) -> String {
    format_timestamp(ts)[..10].to_string()
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "–".into()
    }
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "–".into()
    }
}

/// Examples that can still convert: not disqualified, not already converted.
fn eligible(cut: &Cut, target: Target) -> Vec<usize> {
    (0..cut.examples.len())
        .filter(|&i| {
            let e = &cut.examples[i];
            e.snap.tier != DISQUALIFIED && e.before & target.bits() == 0
        })
        .collect()
}

/// Rules seen on fewer training profiles than this are not learnt.
const MIN_SUPPORT: usize = 10;

/// Knots of the isotonic calibration written into a plan.
const KNOTS: usize = 16;

/// One cut of examples ready for statistics.
struct Set {
    rows: Vec<usize>,
    labels: Vec<bool>,
    labels_short: Vec<bool>,
}

fn set_of(cut: &Cut, target: Target, horizon: i64, short: i64) -> Set {
    let rows = eligible(cut, target);
    let labels = rows
        .iter()
        .map(|&i| cut.examples[i].converted(target, horizon))
        .collect();
    let labels_short = rows
        .iter()
        .map(|&i| cut.examples[i].converted(target, short))
        .collect();
    Set {
        rows,
        labels,
        labels_short,
    }
}

/// The cuts of a run: per-profile moments, or a validation cutoff and a training cutoff one
/// horizon before it.
fn cuts(
    scorer: &Scorer,
    loaded: &mut Loaded,
    w: &Window,
    horizon: i64,
    tokens: bool,
) -> Result<(Option<Cut>, Cut)> {
    let end = loaded.max_ts;
    if w.per_profile {
        let target = Target::parse(&w.outcome)?;
        let (train, valid) = history::per_profile(scorer, loaded, target, w.holdout, tokens);
        return Ok((Some(train), valid));
    }
    let valid_at = moment(&w.cutoff)?.unwrap_or(end - horizon);
    let train_at = valid_at - horizon;
    let train = history::cut(scorer, loaded, train_at, train_at + horizon, tokens, false);
    let valid = history::cut(scorer, loaded, valid_at, valid_at + horizon, tokens, false);
    Ok((Some(train), valid))
}

// ---------------------------------------------------------------------------------------------
// Backtest

/// `intent backtest`.
#[derive(Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    input: Input,
    /// A second plan to compare with.
    #[arg(long)]
    vs: Option<PathBuf>,
    #[command(flatten)]
    window: Window,
    /// Precision is shown at these numbers of top profiles.
    #[arg(long, default_value = "100,1000")]
    at_k: String,
}

/// A plan's backtest figures.
#[derive(serde::Serialize)]
struct Backtest {
    profiles: usize,
    converted: u64,
    roc_auc: f64,
    pr_auc: f64,
    top_decile_lift: f64,
    precision_at: Vec<(usize, f64)>,
    tiers: Vec<(String, stats::Rate)>,
    /// Per tier: follow-up tasks open at the cutoff (profiles in a tier whose playbook has an
    /// SLA), the SLA load the plan puts on sales.
    tasks: Vec<u64>,
}

fn backtest_of(scorer: &Scorer, cut: &Cut, set: &Set, ks: &[usize]) -> Backtest {
    let plan = scorer.plan();
    let mut tiers: Vec<(String, stats::Rate)> = plan
        .levels
        .iter()
        .map(|l| (l.name.clone(), stats::Rate::default()))
        .collect();
    // Rank by tier first (an override or escalation puts someone on top), then score.
    let rank: Vec<f64> = set
        .rows
        .iter()
        .map(|&i| {
            let s = &cut.examples[i].snap;
            (plan.levels.len() - s.tier as usize) as f64 * 1e9 + s.score
        })
        .collect();
    for (&i, &y) in set.rows.iter().zip(&set.labels) {
        let t = cut.examples[i].snap.tier as usize;
        if t < tiers.len() {
            tiers[t].1.add(y);
        }
    }
    use intent_core::action::plan::PlaybookFor;
    let has_task = |t: usize| {
        plan.follow_up
            .playbooks
            .iter()
            .any(|p| p.target == PlaybookFor::Tier(t) && p.sla.is_some())
    };
    let mut tasks = vec![0u64; plan.levels.len()];
    for &i in &set.rows {
        let e = &cut.examples[i];
        let t = e.snap.tier as usize;
        let by_override = e.snap.override_index.and_then(|o| {
            plan.follow_up
                .playbooks
                .iter()
                .find(|p| p.target == PlaybookFor::Override(o) && p.sla.is_some())
        });
        if t < tasks.len() && (has_task(t) || by_override.is_some()) {
            tasks[t] += 1;
        }
    }
    Backtest {
        profiles: set.rows.len(),
        converted: set.labels.iter().filter(|&&y| y).count() as u64,
        roc_auc: stats::roc_auc(&rank, &set.labels),
        pr_auc: stats::pr_auc(&rank, &set.labels),
        top_decile_lift: stats::lift_at(&rank, &set.labels, 0.1),
        precision_at: ks
            .iter()
            .map(|&k| (k, stats::precision_at(&rank, &set.labels, k)))
            .collect(),
        tiers,
        tasks,
    }
}

fn print_backtest(out: &mut impl Write, name: &str, b: &Backtest) -> Result<()> {
    writeln!(
        out,
        "{name}: {} profiles, {} converted ({})",
        b.profiles,
        b.converted,
        pct(b.converted as f64 / b.profiles.max(1) as f64)
    )?;
    write!(
        out,
        "  ROC AUC {}   PR AUC {}   top-decile lift {:.2}×",
        num(b.roc_auc),
        num(b.pr_auc),
        b.top_decile_lift
    )?;
    for (k, p) in &b.precision_at {
        write!(out, "   precision@{k} {}", pct(*p))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:<14} {:>10} {:>10} {:>9} {:>12}",
        "TIER", "PROFILES", "CONVERTED", "RATE", "OPEN TASKS"
    )?;
    for ((t, r), tasks) in b.tiers.iter().zip(&b.tasks) {
        writeln!(
            out,
            "  {:<14} {:>10} {:>10} {:>9} {:>12}",
            t,
            r.n,
            r.positives,
            pct(r.rate()),
            tasks
        )?;
    }
    Ok(())
}

/// Runs `intent backtest`.
pub fn backtest(a: BacktestArgs) -> Result<()> {
    let began = Instant::now();
    let (target, horizon) = a.window.parse()?;
    let ks: Vec<usize> = a
        .at_k
        .split(',')
        .map(|k| {
            k.trim()
                .parse()
                .context("--at-k: numbers separated by commas")
        })
        .collect::<Result<_>>()?;
    let (scorer, mut loaded, _) = load(&a.input, false)?;
    let (_, cut) = cuts(&scorer, &mut loaded, &a.window, horizon, false)?;
    let set = set_of(&cut, target, horizon, horizon);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Backtest: {} as of {}, outcome `{}` within {}",
        if a.window.per_profile {
            "each profile before its outcome".to_string()
        } else {
            "everyone".into()
        },
        day(cut.at),
        a.window.outcome,
        a.window.horizon
    )?;
    let ba = backtest_of(&scorer, &cut, &set, &ks);
    print_backtest(&mut out, &a.input.plan.display().to_string(), &ba)?;
    if let Some(vs) = &a.vs {
        compare(&mut out, &a.input, vs, &a.window, &scorer, &cut, &ks)?;
    }
    writeln!(out, "({:.1} s)", began.elapsed().as_secs_f64())?;
    Ok(())
}

/// Backtests plan `vs` on the same history and window, prints it, and shows who changes tier
/// against the first plan's cut.
fn compare(
    out: &mut impl Write,
    input: &Input,
    vs: &std::path::Path,
    window: &Window,
    scorer: &Scorer,
    cut: &Cut,
    ks: &[usize],
) -> Result<()> {
    let (target, horizon) = window.parse()?;
    let input = Input {
        plan: vs.to_path_buf(),
        files: input.files.clone(),
    };
    let (scorer_b, mut loaded_b, _) = load(&input, false)?;
    let (_, cut_b) = cuts(&scorer_b, &mut loaded_b, window, horizon, false)?;
    let set_b = set_of(&cut_b, target, horizon, horizon);
    let bb = backtest_of(&scorer_b, &cut_b, &set_b, ks);
    print_backtest(out, &vs.display().to_string(), &bb)?;
    // Who changes tier: profiles are the same in both runs (same history, same cutoff).
    let la = scorer.plan().levels.len();
    let lb = scorer_b.plan().levels.len();
    let mut grid = vec![vec![0u64; lb + 1]; la + 1];
    let idx = |t: u8, n: usize| if t == DISQUALIFIED { n } else { t as usize };
    let mut movers: Vec<(usize, usize, usize)> = Vec::new();
    for (i, (ea, eb)) in cut.examples.iter().zip(&cut_b.examples).enumerate() {
        let (ta, tb) = (idx(ea.snap.tier, la), idx(eb.snap.tier, lb));
        grid[ta][tb] += 1;
        if ta != tb && ta < la && tb < lb {
            movers.push((i, ta, tb));
        }
    }
    writeln!(
        out,
        "Tier changes, all {} profiles at the cutoff (rows: first plan, columns: second plan):",
        cut.examples.len()
    )?;
    write!(out, "  {:<14}", "")?;
    for t in 0..=lb {
        write!(out, " {:>12}", tier_label(&scorer_b, t, lb))?;
    }
    writeln!(out)?;
    for (r, row) in grid.iter().enumerate() {
        write!(out, "  {:<14}", tier_label(scorer, r, la))?;
        for c in row {
            write!(out, " {c:>12}")?;
        }
        writeln!(out)?;
    }
    // A few of them by name, up first, with whether they converted.
    movers.sort_by_key(|&(i, ta, tb)| (tb, std::cmp::Reverse(ta), i));
    if !movers.is_empty() {
        writeln!(out, "Some who move (first plan → second plan):")?;
        for &(i, ta, tb) in movers.iter().take(5).chain(movers.iter().rev().take(5)) {
            let e = &cut.examples[i];
            let eb = &cut_b.examples[i];
            writeln!(
                out,
                "  {:<36} {:>7} → {:<7} score {:>6.1} → {:<6.1} {}",
                trunc(&cut.names[i], 36),
                tier_label(scorer, ta, la),
                tier_label(&scorer_b, tb, lb),
                e.snap.score,
                eb.snap.score,
                if e.converted(target, horizon) {
                    "converted"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}

fn tier_label(scorer: &Scorer, t: usize, n: usize) -> String {
    if t == n {
        "disqualified".into()
    } else {
        tier_name(scorer.plan(), t as u8).to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Learn

/// `intent learn`.
#[derive(Args)]
pub struct LearnArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    window: Window,
    /// Write the learned plan here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// L2 penalty on the standardised weights (scikit-learn's `C` is its inverse); larger
    /// keeps rare rules' weights small.
    #[arg(long, default_value_t = 10.0)]
    l2: f64,
    /// Keep rules the leakage check flags.
    #[arg(long)]
    keep_leaky: bool,
    /// Write every profile's id, split (train or valid) and label as CSV here, with the
    /// model's log-odds and calibrated probability for validation profiles.
    #[arg(long)]
    predictions_out: Option<PathBuf>,
}

struct Learned {
    model: logit::Model,
    short: Option<logit::Model>,
    platt: logit::Isotonic,
    platt_short: Option<logit::Isotonic>,
    used: Vec<bool>,
    checks: Vec<leakage::FieldCheck>,
    valid_p: Vec<f64>,
    valid_logits: Vec<f64>,
    valid_auc: f64,
    brier: f64,
    bins: Vec<stats::Bin>,
}

fn matrix(cut: &Cut, rows: &[usize], k: usize, used: &[bool]) -> Vec<f64> {
    let mut x = Vec::with_capacity(rows.len() * k);
    for &i in rows {
        let row = &cut.x[i * k..(i + 1) * k];
        x.extend(row.iter().zip(used).map(|(v, u)| if *u { *v } else { 0.0 }));
    }
    x
}

/// Checks for leakage: fields filled in after the outcome. Fit rules read traits, which an
/// export may stamp with the row's time although sales filled them in later: the rules on one
/// trait form one field (its value is the first of them that holds). With a single cutoff,
/// engagement rules only see events before it and cannot leak; with `--per-profile` (imported
/// tables) every rule is checked. Returns one check per feature and which features to use.
fn leak_check(
    layout: &Layout,
    train: &Cut,
    tset: &Set,
    per_profile: bool,
    keep_leaky: bool,
) -> (Vec<leakage::FieldCheck>, Vec<bool>) {
    use intent_core::model::FeatureRef;
    let k = layout.len();
    // Group features into fields: fit rules by the trait they test, others one by one.
    let mut fields: Vec<(String, Vec<usize>)> = Vec::new();
    for j in 0..k {
        let name = match layout.refs[j] {
            FeatureRef::Fit(_) => layout.trait_of[j].clone(),
            FeatureRef::Rule(_) if per_profile => layout.ids[j].clone(),
            FeatureRef::Rule(_) => continue,
        };
        match fields.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.1.push(j),
            None => fields.push((name, vec![j])),
        }
    }
    let values: Vec<leakage::Field> = fields
        .iter()
        .map(|(name, js)| leakage::Field {
            name: name.clone(),
            values: if js.len() == 1 && layout.kind(js[0]) != "fit" {
                // A rule that never fired for a profile is absent for it.
                leakage::Values::Number(
                    tset.rows
                        .iter()
                        .map(|&i| Some(train.x[i * k + js[0]]).filter(|v| *v != 0.0))
                        .collect(),
                )
            } else {
                leakage::Values::Category(
                    tset.rows
                        .iter()
                        .map(|&i| {
                            js.iter()
                                .position(|&j| train.x[i * k + j] != 0.0)
                                .map(|p| p as u32)
                        })
                        .collect(),
                )
            },
        })
        .collect();
    // A field "exists" here when one of its rules holds, and a marketer's rules often cover only
    // some values (`euribor ≥ 4`): so only a field that is all but absent for the others counts
    // as existing only for converted profiles.
    let options = leakage::LeakOptions {
        min_presence_ratio: 20.0,
        ..leakage::LeakOptions::default()
    };
    let results = leakage::check(&values, &tset.labels, &options);
    let mut checks: Vec<leakage::FieldCheck> = (0..k)
        .map(|j| leakage::FieldCheck {
            name: layout.ids[j].clone(),
            auc: f64::NAN,
            present_positive: f64::NAN,
            present_negative: f64::NAN,
            leak: None,
        })
        .collect();
    for ((_, js), c) in fields.iter().zip(results) {
        for &j in js {
            checks[j] = leakage::FieldCheck {
                name: c.name.clone(),
                ..c.clone()
            };
        }
    }
    // Rules seen on too few training profiles cannot be learnt: they would get wild weights.
    let used = checks
        .iter()
        .enumerate()
        .map(|(j, c)| {
            (keep_leaky || c.leak.is_none())
                && tset
                    .rows
                    .iter()
                    .filter(|&&i| train.x[i * k + j] != 0.0)
                    .count()
                    >= MIN_SUPPORT
        })
        .collect();
    (checks, used)
}

#[allow(clippy::too_many_arguments)]
fn fit_all(
    layout: &Layout,
    train: &Cut,
    tset: &Set,
    valid: &Cut,
    vset: &Set,
    l2: f64,
    keep_leaky: bool,
    per_profile: bool,
) -> Result<Learned> {
    let k = layout.len();
    let used = leak_check(layout, train, tset, per_profile, keep_leaky);
    let (checks, used) = used;
    let xt = matrix(train, &tset.rows, k, &used);
    let m = logit::Matrix {
        rows: tset.rows.len(),
        cols: k,
        values: &xt,
    };
    let options = logit::Options {
        l2,
        ..logit::Options::default()
    };
    let model = logit::fit(&m, &tset.labels, &options).context("fitting the model")?;
    let short = logit::fit(&m, &tset.labels_short, &options).ok();
    let xv = matrix(valid, &vset.rows, k, &used);
    let logits: Vec<f64> = xv.chunks(k.max(1)).map(|r| model.logit(r)).collect();
    let logits: Vec<f64> = if k == 0 {
        vec![model.intercept; vset.rows.len()]
    } else {
        logits
    };
    // Calibrate (isotonic) on one half of the validation profiles and measure on the other,
    // both ways; the plan gets the map fitted on all of them.
    let mut valid_p = vec![0.0; logits.len()];
    for half in 0..2 {
        let (fit_l, fit_y): (Vec<f64>, Vec<bool>) = logits
            .iter()
            .zip(&vset.labels)
            .enumerate()
            .filter(|(i, _)| i % 2 != half)
            .map(|(_, (l, y))| (*l, *y))
            .unzip();
        let iso = logit::Isotonic::fit(&fit_l, &fit_y, KNOTS);
        for (i, l) in logits.iter().enumerate() {
            if i % 2 == half {
                valid_p[i] = iso.probability(*l);
            }
        }
    }
    let platt = logit::Isotonic::fit(&logits, &vset.labels, KNOTS);
    let platt_short = short.as_ref().map(|s| {
        let l: Vec<f64> = xv.chunks(k.max(1)).map(|r| s.logit(r)).collect();
        logit::Isotonic::fit(&l, &vset.labels_short, KNOTS)
    });
    Ok(Learned {
        valid_auc: stats::roc_auc(&logits, &vset.labels),
        valid_logits: logits.clone(),
        brier: stats::brier(&valid_p, &vset.labels),
        bins: stats::reliability(&valid_p, &vset.labels, 10),
        model,
        short,
        platt,
        platt_short,
        used,
        checks,
        valid_p,
    })
}

/// One rule's line in the recommendation: id, label, kind, old and new points, weight, its
/// interval, and notes.
type RuleRow = (
    String,
    String,
    &'static str,
    f64,
    f64,
    f64,
    (f64, f64),
    String,
);

/// The plan changes a model implies: new points on the plan's scale.
struct Recommendation {
    changes: rewrite::Changes,
    rows: Vec<RuleRow>,
}

fn recommend(
    scorer: &Scorer,
    layout: &Layout,
    learned: &Learned,
    train: &Cut,
    tset: &Set,
) -> Recommendation {
    let plan = scorer.plan();
    let k = layout.len();
    let w = &learned.model.weights;
    let is_fit = |j: usize| layout.kind(j) == "fit";
    // Points per log-odds unit, separately for engagement and fit: the median size of the
    // plan's points over the median size of the weights, so the learned points keep the plan's
    // scale (and whole numbers keep enough resolution); tier lines are placed afterwards.
    let scale = |fit: bool| -> f64 {
        let mut olds: Vec<f64> = (0..k)
            .filter(|&j| is_fit(j) == fit && learned.used[j] && layout.points[j] != 0.0)
            .map(|j| layout.points[j].abs())
            .collect();
        let mut ws: Vec<f64> = (0..k)
            .filter(|&j| is_fit(j) == fit && learned.used[j] && w[j] != 0.0)
            .map(|j| w[j].abs())
            .collect();
        match (stats::median(&mut olds), stats::median(&mut ws)) {
            (Some(o), Some(m)) if m > 0.0 => o / m,
            _ => 10.0,
        }
    };
    let k_eng = scale(false);
    let k_fit = scale(true);
    let mut changes = rewrite::Changes::default();
    let mut rows = Vec::new();
    let mut new_points = vec![0.0; k];
    for j in 0..k {
        let old = layout.points[j];
        let (lo, hi) = learned.model.interval(j);
        let leak = learned.checks[j].leak.is_some() && !learned.used[j];
        let raw = if is_fit(j) { k_fit } else { k_eng } * w[j];
        let rare = !leak && !learned.used[j];
        let mut new = raw.round();
        if new == 0.0 && raw != 0.0 && !leak {
            new = raw.signum();
        }
        if leak {
            new = 0.0;
        }
        if rare {
            new = old;
        }
        let mut notes = Vec::new();
        if rare {
            notes.push(format!(
                "seen on {} training profiles: too few to learn, points kept",
                train_count(train, tset, k, j)
            ));
        } else if leak {
            notes.push(match &learned.checks[j].leak {
                Some(leakage::Leak::PredictsTooWell { auc }) => {
                    format!("left out: predicts too well (AUC {auc:.2}), likely filled in after the outcome")
                }
                Some(leakage::Leak::OnlyConverted { present_positive, present_negative }) => format!(
                    "left out: present for {} of converted but {} of others",
                    pct(*present_positive),
                    pct(*present_negative)
                ),
                None => String::new(),
            });
        } else if lo <= 0.0 && hi >= 0.0 && !rare {
            notes.push("does not predict (interval spans 0)".to_string());
        }
        if !leak && !rare && old != 0.0 && new != 0.0 && old.signum() != new.signum() {
            notes.push("sign reversed".into());
        }

        new_points[j] = new;
        if new != old {
            changes.edits.push(rewrite::Edit {
                rule: layout.ids[j].clone(),
                points: new,
            });
        }
        rows.push((
            layout.ids[j].clone(),
            layout.labels[j].clone(),
            layout.kind(j),
            old,
            new,
            w[j],
            (lo, hi),
            notes.join("; "),
        ));
    }
    // New scores of the training profiles, and tier lines that keep each tier's share.
    let new_scores: Vec<f64> = tset
        .rows
        .iter()
        .map(|&i| {
            let x = &train.x[i * k..(i + 1) * k];
            (0..k)
                .filter(|&j| !is_fit(j))
                .map(|j| new_points[j] * x[j])
                .sum()
        })
        .collect();
    let old_scores: Vec<f64> = tset
        .rows
        .iter()
        .map(|&i| train.examples[i].snap.score)
        .collect();
    let levels = plan
        .levels
        .iter()
        .filter_map(|l| l.min_score.map(|m| (l.name.clone(), m)));
    changes.tiers = lines_keeping_shares(levels, &old_scores, new_scores);
    if !plan.grades.is_empty() {
        let new_fits: Vec<f64> = tset
            .rows
            .iter()
            .map(|&i| {
                let x = &train.x[i * k..(i + 1) * k];
                (0..k)
                    .filter(|&j| is_fit(j))
                    .map(|j| new_points[j] * x[j])
                    .sum()
            })
            .collect();
        let old_fits: Vec<f64> = tset
            .rows
            .iter()
            .map(|&i| train.examples[i].snap.fit)
            .collect();
        // The lowest grade starts at 0 and stays there.
        let grades = plan
            .grades
            .iter()
            .filter(|g| g.min > 0.0)
            .map(|g| (g.name.clone(), g.min));
        changes.grades = lines_keeping_shares(grades, &old_fits, new_fits);
    }
    Recommendation { changes, rows }
}

/// New lines for thresholds `(name, old line)`, highest first, that keep the share of profiles
/// at or above each line: `old` and `new` are the profiles' scores under the two plans. Lines
/// stay strictly decreasing; if one would fall below 1 (every zero-score profile would pass it)
/// none is returned, and the plan keeps its own.
fn lines_keeping_shares(
    thresholds: impl Iterator<Item = (String, f64)>,
    old: &[f64],
    mut new: Vec<f64>,
) -> Vec<(String, f64)> {
    new.sort_by(f64::total_cmp);
    let mut previous = f64::INFINITY;
    let mut lines = Vec::new();
    for (name, m) in thresholds {
        let share = old.iter().filter(|&&s| s >= m).count() as f64 / old.len().max(1) as f64;
        let mut line = stats::quantile(&new, (1.0 - share).clamp(0.0, 1.0))
            .round()
            .max(1.0);
        if line >= previous {
            line = previous - 1.0;
        }
        previous = line;
        lines.push((name, line));
    }
    if lines.iter().any(|l| l.1 < 1.0) {
        lines.clear();
    }
    lines
}

fn train_count(cut: &Cut, set: &Set, k: usize, j: usize) -> usize {
    set.rows
        .iter()
        .filter(|&&i| cut.x[i * k + j] != 0.0)
        .count()
}

fn model_yaml(
    layout: &Layout,
    learned: &Learned,
    outcome: &str,
    horizon: &str,
    note: &str,
) -> String {
    let mut s = String::new();
    s.push_str(
        "# Written by `intent learn`: the chance of the outcome within each horizon, from the\n",
    );
    s.push_str(
        "# rules above (units left after decay; fit rules 1 when they hold). Learn it again\n",
    );
    s.push_str("# rather than editing it by hand.\n");
    s.push_str("model:\n");
    s.push_str(&format!("  outcome: {outcome}\n"));
    s.push_str(&format!("  note: \"{}\"\n", note.replace('"', "'")));
    s.push_str("  horizons:\n");
    let mut horizon_entry = |within: &str, m: &logit::Model, p: &logit::Isotonic| {
        s.push_str(&format!("    - within: {within}\n"));
        s.push_str(&format!(
            "      intercept: {}\n",
            rewrite::number(round6(m.intercept))
        ));
        let knots: Vec<String> = p
            .knots
            .iter()
            .map(|(l, q)| {
                format!(
                    "[{}, {}]",
                    rewrite::number(round6(*l)),
                    rewrite::number(round6(*q))
                )
            })
            .collect();
        s.push_str(&format!(
            "      calibration: {{ knots: [{}] }}\n",
            knots.join(", ")
        ));
        s.push_str("      weights:\n");
        for (j, w) in m.weights.iter().enumerate() {
            if *w != 0.0 && learned.used[j] {
                s.push_str(&format!(
                    "        {}: {}\n",
                    layout.ids[j],
                    rewrite::number(round6(*w))
                ));
            }
        }
    };
    if let (Some(m), Some(p)) = (&learned.short, &learned.platt_short) {
        horizon_entry("7d", m, p);
    }
    horizon_entry(horizon, &learned.model, &learned.platt);
    s
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Runs `intent learn`.
pub fn learn(a: LearnArgs) -> Result<()> {
    let began = Instant::now();
    let (target, horizon) = a.window.parse()?;
    let (scorer, mut loaded, text) = load(&a.input, false)?;
    let layout = Layout::of(scorer.plan());
    let (train, valid) = cuts(&scorer, &mut loaded, &a.window, horizon, false)?;
    let train = train.expect("a training cut");
    let loaded_at = Instant::now();
    let short = 7 * DAY;
    let tset = set_of(&train, target, horizon, short.min(horizon));
    let vset = set_of(&valid, target, horizon, short.min(horizon));
    let positives = tset.labels.iter().filter(|&&y| y).count();
    if positives == 0 || positives == tset.labels.len() {
        bail!(
            "nothing to learn from: {} of {} training profiles converted (outcome `{}` within {} of {}); try another --cutoff, --horizon or --outcome",
            positives,
            tset.labels.len(),
            a.window.outcome,
            a.window.horizon,
            day(train.at)
        );
    }
    let mut learned = fit_all(
        &layout,
        &train,
        &tset,
        &valid,
        &vset,
        a.l2,
        a.keep_leaky,
        a.window.per_profile,
    )?;
    if horizon <= short {
        // The horizon is itself a week or less: no separate 7-day model.
        learned.short = None;
        learned.platt_short = None;
    }
    let rec = recommend(&scorer, &layout, &learned, &train, &tset);
    let mut out = std::io::stdout().lock();
    let when = |c: &Cut| {
        if a.window.per_profile {
            "each profile's moment".to_string()
        } else {
            day(c.at)
        }
    };
    writeln!(
        out,
        "Learned `{}` within {} from {} profiles ({} converted) as of {}; validated on {} profiles ({} converted) as of {}",
        a.window.outcome,
        a.window.horizon,
        tset.rows.len(),
        positives,
        when(&train),
        vset.rows.len(),
        vset.labels.iter().filter(|&&y| y).count(),
        when(&valid),
    )?;
    let mut shown = std::collections::BTreeSet::new();
    for c in learned
        .checks
        .iter()
        .filter(|c| c.leak.is_some() && shown.insert(c.name.clone()))
    {
        writeln!(
            out,
            "  leakage: `{}` {} (AUC {:.3}, present in {} of converted, {} of others){}",
            c.name,
            match c.leak {
                Some(leakage::Leak::PredictsTooWell { .. }) => "predicts too well",
                _ => "is all but absent for profiles that did not convert",
            },
            c.auc,
            pct(c.present_positive),
            pct(c.present_negative),
            if a.keep_leaky {
                ", kept (--keep-leaky)"
            } else {
                ", left out"
            }
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:<8} {:>6} {:>6} {:>9} {:>17}  NOTE",
        "RULE", "KIND", "OLD", "NEW", "WEIGHT", "95% INTERVAL"
    )?;
    for (id, _label, kind, old, new, w, (lo, hi), note) in &rec.rows {
        writeln!(
            out,
            "{:<24} {:<8} {:>6} {:>6} {:>9.4} {:>17}  {}",
            trunc(id, 24),
            kind,
            rewrite::number(*old),
            rewrite::number(*new),
            w,
            format!("{lo:.3}…{hi:.3}"),
            note
        )?;
    }
    writeln!(out)?;
    // The plan ranks by tier first (an override puts someone on top), then score.
    let levels = scorer.plan().levels.len();
    let rank_old: Vec<f64> = vset
        .rows
        .iter()
        .map(|&i| {
            let s = &valid.examples[i].snap;
            (levels.saturating_sub(s.tier as usize)) as f64 * 1e9 + s.score
        })
        .collect();
    let k = layout.len();
    let rank_new: Vec<f64> = vset
        .rows
        .iter()
        .map(|&i| {
            let x = &valid.x[i * k..(i + 1) * k];
            rec.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.2 != "fit")
                .map(|(j, r)| r.4 * x[j])
                .sum()
        })
        .collect();
    writeln!(out, "Validation ({} profiles):", vset.rows.len())?;
    writeln!(
        out,
        "  ROC AUC, current points        {}",
        num(stats::roc_auc(&rank_old, &vset.labels))
    )?;
    writeln!(
        out,
        "  ROC AUC, learned points        {}  (engagement points only, estimated from the features)",
        num(stats::roc_auc(&rank_new, &vset.labels))
    )?;
    writeln!(
        out,
        "  ROC AUC, model probability     {}",
        num(learned.valid_auc)
    )?;
    writeln!(
        out,
        "  PR AUC, model probability      {}",
        num(stats::pr_auc(&learned.valid_p, &vset.labels))
    )?;
    writeln!(out, "  Brier score (calibrated)       {:.4}", learned.brier)?;
    writeln!(
        out,
        "  Reliability:  {:>11} {:>10} {:>10}",
        "PREDICTED", "OBSERVED", "PROFILES"
    )?;
    for b in &learned.bins {
        writeln!(
            out,
            "  {:>4.0}–{:<3.0}%   {:>11} {:>10} {:>10}",
            b.lo * 100.0,
            b.hi * 100.0,
            pct(b.mean_predicted),
            pct(b.observed),
            b.n
        )?;
    }
    if let Some(path) = &a.predictions_out {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        // `logit` is the model's ranking (the printed ROC AUC); `probability` is the plan's
        // calibrated chance (the map fitted on all validation profiles, so it ties some).
        writeln!(f, "profile,split,converted,logit,probability")?;
        for ((&i, y), z) in vset
            .rows
            .iter()
            .zip(&vset.labels)
            .zip(&learned.valid_logits)
        {
            let p = learned.platt.probability(*z);
            writeln!(f, "{},valid,{},{z:.6},{p:.6}", valid.names[i], u8::from(*y))?;
        }
        for (&i, y) in tset.rows.iter().zip(&tset.labels) {
            writeln!(f, "{},train,{},,", train.names[i], u8::from(*y))?;
        }
    }
    if let Some(path) = &a.out {
        let note = format!(
            "outcome {} within {}; trained on {} profiles ({} converted); validation ROC AUC {:.3}, Brier {:.4}",
            a.window.outcome,
            a.window.horizon,
            tset.rows.len(),
            positives,
            learned.valid_auc,
            learned.brier
        );
        let mut changes = rec.changes.clone();
        changes.model = Some(model_yaml(
            &layout,
            &learned,
            target.0.as_str(),
            &a.window.horizon,
            &note,
        ));
        let text = rewrite::rewrite(&text, &changes)
            .map_err(|e| anyhow::anyhow!("writing the learned plan: {e}"))?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        writeln!(
            out,
            "\nWrote {}. The current plan against it, on the validation profiles:",
            path.display()
        )?;
        let ba = backtest_of(&scorer, &valid, &vset, &[100, 1000]);
        print_backtest(&mut out, &a.input.plan.display().to_string(), &ba)?;
        compare(
            &mut out,
            &a.input,
            path,
            &a.window,
            &scorer,
            &valid,
            &[100, 1000],
        )?;
    }
    eprintln!(
        "learned in {:.1} s (history and cuts {:.1} s, fit and report {:.1} s), {} events read, {} profiles at the last cut",
        began.elapsed().as_secs_f64(),
        (loaded_at - began).as_secs_f64(),
        loaded_at.elapsed().as_secs_f64(),
        loaded.decoded(),
        loaded.profiles()
    );
    Ok(())
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Reports

/// `intent report funnel`.
#[derive(Args)]
pub struct FunnelArgs {
    #[command(flatten)]
    input: Input,
    /// Split by channel, location, source or week (`none`: one funnel).
    #[arg(long, default_value = "none")]
    by: String,
    /// Output format: table or json.
    #[arg(long, default_value = "table")]
    format: String,
}

/// Runs `intent report funnel`.
pub fn report_funnel(a: FunnelArgs) -> Result<()> {
    let split = funnel::Split::parse(&a.by).ok_or_else(|| {
        anyhow::anyhow!(
            "--by `{}`: use channel, location, source, week or none",
            a.by
        )
    })?;
    let (scorer, mut loaded, _) = load(&a.input, true)?;
    let now = loaded.max_ts;
    let journeys: Vec<funnel::Journey> = history::journeys(&scorer, &mut loaded, now)
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    let segments = funnel::funnel(&journeys, split);
    let mut out = std::io::stdout().lock();
    if a.format == "json" {
        serde_json::to_writer(&mut out, &segments)?;
        writeln!(out)?;
        return Ok(());
    }
    print_funnel(&mut out, &segments)
}

fn print_funnel(out: &mut impl Write, segments: &[funnel::Segment]) -> Result<()> {
    for seg in segments {
        writeln!(out, "{} — {} won", seg.name, seg.won)?;
        writeln!(
            out,
            "  {:<20} {:>10} {:>10} {:>10} {:>14}",
            "STAGE", "PROFILES", "ANONYMOUS", "FROM PREV", "MEDIAN HOURS"
        )?;
        for s in &seg.steps {
            writeln!(
                out,
                "  {:<20} {:>10} {:>10} {:>10} {:>14}",
                s.label,
                s.profiles,
                s.anonymous,
                s.rate.map_or("".into(), pct),
                s.median_hours.map_or("".into(), |h| format!("{h:.1}"))
            )?;
        }
    }
    Ok(())
}

/// `intent report signals`.
#[derive(Args)]
pub struct SignalsArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    window: Window,
}

struct SignalRow {
    id: String,
    kind: &'static str,
    label: String,
    with: usize,
    appointment: stats::Contrast,
    sale: stats::Contrast,
    lead_days: Option<f64>,
}

fn signal_rows(scorer: &Scorer, cut: &Cut, horizon: i64) -> Vec<SignalRow> {
    let layout = Layout::of(scorer.plan());
    let k = layout.len();
    let appt = Target(intent_core::outcome::OutcomeKind::Appointment);
    let sale = Target(intent_core::outcome::OutcomeKind::Sale);
    let rows_a = eligible(cut, appt);
    let rows_s = eligible(cut, sale);
    (0..k)
        .map(|j| {
            let tally = |rows: &[usize], t: Target| {
                let (mut w, mut wo) = (stats::Rate::default(), stats::Rate::default());
                for &i in rows {
                    let y = cut.examples[i].converted(t, horizon);
                    if cut.x[i * k + j] > 0.0 {
                        w.add(y)
                    } else {
                        wo.add(y)
                    }
                }
                stats::contrast(w, wo)
            };
            let mut leads: Vec<f64> = rows_a
                .iter()
                .filter(|&&i| cut.x[i * k + j] > 0.0)
                .filter_map(|&i| {
                    let e = &cut.examples[i];
                    let t = e.first(appt).filter(|t| *t <= e.at + horizon)?;
                    let from = e.last_award.get(j).copied().filter(|&l| l != Ts::MIN)?;
                    Some((t - from) as f64 / DAY as f64)
                })
                .collect();
            let appointment = tally(&rows_a, appt);
            SignalRow {
                id: layout.ids[j].clone(),
                kind: layout.kind(j),
                label: layout.labels[j].clone(),
                with: appointment.with.n as usize,
                appointment,
                sale: tally(&rows_s, sale),
                lead_days: stats::median(&mut leads),
            }
        })
        .collect()
}

/// Runs `intent report signals`.
pub fn report_signals(a: SignalsArgs) -> Result<()> {
    let (_, horizon) = a.window.parse()?;
    let (scorer, mut loaded, _) = load(&a.input, false)?;
    let at = moment(&a.window.cutoff)?.unwrap_or(loaded.max_ts - horizon);
    let cut = history::cut(&scorer, &mut loaded, at, at + horizon, false, true);
    let rows = signal_rows(&scorer, &cut, horizon);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "What predicts an appointment and a sale within {} of {} ({} profiles)",
        a.window.horizon,
        day(at),
        cut.examples.len()
    )?;
    writeln!(
        out,
        "{:<22} {:<8} {:>8} {:>7} {:>7} {:>6} {:>15} {:>7} {:>7} {:>6}",
        "RULE",
        "KIND",
        "PROFILES",
        "APPT+",
        "APPT−",
        "LIFT",
        "ODDS (95%)",
        "SALE+",
        "SALE−",
        "DAYS"
    )?;
    for r in rows {
        let c = &r.appointment;
        writeln!(
            out,
            "{:<22} {:<8} {:>8} {:>7} {:>7} {:>6.2} {:>15} {:>7} {:>7} {:>6}",
            trunc(&r.id, 22),
            r.kind,
            r.with,
            pct(c.with.rate()),
            pct(c.without.rate()),
            c.lift,
            format!("{:.1} ({:.1}–{:.1})", c.odds_ratio, c.ci_low, c.ci_high),
            pct(r.sale.with.rate()),
            pct(r.sale.without.rate()),
            r.lead_days.map_or("".into(), |d| format!("{d:.1}"))
        )?;
    }
    Ok(())
}

/// `intent report paths`.
#[derive(Args)]
pub struct PathsArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    window: Window,
    /// Show this many paths.
    #[arg(long, default_value_t = 25)]
    top: usize,
    /// Least profiles a path needs.
    #[arg(long, default_value_t = 30)]
    min_profiles: u64,
}

fn path_report(
    scorer: &Scorer,
    loaded: &Loaded,
    cut: &Cut,
    target: Target,
    horizon: i64,
    min: u64,
) -> (paths::PathReport, Vec<String>) {
    let rows = eligible(cut, target);
    let mut acc = paths::Paths::new(paths::PathOptions {
        max_len: 4,
        min_profiles: min,
    });
    for &i in &rows {
        let e = &cut.examples[i];
        acc.add(&e.tokens, e.converted(target, horizon));
    }
    let report = acc.finish();
    let names = report
        .paths
        .iter()
        .map(|p| {
            p.tokens
                .iter()
                .map(|&t| Tokens::name(t, scorer, loaded))
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect();
    (report, names)
}

/// Runs `intent report paths`.
pub fn report_paths(a: PathsArgs) -> Result<()> {
    let (target, horizon) = a.window.parse()?;
    let (scorer, mut loaded, _) = load(&a.input, true)?;
    let at = moment(&a.window.cutoff)?.unwrap_or(loaded.max_ts - horizon);
    let cut = history::cut(&scorer, &mut loaded, at, at + horizon, true, false);
    let (report, names) = path_report(&scorer, &loaded, &cut, target, horizon, a.min_profiles);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Paths before {} and `{}` within {}: {} profiles, {} converted ({})",
        day(at),
        a.window.outcome,
        a.window.horizon,
        report.base.n,
        report.base.positives,
        pct(report.base.rate())
    )?;
    let mut order: Vec<usize> = (0..report.paths.len())
        .filter(|&i| report.paths[i].tokens.len() > 1)
        .collect();
    order.sort_by(|&x, &y| {
        report.paths[y]
            .contrast
            .lift
            .total_cmp(&report.paths[x].contrast.lift)
    });
    let lift_of = |t: &[u32]| {
        report
            .paths
            .iter()
            .find(|p| p.tokens == t)
            .map(|p| p.contrast.lift)
    };
    writeln!(
        out,
        "{:<58} {:>8} {:>7} {:>6} {:>11}",
        "PATH (highest lift first)", "PROFILES", "RATE", "LIFT", "LAST ALONE"
    )?;
    for &i in order.iter().take(a.top) {
        let p = &report.paths[i];
        let last = lift_of(&p.tokens[p.tokens.len() - 1..]);
        writeln!(
            out,
            "{:<58} {:>8} {:>7} {:>6.2} {:>11}",
            trunc(&names[i], 58),
            p.contrast.with.n,
            pct(p.contrast.with.rate()),
            p.contrast.lift,
            last.map_or("".into(), |l| format!("{l:.2}"))
        )?;
    }
    Ok(())
}

/// `intent report journeys`.
#[derive(Args)]
pub struct JourneysArgs {
    #[command(flatten)]
    input: Input,
    /// Recent won deals (sales) to show.
    #[arg(long, default_value_t = 10)]
    won: usize,
    /// Recent lost leads to show.
    #[arg(long, default_value_t = 10)]
    lost: usize,
}

/// Runs `intent report journeys`.
pub fn report_journeys(a: JourneysArgs) -> Result<()> {
    use intent_core::outcome::OutcomeKind;
    let (scorer, mut loaded, _) = load(&a.input, true)?;
    let now = loaded.max_ts;
    loaded.resolve(now);
    let mut class = intent_core::score::Classified::default();
    let mut ends: Vec<(Ts, OutcomeKind, usize)> = Vec::new();
    for p in 0..loaded.profiles() {
        for &i in loaded.records(p) {
            let ts = loaded.class(i, &mut class);
            if let Some(o) = class.outcome
                && matches!(o.kind, OutcomeKind::Sale | OutcomeKind::Lost)
            {
                ends.push((ts, o.kind, p));
                break;
            }
        }
    }
    ends.sort_by_key(|e| std::cmp::Reverse(e.0));
    let pick = |kind: OutcomeKind, n: usize| -> Vec<(Ts, usize)> {
        ends.iter()
            .filter(|e| e.1 == kind)
            .take(n)
            .map(|e| (e.0, e.2))
            .collect()
    };
    let mut story = |p: usize, end: Ts| -> Vec<String> {
        let plan = scorer.plan();
        let mut lines = vec![format!(
            "{} · {}",
            trunc(&loaded.profile_name(p), 30),
            day(end)
        )];
        let mut steps: Vec<String> = Vec::new();
        let mut first = None;
        for &i in loaded.records(p) {
            let ts = loaded.class(i, &mut class);
            first.get_or_insert(ts);
            let m = loaded.marks(i);
            let what: Vec<String> = class
                .hits
                .iter()
                .map(|h| plan.signals[h.signal as usize].id.clone())
                .chain(class.outcome.map(|o| format!("[{}]", o.kind.as_str())))
                .chain(
                    (0..plan.overrides.len())
                        .filter(|o| class.overrides >> o & 1 == 1)
                        .map(|o| format!("{}!", plan.overrides[o].id)),
                )
                .collect();
            if what.is_empty() {
                continue;
            }
            let step = format!(
                "{} {:<8} {}",
                &format_timestamp(ts)[5..10],
                trunc(loaded.label(m.chan), 8),
                what.join(",")
            );
            if steps.last() != Some(&step) {
                steps.push(step);
            }
        }
        let days = first.map_or(0.0, |f| (end - f) as f64 / DAY as f64);
        lines[0].push_str(&format!(" · {days:.0} days, {} steps", steps.len()));
        if steps.len() > 14 {
            let cut = steps.len() - 13;
            steps.drain(..cut);
            lines.push("  …".into());
        }
        lines.extend(steps.into_iter().map(|s| format!("  {s}")));
        lines
    };
    let won: Vec<Vec<String>> = pick(OutcomeKind::Sale, a.won)
        .into_iter()
        .map(|(t, p)| story(p, t))
        .collect();
    let lost: Vec<Vec<String>> = pick(OutcomeKind::Lost, a.lost)
        .into_iter()
        .map(|(t, p)| story(p, t))
        .collect();
    let mut out = std::io::stdout().lock();
    let won_head = format!("WON ({})", won.len());
    writeln!(out, "{won_head:<49} │ LOST ({})", lost.len())?;
    for r in 0..won.len().max(lost.len()) {
        let empty = Vec::new();
        let (l, rr) = (won.get(r).unwrap_or(&empty), lost.get(r).unwrap_or(&empty));
        for line in 0..l.len().max(rr.len()) {
            writeln!(
                out,
                "{:<49} │ {}",
                trunc(l.get(line).map_or("", |s| s), 49),
                trunc(rr.get(line).map_or("", |s| s), 49)
            )?;
        }
        writeln!(out, "{:<49} │", "")?;
    }
    Ok(())
}

/// `intent report weekly`.
#[derive(Args)]
pub struct WeeklyArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    window: Window,
    /// Write the page here.
    #[arg(long, default_value = "review.html")]
    out: PathBuf,
    /// The page's language: en or pl.
    #[arg(long, default_value = "en")]
    lang: String,
    /// A running server to read SLA compliance from (tasks live in its store).
    #[arg(long, env = "INTENT_URL")]
    url: Option<String>,
    /// An admin token for `--url`.
    #[arg(long, env = "INTENT_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Runs `intent report weekly`.
pub fn report_weekly(a: WeeklyArgs) -> Result<()> {
    use intent_learn::html;
    let began = Instant::now();
    let lang = html::Lang::parse(&a.lang)
        .ok_or_else(|| anyhow::anyhow!("--lang `{}`: use en or pl", a.lang))?;
    let (scorer, mut loaded, text) = load(&a.input, true)?;
    // SLA compliance: tasks live in the server's store.
    let sla = match (&a.url, &a.token) {
        (Some(url), Some(token)) => Some(crate::desk::sla_groups(url, token).map(|rows| {
            rows.into_iter()
                .filter(|r| r.1 > 0)
                .map(|(group, tasks, met, median_minutes)| html::SlaRow {
                    group,
                    tasks,
                    met,
                    median_minutes,
                })
                .collect()
        })),
        _ => None,
    };
    let mut weekly = weekly(&scorer, &mut loaded, &text, &a.window, sla)?;
    if a.url.is_none() || a.token.is_none() {
        weekly.en.notes.push(
            "SLA compliance comes from the running service: give --url and --token (or INTENT_URL and INTENT_TOKEN)."
                .into(),
        );
        weekly.pl.notes.push(
            "Terminowość kontaktu (SLA) pochodzi z działającej usługi: podaj --url i --token (albo INTENT_URL i INTENT_TOKEN)."
                .into(),
        );
    }
    let review = match lang {
        html::Lang::En => &weekly.en,
        html::Lang::Pl => &weekly.pl,
    };
    std::fs::write(&a.out, html::render_in(review, lang))
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "wrote {} in {:.1} s",
        a.out.display(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The weekly review of a history, in English and Polish (the figures are computed once), and
/// the plan the learner recommends (the plan with learned points and a model), when there were
/// outcomes enough to learn from.
pub struct Weekly {
    /// The review in English.
    pub en: intent_learn::html::Review,
    /// The same in Polish.
    pub pl: intent_learn::html::Review,
    /// The recommended plan's text.
    pub recommended: Option<String>,
}

/// Computes the weekly review: the funnel, conversion by tier, signal and path lift, the score
/// distribution, calibration of a model fitted on the history, and the recommended changes.
/// `sla` is the follow-up SLA compliance when the caller has it (an error is shown as a note).
pub fn weekly(
    scorer: &Scorer,
    loaded: &mut Loaded,
    plan_text: &str,
    window: &Window,
    sla: Option<Result<Vec<intent_learn::html::SlaRow>>>,
) -> Result<Weekly> {
    use intent_learn::html::{self, Lang};
    let (target, horizon) = window.parse()?;
    let end = loaded.max_ts;
    let plan = scorer.plan();
    let layout = Layout::of(plan);
    let journeys: Vec<funnel::Journey> = history::journeys(scorer, loaded, end)
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    let all = funnel::funnel(&journeys, funnel::Split::None);
    let weeks = funnel::funnel(&journeys, funnel::Split::Week);
    let (train, valid) = cuts(scorer, loaded, window, horizon, true)?;
    let train = train.expect("a training cut");
    let tset = set_of(&train, target, horizon, horizon.min(7 * DAY));
    let vset = set_of(&valid, target, horizon, horizon.min(7 * DAY));
    let bt = backtest_of(scorer, &valid, &vset, &[100]);
    let rows = signal_rows(scorer, &valid, horizon);
    let (preport, pnames) = path_report(scorer, loaded, &valid, target, horizon, 30);
    let mut porder: Vec<usize> = (0..preport.paths.len())
        .filter(|&i| preport.paths[i].tokens.len() > 1)
        .collect();
    porder.sort_by(|&x, &y| {
        preport.paths[y]
            .contrast
            .with
            .n
            .cmp(&preport.paths[x].contrast.with.n)
    });
    // Score distribution at the validation cutoff, with the tier lines.
    let mut scores: Vec<f64> = valid.examples.iter().map(|e| e.snap.score).collect();
    scores.sort_by(f64::total_cmp);
    let top = stats::quantile(&scores, 0.99).max(1.0);
    let width = (top / 20.0).ceil().max(1.0);
    let mut bins = [0u64; 21];
    for s in &scores {
        bins[((s.max(0.0) / width) as usize).min(20)] += 1;
    }
    let learned = fit_all(
        &layout,
        &train,
        &tset,
        &valid,
        &vset,
        1.0,
        false,
        window.per_profile,
    );
    let rec = learned
        .as_ref()
        .ok()
        .map(|l| recommend(scorer, &layout, l, &train, &tset));
    let recommended = match (&learned, &rec) {
        (Ok(l), Some(rec)) => {
            let note = format!(
                "outcome {} within {}; trained on {} profiles; validation ROC AUC {:.3}, Brier {:.4}",
                window.outcome,
                window.horizon,
                tset.rows.len(),
                l.valid_auc,
                l.brier
            );
            let mut changes = rec.changes.clone();
            changes.model = Some(model_yaml(
                &layout,
                l,
                target.0.as_str(),
                &window.horizon,
                &note,
            ));
            rewrite::rewrite(plan_text, &changes).ok()
        }
        _ => None,
    };
    let sla = sla.map(|r| r.map_err(|e| format!("{e:#}")));
    let make = |lang: Lang| -> html::Review {
        let pl = lang == Lang::Pl;
        let tr =
            |en: &str, pl_text: &str| -> String { if pl { pl_text.into() } else { en.into() } };
        let mut review = html::Review {
            title: if pl {
                format!("Przegląd tygodnia — {}", plan.name)
            } else {
                format!("Weekly review — {}", plan.name)
            },
            period: if pl {
                format!(
                    "Tydzień {} (historia do {})",
                    funnel::iso_week(end),
                    day(end)
                )
            } else {
                format!("Week {} (history to {})", funnel::iso_week(end), day(end))
            },
            generated: if pl {
                format!(
                    "Z {} zdarzeń i {} klientów; wynik `{}` w ciągu {}",
                    loaded.unique(),
                    loaded.profiles(),
                    window.outcome,
                    window.horizon
                )
            } else {
                format!(
                    "From {} events and {} profiles; outcome `{}` within {}",
                    loaded.unique(),
                    loaded.profiles(),
                    window.outcome,
                    window.horizon
                )
            },
            ..html::Review::default()
        };
        if let Some(seg) = all.first() {
            review.funnel = seg
                .steps
                .iter()
                .map(|s| html::FunnelStep {
                    stage: s.stage.into(),
                    label: if pl {
                        stage_pl(s.stage).into()
                    } else {
                        s.label.into()
                    },
                    profiles: s.profiles,
                    anonymous: s.anonymous,
                    rate_from_previous: s.rate,
                    median_hours_from_previous: s.median_hours,
                })
                .collect();
            review.headline.push(html::Figure {
                label: tr("Engaged profiles", "Zainteresowani klienci"),
                value: seg.steps[0].profiles.to_string(),
                hint: tr("reached the first stage", "doszli do pierwszego etapu"),
            });
            review.headline.push(html::Figure {
                label: tr("Won", "Sprzedaż"),
                value: seg.won.to_string(),
                hint: tr("profiles with a sale", "klienci, którzy kupili"),
            });
        }
        review.funnel_weeks = html::FunnelWeeks {
            stages: funnel::STAGES
                .iter()
                .zip(funnel::STAGE_LABELS)
                .map(|(id, en)| {
                    if pl {
                        stage_pl(id).to_string()
                    } else {
                        en.to_string()
                    }
                })
                .collect(),
            weeks: weeks
                .iter()
                .rev()
                .take(8)
                .rev()
                .map(|s| (s.name.clone(), s.steps.iter().map(|x| x.profiles).collect()))
                .collect(),
        };
        review.tiers = bt
            .tiers
            .iter()
            .map(|(t, r)| html::TierRow {
                tier: t.clone(),
                profiles: r.n,
                converted: r.positives,
                rate: r.rate(),
            })
            .collect();
        review.headline.push(html::Figure {
            label: tr("ROC AUC of the plan", "ROC AUC planu"),
            value: format!("{:.3}", bt.roc_auc),
            hint: if pl {
                format!(
                    "jak plan układa `{}` w ciągu {}",
                    window.outcome, window.horizon
                )
            } else {
                format!("ranking `{}` within {}", window.outcome, window.horizon)
            },
        });
        review.signals = rows
            .iter()
            .filter(|r| r.with > 0)
            .map(|r| {
                let c = if target.0 == intent_core::outcome::OutcomeKind::Sale {
                    &r.sale
                } else {
                    &r.appointment
                };
                html::LiftRow {
                    label: r.label.clone(),
                    kind: r.kind.into(),
                    profiles: r.with as u64,
                    rate: c.with.rate(),
                    lift: c.lift,
                    odds_ratio: c.odds_ratio,
                    ci_low: c.ci_low,
                    ci_high: c.ci_high,
                }
            })
            .collect();
        review.paths = porder
            .iter()
            .take(15)
            .map(|&i| {
                let c = &preport.paths[i].contrast;
                html::LiftRow {
                    label: pnames[i].clone(),
                    kind: "path".into(),
                    profiles: c.with.n,
                    rate: c.with.rate(),
                    lift: c.lift,
                    odds_ratio: c.odds_ratio,
                    ci_low: c.ci_low,
                    ci_high: c.ci_high,
                }
            })
            .collect();
        review.scores = html::Histogram {
            bins: bins
                .iter()
                .enumerate()
                .map(|(i, n)| (i as f64 * width, (i + 1) as f64 * width, *n))
                .collect(),
            lines: plan
                .levels
                .iter()
                .filter_map(|l| l.min_score.map(|m| (l.name.clone(), m)))
                .collect(),
        };
        match (&learned, &rec) {
            (Ok(learned), Some(rec)) => {
                review.calibration = html::Calibration {
                    outcome: window.outcome.clone(),
                    bins: learned
                        .bins
                        .iter()
                        .map(|b| html::CalibrationBin {
                            predicted: b.mean_predicted,
                            observed: b.observed,
                            n: b.n,
                        })
                        .collect(),
                    brier: Some(learned.brier),
                    auc: Some(learned.valid_auc),
                };
                review.changes = rec
                    .rows
                    .iter()
                    .filter(|r| r.3 != r.4 || !r.7.is_empty())
                    .map(|r| html::PlanChange {
                        rule: r.0.clone(),
                        label: r.1.clone(),
                        old: r.3,
                        new: r.4,
                        note: r.7.clone(),
                    })
                    .collect();
                let mut shown = std::collections::BTreeSet::new();
                for c in learned
                    .checks
                    .iter()
                    .filter(|c| c.leak.is_some() && shown.insert(c.name.clone()))
                {
                    review.notes.push(if pl {
                        format!(
                            "`{}` pominięte w modelu: wygląda na wypełniane po fakcie (AUC {:.2})",
                            c.name, c.auc
                        )
                    } else {
                        format!(
                            "`{}` left out of the model: it looks filled in after the outcome (AUC {:.2})",
                            c.name, c.auc
                        )
                    });
                }
            }
            (Err(e), _) => review.notes.push(if pl {
                format!("W tym tygodniu bez modelu: {e:#}")
            } else {
                format!("No model this week: {e:#}")
            }),
            _ => {}
        }
        match &sla {
            Some(Ok(rows)) => review.sla = rows.clone(),
            Some(Err(e)) => review.notes.push(if pl {
                format!("Nie pokazano terminowości (SLA): {e}")
            } else {
                format!("SLA compliance not shown: {e}")
            }),
            None => {}
        }
        review
    };
    Ok(Weekly {
        en: make(Lang::En),
        pl: make(Lang::Pl),
        recommended,
    })
}

/// A funnel stage's name in Polish.
fn stage_pl(stage: &str) -> &'static str {
    match stage {
        "engaged" => "Zainteresowani",
        "cta" => "Kliknęli CTA",
        "lead" => "Lead (znany)",
        "appointment" => "Wizyta",
        _ => "Wynik",
    }
}
