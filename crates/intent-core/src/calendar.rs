//! Business calendars: the SLA clocks of the follow-up desk.
//!
//! A [`Calendar`] is a time zone, weekly opening hours and holidays. It answers whether the desk
//! is open ([`Calendar::is_open`]), when it opens next ([`Calendar::next_open`]), when work is due
//! ([`Calendar::add`], [`Calendar::add_days`]) and how much business time has passed
//! ([`Calendar::between`]). It never reads a clock: every instant is an argument.
//!
//! # Wall-clock hours and daylight saving time
//! Opening hours are wall-clock times of the calendar's zone. The wall-clock time `t` of a day
//! becomes *the first instant at which the local clock reads `t` or later*:
//! - in a fold (Europe/Warsaw, last Sunday of October: 03:00 goes back to 02:00) that is the first
//!   pass, so `01:00-04:00` that night is open four real hours, and ranges that touch
//!   (`00:00-02:30, 02:30-24:00`) still touch;
//! - in a gap (last Sunday of March: 02:00 jumps to 03:00) that is the instant of the jump, so
//!   `01:00-04:00` that night is open two real hours, `02:30-05:00` opens at 03:00, and a range
//!   wholly inside the skipped hour (`02:15-02:45`) does not open at all.
//!
//! A day open `00:00-24:00` therefore lasts 23 or 25 real hours on those Sundays, and every
//! duration in this module is real elapsed time, never wall-clock arithmetic.
//!
//! # Cost and bounds
//! Every question walks the calendar one local day at a time (a few time zone lookups per day),
//! never minute by minute, and looks at most [`HORIZON`] (ten years) past its start. A calendar
//! with no open minute within that reach (its holidays close every open day) makes
//! [`Calendar::next_open`], [`Calendar::add`] and [`Calendar::add_days`] answer the end of the
//! horizon instead of looping.

use std::fmt;
use std::ops::ControlFlow;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::time::{DAY, Duration, Ts};

/// Opening hours of one week day: sorted, non-overlapping [start, end) minute ranges from local midnight (0..=1440).
pub type DayHours = Vec<(u16, u16)>;

/// How far past its start a calendar walk looks: ten years (3653 days). Answers that would lie
/// further away saturate at `start + HORIZON`.
pub const HORIZON: Duration = Duration(3653 * DAY);

/// Minutes in a (wall-clock) day: the end of a range that closes at midnight.
const END_OF_DAY: u16 = 24 * 60;

/// Full day names for messages, Monday first.
const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The names `parse_days` accepts, Monday first.
const DAY_ABBREVIATIONS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A business calendar: a time zone, weekly opening hours and holidays (closed all day).
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The zone's canonical IANA name.
    name: String,
    tz: TimeZone,
    /// Monday first; validated, touching ranges merged.
    week: [DayHours; 7],
    /// As given, for display.
    holidays: Vec<Holiday>,
    /// Sorted, for binary search.
    dates: Vec<Date>,
    /// Sorted `(month, day)`, for binary search.
    yearly: Vec<(i8, i8)>,
    /// Every day `00:00-24:00` and no holiday: the arithmetic is plain addition.
    always_open: bool,
}

impl Calendar {
    /// `time_zone` is an IANA name ("Europe/Warsaw"); `week[0]` is Monday .. `week[6]` Sunday;
    /// `holidays` are fixed dates (YYYY-MM-DD) and yearly dates (MM-DD), see `Holiday`.
    /// Errors (a `String` saying what is wrong and how to fix it) for an unknown time zone or a week with no open minute.
    ///
    /// Also rejects day hours that are not sorted, overlap, end before they start or after
    /// `24:00` (what [`parse_hours`] guarantees), and yearly holidays that are no day of the year.
    /// Ranges that touch (`09:00-12:00, 12:00-17:00`) are merged. The name is case-insensitive
    /// and kept in its canonical spelling.
    pub fn new(
        time_zone: &str,
        week: [DayHours; 7],
        holidays: Vec<Holiday>,
    ) -> Result<Calendar, String> {
        let tz = TimeZone::get(time_zone).map_err(|_| {
            format!(
                "unknown time zone `{time_zone}`: use an IANA name such as `Europe/Warsaw` or `UTC`"
            )
        })?;
        let mut merged: [DayHours; 7] = Default::default();
        for (day, hours) in week.iter().enumerate() {
            check_day(hours).map_err(|e| format!("{} hours: {e}", DAY_NAMES[day]))?;
            merged[day] = merge_touching(hours);
        }
        if merged.iter().all(Vec::is_empty) {
            return Err(
                "the week has no open minute: give at least one day opening hours, e.g. `09:00-17:00`"
                    .to_string(),
            );
        }
        let mut dates = Vec::new();
        let mut yearly = Vec::new();
        for holiday in &holidays {
            match *holiday {
                Holiday::Date(date) => dates.push(date),
                Holiday::Yearly { month, day } => {
                    check_month_day(month, day)?;
                    yearly.push((month, day));
                }
            }
        }
        dates.sort_unstable();
        dates.dedup();
        yearly.sort_unstable();
        yearly.dedup();
        let always_open = holidays.is_empty()
            && merged
                .iter()
                .all(|hours| hours.as_slice() == [(0, END_OF_DAY)]);
        Ok(Calendar {
            name: tz.iana_name().unwrap_or(time_zone).to_string(),
            tz,
            week: merged,
            holidays,
            dates,
            yearly,
            always_open,
        })
    }

