//! Seeded, realistic synthetic Segment traffic for a dealership group ("Autogrupa Nowak",
//! Poland: showrooms in Warszawa, Kraków, Poznań, Gdańsk and Wrocław).
//!
//! Every profile has a hidden purchase intent in [0, 1] (most low, about one in ten high) and a
//! persona: buyer, researcher, curious clicker (offers and accessories, never buys), job seeker,
//! service customer, employee (`@autogrupa-nowak.pl`) or competitor (`Konkurencja Motors`). It
//! browses the web site in a few sessions, may visit a showroom kiosk, may identify (a form, or a
//! phone number left at a kiosk), then receives weekly e-mail campaigns, and the CRM records what
//! came of it: appointments, test drives, purchases, lost leads. Behaviour reveals intent
//! imperfectly: hot leads download offers, tap calls to action and fill in forms more often, but
//! clickers and competitors do some of that too.
//!
//! Output is NDJSON, one Segment message per line (`page`, `screen`, `track`, `identify`,
//! `alias`), each with `type`, `messageId`, `timestamp`, `userId` and/or `anonymousId`, and
//! `context.channel` (`web`, `email`, `showroom`, `crm`).
//!
//! - **Deterministic**: each profile draws from its own ChaCha8 stream (the seed's key, stream =
//!   profile index), so the same [`GenConfig`] gives byte-identical output.
//! - **Streaming**: profiles are generated in blocks of [`BLOCK_PROFILES`]; each block is sorted
//!   by *arrival* time and written with one `write_all`. Web, e-mail and CRM messages arrive when
//!   they happen; kiosk sessions arrive in one batch when the kiosk syncs (5 minutes to 6 hours
//!   later), so timestamps in the file are out of order. About 0.3% of messages are sent twice
//!   (identical lines, as an SDK retry would). Memory stays at a few tens of MB.
//! - Every timestamp lies in `[start, start + days)`; anything that would happen later (a purchase
//!   after the window) is left out.

#![warn(missing_docs)]

mod emit;
mod fmt;
mod sim;
mod vocab;

use std::io::Write;

use intent_core::time::{DAY, Ts};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Profiles generated (and sorted by arrival) together; `progress` is called after each block.
pub const BLOCK_PROFILES: u64 = 4096;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// Number of people (profiles).
    pub profiles: u64,
    /// Length of the window in days; every event falls in `[start, start + days)`.
    pub days: u32,
    /// Seed: the same config gives byte-identical output.
    pub seed: u64,
    /// First day of the window, Unix milliseconds (best at midnight: times of day are counted
    /// from it).
    pub start: Ts,
}

/// Counts of what [`generate`] wrote.
#[derive(Debug, Default, Clone)]
pub struct GenStats {
    /// Lines written, re-sent duplicates included.
    pub events: u64,
    /// Profiles simulated.
    pub profiles: u64,
    /// Profiles with at least one `identify` in the output.
    pub identified: u64,
    /// Re-sent duplicate lines (same `messageId`, identical line).
    pub duplicates: u64,
    /// `Appointment Booked` events (outcome counts leave re-sent duplicates out).
    pub appointments: u64,
    /// `Test Drive Completed` events.
    pub test_drives: u64,
    /// `Vehicle Purchased` events.
    pub sales: u64,
    /// `Lead Lost` events.
    pub lost: u64,
}

impl GenStats {
    fn add(&mut self, o: &GenStats) {
        self.events += o.events;
        self.profiles += o.profiles;
        self.identified += o.identified;
        self.duplicates += o.duplicates;
        self.appointments += o.appointments;
        self.test_drives += o.test_drives;
        self.sales += o.sales;
        self.lost += o.lost;
    }
}

/// Writes NDJSON (one Segment message per line) to `out`. `progress(profiles_done)` is called
/// after every block of [`BLOCK_PROFILES`] profiles (and once at the end).
///
/// Each block is written with a single `write_all` of a few MB, so `out` does not need a
/// `BufWriter` (one does no harm). Counts include only what was written.
pub fn generate(
    cfg: &GenConfig,
    out: &mut impl Write,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<GenStats> {
    let key = ChaCha8Rng::seed_from_u64(cfg.seed).get_seed();
    let t_end = cfg.start.saturating_add(i64::from(cfg.days) * DAY);
    let mut em = emit::Emitter::new(ChaCha8Rng::from_seed(key), t_end);
    let mut stats = GenStats::default();
    let mut sorted = Vec::new();
    let mut done = 0;
    while done < cfg.profiles {
        let end = done.saturating_add(BLOCK_PROFILES).min(cfg.profiles);
        em.clear();
        em.stats = GenStats::default();
        for idx in done..end {
            let mut rng = ChaCha8Rng::from_seed(key);
            rng.set_stream(idx);
            em.start_profile(idx, rng);
            sim::profile(&mut em, idx, cfg.start);
        }
        em.stats.profiles = end - done;
        sorted.clear();
        em.drain_sorted(&mut sorted);
        out.write_all(&sorted)?;
        stats.add(&em.stats);
        done = end;
        progress(done);
    }
    Ok(stats)
}
