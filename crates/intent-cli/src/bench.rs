//! `intent bench`: the scoring core on decoded events, as a live stream would drive it.
//!
//! Generates traffic with `intent gen`'s generator, decodes and classifies it (not timed), then
//! times `Scorer::apply` over every event in time order across all profiles, each profile's
//! state in one flat arena. Counts heap allocations during the timed loop with a counting global
//! allocator, and prints the bytes of state per profile and the peak resident memory.

use crate::batch;
use crate::input::Block;
use anyhow::Result;
use intent_core::score::{Classified, NoExpiry, NoSink, Scorer};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The process allocator: mimalloc (replay allocates a little for every decoded event, and
/// mimalloc is much faster at that than the C library's), with an allocation counter. The only
/// unsafe code in the workspace: a pass-through with a counter.
#[allow(unsafe_code)]
mod counting {
    use mimalloc::MiMalloc as System;
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

    pub struct Counting;

    // SAFETY: every call is forwarded unchanged to mimalloc; only a counter is added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn count() -> u64 {
        ALLOCATIONS.load(Ordering::Relaxed)
    }
}

/// Options of `intent bench`: the scoring core, or with a subcommand the whole service.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Without one: the scoring core.
    #[command(subcommand)]
    command: Option<BenchCommand>,
    /// The plan to score with.
    #[arg(long, default_value = "plans/showroom.yaml")]
    plan: PathBuf,
    /// Profiles to generate (about 10 events each).
    #[arg(long, default_value_t = 1_000_000)]
    profiles: u64,
    /// Days of generated history.
    #[arg(long, default_value_t = 60)]
    days: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Timed passes over the events (the best is reported).
    #[arg(long, default_value_t = 3)]
    passes: u32,
}

/// `intent bench` subcommands.
#[derive(clap::Subcommand)]
enum BenchCommand {
    /// Measure the whole service on loopback: `intent serve` against a do-nothing server,
    /// acknowledgement latency at 70% load, restart time.
    Serve(crate::bench_serve::ServeBenchArgs),
    /// A do-nothing ingestion server, the comparator of `intent bench serve`.
    #[command(hide = true)]
    NullServer(crate::bench_serve::NullServerArgs),
}

/// Cuts a byte stream into blocks of whole lines.
struct Blocks<'a> {
    buf: Vec<u8>,
    seq: usize,
    emit: &'a mut dyn FnMut(Block) -> Result<()>,
}

impl Blocks<'_> {
    fn flush_upto(&mut self, cut: usize) -> std::io::Result<()> {
        let rest = self.buf.split_off(cut);
        let data = std::mem::replace(&mut self.buf, rest);
        (self.emit)(Block {
            seq: self.seq,
            file: 0,
            data,
        })
        .map_err(std::io::Error::other)?;
        self.seq += 1;
        Ok(())
    }
}

impl Write for Blocks<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 20
            && let Some(cut) = self.buf.iter().rposition(|&b| b == b'\n')
        {
            self.flush_upto(cut + 1)?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the benchmark and prints its figures.
pub fn run(a: BenchArgs) -> Result<()> {
    match a.command {
        Some(BenchCommand::Serve(s)) => return crate::bench_serve::run(s),
        Some(BenchCommand::NullServer(s)) => return crate::bench_serve::null_server(s),
        None => {}
    }
    let plan = crate::load_plan(&a.plan)?;
    let scorer = Scorer::new(plan);
    let began = Instant::now();
    let cfg = intent_gen::GenConfig {
        profiles: a.profiles,
        days: a.days,
        seed: a.seed,
        start: intent_core::time::parse_timestamp("2026-01-01T00:00:00Z").expect("valid"),
    };
    let mut loaded = batch::load_from(&scorer, |emit| {
        let mut w = Blocks {
            buf: Vec::with_capacity(2 << 20),
            seq: 0,
            emit,
        };
        intent_gen::generate(&cfg, &mut w, &mut |_| {})?;
        let end = w.buf.len();
        if end > 0 {
            w.flush_upto(end)?;
        }
        Ok(())
    })?;
    loaded.resolve(loaded.max_ts);
    // Decoded events in time order: (profile, time, classification).
    let stream: Vec<(u32, i64, Classified)> = loaded
        .time_ordered()
        .into_iter()
        .map(|(p, rec)| {
            let mut class = Classified::default();
            let ts = loaded.class(rec, &mut class);
            (p, ts, class)
        })
        .collect();
    let profiles = loaded.profiles();
    let state_size = scorer.state_size();
    println!(
        "intent bench: plan {} | {} events, {} profiles (generated and decoded in {:.1} s)",
        a.plan.display(),
        stream.len(),
        profiles,
        began.elapsed().as_secs_f64()
    );

    let expiring = scorer.plan().expire_after.is_some();
    let mut arena = vec![0u8; profiles * state_size];
    let mut logs: Vec<VecDeque<(i64, u8, f64)>> = if expiring {
        (0..profiles).map(|_| VecDeque::new()).collect()
    } else {
        Vec::new()
    };
    let mut best = f64::MAX;
    let mut allocs = 0;
    for pass in 0..a.passes.max(1) {
        for p in 0..profiles {
            scorer.reset(&mut arena[p * state_size..(p + 1) * state_size]);
        }
        logs.iter_mut().for_each(VecDeque::clear);
        let before = counting::count();
        let t = Instant::now();
        for (p, ts, class) in &stream {
            let (p, ts) = (*p, *ts);
            let state = &mut arena[p as usize * state_size..(p as usize + 1) * state_size];
            let applied = if expiring {
                scorer.apply(state, ts, class, &mut logs[p as usize], &mut NoSink)
            } else {
                scorer.apply(state, ts, class, &mut NoExpiry, &mut NoSink)
            };
            applied.expect("time order");
        }
        let secs = t.elapsed().as_secs_f64();
        let n = counting::count() - before;
        if pass > 0 || a.passes == 1 {
            allocs = allocs.max(n);
        }
        best = best.min(secs);
        println!(
            "  pass {}: {:.3} s, {:.2} M events/s, {} allocations",
            pass + 1,
            secs,
            stream.len() as f64 / secs / 1e6,
            n
        );
    }
    let now = stream.last().map_or(0, |x| x.1);
    let t = Instant::now();
    let mut hot = 0usize;
    for p in 0..profiles {
        let empty = VecDeque::new();
        let log = if expiring { &logs[p] } else { &empty };
        let snap = scorer.peek(&arena[p * state_size..(p + 1) * state_size], now, log);
        hot += usize::from(snap.tier == 0);
    }
    let peek_secs = t.elapsed().as_secs_f64();
    println!(
        "scoring core: {:.2} M events/s (best of {} passes, one core) | {} allocations per pass after the first ({:.4} per event) | {} bytes of state per profile{}",
        stream.len() as f64 / best / 1e6,
        a.passes.max(1),
        allocs,
        allocs as f64 / stream.len().max(1) as f64,
        state_size,
        if expiring { " + an expiry log" } else { "" }
    );
    println!(
        "reading every profile's score: {:.2} M profiles/s ({} in the top tier) | peak RSS {:.0} MB (includes the decoded events)",
        profiles as f64 / peek_secs / 1e6,
        hot,
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}
