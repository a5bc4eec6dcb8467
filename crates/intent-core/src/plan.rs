//! The plan file: a YAML document a marketer reads and reviews, parsed into a validated [`Plan`].
//!
//! `PlanFile` and its parts are the wire form (serde, unknown keys rejected); [`Plan::parse`] turns
//! them into the domain `Plan`, checking every cross-reference. Every error names the file, line and
//! column and says what was expected. The reference for each key is the doc comment on its field.

use crate::event::{Event, EventType, FieldPath};
use crate::predicate::Predicate;
use crate::time::Duration;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// The plan format version this build reads.
pub const PLAN_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem in a plan file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanIssue {
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Everything wrong with a plan file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The file the plan came from, as given.
    pub file: String,
    /// The problems, in file order.
    pub issues: Vec<PlanIssue>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, issue.line, issue.column, issue.message
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Small wire types with their own parsing

/// A duration written as `30m`, `24h`, `14d`.
#[derive(Debug, Clone, Copy)]
pub struct DurationText(pub Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text)
            .map(DurationText)
            .map_err(de::Error::custom)
    }
}

/// A half-life: a duration, or `none` for points that never fade.
#[derive(Debug, Clone, Copy)]
pub struct HalfLifeText(pub Option<Duration>);

impl<'de> Deserialize<'de> for HalfLifeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim() == "none" {
            return Ok(HalfLifeText(None));
        }
        Duration::parse(&text)
            .map(|d| HalfLifeText(Some(d)))
            .map_err(|e| de::Error::custom(format!("{e}, or `none` for no decay")))
    }
}

/// A dotted field path such as `properties.duration_s`.
#[derive(Debug, Clone)]
pub struct PathText(pub FieldPath);

impl<'de> Deserialize<'de> for PathText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FieldPath::parse(&text)
            .map(PathText)
            .map_err(de::Error::custom)
    }
}

/// One value or a list of them.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<T> {
            Many(Vec<T>),
            One(T),
        }
        match Either::deserialize(d)? {
            Either::Many(v) => Ok(OneOrMany(v)),
            Either::One(v) => Ok(OneOrMany(vec![v])),
        }
    }
}

/// An event type name.
#[derive(Debug, Clone, Copy)]
pub struct TypeText(pub EventType);

impl<'de> Deserialize<'de> for TypeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EventType::parse(&text).map(TypeText).ok_or_else(|| {
            de::Error::custom(format!(
                "`{text}` is not an event type: use track, identify, page, screen, group or alias"
            ))
        })
    }
}

/// How often a rule may award points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Frequency {
    /// Every matching event.
    #[default]
    Every,
    /// Only the first matching event, ever.
    Once,
    /// At most `count` matching events per calendar `period` (`1d` = UTC day, `1w` = ISO week).
    AtMost {
        /// How many.
        count: u32,
        /// Per how long.
        period: Duration,
    },
}

impl<'de> Deserialize<'de> for Frequency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Frequency;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`every`, `once` or `{ at_most: N, per: 1d }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Frequency, E> {
                match v {
                    "every" => Ok(Frequency::Every),
                    "once" => Ok(Frequency::Once),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a frequency: use `every`, `once` or `{{ at_most: 3, per: 1d }}`"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frequency, A::Error> {
                let (mut count, mut period) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "at_most" => count = Some(map.next_value::<u32>()?),
                        "per" => period = Some(map.next_value::<DurationText>()?.0),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}` in frequency: expected `at_most` and `per`"
                            )));
                        }
                    }
                }
                match (count, period) {
                    (Some(0), _) => Err(de::Error::custom("`at_most` must be at least 1")),
                    (Some(count), Some(period)) => Ok(Frequency::AtMost { count, period }),
                    _ => Err(de::Error::custom(
                        "a frequency map needs both `at_most` and `per`, e.g. `{ at_most: 3, per: 1d }`",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Field tests, all of which must hold: `{ properties.cta: ask_person, properties.duration_s: { gte: 60 } }`.
#[derive(Debug, Clone, Default)]
pub struct Conditions(pub Vec<(FieldPath, Predicate)>);

impl<'de> Deserialize<'de> for Conditions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Conditions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of field paths to tests, e.g. `properties.cta: ask_person`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Conditions, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let path = FieldPath::parse(&key).map_err(de::Error::custom)?;
                    let pred: Predicate = map.next_value()?;
                    out.push((path, pred));
                }
                Ok(Conditions(out))
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------------------------
// The wire form

/// The plan file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Format version; must be 1.
    pub version: Spanned<u32>,
    /// Short name of the plan.
    pub name: String,
    /// What the plan is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Plan-wide decay of engagement points.
    #[serde(default)]
    pub decay: Option<DecayFile>,
    /// Engagement signals: events that add or remove points.
    #[serde(default)]
    pub signals: Vec<SignalFile>,
    /// Fit (demographic, declared) rules and grades, kept apart from engagement.
    #[serde(default)]
    pub fit: Option<FitFile>,
    /// Session aggregates (dwell time, depth) scored by bands.
    #[serde(default)]
    pub sessions: Option<SessionFile>,
    /// Ordered steps within a time window that earn a bonus.
    #[serde(default)]
    pub sequences: Vec<SequenceFile>,
    /// Named score groups keyed by an event property (e.g. per car model).
    #[serde(default)]
    pub groups: Vec<GroupFile>,
    /// Tier thresholds.
    pub tiers: TiersFile,
    /// Escalations that force a tier for a while.
    #[serde(default)]
    pub overrides: Vec<OverrideFile>,
    /// Rules that mark a profile `disqualified`.
    #[serde(default)]
    pub disqualifiers: Vec<DisqualifierFile>,
    /// What sales does about each tier: playbooks, SLAs, business hours, routing, lifecycle
    /// stages.
    #[serde(default)]
    pub follow_up: Option<crate::action::plan::FollowUpFile>,
    /// Events that record outcomes (appointments, sales, lost deals): labels for learning and
    /// the funnel, never points.
    #[serde(default)]
    pub outcomes: Vec<OutcomeFile>,
    /// What each funnel stage means.
    #[serde(default)]
    pub funnel: Option<FunnelFile>,
    /// A fitted model (written by `intent learn`): the probability of an outcome within each
    /// horizon, from the plan's own rules.
    #[serde(default)]
    pub model: Option<crate::model::ModelFile>,
}

/// One entry of `outcomes:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeFile {
    /// `appointment`, `shown`, `no_show`, `test_drive`, `sale` or `lost`.
    pub outcome: Spanned<String>,
    /// The events that record it.
    pub when: MatchFile,
    /// Where the value is, e.g. `properties.value`.
    #[serde(default)]
    pub value: Option<PathText>,
    /// Where the reason is, e.g. `properties.reason`.
    #[serde(default)]
    pub reason: Option<PathText>,
}

