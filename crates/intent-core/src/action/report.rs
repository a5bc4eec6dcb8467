//! Speed-to-lead and SLA compliance, per tier, owner, location and week.
//!
//! A task *met* its SLA when it was completed by its deadline; it *missed* it when it was
//! completed late, or is still open past its deadline, or was breached before it closed.
//! Compliance is met / (met + missed); tasks still open and not yet due, and tasks closed
//! without a contact (expired, merged) before their deadline, count in neither. Speed-to-lead
//! is the time from a task's opening to its completion, on the wall clock and in business time.

use super::{Task, TaskResult, TaskStatus};
use crate::action::plan::FollowUp;
use crate::time::Ts;
use serde::Serialize;
use std::collections::BTreeMap;

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaRow {
    /// The group's value (a tier, an owner, a location, an ISO week such as `2026-W48`).
    pub key: String,
    /// Tasks opened.
    pub tasks: u64,
    /// Still open.
    pub open: u64,
    /// Completed with a result.
    pub completed: u64,
    /// Completed by the deadline.
    pub met: u64,
    /// Completed late, or open past the deadline.
    pub missed: u64,
    /// met / (met + missed), when any was decided.
    pub compliance: Option<f64>,
    /// Median speed-to-lead in seconds (wall clock).
    pub speed_median_s: Option<f64>,
    /// 90th percentile speed-to-lead in seconds (wall clock).
    pub speed_p90_s: Option<f64>,
    /// Median speed-to-lead in business seconds.
    pub business_median_s: Option<f64>,
    /// Completions with `appointment_set`.
    pub appointments: u64,
}

/// The SLA report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaReport {
    /// Tasks opened at or after this time.
    pub from: Ts,
    /// ... and before this one.
    pub to: Ts,
    /// Every task in the window.
    pub total: SlaRow,
    /// Per tier.
    pub by_tier: Vec<SlaRow>,
    /// Per owner (`unassigned` for the team queue).
    pub by_owner: Vec<SlaRow>,
    /// Per location (`unknown` when none).
    pub by_location: Vec<SlaRow>,
    /// Per ISO week of opening, in the plan's time zone.
    pub by_week: Vec<SlaRow>,
}

#[derive(Default)]
struct Acc {
    row: SlaRow,
    speed: Vec<f64>,
    business: Vec<f64>,
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

impl Acc {
    fn add(&mut self, t: &Task, follow: &FollowUp, now: Ts) {
        let r = &mut self.row;
        r.tasks += 1;
        match t.status {
            TaskStatus::Open => r.open += 1,
            TaskStatus::Done => r.completed += 1,
            _ => {}
        }
        match t.met_sla(now) {
            Some(true) => r.met += 1,
            Some(false) => r.missed += 1,
            None => {}
        }
        if t.result == Some(TaskResult::AppointmentSet) {
            r.appointments += 1;
        }
        if let (TaskStatus::Done, Some(at)) = (t.status, t.closed_at) {
            self.speed.push((at - t.created_at) as f64 / 1000.0);
            let cal = follow.calendar(t.location.as_deref());
            self.business
                .push(cal.between(t.created_at, at) as f64 / 1000.0);
        }
    }

    fn finish(mut self, key: String) -> SlaRow {
        self.speed.sort_by(f64::total_cmp);
        self.business.sort_by(f64::total_cmp);
        let mut r = self.row;
        r.key = key;
        let decided = r.met + r.missed;
        r.compliance = (decided > 0).then(|| r.met as f64 / decided as f64);
        r.speed_median_s = quantile(&self.speed, 0.5);
        r.speed_p90_s = quantile(&self.speed, 0.9);
        r.business_median_s = quantile(&self.business, 0.5);
        r
    }
}

fn week_of(ts: Ts, zone: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ts) {
        Ok(t) => {
            let w = t.to_zoned(zone.clone()).date().iso_week_date();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Err(_) => "unknown".into(),
    }
}

/// The report over tasks opened in `[from, to)`, as of `now`.
pub fn sla_report(tasks: &[Task], follow: &FollowUp, from: Ts, to: Ts, now: Ts) -> SlaReport {
    let zone =
        jiff::tz::TimeZone::get(follow.calendar.time_zone()).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut total = Acc::default();
    let mut groups: [BTreeMap<String, Acc>; 4] = Default::default();
    for t in tasks
        .iter()
        .filter(|t| t.created_at >= from && t.created_at < to)
    {
        total.add(t, follow, now);
        let keys = [
            t.tier.clone(),
            t.owner.clone().unwrap_or_else(|| "unassigned".into()),
            t.location.clone().unwrap_or_else(|| "unknown".into()),
            week_of(t.created_at, &zone),
        ];
        for (g, k) in groups.iter_mut().zip(keys) {
            g.entry(k).or_default().add(t, follow, now);
        }
    }
    let [by_tier, by_owner, by_location, by_week] =
        groups.map(|g| g.into_iter().map(|(k, a)| a.finish(k)).collect::<Vec<_>>());
    SlaReport {
        from,
        to,
        total: total.finish("all".into()),
        by_tier,
        by_owner,
        by_location,
        by_week,
    }
}
