//! Profiles as they were at a moment, for backtests, learning and reports: each profile's
//! score, tier and model features at a cutoff, and what it did after (outcomes in a horizon).
//!
//! Identity is honest about time: profiles are the ones that existed at the cutoff (identity
//! links made later do not exist yet), and their outcomes are looked up on the person they
//! belong to at the end of the horizon (a CRM id joined to the web visitor after the cutoff
//! still labels that visitor).

use crate::batch::{Loaded, timing};
use crate::progress;
use intent_core::model::Layout;
use intent_core::outcome::OutcomeKind;
use intent_core::score::{Award, Classified, Scorer, Sink, Snapshot, TierChange};
use intent_core::time::Ts;
use intent_learn::funnel::{Builder, Journey};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Per outcome kind, the first time it happened in a window.
pub type Firsts = [Option<Ts>; 6];

/// One profile at a cutoff.
pub struct Example {
    /// The moment it is scored at.
    pub at: Ts,
    /// Scores at the cutoff.
    pub snap: Snapshot,
    /// First time of each outcome kind after the cutoff, up to the end of the window.
    pub after: Firsts,
    /// Outcome kinds (bits) recorded at or before the cutoff.
    pub before: u8,
    /// Last award time before the cutoff per feature (for lead times), when asked.
    pub last_award: Vec<Ts>,
    /// Path tokens before the cutoff (see [`Tokens`]), when asked.
    pub tokens: Vec<u32>,
}

impl Example {
    /// Whether an outcome of the target happened after the cutoff, within `horizon`.
    pub fn converted(&self, target: Target, horizon: i64) -> bool {
        self.first(target)
            .is_some_and(|t| t > self.at && t <= self.at + horizon)
    }

    /// The first outcome of the target after the cutoff.
    pub fn first(&self, target: Target) -> Option<Ts> {
        OutcomeKind::ALL
            .iter()
            .filter(|k| target.includes(**k))
            .filter_map(|k| self.after[*k as usize])
            .min()
    }
}

/// What counts as converting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target(pub OutcomeKind);

impl Target {
    /// Parses an outcome name.
    pub fn parse(text: &str) -> anyhow::Result<Target> {
        OutcomeKind::parse(text).map(Target).ok_or_else(|| {
            anyhow::anyhow!(
                "--outcome: no outcome `{text}`; outcomes are: {}",
                OutcomeKind::names()
            )
        })
    }

    /// Whether an outcome kind counts: `appointment` includes shown, no-show and test drive
    /// (each needed an appointment).
    pub fn includes(self, k: OutcomeKind) -> bool {
        match self.0 {
            OutcomeKind::Appointment => k.implies_appointment(),
            other => other == k,
        }
    }

    /// Bits of the kinds it includes.
    pub fn bits(self) -> u8 {
        OutcomeKind::ALL
            .iter()
            .filter(|k| self.includes(**k))
            .fold(0, |a, k| a | k.bit())
    }
}

/// Everyone at one cutoff.
pub struct Cut {
    /// The cutoff.
    pub at: Ts,
    /// One example per profile that existed at the cutoff.
    pub examples: Vec<Example>,
    /// Features, row-major, `layout.len()` per example.
    pub x: Vec<f64>,
    /// Profile names.
    pub names: Vec<String>,
}

/// Path tokens: signals and pages.
pub struct Tokens;

impl Tokens {
    /// Token of signal `i`.
    pub fn signal(i: usize) -> u32 {
        1 + i as u32
    }
    /// Token of override `i`.
    pub fn override_(i: usize) -> u32 {
        100 + i as u32
    }
    /// Token of page label `l`.
    pub fn page(l: u16) -> u32 {
        1000 + u32::from(l)
    }
    /// A token's name.
    pub fn name(t: u32, scorer: &Scorer, loaded: &Loaded) -> String {
        let plan = scorer.plan();
        if t >= 1000 {
            format!("page:{}", loaded.label((t - 1000) as u16))
        } else if t >= 100 {
            format!("{}!", plan.overrides[(t - 100) as usize].id)
        } else {
            plan.signals[(t - 1) as usize].id.clone()
        }
    }
}