/// `funnel:` — what each stage of engaged → CTA → lead → appointment → outcome means.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelFile {
    /// Signals whose events make a profile engaged (default: any signal).
    #[serde(default)]
    pub engaged: Option<Vec<Spanned<String>>>,
    /// Signals, sequences or overrides that are a call to action (a form, a CTA tap, "ask for a
    /// person").
    #[serde(default)]
    pub cta: Vec<Spanned<String>>,
    /// Outcomes that count as an appointment (default: appointment, shown, no_show, test_drive).
    #[serde(default)]
    pub appointment: Option<Vec<Spanned<String>>>,
    /// Outcomes that close the funnel (default: sale, lost).
    #[serde(default)]
    pub outcome: Option<Vec<Spanned<String>>>,
}

/// `decay:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecayFile {
    /// Points lose half their value every `half_life` (e.g. `14d`); `none` to keep them whole.
    #[serde(default)]
    pub half_life: Option<HalfLifeText>,
    /// Only points from the last `expire_after` count (e.g. `90d`).
    #[serde(default)]
    pub expire_after: Option<DurationText>,
}

/// `when:` — which events a rule matches. All given parts must hold.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    /// Event type(s): track, identify, page, screen, group, alias.
    #[serde(rename = "type", default)]
    pub kind: Option<OneOrMany<TypeText>>,
    /// Event name(s): the track `event`, or the page/screen `name`.
    #[serde(default)]
    pub event: Option<OneOrMany<String>>,
    /// Channel(s): `context.channel` (web, email, showroom, ...).
    #[serde(default)]
    pub channel: Option<OneOrMany<String>>,
    /// Field tests, e.g. `properties.cta: ask_person`.
    #[serde(rename = "where", default)]
    pub conditions: Option<Conditions>,
}

/// One engagement signal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalFile {
    /// Stable id (letters, digits, `_`), used in explanations and sequences.
    pub id: Spanned<String>,
    /// Human description shown in explanations.
    #[serde(default)]
    pub label: Option<String>,
    /// Which events match.
    pub when: MatchFile,
    /// Points per matching event (negative to subtract), or per unit when `per` is set.
    pub points: f64,
    /// Award `points` per `every` units of a numeric property, at most `max` per event.
    #[serde(default)]
    pub per: Option<PerFile>,
    /// `every` (default), `once`, or `{ at_most: N, per: 1d }`.
    #[serde(default)]
    pub frequency: Option<Frequency>,
    /// At most this many points (in absolute value) per period.
    #[serde(default)]
    pub cap: Option<CapFile>,
    /// This signal's own half-life, overriding the plan's.
    #[serde(default)]
    pub half_life: Option<HalfLifeText>,
}

/// `per:` points per unit of a numeric property.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerFile {
    /// The numeric property, e.g. `properties.duration_s`.
    pub property: PathText,
    /// Units per award step, e.g. 60 (seconds).
    pub every: Spanned<f64>,
    /// At most this many points from one event.
    #[serde(default)]
    pub max: Option<f64>,
}

/// `cap:` limits points per period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapFile {
    /// The most points (absolute) the rule may award in one period.
    pub points: Spanned<f64>,
    /// The period (`1d`, `1w`, `30d`); omit for a lifetime cap.
    #[serde(default)]
    pub per: Option<DurationText>,
}

/// `fit:` declared or demographic data, scored apart from engagement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitFile {
    /// Rules over traits; each matching rule adds its points once.
    pub rules: Vec<FitRuleFile>,
    /// Grade letters and the least fit points for each, e.g. `{ A: 40, B: 25, C: 10, D: 0 }`.
    pub grades: Spanned<BTreeMap<String, f64>>,
}

/// One fit rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRuleFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// Human description.
    #[serde(default)]
    pub label: Option<String>,
    /// Trait tests, e.g. `traits.region: { one_of: [mazowieckie] }`.
    pub when: Spanned<Conditions>,
    /// Points while the traits match.
    pub points: f64,
}

/// `sessions:` visits (e.g. a kiosk session) scored by dwell time and depth.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    /// Which events belong to sessions.
    pub when: MatchFile,
    /// The property that names a session (e.g. `properties.session_id`); a change starts a new one.
    #[serde(default)]
    pub key: Option<PathText>,
    /// A pause longer than this starts a new session.
    pub gap: DurationText,
    /// Numeric property summed as dwell seconds (e.g. `properties.duration_s`).
    #[serde(default)]
    pub dwell: Option<PathText>,
    /// Property whose distinct values count as depth (e.g. `properties.screen`).
    #[serde(default)]
    pub depth: Option<PathText>,
    /// Bands: points awarded once per session when dwell or depth reaches a threshold.
    pub bands: Vec<BandFile>,
}

