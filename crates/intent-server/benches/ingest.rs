//! The ingest hot path, stage by stage, on generated dealership traffic in `/v1/batch` bodies of
//! 100 messages: decoding and validating a body, appending to the SQLite log (one transaction
//! per group, fsync included), and scoring in the live engine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use intent_core::engine::Engine;
use intent_core::plan::Plan;
use intent_core::score::Scorer;
use intent_server::ingest::{self, Envelope};
use intent_store::{EventLog, NewEvent, SqliteStore};

/// The allocator the `intent` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn traffic(profiles: u64) -> Vec<String> {
    let cfg = intent_gen::GenConfig {
        profiles,
        days: 30,
        seed: 7,
        start: 1_767_225_600_000,
    };
    let mut out = Vec::new();
    intent_gen::generate(&cfg, &mut out, &mut |_| {}).expect("generate");
    String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

fn bodies(lines: &[String]) -> Vec<Vec<u8>> {
    lines
        .chunks(100)
        .map(|c| format!("{{\"batch\":[{}]}}", c.join(",")).into_bytes())
        .collect()
}

fn plan() -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plans/showroom.yaml");
    Plan::parse(
        &std::fs::read_to_string(path).expect("plan"),
        "showroom.yaml",
    )
    .expect("valid")
}

fn prepare(body: &[u8]) -> ingest::Prepared {
    let body = ingest::decode_body(body, false).expect("body");
    let parsed = ingest::parse_batch(&body).expect("json");
    let messages = parsed.batch.expect("batch");
    let envelope = Envelope {
        received_at: 1_790_000_000_000,
        sent_at: None,
        context: None,
        batch: true,
        source: "bench",
    };
    ingest::prepare_batch(&messages, &envelope)
}

fn bench(c: &mut Criterion) {
    let lines = traffic(2000);
    let bodies = bodies(&lines);
    let events = lines.len() as u64;
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("decode_validate_batch_bodies", |b| {
        b.iter(|| {
            let mut n = 0;
            for body in &bodies {
                n += prepare(body).accepted.len();
            }
            n
        })
    });
    let prepared: Vec<ingest::Prepared> = bodies.iter().map(|b| prepare(b)).collect();
    g.bench_function("engine_ingest", |b| {
        b.iter(|| {
            let mut engine = Engine::new(Scorer::new(plan()));
            for p in &prepared {
                for a in &p.accepted {
                    engine.ingest(a.event.clone());
                }
            }
            engine.profile_count()
        })
    });
    let dir = std::env::temp_dir().join(format!("intent-bench-ingest-{}", std::process::id()));
    g.bench_function("sqlite_append_groups_of_1000", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(&dir);
            let mut store = SqliteStore::open(&dir).expect("store");
            for group in prepared.chunks(10) {
                let rows: Vec<NewEvent<'_>> = group
                    .iter()
                    .flat_map(|p| &p.accepted)
                    .map(|a| NewEvent {
                        message_id: &a.event.message_id,
                        received_at: a.received_at,
                        body: &a.json,
                    })
                    .collect();
                store.append(&rows, &[]).expect("append");
            }
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
