//! Batch scoring of a whole history: parse and classify in parallel, count each message id once,
//! resolve identities over all links at once, then score every profile from its events in
//! canonical order (time, then message id). The result equals the incremental engine's.

use crate::input::{self, Block};
use crate::progress;
use anyhow::{Result, anyhow};
use intent_core::event::{Event, EventType, Projection};
use intent_core::identity::{Link, resolve};
use intent_core::outcome::OutcomeHit;
use intent_core::score::{
    Classified, Hit, NoSink, Scorer, SessionHit, Snapshot, TraitUpdate, text_hash,
};
use intent_core::time::{Ts, format_timestamp};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;

const NONE: u32 = u32::MAX;
const BLOCK: usize = 1 << 20;

/// Prints the time since the last call when `INTENT_TIMING` is set (for profiling).
pub fn timing(phase: &str) {
    use std::sync::Mutex;
    static LAST: Mutex<Option<std::time::Instant>> = Mutex::new(None);
    if std::env::var_os("INTENT_TIMING").is_none() {
        return;
    }
    let mut last = LAST.lock().expect("timing lock");
    let now = std::time::Instant::now();
    if let Some(t) = *last {
        eprintln!("  {phase}: {:.3} s", (now - t).as_secs_f64());
    }
    *last = Some(now);
}

/// One decoded event, reduced to what scoring needs: 40 bytes. Its message id and signal hits
/// live in its block's arenas, and the rarer parts (alias ids, traits, sessions, sequence steps,
/// overrides, disqualifiers) in an [`Extra`], so decoding keeps no allocation per event.
struct Rec {
    ts: Ts,
    /// Line number in its input.
    line: u32,
    /// Message id: offset in the block's `msgs`, then its length.
    msg: u32,
    msg_len: u16,
    /// Signal hits: count, then offset in the block's `hits`.
    hits_len: u8,
    hits: u32,
    user: u32,
    anon: u32,
    /// Index in the block's `extras`, or `NONE`.
    extra: u32,
    /// Labels ([`Loaded::label`], 0 = none) of the event's channel, location (dealership),
    /// source (campaign or first-touch source) and page or screen name.
    chan: u16,
    loc: u16,
    src: u16,
    page: u16,
}

/// What only some events carry.
struct Extra {
    /// For `alias`: the previous id read as a user and as an anonymous id.
    prev: (u32, u32),
    /// Trait updates: offset in the block's `traits`, count.
    traits: (u32, u16),
    steps: u64,
    session: Option<SessionHit>,
    overrides: u32,
    disqualify: u32,
    outcome: Option<OutcomeHit>,
}

const NO_EXTRA: Extra = Extra {
    prev: (NONE, NONE),
    traits: (0, 0),
    steps: 0,
    session: None,
    overrides: 0,
    disqualify: 0,
    outcome: None,
};

/// Short texts the events repeat (channels, locations, sources, page names), numbered from 1
/// and shared by the parsers.
#[derive(Default)]
struct Labels {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u16>,
}

impl Labels {
    fn get(
        labels: &std::sync::Mutex<Labels>,
        cache: &mut FxHashMap<Box<str>, u16>,
        text: &str,
    ) -> u16 {
        if let Some(&i) = cache.get(text) {
            return i;
        }
        let mut l = labels.lock().expect("labels");
        let i = match l.ids.get(text) {
            Some(&i) => i,
            None if l.names.len() + 1 < usize::from(u16::MAX) => {
                l.names.push(text.into());
                let i = l.names.len() as u16;
                l.ids.insert(text.into(), i);
                i
            }
            None => 0,
        };
        cache.insert(text.into(), i);
        i
    }
}

/// A rejected line.
pub struct Problem {
    /// Input index.
    pub file: u16,
    /// Line number.
    pub line: u64,
    /// Why.
    pub error: String,
}

/// Ids shared by the parsers: every user id and anonymous id gets a number, in shards so that
/// parsers rarely wait for each other.
struct Interner {
    /// Per shard: user ids, anonymous ids.
    shards: Vec<std::sync::Mutex<Shard>>,
    next: std::sync::atomic::AtomicU32,
}

const SHARDS: usize = 64;

/// Anonymous ids, then user ids.
type Shard = [FxHashMap<Box<str>, u32>; 2];