/// One session band.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// Human description.
    #[serde(default)]
    pub label: Option<String>,
    /// Award when the session's dwell reaches this many seconds.
    #[serde(default)]
    pub dwell_at_least: Option<f64>,
    /// Award when the session has this many distinct depth values.
    #[serde(default)]
    pub depth_at_least: Option<u32>,
    /// Points.
    pub points: f64,
    /// Own half-life.
    #[serde(default)]
    pub half_life: Option<HalfLifeText>,
}

/// One sequence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// Human description.
    #[serde(default)]
    pub label: Option<String>,
    /// Ordered steps; other events may come between them.
    pub steps: Spanned<Vec<StepFile>>,
    /// All steps within this time from the first.
    pub within: DurationText,
    /// Bonus points on completion.
    pub points: f64,
    /// How often the bonus may be earned (default: every completion).
    #[serde(default)]
    pub frequency: Option<Frequency>,
    /// Own half-life.
    #[serde(default)]
    pub half_life: Option<HalfLifeText>,
}

/// One step: a signal id, or an event pattern.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// A signal's id: the step matches where that signal matches.
    #[serde(default)]
    pub signal: Option<Spanned<String>>,
    /// An event pattern.
    #[serde(default)]
    pub when: Option<MatchFile>,
}

/// One score group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// Stable id (e.g. `model`).
    pub id: Spanned<String>,
    /// Human description.
    #[serde(default)]
    pub label: Option<String>,
    /// The property whose value names the group (e.g. `properties.model`).
    pub key: PathText,
    /// Only these signals count (default: all).
    #[serde(default)]
    pub signals: Option<Vec<Spanned<String>>>,
}

/// `tiers:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiersFile {
    /// Points a score must fall below a threshold before the tier drops (default 0).
    #[serde(default)]
    pub hysteresis: Option<f64>,
    /// Tiers from the highest down; the last has no `min_score` and catches the rest.
    pub levels: Spanned<Vec<LevelFile>>,
}

/// One tier.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelFile {
    /// Tier name (e.g. `hot`).
    pub name: Spanned<String>,
    /// Least engagement score; omit on the last tier.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Least fit grade (a fit × engagement grid), e.g. `B`.
    #[serde(default)]
    pub min_grade: Option<Spanned<String>>,
}

/// One override.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// The escalation events.
    pub when: MatchFile,
    /// The tier forced.
    pub tier: Spanned<String>,
    /// For how long.
    #[serde(rename = "for")]
    pub duration: DurationText,
    /// Shown as the reason.
    pub reason: String,
}

/// One disqualifier.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisqualifierFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// An event that disqualifies from then on (e.g. `Unsubscribed`).
    #[serde(default)]
    pub when: Option<MatchFile>,
    /// Traits that disqualify while they hold (e.g. an employee e-mail domain).
    #[serde(default)]
    pub traits: Option<Spanned<Conditions>>,
    /// Shown as the reason.
    pub reason: String,
}

// ---------------------------------------------------------------------------------------------
// The domain form

/// Which events a rule matches.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// Bit set of event types; 0 = any.
    pub types: u8,
    /// Event names; empty = any.
    pub names: Vec<String>,
    /// Channels; empty = any.
    pub channels: Vec<String>,
    /// Field tests.
    pub conditions: Vec<(FieldPath, Predicate)>,
}

impl Matcher {
    fn from_file(file: MatchFile) -> Self {
        Matcher {
            types: file
                .kind
                .map(|k| k.0.iter().fold(0, |acc, t| acc | t.0.bit()))
                .unwrap_or(0),
            names: file.event.map(|e| e.0).unwrap_or_default(),
            channels: file.channel.map(|c| c.0).unwrap_or_default(),
            conditions: file.conditions.map(|c| c.0).unwrap_or_default(),
        }
    }

    /// Adds the fields this matcher reads to a projection.
    pub fn project(&self, p: &mut crate::event::Projection) {
        if !self.channels.is_empty() {
            p.add(&FieldPath::Channel);
        }
        for (path, _) in &self.conditions {
            p.add(path);
        }
    }

    /// Whether the event matches.
    pub fn matches(&self, event: &Event) -> bool {
        if self.types != 0 && self.types & event.kind.bit() == 0 {
            return false;
        }
        if !self.names.is_empty() {
            match &event.name {
                Some(n) if self.names.iter().any(|x| x == n) => {}
                _ => return false,
            }
        }
        if !self.channels.is_empty() {
            match event.channel() {
                Some(c) if self.channels.iter().any(|x| x == c) => {}
                _ => return false,
            }
        }
        self.conditions
            .iter()
            .all(|(path, pred)| pred.matches(event.field(path)))
    }
}

/// Points per unit of a numeric property.
#[derive(Debug, Clone)]
pub struct Per {
    /// The numeric property.
    pub property: FieldPath,
    /// Units per step.
    pub every: f64,
    /// At most this many points per event.
    pub max: Option<f64>,
}

/// A cap on points per period.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// The most points (absolute) per period.
    pub points: f64,
    /// The period; `None` = lifetime.
    pub period: Option<Duration>,
}

/// An engagement signal.
#[derive(Debug, Clone)]
pub struct Signal {
    /// Stable id.
    pub id: String,
    /// Human description.
    pub label: String,
    /// Which events match.
    pub matcher: Matcher,
    /// Points per event, or per unit.
    pub points: f64,
    /// Per-unit scoring.
    pub per: Option<Per>,
    /// Frequency limit.
    pub frequency: Frequency,
    /// Cap.
    pub cap: Option<Cap>,
    /// Index into [`Plan::decay_classes`].
    pub decay_class: usize,
}

impl Signal {
    /// The raw points this event would earn before frequency and caps (0 when `per` has no value).
    pub fn raw_points(&self, event: &Event) -> f64 {
        match &self.per {
            None => self.points,
            Some(per) => {
                let value = event
                    .field(&per.property)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                let steps = (value / per.every).floor().max(0.0);
                let pts = steps * self.points;
                match per.max {
                    Some(m) if pts.abs() > m.abs() => m.abs() * pts.signum(),
                    _ => pts,
                }
            }
        }
    }
}