    /// Open all the time, in UTC (used when a plan sets no hours).
    pub fn always() -> Calendar {
        let all: DayHours = vec![(0, END_OF_DAY)];
        Calendar {
            name: "UTC".to_string(),
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| all.clone()),
            holidays: Vec::new(),
            dates: Vec::new(),
            yearly: Vec::new(),
            always_open: true,
        }
    }

    /// The time zone's name.
    pub fn time_zone(&self) -> &str {
        &self.name
    }

    /// The opening hours, Monday first (touching ranges merged).
    pub fn week(&self) -> &[DayHours; 7] {
        &self.week
    }

    /// The holidays, as given.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// Whether the business is open at `ts`.
    pub fn is_open(&self, ts: Ts) -> bool {
        self.always_open
            || self
                .walk(ts, ts.saturating_add(1), |_, _, _| ControlFlow::Break(()))
                .is_some()
    }

    /// The first open instant at or after `ts`.
    ///
    /// `ts + HORIZON` when nothing opens within [`HORIZON`].
    pub fn next_open(&self, ts: Ts) -> Ts {
        if self.always_open {
            return ts;
        }
        let limit = ts.saturating_add(HORIZON.0);
        self.walk(ts, limit, |_, open, _| ControlFlow::Break(open))
            .unwrap_or(limit)
    }

    /// The instant when `business` of open time has passed since `start` (time outside opening hours does not count).
    /// `add(start, Duration(0))` is `next_open(start)`.
    ///
    /// When the time runs out exactly at a closing, that closing is the answer (`add(Mon 09:00,
    /// 8h)` is Mon 17:00 for hours `09:00-17:00`, not Tue 09:00). A negative `business` counts
    /// as zero. Saturates at `start + HORIZON` when the calendar has less open time than
    /// `business` within [`HORIZON`].
    pub fn add(&self, start: Ts, business: Duration) -> Ts {
        let mut remaining = business.0.max(0);
        if self.always_open {
            return start.saturating_add(remaining);
        }
        let limit = start.saturating_add(HORIZON.0);
        self.walk(start, limit, |_, open, close| {
            if remaining <= close - open {
                ControlFlow::Break(open + remaining)
            } else {
                remaining -= close - open;
                ControlFlow::Continue(())
            }
        })
        .unwrap_or(limit)
    }

    /// `days` business days after `start`: the same amount of open time into the `days`-th next open day,
    /// e.g. open 09:00-17:00 Mon-Fri, `add_days(Mon 14:00, 1)` = Tue 14:00; `add_days(Fri 14:00, 1)` = Mon 14:00;
    /// from outside opening hours (Sat 10:00) the clock starts at the next opening (Mon 09:00),
    /// and one whole business day from there ends at Monday's closing: due Mon 17:00.
    ///
    /// Precisely: an *open day* is a local day with some open time (not a holiday). The
    /// *anchor* is the first open day whose opening hours have not all passed at `start`, and
    /// `elapsed` is the open time of the anchor before `start` (zero when `start` is at or before
    /// its opening, or outside opening hours before it).
    /// - `elapsed > 0`: the answer is the instant `elapsed` of open time into the `days`-th open
    ///   day after the anchor, or that day's closing when it has less open time than `elapsed`
    ///   (Fri 15:00 plus one day, Saturday open only `10:00-14:00`, is Sat 14:00).
    /// - `elapsed == 0` (Sat 10:00, Mon 08:00, Mon 09:00 exactly): the clock starts at the
    ///   anchor's opening, and `days` whole open days end at the closing of the `days - 1`-th
    ///   open day after the anchor: Sat 10:00 plus one day is **Mon 17:00**, not Tue 09:00. Both
    ///   name the same amount of business time; the closing is the earlier instant, reads as "by
    ///   the end of the next business day", and is what [`Calendar::add`] returns when time runs
    ///   out at a closing (Sat 10:00 plus 8 hours is Mon 17:00 too).
    ///
    /// So Mon 16:59 plus one day is Tue 16:59, and Mon 17:00, Mon 18:00 and Tue 08:00 are all
    /// Tue 17:00. `add_days(start, 0)` is `next_open(start)`. Open time is real time: for hours
    /// `00:00-24:00` a day is 23 or 25 hours long on daylight saving Sundays. Saturates at
    /// `start + HORIZON` when no anchor or no target day lies within [`HORIZON`].
    pub fn add_days(&self, start: Ts, days: u32) -> Ts {
        if days == 0 {
            return self.next_open(start);
        }
        let limit = start.saturating_add(HORIZON.0);
        let Some(anchor) = self.walk(start, limit, |date, _, _| ControlFlow::Break(date)) else {
            return limit;
        };
        let opening = self
            .day_intervals(anchor)
            .next()
            .map_or(start, |(open, _)| open);
        let elapsed = self.between(opening, start);
        let mut left = if elapsed == 0 { days - 1 } else { days };
        let mut target = anchor;
        while left > 0 {
            target = match target.tomorrow() {
                Ok(next) => next,
                Err(_) => return limit,
            };
            if self.local_instant(target, 0) >= limit {
                return limit;
            }
            if self.day_intervals(target).next().is_some() {
                left -= 1;
            }
        }
        let mut remaining = elapsed;
        let mut closing = limit;
        for (open, close) in self.day_intervals(target) {
            if remaining > 0 && remaining <= close - open {
                return open + remaining;
            }
            remaining -= (close - open).min(remaining);
            closing = close;
        }
        closing
    }

    /// Open milliseconds in [a, b) (0 when b <= a).
    ///
    /// Counts at most [`HORIZON`] past `a` (unless the calendar is always open), so
    /// `between(start, add(start, d)) == d` whenever `add` did not saturate.
    pub fn between(&self, a: Ts, b: Ts) -> i64 {
        if b <= a {
            return 0;
        }
        if self.always_open {
            return b.saturating_sub(a);
        }
        let limit = b.min(a.saturating_add(HORIZON.0));
        let mut total = 0;
        self.walk(a, limit, |_, open, close| {
            total += close - open;
            ControlFlow::<()>::Continue(())
        });
        total
    }

    /// Calls `f(day, open, close)` for each open interval in `[from, limit)` (clipped to it), in
    /// time order, one local day at a time, until `f` breaks; `None` when none did.
    ///
    /// It starts at the local date of `from`: a local day's intervals lie between its own
    /// midnight and the next, and the midnight of `from`'s date is at or before `from`.
    fn walk<R>(
        &self,
        from: Ts,
        limit: Ts,
        mut f: impl FnMut(Date, Ts, Ts) -> ControlFlow<R>,
    ) -> Option<R> {
        if from >= limit {
            return None;
        }
        let mut date = self.tz.to_datetime(timestamp(from)).date();
        loop {
            if self.local_instant(date, 0) >= limit {
                return None;
            }
            for (open, close) in self.day_intervals(date) {
                let (open, close) = (open.max(from), close.min(limit));
                if open < close {
                    if let ControlFlow::Break(r) = f(date, open, close) {
                        return Some(r);
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
    }

    /// The non-empty open intervals of a local day, in time order (none on a holiday).
    fn day_intervals(&self, date: Date) -> impl Iterator<Item = (Ts, Ts)> + '_ {
        let hours: &[(u16, u16)] = if self.is_holiday(date) {
            &[]
        } else {
            let weekday = date.weekday().to_monday_zero_offset();
            &self.week[usize::try_from(weekday).unwrap_or(0)]
        };
        hours
            .iter()
            .map(move |&(start, end)| {
                (
                    self.local_instant(date, start),
                    self.local_instant(date, end),
                )
            })
            .filter(|(open, close)| open < close)
    }

    fn is_holiday(&self, date: Date) -> bool {
        self.dates.binary_search(&date).is_ok()
            || self
                .yearly
                .binary_search(&(date.month(), date.day()))
                .is_ok()
    }

    /// The first instant at which the local clock reads `minute` of `date` or later (see the
    /// module doc); minute 1440 is the next day's midnight. Saturates at the ends of jiff's range.
    fn local_instant(&self, date: Date, minute: u16) -> Ts {
        let (date, minute) = if minute >= END_OF_DAY {
            match date.tomorrow() {
                Ok(next) => (next, minute - END_OF_DAY),
                Err(_) => return Timestamp::MAX.as_millisecond(),
            }
        } else {
            (date, minute)
        };
        // Both parts are in range: minute < 1440.
        let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let instant = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt),
            // The earlier offset is the first pass of the repeated hour.
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt),
            // Read with the offset after the jump, `dt` falls just before the jump; the jump is
            // the first instant the clock reads `dt` or later.
            AmbiguousOffset::Gap { before, after } => {
                after
                    .to_timestamp(dt)
                    .and_then(|early| match self.tz.following(early).next() {
                        Some(jump) => Ok(jump.timestamp()),
                        None => before.to_timestamp(dt),
                    })
            }
        };
        match instant {
            Ok(t) => t.as_millisecond(),
            Err(_) if date.year() > 0 => Timestamp::MAX.as_millisecond(),
            Err(_) => Timestamp::MIN.as_millisecond(),
        }
    }
}

