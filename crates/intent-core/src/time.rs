//! Event time: milliseconds since the Unix epoch, and the plan's human durations (`30m`, `14d`).

use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z. Every time in the core is a `Ts`; the core never reads a clock.
pub type Ts = i64;

/// One second in milliseconds.
pub const SECOND: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE: i64 = 60 * SECOND;
/// One hour in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: i64 = 24 * HOUR;
/// One week in milliseconds.
pub const WEEK: i64 = 7 * DAY;

/// A length of time written the way a marketer would: `90s`, `30m`, `24h`, `14d`, `2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    /// The length in milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses `<positive integer><unit>` with unit `s`, `m`, `h`, `d` or `w`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
            format!("`{text}` has no unit: write e.g. `{text}d` (s, m, h, d or w)")
        })?;
        let (digits, unit) = text.split_at(split);
        let n: i64 = digits.parse().map_err(|_| {
            format!("`{text}` does not start with a whole number, e.g. `30m` or `14d`")
        })?;
        if n <= 0 {
            return Err(format!("`{text}` must be longer than zero"));
        }
        let unit_ms = match unit {
            "s" => SECOND,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            _ => {
                return Err(format!(
                    "`{unit}` is not a unit of time: use s, m, h, d or w (e.g. `30m`, `14d`)"
                ));
            }
        };
        n.checked_mul(unit_ms)
            .map(Duration)
            .ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, size) in [
            ("w", WEEK),
            ("d", DAY),
            ("h", HOUR),
            ("m", MINUTE),
            ("s", SECOND),
        ] {
            if ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// The start of the fixed calendar bucket of length `period` that holds `ts`, as a bucket number.
///
/// Buckets of whole weeks start on Monday 00:00 UTC (1970-01-05 was a Monday); all others are
/// aligned to the epoch, so `1d` buckets are UTC calendar days.
pub fn bucket(ts: Ts, period: Duration) -> i64 {
    let p = period.0;
    let offset = if p % WEEK == 0 { 4 * DAY } else { 0 };
    (ts - offset).div_euclid(p)
}

/// Parses an RFC 3339 / ISO 8601 timestamp (`2026-03-01T10:00:00Z`, with optional fraction and offset).
pub fn parse_timestamp(text: &str) -> Result<Ts, String> {
    if let Some(ts) = parse_utc_fast(text.as_bytes()) {
        return Ok(ts);
    }
    let t: jiff::Timestamp = text
        .parse()
        .map_err(|e| format!("`{text}` is not an ISO 8601 timestamp ({e})"))?;
    Ok(t.as_millisecond())
}

/// The common form SDKs send, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` from 1970 on, without a
/// general parser: replay decodes millions of them. Anything else (offsets, leap seconds, odd
/// widths) returns `None` and goes to jiff. A property test holds it equal to jiff.
fn parse_utc_fast(b: &[u8]) -> Option<Ts> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if year < 1970
        || !(1..=12).contains(&month)
        || day < 1
        || day > month_days[month as usize - 1]
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let millis = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..]
            if (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) =>
        {
            let mut ms = 0;
            for i in 0..3 {
                ms = ms * 10 + digits.get(i).map_or(0, |&c| i64::from(c - b'0'));
            }
            ms
        }
        _ => return None,
    };
    // Days since the epoch from a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY + hour * HOUR + minute * MINUTE + second * SECOND + millis)
}

/// Formats a `Ts` as RFC 3339 UTC with milliseconds.
pub fn format_timestamp(ts: Ts) -> String {
    match jiff::Timestamp::from_millisecond(ts) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => format!("{ts}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Duration::parse("30m").unwrap(), Duration(30 * MINUTE));
        assert_eq!(Duration::parse("14d").unwrap(), Duration(14 * DAY));
        assert_eq!(Duration::parse("2w").unwrap().to_string(), "2w");
        assert_eq!(Duration::parse("36h").unwrap().to_string(), "36h");
        assert!(Duration::parse("14").unwrap_err().contains("no unit"));
        assert!(Duration::parse("3y").unwrap_err().contains("not a unit"));
        assert!(Duration::parse("0d").is_err());
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_jiff(ms in 0i64..253_402_300_799_999, frac in 0usize..10, sub in 0u32..1_000_000) {
            let t = jiff::Timestamp::from_millisecond(ms).unwrap();
            let base = format!("{t:.0}");
            let base = base.trim_end_matches('Z');
            let fraction = format!("{:03}{:06}", ms.rem_euclid(1000), sub);
            let text = if frac == 0 { format!("{base}Z") } else { format!("{base}.{}Z", &fraction[..frac]) };
            let by_jiff = text.parse::<jiff::Timestamp>().unwrap().as_millisecond();
            proptest::prop_assert_eq!(parse_utc_fast(text.as_bytes()), Some(by_jiff), "{}", text);
        }
    }

    #[test]
    fn the_fast_path_leaves_the_rest_to_jiff() {
        for text in [
            "2026-02-30T00:00:00Z",
            "2026-03-01T10:00:00+01:00",
            "1969-12-31T23:59:59Z",
            "2026-03-01T10:00:60Z",
            "2026-03-01 10:00:00Z",
        ] {
            assert_eq!(parse_utc_fast(text.as_bytes()), None, "{text}");
        }
        assert_eq!(
            parse_timestamp("2026-03-01T10:00:00+01:00").unwrap(),
            parse_timestamp("2026-03-01T09:00:00Z").unwrap()
        );
    }

    #[test]
    fn week_buckets_start_on_monday() {
        let monday = parse_timestamp("2026-03-02T00:00:00Z").unwrap();
        let sunday = parse_timestamp("2026-03-01T23:59:59Z").unwrap();
        let w = Duration(WEEK);
        assert_eq!(bucket(monday, w), bucket(sunday, w) + 1);
        assert_eq!(bucket(monday, w), bucket(monday + 6 * DAY + 23 * HOUR, w));
    }

    #[test]
    fn timestamps_round_trip() {
        let ts = parse_timestamp("2026-03-01T10:00:00.250+01:00").unwrap();
        assert_eq!(format_timestamp(ts), "2026-03-01T09:00:00.250Z");
    }
}