/// A fit rule.
#[derive(Debug, Clone)]
pub struct FitRule {
    /// Stable id.
    pub id: String,
    /// Human description.
    pub label: String,
    /// Trait tests.
    pub conditions: Vec<(FieldPath, Predicate)>,
    /// Points.
    pub points: f64,
}

/// A fit grade.
#[derive(Debug, Clone)]
pub struct Grade {
    /// The letter.
    pub name: String,
    /// Least fit points.
    pub min: f64,
}

/// Session scoring.
#[derive(Debug, Clone)]
pub struct SessionRule {
    /// Which events count.
    pub matcher: Matcher,
    /// Session id property.
    pub key: Option<FieldPath>,
    /// Pause that ends a session.
    pub gap: Duration,
    /// Dwell seconds property.
    pub dwell: Option<FieldPath>,
    /// Depth property.
    pub depth: Option<FieldPath>,
    /// Bands.
    pub bands: Vec<Band>,
    /// The most distinct depth values worth tracking (the largest depth threshold).
    pub depth_limit: u32,
}

/// What a band measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BandMeasure {
    /// Dwell seconds at least.
    Dwell(f64),
    /// Distinct depth values at least.
    Depth(u32),
}

/// A session band.
#[derive(Debug, Clone)]
pub struct Band {
    /// Stable id.
    pub id: String,
    /// Human description.
    pub label: String,
    /// Threshold.
    pub measure: BandMeasure,
    /// Points.
    pub points: f64,
    /// Index into [`Plan::decay_classes`].
    pub decay_class: usize,
}

/// A sequence step.
#[derive(Debug, Clone)]
pub enum Step {
    /// Matches where the signal (by index) matches.
    Signal(usize),
    /// Matches an event pattern.
    Pattern(Matcher),
}

/// A sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Stable id.
    pub id: String,
    /// Human description.
    pub label: String,
    /// Ordered steps.
    pub steps: Vec<Step>,
    /// Window from first to last step.
    pub within: Duration,
    /// Bonus.
    pub points: f64,
    /// Frequency limit on completions.
    pub frequency: Frequency,
    /// Index into [`Plan::decay_classes`].
    pub decay_class: usize,
}

/// A score group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Stable id.
    pub id: String,
    /// Human description.
    pub label: String,
    /// Property naming the group value.
    pub key: FieldPath,
    /// Signals counted (indices); `None` = all.
    pub signals: Option<Vec<usize>>,
}

/// A tier level.
#[derive(Debug, Clone)]
pub struct Level {
    /// Name.
    pub name: String,
    /// Least score (`None` on the catch-all last tier).
    pub min_score: Option<f64>,
    /// Least grade index (0 = best) when set.
    pub min_grade: Option<usize>,
}

/// An override.
#[derive(Debug, Clone)]
pub struct Override {
    /// Stable id.
    pub id: String,
    /// The escalation events.
    pub matcher: Matcher,
    /// Forced tier (index into levels).
    pub tier: usize,
    /// How long.
    pub duration: Duration,
    /// Reason shown.
    pub reason: String,
}

/// A disqualifier.
#[derive(Debug, Clone)]
pub struct Disqualifier {
    /// Stable id.
    pub id: String,
    /// Disqualifying event.
    pub matcher: Option<Matcher>,
    /// Disqualifying traits.
    pub traits: Vec<(FieldPath, Predicate)>,
    /// Reason shown.
    pub reason: String,
}

/// A validated plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Distinct half-lives in use; `None` = no decay. Index 0 is the plan default.
    pub decay_classes: Vec<Option<Duration>>,
    /// Only points from the last this long count.
    pub expire_after: Option<Duration>,
    /// Signals.
    pub signals: Vec<Signal>,
    /// Fit rules.
    pub fit_rules: Vec<FitRule>,
    /// Grades, best first; empty when the plan has no fit section.
    pub grades: Vec<Grade>,
    /// Session scoring.
    pub session: Option<SessionRule>,
    /// Sequences.
    pub sequences: Vec<Sequence>,
    /// Score groups.
    pub groups: Vec<Group>,
    /// Tiers, highest first.
    pub levels: Vec<Level>,
    /// Hysteresis points.
    pub hysteresis: f64,
    /// Overrides.
    pub overrides: Vec<Override>,
    /// Disqualifiers.
    pub disqualifiers: Vec<Disqualifier>,
    /// Follow-up: playbooks, SLAs, business hours, routing, lifecycle stages.
    pub follow_up: crate::action::plan::FollowUp,
    /// Outcome rules.
    pub outcomes: Vec<crate::outcome::OutcomeRule>,
    /// Funnel stage definitions.
    pub funnel: Funnel,
    /// The fitted model, when the plan has one.
    pub model: Option<crate::model::Model>,
}

/// What the funnel's stages mean (engaged → CTA → lead → appointment → outcome; a lead is a
/// profile with a known user id).
#[derive(Debug, Clone, Default)]
pub struct Funnel {
    /// Signals that make a profile engaged; `None` = any signal.
    pub engaged: Option<Vec<usize>>,
    /// Signals that are a call to action.
    pub cta_signals: Vec<usize>,
    /// Sequences that are a call to action.
    pub cta_sequences: Vec<usize>,
    /// Overrides that are a call to action.
    pub cta_overrides: Vec<usize>,
    /// Outcome kinds (bits) that count as an appointment.
    pub appointment: u8,
    /// Outcome kinds (bits) that close the funnel.
    pub outcome: u8,
}

