//! Criterion benchmarks of the scoring core's hot paths, in events per second: classifying a
//! decoded event against the showroom plan, applying a classified event to a profile's state,
//! and reading a profile's score.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use intent_core::event::Event;
use intent_core::plan::Plan;
use intent_core::score::{Classified, NoExpiry, NoSink, Scorer};
use std::hint::black_box;

const PROFILES: usize = 100_000;

fn setup() -> (Scorer, Vec<Event>, Vec<Classified>) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let text = std::fs::read_to_string(format!("{root}/plans/showroom.yaml")).expect("plan");
    let scorer = Scorer::new(Plan::parse(&text, "plans/showroom.yaml").expect("valid plan"));
    let sample = std::fs::read_to_string(format!(
        "{root}/crates/intent-core/tests/fixtures/showroom-sample.ndjson"
    ))
    .expect("fixture");
    let mut events: Vec<Event> = sample
        .lines()
        .map(|l| Event::from_json(l, || unreachable!()).expect("event"))
        .collect();
    events.sort_by_key(|e| e.timestamp);
    let classes = events
        .iter()
        .map(|e| {
            let mut c = Classified::default();
            scorer.classify(e, &mut c);
            c
        })
        .collect();
    (scorer, events, classes)
}

fn bench(c: &mut Criterion) {
    let (scorer, events, classes) = setup();
    let mut g = c.benchmark_group("score");

    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("classify", |b| {
        let mut out = Classified::default();
        b.iter(|| {
            for e in &events {
                scorer.classify(black_box(e), &mut out);
            }
        })
    });

    // The sample's events applied in order to 1,000 profiles scattered over a 100k-profile arena,
    // the way a live stream touches scattered profiles.
    let size = scorer.state_size();
    let rounds = 1_000;
    g.throughput(Throughput::Elements((rounds * classes.len()) as u64));
    g.bench_function("apply", |b| {
        b.iter_batched_ref(
            || {
                let mut arena = vec![0u8; PROFILES * size];
                for p in 0..PROFILES {
                    scorer.reset(&mut arena[p * size..(p + 1) * size]);
                }
                arena
            },
            |arena| {
                for (e, c) in events.iter().zip(&classes) {
                    for r in 0..rounds {
                        let p = (r * 97) % PROFILES;
                        let s = &mut arena[p * size..(p + 1) * size];
                        let _ = scorer.apply(s, e.timestamp, c, &mut NoExpiry, &mut NoSink);
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });

    let mut state = scorer.new_state();
    for (e, c) in events.iter().zip(&classes) {
        scorer
            .apply(&mut state, e.timestamp, c, &mut NoExpiry, &mut NoSink)
            .expect("sorted");
    }
    let now = events.last().expect("events").timestamp;
    g.throughput(Throughput::Elements(1));
    g.bench_function("peek", |b| {
        b.iter(|| scorer.peek(black_box(&state), now, &NoExpiry))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