impl Interner {
    fn new() -> Self {
        Interner {
            shards: (0..SHARDS).map(|_| Default::default()).collect(),
            next: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn get(&self, user: bool, id: &str) -> u32 {
        let h = text_hash(id) as usize;
        let mut shard = self.shards[h % SHARDS].lock().expect("interner shard");
        let map = &mut shard[usize::from(user)];
        if let Some(&n) = map.get(id) {
            return n;
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        map.insert(id.into(), n);
        n
    }

    /// The names by number.
    fn into_names(self) -> Vec<(bool, Box<str>)> {
        let n = self.next.into_inner() as usize;
        let mut names: Vec<(bool, Box<str>)> = vec![(false, Box::from("")); n];
        for shard in self.shards {
            let [anons, users] = shard.into_inner().expect("interner shard");
            for (user, map) in [(false, anons), (true, users)] {
                for (id, k) in map {
                    names[k as usize] = (user, id);
                }
            }
        }
        names
    }
}

struct Parsed {
    seq: usize,
    file: u16,
    recs: Vec<Rec>,
    msgs: String,
    hits: Vec<Hit>,
    traits: Vec<TraitUpdate>,
    extras: Vec<Extra>,
    problems: Vec<Problem>,
    /// Lines in the block; before the blocks are put in order, line numbers count from the
    /// block's start.
    lines: u64,
    /// The line before the block's first, in its input.
    line_base: u64,
}

impl Parsed {
    /// A record's message id, from this block's arena.
    fn msg(&self, r: &Rec) -> &str {
        &self.msgs[r.msg as usize..r.msg as usize + r.msg_len as usize]
    }
}

/// Everything read, deduplicated and resolved.
pub struct Loaded {
    paths: Vec<PathBuf>,
    /// The decoded blocks, in input order.
    blocks: Vec<Parsed>,
    /// For every record (numbered across blocks), its block.
    block_of: Vec<u32>,
    /// First record number of every block.
    block_start: Vec<u32>,
    /// Indices of the unique records, grouped by profile and sorted in canonical order.
    order: Vec<u32>,
    /// `order[starts[p]..starts[p + 1]]` are profile `p`'s records.
    starts: Vec<u32>,
    /// The canonical node of each profile.
    profile_node: Vec<u32>,
    /// Canonical node of every node.
    canon: Vec<u32>,
    /// Node names: (is a user, id).
    names: Vec<(bool, Box<str>)>,
    /// Label texts; label `i` is `labels[i - 1]`.
    labels: Vec<Box<str>>,
    /// Whether each record is the first with its message id (empty until the first resolve).
    unique: Vec<bool>,
    /// Lines read, duplicates skipped, rejected lines.
    pub lines: u64,
    /// Messages whose id was seen before.
    pub duplicates: u64,
    /// Rejected lines (all of them are counted; the first ones are kept).
    pub problems: Vec<Problem>,
    /// How many lines were rejected.
    pub rejected: u64,
    /// The latest event time.
    pub max_ts: Ts,
    /// The earliest event time.
    pub min_ts: Ts,
    /// Bytes read from the inputs.
    pub bytes: u64,
}

/// How much a block of lines needed last time, so the next one reserves its arenas at once
/// (growing them would touch fresh memory twice).
#[derive(Default, Clone, Copy)]
struct Sizes {
    lines: usize,
    msgs: usize,
    hits: usize,
    traits: usize,
    extras: usize,
}

impl Sizes {
    fn scaled(self, lines: usize) -> Sizes {
        let per = |n: usize| (n * lines).div_ceil(self.lines.max(1)) + 16;
        Sizes {
            lines,
            msgs: per(self.msgs),
            hits: per(self.hits),
            traits: per(self.traits),
            extras: per(self.extras),
        }
    }
}

fn parse_block(
    scorer: &Scorer,
    projection: &Projection,
    ids: &Interner,
    labels: (&std::sync::Mutex<Labels>, &mut FxHashMap<Box<str>, u16>),
    block: Block,
    last: &mut Sizes,
) -> (Parsed, Vec<u8>) {
    let (labels, cache) = labels;
    let newlines = memchr::memchr_iter(b'\n', &block.data).count();
    let lines = newlines + 1;
    let want = if last.lines == 0 {
        Sizes {
            lines,
            msgs: lines * 24,
            hits: lines * 2,
            traits: lines / 4,
            extras: lines,
        }
    } else {
        last.scaled(lines)
    };
    let mut out = Parsed {
        seq: block.seq,
        file: block.file,
        recs: Vec::with_capacity(lines),
        msgs: String::with_capacity(want.msgs),
        hits: Vec::with_capacity(want.hits),
        traits: Vec::with_capacity(want.traits),
        extras: Vec::with_capacity(want.extras),
        problems: Vec::new(),
        lines: 0,
        line_base: 0,
    };
    let mut class = Classified::default();
    // Line numbers within the block, from 1; made absolute when the blocks are put in order.
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', &block.data).chain(std::iter::once(block.data.len()));
    for (this, end) in (1u32..).zip(ends) {
        let raw = &block.data[start..end];
        start = end + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let problem = |error: String| Problem {
            file: block.file,
            line: u64::from(this),
            error,
        };
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(problem(format!("not UTF-8: {e}")));
                continue;
            }
        };
        let event = match Event::from_json_projected(text, projection, || {
            format!("line-{:016x}", text_hash(text))
        }) {
            Ok(e) => e,
            Err(e) => {
                out.problems.push(problem(e.to_string()));
                continue;
            }
        };
        scorer.classify(&event, &mut class);
        let user = event.user_id.as_deref().map_or(NONE, |u| ids.get(true, u));
        let anon = event
            .anonymous_id
            .as_deref()
            .map_or(NONE, |a| ids.get(false, a));
        let prev = match (event.kind, event.previous_id.as_deref()) {
            (EventType::Alias, Some(p)) => (ids.get(true, p), ids.get(false, p)),
            _ => (NONE, NONE),
        };
        if event.message_id.len() > usize::from(u16::MAX) {
            out.problems
                .push(problem("messageId: longer than 65535 bytes".into()));
            continue;
        }
        let msg = out.msgs.len() as u32;
        out.msgs.push_str(&event.message_id);
        let hits = out.hits.len() as u32;
        out.hits.extend_from_slice(&class.hits);
        let extra = if prev.0 != NONE
            || !class.traits.is_empty()
            || class.steps != 0
            || class.session.is_some()
            || class.overrides != 0
            || class.disqualify != 0
            || class.outcome.is_some()
        {
            let traits = (out.traits.len() as u32, class.traits.len() as u16);
            out.traits.extend_from_slice(&class.traits);
            out.extras.push(Extra {
                prev,
                traits,
                steps: class.steps,
                session: class.session,
                overrides: class.overrides,
                disqualify: class.disqualify,
                outcome: class.outcome,
            });
            out.extras.len() as u32 - 1
        } else {
            NONE
        };
        let mut label = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .filter(|t| !t.is_empty())
                .map_or(0, |t| Labels::get(labels, cache, t))
        };
        let chan = label(
            event
                .context
                .get("channel")
                .or_else(|| event.properties.get("channel")),
        );
        let loc = label(
            event
                .properties
                .get("location")
                .or_else(|| event.traits.get("location"))
                .or_else(|| event.context.get("location")),
        );
        let src = label(
            event
                .context
                .get("campaign")
                .and_then(|c| c.get("source"))
                .or_else(|| event.properties.get("utm_source"))
                .or_else(|| event.traits.get("source")),
        );
        let page = match event.kind {
            EventType::Page | EventType::Screen => event
                .name
                .as_deref()
                .filter(|t| !t.is_empty())
                .map_or(0, |t| Labels::get(labels, cache, t)),
            _ => 0,
        };
        out.recs.push(Rec {
            ts: event.timestamp,
            line: this,
            msg,
            msg_len: event.message_id.len() as u16,
            hits_len: class.hits.len() as u8,
            hits,
            user,
            anon,
            extra,
            chan,
            loc,
            src,
            page,
        });
    }
    *last = Sizes {
        lines,
        msgs: out.msgs.len(),
        hits: out.hits.len(),
        traits: out.traits.len(),
        extras: out.extras.len(),
    };
    out.lines = (newlines + usize::from(block.data.last().is_some_and(|&b| b != b'\n'))) as u64;
    (out, block.data)
}

