//! The weekly review: one self-contained HTML page with inline SVG charts, in English or Polish.
//!
//! `intent report weekly --out review.html` fills a [`Review`] and calls [`render`] (English) or
//! [`render_in`] with a [`Lang`]. The page is for the Monday meeting of marketing and sales: it
//! needs no JavaScript, fonts, images or network (it must open offline on a showroom laptop) and
//! prints on A4.
//!
//! To show the review inside another page (a web dashboard with its own layout and CSS), use
//! [`sections`]: the same content, header included, in one `<div class="review">` without
//! `<html>`, `<head>` or `<body>`. Put [`style`] into that page's `<style>`: every selector in it
//! starts with `.review`, so it styles nothing outside the review; the charts need it for their
//! colours. The sections keep their ids (`funnel`, `signals`, …), which the header links to.
//!
//! All fixed text (headings, explanations, axis captions, tooltips, empty states) comes from one
//! `Words` table per language, `EN` and `PL`. The table also says how numbers are written:
//! English `12,345.6` and `14.5%`, Polish `12 345,6` and `14,5 %` (with non-breaking spaces).
//! Templates in it have `{}` slots, filled in order by `fill`. Dates, labels and tier names come
//! from the caller as text and are shown as given.
//!
//! What this module keeps to:
//! - it only renders: every figure is computed by the caller and arrives in [`Review`];
//! - all text from data is escaped, because labels come from users' plan files;
//! - every number drawn in a chart is also written as text (a label, a `<title>` tooltip or a
//!   table), so the page is accessible and greppable;
//! - non-finite numbers are shown as `n/a` (Polish `b.d.`) or `∞` and never reach SVG
//!   coordinates.
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

/// The language of the review's fixed text and number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English: `12,345.6`, `14.5%`.
    #[default]
    En,
    /// Polish: `12 345,6`, `14,5 %`.
    Pl,
}

impl Lang {
    /// The language code for `<html lang>`: `en` or `pl`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pl => "pl",
        }
    }

    /// Reads a language code, ignoring case and a region (`pl`, `PL`, `pl-PL`, `en_GB`).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else if primary.eq_ignore_ascii_case("pl") {
            Some(Lang::Pl)
        } else {
            None
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::Pl => &PL,
        }
    }
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

/// Renders the review as one self-contained English HTML page (inline CSS and SVG, no scripts).
pub fn render(review: &Review) -> String {
    render_in(review, Lang::En)
}

/// Renders the review as one self-contained HTML page in `lang` (inline CSS and SVG, no scripts).
pub fn render_in(review: &Review, lang: Lang) -> String {
    let t = lang.words();
    let mut out = String::with_capacity(96 * 1024);
    let title = page_title(review, t);
    let doc_title = if review.period.is_empty() {
        esc(title)
    } else {
        format!("{} · {}", esc(title), esc(&review.period))
    };
    w!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{doc_title}</title>\n<style>{PAGE_CSS}{STYLE}</style>\n</head>\n<body>\n<main>\n",
        lang.code()
    );
    write_sections(&mut out, review, lang);
    w!(
        out,
        "<footer>{}{}</footer>\n</main>\n</body>\n</html>\n",
        esc(t.kicker),
        if review.generated.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(&review.generated))
        }
    );
    out
}

/// Renders only the review's content, to embed in another page: a header (title, period,
/// provenance, links to the sections) and every section, in one `<div class="review">`, without
/// `<html>`, `<head>` or `<body>`. The embedding page needs [`style`] for it to look right.
pub fn sections(review: &Review, lang: Lang) -> String {
    let mut out = String::with_capacity(96 * 1024);
    write_sections(&mut out, review, lang);
    out
}

/// The CSS of [`sections`]; every selector starts with `.review`, so it styles nothing else on
/// the page it is embedded in. [`render_in`] uses it too.
pub fn style() -> &'static str {
    STYLE
}

/// The review's content in page order, inside `<div class="review">`.
fn write_sections(out: &mut String, review: &Review, lang: Lang) {
    let t = lang.words();
    w!(out, "<div class=\"review\" lang=\"{}\">\n", lang.code());
    header(out, review, t);
    headline_section(out, &review.headline, t);
    funnel_section(out, &review.funnel, t);
    funnel_weeks_section(out, &review.funnel_weeks, t);
    tier_section(out, &review.tiers, t);
    forest_section(
        out,
        ("signals", t.signals_title),
        t.signals_how,
        &review.signals,
        t.signals_empty,
        t,
    );
    forest_section(
        out,
        ("paths", t.paths_title),
        t.paths_how,
        &review.paths,
        t.paths_empty,
        t,
    );
    calibration_section(out, &review.calibration, t);
    score_section(out, &review.scores, t);
    sla_section(out, &review.sla, t);
    changes_section(out, &review.changes, t);
    notes_section(out, &review.notes, t);
    out.push_str("</div>\n");
}

/// The review's title, or the language's default when the caller left it blank.
fn page_title<'a>(review: &'a Review, t: &'static Words) -> &'a str {
    if review.title.trim().is_empty() {
        t.default_title
    } else {
        review.title.as_str()
    }
}

