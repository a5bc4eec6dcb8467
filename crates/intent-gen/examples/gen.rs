//! Generates traffic to stdout and prints stats and timing to stderr.
//!
//! `cargo run --release -p intent-gen --example gen -- [profiles] [days] [seed] > traffic.ndjson`

use std::io::Write;
use std::time::Instant;

use intent_gen::{GenConfig, generate};

fn main() -> std::io::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let cfg = GenConfig {
        profiles: args.first().copied().unwrap_or(100_000),
        days: args.get(1).copied().unwrap_or(90) as u32,
        seed: args.get(2).copied().unwrap_or(42),
        start: 1_772_323_200_000, // 2026-03-01T00:00:00Z
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let t0 = Instant::now();
    let stats = generate(&cfg, &mut out, &mut |_| {})?;
    out.flush()?;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("{stats:?}");
    eprintln!(
        "{} profiles, {} events in {secs:.2}s: {:.0} events/s, {:.1} events/profile",
        cfg.profiles,
        stats.events,
        stats.events as f64 / secs,
        stats.events as f64 / cfg.profiles.max(1) as f64
    );
    Ok(())
}