/// Reads, parses, classifies, deduplicates and resolves the inputs.
pub fn load(scorer: &Scorer, paths: &[PathBuf]) -> Result<Loaded> {
    load_with(scorer, paths, false)
}

/// Like [`load`]; `marks` also decodes what the funnel and the learning reports split by
/// (channel, location, source).
pub fn load_with(scorer: &Scorer, paths: &[PathBuf], marks: bool) -> Result<Loaded> {
    timing("start");
    let read = Arc::new(AtomicU64::new(0));
    let bar = progress::bytes(input::total_size(paths), "reading");
    let counter = read.clone();
    let mut loaded = load_from_with(scorer, marks, |emit| {
        input::blocks(paths, BLOCK, read.clone(), |b| {
            bar.set_position(read.load(std::sync::atomic::Ordering::Relaxed));
            emit(b)
        })
    })?;
    bar.finish_and_clear();
    loaded.paths = paths.to_vec();
    loaded.bytes = counter.load(std::sync::atomic::Ordering::Relaxed);
    Ok(loaded)
}

/// Like [`load`], from any source of blocks of NDJSON lines: `source(emit)` calls `emit` with
/// each block in order.
pub fn load_from(
    scorer: &Scorer,
    source: impl FnOnce(&mut dyn FnMut(Block) -> Result<()>) -> Result<()>,
) -> Result<Loaded> {
    load_from_with(scorer, false, source)
}