/// `ts` as a jiff timestamp, clamped to jiff's range (years -9999 to 9999).
fn timestamp(ts: Ts) -> Timestamp {
    Timestamp::from_millisecond(ts).unwrap_or(if ts < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// A closed day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holiday {
    /// One date (`2026-12-24`).
    Date(jiff::civil::Date),
    /// The same day every year (`12-25`); `02-29` closes only leap days.
    Yearly {
        /// 1 (January) to 12.
        month: i8,
        /// 1 to the length of the month.
        day: i8,
    },
}

impl Holiday {
    /// Whether this holiday closes the local day `date`.
    pub fn closes(self, date: Date) -> bool {
        match self {
            Holiday::Date(d) => d == date,
            Holiday::Yearly { month, day } => date.month() == month && date.day() == day,
        }
    }
}

impl fmt::Display for Holiday {
    /// The form [`parse_holiday`] reads: `2026-12-24` or `12-25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holiday::Date(date) => write!(f, "{date}"),
            Holiday::Yearly { month, day } => write!(f, "{month:02}-{day:02}"),
        }
    }
}

/// Parses "2026-12-24" (one date) or "12-25" (every year).
pub fn parse_holiday(text: &str) -> Result<Holiday, String> {
    let text = text.trim();
    let form = || {
        format!(
            "`{text}` is not a holiday: write a date as `YYYY-MM-DD` (e.g. `2026-12-24`) or a yearly date as `MM-DD` (e.g. `12-25`)"
        )
    };
    let number = |part: &str, digits: usize| {
        if part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse::<i16>().ok()
        } else {
            None
        }
    };
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => {
            let (Some(year), Some(month), Some(day)) =
                (number(year, 4), number(month, 2), number(day, 2))
            else {
                return Err(form());
            };
            let (month, day) = (month as i8, day as i8);
            check_month_day(month, day)?;
            Date::new(year, month, day).map(Holiday::Date).map_err(|_| {
                format!("`{text}` is not a date: {year} is not a leap year, February has 28 days")
            })
        }
        [month, day] => {
            let (Some(month), Some(day)) = (number(month, 2), number(day, 2)) else {
                return Err(form());
            };
            let (month, day) = (month as i8, day as i8);
            check_month_day(month, day)?;
            Ok(Holiday::Yearly { month, day })
        }
        _ => Err(form()),
    }
}

/// Checks that `month`-`day` is a day of some year (`02-29` is).
fn check_month_day(month: i8, day: i8) -> Result<(), String> {
    if !(1..=12).contains(&month) {
        return Err(format!(
            "`{month:02}-{day:02}` has no month {month}: months run from 01 to 12"
        ));
    }
    // 2000 is a leap year, so February allows the 29th.
    let longest = Date::new(2000, month, 1).map_or(31, Date::days_in_month);
    if !(1..=longest).contains(&day) {
        return Err(format!(
            "`{month:02}-{day:02}` is not a day of the year: month {month:02} has days 01 to {longest}"
        ));
    }
    Ok(())
}

/// Parses a day's hours: "09:00-18:00", "09:00-13:00, 14:00-18:00", "closed", "24h". End "24:00" allowed. Rejects overlaps, end <= start, bad times, with a message that says the expected form.
///
/// Ranges may be listed in any order; the result is sorted. Hours may have one digit (`9:00`).
pub fn parse_hours(text: &str) -> Result<DayHours, String> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "closed" => return Ok(Vec::new()),
        "24h" => return Ok(vec![(0, END_OF_DAY)]),
        "" => {
            return Err(
                "no hours given: write `HH:MM-HH:MM` (e.g. `09:00-17:00`), several separated by commas, `closed` or `24h`"
                    .to_string(),
            );
        }
        _ => {}
    }
    let mut hours = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let Some((start, end)) = part.split_once('-') else {
            return Err(format!(
                "`{part}` is not a time range: write `HH:MM-HH:MM` (e.g. `09:00-17:00`), several separated by commas, `closed` or `24h`"
            ));
        };
        let start = parse_time(start.trim())?;
        let end = parse_time(end.trim())?;
        hours.push((start, end));
    }
    hours.sort_unstable();
    check_day(&hours)?;
    Ok(hours)
}

/// `H:MM` or `HH:MM`, from `00:00` to `24:00`, as minutes from midnight.
fn parse_time(text: &str) -> Result<u16, String> {
    let bad = || format!("`{text}` is not a time of day: write `HH:MM` from `00:00` to `24:00`");
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hour, 1..=2) || !digits(minute, 2..=2) {
        return Err(bad());
    }
    let hour: u16 = hour.parse().map_err(|_| bad())?;
    let minute: u16 = minute.parse().map_err(|_| bad())?;
    if minute >= 60 || hour > 24 || (hour == 24 && minute > 0) {
        return Err(bad());
    }
    Ok(hour * 60 + minute)
}

/// Checks one day's hours: each range ends after it starts and by `24:00`, ranges sorted and
/// not overlapping (touching is fine).
fn check_day(hours: &[(u16, u16)]) -> Result<(), String> {
    for &(start, end) in hours {
        if end > END_OF_DAY {
            return Err(format!(
                "`{}` ends after 24:00: a range stays within its day, so continue it from `00:00` on the next",
                format_range(start, end)
            ));
        }
        if end <= start {
            return Err(format!(
                "`{}` does not end after it starts: a range stays within its day, so split a night into `22:00-24:00` and `00:00-06:00` on the next",
                format_range(start, end)
            ));
        }
    }
    for pair in hours.windows(2) {
        let ((a_start, a_end), (b_start, b_end)) = (pair[0], pair[1]);
        if b_start < a_end {
            return Err(format!(
                "`{}` and `{}` overlap or are out of order: list ranges from morning to evening, each starting at or after the previous end",
                format_range(a_start, a_end),
                format_range(b_start, b_end)
            ));
        }
    }
    Ok(())
}

/// Joins ranges where one ends as the next starts (`09:00-12:00, 12:00-17:00`).
fn merge_touching(hours: &[(u16, u16)]) -> DayHours {
    let mut merged: DayHours = Vec::with_capacity(hours.len());
    for &(start, end) in hours {
        match merged.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn format_range(start: u16, end: u16) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        start / 60,
        start % 60,
        end / 60,
        end % 60
    )
}

