//! The plan's `follow_up:` section: playbooks, business hours, routing and lifecycle stages,
//! as written ([`FollowUpFile`]) and validated ([`FollowUp`]).

use crate::calendar::{Calendar, DayHours, Holiday, parse_days, parse_holiday, parse_hours};
use crate::plan::{Level, Override, PlanIssue};
use crate::time::Duration;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// `follow_up:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpFile {
    /// Time zone of the SLA clocks (IANA name, e.g. `Europe/Warsaw`); default `UTC`.
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// Opening hours by day: `{ mon-fri: "09:00-18:00", sat: "09:00-14:00" }`; days not named
    /// are closed. Without `hours` the SLA clock runs all the time.
    #[serde(default)]
    pub hours: Option<Spanned<BTreeMap<String, String>>>,
    /// Days closed everywhere: `2026-12-24` (one date) or `12-25` (every year).
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    /// Locations (showrooms) with their own time zone, hours or extra holidays. The id is the
    /// value events carry in `properties.location`.
    #[serde(default)]
    pub locations: Vec<LocationFile>,
    /// Teams that get tasks, tried in order: the first whose `locations` and `groups` match.
    #[serde(default)]
    pub teams: Vec<TeamFile>,
    /// What to do per tier and per override.
    #[serde(default)]
    pub playbooks: Vec<PlaybookFile>,
    /// Lifecycle stages (e.g. MQL, SQL), lowest first: the definitions marketing and sales agree on.
    #[serde(default)]
    pub lifecycle: Vec<StageFile>,
}

/// One location.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    /// The `properties.location` value (e.g. `warszawa`).
    pub id: Spanned<String>,
    /// Human name.
    #[serde(default)]
    pub label: Option<String>,
    /// Its time zone, when not the plan's.
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// Its opening hours, when not the plan's.
    #[serde(default)]
    pub hours: Option<Spanned<BTreeMap<String, String>>>,
    /// Extra closed days (added to the plan's).
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
}

/// One team.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// Human name.
    #[serde(default)]
    pub label: Option<String>,
    /// Locations it serves; empty = any.
    #[serde(default)]
    pub locations: Vec<Spanned<String>>,
    /// Score group values it serves, e.g. `{ model: [RAV4, bZ4X] }`; empty = any.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// People who get tasks, in round-robin order; empty = the team's shared queue.
    #[serde(default)]
    pub members: Vec<String>,
    /// Who gets breached tasks when a playbook escalates.
    #[serde(default)]
    pub manager: Option<String>,
}

/// One playbook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookFile {
    /// Stable id.
    pub id: Spanned<String>,
    /// The tier it is for.
    #[serde(default)]
    pub tier: Option<Spanned<String>>,
    /// The override it is for (takes precedence over the tier's playbook).
    #[serde(default, rename = "override")]
    pub override_id: Option<Spanned<String>>,
    /// First-contact deadline in business time: `15m`, `2h`, or `1bd` (business days).
    /// Without `sla` the playbook opens no task (nurture only).
    #[serde(default)]
    pub sla: Option<Spanned<String>>,
    /// How to reach out: `call`, `email`, `sms`, `in_showroom`, ...
    #[serde(default)]
    pub channel: Option<String>,
    /// The steps shown to the salesperson.
    #[serde(default)]
    pub steps: Vec<String>,
    /// For tiers without a task: the nurture track to put the person on.
    #[serde(default)]
    pub nurture: Option<String>,
    /// `manager`: a breached task goes to the team's manager.
    #[serde(default)]
    pub escalate: Option<Spanned<String>>,
}

/// One lifecycle stage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageFile {
    /// Stable id (`mql`, `sql`).
    pub stage: Spanned<String>,
    /// Human name.
    #[serde(default)]
    pub label: Option<String>,
    /// Least engagement score.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Least fit grade (`B`).
    #[serde(default)]
    pub min_grade: Option<Spanned<String>>,
    /// Tiers that qualify (any of them).
    #[serde(default)]
    pub tiers: Vec<Spanned<String>>,
    /// Task results that qualify on their own (`appointment_set`).
    #[serde(default)]
    pub results: Vec<Spanned<String>>,
}

/// A first-contact deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sla {
    /// This much business time.
    Within(Duration),
    /// This many business days.
    BusinessDays(u32),
}