/// Limits the compact per-profile state relies on.
pub const MAX_SIGNALS: usize = 64;
/// The most sequence steps over all sequences.
pub const MAX_SEQUENCE_STEPS: usize = 64;
/// The most overrides, disqualifiers, fit rules, bands or groups.
pub const MAX_RULES: usize = 32;
/// The most fit rules (a learned plan can have many).
pub const MAX_FIT_RULES: usize = 128;

struct Checker<'a> {
    issues: Vec<PlanIssue>,
    ids: BTreeMap<String, (u64, u64)>,
    _file: &'a str,
}

impl Checker<'_> {
    fn at<T>(&mut self, span: &Spanned<T>, message: impl Into<String>) {
        self.issues.push(PlanIssue {
            line: span.referenced.line(),
            column: span.referenced.column(),
            message: message.into(),
        });
    }

    fn id(&mut self, id: &Spanned<String>) -> String {
        let text = id.value.clone();
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.at(
                id,
                format!("id `{text}` may use only letters, digits, `_` and `-`"),
            );
        }
        let here = (id.referenced.line(), id.referenced.column());
        if let Some((line, _)) = self.ids.get(&text) {
            let msg =
                format!("id `{text}` is already used on line {line}: every rule needs its own id");
            self.at(id, msg);
        } else {
            self.ids.insert(text.clone(), here);
        }
        text
    }
}

fn build_funnel(
    file: Option<FunnelFile>,
    signals: &[Signal],
    sequences: &[Sequence],
    overrides: &[Override],
    ck: &mut Checker,
) -> Funnel {
    use crate::outcome::OutcomeKind as K;
    let kinds = |list: Option<Vec<Spanned<String>>>, default: &[K], ck: &mut Checker| -> u8 {
        match list {
            None => default.iter().fold(0, |acc, k| acc | k.bit()),
            Some(list) => list
                .iter()
                .fold(0, |acc, name| match K::parse(&name.value) {
                    Some(k) => acc | k.bit(),
                    None => {
                        ck.at(
                            name,
                            format!("no outcome `{}`; outcomes are: {}", name.value, K::names()),
                        );
                        acc
                    }
                }),
        }
    };
    let default_appointment = [K::Appointment, K::Shown, K::NoShow, K::TestDrive];
    let Some(file) = file else {
        return Funnel {
            appointment: kinds(None, &default_appointment, ck),
            outcome: kinds(None, &[K::Sale, K::Lost], ck),
            ..Funnel::default()
        };
    };
    let engaged = file.engaged.map(|list| {
        list.iter()
            .filter_map(|name| {
                let found = signals.iter().position(|s| s.id == name.value);
                if found.is_none() {
                    let known: Vec<&str> = signals.iter().map(|s| s.id.as_str()).collect();
                    ck.at(
                        name,
                        format!(
                            "no signal has id `{}`; known signals: {}",
                            name.value,
                            known.join(", ")
                        ),
                    );
                }
                found
            })
            .collect()
    });
    let mut funnel = Funnel {
        engaged,
        appointment: kinds(file.appointment, &default_appointment, ck),
        outcome: kinds(file.outcome, &[K::Sale, K::Lost], ck),
        ..Funnel::default()
    };
    for name in &file.cta {
        if let Some(i) = signals.iter().position(|s| s.id == name.value) {
            funnel.cta_signals.push(i);
        } else if let Some(i) = sequences.iter().position(|s| s.id == name.value) {
            funnel.cta_sequences.push(i);
        } else if let Some(i) = overrides.iter().position(|s| s.id == name.value) {
            funnel.cta_overrides.push(i);
        } else {
            ck.at(
                name,
                format!(
                    "no signal, sequence or override has id `{}`: a call to action names one of them",
                    name.value
                ),
            );
        }
    }
    funnel
}

fn label(label: Option<String>, id: &str) -> String {
    label.unwrap_or_else(|| id.replace('_', " "))
}

