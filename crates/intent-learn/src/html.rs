//! The weekly review: one self-contained HTML page with inline SVG charts.
//!
//! `intent report weekly --out review.html` fills a [`Review`] and calls [`render`]. The page is
//! for the Monday meeting of marketing and sales: it needs no JavaScript, fonts, images or
//! network (it must open offline on a showroom laptop) and prints on A4.
//!
//! What this module keeps to:
//! - it only renders: every figure is computed by the caller and arrives in [`Review`];
//! - all text from data is escaped, because labels come from users' plan files;
//! - every number drawn in a chart is also written as text (a label, a `<title>` tooltip or a
//!   table), so the page is accessible and greppable;
//! - non-finite numbers are shown as `n/a` or `∞` and never reach SVG coordinates.
//!
//! The charts are hand-written SVG built with a few helpers (`Svg`, `Scale`, the tick
//! functions); each section is one function, in page order.

use std::fmt::Write as _;

/// Appends formatted text to a `String`; writing to a `String` cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// Everything the weekly review page shows. The page computes nothing: it renders this.
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// Page title, e.g. "Weekly review — showroom".
    pub title: String,
    /// The period covered, e.g. "Week 2026-W10 (2 Mar – 8 Mar 2026)".
    pub period: String,
    /// Provenance line, e.g. "Generated 2026-03-09 06:00 UTC from 11,084,512 events".
    pub generated: String,
    /// Key figures, shown as cards at the top.
    pub headline: Vec<Figure>,
    /// Funnel stages in order: engaged → CTA → lead → appointment → outcome.
    pub funnel: Vec<FunnelStep>,
    /// Stage counts per week (the last ~8 weeks).
    pub funnel_weeks: FunnelWeeks,
    /// Conversion per tier.
    pub tiers: Vec<TierRow>,
    /// Signal, sequence and fit-rule lift (odds ratio with confidence interval).
    pub signals: Vec<LiftRow>,
    /// Path lift.
    pub paths: Vec<LiftRow>,
    /// Predicted against observed conversion.
    pub calibration: Calibration,
    /// Score distribution with tier threshold lines.
    pub scores: Histogram,
    /// Follow-up SLA compliance per group; empty when no tasks exist yet.
    pub sla: Vec<SlaRow>,
    /// Recommended plan changes.
    pub changes: Vec<PlanChange>,
    /// Warnings, e.g. "Field `Tags` left out: it predicts too well (AUC 0.96)".
    pub notes: Vec<String>,
}

/// A key figure shown as a card.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// What is counted, e.g. "Qualified leads".
    pub label: String,
    /// The value, already formatted, e.g. "312".
    pub value: String,
    /// Context under the value, e.g. "▲ 8% vs last week".
    pub hint: String,
}

/// One funnel stage.
#[derive(Debug, Clone, Default)]
pub struct FunnelStep {
    /// Stage id, e.g. "appointment".
    pub stage: String,
    /// Stage name for people, e.g. "Appointment booked".
    pub label: String,
    /// Profiles that reached the stage, known and anonymous together.
    pub profiles: u64,
    /// How many of `profiles` are still anonymous.
    pub anonymous: u64,
    /// Share (0–1) of the previous stage's profiles that reached this one; `None` for the first.
    pub rate_from_previous: Option<f64>,
    /// Median hours from the previous stage to this one.
    pub median_hours_from_previous: Option<f64>,
}

/// Funnel stage counts per week.
#[derive(Debug, Clone, Default)]
pub struct FunnelWeeks {
    /// Stage names, in funnel order.
    pub stages: Vec<String>,
    /// Oldest week first: the week's label and one count per stage, in `stages` order.
    pub weeks: Vec<(String, Vec<u64>)>,
}

/// Conversion of one tier.
#[derive(Debug, Clone, Default)]
pub struct TierRow {
    /// Tier name, e.g. "hot".
    pub tier: String,
    /// Profiles in the tier.
    pub profiles: u64,
    /// Profiles of the tier that converted.
    pub converted: u64,
    /// Conversion rate, 0–1.
    pub rate: f64,
}

/// How strongly one signal, sequence, fit rule or path goes with conversion.
#[derive(Debug, Clone, Default)]
pub struct LiftRow {
    /// What was seen, e.g. "Used finance calculator" or "Model page → Test drive form".
    pub label: String,
    /// What kind of thing it is, e.g. "signal", "sequence", "fit", "path".
    pub kind: String,
    /// Profiles that showed it.
    pub profiles: u64,
    /// Conversion rate of those profiles, 0–1.
    pub rate: f64,
    /// Their rate divided by the base rate.
    pub lift: f64,
    /// Odds ratio against profiles without it (may be infinite).
    pub odds_ratio: f64,
    /// Lower end of the 95% confidence interval of the odds ratio.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval of the odds ratio (may be infinite).
    pub ci_high: f64,
}

/// Predicted against observed conversion of the current model.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    /// The outcome predicted, e.g. "appointment".
    pub outcome: String,
    /// Bins of profiles with similar predicted chances; empty when there is no model yet.
    pub bins: Vec<CalibrationBin>,
    /// Brier score (lower is better).
    pub brier: Option<f64>,
    /// ROC AUC (0.5 is chance, 1 is perfect).
    pub auc: Option<f64>,
}

/// One calibration bin.
#[derive(Debug, Clone, Default)]
pub struct CalibrationBin {
    /// Mean predicted probability, 0–1.
    pub predicted: f64,
    /// Observed conversion rate, 0–1.
    pub observed: f64,
    /// Profiles in the bin.
    pub n: u64,
}

/// Distribution of current scores.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Bins as (from, to, profiles), in score order.
    pub bins: Vec<(f64, f64, u64)>,
    /// Tier thresholds as (tier name, lowest score of the tier).
    pub lines: Vec<(String, f64)>,
}

/// Follow-up SLA compliance of one group of tasks.
#[derive(Debug, Clone, Default)]
pub struct SlaRow {
    /// Group name, e.g. "Hot leads (15 min)".
    pub group: String,
    /// Tasks due in the period.
    pub tasks: u64,
    /// Tasks done within the SLA.
    pub met: u64,
    /// Median minutes to first response.
    pub median_minutes: Option<f64>,
}

/// A recommended change to a plan rule's points.
#[derive(Debug, Clone, Default)]
pub struct PlanChange {
    /// Rule id in the plan file.
    pub rule: String,
    /// What the rule scores, for people.
    pub label: String,
    /// Points now.
    pub old: f64,
    /// Points proposed.
    pub new: f64,
    /// Why, e.g. "odds ratio 3.1 (2.4–4.0)".
    pub note: String,
}

/// Renders the review as one self-contained HTML page (inline CSS and SVG, no scripts).
pub fn render(review: &Review) -> String {
    let mut out = String::with_capacity(96 * 1024);
    let title = if review.title.trim().is_empty() {
        "Weekly review"
    } else {
        review.title.as_str()
    };
    let doc_title = if review.period.is_empty() {
        esc(title)
    } else {
        format!("{} · {}", esc(title), esc(&review.period))
    };
    w!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{doc_title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
    );
    header(&mut out, review, title);
    headline_section(&mut out, &review.headline);
    funnel_section(&mut out, &review.funnel);
    funnel_weeks_section(&mut out, &review.funnel_weeks);
    tier_section(&mut out, &review.tiers);
    forest_section(
        &mut out,
        ("signals", "What predicts"),
        "Each row is a signal, sequence or fit rule. The dot shows how much more likely people \
         with it are to convert than people without it (odds ratio; 1 = no difference, 2 = twice \
         the odds), the whisker how sure we are. Grey rows marked “not clear” could be chance.",
        &review.signals,
        "Not enough outcomes yet to say which signals predict conversion.",
    );
    forest_section(
        &mut out,
        ("paths", "Paths"),
        "The most common orders in which people moved through the site and showroom, read like \
         the chart above: right of the line means people on that path convert more often.",
        &review.paths,
        "No paths with enough profiles yet.",
    );
    calibration_section(&mut out, &review.calibration);
    score_section(&mut out, &review.scores);
    sla_section(&mut out, &review.sla);
    changes_section(&mut out, &review.changes);
    notes_section(&mut out, &review.notes);
    w!(
        out,
        "<footer>Intent Engine · weekly review{}</footer>\n</main>\n</body>\n</html>\n",
        if review.generated.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(&review.generated))
        }
    );
    out
}

