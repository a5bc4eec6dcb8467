//! The funnel: engaged → call to action → lead (identified) → appointment → outcome. Each
//! profile's [`Journey`] says when it first reached each stage; [`funnel`] counts them, the step
//! conversion rates and the median time between steps, for any split (channel, location,
//! source, week), with anonymous and identified profiles apart.

use intent_core::outcome::OutcomeKind;
use intent_core::plan::{Plan, RuleRef};
use intent_core::time::Ts;
use rustc_hash::FxHashMap;

/// The stages, in order.
pub const STAGES: [&str; 5] = ["engaged", "cta", "lead", "appointment", "outcome"];

/// Human names of the stages.
pub const STAGE_LABELS: [&str; 5] = [
    "Engaged",
    "Call to action",
    "Lead (identified)",
    "Appointment",
    "Outcome",
];

/// One profile's way through the funnel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journey {
    /// When it first reached each stage.
    pub reached: [Option<Ts>; 5],
    /// Whether the outcome was a sale (won).
    pub won: bool,
    /// The split values: the first engaged event's channel, the latest location, the first
    /// source, and the ISO week it first engaged (texts; empty when unknown).
    pub channel: String,
    /// See `channel`.
    pub location: String,
    /// See `channel`.
    pub source: String,
    /// See `channel`.
    pub week: String,
}

impl Journey {
    /// The deepest stage in a row from the start: a profile counts in a stage only if it
    /// reached every stage before it too (a lead with no recorded engagement still counts as
    /// engaged when it books an appointment, so later stages imply earlier ones).
    pub fn depth(&self) -> usize {
        self.reached
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1)
    }

    /// Whether the profile is still anonymous (never reached `lead`).
    pub fn anonymous(&self) -> bool {
        self.reached[2].is_none()
    }
}

/// Builds a [`Journey`] from a profile's events in canonical order: call [`Builder::event`]
/// for each event, [`Builder::award`] for each award the scorer makes for it and
/// [`Builder::override_fired`] for each override it fires, then [`Builder::finish`]. The batch
/// reports and the service feed it the same way, so they count the same funnel.
pub struct Builder<'a> {
    plan: &'a Plan,
    journey: Journey,
    first_source: bool,
}

impl<'a> Builder<'a> {
    /// A new journey under `plan`'s funnel definition.
    pub fn new(plan: &'a Plan) -> Self {
        Builder {
            plan,
            journey: Journey::default(),
            first_source: false,
        }
    }

    fn reach(&mut self, stage: usize, ts: Ts) {
        if self.journey.reached[stage].is_none() {
            self.journey.reached[stage] = Some(ts);
        }
    }

    /// An event: its time, whether it carries a user id, the outcome it records, and its
    /// channel, location and source when it names them.
    pub fn event(
        &mut self,
        ts: Ts,
        identified: bool,
        outcome: Option<OutcomeKind>,
        channel: Option<&str>,
        location: Option<&str>,
        source: Option<&str>,
    ) {
        if identified {
            self.reach(2, ts);
        }
        if let Some(k) = outcome {
            let f = &self.plan.funnel;
            if f.appointment & k.bit() != 0 {
                self.reach(3, ts);
            }
            if f.outcome & k.bit() != 0 {
                self.reach(4, ts);
                self.journey.won |= k == OutcomeKind::Sale;
            }
        }
        if self.journey.channel.is_empty()
            && let Some(c) = channel
        {
            self.journey.channel = c.to_string();
        }
        if let Some(l) = location {
            self.journey.location = l.to_string();
        }
        if !self.first_source
            && let Some(s) = source
        {
            self.journey.source = s.to_string();
            self.first_source = true;
        }
    }

    /// The scorer awarded `rule` for the current event (0-point, capped awards count too).
    pub fn award(&mut self, rule: RuleRef, ts: Ts, channel: Option<&str>) {
        let f = &self.plan.funnel;
        let engaged = match (rule, &f.engaged) {
            (_, None) => true,
            (RuleRef::Signal(i), Some(list)) => list.contains(&i),
            _ => false,
        };
        if engaged && self.journey.reached[0].is_none() {
            self.reach(0, ts);
            self.journey.week = iso_week(ts);
            if let Some(c) = channel {
                self.journey.channel = c.to_string();
            }
        }
        let cta = match rule {
            RuleRef::Signal(i) => f.cta_signals.contains(&i),
            RuleRef::Sequence(i) => f.cta_sequences.contains(&i),
            RuleRef::Band(_) => false,
        };
        if cta {
            self.reach(1, ts);
        }
    }

    /// The current event fired override `index`.
    pub fn override_fired(&mut self, index: usize, ts: Ts) {
        if self.plan.funnel.cta_overrides.contains(&index) {
            self.reach(1, ts);
        }
    }

    /// The journey.
    pub fn finish(mut self) -> Journey {
        if self.journey.week.is_empty()
            && let Some(first) = self.journey.reached.iter().flatten().min()
        {
            self.journey.week = iso_week(*first);
        }
        self.journey
    }
}

/// The ISO week of a moment (UTC), e.g. `2026-W10`.
pub fn iso_week(ts: Ts) -> String {
    match jiff::Timestamp::from_millisecond(ts) {
        Ok(t) => {
            let d = t.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
            format!("{}-W{:02}", d.year(), d.week())
        }
        Err(_) => String::new(),
    }
}