/// Like [`load_with`] (with the marks the reports split by), from a store's event log: the
/// log is read in sequence order, in blocks of NDJSON, as a file would be.
pub fn load_store(scorer: &Scorer, store: &dyn intent_store::Store) -> Result<Loaded> {
    let upto = store.last_seq()?;
    load_from_with(scorer, true, |emit| {
        let mut data: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
        let mut seq = 0usize;
        let mut failed: Option<anyhow::Error> = None;
        store
            .scan(0, upto, &mut |_, body| {
                data.extend_from_slice(body.as_bytes());
                data.push(b'\n');
                if data.len() >= BLOCK {
                    let block = Block {
                        seq,
                        file: 0,
                        data: std::mem::replace(&mut data, Vec::with_capacity(BLOCK + 4096)),
                    };
                    seq += 1;
                    if let Err(e) = emit(block) {
                        let text = e.to_string();
                        failed = Some(e);
                        return Err(text);
                    }
                }
                Ok(())
            })
            .map_err(|e| {
                failed
                    .take()
                    .unwrap_or_else(|| anyhow::anyhow!("reading the event log: {e}"))
            })?;
        if !data.is_empty() {
            emit(Block { seq, file: 0, data })?;
        }
        Ok(())
    })
}

fn load_from_with(
    scorer: &Scorer,
    marks: bool,
    source: impl FnOnce(&mut dyn FnMut(Block) -> Result<()>) -> Result<()>,
) -> Result<Loaded> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers * 2);
    let block_rx = std::sync::Mutex::new(block_rx);
    let (parsed_tx, parsed_rx) = mpsc::channel::<Parsed>();
    let ids = Interner::new();
    // Decode only what the plan reads.
    let mut projection = scorer.plan().projection();
    if marks {
        for path in [
            "channel",
            "properties.location",
            "traits.location",
            "context.location",
            "context.campaign",
            "properties.utm_source",
            "traits.source",
        ] {
            projection.add(&intent_core::event::FieldPath::parse(path).expect("a field path"));
        }
    }
    let labels = std::sync::Mutex::new(Labels::default());
    let mut parsed = std::thread::scope(|s| -> Result<Vec<Parsed>> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &block_rx;
                let tx = parsed_tx.clone();
                let ids = &ids;
                let projection = &projection;
                let labels = &labels;
                s.spawn(move || {
                    let mut sizes = Sizes::default();
                    let mut cache = FxHashMap::default();
                    loop {
                        let block = rx.lock().expect("reader alive").recv();
                        let Ok(block) = block else { break };
                        let (parsed, data) = parse_block(
                            scorer,
                            projection,
                            ids,
                            (labels, &mut cache),
                            block,
                            &mut sizes,
                        );
                        input::recycle(data);
                        if tx.send(parsed).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(parsed_tx);
        let collector = s.spawn(move || parsed_rx.into_iter().collect::<Vec<Parsed>>());
        let read_result =
            source(&mut |b| block_tx.send(b).map_err(|_| anyhow!("a parser stopped")));
        drop(block_tx);
        for h in handles {
            h.join().expect("parser panicked");
        }
        let parsed = collector.join().expect("collector panicked");
        read_result?;
        Ok(parsed)
    })?;
    timing("parse");
    parsed.sort_by_key(|p| p.seq);

    let mut loaded = Loaded {
        paths: Vec::new(),
        blocks: Vec::new(),
        block_of: Vec::with_capacity(parsed.iter().map(|p| p.recs.len()).sum()),
        block_start: Vec::with_capacity(parsed.len()),
        order: Vec::new(),
        starts: Vec::new(),
        profile_node: Vec::new(),
        canon: Vec::new(),
        names: ids.into_names(),
        labels: labels.into_inner().expect("labels").names,
        unique: Vec::new(),
        lines: 0,
        duplicates: 0,
        problems: Vec::new(),
        rejected: 0,
        max_ts: Ts::MIN,
        min_ts: Ts::MAX,
        bytes: 0,
    };
    let mut next_line: Vec<u64> = Vec::new();
    for (b, mut p) in parsed.into_iter().enumerate() {
        let f = p.file as usize;
        if next_line.len() <= f {
            next_line.resize(f + 1, 0);
        }
        p.line_base = next_line[f];
        next_line[f] += p.lines;
        for problem in &mut p.problems {
            problem.line += p.line_base;
        }
        loaded.rejected += p.problems.len() as u64;
        loaded.lines += (p.recs.len() + p.problems.len()) as u64;
        if loaded.problems.len() < 20 {
            loaded.problems.extend(p.problems.drain(..).take(20));
        }
        loaded.max_ts = p.recs.iter().map(|r| r.ts).fold(loaded.max_ts, Ts::max);
        loaded.min_ts = p.recs.iter().map(|r| r.ts).fold(loaded.min_ts, Ts::min);
        loaded.block_start.push(loaded.block_of.len() as u32);
        loaded
            .block_of
            .resize(loaded.block_of.len() + p.recs.len(), b as u32);
        loaded.blocks.push(p);
    }
    timing("merge");
    Ok(loaded)
}

impl Loaded {
    fn len(&self) -> usize {
        self.block_of.len()
    }

    fn rec(&self, i: u32) -> &Rec {
        let b = self.block_of[i as usize] as usize;
        &self.blocks[b].recs[(i - self.block_start[b]) as usize]
    }

    /// A record's line number in its input.
    fn line(&self, i: u32) -> u64 {
        self.blocks[self.block_of[i as usize] as usize].line_base + u64::from(self.rec(i).line)
    }

    fn file(&self, i: u32) -> u16 {
        self.blocks[self.block_of[i as usize] as usize].file
    }

    fn msg(&self, i: u32) -> &str {
        self.blocks[self.block_of[i as usize] as usize].msg(self.rec(i))
    }

    fn extra(&self, i: u32) -> &Extra {
        let r = self.rec(i);
        let block = &self.blocks[self.block_of[i as usize] as usize];
        if r.extra == NONE {
            &NO_EXTRA
        } else {
            &block.extras[r.extra as usize]
        }
    }

    /// Every record with its number, in input order.
    fn iter(&self) -> impl Iterator<Item = (u32, &Rec, &str)> {
        self.blocks
            .iter()
            .zip(&self.block_start)
            .flat_map(|(b, &start)| {
                b.recs
                    .iter()
                    .enumerate()
                    .map(move |(j, r)| (start + j as u32, r, b.msg(r)))
            })
    }

    /// A record's time and classification, written into `out` (which keeps its capacity).
    pub fn class(&self, i: u32, out: &mut Classified) -> Ts {
        let block = &self.blocks[self.block_of[i as usize] as usize];
        let r = self.rec(i);
        let x = if r.extra == NONE {
            &NO_EXTRA
        } else {
            &block.extras[r.extra as usize]
        };
        out.hits.clear();
        out.hits
            .extend_from_slice(&block.hits[r.hits as usize..r.hits as usize + r.hits_len as usize]);
        out.traits.clear();
        out.traits.extend_from_slice(
            &block.traits[x.traits.0 as usize..x.traits.0 as usize + x.traits.1 as usize],
        );
        out.groups.clear();
        out.steps = x.steps;
        out.session = x.session;
        out.overrides = x.overrides;
        out.disqualify = x.disqualify;
        out.outcome = x.outcome;
        r.ts
    }

    /// A record's marks: whether it carries a user id, then the labels of its channel,
    /// location, source and page name (0 = none).
    pub fn marks(&self, i: u32) -> Marks {
        let r = self.rec(i);
        Marks {
            user: r.user != NONE,
            chan: r.chan,
            loc: r.loc,
            src: r.src,
            page: r.page,
        }
    }

    /// A label's text ("" for 0).
    pub fn label(&self, id: u16) -> &str {
        if id == 0 {
            ""
        } else {
            &self.labels[id as usize - 1]
        }
    }

    /// Profile `p`'s records in canonical order.
    pub fn records(&self, p: usize) -> &[u32] {
        &self.order[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// The canonical node of profile `p`.
    pub fn profile_node(&self, p: usize) -> u32 {
        self.profile_node[p]
    }

    /// The canonical node of every node, as [`Loaded::resolve`] left them.
    pub fn canonical_nodes(&self) -> &[u32] {
        &self.canon
    }

    /// Resolves identities and groups events by profile as of `now`: events after `now`,
    /// identity links included, do not exist yet.
    pub fn resolve(&mut self, now: Ts) {
        // Each message id counts once: the first seen, in input order. First every id is
        // hashed and its record number filed into one of 256 parts by the hash's top bits
        // (threads take contiguous ranges of blocks, so each part stays in input order); then
        // each part is deduplicated with a table small enough to stay in cache. It does not
        // depend on `now`, so a second resolve (backtests cut history at several moments)
        // reuses it.
        if self.unique.len() != self.len() {
            self.unique = self.dedupe();
        }
        let unique = std::mem::take(&mut self.unique);
        self.link_and_group(&unique, now);
        self.unique = unique;
    }

    fn dedupe(&mut self) -> Vec<bool> {
        let mut unique = vec![true; self.len()];
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let this = &*self;
        const PARTS: usize = 256;
        let per = this.blocks.len().div_ceil(threads).max(1);
        let filed: Vec<Vec<Vec<(u32, u32)>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        let mut parts: Vec<Vec<(u32, u32)>> = vec![Vec::new(); PARTS];
                        let blocks = (t * per).min(this.blocks.len())
                            ..((t + 1) * per).min(this.blocks.len());
                        for b in blocks {
                            let block = &this.blocks[b];
                            let start = this.block_start[b];
                            for (j, r) in block.recs.iter().enumerate() {
                                let h = text_hash(block.msg(r));
                                parts[(h >> 56) as usize].push((h as u32, start + j as u32));
                            }
                        }
                        parts
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("dedupe panicked"))
                .collect()
        });
        let filed = &filed;
        let repeated: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        // Spread the 32 kept hash bits over 64 for the table.
                        let mix = |h: u32| u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        let mut repeated = Vec::new();
                        let mut entries: Vec<(u32, u32)> = Vec::new();
                        let mut seen: hashbrown::HashTable<u32> = hashbrown::HashTable::new();
                        for p in (t..PARTS).step_by(threads) {
                            entries.clear();
                            for thread_parts in filed {
                                entries.extend_from_slice(&thread_parts[p]);
                            }
                            seen.clear();
                            seen.reserve(entries.len(), |&k| mix(entries[k as usize].0));
                            for (k, &(h, i)) in entries.iter().enumerate() {
                                let same = |&k2: &u32| {
                                    let (h2, i2) = entries[k2 as usize];
                                    h2 == h && this.msg(i2) == this.msg(i)
                                };
                                match seen.entry(mix(h), same, |&k2| mix(entries[k2 as usize].0)) {
                                    hashbrown::hash_table::Entry::Occupied(_) => repeated.push(i),
                                    hashbrown::hash_table::Entry::Vacant(v) => {
                                        v.insert(k as u32);
                                    }
                                }
                            }
                        }
                        repeated
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("dedupe panicked"))
                .collect()
        });
        let mut duplicates = 0;
        for i in repeated.into_iter().flatten() {
            unique[i as usize] = false;
            duplicates += 1;
        }
        self.duplicates = duplicates;
        unique
    }

    fn link_and_group(&mut self, unique: &[bool], now: Ts) {
        let mut links = Vec::new();
        for (i, r, msg) in self.iter() {
            if !unique[i as usize] || r.user == NONE || r.ts > now {
                continue;
            }
            let mut link = |from: u32, explicit: bool| {
                links.push(Link {
                    ts: r.ts,
                    message_id: msg.to_string(),
                    from,
                    to: r.user,
                    explicit,
                });
            };
            let prev = self.extra(i).prev;
            if prev.0 != NONE {
                link(prev.0, true);
                link(prev.1, true);
            } else if r.anon != NONE {
                link(r.anon, false);
            }
        }
        timing("dedupe");
        let names = &self.names;
        let link_refs: Vec<&Link> = links.iter().collect();
        self.canon = resolve(names.len(), |n| names[n as usize].0, &link_refs);

        timing("identity");
        // Group unique records by profile (the canonical node of their home id).
        let mut profile_of_node = vec![NONE; names.len()];
        let mut count: Vec<u32> = Vec::new();
        let mut rec_profile = vec![NONE; self.len()];
        let mut profile_node = Vec::new();
        for (i, r, _) in self.iter() {
            let i = i as usize;
            if !unique[i] || r.ts > now {
                continue;
            }
            let home = if r.user != NONE { r.user } else { r.anon };
            let c = self.canon[home as usize] as usize;
            if profile_of_node[c] == NONE {
                profile_of_node[c] = count.len() as u32;
                count.push(0);
                profile_node.push(c as u32);
            }
            let p = profile_of_node[c];
            count[p as usize] += 1;
            rec_profile[i] = p;
        }
        self.profile_node = profile_node;
        let mut starts = Vec::with_capacity(count.len() + 1);
        let mut acc = 0u32;
        for c in &count {
            starts.push(acc);
            acc += c;
        }
        starts.push(acc);
        let mut fill = starts.clone();
        let mut order = vec![0u32; acc as usize];
        for (i, &p) in rec_profile.iter().enumerate() {
            if p != NONE {
                order[fill[p as usize] as usize] = i as u32;
                fill[p as usize] += 1;
            }
        }
        // Each profile's events in canonical order, the profiles split between threads.
        let this = &*self;
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let half = count.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let mut rest: &mut [u32] = &mut order;
            let mut done = 0usize;
            for first in (0..count.len()).step_by(half) {
                let last = (first + half).min(count.len());
                let len = (starts[last] - starts[first]) as usize;
                let (mine, tail) = rest.split_at_mut(len);
                rest = tail;
                let base = done;
                done += len;
                let starts = &starts;
                s.spawn(move || {
                    for p in first..last {
                        let from = starts[p] as usize - base;
                        let to = starts[p + 1] as usize - base;
                        mine[from..to].sort_unstable_by(|&a, &b| {
                            let (ra, rb) = (this.rec(a), this.rec(b));
                            ra.ts.cmp(&rb.ts).then_with(|| this.msg(a).cmp(this.msg(b)))
                        });
                    }
                });
            }
        });
        self.order = order;
        self.starts = starts;
        timing("group");
    }

    /// Number of profiles.
    pub fn profiles(&self) -> usize {
        self.profile_node.len()
    }

    /// Lines decoded into events (before deduplication and `--at`).
    pub fn decoded(&self) -> usize {
        self.len()
    }

    /// Unique events.
    pub fn unique(&self) -> usize {
        self.order.len()
    }

    /// The canonical name of a profile: `user:<id>` or `anon:<id>`.
    pub fn profile_name(&self, p: usize) -> String {
        self.node_name(self.profile_node[p])
    }

    fn node_name(&self, n: u32) -> String {
        let (user, id) = &self.names[n as usize];
        format!("{}:{id}", if *user { "user" } else { "anon" })
    }

    /// The other ids of a profile that its events carry.
    pub fn member_names(&self, p: usize) -> Vec<String> {
        let c = self.profile_node[p];
        let mut out = std::collections::BTreeSet::new();
        for &i in &self.order[self.starts[p] as usize..self.starts[p + 1] as usize] {
            let r = self.rec(i);
            for n in [r.user, r.anon] {
                if n != NONE && n != c && self.canon[n as usize] == c {
                    out.insert(self.node_name(n));
                }
            }
        }
        out.into_iter().collect()
    }

    /// Finds a profile by any of its ids.
    pub fn find_profile(&self, id: &str) -> Option<usize> {
        let candidates: Vec<(bool, &str)> = match id.split_once(':') {
            Some(("user", raw)) => vec![(true, raw)],
            Some(("anon", raw)) => vec![(false, raw)],
            _ => vec![(true, id), (false, id)],
        };
        for (user, raw) in candidates {
            if let Some(n) = self
                .names
                .iter()
                .position(|(u, id)| *u == user && &**id == raw)
            {
                let c = self.canon[n];
                if let Some(p) = self.profile_node.iter().position(|&x| x == c) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// Prints the rejected lines (the first ones) to stderr.
    pub fn report_problems(&self) {
        for p in &self.problems {
            eprintln!(
                "{}:{}: rejected: {}",
                input::display(&self.paths_or_stdin()[p.file as usize]),
                p.line,
                p.error
            );
        }
        if self.rejected > self.problems.len() as u64 {
            eprintln!(
                "... and {} more rejected lines",
                self.rejected - self.problems.len() as u64
            );
        }
    }

    fn paths_or_stdin(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from("-")]
        } else {
            self.paths.clone()
        }
    }
}

