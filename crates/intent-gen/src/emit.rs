//! The block buffer: messages are written straight into one byte buffer as JSON lines, each
//! indexed by its arrival time, then the block is written out in arrival order.

use intent_core::time::Ts;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::GenStats;
use crate::fmt::{write_hex, write_ts, write_u64};

/// Share of messages sent twice (an SDK retry: same `messageId`, identical line).
const DUPLICATE_RATE: f64 = 0.003;

/// One line of the block.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// When the collector receives it (the sort key).
    pub arrival: Ts,
    /// Its event time.
    pub ts: Ts,
    /// Position in the block: ties in arrival keep generation order.
    seq: u32,
    start: u32,
    end: u32,
}

/// Writes messages for one profile at a time into the block buffer.
pub(crate) struct Emitter {
    pub rng: ChaCha8Rng,
    buf: Vec<u8>,
    pub entries: Vec<Entry>,
    pub stats: GenStats,
    /// Messages at or after this time are dropped (outside the window).
    t_end: Ts,
    profile: u64,
    next_message: u64,
    line_start: usize,
    ts: Ts,
    dropped: bool,
    first_field: bool,
}

impl Emitter {
    pub fn new(rng: ChaCha8Rng, t_end: Ts) -> Self {
        Emitter {
            rng,
            buf: Vec::with_capacity(1 << 24),
            entries: Vec::with_capacity(1 << 16),
            stats: GenStats::default(),
            t_end,
            profile: 0,
            next_message: 0,
            line_start: 0,
            ts: 0,
            dropped: false,
            first_field: true,
        }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
    }

    pub fn start_profile(&mut self, profile: u64, rng: ChaCha8Rng) {
        self.profile = profile;
        self.next_message = 0;
        self.rng = rng;
    }

    pub fn t_end(&self) -> Ts {
        self.t_end
    }

    /// Appends the block's lines to `out` in arrival order.
    pub fn drain_sorted(&mut self, out: &mut Vec<u8>) {
        self.entries.sort_unstable_by_key(|e| (e.arrival, e.seq));
        for e in &self.entries {
            out.extend_from_slice(&self.buf[e.start as usize..e.end as usize]);
        }
    }

    // --- random helpers --------------------------------------------------------------------

    /// Uniform in [0, 1).
    pub fn u(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.u() < p
    }

    /// Uniform in `lo..hi` (`lo` if the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u32 = weights.clone().sum();
        let mut x = self.rng.random_range(0..total.max(1));
        for (i, w) in weights.enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        0
    }

    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.u()).ln()
    }

    /// Log-uniform between `lo` and `hi` (both > 0), rounded.
    pub fn log_uniform(&mut self, lo: i64, hi: i64) -> i64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        (a + self.u() * (b - a)).exp() as i64
    }

    // --- JSON writing ----------------------------------------------------------------------

    /// Starts a message: `{"type":…,"messageId":…,"timestamp":…[,"userId":…][,"anonymousId":…]`.
    /// A message at or after the end of the window is built and then dropped by [`Self::end`].
    pub fn begin(&mut self, kind: &str, ts: Ts, user: Option<&str>, anon: Option<&str>) {
        debug_assert!(user.is_some() || anon.is_some());
        self.line_start = self.buf.len();
        self.ts = ts;
        self.dropped = ts >= self.t_end;
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"type\":\"");
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(b"\",\"messageId\":\"m-");
        write_hex(b, self.profile);
        b.push(b'-');
        write_hex(b, self.next_message);
        self.next_message += 1;
        b.extend_from_slice(b"\",\"timestamp\":\"");
        write_ts(b, ts);
        b.push(b'"');
        if let Some(u) = user {
            self.top_str("userId", u);
        }
        if let Some(a) = anon {
            self.top_str("anonymousId", a);
        }
    }

    /// A top-level string field.
    pub fn top_str(&mut self, key: &str, value: &str) {
        let b = &mut self.buf;
        b.extend_from_slice(b",\"");
        b.extend_from_slice(key.as_bytes());
        b.extend_from_slice(b"\":\"");
        b.extend_from_slice(value.as_bytes());
        b.push(b'"');
    }

    /// Opens a nested object (`properties`, `traits`).
    pub fn open(&mut self, key: &str) {
        let b = &mut self.buf;
        b.extend_from_slice(b",\"");
        b.extend_from_slice(key.as_bytes());
        b.extend_from_slice(b"\":{");
        self.first_field = true;
    }

    pub fn close(&mut self) {
        self.buf.push(b'}');
    }

    fn key(&mut self, key: &str) {
        if !self.first_field {
            self.buf.push(b',');
        }
        self.first_field = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// A string field in the open object.
    pub fn s(&mut self, key: &str, value: &str) {
        self.key(key);
        self.buf.push(b'"');
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(b'"');
    }

    /// A string field in the open object, written as a prefix and a number (`ks-1f-2`).
    pub fn s_parts(&mut self, key: &str, parts: &[&str]) {
        self.key(key);
        self.buf.push(b'"');
        for p in parts {
            self.buf.extend_from_slice(p.as_bytes());
        }
        self.buf.push(b'"');
    }

    /// A whole-number field in the open object.
    pub fn n(&mut self, key: &str, value: u64) {
        self.key(key);
        write_u64(&mut self.buf, value);
    }

    /// Ends the message with its context and files it to arrive at `arrival`. Returns whether it
    /// was kept (inside the window).
    pub fn end(&mut self, channel: &str, arrival: Ts) -> bool {
        if self.dropped {
            self.buf.truncate(self.line_start);
            return false;
        }
        let b = &mut self.buf;
        b.extend_from_slice(b",\"context\":{\"channel\":\"");
        b.extend_from_slice(channel.as_bytes());
        b.extend_from_slice(b"\"}}\n");
        let (start, end) = (self.line_start as u32, self.buf.len() as u32);
        let ts = self.ts;
        self.push(Entry {
            arrival,
            ts,
            seq: 0,
            start,
            end,
        });
        self.stats.events += 1;
        if self.chance(DUPLICATE_RATE) {
            let delay = self.log_uniform(500, 600_000);
            self.push(Entry {
                arrival: arrival + delay,
                ts,
                seq: 0,
                start,
                end,
            });
            self.stats.events += 1;
            self.stats.duplicates += 1;
        }
        true
    }

    /// Ends a message that arrives when it happens.
    pub fn end_now(&mut self, channel: &str) -> bool {
        let ts = self.ts;
        self.end(channel, ts)
    }

    fn push(&mut self, mut e: Entry) {
        e.seq = self.entries.len() as u32;
        self.entries.push(e);
    }

    /// Moves the arrival of entries `from..` (one kiosk batch) to `batch`, keeping each
    /// duplicate's extra delay.
    pub fn delay_batch(&mut self, from: usize, batch: Ts) {
        for e in &mut self.entries[from..] {
            e.arrival = batch + (e.arrival - e.ts);
        }
    }
}