/// Writes a day's hours the way [`parse_hours`] reads them: `closed`, `24h` or
/// `09:00-13:00, 14:00-18:00`.
pub fn format_hours(hours: &[(u16, u16)]) -> String {
    match hours {
        [] => "closed".to_string(),
        [(0, END_OF_DAY)] => "24h".to_string(),
        _ => hours
            .iter()
            .map(|&(start, end)| format_range(start, end))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Parses a day spec into week-day indices (0 = Monday): "mon", "mon-fri", "sat,sun", "mon-wed,fri", "daily" (all 7). Case-insensitive; three-letter English names; ranges may not wrap (reject "sat-mon" with a hint).
///
/// The result is sorted and has no repeats (`mon-fri,fri` is Monday to Friday).
pub fn parse_days(text: &str) -> Result<Vec<usize>, String> {
    let lower = text.trim().to_ascii_lowercase();
    let day = |name: &str| {
        DAY_ABBREVIATIONS
            .iter()
            .position(|d| *d == name)
            .ok_or_else(|| {
                format!(
                    "`{name}` is not a day: use mon, tue, wed, thu, fri, sat or sun, a range like `mon-fri`, a list like `sat,sun`, or `daily`"
                )
            })
    };
    let mut days = Vec::new();
    for item in lower.split(',') {
        let item = item.trim();
        if item == "daily" {
            days.extend(0..7);
        } else if let Some((first, last)) = item.split_once('-') {
            let (first, last) = (first.trim(), last.trim());
            let (from, to) = (day(first)?, day(last)?);
            if from > to {
                let tail = if from == 6 {
                    "sun".to_string()
                } else {
                    format!("{first}-sun")
                };
                let head = if to == 0 {
                    "mon".to_string()
                } else {
                    format!("mon-{last}")
                };
                return Err(format!(
                    "`{first}-{last}` wraps past sunday: ranges run from monday to sunday, so write `{tail},{head}`"
                ));
            }
            days.extend(from..=to);
        } else {
            days.push(day(item)?);
        }
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{HOUR, MINUTE};
    use jiff::civil::date;

    const WARSAW: &str = "Europe/Warsaw";

    /// An RFC 3339 instant.
    fn at(rfc3339: &str) -> Ts {
        rfc3339
            .parse::<Timestamp>()
            .unwrap_or_else(|e| panic!("bad instant {rfc3339}: {e}"))
            .as_millisecond()
    }

    fn in_warsaw(ts: Ts) -> String {
        timestamp(ts)
            .to_zoned(TimeZone::get(WARSAW).unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%.f%:z %a")
            .to_string()
    }

    #[track_caller]
    fn assert_at(actual: Ts, expected: &str) {
        assert_eq!(
            actual,
            at(expected),
            "got {}, expected {expected}",
            in_warsaw(actual)
        );
    }

    fn hours(text: &str) -> DayHours {
        parse_hours(text).unwrap()
    }

    /// A week from `(days, hours)` pairs; days not named are closed.
    fn week(spec: &[(&str, &str)]) -> [DayHours; 7] {
        let mut week: [DayHours; 7] = Default::default();
        for (days, text) in spec {
            for d in parse_days(days).unwrap() {
                week[d] = hours(text);
            }
        }
        week
    }

    /// Mon-Fri 09:00-17:00 in Warsaw, no holidays.
    fn office() -> Calendar {
        Calendar::new(WARSAW, week(&[("mon-fri", "09:00-17:00")]), vec![]).unwrap()
    }

    fn christmas() -> Vec<Holiday> {
        ["2026-12-24", "2026-12-25", "2026-12-26", "01-01"]
            .iter()
            .map(|h| parse_holiday(h).unwrap())
            .collect()
    }

    /// Mon-Fri 09:00-18:00, Sat 10:00-14:00 in Warsaw, closed over Christmas 2026 and every 1 January.
    fn showroom() -> Calendar {
        Calendar::new(
            WARSAW,
            week(&[("mon-fri", "09:00-18:00"), ("sat", "10:00-14:00")]),
            christmas(),
        )
        .unwrap()
    }

    #[test]
    fn fixture_dates_are_the_week_days_the_tests_assume() {
        use jiff::civil::Weekday::*;
        assert_eq!(date(2026, 6, 15).weekday(), Monday);
        assert_eq!(date(2026, 3, 27).weekday(), Friday);
        assert_eq!(date(2026, 3, 29).weekday(), Sunday);
        assert_eq!(date(2026, 10, 25).weekday(), Sunday);
        assert_eq!(date(2026, 12, 24).weekday(), Thursday);
        assert_eq!(date(2027, 1, 1).weekday(), Friday);
        assert_eq!(date(2028, 1, 1).weekday(), Saturday);
    }

    #[test]
    fn add_within_a_day() {
        let cal = office();
        assert_at(
            cal.add(at("2026-06-16T10:00:00+02:00"), Duration(2 * HOUR)),
            "2026-06-16T12:00:00+02:00",
        );
        assert_at(
            cal.add(at("2026-06-16T10:00:00.250+02:00"), Duration(15 * MINUTE)),
            "2026-06-16T10:15:00.250+02:00",
        );
    }

    #[test]
    fn add_spans_the_night() {
        assert_at(
            office().add(at("2026-06-16T16:00:00+02:00"), Duration(2 * HOUR)),
            "2026-06-17T10:00:00+02:00",
        );
    }

    #[test]
    fn add_spans_the_weekend() {
        assert_at(
            office().add(at("2026-06-19T16:30:00+02:00"), Duration(3 * HOUR)),
            "2026-06-22T11:30:00+02:00",
        );
    }

    #[test]
    fn add_skips_a_lunch_break() {
        let cal = Calendar::new(
            WARSAW,
            week(&[("mon-fri", "09:00-13:00, 14:00-18:00")]),
            vec![],
        )
        .unwrap();
        assert_at(
            cal.add(at("2026-06-16T12:30:00+02:00"), Duration(HOUR)),
            "2026-06-16T14:30:00+02:00",
        );
        // Started during the break: the clock starts at 14:00.
        assert_at(
            cal.add(at("2026-06-16T13:10:00+02:00"), Duration(30 * MINUTE)),
            "2026-06-16T14:30:00+02:00",
        );
    }

    #[test]
    fn add_ends_at_a_closing_and_zero_is_the_next_opening() {
        let cal = office();
        // Time that runs out at 17:00 is due at 17:00, not at the next opening.
        assert_at(
            cal.add(at("2026-06-16T09:00:00+02:00"), Duration(8 * HOUR)),
            "2026-06-16T17:00:00+02:00",
        );
        assert_at(
            cal.add(at("2026-06-16T17:00:00+02:00"), Duration(0)),
            "2026-06-17T09:00:00+02:00",
        );
        assert_at(
            cal.add(at("2026-06-20T10:00:00+02:00"), Duration(0)),
            "2026-06-22T09:00:00+02:00",
        );
        assert_at(
            cal.add(at("2026-06-16T11:00:00+02:00"), Duration(0)),
            "2026-06-16T11:00:00+02:00",
        );
        // Negative counts as zero.
        assert_at(
            cal.add(at("2026-06-20T10:00:00+02:00"), Duration(-HOUR)),
            "2026-06-22T09:00:00+02:00",
        );
    }

    #[test]
    fn add_thirty_business_days() {
        // 30 days of 8 hours from a Monday opening end on the sixth Friday at closing.
        assert_at(
            office().add(at("2026-06-15T09:00:00+02:00"), Duration(30 * 8 * HOUR)),
            "2026-07-24T17:00:00+02:00",
        );
    }

    #[test]
    fn holidays_close_the_whole_day() {
        let cal = showroom();
        // Wed 17:00 + 2h: 1h on Wednesday, Thu 24 / Fri 25 / Sat 26 are holidays, Sunday closed.
        assert_at(
            cal.add(at("2026-12-23T17:00:00+01:00"), Duration(2 * HOUR)),
            "2026-12-28T10:00:00+01:00",
        );
        assert!(!cal.is_open(at("2026-12-24T12:00:00+01:00")));
        assert!(!cal.is_open(at("2026-12-26T11:00:00+01:00")));
        assert!(cal.is_open(at("2026-12-23T12:00:00+01:00")));
        // The yearly 1 January: a Friday in 2027 (Saturday opens), a Saturday in 2028.
        assert_at(
            cal.add(at("2026-12-31T17:30:00+01:00"), Duration(HOUR)),
            "2027-01-02T10:30:00+01:00",
        );
        assert_at(
            cal.add(at("2027-12-31T17:30:00+01:00"), Duration(HOUR)),
            "2028-01-03T09:30:00+01:00",
        );
        assert_at(
            cal.next_open(at("2030-01-01T08:00:00+01:00")),
            "2030-01-02T09:00:00+01:00",
        );
        // Christmas week: Mon 21 to Wed 23 (3 × 9h) and Sun 27 closed.
        assert_eq!(
            cal.between(
                at("2026-12-21T00:00:00+01:00"),
                at("2026-12-28T00:00:00+01:00")
            ),
            27 * HOUR
        );
    }

    #[test]
    fn dst_spring_forward_weekend() {
        let cal = office();
        // Friday before the last Sunday of March, 1h before close: 1h Friday, 1h Monday (now CEST).
        let friday = at("2026-03-27T16:00:00+01:00");
        let due = cal.add(friday, Duration(2 * HOUR));
        assert_at(due, "2026-03-30T10:00:00+02:00");
        assert_eq!(cal.between(friday, due), 2 * HOUR);
        // The weekend lost an hour of real time.
        assert_eq!(due - friday, 65 * HOUR);
        assert_at(
            cal.add_days(at("2026-03-27T14:00:00+01:00"), 1),
            "2026-03-30T14:00:00+02:00",
        );
    }

    #[test]
    fn dst_fall_back_weekend() {
        let cal = office();
        let friday = at("2026-10-23T16:00:00+02:00");
        let due = cal.add(friday, Duration(2 * HOUR));
        assert_at(due, "2026-10-26T10:00:00+01:00");
        assert_eq!(cal.between(friday, due), 2 * HOUR);
        assert_eq!(due - friday, 67 * HOUR);
    }

    #[test]
    fn always_open_counts_real_time_across_the_dst_night() {
        let always = Calendar::always();
        let warsaw_24h = Calendar::new(WARSAW, week(&[("daily", "24h")]), vec![]).unwrap();
        let warsaw_24h_with_holiday = Calendar::new(
            WARSAW,
            week(&[("daily", "24h")]),
            vec![parse_holiday("2030-01-01").unwrap()],
        )
        .unwrap();
        for cal in [&always, &warsaw_24h, &warsaw_24h_with_holiday] {
            // Spring: 23:00 CET + 4h is 03:00 CET = 04:00 CEST (the wall clock moved 5 hours).
            assert_at(
                cal.add(at("2026-03-28T23:00:00+01:00"), Duration(4 * HOUR)),
                "2026-03-29T04:00:00+02:00",
            );
            // Fall: 01:00 CEST + 3h is 03:00 CET.
            assert_at(
                cal.add(at("2026-10-25T01:00:00+02:00"), Duration(3 * HOUR)),
                "2026-10-25T03:00:00+01:00",
            );
            assert_eq!(
                cal.between(
                    at("2026-03-29T00:00:00+01:00"),
                    at("2026-03-30T00:00:00+02:00")
                ),
                23 * HOUR
            );
            assert_eq!(
                cal.between(
                    at("2026-10-25T00:00:00+02:00"),
                    at("2026-10-26T00:00:00+01:00")
                ),
                25 * HOUR
            );
        }
        // A 24h day is a local day: Saturday noon plus one day is 24 real hours later, which is
        // 13:00 on the short Sunday.
        assert_at(
            warsaw_24h_with_holiday.add_days(at("2026-03-28T12:00:00+01:00"), 1),
            "2026-03-29T13:00:00+02:00",
        );
    }

    #[test]
    fn hours_inside_the_skipped_and_repeated_hour() {
        let sunday = |text: &str| {
            Calendar::new(
                WARSAW,
                week(&[("mon", "09:00-10:00"), ("sun", text)]),
                vec![],
            )
            .unwrap()
        };
        let spring = (
            at("2026-03-29T00:00:00+01:00"),
            at("2026-03-30T00:00:00+02:00"),
        );
        let fall = (
            at("2026-10-25T00:00:00+02:00"),
            at("2026-10-26T00:00:00+01:00"),
        );
        // 01:00-04:00 is 2 real hours in spring, 4 in fall.
        let night = sunday("01:00-04:00");
        assert_eq!(night.between(spring.0, spring.1), 2 * HOUR);
        assert_eq!(night.between(fall.0, fall.1), 4 * HOUR);
        assert_at(
            night.add(at("2026-03-29T01:30:00+01:00"), Duration(HOUR)),
            "2026-03-29T03:30:00+02:00",
        );
        // A range inside the skipped hour never opens that night; on other Sundays it does.
        let skipped = sunday("02:15-02:45");
        assert_eq!(skipped.between(spring.0, spring.1), 0);
        assert!(!skipped.is_open(at("2026-03-29T03:30:00+02:00")));
        assert_eq!(skipped.between(fall.0, fall.1), 30 * MINUTE);
        assert_at(
            skipped.next_open(at("2026-04-05T00:00:00+02:00")),
            "2026-04-05T02:15:00+02:00",
        );
        // A range that starts in the skipped hour opens at the jump.
        let late = sunday("02:30-05:00");
        assert_at(late.next_open(spring.0), "2026-03-29T03:00:00+02:00");
        assert_eq!(late.between(spring.0, spring.1), 2 * HOUR);
        // In the repeated hour, a wall-clock time is its first pass: the range runs on through
        // the second pass.
        let from_half_past_two = sunday("02:30-24:00");
        assert_at(
            from_half_past_two.next_open(fall.0),
            "2026-10-25T02:30:00+02:00",
        );
        assert!(from_half_past_two.is_open(at("2026-10-25T02:15:00+01:00")));
        assert_eq!(
            from_half_past_two.between(fall.0, fall.1),
            22 * HOUR + 30 * MINUTE
        );
        let until_half_past_two = sunday("00:00-02:30");
        assert_eq!(
            until_half_past_two.between(fall.0, fall.1),
            2 * HOUR + 30 * MINUTE
        );
    }

    #[test]
    fn add_days_keeps_the_time_of_day_in_open_time() {
        let cal = office();
        assert_at(
            cal.add_days(at("2026-06-15T14:00:00+02:00"), 1),
            "2026-06-16T14:00:00+02:00",
        );
        assert_at(
            cal.add_days(at("2026-06-19T14:00:00+02:00"), 1),
            "2026-06-22T14:00:00+02:00",
        );
        assert_at(
            cal.add_days(at("2026-06-15T14:00:00+02:00"), 5),
            "2026-06-22T14:00:00+02:00",
        );
        assert_at(
            cal.add_days(at("2026-06-15T16:59:00+02:00"), 1),
            "2026-06-16T16:59:00+02:00",
        );
        assert_at(
            cal.add_days(at("2026-06-15T14:00:00+02:00"), 0),
            "2026-06-15T14:00:00+02:00",
        );
    }

    #[test]
    fn add_days_from_outside_hours_ends_at_a_closing() {
        let cal = office();
        // Saturday: the clock starts at Monday's opening; one whole day ends Monday at closing.
        assert_at(
            cal.add_days(at("2026-06-20T10:00:00+02:00"), 1),
            "2026-06-22T17:00:00+02:00",
        );
        assert_at(
            cal.add_days(at("2026-06-20T10:00:00+02:00"), 2),
            "2026-06-23T17:00:00+02:00",
        );
        // The same as 8 business hours.
        assert_eq!(
            cal.add_days(at("2026-06-20T10:00:00+02:00"), 1),
            cal.add(at("2026-06-20T10:00:00+02:00"), Duration(8 * HOUR))
        );
        for start in [
            "2026-06-15T17:00:00+02:00",
            "2026-06-15T18:00:00+02:00",
            "2026-06-16T08:00:00+02:00",
            "2026-06-16T09:00:00+02:00",
        ] {
            assert_at(cal.add_days(at(start), 1), "2026-06-16T17:00:00+02:00");
        }
        // Zero days from outside hours is the next opening.
        assert_at(
            cal.add_days(at("2026-06-20T10:00:00+02:00"), 0),
            "2026-06-22T09:00:00+02:00",
        );
    }

    #[test]
    fn add_days_over_short_days_lunch_breaks_and_holidays() {
        let cal = showroom();
        // Friday 15:00 is 6h into the day; Saturday has 4h: due at Saturday's closing.
        assert_at(
            cal.add_days(at("2026-06-19T15:00:00+02:00"), 1),
            "2026-06-20T14:00:00+02:00",
        );
        // Saturday 12:00 is 2h into the day; Sunday is closed: Monday 11:00.
        assert_at(
            cal.add_days(at("2026-06-20T12:00:00+02:00"), 1),
            "2026-06-22T11:00:00+02:00",
        );
        // Wednesday before Christmas: Thu/Fri/Sat holidays, Sunday closed.
        assert_at(
            cal.add_days(at("2026-12-23T12:00:00+01:00"), 1),
            "2026-12-28T12:00:00+01:00",
        );
        let split = Calendar::new(
            WARSAW,
            week(&[("mon-fri", "09:00-13:00, 14:00-18:00")]),
            vec![],
        )
        .unwrap();
        // 13:30 is in the break, 4h into the day: Tuesday after 4h is 13:00.
        assert_at(
            split.add_days(at("2026-06-15T13:30:00+02:00"), 1),
            "2026-06-16T13:00:00+02:00",
        );
        assert_at(
            split.add_days(at("2026-06-15T15:00:00+02:00"), 1),
            "2026-06-16T15:00:00+02:00",
        );
    }

    #[test]
    fn between_counts_open_time_only() {
        let cal = office();
        let start = at("2026-06-16T10:00:00+02:00");
        assert_eq!(
            cal.between(start, at("2026-06-16T12:00:00+02:00")),
            2 * HOUR
        );
        assert_eq!(
            cal.between(start, at("2026-06-17T10:00:00+02:00")),
            8 * HOUR
        );
        assert_eq!(cal.between(start, start), 0);
        assert_eq!(cal.between(start, start - HOUR), 0);
        assert_eq!(
            cal.between(
                at("2026-06-20T00:00:00+02:00"),
                at("2026-06-22T00:00:00+02:00")
            ),
            0
        );
        // A whole year: 261 week days of 8 hours in 2026.
        assert_eq!(
            cal.between(
                at("2026-01-01T00:00:00+01:00"),
                at("2027-01-01T00:00:00+01:00")
            ),
            261 * 8 * HOUR
        );
    }

    #[test]
    fn is_open_at_the_edges() {
        let cal = office();
        assert!(cal.is_open(at("2026-06-16T09:00:00+02:00")));
        assert!(!cal.is_open(at("2026-06-16T08:59:59.999+02:00")));
        assert!(cal.is_open(at("2026-06-16T16:59:59.999+02:00")));
        assert!(!cal.is_open(at("2026-06-16T17:00:00+02:00")));
        assert!(!cal.is_open(at("2026-06-20T12:00:00+02:00")));
        // 09:00 in Warsaw is 07:00 UTC in summer, 08:00 in winter.
        assert!(!cal.is_open(at("2026-01-13T07:30:00Z")));
        assert!(cal.is_open(at("2026-06-16T07:30:00Z")));
    }

    #[test]
    fn next_open_from_open_closed_and_weekend() {
        let cal = office();
        assert_at(
            cal.next_open(at("2026-06-16T11:00:00+02:00")),
            "2026-06-16T11:00:00+02:00",
        );
        assert_at(
            cal.next_open(at("2026-06-16T06:00:00+02:00")),
            "2026-06-16T09:00:00+02:00",
        );
        assert_at(
            cal.next_open(at("2026-06-16T17:00:00+02:00")),
            "2026-06-17T09:00:00+02:00",
        );
        assert_at(
            cal.next_open(at("2026-06-19T20:00:00+02:00")),
            "2026-06-22T09:00:00+02:00",
        );
        // Late Sunday evening in Warsaw is still Sunday, although UTC is already Monday... and
        // vice versa: 23:30 UTC on Sunday is Monday 01:30 local.
        assert_at(
            cal.next_open(at("2026-06-21T23:30:00Z")),
            "2026-06-22T09:00:00+02:00",
        );
    }

    #[test]
    fn always_is_open_all_the_time_in_utc() {
        let cal = Calendar::always();
        assert_eq!(cal.time_zone(), "UTC");
        let t = at("2026-06-20T03:17:00Z");
        assert!(cal.is_open(t));
        assert_eq!(cal.next_open(t), t);
        assert_eq!(cal.add(t, Duration(90 * MINUTE)), t + 90 * MINUTE);
        assert_eq!(cal.between(t, t + 5 * DAY), 5 * DAY);
        assert_eq!(cal.add_days(t, 3), t + 3 * DAY);
        assert_eq!(
            cal.add_days(at("2026-06-20T00:00:00Z"), 1),
            at("2026-06-21T00:00:00Z")
        );
        assert_eq!(cal.add(i64::MAX - 1, Duration(HOUR)), i64::MAX);
        assert_eq!(cal.between(i64::MIN, i64::MAX), i64::MAX);
    }

    #[test]
    fn a_calendar_never_open_within_the_horizon_saturates() {
        // Open on Mondays only, and every day of the year is a holiday.
        let every_day: Vec<Holiday> = (1..=12)
            .flat_map(|month| {
                let days = date(2000, month, 1).days_in_month();
                (1..=days).map(move |day| Holiday::Yearly { month, day })
            })
            .collect();
        assert_eq!(every_day.len(), 366);
        let cal = Calendar::new(WARSAW, week(&[("mon", "09:00-17:00")]), every_day).unwrap();
        let t = at("2026-06-15T10:00:00+02:00");
        assert!(!cal.is_open(t));
        assert_eq!(cal.next_open(t), t + HORIZON.0);
        assert_eq!(cal.add(t, Duration(HOUR)), t + HORIZON.0);
        assert_eq!(cal.add_days(t, 1), t + HORIZON.0);
        assert_eq!(cal.between(t, t + 20 * 365 * DAY), 0);
        // An absurd duration on an ordinary calendar saturates too.
        assert_eq!(office().add(t, Duration(i64::MAX)), t + HORIZON.0);
        assert_eq!(office().add_days(t, u32::MAX), t + HORIZON.0);
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let cal = showroom();
        for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let _ = cal.is_open(t);
            let _ = cal.next_open(t);
            let _ = cal.add(t, Duration(HOUR));
            let _ = cal.add_days(t, 3);
            let _ = cal.between(t, i64::MAX);
            let _ = cal.between(i64::MIN, t);
        }
        assert_eq!(cal.between(i64::MIN, i64::MAX), 0);
    }

    #[test]
    fn new_rejects_what_it_cannot_use() {
        let err =
            Calendar::new("Europe/Warsw", week(&[("mon", "09:00-17:00")]), vec![]).unwrap_err();
        assert_eq!(
            err,
            "unknown time zone `Europe/Warsw`: use an IANA name such as `Europe/Warsaw` or `UTC`"
        );
        let err = Calendar::new(WARSAW, week(&[("daily", "closed")]), vec![]).unwrap_err();
        assert_eq!(
            err,
            "the week has no open minute: give at least one day opening hours, e.g. `09:00-17:00`"
        );
        let mut raw: [DayHours; 7] = Default::default();
        raw[1] = vec![(14 * 60, 18 * 60), (9 * 60, 13 * 60)];
        assert_eq!(
            Calendar::new(WARSAW, raw, vec![]).unwrap_err(),
            "tuesday hours: `14:00-18:00` and `09:00-13:00` overlap or are out of order: list ranges from morning to evening, each starting at or after the previous end"
        );
        let mut raw: [DayHours; 7] = Default::default();
        raw[6] = vec![(600, 1500)];
        assert_eq!(
            Calendar::new(WARSAW, raw, vec![]).unwrap_err(),
            "sunday hours: `10:00-25:00` ends after 24:00: a range stays within its day, so continue it from `00:00` on the next"
        );
        let err = Calendar::new(
            WARSAW,
            week(&[("mon", "09:00-17:00")]),
            vec![Holiday::Yearly { month: 2, day: 30 }],
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`02-30` is not a day of the year: month 02 has days 01 to 29"
        );
    }

    #[test]
    fn new_canonicalises_the_zone_and_merges_touching_ranges() {
        let cal = Calendar::new(
            "europe/warsaw",
            week(&[("mon", "09:00-12:00, 12:00-17:00")]),
            christmas(),
        )
        .unwrap();
        assert_eq!(cal.time_zone(), "Europe/Warsaw");
        assert_eq!(cal.week()[0], vec![(540, 1020)]);
        assert_eq!(cal.holidays(), christmas().as_slice());
        // Split 24h days are still always open, in any zone.
        let split = Calendar::new(
            WARSAW,
            week(&[("daily", "00:00-12:00, 12:00-24:00")]),
            vec![],
        )
        .unwrap();
        assert!(split.always_open);
    }

    #[test]
    fn parse_hours_reads_ranges_and_keywords() {
        assert_eq!(hours("09:00-18:00"), vec![(540, 1080)]);
        assert_eq!(
            hours("09:00-13:00, 14:00-18:00"),
            vec![(540, 780), (840, 1080)]
        );
        assert_eq!(
            hours(" 14:00-18:00,9:00-13:00 "),
            vec![(540, 780), (840, 1080)]
        );
        assert_eq!(hours("closed"), Vec::<(u16, u16)>::new());
        assert_eq!(hours("Closed"), Vec::<(u16, u16)>::new());
        assert_eq!(hours("24h"), vec![(0, 1440)]);
        assert_eq!(hours("18:00-24:00"), vec![(1080, 1440)]);
        assert_eq!(hours("00:00 - 06:30"), vec![(0, 390)]);
        for text in ["closed", "24h", "09:00-13:00, 14:00-18:00", "00:05-24:00"] {
            assert_eq!(format_hours(&hours(text)), text);
        }
    }

    #[test]
    fn parse_hours_errors_say_the_expected_form() {
        let err = |text: &str| parse_hours(text).unwrap_err();
        assert_eq!(
            err("9-17"),
            "`9` is not a time of day: write `HH:MM` from `00:00` to `24:00`"
        );
        assert_eq!(
            err("09:00"),
            "`09:00` is not a time range: write `HH:MM-HH:MM` (e.g. `09:00-17:00`), several separated by commas, `closed` or `24h`"
        );
        assert_eq!(
            err(""),
            "no hours given: write `HH:MM-HH:MM` (e.g. `09:00-17:00`), several separated by commas, `closed` or `24h`"
        );
        assert_eq!(
            err("09:00-24:30"),
            "`24:30` is not a time of day: write `HH:MM` from `00:00` to `24:00`"
        );
        assert_eq!(
            err("09:60-10:00"),
            "`09:60` is not a time of day: write `HH:MM` from `00:00` to `24:00`"
        );
        assert_eq!(
            err("22:00-06:00"),
            "`22:00-06:00` does not end after it starts: a range stays within its day, so split a night into `22:00-24:00` and `00:00-06:00` on the next"
        );
        assert_eq!(
            err("09:00-09:00"),
            "`09:00-09:00` does not end after it starts: a range stays within its day, so split a night into `22:00-24:00` and `00:00-06:00` on the next"
        );
        assert_eq!(
            err("09:00-13:00, 12:00-18:00"),
            "`09:00-13:00` and `12:00-18:00` overlap or are out of order: list ranges from morning to evening, each starting at or after the previous end"
        );
        assert_eq!(
            err("09:00-17:00,"),
            "`` is not a time range: write `HH:MM-HH:MM` (e.g. `09:00-17:00`), several separated by commas, `closed` or `24h`"
        );
    }

    #[test]
    fn parse_days_reads_names_ranges_and_lists() {
        assert_eq!(parse_days("mon").unwrap(), vec![0]);
        assert_eq!(parse_days("mon-fri").unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_days("sat,sun").unwrap(), vec![5, 6]);
        assert_eq!(parse_days("Mon-Wed, FRI").unwrap(), vec![0, 1, 2, 4]);
        assert_eq!(parse_days("daily").unwrap(), (0..7).collect::<Vec<_>>());
        assert_eq!(
            parse_days("sun,mon-fri,fri").unwrap(),
            vec![0, 1, 2, 3, 4, 6]
        );
        assert_eq!(parse_days("sat-sat").unwrap(), vec![5]);
    }

    #[test]
    fn parse_days_errors_give_hints() {
        assert_eq!(
            parse_days("sat-mon").unwrap_err(),
            "`sat-mon` wraps past sunday: ranges run from monday to sunday, so write `sat-sun,mon`"
        );
        assert_eq!(
            parse_days("fri-tue").unwrap_err(),
            "`fri-tue` wraps past sunday: ranges run from monday to sunday, so write `fri-sun,mon-tue`"
        );
        assert_eq!(
            parse_days("sun-wed").unwrap_err(),
            "`sun-wed` wraps past sunday: ranges run from monday to sunday, so write `sun,mon-wed`"
        );
        assert_eq!(
            parse_days("tues").unwrap_err(),
            "`tues` is not a day: use mon, tue, wed, thu, fri, sat or sun, a range like `mon-fri`, a list like `sat,sun`, or `daily`"
        );
        assert_eq!(
            parse_days("monday").unwrap_err(),
            "`monday` is not a day: use mon, tue, wed, thu, fri, sat or sun, a range like `mon-fri`, a list like `sat,sun`, or `daily`"
        );
        assert_eq!(
            parse_days("").unwrap_err(),
            "`` is not a day: use mon, tue, wed, thu, fri, sat or sun, a range like `mon-fri`, a list like `sat,sun`, or `daily`"
        );
    }

    #[test]
    fn parse_holiday_reads_dates_and_yearly_days() {
        assert_eq!(
            parse_holiday("2026-12-24").unwrap(),
            Holiday::Date(date(2026, 12, 24))
        );
        assert_eq!(
            parse_holiday(" 12-25 ").unwrap(),
            Holiday::Yearly { month: 12, day: 25 }
        );
        assert_eq!(
            parse_holiday("02-29").unwrap(),
            Holiday::Yearly { month: 2, day: 29 }
        );
        for text in ["2026-12-24", "01-01", "02-29"] {
            assert_eq!(parse_holiday(text).unwrap().to_string(), text);
        }
        assert!(parse_holiday("02-29").unwrap().closes(date(2028, 2, 29)));
        assert!(!parse_holiday("12-25").unwrap().closes(date(2026, 12, 24)));
    }

    #[test]
    fn parse_holiday_errors_say_the_expected_form() {
        let form = |t: &str| {
            format!(
                "`{t}` is not a holiday: write a date as `YYYY-MM-DD` (e.g. `2026-12-24`) or a yearly date as `MM-DD` (e.g. `12-25`)"
            )
        };
        for text in ["24.12.2026", "2026-12-24T00:00", "12/25", "1-1", "xmas", ""] {
            assert_eq!(parse_holiday(text).unwrap_err(), form(text), "{text}");
        }
        assert_eq!(
            parse_holiday("2026-13-01").unwrap_err(),
            "`13-01` has no month 13: months run from 01 to 12"
        );
        assert_eq!(
            parse_holiday("04-31").unwrap_err(),
            "`04-31` is not a day of the year: month 04 has days 01 to 30"
        );
        assert_eq!(
            parse_holiday("2027-02-29").unwrap_err(),
            "`2027-02-29` is not a date: 2027 is not a leap year, February has 28 days"
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Calendars whose range ends avoid the 02:00-03:00 hour, so the naive per-minute
        /// oracle (which has no notion of first passes) agrees with them.
        fn plain(i: usize) -> Calendar {
            match i {
                0 => showroom(),
                1 => Calendar::new(
                    WARSAW,
                    week(&[
                        ("mon-fri", "09:00-13:00, 14:00-18:00"),
                        ("sat", "22:00-24:00"),
                        ("sun", "01:00-04:00"),
                    ]),
                    christmas(),
                )
                .unwrap(),
                2 => Calendar::new(
                    WARSAW,
                    week(&[("daily", "00:00-01:30, 03:30-24:00")]),
                    vec![],
                )
                .unwrap(),
                3 => Calendar::new(
                    "America/New_York",
                    week(&[("mon-sat", "08:00-20:00"), ("sun", "00:00-04:00")]),
                    vec![parse_holiday("07-04").unwrap()],
                )
                .unwrap(),
                _ => Calendar::always(),
            }
        }

        /// Any calendar, including ranges that start or end inside the skipped or repeated hour.
        fn any(i: usize) -> Calendar {
            match i {
                5 => Calendar::new(
                    WARSAW,
                    week(&[
                        ("sat", "00:00-02:15"),
                        ("sun", "02:30-24:00"),
                        ("wed", "02:10-02:50"),
                    ]),
                    vec![],
                )
                .unwrap(),
                _ => plain(i),
            }
        }

        /// The naive oracle: is the local wall-clock minute of `ts` in the day's hours?
        fn naive_open(cal: &Calendar, ts: Ts) -> bool {
            let local = timestamp(ts).to_zoned(cal.tz.clone()).datetime();
            let day = local.date();
            if cal.holidays().iter().any(|h| h.closes(day)) {
                return false;
            }
            let minute = local.hour() as u16 * 60 + local.minute() as u16;
            let weekday = day.weekday().to_monday_zero_offset() as usize;
            cal.week()[weekday]
                .iter()
                .any(|&(s, e)| s <= minute && minute < e)
        }

        /// Instants in 2025-2029, half of them within two days of a DST Sunday.
        fn instant() -> impl Strategy<Value = Ts> {
            let dst_sundays: Vec<Ts> = [
                "2025-03-30T00:00:00Z",
                "2025-10-26T00:00:00Z",
                "2026-03-29T00:00:00Z",
                "2026-10-25T00:00:00Z",
                "2026-03-08T06:00:00Z",
                "2026-11-01T06:00:00Z",
                "2027-03-28T00:00:00Z",
                "2027-10-31T00:00:00Z",
            ]
            .iter()
            .map(|t| at(t))
            .collect();
            prop_oneof![
                at("2025-01-01T00:00:00Z")..at("2029-01-01T00:00:00Z"),
                (proptest::sample::select(dst_sundays), -2 * DAY..2 * DAY)
                    .prop_map(|(sunday, offset)| sunday + offset),
            ]
        }

        proptest! {
            #[test]
            fn between_inverts_add(cal in 0usize..6, start in instant(), d in 0..60 * 8 * HOUR) {
                let cal = any(cal);
                let due = cal.add(start, Duration(d));
                prop_assert!(due >= start);
                prop_assert_eq!(cal.between(start, due), d, "due {}", in_warsaw(due));
                if d > 0 {
                    prop_assert!(cal.is_open(due - 1), "due {}", in_warsaw(due));
                } else {
                    prop_assert_eq!(due, cal.next_open(start));
                }
            }

            #[test]
            fn add_composes(cal in 0usize..6, start in instant(), d1 in 0..20 * HOUR, d2 in 1..20 * HOUR) {
                let cal = any(cal);
                prop_assert_eq!(
                    cal.add(cal.add(start, Duration(d1)), Duration(d2)),
                    cal.add(start, Duration(d1 + d2))
                );
            }

            #[test]
            fn next_open_is_open_and_nothing_before_it_is(cal in 0usize..6, start in instant()) {
                let cal = any(cal);
                let next = cal.next_open(start);
                prop_assert!(next >= start);
                prop_assert!(cal.is_open(next));
                prop_assert_eq!(cal.between(start, next), 0);
            }

            #[test]
            fn add_days_is_monotone_and_lands_in_open_time(
                cal in 0usize..6,
                start in instant(),
                days in 1u32..15,
            ) {
                let cal = any(cal);
                let one = cal.add_days(start, days);
                let more = cal.add_days(start, days + 1);
                prop_assert!(one > start);
                prop_assert!(more > one, "{} then {}", in_warsaw(one), in_warsaw(more));
                // The due instant is open or just closed (the end of a day's hours).
                prop_assert!(cal.is_open(one - 1), "{}", in_warsaw(one));
            }
        }

        proptest! {
            // Minute by minute in a debug build: fewer, shorter cases keep this near a second.
            #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

            #[test]
            fn is_open_and_between_match_the_naive_oracle(
                cal in 0usize..5,
                start in instant(),
                minutes in 0i64..2 * 24 * 60,
            ) {
                let cal = plain(cal);
                let start = start - start.rem_euclid(MINUTE);
                let end = start + minutes * MINUTE;
                let mut naive = 0;
                let mut t = start;
                while t < end {
                    let open = naive_open(&cal, t);
                    prop_assert_eq!(cal.is_open(t), open, "at {}", in_warsaw(t));
                    if open {
                        naive += MINUTE;
                    }
                    t += MINUTE;
                }
                prop_assert_eq!(cal.between(start, end), naive);
            }
        }
    }
}