/// What a record carries besides its scoring: see [`Loaded::marks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// The event carries a user id (the person is identified).
    pub user: bool,
    /// Channel label.
    pub chan: u16,
    /// Location label.
    pub loc: u16,
    /// Source label.
    pub src: u16,
    /// Page or screen name label.
    pub page: u16,
}

/// A profile's result.
pub struct Row {
    /// Profile index in [`Loaded`].
    pub profile: u32,
    /// Scores at `now`.
    pub snap: Snapshot,
}

/// Scores every profile at `now` from its events at or before `now`, in parallel.
pub fn score(scorer: &Scorer, loaded: &Loaded, now: Ts) -> Vec<Row> {
    let n = loaded.profiles();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(workers).max(1);
    let bar = progress::bar(n as u64, "profiles scored");
    let mut rows: Vec<Row> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|from| {
                let to = (from + chunk).min(n);
                let bar = &bar;
                s.spawn(move || {
                    let mut state = scorer.new_state();
                    let mut class = Classified::default();
                    let mut log = VecDeque::new();
                    let mut rows = Vec::with_capacity(to - from);
                    for p in from..to {
                        scorer.reset(&mut state);
                        log.clear();
                        let ids =
                            &loaded.order[loaded.starts[p] as usize..loaded.starts[p + 1] as usize];
                        for &i in ids {
                            let ts = loaded.class(i, &mut class);
                            scorer
                                .apply(&mut state, ts, &class, &mut log, &mut NoSink)
                                .expect("events are in canonical order");
                        }
                        {
                            rows.push(Row {
                                profile: p as u32,
                                snap: scorer.peek(&state, now, &log),
                            });
                        }
                        if p % 65536 == 0 {
                            bar.inc(65536.min(to - p) as u64);
                        }
                    }
                    rows
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("scorer panicked"))
            .collect()
    });
    bar.finish_and_clear();
    timing("score");
    // Queue order: tier (top first, disqualified last); inside a tier, escalations first (the
    // person asked for someone: they come before any score); then score, then id.
    // The profile number breaks every tie, so an unstable sort gives one order.
    rows.sort_unstable_by(|a, b| {
        a.snap
            .tier
            .cmp(&b.snap.tier)
            .then(
                b.snap
                    .override_index
                    .is_some()
                    .cmp(&a.snap.override_index.is_some()),
            )
            .then(b.snap.score.total_cmp(&a.snap.score))
            .then(a.profile.cmp(&b.profile))
    });
    timing("sort");
    rows
}