impl Plan {
    /// Parses and validates plan text. `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Plan, PlanError> {
        let raw: PlanFile = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            PlanError {
                file: file.to_string(),
                issues: vec![PlanIssue {
                    line,
                    column,
                    message: yaml_message(&e),
                }],
            }
        })?;
        let mut ck = Checker {
            issues: Vec::new(),
            ids: BTreeMap::new(),
            _file: file,
        };
        let plan = Self::build(raw, &mut ck);
        if ck.issues.is_empty() {
            Ok(plan)
        } else {
            ck.issues.sort_by_key(|i| (i.line, i.column));
            Err(PlanError {
                file: file.to_string(),
                issues: ck.issues,
            })
        }
    }

    fn build(raw: PlanFile, ck: &mut Checker) -> Plan {
        if raw.version.value != PLAN_VERSION {
            ck.at(
                &raw.version,
                format!(
                    "version {} is not supported: this build reads `version: {PLAN_VERSION}`",
                    raw.version.value
                ),
            );
        }
        let default_half_life = raw
            .decay
            .as_ref()
            .and_then(|d| d.half_life)
            .and_then(|h| h.0);
        let expire_after = raw.decay.as_ref().and_then(|d| d.expire_after).map(|d| d.0);
        let mut decay_classes: Vec<Option<Duration>> = vec![default_half_life];
        let mut class_of = |h: Option<HalfLifeText>| -> usize {
            let h = match h {
                None => default_half_life,
                Some(h) => h.0,
            };
            match decay_classes.iter().position(|c| *c == h) {
                Some(i) => i,
                None => {
                    decay_classes.push(h);
                    decay_classes.len() - 1
                }
            }
        };

        // Signals.
        let mut signals = Vec::new();
        for s in raw.signals {
            let id = ck.id(&s.id);
            if let Some(per) = &s.per
                && per.every.value <= 0.0
            {
                ck.at(
                    &per.every,
                    "`every` must be greater than zero, e.g. `every: 60`",
                );
            }
            if let Some(cap) = &s.cap
                && cap.points.value <= 0.0
            {
                ck.at(
                    &cap.points,
                    "a cap is a positive number of points; for a negative signal it limits how much it can subtract",
                );
            }
            let matcher = Matcher::from_file(s.when);
            if matcher.types == 0
                && matcher.names.is_empty()
                && matcher.channels.is_empty()
                && matcher.conditions.is_empty()
            {
                ck.at(
                    &s.id,
                    format!(
                        "signal `{id}` matches every event: give `when` a type, event, channel or where"
                    ),
                );
            }
            signals.push(Signal {
                label: label(s.label, &id),
                id,
                matcher,
                points: s.points,
                per: s.per.map(|p| Per {
                    property: p.property.0,
                    every: p.every.value,
                    max: p.max,
                }),
                frequency: s.frequency.unwrap_or_default(),
                cap: s.cap.map(|c| Cap {
                    points: c.points.value,
                    period: c.per.map(|p| p.0),
                }),
                decay_class: class_of(s.half_life),
            });
        }
        if signals.len() > MAX_SIGNALS {
            ck.issues.push(PlanIssue {
                line: 0,
                column: 0,
                message: format!("a plan may have at most {MAX_SIGNALS} signals"),
            });
        }
        let signal_index = |name: &Spanned<String>, ck: &mut Checker| -> Option<usize> {
            let found = signals.iter().position(|s| s.id == name.value);
            if found.is_none() {
                let known: Vec<&str> = signals.iter().map(|s| s.id.as_str()).collect();
                ck.at(
                    name,
                    format!(
                        "no signal has id `{}`; known signals: {}",
                        name.value,
                        known.join(", ")
                    ),
                );
            }
            found
        };

        // Fit.
        let mut fit_rules = Vec::new();
        let mut grades = Vec::new();
        if let Some(fit) = raw.fit {
            for r in fit.rules {
                let id = ck.id(&r.id);
                for (path, _) in &r.when.value.0 {
                    if !matches!(path, FieldPath::Traits(_)) {
                        ck.at(
                            &r.when,
                            format!(
                                "fit rules test traits only: `{path}` should start with `traits.`"
                            ),
                        );
                    }
                }
                fit_rules.push(FitRule {
                    label: label(r.label, &id),
                    id,
                    conditions: r.when.value.0,
                    points: r.points,
                });
            }
            for (name, min) in &fit.grades.value {
                grades.push(Grade {
                    name: name.clone(),
                    min: *min,
                });
            }
            grades.sort_by(|a, b| b.min.total_cmp(&a.min).then(a.name.cmp(&b.name)));
            if grades.is_empty() {
                ck.at(
                    &fit.grades,
                    "give at least one grade, e.g. `{ A: 40, B: 25, C: 10, D: 0 }`",
                );
            } else if grades.last().is_some_and(|g| g.min > 0.0) {
                ck.at(
                    &fit.grades,
                    "the lowest grade must start at 0 so every profile has a grade, e.g. `D: 0`",
                );
            }
        }

        // Sessions.
        let session = raw.sessions.map(|s| {
            let mut bands = Vec::new();
            for b in s.bands {
                let id = ck.id(&b.id);
                let measure = match (b.dwell_at_least, b.depth_at_least) {
                    (Some(d), None) => BandMeasure::Dwell(d),
                    (None, Some(d)) => BandMeasure::Depth(d),
                    _ => {
                        ck.at(
                            &b.id,
                            format!("band `{id}` needs exactly one of `dwell_at_least` or `depth_at_least`"),
                        );
                        BandMeasure::Dwell(f64::INFINITY)
                    }
                };
                if matches!(measure, BandMeasure::Dwell(_)) && s.dwell.is_none() {
                    ck.at(&b.id, format!("band `{id}` measures dwell: set `dwell:` on the session, e.g. `dwell: properties.duration_s`"));
                }
                if let BandMeasure::Depth(d) = measure {
                    if s.depth.is_none() {
                        ck.at(&b.id, format!("band `{id}` measures depth: set `depth:` on the session, e.g. `depth: properties.screen`"));
                    }
                    if !(1..=16).contains(&d) {
                        ck.at(&b.id, "`depth_at_least` must be between 1 and 16");
                    }
                }
                bands.push(Band {
                    label: label(b.label, &id),
                    id,
                    measure,
                    points: b.points,
                    decay_class: class_of(b.half_life),
                });
            }
            let depth_limit = bands
                .iter()
                .filter_map(|b| match b.measure {
                    BandMeasure::Depth(d) => Some(d.min(16)),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            SessionRule {
                matcher: Matcher::from_file(s.when),
                key: s.key.map(|k| k.0),
                gap: s.gap.0,
                dwell: s.dwell.map(|d| d.0),
                depth: s.depth.map(|d| d.0),
                bands,
                depth_limit,
            }
        });

        // Sequences.
        let mut sequences = Vec::new();
        let mut total_steps = 0;
        for q in raw.sequences {
            let id = ck.id(&q.id);
            let mut steps = Vec::new();
            if q.steps.value.len() < 2 {
                ck.at(&q.steps, "a sequence needs at least two steps");
            }
            for step in q.steps.value {
                match (step.signal, step.when) {
                    (Some(sig), None) => {
                        if let Some(i) = signal_index(&sig, ck) {
                            steps.push(Step::Signal(i));
                        }
                    }
                    (None, Some(when)) => steps.push(Step::Pattern(Matcher::from_file(when))),
                    _ => ck.at(
                        &q.id,
                        format!("each step of `{id}` needs exactly one of `signal: <id>` or `when: {{...}}`"),
                    ),
                }
            }
            total_steps += steps.len();
            sequences.push(Sequence {
                label: label(q.label, &id),
                id,
                steps,
                within: q.within.0,
                points: q.points,
                frequency: q.frequency.unwrap_or_default(),
                decay_class: class_of(q.half_life),
            });
        }
        if total_steps > MAX_SEQUENCE_STEPS {
            ck.issues.push(PlanIssue {
                line: 0,
                column: 0,
                message: format!("sequences may have at most {MAX_SEQUENCE_STEPS} steps in all"),
            });
        }

        // Groups.
        let mut groups = Vec::new();
        for g in raw.groups {
            let id = ck.id(&g.id);
            let signals = g.signals.map(|list| {
                list.iter()
                    .filter_map(|s| signal_index(s, ck))
                    .collect::<Vec<_>>()
            });
            groups.push(Group {
                label: label(g.label, &id),
                id,
                key: g.key.0,
                signals,
            });
        }

        // Tiers.
        let mut levels = Vec::new();
        let n_levels = raw.tiers.levels.value.len();
        if n_levels < 2 {
            ck.at(
                &raw.tiers.levels,
                "give at least two tiers, e.g. hot (min_score: 60) and cold",
            );
        }
        let mut previous: Option<f64> = None;
        for (i, l) in raw.tiers.levels.value.iter().enumerate() {
            let last = i + 1 == n_levels;
            if levels.iter().any(|x: &Level| x.name == l.name.value)
                || l.name.value == "disqualified"
            {
                ck.at(
                    &l.name,
                    format!("tier `{}` is defined twice or reserved", l.name.value),
                );
            }
            match (l.min_score, last) {
                (None, false) => ck.at(
                    &l.name,
                    format!(
                        "tier `{}` needs `min_score` (only the last tier catches the rest)",
                        l.name.value
                    ),
                ),
                (Some(_), true) => ck.at(
                    &l.name,
                    format!(
                        "the last tier `{}` catches everything below: remove its `min_score`",
                        l.name.value
                    ),
                ),
                _ => {}
            }
            if let (Some(p), Some(m)) = (previous, l.min_score)
                && m >= p
            {
                ck.at(
                    &l.name,
                    format!(
                        "tiers go from the highest down: `{}` needs a min_score below {p}",
                        l.name.value
                    ),
                );
            }
            previous = l.min_score.or(previous);
            let min_grade = l.min_grade.as_ref().and_then(|g| {
                let found = grades.iter().position(|x| x.name == g.value);
                if found.is_none() {
                    let known: Vec<&str> = grades.iter().map(|g| g.name.as_str()).collect();
                    ck.at(
                        g,
                        format!(
                            "no fit grade `{}`; grades are: {}",
                            g.value,
                            if known.is_empty() {
                                "none (add a `fit:` section)".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
                found
            });
            levels.push(Level {
                name: l.name.value.clone(),
                min_score: if last { None } else { l.min_score },
                min_grade,
            });
        }
        let level_index = |name: &Spanned<String>, ck: &mut Checker| -> usize {
            match levels.iter().position(|l| l.name == name.value) {
                Some(i) => i,
                None => {
                    let known: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
                    ck.at(
                        name,
                        format!("no tier `{}`; tiers are: {}", name.value, known.join(", ")),
                    );
                    0
                }
            }
        };

        let mut overrides = Vec::new();
        for o in raw.overrides {
            let id = ck.id(&o.id);
            let tier = level_index(&o.tier, ck);
            overrides.push(Override {
                id,
                matcher: Matcher::from_file(o.when),
                tier,
                duration: o.duration.0,
                reason: o.reason,
            });
        }
        let mut disqualifiers = Vec::new();
        for d in raw.disqualifiers {
            let id = ck.id(&d.id);
            if d.when.is_none() && d.traits.is_none() {
                ck.at(
                    &d.id,
                    format!("disqualifier `{id}` needs `when` (an event) or `traits`"),
                );
            }
            let traits = match d.traits {
                Some(t) => {
                    for (path, _) in &t.value.0 {
                        if !matches!(path, FieldPath::Traits(_)) {
                            ck.at(&t, format!("`traits` tests traits only: `{path}` should start with `traits.`"));
                        }
                    }
                    t.value.0
                }
                None => Vec::new(),
            };
            disqualifiers.push(Disqualifier {
                id,
                matcher: d.when.map(Matcher::from_file),
                traits,
                reason: d.reason,
            });
        }
        let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
        for (path, _) in fit_rules
            .iter()
            .flat_map(|r: &FitRule| r.conditions.iter())
            .chain(disqualifiers.iter().flat_map(|d| d.traits.iter()))
        {
            *per_path.entry(path.to_string()).or_default() += 1;
        }
        for (path, n) in per_path {
            if n > 32 {
                ck.issues.push(PlanIssue {
                    line: 0,
                    column: 0,
                    message: format!(
                        "`{path}` is tested {n} times; at most 32 tests per trait: merge values with `one_of`"
                    ),
                });
            }
        }
        if fit_rules.len() > MAX_FIT_RULES {
            ck.issues.push(PlanIssue {
                line: 0,
                column: 0,
                message: format!("a plan may have at most {MAX_FIT_RULES} fit rules"),
            });
        }
        for (what, n) in [
            ("overrides", overrides.len()),
            ("disqualifiers", disqualifiers.len()),
            ("groups", groups.len()),
            (
                "session bands",
                session.as_ref().map_or(0, |s| s.bands.len()),
            ),
        ] {
            if n > MAX_RULES {
                ck.issues.push(PlanIssue {
                    line: 0,
                    column: 0,
                    message: format!("a plan may have at most {MAX_RULES} {what}"),
                });
            }
        }
        let follow_up = match raw.follow_up {
            Some(f) => {
                let groups: Vec<String> = groups.iter().map(|g: &Group| g.id.clone()).collect();
                let grade_names: Vec<String> =
                    grades.iter().map(|g: &Grade| g.name.clone()).collect();
                crate::action::plan::FollowUp::build(
                    f,
                    &levels,
                    &overrides,
                    &groups,
                    &grade_names,
                    &mut ck.issues,
                )
            }
            None => crate::action::plan::FollowUp::default(),
        };
        let outcomes = raw
            .outcomes
            .into_iter()
            .filter_map(|o| {
                let kind = crate::outcome::OutcomeKind::parse(&o.outcome.value);
                if kind.is_none() {
                    ck.at(
                        &o.outcome,
                        format!(
                            "no outcome `{}`; outcomes are: {}",
                            o.outcome.value,
                            crate::outcome::OutcomeKind::names()
                        ),
                    );
                }
                Some(crate::outcome::OutcomeRule {
                    kind: kind?,
                    matcher: Matcher::from_file(o.when),
                    value: o.value.map(|v| v.0),
                    reason: o.reason.map(|v| v.0),
                })
            })
            .collect();
        let funnel = build_funnel(raw.funnel, &signals, &sequences, &overrides, ck);
        let mut plan = Plan {
            outcomes,
            funnel,
            model: None,
            follow_up,
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            decay_classes,
            expire_after,
            signals,
            fit_rules,
            grades,
            session,
            sequences,
            groups,
            levels,
            hysteresis: raw.tiers.hysteresis.unwrap_or(0.0),
            overrides,
            disqualifiers,
        };
        if let Some(model) = raw.model {
            plan.model = crate::model::Model::build(model, &plan, &mut ck.issues);
        }
        plan
    }

    /// What decoding must keep of `properties`, `traits` and `context` for this plan to read
    /// every field it tests (see [`crate::event::Projection`]).
    pub fn projection(&self) -> crate::event::Projection {
        let mut p = crate::event::Projection::default();
        for s in &self.signals {
            s.matcher.project(&mut p);
            if let Some(per) = &s.per {
                p.add(&per.property);
            }
        }
        for r in &self.fit_rules {
            r.conditions.iter().for_each(|(path, _)| p.add(path));
        }
        if let Some(sess) = &self.session {
            sess.matcher.project(&mut p);
            for path in [&sess.key, &sess.dwell, &sess.depth].into_iter().flatten() {
                p.add(path);
            }
        }
        for q in &self.sequences {
            for step in &q.steps {
                if let Step::Pattern(m) = step {
                    m.project(&mut p);
                }
            }
        }
        for g in &self.groups {
            p.add(&g.key);
        }
        for o in &self.overrides {
            o.matcher.project(&mut p);
        }
        for d in &self.disqualifiers {
            if let Some(m) = &d.matcher {
                m.project(&mut p);
            }
            d.traits.iter().for_each(|(path, _)| p.add(path));
        }
        for o in &self.outcomes {
            o.matcher.project(&mut p);
            for path in [&o.value, &o.reason].into_iter().flatten() {
                p.add(path);
            }
        }
        // The built-in outcome events (`Outcome Recorded`, `Task Completed`).
        for key in ["outcome", "value", "reason", "result"] {
            p.add(&FieldPath::Properties(vec![key.to_string()]));
        }
        p
    }

    /// The grade for a fit score (`None` when the plan has no grades).
    pub fn grade_of(&self, fit: f64) -> Option<usize> {
        if self.grades.is_empty() {
            return None;
        }
        Some(
            self.grades
                .iter()
                .position(|g| fit >= g.min)
                .unwrap_or(self.grades.len() - 1),
        )
    }

    /// The tier by score and grade alone, given the tier held now (for hysteresis).
    pub fn score_tier(&self, score: f64, grade: Option<usize>, held: usize) -> usize {
        for (i, level) in self.levels.iter().enumerate() {
            let Some(min) = level.min_score else {
                return i;
            };
            let threshold = if i >= held {
                min - self.hysteresis
            } else {
                min
            };
            let grade_ok = match (level.min_grade, grade) {
                (Some(need), Some(g)) => g <= need,
                (Some(_), None) => false,
                (None, _) => true,
            };
            if score >= threshold && grade_ok {
                return i;
            }
        }
        self.levels.len() - 1
    }

    /// Looks up a rule's id and label for explanations.
    pub fn rule(&self, rule: RuleRef) -> (&str, &str) {
        match rule {
            RuleRef::Signal(i) => (&self.signals[i].id, &self.signals[i].label),
            RuleRef::Sequence(i) => (&self.sequences[i].id, &self.sequences[i].label),
            RuleRef::Band(i) => {
                let b = &self.session.as_ref().expect("band without session").bands[i];
                (&b.id, &b.label)
            }
        }
    }

    /// The decay class of a rule.
    pub fn decay_class(&self, rule: RuleRef) -> usize {
        match rule {
            RuleRef::Signal(i) => self.signals[i].decay_class,
            RuleRef::Sequence(i) => self.sequences[i].decay_class,
            RuleRef::Band(i) => {
                self.session.as_ref().expect("band without session").bands[i].decay_class
            }
        }
    }

    /// The multiplier left after decay for points awarded `age` milliseconds ago.
    pub fn decay_factor(&self, class: usize, age: i64) -> f64 {
        match self.decay_classes[class] {
            None => 1.0,
            Some(h) => (-(age as f64) / h.millis() as f64).exp2(),
        }
    }
}

/// Which rule awarded points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleRef {
    /// A signal, by index.
    Signal(usize),
    /// A sequence, by index.
    Sequence(usize),
    /// A session band, by index.
    Band(usize),
}

impl RuleRef {
    /// `signal`, `sequence` or `session`.
    pub fn kind(self) -> &'static str {
        match self {
            RuleRef::Signal(_) => "signal",
            RuleRef::Sequence(_) => "sequence",
            RuleRef::Band(_) => "session",
        }
    }
}

/// The message of a YAML error without the source snippet (we print file:line:col ourselves),
/// in the plan's words (`unknown key`); other YAML files the product reads (import mappings)
/// build their messages on it.
pub fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    // The library appends " at line X column Y"; our prefix already says where.
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let text = text.trim().to_string();
    if let Some(rest) = text.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    text
}