struct Collect<'a> {
    layout: &'a Layout,
    plan: &'a intent_core::plan::Plan,
    at: Ts,
    features: Option<&'a mut [f64]>,
    last: Option<&'a mut Vec<Ts>>,
}

impl Sink for Collect<'_> {
    fn award(&mut self, award: Award) {
        if let Some(f) = self.features.as_deref_mut() {
            intent_core::model::add_award(f, self.plan, self.layout, &award, self.at);
        }
        if let Some(last) = self.last.as_deref_mut() {
            last[self.layout.index(award.rule)] = award.ts;
        }
    }
    fn tier_change(&mut self, _: TierChange) {}
}

/// Outcomes per person at `until`: canonical node → (first of each kind in `(at, until]`,
/// kinds at or before `at`).
fn outcomes_at(loaded: &mut Loaded, at: Ts, until: Ts) -> (Vec<u32>, FxHashMap<u32, (Firsts, u8)>) {
    loaded.resolve(until);
    let mut map: FxHashMap<u32, (Firsts, u8)> = FxHashMap::default();
    let mut class = Classified::default();
    for p in 0..loaded.profiles() {
        for &i in loaded.records(p) {
            let ts = loaded.class(i, &mut class);
            let Some(o) = class.outcome else { continue };
            let e = map.entry(loaded.profile_node(p)).or_default();
            if ts <= at {
                e.1 |= o.kind.bit();
            } else {
                let slot = &mut e.0[o.kind as usize];
                if slot.is_none_or(|t| ts < t) {
                    *slot = Some(ts);
                }
            }
        }
    }
    (loaded.canonical_nodes().to_vec(), map)
}

