//! Allocation-free number and timestamp writers for the hot path.

use intent_core::time::{DAY, Ts, format_timestamp};

/// Past this (about year 8300) the fast path is not used: `jiff` stops short of year 9999's end,
/// and the core's fallback text applies there.
const MAX_FAST: Ts = 200_000_000_000_000;

/// Appends `ts` exactly as [`format_timestamp`] writes it (`2026-03-01T10:00:00.123Z`), without
/// allocating for years 1970–8300.
pub(crate) fn write_ts(buf: &mut Vec<u8>, ts: Ts) {
    if !(0..MAX_FAST).contains(&ts) {
        buf.extend_from_slice(format_timestamp(ts).as_bytes());
        return;
    }
    let (y, m, d) = civil_from_days(ts / DAY);
    let ms_of_day = ts % DAY;
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (mi, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    put(&mut out[0..4], y);
    put(&mut out[5..7], m);
    put(&mut out[8..10], d);
    put(&mut out[11..13], h);
    put(&mut out[14..16], mi);
    put(&mut out[17..19], s);
    put(&mut out[20..23], ms);
    buf.extend_from_slice(&out);
}

/// Writes `v` zero-padded into `slot` (which is exactly as wide as wanted).
fn put(slot: &mut [u8], mut v: i64) {
    for b in slot.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends `v` in decimal.
pub(crate) fn write_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends `v` in lowercase hexadecimal.
pub(crate) fn write_hex(buf: &mut Vec<u8>, mut v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tmp = [0u8; 16];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = DIGITS[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(ts: Ts) -> String {
        let mut b = Vec::new();
        write_ts(&mut b, ts);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn matches_the_core_formatter() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut cases = vec![
            0,
            1,
            DAY - 1,
            951_782_400_000,   // 2000-02-29
            1_772_359_200_123, // 2026-03-01T10:00:00.123Z
            4_107_542_399_999, // 2100-02-28T23:59:59.999Z
            MAX_FAST - 1,
            -1,
            MAX_FAST,
            253_402_300_799_999,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push((x % (MAX_FAST as u64)) as Ts);
        }
        for ts in cases {
            assert_eq!(fast(ts), format_timestamp(ts), "ts {ts}");
        }
    }

    #[test]
    fn numbers() {
        let mut b = Vec::new();
        write_u64(&mut b, 0);
        b.push(b' ');
        write_u64(&mut b, 18_446_744_073_709_551_615);
        b.push(b' ');
        write_hex(&mut b, 0);
        b.push(b' ');
        write_hex(&mut b, 0xdead_beef);
        assert_eq!(b, b"0 18446744073709551615 0 deadbeef");
    }
}
