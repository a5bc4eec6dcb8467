//! Inline SVG charts for the dashboard: a score over time with its tier bands, and horizontal
//! bars. Every number drawn is also written as text (a label or a `<title>` tooltip); text from
//! data is escaped; non-finite numbers never reach coordinates.

use intent_core::time::Ts;
use std::fmt::Write as _;

/// Escapes text for SVG and HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// A tier's band: its name and lowest score (`None` for the lowest tier).
pub struct Band<'a> {
    /// Tier name.
    pub name: &'a str,
    /// Lowest score of the tier.
    pub min: Option<f64>,
}

/// One point of the score line: when, the score then, and its tooltip.
pub struct Point {
    /// The moment.
    pub ts: Ts,
    /// The score then.
    pub score: f64,
    /// Tooltip text.
    pub note: String,
}

/// Colour class of a tier by its rank (0 = highest).
fn band_class(rank: usize, levels: usize) -> &'static str {
    match (rank, levels) {
        (0, _) => "band-hot",
        (r, n) if r + 1 == n => "band-cold",
        _ => "band-warm",
    }
}

/// The score over time, with each tier's band behind the line, the axis in days and a dot for
/// every event that awarded points (`marks`: when, points, tooltip).
pub fn score_over_time(
    id: &str,
    line: &[Point],
    bands: &[Band<'_>],
    marks: &[(Ts, f64, String)],
    day_label: impl Fn(Ts) -> String,
) -> String {
    let (w, h) = (760.0, 240.0);
    let (left, right, top, bottom) = (40.0, 70.0, 10.0, 28.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let t0 = line.first().map_or(0, |p| p.ts);
    let t1 = line.last().map_or(1, |p| p.ts).max(t0 + 1);
    let top_line = bands.iter().filter_map(|b| b.min).fold(0.0f64, f64::max);
    let peak = line.iter().map(|p| finite(p.score)).fold(0.0f64, f64::max);
    let ymax = (peak.max(top_line * 1.25)).max(10.0);
    let x = |t: Ts| left + pw * ((t - t0) as f64 / (t1 - t0) as f64);
    let y = |s: f64| top + ph * (1.0 - (finite(s).clamp(0.0, ymax) / ymax));
    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r#"<svg id="{}" class="chart score-chart" viewBox="0 0 {w} {h}" role="img" aria-label="score over time" xmlns="http://www.w3.org/2000/svg">"#,
        esc(id)
    );
    // Bands, highest tier first: each from its line up to the line of the tier above.
    let mut upper = ymax;
    for (rank, b) in bands.iter().enumerate() {
        let lower = b.min.unwrap_or(0.0).min(upper);
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{left}" y="{:.1}" width="{pw}" height="{:.1}"><title>{} ≥ {}</title></rect><text class="band-label" x="{:.1}" y="{:.1}">{}</text>"#,
            band_class(rank, bands.len()),
            y(upper),
            (y(lower) - y(upper)).max(0.0),
            esc(b.name),
            lower,
            left + pw + 6.0,
            (y(upper) + y(lower)) / 2.0 + 4.0,
            esc(b.name)
        );
        if b.min.is_some() {
            let _ = write!(
                svg,
                r#"<line class="threshold" x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
                left + pw,
                y(lower),
                y(lower)
            );
        }
        upper = lower;
    }
    // Axes: score ticks and a few day ticks.
    for i in 0..=4 {
        let s = ymax * i as f64 / 4.0;
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text>"#,
            left - 4.0,
            y(s) + 4.0,
            s
        );
    }
    for i in 0..=4 {
        let t = t0 + (t1 - t0) * i / 4;
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(t),
            h - 8.0,
            esc(&day_label(t))
        );
    }
    if !line.is_empty() {
        svg.push_str(r#"<polyline class="score-line" points=""#);
        for p in line {
            let _ = write!(svg, "{:.1},{:.1} ", x(p.ts), y(p.score));
        }
        svg.push_str(r#""/>"#);
    }
    for p in line.iter().filter(|p| !p.note.is_empty()) {
        let _ = write!(
            svg,
            r#"<circle class="sample" cx="{:.1}" cy="{:.1}" r="6"><title>{}</title></circle>"#,
            x(p.ts),
            y(p.score),
            esc(&p.note)
        );
    }
    for (ts, pts, note) in marks {
        let cls = if *pts < 0.0 { "mark neg" } else { "mark" };
        let _ = write!(
            svg,
            r#"<circle class="{cls}" cx="{:.1}" cy="{:.1}" r="3"><title>{}</title></circle>"#,
            x((*ts).clamp(t0, t1)),
            top + ph + 4.0,
            esc(note)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars: one row per (label, value, text shown at the bar's end); bars are scaled to
/// the largest value.
pub fn bars(id: &str, rows: &[(String, f64, String)]) -> String {
    let row_h = 26.0;
    let (w, label_w) = (760.0, 210.0);
    let h = row_h * rows.len() as f64 + 8.0;
    let max = rows.iter().map(|r| finite(r.1)).fold(0.0f64, f64::max);
    let span = w - label_w - 150.0;
    let mut svg = String::with_capacity(2048);
    let _ = write!(
        svg,
        r#"<svg id="{}" class="chart bars" viewBox="0 0 {w} {h:.0}" role="img" xmlns="http://www.w3.org/2000/svg">"#,
        esc(id)
    );
    for (i, (label, value, text)) in rows.iter().enumerate() {
        let y0 = 4.0 + i as f64 * row_h;
        let len = if max > 0.0 {
            span * finite(*value).max(0.0) / max
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r#"<text class="bar-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {}</title></rect><text class="bar-value" x="{:.1}" y="{:.1}">{}</text>"#,
            label_w - 8.0,
            y0 + row_h * 0.65,
            esc(label),
            y0 + 3.0,
            len.max(1.0),
            row_h - 8.0,
            esc(label),
            esc(text),
            label_w + len + 6.0,
            y0 + row_h * 0.65,
            esc(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_text_and_survive_odd_numbers() {
        let line = vec![
            Point {
                ts: 0,
                score: 10.0,
                note: String::new(),
            },
            Point {
                ts: 1000,
                score: f64::NAN,
                note: "<b>".into(),
            },
        ];
        let bands = [
            Band {
                name: "hot",
                min: Some(60.0),
            },
            Band {
                name: "cold & co",
                min: None,
            },
        ];
        let svg = score_over_time("s", &line, &bands, &[(500, -3.0, "x".into())], |t| {
            t.to_string()
        });
        assert!(svg.contains("cold &amp; co") && svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(svg.contains(r#"class="mark neg""#));
        let b = bars(
            "b",
            &[
                ("a<".into(), f64::INFINITY, "∞".into()),
                ("b".into(), 2.0, "2".into()),
            ],
        );
        assert!(b.contains("a&lt;") && !b.contains("NaN") && !b.contains("inf"));
        // A single point and an empty line still draw.
        assert!(score_over_time("e", &[], &bands, &[], |_| String::new()).ends_with("</svg>"));
    }
}