/// Everyone as of `at`, with outcomes up to `until`.
pub fn cut(
    scorer: &Scorer,
    loaded: &mut Loaded,
    at: Ts,
    until: Ts,
    want_tokens: bool,
    want_last: bool,
) -> Cut {
    let layout = Layout::of(scorer.plan());
    let (canon_later, outcomes) = outcomes_at(loaded, at, until);
    loaded.resolve(at);
    let n = loaded.profiles();
    let k = layout.len();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(workers).max(1);
    let bar = progress::bar(n as u64, "profiles");
    let loaded_ref = &*loaded;
    let parts: Vec<(Vec<Example>, Vec<f64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|from| {
                let to = (from + chunk).min(n);
                let (bar, layout, canon_later, outcomes) = (&bar, &layout, &canon_later, &outcomes);
                s.spawn(move || {
                    let plan = scorer.plan();
                    let mut state = scorer.new_state();
                    let mut class = Classified::default();
                    let mut log = VecDeque::new();
                    let mut examples = Vec::with_capacity(to - from);
                    let mut x = vec![0.0; (to - from) * k];
                    for p in from..to {
                        scorer.reset(&mut state);
                        log.clear();
                        let row = &mut x[(p - from) * k..(p - from + 1) * k];
                        let mut last = if want_last {
                            vec![Ts::MIN; k]
                        } else {
                            Vec::new()
                        };
                        let mut tokens: Vec<u32> = Vec::new();
                        {
                            let mut sink = Collect {
                                layout,
                                plan,
                                at,
                                features: Some(&mut *row),
                                last: want_last.then_some(&mut last),
                            };
                            for &i in loaded_ref.records(p) {
                                let ts = loaded_ref.class(i, &mut class);
                                if want_tokens {
                                    let mut push = |t: u32| {
                                        if tokens.last() != Some(&t) {
                                            tokens.push(t);
                                        }
                                    };
                                    // A page that a signal scores is that signal;
                                    // other pages are themselves.
                                    let page = loaded_ref.marks(i).page;
                                    if class.hits.is_empty() && page != 0 {
                                        push(Tokens::page(page));
                                    }
                                    for h in &class.hits {
                                        push(Tokens::signal(h.signal as usize));
                                    }
                                    for o in 0..plan.overrides.len() {
                                        if class.overrides >> o & 1 == 1 {
                                            push(Tokens::override_(o));
                                        }
                                    }
                                }
                                scorer
                                    .apply(&mut state, ts, &class, &mut log, &mut sink)
                                    .expect("events are in canonical order");
                            }
                        }
                        let snap = scorer.peek(&state, at, &log);
                        let holding = scorer.fit_holding(&state);
                        intent_core::model::set_fit(row, layout, holding);
                        let node = canon_later[loaded_ref.profile_node(p) as usize];
                        let (after, before) = outcomes.get(&node).copied().unwrap_or_default();
                        if tokens.len() > 64 {
                            tokens.drain(..tokens.len() - 64);
                        }
                        examples.push(Example {
                            at,
                            snap,
                            after,
                            before,
                            last_award: last,
                            tokens,
                        });
                        if p % 65536 == 0 {
                            bar.inc(65536.min(to - p) as u64);
                        }
                    }
                    (examples, x)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("profile worker panicked"))
            .collect()
    });
    bar.finish_and_clear();
    let mut examples = Vec::with_capacity(n);
    let mut x = Vec::with_capacity(n * k);
    for (e, f) in parts {
        examples.extend(e);
        x.extend(f);
    }
    let names = (0..examples.len())
        .map(|p| loaded.profile_name(p))
        .collect();
    timing("cut");
    Cut {
        at,
        examples,
        x,
        names,
    }
}

/// Every profile's funnel journey over its whole history (resolved at `now`).
pub fn journeys(scorer: &Scorer, loaded: &mut Loaded, now: Ts) -> Vec<(u32, Journey)> {
    loaded.resolve(now);
    let n = loaded.profiles();
    let loaded = &*loaded;
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(workers).max(1);
    struct Feed<'b, 'p> {
        builder: &'b mut Builder<'p>,
        chan: Option<&'b str>,
        fired: Vec<(usize, Ts)>,
    }
    impl Sink for Feed<'_, '_> {
        fn award(&mut self, award: Award) {
            self.builder.award(award.rule, award.ts, self.chan);
        }
        fn tier_change(&mut self, _: TierChange) {}
        fn override_fired(&mut self, ts: Ts, index: usize) {
            self.fired.push((index, ts));
        }
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|from| {
                let to = (from + chunk).min(n);
                s.spawn(move || {
                    let plan = scorer.plan();
                    let mut state = scorer.new_state();
                    let mut class = Classified::default();
                    let mut log = VecDeque::new();
                    let mut out = Vec::with_capacity(to - from);
                    let some = |l: u16| (l != 0).then(|| loaded.label(l));
                    for p in from..to {
                        scorer.reset(&mut state);
                        log.clear();
                        let mut builder = Builder::new(plan);
                        for &i in loaded.records(p) {
                            let ts = loaded.class(i, &mut class);
                            let m = loaded.marks(i);
                            builder.event(
                                ts,
                                m.user,
                                class.outcome.map(|o| o.kind),
                                some(m.chan),
                                some(m.loc),
                                some(m.src),
                            );
                            let mut feed = Feed {
                                builder: &mut builder,
                                chan: some(m.chan),
                                fired: Vec::new(),
                            };
                            scorer
                                .apply(&mut state, ts, &class, &mut log, &mut feed)
                                .expect("events are in canonical order");
                            for (o, t) in feed.fired {
                                builder.override_fired(o, t);
                            }
                        }
                        out.push((p as u32, builder.finish()));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("journey worker panicked"))
            .collect()
    })
}

/// Each profile at its own moment: just before its first outcome of the target (or at its last
/// event), labelled later by whether the outcome came within the horizon. The latest `holdout` share of
/// moments is the validation cut, the rest the training cut. For imported lead tables, where
/// each row is one moment.
pub fn per_profile(
    scorer: &Scorer,
    loaded: &mut Loaded,
    target: Target,
    holdout: f64,
    want_tokens: bool,
) -> (Cut, Cut) {
    let now = loaded.max_ts;
    loaded.resolve(now);
    let layout = Layout::of(scorer.plan());
    let plan = scorer.plan();
    let k = layout.len();
    let mut class = Classified::default();
    let mut state = scorer.new_state();
    let mut log = VecDeque::new();
    let mut examples = Vec::with_capacity(loaded.profiles());
    let mut x = vec![0.0; loaded.profiles() * k];
    let mut names = Vec::with_capacity(loaded.profiles());
    for p in 0..loaded.profiles() {
        let records = loaded.records(p);
        // The first outcome of the target, and the moment just before it.
        let mut first: Option<Ts> = None;
        let mut at: Option<Ts> = None;
        let mut before = 0u8;
        let mut after: Firsts = [None; 6];
        for &i in records {
            let ts = loaded.class(i, &mut class);
            match class.outcome {
                Some(o) => {
                    if first.is_none() && target.includes(o.kind) {
                        first = Some(ts);
                    }
                    if first.is_some() {
                        let slot = &mut after[o.kind as usize];
                        if slot.is_none() {
                            *slot = Some(ts);
                        }
                    } else {
                        before |= o.kind.bit();
                    }
                }
                None if first.is_none() => at = Some(ts),
                None => {}
            }
        }
        // Just before the outcome's moment: events in the same millisecond as the outcome (an
        // import writing the row and its outcome together) may already know it.
        let at = match first {
            Some(f) => at.map(|a| a.min(f - 1)),
            None => at,
        };
        let Some(at) = at else { continue };
        scorer.reset(&mut state);
        log.clear();
        let row = &mut x[examples.len() * k..(examples.len() + 1) * k];
        let mut tokens = Vec::new();
        {
            let mut sink = Collect {
                layout: &layout,
                plan,
                at,
                features: Some(&mut *row),
                last: None,
            };
            for &i in records {
                let ts = loaded.class(i, &mut class);
                if ts > at {
                    break;
                }
                if want_tokens {
                    for h in &class.hits {
                        let t = Tokens::signal(h.signal as usize);
                        if tokens.last() != Some(&t) {
                            tokens.push(t);
                        }
                    }
                }
                scorer
                    .apply(&mut state, ts, &class, &mut log, &mut sink)
                    .expect("events are in canonical order");
            }
        }
        intent_core::model::set_fit(row, &layout, scorer.fit_holding(&state));
        examples.push(Example {
            at,
            snap: scorer.peek(&state, at, &log),
            after,
            before: before & !target.bits(),
            last_award: Vec::new(),
            tokens,
        });
        names.push(loaded.profile_name(p));
    }
    x.truncate(examples.len() * k);
    // The latest moments are held out; equal moments are ordered by a hash of the name.
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| (examples[i].at, intent_core::score::text_hash(&names[i])));
    let n_valid = ((examples.len() as f64) * holdout.clamp(0.0, 0.9)).round() as usize;
    let split_at = examples.len() - n_valid;
    let mut is_valid = vec![false; examples.len()];
    for &i in &order[split_at..] {
        is_valid[i] = true;
    }
    let mut parts = [
        (Vec::new(), Vec::new(), Vec::new()),
        (Vec::new(), Vec::new(), Vec::new()),
    ];
    for (i, e) in examples.into_iter().enumerate() {
        let part = &mut parts[usize::from(is_valid[i])];
        part.0.push(e);
        part.1.extend_from_slice(&x[i * k..(i + 1) * k]);
        part.2.push(names[i].clone());
    }
    let [train, valid] = parts;
    let make = |(examples, x, names): (Vec<Example>, Vec<f64>, Vec<String>)| Cut {
        at: examples.iter().map(|e: &Example| e.at).max().unwrap_or(now),
        examples,
        x,
        names,
    };
    (make(train), make(valid))
}