/// One stage's figures.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Step {
    /// Stage id.
    pub stage: &'static str,
    /// Stage name.
    pub label: &'static str,
    /// Profiles that reached it (or a later stage).
    pub profiles: u64,
    /// Of those, profiles never identified.
    pub anonymous: u64,
    /// Share of the previous stage's profiles that reached it.
    pub rate: Option<f64>,
    /// Median hours from the previous stage (profiles with both times, in order).
    pub median_hours: Option<f64>,
}

/// The funnel of one segment.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Segment {
    /// The split value (`all` for the whole funnel).
    pub name: String,
    /// The five stages.
    pub steps: Vec<Step>,
    /// Profiles whose outcome is a sale.
    pub won: u64,
}

/// How to split the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// One funnel.
    None,
    /// By first channel.
    Channel,
    /// By latest location.
    Location,
    /// By first source.
    Source,
    /// By week of first engagement.
    Week,
}

impl Split {
    /// Parses `channel`, `location`, `source`, `week` or `none`.
    pub fn parse(text: &str) -> Option<Split> {
        Some(match text {
            "none" | "all" => Split::None,
            "channel" => Split::Channel,
            "location" => Split::Location,
            "source" => Split::Source,
            "week" => Split::Week,
            _ => return None,
        })
    }

    fn key(self, j: &Journey) -> &str {
        let k = match self {
            Split::None => "all",
            Split::Channel => &j.channel,
            Split::Location => &j.location,
            Split::Source => &j.source,
            Split::Week => &j.week,
        };
        if k.is_empty() { "(unknown)" } else { k }
    }
}

/// Counts the funnel, split as asked; segments come largest first (weeks in time order).
pub fn funnel(journeys: &[Journey], split: Split) -> Vec<Segment> {
    let mut groups: FxHashMap<&str, Vec<&Journey>> = FxHashMap::default();
    for j in journeys {
        if j.depth() > 0 {
            groups.entry(split.key(j)).or_default().push(j);
        }
    }
    let mut out: Vec<Segment> = groups
        .into_iter()
        .map(|(name, list)| segment(name, &list))
        .collect();
    if split == Split::Week {
        out.sort_by(|a, b| a.name.cmp(&b.name));
    } else {
        out.sort_by(|a, b| {
            b.steps[0]
                .profiles
                .cmp(&a.steps[0].profiles)
                .then(a.name.cmp(&b.name))
        });
    }
    out
}

fn segment(name: &str, list: &[&Journey]) -> Segment {
    let mut steps = Vec::with_capacity(5);
    for (s, (&stage, &label)) in STAGES.iter().zip(&STAGE_LABELS).enumerate() {
        let at: Vec<&&Journey> = list.iter().filter(|j| j.depth() > s).collect();
        let profiles = at.len() as u64;
        let anonymous = at.iter().filter(|j| j.anonymous()).count() as u64;
        let rate = (s > 0).then(|| {
            let before = steps.last().map_or(0, |p: &Step| p.profiles);
            if before == 0 {
                f64::NAN
            } else {
                profiles as f64 / before as f64
            }
        });
        let median_hours = (s > 0)
            .then(|| {
                let mut gaps: Vec<f64> = at
                    .iter()
                    .filter_map(|j| match (j.reached[s - 1], j.reached[s]) {
                        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 3_600_000.0),
                        _ => None,
                    })
                    .collect();
                crate::stats::median(&mut gaps)
            })
            .flatten();
        steps.push(Step {
            stage,
            label,
            profiles,
            anonymous,
            rate,
            median_hours,
        });
    }
    Segment {
        name: name.to_string(),
        won: list.iter().filter(|j| j.won).count() as u64,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(reached: [Option<Ts>; 5], channel: &str) -> Journey {
        Journey {
            reached,
            channel: channel.into(),
            ..Journey::default()
        }
    }

    #[test]
    fn counts_rates_and_medians() {
        const H: Ts = 3_600_000;
        let list = vec![
            j(
                [Some(0), Some(H), Some(3 * H), Some(10 * H), Some(20 * H)],
                "web",
            ),
            j([Some(0), Some(2 * H), None, None, None], "web"),
            j([Some(0), None, None, None, None], "showroom"),
            // Booked with no recorded engagement: counts in the earlier stages too.
            j([None, None, Some(0), Some(H), None], "showroom"),
            j([None; 5], "web"),
        ];
        let all = funnel(&list, Split::None);
        assert_eq!(all.len(), 1);
        let counts: Vec<u64> = all[0].steps.iter().map(|s| s.profiles).collect();
        assert_eq!(counts, [4, 3, 2, 2, 1]);
        assert_eq!(all[0].steps[1].rate, Some(0.75));
        assert_eq!(all[0].steps[0].anonymous, 2);
        // engaged → CTA: 1 h and 2 h.
        assert_eq!(all[0].steps[1].median_hours, Some(1.5));
        // lead → appointment: 7 h and 1 h.
        assert_eq!(all[0].steps[3].median_hours, Some(4.0));
        let by = funnel(&list, Split::Channel);
        assert_eq!(by[0].steps[0].profiles, 2);
        assert_eq!(
            by.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().len(),
            2
        );
    }
}