/// The events of one profile, decoded again from the inputs, in canonical order.
pub fn profile_events(loaded: &Loaded, p: usize, paths: &[PathBuf]) -> Result<Vec<Event>> {
    let ids = &loaded.order[loaded.starts[p] as usize..loaded.starts[p + 1] as usize];
    let mut wanted: Vec<Vec<u64>> = vec![Vec::new(); paths.len().max(1)];
    for &i in ids {
        wanted[loaded.file(i) as usize].push(loaded.line(i));
    }
    let mut by_place: FxHashMap<(u16, u64), Event> = FxHashMap::default();
    for (fi, lines) in wanted.iter_mut().enumerate() {
        lines.sort_unstable();
        let path: &Path = &paths[fi];
        input::pick_lines(path, lines, |n, text| {
            let e = Event::from_json(text, || {
                format!("line-{:016x}", intent_core::score::text_hash(text))
            })
            .map_err(|e| {
                anyhow!(
                    "{}:{n}: {e} (the input changed while reading?)",
                    path.display()
                )
            })?;
            by_place.insert((fi as u16, n), e);
            Ok(())
        })?;
    }
    ids.iter()
        .map(|&i| {
            let (file, line) = (loaded.file(i), loaded.line(i));
            let event = by_place.remove(&(file, line));
            match event {
                Some(e) if e.message_id == loaded.msg(i) => Ok(e),
                _ => Err(anyhow!(
                    "{}:{line}: the input changed since it was read",
                    paths[file as usize].display()
                )),
            }
        })
        .collect()
}