/// Rules for the whole page of [`render_in`]; the review itself is styled by [`STYLE`].
const PAGE_CSS: &str = "
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#f3f4f6;color:#111827;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 16px 40px}
footer{color:#5b6472;font-size:12px;margin:18px 0 0;text-align:center}
@media (max-width:700px){main{padding:16px 8px}}
@page{size:A4 landscape;margin:12mm}
@media print{body{background:#fff}main{max-width:none;padding:0}}
";

/// Rules for `<div class="review">`, each scoped under `.review` (see [`style`]).
const STYLE: &str = "
.review{--accent:#1d4ed8;--accent-soft:#bfd0f5;--ink:#111827;--muted:#5b6472;--line:#e3e6eb;
--zebra:#f5f7fa;--good:#15803d;--bad:#b91c1c;--grey:#9aa3af;
color:var(--ink);line-height:1.45;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.review,.review *{box-sizing:border-box}
.review header{margin:0 0 8px}
.review .kicker{margin:0;color:var(--accent);font-weight:600;font-size:13px;letter-spacing:.04em;text-transform:uppercase}
.review h1{font-size:28px;margin:2px 0 2px;color:var(--ink)}
.review .period{font-size:17px;margin:0}
.review .generated{color:var(--muted);font-size:13px;margin:2px 0 0}
.review nav{font-size:13px;margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px}
.review nav a{color:var(--accent);text-decoration:none}
.review section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 22px 20px;margin:16px 0}
.review h2{font-size:20px;margin:0 0 4px;color:var(--ink)}
.review .how{color:var(--muted);margin:0 0 14px;font-size:14px;max-width:820px}
.review .empty{margin:8px 0;padding:14px 16px;background:var(--zebra);border-radius:8px;color:var(--muted)}
.review .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.review .card{border:1px solid var(--line);border-top:4px solid var(--accent);border-radius:8px;padding:10px 14px 12px}
.review .card .label{font-size:13px;color:var(--muted)}
.review .card .value{font-size:30px;font-weight:700;line-height:1.2;font-variant-numeric:tabular-nums}
.review .card .hint{font-size:12.5px;color:var(--muted)}
.review .legend{display:flex;gap:18px;font-size:13px;color:var(--muted);margin:0 0 6px}
.review .sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.review .sw.b{background:var(--accent)}.review .sw.b2{background:var(--accent-soft)}
.review .chart{overflow-x:auto}
.review .chart svg{display:block;width:100%;height:auto;min-width:700px}
.review svg{font-family:inherit}
.review svg text{font-size:13px;fill:#1f2937}
.review svg text.h{font-weight:600}
.review svg text.s{font-size:11px;fill:var(--muted)}
.review svg text.big{font-size:15px;font-weight:700}
.review .b{fill:var(--accent)}.review .b2{fill:var(--accent-soft)}.review .track{fill:#eef1f5}.review .zebra{fill:var(--zebra)}
.review .grid{stroke:#e9ecf0;stroke-width:1}.review .axis{stroke:#9aa3af;stroke-width:1}
.review .ref{stroke:#374151;stroke-width:1.2;stroke-dasharray:5 4}
.review .tier{stroke:#b45309;stroke-width:1.5;stroke-dasharray:6 4}.review svg text.tl{fill:#92400e;font-weight:600;font-size:12px}
.review .wh{stroke:var(--accent);stroke-width:2}.review .pt{fill:var(--accent)}
.review .dot{fill:var(--accent);fill-opacity:.55;stroke:var(--accent)}
.review .nc .wh{stroke:var(--grey)}.review .nc .pt{fill:var(--grey)}.review .nc text{fill:var(--grey)}
.review .multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px;margin:0 0 14px}
.review .panel{border:1px solid var(--line);border-radius:8px;padding:8px 10px 6px}
.review .panel svg{display:block;width:100%;height:auto}
.review .ph{display:flex;justify-content:space-between;align-items:baseline;gap:8px;font-size:13px}
.review .ph .v{font-size:18px;font-weight:700}
.review .chg{font-size:12.5px;min-height:18px}
.review .up{color:var(--good)}.review .down{color:var(--bad)}.review .flat{color:var(--muted)}
.review table{border:none;border-collapse:collapse;width:100%;font-size:13.5px}
.review th,.review td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.review th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.review .n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.review table.compact{font-size:12.5px}.review table.compact td,.review table.compact th{padding:3px 8px}
.review .tablewrap{overflow-x:auto}
.review code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:var(--zebra);padding:1px 5px;border-radius:4px}
.review .split{display:grid;grid-template-columns:minmax(0,460px) minmax(0,1fr);gap:28px;align-items:start}
.review .split .chart svg{min-width:0}
.review .mini{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:0 0 12px}
.review .mini div{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.review .mini .value{font-size:24px;font-weight:700;display:block}
.review .mini .label,.review .mini .hint{font-size:12.5px;color:var(--muted);display:block}
.review .below{font-size:13px;color:var(--muted);margin:8px 0 0}
.review .notes{margin:0;padding-left:20px}.review .notes li{margin:4px 0}
@media (max-width:700px){.review section{padding:14px 12px}.review h1{font-size:22px}
.review .split{grid-template-columns:1fr}.review .card .value{font-size:24px}}
@media print{.review nav{display:none}.review h1{font-size:22px}.review .how{max-width:none}
.review .card .value{font-size:24px}
.review section{border:none;border-radius:0;padding:0;margin:0 0 5mm;break-before:page;break-inside:avoid}
.review #glance,.review #funnel,.review #changes,.review #notes{break-before:auto}
.review .chart{overflow:visible}.review .chart svg{min-width:0}
.review tr,.review .card,.review .panel{break-inside:avoid}}
";

// ---------------------------------------------------------------------------------------------
// Words: the fixed text of the page in each language.

/// Forms of a noun written after a count: one, few (Polish 2–4, 22–24, …), many.
type Forms = [&'static str; 3];

/// The fixed text of the page in one language, and how it writes numbers. Templates have `{}`
/// slots, filled in order by [`fill`]; both languages have the same slots in each template.
struct Words {
    lang: Lang,

    // Numbers.
    /// Decimal mark.
    decimal: char,
    /// Thousands separator.
    group: char,
    /// Written after a percentage.
    percent: &'static str,
    /// A number that is missing or not a number.
    na: &'static str,
    minutes: &'static str,
    hours: &'static str,
    days: &'static str,
    /// After a count of profiles, where the English page says "people".
    people: Forms,
    /// After a count of profiles, where the English page says "profiles".
    profiles: Forms,
    /// "48,211 scored profiles."
    scored: Forms,
    /// After "81 of": "96 tasks".
    tasks_of: Forms,

    // Page and header.
    default_title: &'static str,
    /// Above the title, and in the print footer.
    kicker: &'static str,
    /// Link names, in the order of [`NAV_IDS`].
    nav: [&'static str; 10],

    // Headline cards.
    glance_title: &'static str,
    glance_how: &'static str,
    glance_empty: &'static str,

    // Funnel.
    funnel_title: &'static str,
    funnel_how: &'static str,
    funnel_empty: &'static str,
    legend_known: &'static str,
    legend_anonymous: &'static str,
    funnel_chart: &'static str,
    /// Stage label, people, known, anonymous.
    funnel_tip: &'static str,
    funnel_tip_rate: &'static str,
    funnel_tip_median: &'static str,
    of_previous: &'static str,
    first_stage: &'static str,
    no_previous: &'static str,
    median: &'static str,
    anonymous_share: &'static str,
    all_known: &'static str,

    // Funnel by week.
    weeks_title: &'static str,
    weeks_how: &'static str,
    weeks_empty: &'static str,
    vs_week_before: &'static str,
    week: &'static str,
    per_week: &'static str,

    // Tiers.
    tiers_title: &'static str,
    tiers_how: &'static str,
    tiers_empty: &'static str,
    tiers_chart: &'static str,
    /// Rate, converted, profiles.
    tier_text: &'static str,

    // Signals and paths (forest charts).
    signals_title: &'static str,
    signals_how: &'static str,
    signals_empty: &'static str,
    paths_title: &'static str,
    paths_how: &'static str,
    paths_empty: &'static str,
    odds_chart: &'static str,
    col_odds: &'static str,
    /// Column header of the forest charts and y-axis caption of the score histogram.
    col_profiles: &'static str,
    col_rate: &'static str,
    col_lift: &'static str,
    less_likely: &'static str,
    more_likely: &'static str,
    /// Label, kind, odds ratio with interval, profiles, conversion rate, lift.
    lift_tip: &'static str,
    not_clear: &'static str,
    not_clear_tip: &'static str,

    // Calibration.
    cal_title: &'static str,
    cal_how: &'static str,
    cal_empty: &'static str,
    cal_outcome: &'static str,
    brier: &'static str,
    brier_hint: &'static str,
    auc: &'static str,
    auc_hint: &'static str,
    th_predicted: &'static str,
    th_observed: &'static str,
    th_profiles: &'static str,
    cal_chart: &'static str,
    axis_predicted: &'static str,
    axis_observed: &'static str,
    /// Predicted, observed, profiles.
    cal_tip: &'static str,

    // Score distribution.
    scores_title: &'static str,
    scores_how: &'static str,
    scores_empty: &'static str,
    thresholds: &'static str,
    scores_chart: &'static str,
    axis_score: &'static str,
    /// From, to, profiles.
    bin_tip: &'static str,
    /// Tier, score.
    tier_tip: &'static str,

    // SLA.
    sla_title: &'static str,
    sla_how: &'static str,
    sla_empty: &'static str,
    sla_chart: &'static str,
    /// Share met, tasks met, tasks.
    sla_text: &'static str,

    // Plan changes.
    changes_title: &'static str,
    changes_how: &'static str,
    changes_empty: &'static str,
    th_rule: &'static str,
    th_scores: &'static str,
    th_points: &'static str,
    th_change: &'static str,
    th_why: &'static str,

    // Notes.
    notes_title: &'static str,
    notes_how: &'static str,
    notes_empty: &'static str,
}

/// Section ids the header links to, in page order.
const NAV_IDS: [&str; 10] = [
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

const EN: Words = Words {
    lang: Lang::En,

    decimal: '.',
    group: ',',
    percent: "%",
    na: "n/a",
    minutes: "{} min",
    hours: "{} h",
    days: "{} days",
    people: ["people"; 3],
    profiles: ["profiles"; 3],
    scored: ["scored profiles"; 3],
    tasks_of: ["tasks"; 3],

    default_title: "Weekly review",
    kicker: "Intent Engine · weekly review",
    nav: [
        "Funnel",
        "By week",
        "Tiers",
        "What predicts",
        "Paths",
        "Calibration",
        "Scores",
        "SLA",
        "Plan changes",
        "Notes",
    ],

    glance_title: "This week at a glance",
    glance_how: "The week's key figures; the line under each number says what it is compared with.",
    glance_empty: "No key figures this week.",

    funnel_title: "Funnel",
    funnel_how: "How many people reached each stage this period. The dark part of a bar is known \
                 contacts, the light part anonymous visitors. On the right: the share of the \
                 previous stage that got this far, and the typical (median) time it took.",
    funnel_empty: "No funnel data for this period.",
    legend_known: "known contacts",
    legend_anonymous: "anonymous",
    funnel_chart: "Funnel: people per stage",
    funnel_tip: "{}: {} ({} known, {} anonymous)",
    funnel_tip_rate: "; {} of the previous stage",
    funnel_tip_median: "; median {} after the previous stage",
    of_previous: "{} of previous stage",
    first_stage: "first stage",
    no_previous: "share of previous stage n/a",
    median: "median {}",
    anonymous_share: "{} anonymous",
    all_known: "all known contacts",

    weeks_title: "Funnel by week",
    weeks_how: "One small chart per stage, one bar per week; the dark bar is the latest week. \
                A stage that falls while the stages before it hold steady is where people get lost.",
    weeks_empty: "No weekly history yet.",
    vs_week_before: "{} vs week before",
    week: "Week",
    per_week: "{} per week",

    tiers_title: "Conversion by tier",
    tiers_how: "The share of people in each tier who converted. Higher tiers should convert \
                clearly more often; if they do not, the tier thresholds need another look.",
    tiers_empty: "No tiers with profiles yet.",
    tiers_chart: "Conversion rate by tier",
    tier_text: "{} · {} of {} converted",

    signals_title: "What predicts",
    signals_how: "Each row is a signal, sequence or fit rule. The dot shows how much more likely \
                  people with it are to convert than people without it (odds ratio; 1 = no \
                  difference, 2 = twice the odds), the whisker how sure we are. Grey rows marked \
                  “not clear” could be chance.",
    signals_empty: "Not enough outcomes yet to say which signals predict conversion.",
    paths_title: "Paths",
    paths_how: "The most common orders in which people moved through the site and showroom, read \
                like the chart above: right of the line means people on that path convert more \
                often.",
    paths_empty: "No paths with enough profiles yet.",
    odds_chart: "{}: odds ratios",
    col_odds: "odds ratio (95% CI)",
    col_profiles: "profiles",
    col_rate: "conv.",
    col_lift: "lift",
    less_likely: "← less likely to convert",
    more_likely: "more likely to convert →",
    lift_tip: "{} ({}): odds ratio {}; {}; conversion {}; lift {}",
    not_clear: "not clear",
    not_clear_tip: "; not clear (could be chance)",

    cal_title: "Calibration",
    cal_how: "How far the score can be read as a chance to convert. Each dot is a group of people \
              with similar predicted chances, bigger dots hold more people. Dots on the dashed \
              diagonal mean predictions came true as often as promised; dots below it mean the \
              model promised too much.",
    cal_empty: "No model yet: this appears once enough outcomes are recorded to fit one.",
    cal_outcome: "Outcome predicted:",
    brier: "Brier score",
    brier_hint: "lower is better, 0 is perfect",
    auc: "AUC",
    auc_hint: "0.5 is a coin toss, 1 is perfect",
    th_predicted: "Predicted",
    th_observed: "Observed",
    th_profiles: "Profiles",
    cal_chart: "Calibration: predicted against observed conversion",
    axis_predicted: "predicted chance",
    axis_observed: "actually converted",
    cal_tip: "predicted {}, observed {}, {}",

    scores_title: "Score distribution",
    scores_how: "How many people have each score today. The dashed lines are the tier thresholds: \
                 everyone right of a line is in that tier or higher.",
    scores_empty: "No scored profiles yet.",
    thresholds: "Tier thresholds: {}.",
    scores_chart: "Score distribution with tier thresholds",
    axis_score: "score",
    bin_tip: "score {}–{}: {}",
    tier_tip: "tier {} starts at score {}",

    sla_title: "SLA compliance",
    sla_how: "The share of follow-up tasks done within their agreed response time, per group, and \
              the median time to the first response.",
    sla_empty: "No follow-up tasks yet.",
    sla_chart: "SLA compliance per group",
    sla_text: "{} met · {} of {}",

    changes_title: "Recommended plan changes",
    changes_how: "Point changes the data suggests for the scoring plan. Green arrows raise a \
                  rule's points, red arrows lower them; nothing changes until someone edits the \
                  plan.",
    changes_empty: "No plan changes recommended this week.",
    th_rule: "Rule",
    th_scores: "What it scores",
    th_points: "Points",
    th_change: "Change",
    th_why: "Why",

    notes_title: "Notes",
    notes_how: "Things the analysis left out or is unsure about; worth a look before acting on the \
                charts.",
    notes_empty: "Nothing to flag this week.",
};

const PL: Words = Words {
    lang: Lang::Pl,

    decimal: ',',
    group: '\u{a0}',
    percent: "\u{a0}%",
    na: "b.d.",
    minutes: "{}\u{a0}min",
    hours: "{}\u{a0}h",
    // With one decimal the count is a fraction, which takes the genitive: "2,5 dnia".
    days: "{}\u{a0}dnia",
    people: ["osoba", "osoby", "osób"],
    profiles: ["osoba", "osoby", "osób"],
    scored: ["osoba z punktacją", "osoby z punktacją", "osób z punktacją"],
    tasks_of: ["zadania", "zadań", "zadań"],

    default_title: "Przegląd tygodnia",
    kicker: "Intent Engine · przegląd tygodnia",
    nav: [
        "Lejek",
        "Tydzień po tygodniu",
        "Poziomy",
        "Sygnały",
        "Ścieżki",
        "Kalibracja",
        "Punktacja",
        "SLA",
        "Zmiany w planie",
        "Uwagi",
    ],

    glance_title: "Tydzień w skrócie",
    glance_how: "Najważniejsze liczby tygodnia; linijka pod każdą z nich mówi, z czym ją \
                 porównujemy.",
    glance_empty: "W tym tygodniu brak kluczowych liczb.",

    funnel_title: "Lejek sprzedażowy",
    funnel_how: "Ile osób dotarło w tym okresie do każdego etapu. Ciemna część paska to znane \
                 kontakty, jasna – anonimowi odwiedzający. Po prawej: jaka część osób z \
                 poprzedniego etapu dotarła tak daleko i ile to zwykle trwało (mediana).",
    funnel_empty: "Brak danych o lejku w tym okresie.",
    legend_known: "znane kontakty",
    legend_anonymous: "anonimowi",
    funnel_chart: "Lejek: liczba osób na każdym etapie",
    funnel_tip: "{}: {} (znane kontakty: {}, anonimowi: {})",
    funnel_tip_rate: "; {} osób z poprzedniego etapu",
    funnel_tip_median: "; mediana czasu od poprzedniego etapu: {}",
    of_previous: "{} z poprzedniego etapu",
    first_stage: "pierwszy etap",
    no_previous: "udział z poprzedniego etapu: b.d.",
    median: "mediana {}",
    anonymous_share: "{} anonimowych",
    all_known: "same znane kontakty",

    weeks_title: "Lejek tydzień po tygodniu",
    weeks_how: "Jeden mały wykres na etap, jeden słupek na tydzień; ciemny słupek to ostatni \
                tydzień. Etap, który spada, choć etapy przed nim trzymają poziom, to miejsce, w \
                którym tracimy klientów.",
    weeks_empty: "Nie ma jeszcze historii tygodniowej.",
    vs_week_before: "{} wobec poprzedniego tygodnia",
    week: "Tydzień",
    per_week: "{}: tydzień po tygodniu",

    tiers_title: "Konwersja według poziomu (tier)",
    tiers_how: "Jaka część osób z każdego poziomu dokonała konwersji. Wyższe poziomy powinny \
                wyraźnie częściej kończyć się konwersją; jeśli tak nie jest, trzeba jeszcze raz \
                przyjrzeć się progom.",
    tiers_empty: "Nie ma jeszcze poziomów z przypisanymi osobami.",
    tiers_chart: "Konwersja według poziomu",
    tier_text: "{} · konwersje: {} z {}",

    signals_title: "Które sygnały zapowiadają konwersję",
    signals_how: "Każdy wiersz to sygnał, sekwencja zachowań albo reguła dopasowania profilu. \
                  Punkt pokazuje, o ile większe szanse na konwersję mają osoby z tym sygnałem niż \
                  bez niego (iloraz szans; 1 = bez różnicy, 2 = szanse dwa razy większe), a wąsy – \
                  na ile jesteśmy tego pewni (przedział ufności). Szare wiersze oznaczone \
                  „niepewne” mogą być dziełem przypadku.",
    signals_empty: "Wciąż za mało zapisanych wyników, żeby ocenić, które sygnały zapowiadają \
                    konwersję.",
    paths_title: "Ścieżki klientów",
    paths_how: "Najczęstsze kolejności, w jakich klienci przechodzili przez stronę i salon. Czytaj \
                jak wykres powyżej: punkt na prawo od linii oznacza, że osoby z tą ścieżką \
                częściej dokonują konwersji.",
    paths_empty: "Brak ścieżek z wystarczającą liczbą osób.",
    odds_chart: "{}: ilorazy szans",
    col_odds: "iloraz szans (PU 95\u{a0}%)",
    col_profiles: "osoby",
    col_rate: "konw.",
    col_lift: "× średnia",
    less_likely: "← mniejsza szansa na konwersję",
    more_likely: "większa szansa na konwersję →",
    lift_tip: "{} ({}): iloraz szans {}; {}; konwersja {}; względem średniej ×{}",
    not_clear: "niepewne",
    not_clear_tip: "; niepewne (to może być przypadek)",

    cal_title: "Czy prognozy się sprawdzają (kalibracja)",
    cal_how: "Na ile wynik punktowy można czytać jako szansę na konwersję. Każda kropka to grupa \
              osób o podobnej prognozowanej szansie; im większa kropka, tym więcej osób. Kropki \
              na przerywanej przekątnej znaczą, że prognozy sprawdzały się tak często, jak \
              zapowiadał model; kropki pod nią – że model obiecywał za dużo.",
    cal_empty: "Nie ma jeszcze modelu: ta część pojawi się, gdy zbierze się dość wyników, żeby \
                go zbudować.",
    cal_outcome: "Prognozowane zdarzenie:",
    brier: "Wynik Briera",
    brier_hint: "im niższy, tym lepiej; 0 to ideał",
    auc: "AUC",
    auc_hint: "0,5 to rzut monetą, 1 to ideał",
    th_predicted: "Prognoza",
    th_observed: "W rzeczywistości",
    th_profiles: "Osoby",
    cal_chart: "Kalibracja: prognozowana a rzeczywista konwersja",
    axis_predicted: "prognozowana szansa",
    axis_observed: "rzeczywista konwersja",
    cal_tip: "prognoza {}, w rzeczywistości {}, {}",

    scores_title: "Rozkład punktacji",
    scores_how: "Ile osób ma dziś dany wynik punktowy. Przerywane linie to progi poziomów: każdy \
                 na prawo od linii jest w tym poziomie albo wyższym.",
    scores_empty: "Nie ma jeszcze osób z punktacją.",
    thresholds: "Progi poziomów: {}.",
    scores_chart: "Rozkład punktacji z progami poziomów",
    axis_score: "punkty",
    bin_tip: "punkty {}–{}: {}",
    tier_tip: "poziom {} od {} pkt",

    sla_title: "Czas reakcji (SLA)",
    sla_how: "Jaka część zadań kontaktu z klientem została wykonana w uzgodnionym czasie reakcji, \
              w podziale na grupy, oraz mediana czasu do pierwszej odpowiedzi.",
    sla_empty: "Nie ma jeszcze zadań kontaktu z klientem.",
    sla_chart: "Dotrzymanie SLA według grup",
    sla_text: "{} w terminie · {} z {}",

    changes_title: "Proponowane zmiany w planie punktacji",
    changes_how: "Zmiany punktów podpowiadane przez dane. Zielone strzałki podnoszą punkty \
                  reguły, czerwone je obniżają; nic się nie zmieni, dopóki ktoś nie poprawi \
                  planu.",
    changes_empty: "W tym tygodniu brak proponowanych zmian w planie.",
    th_rule: "Reguła",
    th_scores: "Za co przyznaje punkty",
    th_points: "Punkty",
    th_change: "Zmiana",
    th_why: "Uzasadnienie",

    notes_title: "Uwagi",
    notes_how: "Co analiza pominęła albo czego nie jest pewna – warto to przejrzeć, zanim \
                zaczniemy działać na podstawie wykresów.",
    notes_empty: "W tym tygodniu nie ma nic do zgłoszenia.",
};

// ---------------------------------------------------------------------------------------------
// Sections, in page order.

fn header(out: &mut String, review: &Review, t: &'static Words) {
    w!(
        out,
        "<header>\n<p class=\"kicker\">{}</p>\n<h1>{}</h1>\n",
        esc(t.kicker),
        esc(page_title(review, t))
    );
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
    for (id, name) in NAV_IDS.iter().zip(t.nav) {
        w!(out, "<a href=\"#{id}\">{}</a>", esc(name));
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

fn headline_section(out: &mut String, figures: &[Figure], t: &Words) {
    section(out, "glance", t.glance_title, t.glance_how, |out| {
        if figures.is_empty() {
            return empty(out, t.glance_empty);
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

fn funnel_section(out: &mut String, steps: &[FunnelStep], t: &Words) {
    section(out, "funnel", t.funnel_title, t.funnel_how, |out| {
        if steps.is_empty() {
            return empty(out, t.funnel_empty);
        }
        w!(
            out,
            "<div class=\"legend\"><span><i class=\"sw b\"></i>{}</span>\
             <span><i class=\"sw b2\"></i>{}</span></div>\n",
            esc(t.legend_known),
            esc(t.legend_anonymous)
        );
        chart(out, funnel_chart(steps, t));
    });
}

fn funnel_chart(steps: &[FunnelStep], t: &Words) -> String {
    const ROW: f64 = 52.0;
    const X0: f64 = 190.0;
    const X1: f64 = 600.0;
    const RIGHT: f64 = 730.0;
    let max = steps.iter().map(|s| s.profiles).max().unwrap_or(0).max(1);
    let x = Scale::linear(0.0, max as f64, X0, X1);
    let mut svg = Svg::new(1000.0, ROW * steps.len() as f64 + 6.0, t.funnel_chart);
    for (i, s) in steps.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let anon = s.anonymous.min(s.profiles);
        let known = s.profiles - anon;
        let rate = s.rate_from_previous.map(|r| t.pct(r));
        let median = s.median_hours_from_previous.map(|h| t.duration_hours(h));
        let anon_share = (s.profiles > 0).then(|| t.pct(anon as f64 / s.profiles as f64));

        let mut tip = fill(
            t.funnel_tip,
            &[
                &s.label,
                &t.count(s.profiles, t.people),
                &t.int(known),
                &t.int(anon),
            ],
        );
        if let Some(r) = &rate {
            tip.push_str(&fill(t.funnel_tip_rate, &[r]));
        }
        if let Some(m) = &median {
            tip.push_str(&fill(t.funnel_tip_median, &[m]));
        }
        svg.group("", &tip);
        svg.text(0.0, y + 20.0, START, "h", &clip(&s.label, 24));
        svg.text(0.0, y + 36.0, START, "s", &clip(&s.stage, 30));
        svg.rect(X0, y + 8.0, x.map(known as f64) - X0, 30.0, "b", "");
        let xk = x.map(known as f64);
        svg.rect(xk, y + 8.0, x.map(s.profiles as f64) - xk, 30.0, "b2", "");
        let end = x.map(s.profiles as f64);
        svg.text(end + 8.0, y + 28.0, START, "big", &t.int(s.profiles));

        let first = match (&rate, i) {
            (Some(r), _) => fill(t.of_previous, &[r]),
            (None, 0) => t.first_stage.to_string(),
            (None, _) => t.no_previous.to_string(),
        };
        svg.text(RIGHT, y + 20.0, START, "h", &first);
        let mut second = Vec::new();
        if let Some(m) = median {
            second.push(fill(t.median, &[&m]));
        }
        match anon_share {
            Some(a) if anon > 0 => second.push(fill(t.anonymous_share, &[&a])),
            Some(_) => second.push(t.all_known.to_string()),
            None => {}
        }
        svg.text(RIGHT, y + 36.0, START, "s", &second.join(" · "));
        svg.end_group();
    }
    svg.finish()
}

fn funnel_weeks_section(out: &mut String, fw: &FunnelWeeks, t: &Words) {
    section(out, "funnel-weeks", t.weeks_title, t.weeks_how, |out| {
        if fw.stages.is_empty() || fw.weeks.is_empty() {
            return empty(out, t.weeks_empty);
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
                        "<div class=\"chg {class}\">{arrow} {}</div>",
                        esc(&fill(t.vs_week_before, &[&t.pct(c.abs())]))
                    )
                }
                _ => String::new(),
            };
            w!(
                out,
                "<div class=\"panel\"><div class=\"ph\"><b>{}</b><span class=\"v\">{}</span></div>{change}",
                esc(stage),
                last.map_or_else(|| "–".to_string(), |v| t.int(v))
            );
            out.push_str(&week_bars(stage, &values, t));
            out.push_str("</div>\n");
        }
        w!(
            out,
            "</div>\n<div class=\"tablewrap\"><table class=\"compact\"><thead><tr><th>{}</th>",
            esc(t.week)
        );
        for s in &fw.stages {
            w!(out, "<th class=\"n\">{}</th>", esc(s));
        }
        out.push_str("</tr></thead><tbody>\n");
        for (week, counts) in &fw.weeks {
            w!(out, "<tr><td>{}</td>", esc(week));
            for i in 0..fw.stages.len() {
                let v = counts.get(i).map_or_else(|| "–".to_string(), |&v| t.int(v));
                w!(out, "<td class=\"n\">{v}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    });
}

fn week_bars(stage: &str, values: &[(&str, Option<u64>)], t: &Words) -> String {
    const W: f64 = 300.0;
    const BASE: f64 = 92.0;
    const TOP: f64 = 6.0;
    let max = values.iter().filter_map(|v| v.1).max().unwrap_or(0).max(1);
    let y = Scale::linear(0.0, max as f64, BASE, TOP);
    let step = (W - 8.0) / values.len().max(1) as f64;
    let mut svg = Svg::new(W, 112.0, &fill(t.per_week, &[stage]));
    for (i, (week, v)) in values.iter().enumerate() {
        let x = 4.0 + step * i as f64;
        let class = if i + 1 == values.len() { "b" } else { "b2" };
        let value = v.map_or_else(|| t.na.to_string(), |v| t.int(v));
        let tip = format!("{week} · {stage}: {value}");
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

fn tier_section(out: &mut String, tiers: &[TierRow], t: &Words) {
    section(out, "tiers", t.tiers_title, t.tiers_how, |out| {
        if tiers.is_empty() {
            return empty(out, t.tiers_empty);
        }
        chart(out, tier_chart(tiers, t));
    });
}

fn tier_chart(tiers: &[TierRow], t: &Words) -> String {
    const ROW: f64 = 36.0;
    const X0: f64 = 170.0;
    let max = tiers
        .iter()
        .map(|r| r.rate)
        .filter(|r| r.is_finite() && *r > 0.0)
        .fold(0.0, f64::max);
    let x = Scale::linear(0.0, if max > 0.0 { max } else { 1.0 }, X0, 700.0);
    let mut svg = Svg::new(1000.0, ROW * tiers.len() as f64 + 6.0, t.tiers_chart);
    for (i, r) in tiers.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let text = fill(
            t.tier_text,
            &[&t.pct(r.rate), &t.int(r.converted), &t.int(r.profiles)],
        );
        svg.group("", &format!("{}: {text}", r.tier));
        svg.text(0.0, y + 20.0, START, "h", &clip(&r.tier, 22));
        let end = if r.rate.is_finite() {
            x.map(r.rate)
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
    t: &Words,
) {
    section(out, id, title, how, |out| {
        if rows.is_empty() {
            return empty(out, empty_text);
        }
        chart(out, forest_chart(rows, title, t));
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

fn forest_chart(rows: &[LiftRow], what: &str, t: &Words) -> String {
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
    let mut svg = Svg::new(1000.0, bottom + 52.0, &fill(t.odds_chart, &[what]));

    svg.text(C_OR, 16.0, START, "s", t.col_odds);
    svg.text(C_N, 16.0, END, "s", t.col_profiles);
    svg.text(C_RATE, 16.0, END, "s", t.col_rate);
    svg.text(C_LIFT, 16.0, END, "s", t.col_lift);
    for i in (0..rows.len()).step_by(2) {
        svg.rect(0.0, TOP + ROW * i as f64, 1000.0, ROW, "zebra", "");
    }
    let mut ticks: Vec<f64> = LOG_TICKS
        .iter()
        .filter(|tick| tick.0 >= lo && tick.0 <= hi)
        .map(|tick| tick.0)
        .collect();
    if ticks.len() > 9 {
        ticks.retain(|tick| LOG_TICKS.iter().any(|m| m.0 == *tick && m.1));
    }
    for &tick in &ticks {
        svg.line(x.map(tick), TOP, x.map(tick), bottom, "grid");
        svg.line(x.map(tick), bottom, x.map(tick), bottom + 4.0, "axis");
        svg.text(x.map(tick), bottom + 17.0, MIDDLE, "s", &t.short(tick));
    }
    svg.line(PX0, bottom, PX1, bottom, "axis");
    svg.line(x.map(1.0), TOP - 4.0, x.map(1.0), bottom, "ref");
    svg.text(x.map(1.0) - 8.0, bottom + 36.0, END, "s", t.less_likely);
    svg.text(x.map(1.0) + 8.0, bottom + 36.0, START, "s", t.more_likely);

    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let cy = y + ROW / 2.0;
        let clear = (r.ci_low > 1.0 || r.ci_high < 1.0) && !r.odds_ratio.is_nan();
        let interval = format!(
            "{} ({}–{})",
            t.ratio(r.odds_ratio),
            t.ratio(r.ci_low),
            t.ratio(r.ci_high)
        );
        let mut tip = fill(
            t.lift_tip,
            &[
                &r.label,
                &r.kind,
                &interval,
                &t.count(r.profiles, t.profiles),
                &t.pct(r.rate),
                &t.ratio(r.lift),
            ],
        );
        if !clear {
            tip.push_str(t.not_clear_tip);
        }
        svg.group(if clear { "" } else { "nc" }, &tip);
        svg.text(0.0, y + 16.0, START, "h", &clip(&r.label, 40));
        let kind = if clear {
            r.kind.clone()
        } else if r.kind.is_empty() {
            t.not_clear.to_string()
        } else {
            format!("{} · {}", r.kind, t.not_clear)
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
        svg.text(C_N, cy + 4.5, END, "", &t.int(r.profiles));
        svg.text(C_RATE, cy + 4.5, END, "", &t.pct(r.rate));
        svg.text(C_LIFT, cy + 4.5, END, "", &format!("×{}", t.ratio(r.lift)));
        svg.end_group();
    }
    svg.finish()
}

fn calibration_section(out: &mut String, c: &Calibration, t: &Words) {
    section(out, "calibration", t.cal_title, t.cal_how, |out| {
        if c.bins.is_empty() {
            return empty(out, t.cal_empty);
        }
        out.push_str("<div class=\"split\">\n");
        chart(out, calibration_chart(&c.bins, t));
        out.push_str("<div>\n");
        if !c.outcome.is_empty() {
            w!(
                out,
                "<p class=\"below\">{} <b>{}</b></p>\n",
                esc(t.cal_outcome),
                esc(&c.outcome)
            );
        }
        let fig = |v: Option<f64>| v.map_or_else(|| t.na.to_string(), |v| t.num(v, 3));
        w!(
            out,
            "<div class=\"mini\"><div><span class=\"label\">{}</span>\
             <span class=\"value\">{}</span><span class=\"hint\">{}</span></div>\
             <div><span class=\"label\">{}</span><span class=\"value\">{}</span>\
             <span class=\"hint\">{}</span></div></div>\n",
            esc(t.brier),
            fig(c.brier),
            esc(t.brier_hint),
            esc(t.auc),
            fig(c.auc),
            esc(t.auc_hint)
        );
        w!(
            out,
            "<table class=\"compact\"><thead><tr><th class=\"n\">{}</th>\
             <th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>\n",
            esc(t.th_predicted),
            esc(t.th_observed),
            esc(t.th_profiles)
        );
        for b in &c.bins {
            w!(
                out,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                t.pct(b.predicted),
                t.pct(b.observed),
                t.int(b.n)
            );
        }
        out.push_str("</tbody></table>\n</div>\n</div>\n");
    });
}

fn calibration_chart(bins: &[CalibrationBin], t: &Words) -> String {
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
    let mut svg = Svg::new(460.0, 420.0, t.cal_chart);
    for &tick in &ticks {
        let label = t.percent(tick * 100.0, dec);
        svg.line(x.map(tick), T, x.map(tick), B, "grid");
        svg.line(L, y.map(tick), R, y.map(tick), "grid");
        svg.text(x.map(tick), B + 17.0, MIDDLE, "s", &label);
        if tick > 0.0 {
            svg.text(L - 6.0, y.map(tick) + 4.0, END, "s", &label);
        }
    }
    svg.line(L, B, R, B, "axis");
    svg.line(L, T, L, B, "axis");
    svg.line(x.map(0.0), y.map(0.0), x.map(top), y.map(top), "ref");
    svg.text((L + R) / 2.0, B + 38.0, MIDDLE, "s", t.axis_predicted);
    svg.text_up(16.0, (T + B) / 2.0, "s", t.axis_observed);
    let max_n = bins.iter().map(|b| b.n).max().unwrap_or(0).max(1) as f64;
    let mut order: Vec<&CalibrationBin> = bins.iter().filter(finite).collect();
    order.sort_by_key(|b| std::cmp::Reverse(b.n));
    for b in order {
        let r = 3.5 + 11.0 * (b.n as f64 / max_n).sqrt();
        let tip = fill(
            t.cal_tip,
            &[
                &t.pct(b.predicted),
                &t.pct(b.observed),
                &t.count(b.n, t.profiles),
            ],
        );
        svg.circle(x.map(b.predicted), y.map(b.observed), r, "dot", &tip);
    }
    svg.finish()
}

fn score_section(out: &mut String, h: &Histogram, t: &Words) {
    section(out, "scores", t.scores_title, t.scores_how, |out| {
        let bins: Vec<(f64, f64, u64)> = h
            .bins
            .iter()
            .copied()
            .filter(|b| b.0.is_finite() && b.1.is_finite() && b.1 > b.0)
            .collect();
        if bins.is_empty() {
            return empty(out, t.scores_empty);
        }
        chart(out, histogram_chart(&bins, &h.lines, t));
        let total: u64 = bins.iter().map(|b| b.2).sum();
        let mut lines: Vec<&(String, f64)> = h.lines.iter().collect();
        lines.sort_by(|a, b| a.1.total_cmp(&b.1));
        let list: Vec<String> = lines
            .iter()
            .map(|(name, v)| format!("{} ≥ {}", esc(name), t.points(*v)))
            .collect();
        w!(
            out,
            "<p class=\"below\">{}.",
            esc(&t.count(total, t.scored))
        );
        if !list.is_empty() {
            // The list is escaped already; the template is the language's own text.
            w!(out, " {}", fill(&esc(t.thresholds), &[&list.join(" · ")]));
        }
        out.push_str("</p>\n");
    });
}

fn histogram_chart(bins: &[(f64, f64, u64)], lines: &[(String, f64)], t: &Words) -> String {
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
    let mut svg = Svg::new(1000.0, 310.0, t.scores_chart);
    for &tick in &ticks {
        svg.line(L, y.map(tick), R, y.map(tick), "grid");
        svg.text(L - 8.0, y.map(tick) + 4.0, END, "s", &t.num(tick, 0));
    }
    svg.text_up(14.0, (T + B) / 2.0, "s", t.col_profiles);
    for &(from, to, n) in bins {
        let (x0, x1) = (x.map(from), x.map(to));
        let tip = fill(
            t.bin_tip,
            &[&t.points(from), &t.points(to), &t.count(n, t.profiles)],
        );
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
            svg.text(x.map(e), B + 17.0, MIDDLE, "s", &t.points(e));
        }
    }
    svg.text((L + R) / 2.0, B + 40.0, MIDDLE, "s", t.axis_score);

    let mut lines: Vec<&(String, f64)> = lines
        .iter()
        .filter(|l| l.1.is_finite() && l.1 >= lo && l.1 <= hi)
        .collect();
    lines.sort_by(|a, b| a.1.total_cmp(&b.1));
    // Labels sit right of their line, on one of two rows so that close thresholds do not overlap.
    let mut row_end = [f64::NEG_INFINITY; 2];
    for (name, v) in lines {
        let lx = x.map(*v);
        let label = format!("{} ≥ {}", clip(name, 16), t.points(*v));
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
        svg.group("", &fill(t.tier_tip, &[name, &t.points(*v)]));
        svg.line(lx, ly - 12.0, lx, B, "tier");
        let anchor = if flip { END } else { START };
        let tx = if flip { lx - 5.0 } else { lx + 5.0 };
        svg.text(tx, ly, anchor, "tl", &label);
        svg.end_group();
    }
    svg.finish()
}

fn sla_section(out: &mut String, rows: &[SlaRow], t: &Words) {
    section(out, "sla", t.sla_title, t.sla_how, |out| {
        if rows.is_empty() {
            return empty(out, t.sla_empty);
        }
        chart(out, sla_chart(rows, t));
    });
}

fn sla_chart(rows: &[SlaRow], t: &Words) -> String {
    const ROW: f64 = 36.0;
    const X0: f64 = 200.0;
    const X1: f64 = 620.0;
    let x = Scale::linear(0.0, 1.0, X0, X1);
    let mut svg = Svg::new(1000.0, ROW * rows.len() as f64 + 6.0, t.sla_chart);
    for (i, r) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let share = (r.tasks > 0).then(|| r.met.min(r.tasks) as f64 / r.tasks as f64);
        let mut text = fill(
            t.sla_text,
            &[
                &share.map_or_else(|| t.na.to_string(), |s| t.pct(s)),
                &t.int(r.met),
                &t.count(r.tasks, t.tasks_of),
            ],
        );
        if let Some(m) = r.median_minutes {
            text.push_str(" · ");
            text.push_str(&fill(t.median, &[&t.duration_hours(m / 60.0)]));
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

fn changes_section(out: &mut String, changes: &[PlanChange], t: &Words) {
    section(out, "changes", t.changes_title, t.changes_how, |out| {
        if changes.is_empty() {
            return empty(out, t.changes_empty);
        }
        w!(
            out,
            "<div class=\"tablewrap\"><table><thead><tr><th>{}</th><th>{}</th>\
             <th class=\"n\">{}</th><th class=\"n\">{}</th><th>{}</th></tr></thead><tbody>\n",
            esc(t.th_rule),
            esc(t.th_scores),
            esc(t.th_points),
            esc(t.th_change),
            esc(t.th_why)
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
                t.points(c.old),
                t.points(c.new),
                t.points(delta),
                esc(&c.note)
            );
        }
        out.push_str("</tbody></table></div>\n");
    });
}

fn notes_section(out: &mut String, notes: &[String], t: &Words) {
    section(out, "notes", t.notes_title, t.notes_how, |out| {
        if notes.is_empty() {
            return empty(out, t.notes_empty);
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

/// Puts translated `args` into the `{}` slots of `template`, in order.
fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(i) = rest.find("{}") {
        out.push_str(&rest[..i]);
        out.push_str(args.next().copied().unwrap_or(""));
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// Numbers for people, in the language's format.
impl Words {
    /// Puts thousands separators into a string of digits.
    fn group_digits(&self, digits: &str) -> String {
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(self.group);
            }
            out.push(ch);
        }
        out
    }

    /// A count with thousands separators: `1,234,567` (Polish `1 234 567`).
    fn int(&self, n: u64) -> String {
        self.group_digits(&n.to_string())
    }

    /// A count and the noun after it in the form the count needs: `5 osób`, `2 osoby`.
    fn count(&self, n: u64, forms: Forms) -> String {
        let [one, few, many] = forms;
        let form = match self.lang {
            _ if n == 1 => one,
            Lang::En => many,
            Lang::Pl if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) => few,
            Lang::Pl => many,
        };
        format!("{} {form}", self.int(n))
    }

    /// A number with thousands separators and `dec` decimals; `n/a`, `∞` or `-∞` when not
    /// finite.
    fn num(&self, x: f64, dec: usize) -> String {
        if x.is_nan() {
            return self.na.to_string();
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
        out.push_str(&self.group_digits(whole));
        if !frac.is_empty() {
            out.push(self.decimal);
            out.push_str(frac);
        }
        out
    }

    /// A percentage given in percent, with `dec` decimals: `12.3%` (Polish `12,3 %`).
    fn percent(&self, p: f64, dec: usize) -> String {
        format!("{}{}", self.num(p, dec), self.percent)
    }

    /// A share (0–1) as a percentage with one decimal: `12.3%` (Polish `12,3 %`).
    fn pct(&self, x: f64) -> String {
        if x.is_finite() {
            self.percent(x * 100.0, 1)
        } else {
            self.na.to_string()
        }
    }

    /// A ratio with two significant-ish digits: `0.45`, `2.41`, `12.5`, `140`.
    fn ratio(&self, x: f64) -> String {
        let a = x.abs();
        self.num(
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
    fn points(&self, x: f64) -> String {
        let s = self.num(x, 1);
        match s.strip_suffix(&format!("{}0", self.decimal)) {
            Some(whole) => whole.to_string(),
            None => s,
        }
    }

    /// A tick label: up to two decimals, trailing zeros dropped: `0.05`, `0.5`, `1`, `1,000`.
    fn short(&self, x: f64) -> String {
        let s = self.num(x, 2);
        if s.contains(self.decimal) {
            s.trim_end_matches('0')
                .trim_end_matches(self.decimal)
                .to_string()
        } else {
            s
        }
    }

    /// A duration given in hours: `45 min`, `5.2 h`, `3.4 days`.
    fn duration_hours(&self, h: f64) -> String {
        if !h.is_finite() || h < 0.0 {
            self.na.to_string()
        } else if h < 1.0 {
            fill(self.minutes, &[&self.num(h * 60.0, 0)])
        } else if h < 48.0 {
            fill(self.hours, &[&self.num(h, 1)])
        } else {
            fill(self.days, &[&self.num(h / 24.0, 1)])
        }
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

    const EVIL: &str = "<script>alert('x')</script> & \"q\"";

    /// The example with text from data of every kind replaced by `evil`.
    fn with_text(evil: &str) -> Review {
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
        r
    }

    #[test]
    fn text_from_data_is_escaped() {
        let html = render(&with_text(EVIL));
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("alert('x')"), "unescaped quote");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
        assert!(!html.contains("\"q\""));
    }

    /// The example with NaN and infinities wherever a number can be one.
    fn with_non_finite_numbers() -> Review {
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
        r
    }

    #[test]
    fn non_finite_numbers_never_reach_the_page() {
        let r = with_non_finite_numbers();
        for (lang, na) in [(Lang::En, "n/a"), (Lang::Pl, "b.d.")] {
            let html = render_in(&r, lang);
            assert!(
                !has_non_finite_token(&html),
                "NaN or inf in the {lang:?} page"
            );
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
            let calibration = section_of(&html, "calibration");
            assert!(calibration.contains(&format!("<span class=\"value\">{na}</span>")));
            assert!(calibration.contains("<span class=\"value\">∞</span>"));
        }
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
        assert_eq!(EN.int(0), "0");
        assert_eq!(EN.int(999), "999");
        assert_eq!(EN.int(1_000), "1,000");
        assert_eq!(EN.int(1_234_567), "1,234,567");
        assert_eq!(EN.num(-1_234.56, 1), "-1,234.6");
        assert_eq!(EN.num(-0.04, 1), "0.0");
        assert_eq!(EN.num(f64::NAN, 2), "n/a");
        assert_eq!(EN.num(f64::NEG_INFINITY, 2), "-∞");
        assert_eq!(EN.pct(0.1234), "12.3%");
        assert_eq!(EN.pct(1.0), "100.0%");
        assert_eq!(EN.pct(f64::INFINITY), "n/a");
        assert_eq!(EN.ratio(0.456), "0.46");
        assert_eq!(EN.ratio(12.34), "12.3");
        assert_eq!(EN.ratio(1234.6), "1,235");
        assert_eq!(EN.points(15.0), "15");
        assert_eq!(EN.points(-2.5), "-2.5");
        assert_eq!(EN.duration_hours(0.25), "15 min");
        assert_eq!(EN.duration_hours(5.25), "5.2 h");
        assert_eq!(EN.duration_hours(72.0), "3.0 days");
        assert_eq!(EN.duration_hours(-1.0), "n/a");
        assert_eq!(coord(f64::NAN), "0");
        assert_eq!(coord(-0.01), "0");
        assert_eq!(coord(12.0), "12");
        assert_eq!(EN.short(0.05), "0.05");
        assert_eq!(EN.short(10.0), "10");
        assert_eq!(EN.short(1000.0), "1,000");
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

    /// Every `<h2>` heading of a page.
    fn headings(html: &str) -> Vec<&str> {
        html.split("<h2>")
            .skip(1)
            .map(|s| &s[..s.find("</h2>").expect("h2 closed")])
            .collect()
    }

    #[test]
    fn polish_page_speaks_polish() {
        let html = render_in(&example(), Lang::Pl);
        assert!(html.starts_with("<!doctype html>\n<html lang=\"pl\">"));
        let h2 = headings(&html);
        assert_eq!(h2.len(), 11, "{h2:?}");
        for heading in [
            "Tydzień w skrócie",
            "Lejek sprzedażowy",
            "Konwersja według poziomu (tier)",
            "Które sygnały zapowiadają konwersję",
            "Czy prognozy się sprawdzają (kalibracja)",
            "Proponowane zmiany w planie punktacji",
            "Uwagi",
        ] {
            assert!(h2.contains(&heading), "no heading {heading:?} in {h2:?}");
        }
        let english_page = render(&example());
        for heading in headings(&english_page) {
            assert!(
                !h2.contains(&heading),
                "English heading {heading:?} on the Polish page"
            );
        }
        // English words of charts, tooltips and tables; none of them is in the example's data.
        for text in [
            "of previous stage",
            "vs week before",
            "known contacts",
            "odds ratio (95% CI)",
            "likely to convert",
            "not clear",
            "converted",
            "Brier score",
            "Outcome predicted",
            "scored profiles",
            "Tier thresholds",
            " met · ",
            "What it scores",
            "weekly review",
        ] {
            assert!(
                english_page.contains(text),
                "{text:?} is not on the English page"
            );
            assert!(!html.contains(text), "English {text:?} on the Polish page");
        }
        for text in [
            "14,3\u{a0}% z poprzedniego etapu",
            "mediana 36\u{a0}min · 59,3\u{a0}% anonimowych",
            "82,7\u{a0}% anonimowych",
            "Engaged visitors: 48\u{a0}211 osób (znane kontakty: 8\u{a0}341, anonimowi: 39\u{a0}870)",
            "8,0\u{a0}% · konwersje: 96 z 1\u{a0}204",
            "iloraz szans 3,62 (2,81–4,66); 2\u{a0}310 osób; konwersja 8,1\u{a0}%",
            "signal · niepewne",
            "prognoza 52,0\u{a0}%, w rzeczywistości 44,0\u{a0}%, 48 osób",
            "48\u{a0}211 osób z punktacją. Progi poziomów: cool ≥ 15 · warm ≥ 35 · hot ≥ 60.",
            "84,4\u{a0}% w terminie · 81 z 96 zadań · mediana 11\u{a0}min",
            "4 → <b class=\"down\">-2,5</b>",
            "<footer>Intent Engine · przegląd tygodnia · Generated",
        ] {
            assert!(html.contains(text), "Polish page lacks {text:?}");
        }
        let empty = render_in(&Review::default(), Lang::Pl);
        assert!(empty.contains("<h1>Przegląd tygodnia</h1>"));
        assert!(empty.contains("<p class=\"empty\">Nie ma jeszcze modelu:"));
        assert_eq!(empty.matches("<p class=\"empty\">").count(), 11);
        assert!(!empty.contains("No ") && !empty.contains(" yet"));
        let odd = render_in(&with_non_finite_numbers(), Lang::Pl);
        assert!(odd.contains("b.d.") && !odd.contains("n/a"));
    }

    #[test]
    fn polish_numbers_use_decimal_comma_and_hard_spaces() {
        assert_eq!(PL.int(999), "999");
        assert_eq!(PL.int(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(PL.num(12_345.64, 1), "12\u{a0}345,6");
        assert_eq!(PL.num(-1_234.56, 1), "-1\u{a0}234,6");
        assert_eq!(PL.num(f64::NAN, 2), "b.d.");
        assert_eq!(PL.pct(0.145), "14,5\u{a0}%");
        assert_eq!(PL.pct(f64::NAN), "b.d.");
        assert_eq!(PL.percent(20.0, 0), "20\u{a0}%");
        assert_eq!(PL.ratio(3.617), "3,62");
        assert_eq!(PL.ratio(1234.6), "1\u{a0}235");
        assert_eq!(PL.points(15.0), "15");
        assert_eq!(PL.points(-2.5), "-2,5");
        assert_eq!(PL.short(0.05), "0,05");
        assert_eq!(PL.short(10.0), "10");
        assert_eq!(PL.short(1000.0), "1\u{a0}000");
        assert_eq!(PL.duration_hours(0.25), "15\u{a0}min");
        assert_eq!(PL.duration_hours(5.25), "5,2\u{a0}h");
        assert_eq!(PL.duration_hours(72.0), "3,0\u{a0}dnia");
        let people = |n| PL.count(n, PL.people);
        assert_eq!(people(1), "1 osoba");
        assert_eq!(people(3), "3 osoby");
        assert_eq!(people(5), "5 osób");
        assert_eq!(people(12), "12 osób");
        assert_eq!(people(22), "22 osoby");
        assert_eq!(people(1_204), "1\u{a0}204 osoby");
        assert_eq!(people(1_213), "1\u{a0}213 osób");
        assert_eq!(
            EN.count(1, EN.people),
            "1 people",
            "English keeps today's text"
        );
    }

    #[test]
    fn languages_have_codes() {
        assert_eq!(Lang::default(), Lang::En);
        assert_eq!(Lang::En.code(), "en");
        assert_eq!(Lang::Pl.code(), "pl");
        for (code, lang) in [
            ("en", Some(Lang::En)),
            ("pl", Some(Lang::Pl)),
            (" PL ", Some(Lang::Pl)),
            ("pl-PL", Some(Lang::Pl)),
            ("en_GB", Some(Lang::En)),
            ("de", None),
            ("plx", None),
            ("", None),
        ] {
            assert_eq!(Lang::parse(code), lang, "{code:?}");
        }
    }

    #[test]
    fn templates_have_the_same_slots_in_every_language() {
        let templates = |w: &Words| {
            [
                w.minutes,
                w.hours,
                w.days,
                w.funnel_tip,
                w.funnel_tip_rate,
                w.funnel_tip_median,
                w.of_previous,
                w.median,
                w.anonymous_share,
                w.vs_week_before,
                w.per_week,
                w.tier_text,
                w.odds_chart,
                w.lift_tip,
                w.cal_tip,
                w.thresholds,
                w.bin_tip,
                w.tier_tip,
                w.sla_text,
            ]
        };
        for (en, pl) in templates(&EN).into_iter().zip(templates(&PL)) {
            assert!(en.contains("{}"), "{en:?} is not a template");
            assert_eq!(
                en.matches("{}").count(),
                pl.matches("{}").count(),
                "{en:?} / {pl:?}"
            );
        }
        assert_eq!(fill("{} of {}", &["3", "4"]), "3 of 4");
        assert_eq!(fill("a {} b", &[]), "a  b");
    }

    #[test]
    fn sections_embed_without_page_tags() {
        for lang in [Lang::En, Lang::Pl] {
            let r = example();
            let part = sections(&r, lang);
            assert!(
                part.starts_with(&format!("<div class=\"review\" lang=\"{}\">", lang.code())),
                "{}",
                &part[..60]
            );
            assert!(part.ends_with("</div>\n"));
            // `<head>`, not `<head`: the review's own `<header>` stays.
            for tag in [
                "<!doctype",
                "<html",
                "<head>",
                "<body",
                "<style",
                "<main",
                "<footer",
                "<script",
            ] {
                assert!(!part.contains(tag), "{tag} in sections()");
            }
            assert_eq!(part.matches("<div").count(), part.matches("</div>").count());
            assert_eq!(part.matches("<section id=").count(), 11);
            assert!(part.contains("<h1>Weekly review — Auto Nowak showroom, Kraków</h1>"));
            let page = render_in(&r, lang);
            assert!(page.contains(&part), "the page shows exactly the sections");
            assert!(page.contains(style()), "the page uses the scoped style");
        }
    }

    /// Selectors of `css` not scoped under `.review`, and at-rules other than `@media`.
    fn unscoped_selectors(css: &str) -> Vec<String> {
        let mut bad = Vec::new();
        let mut rest = css;
        while let Some(i) = rest.find(['{', '}']) {
            let prelude = rest[..i].trim();
            if rest[i..].starts_with('}') || prelude.starts_with("@media") {
                // The end or the start of a @media block: rules follow.
                rest = &rest[i + 1..];
                continue;
            }
            if prelude.starts_with('@') || prelude.contains("/*") {
                bad.push(prelude.to_string());
            } else {
                for selector in prelude.split(',').map(str::trim) {
                    let scoped = selector.strip_prefix(".review").is_some_and(|after| {
                        after.is_empty() || after.starts_with([' ', '\n', '.', ':', '[', '#', '>'])
                    });
                    if !scoped {
                        bad.push(selector.to_string());
                    }
                }
            }
            let end = rest[i..].find('}').expect("rule closed") + i;
            rest = &rest[end + 1..];
        }
        bad
    }

    #[test]
    fn style_is_scoped_under_review() {
        assert_eq!(unscoped_selectors(style()), Vec::<String>::new());
        assert!(
            style().matches('{').count() > 80,
            "style() parsed too little"
        );
        assert!(!style().contains(":root") && !style().contains("@page"));
        let bad = "h2{a:b}.review a,p{c:d}\n.reviewer .x{e:f}@media print{.review i,body{g:h}}@page{size:A4}";
        assert_eq!(
            unscoped_selectors(bad),
            ["h2", "p", ".reviewer .x", "body", "@page"],
            "the checker catches unscoped selectors"
        );
    }

    #[test]
    fn text_from_data_is_escaped_in_polish() {
        let r = with_text(EVIL);
        for html in [render_in(&r, Lang::Pl), sections(&r, Lang::Pl)] {
            assert!(!html.contains("<script"), "unescaped script tag");
            assert!(!html.contains("alert('x')"), "unescaped quote");
            assert!(!html.contains("\"q\""));
            // Title, period, generated, card (3), stage (2 + tooltip), week, tier, signal, kind,
            // path, outcome, threshold, SLA group, rule, label, note and a note: escaped each time.
            assert!(
                html.matches("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
                    .count()
                    > 20
            );
        }
    }

    /// Writes the example pages for a look in a browser (see the module docs of the CLI).
    #[test]
    fn writes_example_page() {
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("intent-review-example.html"), render(&example()))
            .expect("write example page");
        std::fs::write(
            dir.join("intent-review-example-pl.html"),
            render_in(&example(), Lang::Pl),
        )
        .expect("write Polish example page");
    }
}