const CSS: &str = "
:root{--accent:#1d4ed8;--accent-soft:#bfd0f5;--ink:#111827;--muted:#5b6472;--line:#e3e6eb;
--zebra:#f5f7fa;--good:#15803d;--bad:#b91c1c;--grey:#9aa3af}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#f3f4f6;color:var(--ink);line-height:1.45;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 16px 40px}
header{margin:0 0 8px}
.kicker{margin:0;color:var(--accent);font-weight:600;font-size:13px;letter-spacing:.04em;text-transform:uppercase}
h1{font-size:28px;margin:2px 0 2px}
.period{font-size:17px;margin:0}
.generated{color:var(--muted);font-size:13px;margin:2px 0 0}
nav{font-size:13px;margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px}
nav a{color:var(--accent);text-decoration:none}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 22px 20px;margin:16px 0}
h2{font-size:20px;margin:0 0 4px}
.how{color:var(--muted);margin:0 0 14px;font-size:14px;max-width:820px}
.empty{margin:8px 0;padding:14px 16px;background:var(--zebra);border-radius:8px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{border:1px solid var(--line);border-top:4px solid var(--accent);border-radius:8px;padding:10px 14px 12px}
.card .label{font-size:13px;color:var(--muted)}
.card .value{font-size:30px;font-weight:700;line-height:1.2;font-variant-numeric:tabular-nums}
.card .hint{font-size:12.5px;color:var(--muted)}
.legend{display:flex;gap:18px;font-size:13px;color:var(--muted);margin:0 0 6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.sw.b{background:var(--accent)}.sw.b2{background:var(--accent-soft)}
.chart{overflow-x:auto}
.chart svg{display:block;width:100%;height:auto;min-width:700px}
svg{font-family:inherit}
svg text{font-size:13px;fill:#1f2937}
svg text.h{font-weight:600}
svg text.s{font-size:11px;fill:var(--muted)}
svg text.big{font-size:15px;font-weight:700}
.b{fill:var(--accent)}.b2{fill:var(--accent-soft)}.track{fill:#eef1f5}.zebra{fill:var(--zebra)}
.grid{stroke:#e9ecf0;stroke-width:1}.axis{stroke:#9aa3af;stroke-width:1}
.ref{stroke:#374151;stroke-width:1.2;stroke-dasharray:5 4}
.tier{stroke:#b45309;stroke-width:1.5;stroke-dasharray:6 4}svg text.tl{fill:#92400e;font-weight:600;font-size:12px}
.wh{stroke:var(--accent);stroke-width:2}.pt{fill:var(--accent)}.dot{fill:var(--accent);fill-opacity:.55;stroke:var(--accent)}
.nc .wh{stroke:var(--grey)}.nc .pt{fill:var(--grey)}.nc text{fill:var(--grey)}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px;margin:0 0 14px}
.panel{border:1px solid var(--line);border-radius:8px;padding:8px 10px 6px}
.panel svg{display:block;width:100%;height:auto}
.ph{display:flex;justify-content:space-between;align-items:baseline;gap:8px;font-size:13px}
.ph .v{font-size:18px;font-weight:700}
.chg{font-size:12.5px;min-height:18px}
.up{color:var(--good)}.down{color:var(--bad)}.flat{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.compact{font-size:12.5px}table.compact td,table.compact th{padding:3px 8px}
.tablewrap{overflow-x:auto}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:var(--zebra);padding:1px 5px;border-radius:4px}
.split{display:grid;grid-template-columns:minmax(0,460px) minmax(0,1fr);gap:28px;align-items:start}
.split .chart svg{min-width:0}
.mini{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:0 0 12px}
.mini div{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.mini .value{font-size:24px;font-weight:700;display:block}
.mini .label,.mini .hint{font-size:12.5px;color:var(--muted);display:block}
.below{font-size:13px;color:var(--muted);margin:8px 0 0}
.notes{margin:0;padding-left:20px}.notes li{margin:4px 0}
footer{color:var(--muted);font-size:12px;margin:18px 0 0;text-align:center}
@media (max-width:700px){main{padding:16px 8px}section{padding:14px 12px}h1{font-size:22px}
.split{grid-template-columns:1fr}.card .value{font-size:24px}}
@page{size:A4 landscape;margin:12mm}
@media print{body{background:#fff}main{max-width:none;padding:0}nav{display:none}
h1{font-size:22px}.how{max-width:none}.card .value{font-size:24px}
section{border:none;border-radius:0;padding:0;margin:0 0 5mm;break-before:page;break-inside:avoid}
#glance,#funnel,#changes,#notes{break-before:auto}.chart{overflow:visible}.chart svg{min-width:0}
tr,.card,.panel{break-inside:avoid}}
";

// ---------------------------------------------------------------------------------------------
// Sections, in page order.

fn header(out: &mut String, review: &Review, title: &str) {
    out.push_str("<header>\n<p class=\"kicker\">Intent Engine · weekly review</p>\n");
    w!(out, "<h1>{}</h1>\n", esc(title));
    if !review.period.is_empty() {
        w!(out, "<p class=\"period\">{}</p>\n", esc(&review.period));
    }
    if !review.generated.is_empty() {
        w!(
            out,
            "<p class=\"generated\">{}</p>\n",
            esc(&review.generated)
        );
    }
    out.push_str("<nav>");
    for (id, name) in [
        ("funnel", "Funnel"),
        ("funnel-weeks", "By week"),
        ("tiers", "Tiers"),
        ("signals", "What predicts"),
        ("paths", "Paths"),
        ("calibration", "Calibration"),
        ("scores", "Scores"),
        ("sla", "SLA"),
        ("changes", "Plan changes"),
        ("notes", "Notes"),
    ] {
        w!(out, "<a href=\"#{id}\">{name}</a>");
    }
    out.push_str("</nav>\n</header>\n");
}

/// Opens a section with its heading and its how-to-read sentence, lets `body` fill it, closes it.
fn section(out: &mut String, id: &str, title: &str, how: &str, body: impl FnOnce(&mut String)) {
    w!(
        out,
        "<section id=\"{id}\">\n<h2>{}</h2>\n<p class=\"how\">{}</p>\n",
        esc(title),
        esc(how)
    );
    body(out);
    out.push_str("</section>\n");
}

fn empty(out: &mut String, text: &str) {
    w!(out, "<p class=\"empty\">{}</p>\n", esc(text));
}

fn chart(out: &mut String, svg: String) {
    w!(out, "<div class=\"chart\">{svg}</div>\n");
}

fn headline_section(out: &mut String, figures: &[Figure]) {
    let how = "The week's key figures; the line under each number says what it is compared with.";
    section(out, "glance", "This week at a glance", how, |out| {
        if figures.is_empty() {
            return empty(out, "No key figures this week.");
        }
        out.push_str("<div class=\"cards\">\n");
        for f in figures {
            w!(
                out,
                "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div>\
                 <div class=\"hint\">{}</div></div>\n",
                esc(&f.label),
                esc(&f.value),
                esc(&f.hint)
            );
        }
        out.push_str("</div>\n");
    });
}

fn funnel_section(out: &mut String, steps: &[FunnelStep]) {
    let how = "How many people reached each stage this period. The dark part of a bar is known \
               contacts, the light part anonymous visitors. On the right: the share of the \
               previous stage that got this far, and the typical (median) time it took.";
    section(out, "funnel", "Funnel", how, |out| {
        if steps.is_empty() {
            return empty(out, "No funnel data for this period.");
        }
        out.push_str(
            "<div class=\"legend\"><span><i class=\"sw b\"></i>known contacts</span>\
             <span><i class=\"sw b2\"></i>anonymous</span></div>\n",
        );
        chart(out, funnel_chart(steps));
    });
}

fn funnel_chart(steps: &[FunnelStep]) -> String {
    const ROW: f64 = 52.0;
    const X0: f64 = 190.0;
    const X1: f64 = 600.0;
    const RIGHT: f64 = 730.0;
    let max = steps.iter().map(|s| s.profiles).max().unwrap_or(0).max(1);
    let x = Scale::linear(0.0, max as f64, X0, X1);
    let mut svg = Svg::new(
        1000.0,
        ROW * steps.len() as f64 + 6.0,
        "Funnel: people per stage",
    );
    for (i, s) in steps.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let anon = s.anonymous.min(s.profiles);
        let known = s.profiles - anon;
        let rate = s.rate_from_previous.map(pct);
        let median = s.median_hours_from_previous.map(duration_hours);
        let anon_share = (s.profiles > 0).then(|| pct(anon as f64 / s.profiles as f64));

        let mut tip = format!(
            "{}: {} people ({} known, {} anonymous)",
            s.label,
            int(s.profiles),
            int(known),
            int(anon)
        );
        if let Some(r) = &rate {
            w!(tip, "; {r} of the previous stage");
        }
        if let Some(m) = &median {
            w!(tip, "; median {m} after the previous stage");
        }
        svg.group("", &tip);
        svg.text(0.0, y + 20.0, START, "h", &clip(&s.label, 24));
        svg.text(0.0, y + 36.0, START, "s", &clip(&s.stage, 30));
        svg.rect(X0, y + 8.0, x.map(known as f64) - X0, 30.0, "b", "");
        let xk = x.map(known as f64);
        svg.rect(xk, y + 8.0, x.map(s.profiles as f64) - xk, 30.0, "b2", "");
        let end = x.map(s.profiles as f64);
        svg.text(end + 8.0, y + 28.0, START, "big", &int(s.profiles));

        let first = match (&rate, i) {
            (Some(r), _) => format!("{r} of previous stage"),
            (None, 0) => "first stage".to_string(),
            (None, _) => "share of previous stage n/a".to_string(),
        };
        svg.text(RIGHT, y + 20.0, START, "h", &first);
        let mut second = Vec::new();
        if let Some(m) = median {
            second.push(format!("median {m}"));
        }
        match anon_share {
            Some(a) if anon > 0 => second.push(format!("{a} anonymous")),
            Some(_) => second.push("all known contacts".to_string()),
            None => {}
        }
        svg.text(RIGHT, y + 36.0, START, "s", &second.join(" · "));
        svg.end_group();
    }
    svg.finish()
}

fn funnel_weeks_section(out: &mut String, fw: &FunnelWeeks) {
    let how = "One small chart per stage, one bar per week; the dark bar is the latest week. \
               A stage that falls while the stages before it hold steady is where people get lost.";
    section(out, "funnel-weeks", "Funnel by week", how, |out| {
        if fw.stages.is_empty() || fw.weeks.is_empty() {
            return empty(out, "No weekly history yet.");
        }
        out.push_str("<div class=\"multiples\">\n");
        for (i, stage) in fw.stages.iter().enumerate() {
            let values: Vec<(&str, Option<u64>)> = fw
                .weeks
                .iter()
                .map(|(week, counts)| (week.as_str(), counts.get(i).copied()))
                .collect();
            let last = values.last().and_then(|v| v.1);
            let prev = values.len().checked_sub(2).and_then(|j| values[j].1);
            let change = match (last, prev) {
                (Some(l), Some(p)) if p > 0 => {
                    let c = (l as f64 - p as f64) / p as f64;
                    let (class, arrow) = if c > 0.0005 {
                        ("up", "▲")
                    } else if c < -0.0005 {
                        ("down", "▼")
                    } else {
                        ("flat", "=")
                    };
                    format!(
                        "<div class=\"chg {class}\">{arrow} {} vs week before</div>",
                        pct(c.abs())
                    )
                }
                _ => String::new(),
            };
            w!(
                out,
                "<div class=\"panel\"><div class=\"ph\"><b>{}</b><span class=\"v\">{}</span></div>{change}",
                esc(stage),
                last.map_or_else(|| "–".to_string(), int)
            );
            out.push_str(&week_bars(stage, &values));
            out.push_str("</div>\n");
        }
        out.push_str(
            "</div>\n<div class=\"tablewrap\"><table class=\"compact\"><thead><tr><th>Week</th>",
        );
        for s in &fw.stages {
            w!(out, "<th class=\"n\">{}</th>", esc(s));
        }
        out.push_str("</tr></thead><tbody>\n");
        for (week, counts) in &fw.weeks {
            w!(out, "<tr><td>{}</td>", esc(week));
            for i in 0..fw.stages.len() {
                let v = counts.get(i).map_or_else(|| "–".to_string(), |&v| int(v));
                w!(out, "<td class=\"n\">{v}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    });
}

fn week_bars(stage: &str, values: &[(&str, Option<u64>)]) -> String {
    const W: f64 = 300.0;
    const BASE: f64 = 92.0;
    const TOP: f64 = 6.0;
    let max = values.iter().filter_map(|v| v.1).max().unwrap_or(0).max(1);
    let y = Scale::linear(0.0, max as f64, BASE, TOP);
    let step = (W - 8.0) / values.len().max(1) as f64;
    let mut svg = Svg::new(W, 112.0, &format!("{stage} per week"));
    for (i, (week, v)) in values.iter().enumerate() {
        let x = 4.0 + step * i as f64;
        let class = if i + 1 == values.len() { "b" } else { "b2" };
        let tip = format!("{week} · {stage}: {}", v.map_or_else(|| "n/a".into(), int));
        if let Some(v) = v {
            let top = y.map(*v as f64);
            svg.rect(x + 1.5, top, (step - 3.0).max(1.0), BASE - top, class, &tip);
        }
    }
    svg.line(2.0, BASE, W - 2.0, BASE, "axis");
    if let (Some(first), Some(last)) = (values.first(), values.last()) {
        svg.text(4.0, BASE + 16.0, START, "s", &clip(first.0, 18));
        if values.len() > 1 {
            svg.text(W - 4.0, BASE + 16.0, END, "s", &clip(last.0, 18));
        }
    }
    svg.finish()
}

fn tier_section(out: &mut String, tiers: &[TierRow]) {
    let how = "The share of people in each tier who converted. Higher tiers should convert clearly \
               more often; if they do not, the tier thresholds need another look.";
    section(out, "tiers", "Conversion by tier", how, |out| {
        if tiers.is_empty() {
            return empty(out, "No tiers with profiles yet.");
        }
        chart(out, tier_chart(tiers));
    });
}

fn tier_chart(tiers: &[TierRow]) -> String {
    const ROW: f64 = 36.0;
    const X0: f64 = 170.0;
    let max = tiers
        .iter()
        .map(|t| t.rate)
        .filter(|r| r.is_finite() && *r > 0.0)
        .fold(0.0, f64::max);
    let x = Scale::linear(0.0, if max > 0.0 { max } else { 1.0 }, X0, 700.0);
    let mut svg = Svg::new(
        1000.0,
        ROW * tiers.len() as f64 + 6.0,
        "Conversion rate by tier",
    );
    for (i, t) in tiers.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let text = format!(
            "{} · {} of {} converted",
            pct(t.rate),
            int(t.converted),
            int(t.profiles)
        );
        svg.group("", &format!("{}: {text}", t.tier));
        svg.text(0.0, y + 20.0, START, "h", &clip(&t.tier, 22));
        let end = if t.rate.is_finite() {
            x.map(t.rate)
        } else {
            X0
        };
        svg.rect(X0, y + 5.0, end - X0, 22.0, "b", "");
        svg.text(end + 8.0, y + 21.0, START, "", &text);
        svg.end_group();
    }
    svg.finish()
}

fn forest_section(
    out: &mut String,
    (id, title): (&str, &str),
    how: &str,
    rows: &[LiftRow],
    empty_text: &str,
) {
    section(out, id, title, how, |out| {
        if rows.is_empty() {
            return empty(out, empty_text);
        }
        chart(out, forest_chart(rows, title));
    });
}

/// Odds-ratio ticks for the log axis, each with whether it stays when space is short.
const LOG_TICKS: [(f64, bool); 16] = [
    (0.01, true),
    (0.02, false),
    (0.05, false),
    (0.1, true),
    (0.2, false),
    (0.5, false),
    (1.0, true),
    (2.0, false),
    (5.0, false),
    (10.0, true),
    (20.0, false),
    (50.0, false),
    (100.0, true),
    (200.0, false),
    (500.0, false),
    (1000.0, true),
];

/// The log axis range: covers every finite, positive value and 1, snapped to the ticks, with 1
/// kept away from the edges. Values outside it are drawn as arrows at the edge.
fn log_domain(rows: &[&LiftRow]) -> (f64, f64) {
    let (mut lo, mut hi) = (1.0_f64, 1.0_f64);
    for v in rows
        .iter()
        .flat_map(|r| [r.odds_ratio, r.ci_low, r.ci_high])
    {
        if v.is_finite() && v > 0.0 {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let lo = LOG_TICKS
        .iter()
        .rev()
        .map(|t| t.0)
        .find(|&t| t <= lo * 1.000_001)
        .unwrap_or(0.01)
        .min(0.5);
    let hi = LOG_TICKS
        .iter()
        .map(|t| t.0)
        .find(|&t| t >= hi / 1.000_001)
        .unwrap_or(1000.0)
        .max(2.0);
    (lo, hi)
}

fn forest_chart(rows: &[LiftRow], what: &str) -> String {
    const ROW: f64 = 36.0;
    const TOP: f64 = 26.0;
    const PX0: f64 = 300.0;
    const PX1: f64 = 650.0;
    const C_OR: f64 = 672.0;
    const C_N: f64 = 868.0;
    const C_RATE: f64 = 934.0;
    const C_LIFT: f64 = 996.0;
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    let mut rows: Vec<&LiftRow> = rows.iter().collect();
    rows.sort_by(|a, b| key(b.odds_ratio).total_cmp(&key(a.odds_ratio)));
    let (lo, hi) = log_domain(&rows);
    let x = Scale::log(lo, hi, PX0, PX1);
    let bottom = TOP + ROW * rows.len() as f64;
    let mut svg = Svg::new(1000.0, bottom + 52.0, &format!("{what}: odds ratios"));

    svg.text(C_OR, 16.0, START, "s", "odds ratio (95% CI)");
    svg.text(C_N, 16.0, END, "s", "profiles");
    svg.text(C_RATE, 16.0, END, "s", "conv.");
    svg.text(C_LIFT, 16.0, END, "s", "lift");
    for i in (0..rows.len()).step_by(2) {
        svg.rect(0.0, TOP + ROW * i as f64, 1000.0, ROW, "zebra", "");
    }
    let mut ticks: Vec<f64> = LOG_TICKS
        .iter()
        .filter(|t| t.0 >= lo && t.0 <= hi)
        .map(|t| t.0)
        .collect();
    if ticks.len() > 9 {
        ticks.retain(|t| LOG_TICKS.iter().any(|m| m.0 == *t && m.1));
    }
    for &t in &ticks {
        svg.line(x.map(t), TOP, x.map(t), bottom, "grid");
        svg.line(x.map(t), bottom, x.map(t), bottom + 4.0, "axis");
        svg.text(x.map(t), bottom + 17.0, MIDDLE, "s", &short(t));
    }
    svg.line(PX0, bottom, PX1, bottom, "axis");
    svg.line(x.map(1.0), TOP - 4.0, x.map(1.0), bottom, "ref");
    svg.text(
        x.map(1.0) - 8.0,
        bottom + 36.0,
        END,
        "s",
        "← less likely to convert",
    );
    svg.text(
        x.map(1.0) + 8.0,
        bottom + 36.0,
        START,
        "s",
        "more likely to convert →",
    );

    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let cy = y + ROW / 2.0;
        let clear = (r.ci_low > 1.0 || r.ci_high < 1.0) && !r.odds_ratio.is_nan();
        let interval = format!(
            "{} ({}–{})",
            ratio(r.odds_ratio),
            ratio(r.ci_low),
            ratio(r.ci_high)
        );
        let mut tip = format!(
            "{} ({}): odds ratio {interval}; {} profiles; conversion {}; lift {}",
            r.label,
            r.kind,
            int(r.profiles),
            pct(r.rate),
            ratio(r.lift)
        );
        if !clear {
            tip.push_str("; not clear (could be chance)");
        }
        svg.group(if clear { "" } else { "nc" }, &tip);
        svg.text(0.0, y + 16.0, START, "h", &clip(&r.label, 40));
        let kind = if clear {
            r.kind.clone()
        } else if r.kind.is_empty() {
            "not clear".to_string()
        } else {
            format!("{} · not clear", r.kind)
        };
        svg.text(0.0, y + 30.0, START, "s", &clip(&kind, 48));

        if !r.ci_low.is_nan() && !r.ci_high.is_nan() && r.ci_low <= r.ci_high {
            let x1 = x.map(r.ci_low.clamp(lo, hi));
            let x2 = x.map(r.ci_high.clamp(lo, hi));
            svg.line(x1, cy, x2, cy, "wh");
            if r.ci_low < lo {
                svg.polygon(
                    &[(x1 - 2.0, cy), (x1 + 6.0, cy - 5.0), (x1 + 6.0, cy + 5.0)],
                    "pt",
                );
            } else {
                svg.line(x1, cy - 6.0, x1, cy + 6.0, "wh");
            }
            if r.ci_high > hi {
                svg.polygon(
                    &[(x2 + 2.0, cy), (x2 - 6.0, cy - 5.0), (x2 - 6.0, cy + 5.0)],
                    "pt",
                );
            } else {
                svg.line(x2, cy - 6.0, x2, cy + 6.0, "wh");
            }
        }
        let o = r.odds_ratio;
        if o > hi {
            svg.polygon(
                &[
                    (PX1 + 4.0, cy),
                    (PX1 - 8.0, cy - 7.0),
                    (PX1 - 8.0, cy + 7.0),
                ],
                "pt",
            );
        } else if o < lo {
            svg.polygon(
                &[
                    (PX0 - 4.0, cy),
                    (PX0 + 8.0, cy - 7.0),
                    (PX0 + 8.0, cy + 7.0),
                ],
                "pt",
            );
        } else if o.is_finite() {
            svg.rect(x.map(o) - 5.5, cy - 5.5, 11.0, 11.0, "pt", "");
        }
        svg.text(C_OR, cy + 4.5, START, "", &interval);
        svg.text(C_N, cy + 4.5, END, "", &int(r.profiles));
        svg.text(C_RATE, cy + 4.5, END, "", &pct(r.rate));
        svg.text(C_LIFT, cy + 4.5, END, "", &format!("×{}", ratio(r.lift)));
        svg.end_group();
    }
    svg.finish()
}

fn calibration_section(out: &mut String, c: &Calibration) {
    let how = "How far the score can be read as a chance to convert. Each dot is a group of people \
               with similar predicted chances, bigger dots hold more people. Dots on the dashed \
               diagonal mean predictions came true as often as promised; dots below it mean the \
               model promised too much.";
    section(out, "calibration", "Calibration", how, |out| {
        if c.bins.is_empty() {
            return empty(
                out,
                "No model yet: this appears once enough outcomes are recorded to fit one.",
            );
        }
        out.push_str("<div class=\"split\">\n");
        chart(out, calibration_chart(&c.bins));
        out.push_str("<div>\n");
        if !c.outcome.is_empty() {
            w!(
                out,
                "<p class=\"below\">Outcome predicted: <b>{}</b></p>\n",
                esc(&c.outcome)
            );
        }
        let fig = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| num(v, 3));
        w!(
            out,
            "<div class=\"mini\"><div><span class=\"label\">Brier score</span>\
             <span class=\"value\">{}</span><span class=\"hint\">lower is better, 0 is perfect</span></div>\
             <div><span class=\"label\">AUC</span><span class=\"value\">{}</span>\
             <span class=\"hint\">0.5 is a coin toss, 1 is perfect</span></div></div>\n",
            fig(c.brier),
            fig(c.auc)
        );
        out.push_str(
            "<table class=\"compact\"><thead><tr><th class=\"n\">Predicted</th>\
             <th class=\"n\">Observed</th><th class=\"n\">Profiles</th></tr></thead><tbody>\n",
        );
        for b in &c.bins {
            w!(
                out,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                pct(b.predicted),
                pct(b.observed),
                int(b.n)
            );
        }
        out.push_str("</tbody></table>\n</div>\n</div>\n");
    });
}

fn calibration_chart(bins: &[CalibrationBin]) -> String {
    const L: f64 = 58.0;
    const R: f64 = 446.0;
    const T: f64 = 12.0;
    const B: f64 = 372.0;
    let finite = |b: &&CalibrationBin| b.predicted.is_finite() && b.observed.is_finite();
    let max = bins
        .iter()
        .filter(finite)
        .flat_map(|b| [b.predicted, b.observed])
        .fold(0.0_f64, f64::max)
        .clamp(0.01, 1.0);
    let (ticks, top) = if max > 0.6 {
        ((0..=5).map(|i| f64::from(i) * 0.2).collect(), 1.0)
    } else {
        linear_ticks(max, 5)
    };
    let x = Scale::linear(0.0, top, L, R);
    let y = Scale::linear(0.0, top, B, T);
    let step = ticks.get(1).copied().unwrap_or(top);
    let dec = if step < 0.01 { 1 } else { 0 };
    let mut svg = Svg::new(
        460.0,
        420.0,
        "Calibration: predicted against observed conversion",
    );
    for &t in &ticks {
        let label = format!("{}%", num(t * 100.0, dec));
        svg.line(x.map(t), T, x.map(t), B, "grid");
        svg.line(L, y.map(t), R, y.map(t), "grid");
        svg.text(x.map(t), B + 17.0, MIDDLE, "s", &label);
        if t > 0.0 {
            svg.text(L - 6.0, y.map(t) + 4.0, END, "s", &label);
        }
    }
    svg.line(L, B, R, B, "axis");
    svg.line(L, T, L, B, "axis");
    svg.line(x.map(0.0), y.map(0.0), x.map(top), y.map(top), "ref");
    svg.text((L + R) / 2.0, B + 38.0, MIDDLE, "s", "predicted chance");
    svg.text_up(16.0, (T + B) / 2.0, "s", "actually converted");
    let max_n = bins.iter().map(|b| b.n).max().unwrap_or(0).max(1) as f64;
    let mut order: Vec<&CalibrationBin> = bins.iter().filter(finite).collect();
    order.sort_by_key(|b| std::cmp::Reverse(b.n));
    for b in order {
        let r = 3.5 + 11.0 * (b.n as f64 / max_n).sqrt();
        let tip = format!(
            "predicted {}, observed {}, {} profiles",
            pct(b.predicted),
            pct(b.observed),
            int(b.n)
        );
        svg.circle(x.map(b.predicted), y.map(b.observed), r, "dot", &tip);
    }
    svg.finish()
}

fn score_section(out: &mut String, h: &Histogram) {
    let how = "How many people have each score today. The dashed lines are the tier thresholds: \
               everyone right of a line is in that tier or higher.";
    section(out, "scores", "Score distribution", how, |out| {
        let bins: Vec<(f64, f64, u64)> = h
            .bins
            .iter()
            .copied()
            .filter(|b| b.0.is_finite() && b.1.is_finite() && b.1 > b.0)
            .collect();
        if bins.is_empty() {
            return empty(out, "No scored profiles yet.");
        }
        chart(out, histogram_chart(&bins, &h.lines));
        let total: u64 = bins.iter().map(|b| b.2).sum();
        let mut lines: Vec<&(String, f64)> = h.lines.iter().collect();
        lines.sort_by(|a, b| a.1.total_cmp(&b.1));
        let list: Vec<String> = lines
            .iter()
            .map(|(name, v)| format!("{} ≥ {}", esc(name), points(*v)))
            .collect();
        w!(out, "<p class=\"below\">{} scored profiles.", int(total));
        if !list.is_empty() {
            w!(out, " Tier thresholds: {}.", list.join(" · "));
        }
        out.push_str("</p>\n");
    });
}

fn histogram_chart(bins: &[(f64, f64, u64)], lines: &[(String, f64)]) -> String {
    const L: f64 = 70.0;
    const R: f64 = 984.0;
    const T: f64 = 46.0;
    const B: f64 = 258.0;
    let lo = bins.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let hi = bins.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    let x = Scale::linear(lo, hi, L, R);
    let max = bins.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let (ticks, top) = linear_ticks(max as f64, 4);
    let y = Scale::linear(0.0, top, B, T);
    let mut svg = Svg::new(1000.0, 310.0, "Score distribution with tier thresholds");
    for &t in &ticks {
        svg.line(L, y.map(t), R, y.map(t), "grid");
        svg.text(L - 8.0, y.map(t) + 4.0, END, "s", &num(t, 0));
    }
    svg.text_up(14.0, (T + B) / 2.0, "s", "profiles");
    for &(from, to, n) in bins {
        let (x0, x1) = (x.map(from), x.map(to));
        let tip = format!("score {}–{}: {} profiles", points(from), points(to), int(n));
        svg.rect(
            x0 + 1.0,
            y.map(n as f64),
            x1 - x0 - 2.0,
            B - y.map(n as f64),
            "b",
            &tip,
        );
    }
    svg.line(L, B, R, B, "axis");
    let mut edges: Vec<f64> = bins.iter().map(|b| b.0).collect();
    edges.push(hi);
    edges.dedup();
    let every = edges.len().div_ceil(11).max(1);
    for (i, &e) in edges.iter().enumerate() {
        if i % every == 0 || i + 1 == edges.len() {
            svg.text(x.map(e), B + 17.0, MIDDLE, "s", &points(e));
        }
    }
    svg.text((L + R) / 2.0, B + 40.0, MIDDLE, "s", "score");

    let mut lines: Vec<&(String, f64)> = lines
        .iter()
        .filter(|l| l.1.is_finite() && l.1 >= lo && l.1 <= hi)
        .collect();
    lines.sort_by(|a, b| a.1.total_cmp(&b.1));
    // Labels sit right of their line, on one of two rows so that close thresholds do not overlap.
    let mut row_end = [f64::NEG_INFINITY; 2];
    for (name, v) in lines {
        let lx = x.map(*v);
        let label = format!("{} ≥ {}", clip(name, 16), points(*v));
        let width = 7.2 * label.chars().count() as f64;
        let flip = lx + 5.0 + width > R;
        let (start, end) = if flip {
            (lx - 5.0 - width, lx - 5.0)
        } else {
            (lx + 5.0, lx + 5.0 + width)
        };
        let level = if start > row_end[0] + 6.0 {
            0
        } else if start > row_end[1] + 6.0 {
            1
        } else {
            usize::from(row_end[1] < row_end[0])
        };
        row_end[level] = end;
        let ly = 16.0 + 16.0 * level as f64;
        svg.group("", &format!("tier {name} starts at score {}", points(*v)));
        svg.line(lx, ly - 12.0, lx, B, "tier");
        let anchor = if flip { END } else { START };
        let tx = if flip { lx - 5.0 } else { lx + 5.0 };
        svg.text(tx, ly, anchor, "tl", &label);
        svg.end_group();
    }
    svg.finish()
}

fn sla_section(out: &mut String, rows: &[SlaRow]) {
    let how = "The share of follow-up tasks done within their agreed response time, per group, \
               and the median time to the first response.";
    section(out, "sla", "SLA compliance", how, |out| {
        if rows.is_empty() {
            return empty(out, "No follow-up tasks yet.");
        }
        chart(out, sla_chart(rows));
    });
}

fn sla_chart(rows: &[SlaRow]) -> String {
    const ROW: f64 = 36.0;
    const X0: f64 = 200.0;
    const X1: f64 = 620.0;
    let x = Scale::linear(0.0, 1.0, X0, X1);
    let mut svg = Svg::new(
        1000.0,
        ROW * rows.len() as f64 + 6.0,
        "SLA compliance per group",
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let share = (r.tasks > 0).then(|| r.met.min(r.tasks) as f64 / r.tasks as f64);
        let mut text = format!(
            "{} met · {} of {} tasks",
            share.map_or_else(|| "n/a".to_string(), pct),
            int(r.met),
            int(r.tasks)
        );
        if let Some(m) = r.median_minutes {
            w!(text, " · median {}", duration_hours(m / 60.0));
        }
        svg.group("", &format!("{}: {text}", r.group));
        svg.text(0.0, y + 20.0, START, "h", &clip(&r.group, 26));
        svg.rect(X0, y + 5.0, X1 - X0, 22.0, "track", "");
        if let Some(s) = share {
            svg.rect(X0, y + 5.0, x.map(s) - X0, 22.0, "b", "");
        }
        svg.text(X1 + 12.0, y + 21.0, START, "", &text);
        svg.end_group();
    }
    svg.finish()
}

fn changes_section(out: &mut String, changes: &[PlanChange]) {
    let how = "Point changes the data suggests for the scoring plan. Green arrows raise a rule's \
               points, red arrows lower them; nothing changes until someone edits the plan.";
    section(out, "changes", "Recommended plan changes", how, |out| {
        if changes.is_empty() {
            return empty(out, "No plan changes recommended this week.");
        }
        out.push_str(
            "<div class=\"tablewrap\"><table><thead><tr><th>Rule</th><th>What it scores</th>\
             <th class=\"n\">Points</th><th class=\"n\">Change</th><th>Why</th></tr></thead><tbody>\n",
        );
        for c in changes {
            let delta = c.new - c.old;
            let (class, arrow) = if !delta.is_finite() {
                ("flat", "")
            } else if delta > 0.0 {
                ("up", "▲ +")
            } else if delta < 0.0 {
                ("down", "▼ ")
            } else {
                ("flat", "= ")
            };
            w!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{} → <b class=\"{class}\">{}</b></td>\
                 <td class=\"n {class}\">{arrow}{}</td><td>{}</td></tr>\n",
                esc(&c.rule),
                esc(&c.label),
                points(c.old),
                points(c.new),
                points(delta),
                esc(&c.note)
            );
        }
        out.push_str("</tbody></table></div>\n");
    });
}

fn notes_section(out: &mut String, notes: &[String]) {
    let how = "Things the analysis left out or is unsure about; worth a look before acting on the charts.";
    section(out, "notes", "Notes", how, |out| {
        if notes.is_empty() {
            return empty(out, "Nothing to flag this week.");
        }
        out.push_str("<ul class=\"notes\">\n");
        for n in notes {
            w!(out, "<li>{}</li>\n", esc(n));
        }
        out.push_str("</ul>\n");
    });
}

// ---------------------------------------------------------------------------------------------
// SVG helpers.

const START: &str = "start";
const MIDDLE: &str = "middle";
const END: &str = "end";

/// A small SVG writer: every coordinate goes through [`coord`], every text through [`esc`].
struct Svg {
    out: String,
}

impl Svg {
    fn new(width: f64, height: f64, label: &str) -> Self {
        let mut out = String::with_capacity(8 * 1024);
        let (w, h, l) = (coord(width), coord(height), esc(label));
        w!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
             height=\"{h}\" role=\"img\" aria-label=\"{l}\"><title>{l}</title>"
        );
        Svg { out }
    }

    /// Ends an element: `/>`, or a `<title>` tooltip and the closing tag.
    fn end(&mut self, tag: &str, tip: &str) {
        if tip.is_empty() {
            self.out.push_str("/>");
        } else {
            w!(self.out, "><title>{}</title></{tag}>", esc(tip));
        }
    }

    fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, class: &str, tip: &str) {
        w!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"{class}\"",
            coord(x),
            coord(y),
            coord(width.max(0.0)),
            coord(height.max(0.0))
        );
        self.end("rect", tip);
    }

    fn circle(&mut self, cx: f64, cy: f64, r: f64, class: &str, tip: &str) {
        w!(
            self.out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" class=\"{class}\"",
            coord(cx),
            coord(cy),
            coord(r.max(0.0))
        );
        self.end("circle", tip);
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        w!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"{class}\"/>",
            coord(x1),
            coord(y1),
            coord(x2),
            coord(y2)
        );
    }

    fn polygon(&mut self, points: &[(f64, f64)], class: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", coord(*x), coord(*y)))
            .collect();
        w!(
            self.out,
            "<polygon points=\"{}\" class=\"{class}\"/>",
            pts.join(" ")
        );
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        w!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"{class}\">{}</text>",
            coord(x),
            coord(y),
            esc(text)
        );
    }

    /// Text centred on (x, y), reading bottom to top (for y-axis captions).
    fn text_up(&mut self, x: f64, y: f64, class: &str, text: &str) {
        w!(
            self.out,
            "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" class=\"{class}\">{}</text>",
            coord(x),
            coord(y),
            esc(text)
        );
    }

    /// Opens a group whose tooltip covers everything drawn until [`Svg::end_group`].
    fn group(&mut self, class: &str, tip: &str) {
        w!(self.out, "<g class=\"{class}\"><title>{}</title>", esc(tip));
    }

    fn end_group(&mut self) {
        self.out.push_str("</g>");
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// Maps a data range onto a pixel range, linearly or logarithmically, clamping to the range.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    log: bool,
}

impl Scale {
    fn linear(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        Scale {
            d0,
            d1,
            r0,
            r1,
            log: false,
        }
    }

    /// A log scale; both ends must be positive.
    fn log(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        Scale {
            log: true,
            ..Scale::linear(d0, d1, r0, r1)
        }
    }

    fn map(&self, v: f64) -> f64 {
        let t = |v: f64| if self.log { v.ln() } else { v };
        let (a, b) = (t(self.d0), t(self.d1));
        let f = (t(v) - a) / (b - a);
        // NaN (empty range, log of a negative) lands on the start; ±∞ on the ends.
        let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
        self.r0 + f * (self.r1 - self.r0)
    }
}

/// Round ticks from 0 to at least `max` (1, 2 or 5 times a power of ten apart), and the top tick.
fn linear_ticks(max: f64, target: usize) -> (Vec<f64>, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = match raw / mag {
        n if n <= 1.0 => mag,
        n if n <= 2.0 => 2.0 * mag,
        n if n <= 5.0 => 5.0 * mag,
        _ => 10.0 * mag,
    };
    let count = (max / step - 1e-9).ceil().max(1.0) as usize;
    let ticks: Vec<f64> = (0..=count).map(|i| step * i as f64).collect();
    let top = step * count as f64;
    (ticks, top)
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Shortens text to `max` characters with an ellipsis (the full text stays in the tooltip).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// An SVG coordinate: one decimal at most, and never `NaN` or `inf`.
fn coord(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    if s == "-0" { "0" } else { s }.to_string()
}

/// Puts thousands separators into a string of digits.
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A count with thousands separators: `1,234,567`.
fn int(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A number with thousands separators and `dec` decimals; `n/a`, `∞` or `-∞` when not finite.
fn num(x: f64, dec: usize) -> String {
    if x.is_nan() {
        return "n/a".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "-∞" }.to_string();
    }
    let s = format!("{:.*}", dec, x.abs());
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let negative = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&group_digits(whole));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A share (0–1) as a percentage with one decimal: `12.3%`.
fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{}%", num(x * 100.0, 1))
    } else {
        "n/a".to_string()
    }
}

/// A ratio with two significant-ish digits: `0.45`, `2.41`, `12.5`, `140`.
fn ratio(x: f64) -> String {
    let a = x.abs();
    num(
        x,
        if a >= 100.0 {
            0
        } else if a >= 10.0 {
            1
        } else {
            2
        },
    )
}

/// Points or scores: one decimal, dropped when whole: `15`, `2.5`, `-3`.
fn points(x: f64) -> String {
    let s = num(x, 1);
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// A tick label: up to two decimals, trailing zeros dropped: `0.05`, `0.5`, `1`, `1,000`.
fn short(x: f64) -> String {
    let s = num(x, 2);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration given in hours: `45 min`, `5.2 h`, `3.4 days`.
fn duration_hours(h: f64) -> String {
    if !h.is_finite() || h < 0.0 {
        "n/a".to_string()
    } else if h < 1.0 {
        format!("{} min", num(h * 60.0, 0))
    } else if h < 48.0 {
        format!("{} h", num(h, 1))
    } else {
        format!("{} days", num(h / 24.0, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A realistic week at a car dealership in Kraków.
    fn example() -> Review {
        let lift = |label: &str, kind: &str, profiles, rate, lift, or, lo, hi| LiftRow {
            label: label.into(),
            kind: kind.into(),
            profiles,
            rate,
            lift,
            odds_ratio: or,
            ci_low: lo,
            ci_high: hi,
        };
        let figure = |label: &str, value: &str, hint: &str| Figure {
            label: label.into(),
            value: value.into(),
            hint: hint.into(),
        };
        let step = |stage: &str, label: &str, profiles, anonymous, rate, hours| FunnelStep {
            stage: stage.into(),
            label: label.into(),
            profiles,
            anonymous,
            rate_from_previous: rate,
            median_hours_from_previous: hours,
        };
        let stages = ["Engaged", "CTA", "Lead", "Appointment", "Sale"];
        let weeks = [
            ("2026-W03", [41_210, 5_402, 1_011, 281, 49]),
            ("2026-W04", [43_870, 5_910, 1_102, 300, 55]),
            ("2026-W05", [39_904, 5_120, 987, 266, 51]),
            ("2026-W06", [44_315, 6_033, 1_150, 310, 58]),
            ("2026-W07", [46_002, 6_410, 1_198, 322, 52]),
            ("2026-W08", [45_120, 6_388, 1_170, 301, 57]),
            ("2026-W09", [47_430, 6_720, 1_190, 318, 60]),
            ("2026-W10", [48_211, 6_912, 1_284, 342, 61]),
        ];
        // Cold, cool, warm and hot add up to the tier table (22,717 / 18,410 / 5,880 / 1,204).
        let counts = [
            3_100, 10_417, 9_200, 5_900, 4_950, 4_200, 3_360, 1_700, 1_400, 1_160, 920, 700, 380,
            290, 210, 140, 90, 56, 28, 10,
        ];
        Review {
            title: "Weekly review — Auto Nowak showroom, Kraków".into(),
            period: "Week 2026-W10 (2 Mar – 8 Mar 2026)".into(),
            generated: "Generated 2026-03-09 06:00 UTC from 11,084,512 events".into(),
            headline: vec![
                figure("Qualified leads", "1,284", "▲ 7.9% vs last week (1,190)"),
                figure("Appointments booked", "342", "26.6% of leads"),
                figure("Cars sold", "61", "17.8% of appointments"),
                figure("Median first response", "14 min", "target: 15 min for hot leads"),
                figure("Hot profiles now", "1,204", "score ≥ 60"),
            ],
            funnel: vec![
                step("engaged", "Engaged visitors", 48_211, 39_870, None, None),
                step("cta", "Clicked a call to action", 6_912, 4_102, Some(0.1434), Some(0.6)),
                step("lead", "Became a lead", 1_284, 0, Some(0.1858), Some(26.0)),
                step("appointment", "Booked a visit", 342, 0, Some(0.2664), Some(52.5)),
                step("sale", "Bought a car", 61, 0, Some(0.1784), Some(310.0)),
            ],
            funnel_weeks: FunnelWeeks {
                stages: stages.iter().map(|s| s.to_string()).collect(),
                weeks: weeks
                    .iter()
                    .map(|(w, c)| (w.to_string(), c.to_vec()))
                    .collect(),
            },
            tiers: vec![
                TierRow { tier: "hot".into(), profiles: 1_204, converted: 96, rate: 0.0797 },
                TierRow { tier: "warm".into(), profiles: 5_880, converted: 141, rate: 0.0240 },
                TierRow { tier: "cool".into(), profiles: 18_410, converted: 88, rate: 0.0048 },
                TierRow { tier: "cold".into(), profiles: 22_717, converted: 21, rate: 0.00092 },
            ],
            signals: vec![
                lift("Used finance calculator", "signal", 2_310, 0.081, 3.4, 3.62, 2.81, 4.66),
                lift("Booked test drive online", "signal", 640, 0.31, 13.0, 18.4, 14.2, 23.8),
                lift("Requested trade-in valuation", "signal", 212, 0.46, 19.3, f64::INFINITY, 6.1, f64::INFINITY),
                lift("Opened price list PDF", "signal", 4_120, 0.038, 1.6, 1.71, 1.32, 2.21),
                lift("Newsletter click", "signal", 3_050, 0.026, 1.09, 1.10, 0.81, 1.49),
                lift("Viewed 3+ vehicle pages → configurator", "sequence", 1_870, 0.072, 3.0, 3.21, 2.45, 4.20),
                lift("Company e-mail domain", "fit", 1_450, 0.044, 1.85, 1.92, 1.31, 2.81),
                lift("Located in Małopolskie", "fit", 21_300, 0.025, 1.05, 1.06, 0.92, 1.22),
                lift("Came from a price comparison site", "signal", 5_400, 0.012, 0.5, 0.48, 0.36, 0.64),
                lift("Viewed careers page", "signal", 380, 0.003, 0.12, 0.12, 0.02, 0.86),
            ],
            paths: vec![
                lift("Model page → Finance calculator → Test drive form", "path", 412, 0.29, 12.1, 14.8, 10.9, 20.1),
                lift("Home → Offers → Model page", "path", 6_120, 0.031, 1.3, 1.34, 1.12, 1.60),
                lift("Model page → Configurator → Price list", "path", 1_330, 0.066, 2.8, 2.95, 2.20, 3.95),
                lift("Blog → Model page", "path", 2_250, 0.021, 0.88, 0.87, 0.61, 1.24),
                lift("Used cars → Used car detail → Contact", "path", 890, 0.052, 2.2, 2.30, 1.55, 3.41),
                lift("Home → Service booking", "path", 3_440, 0.004, 0.17, 0.16, 0.08, 0.31),
            ],
            calibration: Calibration {
                outcome: "appointment within 30 days".into(),
                bins: [
                    (0.004, 0.003, 19_870),
                    (0.011, 0.013, 11_200),
                    (0.022, 0.019, 6_410),
                    (0.038, 0.041, 3_820),
                    (0.061, 0.055, 2_150),
                    (0.092, 0.101, 1_210),
                    (0.14, 0.12, 640),
                    (0.21, 0.18, 322),
                    (0.33, 0.29, 141),
                    (0.52, 0.44, 48),
                ]
                .iter()
                .map(|&(p, o, n)| CalibrationBin { predicted: p, observed: o, n })
                .collect(),
                brier: Some(0.0213),
                auc: Some(0.842),
            },
            scores: Histogram {
                bins: counts
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| (i as f64 * 5.0, i as f64 * 5.0 + 5.0, n))
                    .collect(),
                lines: vec![
                    ("cool".into(), 15.0),
                    ("warm".into(), 35.0),
                    ("hot".into(), 60.0),
                ],
            },
            sla: vec![
                SlaRow { group: "Hot leads (15 min)".into(), tasks: 96, met: 81, median_minutes: Some(11.0) },
                SlaRow { group: "Warm leads (4 h)".into(), tasks: 288, met: 251, median_minutes: Some(95.0) },
                SlaRow { group: "Test drive requests (1 h)".into(), tasks: 64, met: 63, median_minutes: Some(18.0) },
                SlaRow { group: "Finance enquiries (1 day)".into(), tasks: 41, met: 29, median_minutes: Some(1_210.0) },
            ],
            changes: vec![
                PlanChange {
                    rule: "test_drive_form".into(),
                    label: "Booked test drive online".into(),
                    old: 25.0,
                    new: 35.0,
                    note: "Strongest signal: odds ratio 18.4 (14.2–23.8)".into(),
                },
                PlanChange {
                    rule: "finance_calculator".into(),
                    label: "Used finance calculator".into(),
                    old: 10.0,
                    new: 15.0,
                    note: "Odds ratio 3.6 (2.8–4.7), under-weighted today".into(),
                },
                PlanChange {
                    rule: "newsletter_click".into(),
                    label: "Newsletter click".into(),
                    old: 5.0,
                    new: 0.0,
                    note: "No clear effect: CI 0.81–1.49 includes 1".into(),
                },
                PlanChange {
                    rule: "comparison_site".into(),
                    label: "Came from a price comparison site".into(),
                    old: 4.0,
                    new: -2.5,
                    note: "Converts half as often as others".into(),
                },
            ],
            notes: vec![
                "Field `Tags` left out: it predicts too well (AUC 0.96)".into(),
                "23 appointments from 2026-W10 have no recorded result yet; sales figures for this week will still rise.".into(),
            ],
        }
    }

    /// Finds `inf` or `NaN` written as a number: not inside a longer word.
    fn has_non_finite_token(html: &str) -> bool {
        if html.contains("NaN") {
            return true;
        }
        let bytes = html.as_bytes();
        html.match_indices("inf").any(|(i, _)| {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(i + 3).copied();
            !before.is_some_and(|b| b.is_ascii_alphabetic())
                && !after.is_some_and(|b| b.is_ascii_alphabetic())
        })
    }

    /// Every numeric SVG attribute value, parsed.
    fn svg_numbers(html: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for attr in [
            " x=\"",
            " y=\"",
            " x1=\"",
            " y1=\"",
            " x2=\"",
            " y2=\"",
            " cx=\"",
            " cy=\"",
            " r=\"",
            " width=\"",
            " height=\"",
            " points=\"",
            " viewBox=\"",
            "translate(",
        ] {
            for (i, _) in html.match_indices(attr) {
                let rest = &html[i + attr.len()..];
                let end = rest.find(['"', ')']).unwrap_or(rest.len());
                found.push((attr.to_string(), rest[..end].to_string()));
            }
        }
        found
    }

    fn section_of<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("section {id} missing"));
        let end = html[start..].find("</section>").expect("section closed") + start;
        &html[start..end]
    }

    #[test]
    fn full_review_has_every_section_in_order() {
        let html = render(&example());
        let ids = [
            "glance",
            "funnel",
            "funnel-weeks",
            "tiers",
            "signals",
            "paths",
            "calibration",
            "scores",
            "sla",
            "changes",
            "notes",
        ];
        let positions: Vec<usize> = ids
            .iter()
            .map(|id| html.find(&format!("<section id=\"{id}\">")).expect(id))
            .collect();
        assert!(positions.windows(2).all(|p| p[0] < p[1]), "{positions:?}");
        for id in ids {
            assert!(
                section_of(&html, id).contains("<p class=\"how\">"),
                "{id} has no how-to-read"
            );
            assert!(
                !section_of(&html, id).contains("class=\"empty\""),
                "{id} shows empty state"
            );
        }
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("Weekly review — Auto Nowak showroom, Kraków"));
        assert!(!html.contains("<script"), "page must need no scripts");
        let links = html.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !links.contains("http:") && !links.contains("https:"),
            "no external resources"
        );
    }

    #[test]
    fn chart_values_also_appear_as_text() {
        let html = render(&example());
        let funnel = section_of(&html, "funnel");
        for text in [
            "48,211",
            "14.3% of previous stage",
            "median 36 min ·",
            "82.7% anonymous",
            "2.2 days",
            "12.9 days",
        ] {
            assert!(funnel.contains(text), "funnel lacks {text}");
        }
        let weeks = section_of(&html, "funnel-weeks");
        assert!(weeks.contains("<td class=\"n\">41,210</td>"));
        assert!(weeks.contains("2026-W10 · Lead: 1,284"));
        assert!(
            weeks.contains("▲ 7.9% vs week before"),
            "lead rose 1,190 → 1,284"
        );
        let tiers = section_of(&html, "tiers");
        assert!(tiers.contains("8.0% · 96 of 1,204 converted"));
        assert!(tiers.contains("0.1% · 21 of 22,717 converted"));
        let calibration = section_of(&html, "calibration");
        assert!(calibration.contains("0.021") && calibration.contains("0.842"));
        assert!(calibration.contains("predicted 52.0%, observed 44.0%, 48 profiles"));
        let scores = section_of(&html, "scores");
        assert!(scores.contains("score 5–10: 10,417 profiles"));
        assert!(scores.contains("hot ≥ 60"));
        assert!(scores.contains("48,211 scored profiles"));
        let sla = section_of(&html, "sla");
        assert!(sla.contains("84.4% met · 81 of 96 tasks · median 11 min"));
        assert!(sla.contains("median 20.2 h"));
        let changes = section_of(&html, "changes");
        assert!(changes.contains("25 → <b class=\"up\">35</b>"));
        assert!(changes.contains("▲ +10"));
        assert!(changes.contains("4 → <b class=\"down\">-2.5</b>"));
        assert!(changes.contains("▼ -6.5"));
    }

    #[test]
    fn forest_rows_are_sorted_and_unclear_rows_greyed() {
        let html = render(&example());
        let signals = section_of(&html, "signals");
        let order = [
            "Requested trade-in valuation",
            "Booked test drive online",
            "Used finance calculator",
            "Viewed 3+ vehicle pages → configurator",
            "Company e-mail domain",
            "Opened price list PDF",
            "Newsletter click",
            "Located in Małopolskie",
            "Came from a price comparison site",
            "Viewed careers page",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|l| signals.find(&format!(">{l}</text>")).expect(l))
            .collect();
        assert!(
            at.windows(2).all(|p| p[0] < p[1]),
            "rows not sorted by odds ratio: {at:?}"
        );
        let row = |label: &str| {
            let i = signals.find(&format!(">{label}</text>")).unwrap();
            let g = signals[..i].rfind("<g class=").unwrap();
            &signals[g..i]
        };
        assert!(row("Newsletter click").starts_with("<g class=\"nc\">"));
        assert!(row("Located in Małopolskie").starts_with("<g class=\"nc\">"));
        assert!(row("Used finance calculator").starts_with("<g class=\"\">"));
        assert!(
            row("Viewed careers page").starts_with("<g class=\"\">"),
            "CI below 1 is clear"
        );
        assert!(signals.contains("signal · not clear"));
        assert!(
            signals.contains("∞ (6.10–∞)"),
            "infinite odds ratio shown as ∞"
        );
        assert_eq!(signals.matches(" · not clear</text>").count(), 2);
        assert_eq!(
            signals
                .matches("; not clear (could be chance)</title>")
                .count(),
            2
        );
    }

    #[test]
    fn text_from_data_is_escaped() {
        let evil = "<script>alert('x')</script> & \"q\"";
        let mut r = example();
        r.title = evil.into();
        r.period = evil.into();
        r.generated = evil.into();
        r.headline[0] = Figure {
            label: evil.into(),
            value: evil.into(),
            hint: evil.into(),
        };
        r.funnel[1].label = evil.into();
        r.funnel[1].stage = evil.into();
        r.funnel_weeks.stages[0] = evil.into();
        r.funnel_weeks.weeks[0].0 = evil.into();
        r.tiers[0].tier = evil.into();
        r.signals[0].label = evil.into();
        r.signals[0].kind = evil.into();
        r.paths[0].label = evil.into();
        r.calibration.outcome = evil.into();
        r.scores.lines[0].0 = evil.into();
        r.sla[0].group = evil.into();
        r.changes[0].rule = evil.into();
        r.changes[0].label = evil.into();
        r.changes[0].note = evil.into();
        r.notes.push(evil.into());
        let html = render(&r);
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("alert('x')"), "unescaped quote");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
        assert!(!html.contains("\"q\""));
    }

    #[test]
    fn non_finite_numbers_never_reach_the_page() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        let mut r = example();
        r.funnel[1].rate_from_previous = Some(nan);
        r.funnel[2].median_hours_from_previous = Some(inf);
        r.tiers[0].rate = nan;
        r.tiers[1].rate = inf;
        for (i, row) in r.signals.iter_mut().enumerate() {
            match i % 4 {
                0 => (row.odds_ratio, row.ci_low, row.ci_high) = (nan, nan, nan),
                1 => (row.odds_ratio, row.ci_low, row.ci_high) = (0.0, 0.0, 0.5),
                2 => (row.odds_ratio, row.ci_low, row.ci_high) = (-inf, -inf, inf),
                _ => (row.rate, row.lift) = (nan, inf),
            }
        }
        r.paths[0].ci_low = nan;
        r.paths[1] = LiftRow {
            odds_ratio: 1e9,
            ci_low: 1e8,
            ci_high: 1e10,
            ..r.paths[1].clone()
        };
        r.calibration.bins[0].predicted = nan;
        r.calibration.bins[1].observed = inf;
        r.calibration.brier = Some(nan);
        r.calibration.auc = Some(inf);
        r.scores.bins[0].0 = nan;
        r.scores.bins[1].1 = inf;
        r.scores.lines.push(("odd".into(), nan));
        r.sla[0].median_minutes = Some(nan);
        r.changes[0].new = inf;
        r.changes[1].old = nan;
        let html = render(&r);
        assert!(!has_non_finite_token(&html), "NaN or inf in the page");
        let numbers = svg_numbers(&html);
        assert!(numbers.len() > 500, "scanner found too few attributes");
        for (attr, value) in numbers {
            for part in value.split([' ', ',']).filter(|p| !p.is_empty()) {
                let v: f64 = part
                    .parse()
                    .unwrap_or_else(|_| panic!("{attr}{value}: not a number"));
                assert!(v.is_finite(), "{attr}{value}");
            }
        }
        assert!(section_of(&html, "calibration").contains("<span class=\"value\">n/a</span>"));
        assert!(section_of(&html, "calibration").contains("<span class=\"value\">∞</span>"));
    }

    #[test]
    fn empty_review_shows_empty_states() {
        let html = render(&Review::default());
        for text in [
            "No key figures this week.",
            "No funnel data for this period.",
            "No weekly history yet.",
            "No tiers with profiles yet.",
            "Not enough outcomes yet to say which signals predict conversion.",
            "No paths with enough profiles yet.",
            "No model yet",
            "No scored profiles yet.",
            "No follow-up tasks yet.",
            "No plan changes recommended this week.",
            "Nothing to flag this week.",
        ] {
            assert!(html.contains(text), "missing empty state {text:?}");
        }
        assert!(!html.contains("<svg"));
        assert!(html.contains("<h1>Weekly review</h1>"));
        assert!(!has_non_finite_token(&html));
    }

    #[test]
    fn degenerate_inputs_render_without_panicking() {
        let mut r = example();
        r.funnel = vec![FunnelStep::default()];
        r.funnel_weeks.weeks = vec![("W1".into(), vec![])];
        r.tiers = vec![TierRow::default()];
        r.signals = vec![LiftRow::default()];
        r.calibration.bins = vec![CalibrationBin::default()];
        r.scores.bins = vec![(5.0, 5.0, 3)];
        r.sla = vec![SlaRow {
            group: "x".into(),
            tasks: 0,
            met: 4,
            median_minutes: None,
        }];
        let html = render(&r);
        assert!(
            html.contains("No scored profiles yet."),
            "zero-width bins are dropped"
        );
        assert!(html.contains("n/a met · 4 of 0 tasks"));
        assert!(!has_non_finite_token(&html));
    }

    #[test]
    fn every_svg_is_closed_and_none_nested() {
        let html = render(&example());
        let mut depth = 0_i32;
        let mut count = 0;
        for (i, _) in html.match_indices("svg") {
            if html[..i].ends_with('<') {
                depth += 1;
                count += 1;
            } else if html[..i].ends_with("</") {
                depth -= 1;
            }
            assert!((0..=1).contains(&depth), "svg nesting broken at {i}");
        }
        assert_eq!(depth, 0);
        // funnel, 5 week panels, tiers, signals, paths, calibration, scores, sla
        assert_eq!(count, 12);
        assert_eq!(
            html.matches("<section ").count(),
            html.matches("</section>").count()
        );
        assert_eq!(html.matches("<g ").count(), html.matches("</g>").count());
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1_000), "1,000");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(num(-1_234.56, 1), "-1,234.6");
        assert_eq!(num(-0.04, 1), "0.0");
        assert_eq!(num(f64::NAN, 2), "n/a");
        assert_eq!(num(f64::NEG_INFINITY, 2), "-∞");
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(pct(1.0), "100.0%");
        assert_eq!(pct(f64::INFINITY), "n/a");
        assert_eq!(ratio(0.456), "0.46");
        assert_eq!(ratio(12.34), "12.3");
        assert_eq!(ratio(1234.6), "1,235");
        assert_eq!(points(15.0), "15");
        assert_eq!(points(-2.5), "-2.5");
        assert_eq!(duration_hours(0.25), "15 min");
        assert_eq!(duration_hours(5.25), "5.2 h");
        assert_eq!(duration_hours(72.0), "3.0 days");
        assert_eq!(duration_hours(-1.0), "n/a");
        assert_eq!(coord(f64::NAN), "0");
        assert_eq!(coord(-0.01), "0");
        assert_eq!(coord(12.0), "12");
        assert_eq!(short(0.05), "0.05");
        assert_eq!(short(10.0), "10");
        assert_eq!(short(1000.0), "1,000");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("łódź", 4), "łódź");
    }

    #[test]
    fn scales_and_ticks_stay_in_range() {
        let s = Scale::log(0.1, 10.0, 0.0, 200.0);
        assert!((s.map(1.0) - 100.0).abs() < 1e-9);
        assert_eq!(s.map(f64::INFINITY), 200.0);
        assert_eq!(s.map(0.0), 0.0);
        assert_eq!(s.map(f64::NAN), 0.0);
        assert_eq!(Scale::linear(3.0, 3.0, 10.0, 20.0).map(3.0), 10.0);
        assert_eq!(
            linear_ticks(9_840.0, 4),
            (vec![0.0, 5_000.0, 10_000.0], 10_000.0)
        );
        let (ticks, top) = linear_ticks(0.52, 5);
        assert_eq!(ticks.len(), 4, "0, 0.2, 0.4, 0.6");
        assert!((top - 0.6).abs() < 1e-9);
        let row = LiftRow {
            odds_ratio: 3.6,
            ci_low: 2.8,
            ci_high: 4.7,
            ..LiftRow::default()
        };
        assert_eq!(log_domain(&[&row]), (0.5, 5.0));
    }

    /// Writes the example page for a look in a browser (see the module docs of the CLI).
    #[test]
    fn writes_example_page() {
        let path = std::env::temp_dir().join("intent-review-example.html");
        std::fs::write(&path, render(&example())).expect("write example page");
    }
}