/// One line on what was read and found.
pub fn summary(scorer: &Scorer, loaded: &Loaded, rows: &[Row], now: Ts, secs: f64) -> String {
    let plan = scorer.plan();
    let mut counts: Vec<(String, usize)> =
        plan.levels.iter().map(|l| (l.name.clone(), 0)).collect();
    counts.push(("disqualified".into(), 0));
    for r in rows {
        let i = if r.snap.tier == intent_core::score::DISQUALIFIED {
            counts.len() - 1
        } else {
            r.snap.tier as usize
        };
        counts[i].1 += 1;
    }
    let tiers: Vec<String> = counts.iter().map(|(n, c)| format!("{c} {n}")).collect();
    let later = loaded.lines - loaded.duplicates - loaded.rejected - loaded.unique() as u64;
    let later = if later > 0 {
        format!(", {later} after it")
    } else {
        String::new()
    };
    format!(
        "{} lines: {} events as of {} ({} duplicates, {} rejected{later}) → {} profiles: {} | {:.1} s, {:.0} lines/s, {:.0} MB/s",
        loaded.lines,
        loaded.unique(),
        format_timestamp(now),
        loaded.duplicates,
        loaded.rejected,
        rows.len(),
        tiers.join(", "),
        secs,
        loaded.lines as f64 / secs,
        loaded.bytes as f64 / secs / 1e6,
    )
}

impl Loaded {
    /// Every unique event as (profile, record), in time order across profiles, the order a live
    /// stream would deliver them. Each profile's events stay in canonical order.
    pub fn time_ordered(&self) -> Vec<(u32, u32)> {
        let mut all: Vec<(Ts, u32, u32)> = Vec::with_capacity(self.order.len());
        for p in 0..self.profiles() {
            for &i in &self.order[self.starts[p] as usize..self.starts[p + 1] as usize] {
                all.push((self.rec(i).ts, p as u32, i));
            }
        }
        // Stable: equal times keep each profile's canonical order.
        all.sort_by_key(|x| x.0);
        all.into_iter().map(|(_, p, i)| (p, i)).collect()
    }
}