impl Sla {
    /// Parses `15m`, `2h`, `1bd`.
    pub fn parse(text: &str) -> Result<Sla, String> {
        let t = text.trim();
        if let Some(n) = t.strip_suffix("bd") {
            return match n.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Sla::BusinessDays(n)),
                _ => Err(format!(
                    "`{t}` is not a number of business days: write e.g. `1bd`"
                )),
            };
        }
        Duration::parse(t)
            .map(Sla::Within)
            .map_err(|e| format!("{e}; or business days as `1bd`"))
    }

    /// The deadline for work started at `start`.
    pub fn due(self, calendar: &Calendar, start: crate::time::Ts) -> crate::time::Ts {
        match self {
            Sla::Within(d) => calendar.add(start, d),
            Sla::BusinessDays(n) => calendar.add_days(start, n),
        }
    }
}

impl std::fmt::Display for Sla {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sla::Within(d) => write!(f, "{d}"),
            Sla::BusinessDays(n) => write!(f, "{n}bd"),
        }
    }
}

/// What a playbook is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybookFor {
    /// A tier (index into the plan's levels).
    Tier(usize),
    /// An override (index into the plan's overrides).
    Override(usize),
}

/// A validated playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Stable id.
    pub id: String,
    /// What it is for.
    pub target: PlaybookFor,
    /// The deadline; `None` = no task.
    pub sla: Option<Sla>,
    /// Channel.
    pub channel: String,
    /// Steps.
    pub steps: Vec<String>,
    /// Nurture track.
    pub nurture: Option<String>,
    /// Breached tasks go to the manager.
    pub escalate_to_manager: bool,
}

/// A validated team.
#[derive(Debug, Clone)]
pub struct Team {
    /// Stable id.
    pub id: String,
    /// Human name.
    pub label: String,
    /// Locations served; empty = any.
    pub locations: Vec<String>,
    /// Group values served: (group id, values).
    pub groups: Vec<(String, Vec<String>)>,
    /// Round-robin members.
    pub members: Vec<String>,
    /// Manager.
    pub manager: Option<String>,
}

impl Team {
    /// Whether this team serves a profile at `location` with these top group values.
    pub fn serves(&self, location: Option<&str>, groups: &[(String, String)]) -> bool {
        let place = self.locations.is_empty()
            || location.is_some_and(|l| self.locations.iter().any(|x| x == l));
        let group = self.groups.iter().all(|(g, values)| {
            groups
                .iter()
                .any(|(pg, v)| pg == g && values.iter().any(|x| x.eq_ignore_ascii_case(v)))
        });
        place && group
    }
}

/// A validated lifecycle stage.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Stable id.
    pub id: String,
    /// Human name.
    pub label: String,
    /// Least score.
    pub min_score: Option<f64>,
    /// Least grade index (0 = best).
    pub min_grade: Option<usize>,
    /// Qualifying tiers (indices).
    pub tiers: Vec<usize>,
    /// Qualifying task results.
    pub results: Vec<super::TaskResult>,
}

/// The validated `follow_up:` section.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// The default calendar.
    pub calendar: Calendar,
    /// Calendars of locations that have their own.
    pub locations: Vec<(String, Calendar)>,
    /// Teams, in routing order.
    pub teams: Vec<Team>,
    /// Playbooks.
    pub playbooks: Vec<Playbook>,
    /// Lifecycle stages, lowest first.
    pub stages: Vec<Stage>,
}

impl Default for FollowUp {
    fn default() -> Self {
        FollowUp {
            calendar: Calendar::always(),
            locations: Vec::new(),
            teams: Vec::new(),
            playbooks: Vec::new(),
            stages: Vec::new(),
        }
    }
}

impl FollowUp {
    /// The calendar of a location (the plan's when it has none of its own).
    pub fn calendar(&self, location: Option<&str>) -> &Calendar {
        location
            .and_then(|l| self.locations.iter().find(|(id, _)| id == l))
            .map_or(&self.calendar, |(_, c)| c)
    }

    /// The playbook for an override, else for a tier.
    pub fn playbook(&self, tier: usize, override_index: Option<usize>) -> Option<&Playbook> {
        override_index
            .and_then(|o| {
                self.playbooks
                    .iter()
                    .find(|p| p.target == PlaybookFor::Override(o))
            })
            .or_else(|| {
                self.playbooks
                    .iter()
                    .find(|p| p.target == PlaybookFor::Tier(tier))
            })
    }
}

fn at<T>(issues: &mut Vec<PlanIssue>, span: &Spanned<T>, message: impl Into<String>) {
    issues.push(PlanIssue {
        line: span.referenced.line(),
        column: span.referenced.column(),
        message: message.into(),
    });
}

fn week(
    issues: &mut Vec<PlanIssue>,
    hours: &Spanned<BTreeMap<String, String>>,
) -> Option<[DayHours; 7]> {
    let mut week: [DayHours; 7] = Default::default();
    let mut set = [false; 7];
    let mut ok = true;
    for (days, text) in &hours.value {
        let days = match parse_days(days) {
            Ok(d) => d,
            Err(e) => {
                at(issues, hours, format!("hours: {e}"));
                ok = false;
                continue;
            }
        };
        let parsed = match parse_hours(text) {
            Ok(h) => h,
            Err(e) => {
                at(issues, hours, format!("hours of `{text}`: {e}"));
                ok = false;
                continue;
            }
        };
        for d in days {
            if set[d] {
                at(
                    issues,
                    hours,
                    format!(
                        "hours: {} is named twice; give each day its hours once",
                        DAY_NAMES[d]
                    ),
                );
                ok = false;
            }
            set[d] = true;
            week[d] = parsed.clone();
        }
    }
    ok.then_some(week)
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn holidays(issues: &mut Vec<PlanIssue>, list: &[Spanned<String>]) -> Vec<Holiday> {
    let mut out = Vec::new();
    for h in list {
        match parse_holiday(&h.value) {
            Ok(d) => out.push(d),
            Err(e) => at(issues, h, format!("holiday: {e}")),
        }
    }
    out
}

fn calendar(
    issues: &mut Vec<PlanIssue>,
    zone: Option<&Spanned<String>>,
    hours: Option<&Spanned<BTreeMap<String, String>>>,
    closed: Vec<Holiday>,
) -> Option<Calendar> {
    let name = zone.map_or("UTC", |z| z.value.as_str());
    let full = || {
        let all: DayHours = vec![(0, 1440)];
        std::array::from_fn(|_| all.clone())
    };
    let week = match hours {
        Some(h) => week(issues, h)?,
        None => full(),
    };
    match Calendar::new(name, week, closed) {
        Ok(c) => Some(c),
        Err(e) => {
            match (zone, hours) {
                (Some(z), _) => at(issues, z, e),
                (None, Some(h)) => at(issues, h, e),
                (None, None) => issues.push(PlanIssue {
                    line: 0,
                    column: 0,
                    message: e,
                }),
            }
            None
        }
    }
}

impl FollowUp {
    /// Validates the section against the plan's tiers, overrides, groups and grades.
    pub(crate) fn build(
        raw: FollowUpFile,
        levels: &[Level],
        overrides: &[Override],
        groups: &[String],
        grades: &[String],
        issues: &mut Vec<PlanIssue>,
    ) -> FollowUp {
        let plan_holidays = holidays(issues, &raw.holidays);
        let default = calendar(
            issues,
            raw.time_zone.as_ref(),
            raw.hours.as_ref(),
            plan_holidays.clone(),
        )
        .unwrap_or_else(Calendar::always);
        let mut locations = Vec::new();
        for l in raw.locations {
            if locations
                .iter()
                .any(|(id, _): &(String, Calendar)| *id == l.id.value)
            {
                at(
                    issues,
                    &l.id,
                    format!("location `{}` is listed twice", l.id.value),
                );
                continue;
            }
            let mut closed = plan_holidays.clone();
            closed.extend(holidays(issues, &l.holidays));
            let cal = calendar(
                issues,
                l.time_zone.as_ref().or(raw.time_zone.as_ref()),
                l.hours.as_ref().or(raw.hours.as_ref()),
                closed,
            );
            if let Some(cal) = cal {
                locations.push((l.id.value, cal));
            }
        }
        let mut teams: Vec<Team> = Vec::new();
        for t in raw.teams {
            if teams.iter().any(|x| x.id == t.id.value) {
                at(
                    issues,
                    &t.id,
                    format!("team `{}` is listed twice", t.id.value),
                );
            }
            for g in t.groups.keys() {
                if !groups.iter().any(|x| x == g) {
                    at(
                        issues,
                        &t.id,
                        format!(
                            "team `{}` routes by group `{g}`, but the plan has no such group; groups are: {}",
                            t.id.value,
                            list(groups)
                        ),
                    );
                }
            }
            teams.push(Team {
                label: t.label.unwrap_or_else(|| t.id.value.replace('_', " ")),
                id: t.id.value,
                locations: t.locations.into_iter().map(|l| l.value).collect(),
                groups: t.groups.into_iter().collect(),
                members: t.members,
                manager: t.manager,
            });
        }
        let level_names: Vec<String> = levels.iter().map(|l| l.name.clone()).collect();
        let tier_of = |issues: &mut Vec<PlanIssue>, name: &Spanned<String>| {
            let i = levels.iter().position(|l| l.name == name.value);
            if i.is_none() {
                at(
                    issues,
                    name,
                    format!(
                        "no tier `{}`; tiers are: {}",
                        name.value,
                        list(&level_names)
                    ),
                );
            }
            i
        };
        let mut playbooks: Vec<Playbook> = Vec::new();
        for p in raw.playbooks {
            let target = match (&p.tier, &p.override_id) {
                (Some(t), None) => tier_of(issues, t).map(PlaybookFor::Tier),
                (None, Some(o)) => {
                    let i = overrides.iter().position(|x| x.id == o.value);
                    if i.is_none() {
                        let ids: Vec<String> = overrides.iter().map(|x| x.id.clone()).collect();
                        at(
                            issues,
                            o,
                            format!("no override `{}`; overrides are: {}", o.value, list(&ids)),
                        );
                    }
                    i.map(PlaybookFor::Override)
                }
                _ => {
                    at(
                        issues,
                        &p.id,
                        format!(
                            "playbook `{}` needs exactly one of `tier` or `override`",
                            p.id.value
                        ),
                    );
                    None
                }
            };
            let sla = p.sla.as_ref().and_then(|s| match Sla::parse(&s.value) {
                Ok(v) => Some(v),
                Err(e) => {
                    at(issues, s, format!("sla: {e}"));
                    None
                }
            });
            let escalate = match &p.escalate {
                None => false,
                Some(e) if e.value == "manager" => true,
                Some(e) => {
                    at(
                        issues,
                        e,
                        format!("escalate: `{}` is not known; write `manager`", e.value),
                    );
                    false
                }
            };
            if p.sla.is_none()
                && (!p.steps.is_empty() || p.channel.is_some())
                && p.nurture.is_none()
            {
                at(
                    issues,
                    &p.id,
                    format!(
                        "playbook `{}` has steps but no `sla`: add `sla` (e.g. `15m`, `1bd`) to open tasks, or `nurture` for a track without tasks",
                        p.id.value
                    ),
                );
            }
            let Some(target) = target else { continue };
            if let Some(dup) = playbooks.iter().find(|x| x.target == target) {
                at(
                    issues,
                    &p.id,
                    format!(
                        "playbook `{}` is for the same tier or override as `{}`; keep one",
                        p.id.value, dup.id
                    ),
                );
            }
            playbooks.push(Playbook {
                id: p.id.value,
                target,
                sla,
                channel: p.channel.unwrap_or_else(|| "call".into()),
                steps: p.steps,
                nurture: p.nurture,
                escalate_to_manager: escalate,
            });
        }
        let mut stages = Vec::new();
        for s in raw.lifecycle {
            let min_grade = s.min_grade.as_ref().and_then(|g| {
                let i = grades.iter().position(|x| *x == g.value);
                if i.is_none() {
                    at(
                        issues,
                        g,
                        format!("no grade `{}`; grades are: {}", g.value, list(grades)),
                    );
                }
                i
            });
            let tiers = s.tiers.iter().filter_map(|t| tier_of(issues, t)).collect();
            let mut results = Vec::new();
            for r in &s.results {
                match super::TaskResult::parse(&r.value) {
                    Some(x) => results.push(x),
                    None => at(
                        issues,
                        r,
                        format!(
                            "`{}` is not a task result; results are: {}",
                            r.value,
                            super::TaskResult::ALL
                                .iter()
                                .map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            if s.min_score.is_none()
                && min_grade.is_none()
                && s.tiers.is_empty()
                && results.is_empty()
            {
                at(
                    issues,
                    &s.stage,
                    format!(
                        "stage `{}` has no criteria: give `min_score`, `min_grade`, `tiers` or `results`",
                        s.stage.value
                    ),
                );
            }
            stages.push(Stage {
                label: s.label.unwrap_or_else(|| s.stage.value.to_uppercase()),
                id: s.stage.value,
                min_score: s.min_score,
                min_grade,
                tiers,
                results,
            });
        }
        FollowUp {
            calendar: default,
            locations,
            teams,
            playbooks,
            stages,
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
