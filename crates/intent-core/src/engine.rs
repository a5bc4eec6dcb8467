//! The incremental engine: events in any order, identities merging as they arrive, every
//! profile's score always equal to replaying its whole history.
//!
//! In-order events take the O(1) path of [`Scorer::apply`]. A late event (older than its profile's
//! last) or an identity merge rescores the profiles concerned from their history; resolution is
//! recomputed only for the connected ids the new link touches. The engine keeps its history in
//! memory; the store-backed service keeps the same shape with history on disk.

use crate::event::{Event, EventType};
use crate::explain::{Explanation, explain};
use crate::identity::{Link, resolve};
use crate::score::{Classified, NoSink, Scorer, Snapshot};
use crate::time::Ts;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

/// What happened to an ingested event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Scored in order on the fast path.
    Applied,
    /// Late or merging: the profile(s) were rescored from history.
    Rescored,
    /// The message id was seen before; nothing changed.
    Duplicate,
}

/// One event of the history: what rescoring needs (time, id, classification, facet marks), and
/// the event itself either whole or, when the caller gave it, as its JSON text (a third of the
/// memory; decoded again only to explain or to show a timeline).
struct Stored {
    ts: Ts,
    message_id: Box<str>,
    class: Classified,
    marks: Marks,
    kept: Kept,
}

enum Kept {
    Event(Box<Event>),
    Json(Box<str>),
}

/// The facet inputs of one event, interned.
#[derive(Clone, Copy)]
struct Marks {
    channel: Option<u16>,
    location: Option<u16>,
}

impl Stored {
    fn event(&self) -> std::borrow::Cow<'_, Event> {
        match &self.kept {
            Kept::Event(e) => std::borrow::Cow::Borrowed(e),
            Kept::Json(text) => std::borrow::Cow::Owned(
                Event::from_json(text, || self.message_id.to_string())
                    .expect("kept JSON is an event that was valid"),
            ),
        }
    }
}

struct Profile {
    members: Vec<u32>,
    state: Vec<u8>,
    log: VecDeque<(Ts, u8, f64)>,
    last: Option<(Ts, u32)>,
    facets: Facets,
}

/// What a queue filters on, kept per profile: channels seen, the last location (dealership) and
/// the score group values of its events. Channel and location names are interned
/// ([`Engine::label`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Channels the profile was seen on (label ids, sorted).
    pub channels: Vec<u16>,
    /// The latest location named by an event (`properties.location`, `traits.location` or
    /// `context.location`).
    pub location: Option<u16>,
    /// Score group values of its events: (group index, hash of the value), sorted.
    pub groups: Vec<(u8, u64)>,
}

#[derive(Default)]
struct Labels {
    names: Vec<String>,
    ids: FxHashMap<String, u16>,
}

impl Labels {
    fn intern(&mut self, text: &str) -> u16 {
        if let Some(&i) = self.ids.get(text) {
            return i;
        }
        let i = self.names.len().min(u16::MAX as usize) as u16;
        if self.names.len() < u16::MAX as usize {
            self.names.push(text.to_string());
            self.ids.insert(text.to_string(), i);
        }
        i
    }
}

fn marks(labels: &mut Labels, event: &Event) -> Marks {
    let location = event
        .properties
        .get("location")
        .or_else(|| event.traits.get("location"))
        .or_else(|| event.context.get("location"))
        .and_then(serde_json::Value::as_str);
    Marks {
        channel: event.channel().map(|c| labels.intern(c)),
        location: location.map(|l| labels.intern(l)),
    }
}

fn observe(facets: &mut Facets, marks: Marks, class: &Classified) {
    if let Some(id) = marks.channel
        && let Err(at) = facets.channels.binary_search(&id)
    {
        facets.channels.insert(at, id);
    }
    if marks.location.is_some() {
        facets.location = marks.location;
    }
    for g in &class.groups {
        if let Err(at) = facets.groups.binary_search(g) {
            facets.groups.insert(at, *g);
        }
    }
}

/// One profile as the queue sees it.
pub struct ProfileView<'a> {
    /// Internal key; [`Engine::key_name`] turns it into the canonical id.
    pub key: u32,
    /// Scores at `now`.
    pub snapshot: Snapshot,
    /// Filterable facets.
    pub facets: &'a Facets,
}

/// One event of a profile's history as the engine keeps it, for reports that replay every
/// profile (the funnel) and read only what the engine already holds: nothing is decoded unless
/// [`Recorded::event`] is called.
pub struct Recorded<'a> {
    /// Event time.
    pub ts: Ts,
    /// How the live plan classified it (signals, overrides, the outcome it records).
    pub class: &'a Classified,
    /// Whether it carries a user id.
    pub identified: bool,
    /// Its channel (`context.channel` or `properties.channel`).
    pub channel: Option<&'a str>,
    /// The location it names (`properties`, `traits` or `context` `.location`).
    pub location: Option<&'a str>,
    stored: &'a Stored,
}

impl Recorded<'_> {
    /// The event (decoded when the engine keeps it as JSON).
    pub fn event(&self) -> std::borrow::Cow<'_, Event> {
        self.stored.event()
    }

    /// The event's JSON text, when the engine keeps it as text.
    pub fn json(&self) -> Option<&str> {
        match &self.stored.kept {
            Kept::Json(text) => Some(text),
            Kept::Event(_) => None,
        }
    }

    /// Its message id.
    pub fn message_id(&self) -> &str {
        &self.stored.message_id
    }
}

/// A growable array in fixed-size chunks: growing never copies what is there, so a large history
/// never pauses the writer for a reallocation.
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

const CHUNK: usize = 1 << 14;

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    fn push(&mut self, value: T) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk").push(value);
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<T> std::ops::Index<u32> for Chunked<T> {
    type Output = T;
    fn index(&self, i: u32) -> &T {
        let i = i as usize;
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// An in-memory incremental scoring engine.
pub struct Engine {
    scorer: Scorer,
    seen: FxHashSet<String>,
    /// Node ids by (is user, id): `[anonymous, user]`.
    node_ids: [FxHashMap<String, u32>; 2],
    node_names: Vec<(bool, String)>,
    node_events: Vec<Vec<u32>>,
    raw_parent: Vec<u32>,
    raw_links: FxHashMap<u32, Vec<u32>>,
    links: Vec<Link>,
    canon: Vec<u32>,
    events: Chunked<Stored>,
    dedupe: bool,
    profiles: FxHashMap<u32, Profile>,
    scratch: Classified,
    labels: Labels,
    trait_index: FxHashMap<String, Vec<u32>>,
    /// Profiles touched since the last [`Engine::take_changed`], when tracking.
    changed: Option<FxHashSet<u32>>,
}

/// A profile an ingest touched, for the follow-up desk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Changed {
    /// It merged into another profile and no longer exists on its own.
    Merged {
        /// The id it had.
        from: String,
        /// The profile it is part of now.
        into: String,
    },
    /// Its events or scores changed: look at it again.
    Profile(String),
}

impl Engine {
    /// An empty engine for a plan.
    pub fn new(scorer: Scorer) -> Self {
        Engine {
            scorer,
            seen: FxHashSet::default(),
            node_ids: [FxHashMap::default(), FxHashMap::default()],
            node_names: Vec::new(),
            node_events: Vec::new(),
            raw_parent: Vec::new(),
            raw_links: FxHashMap::default(),
            links: Vec::new(),
            canon: Vec::new(),
            events: Chunked::default(),
            dedupe: true,
            profiles: FxHashMap::default(),
            scratch: Classified::default(),
            labels: Labels::default(),
            trait_index: FxHashMap::default(),
            changed: None,
        }
    }

    /// Starts (or stops) recording which profiles ingests touch; see [`Engine::take_changed`].
    pub fn track_changes(&mut self, on: bool) {
        self.changed = on.then(FxHashSet::default);
    }

    /// The profiles touched since the last call (when tracking): merges first, then profiles
    /// by id.
    pub fn take_changed(&mut self) -> Vec<Changed> {
        let Some(keys) = self.changed.as_mut() else {
            return Vec::new();
        };
        let keys: Vec<u32> = keys.drain().collect();
        let mut out: Vec<Changed> = keys
            .into_iter()
            .map(|k| {
                if self.profiles.contains_key(&k) {
                    Changed::Profile(self.name(k))
                } else {
                    Changed::Merged {
                        from: self.name(k),
                        into: self.name(self.canon[k as usize]),
                    }
                }
            })
            .collect();
        out.sort();
        out
    }

    fn touch(&mut self, key: u32) {
        if let Some(set) = self.changed.as_mut() {
            set.insert(key);
        }
    }

    /// An engine for a caller that guarantees unique message ids (a store that deduplicates
    /// before it appends): it keeps no set of ids, and [`Engine::contains_message`] is always
    /// false.
    pub fn without_dedupe(scorer: Scorer) -> Self {
        Engine {
            dedupe: false,
            ..Engine::new(scorer)
        }
    }

    /// The scorer.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    fn node(&mut self, user: bool, id: &str) -> u32 {
        if let Some(&n) = self.node_ids[usize::from(user)].get(id) {
            return n;
        }
        let n = self.node_names.len() as u32;
        self.node_ids[usize::from(user)].insert(id.to_string(), n);
        self.node_names.push((user, id.to_string()));
        self.node_events.push(Vec::new());
        self.raw_parent.push(n);
        self.canon.push(n);
        n
    }

    fn raw_find(&mut self, mut x: u32) -> u32 {
        while self.raw_parent[x as usize] != x {
            let up = self.raw_parent[self.raw_parent[x as usize] as usize];
            self.raw_parent[x as usize] = up;
            x = up;
        }
        x
    }

    /// Takes one event.
    pub fn ingest(&mut self, event: Event) -> Ingested {
        self.take(event, None)
    }

    /// Takes one event and keeps it as its JSON text (`json` decodes to `event`), which costs a
    /// third of the memory of keeping it decoded.
    pub fn ingest_json(&mut self, event: Event, json: String) -> Ingested {
        self.take(event, Some(json))
    }

    fn take(&mut self, event: Event, json: Option<String>) -> Ingested {
        if self.dedupe && !self.seen.insert(event.message_id.clone()) {
            return Ingested::Duplicate;
        }
        let mut class = std::mem::take(&mut self.scratch);
        self.scorer.classify(&event, &mut class);
        let user = event.user_id.as_deref().map(|u| self.node(true, u));
        let anon = event.anonymous_id.as_deref().map(|a| self.node(false, a));
        let home = user.or(anon).expect("validated events carry an id");
        let mut new_links = Vec::new();
        match (event.kind, user, anon, event.previous_id.as_deref()) {
            (EventType::Alias, Some(u), _, Some(p)) => {
                let pu = self.node(true, p);
                let pa = self.node(false, p);
                new_links.push((pu, u, true));
                new_links.push((pa, u, true));
            }
            (_, Some(u), Some(a), _) => new_links.push((a, u, false)),
            _ => {}
        }
        for (_, v) in event.traits.iter() {
            if let Some(text) = v.as_str().filter(|t| !t.is_empty() && t.len() <= 256) {
                let nodes = self.trait_index.entry(text.to_lowercase()).or_default();
                if nodes.last() != Some(&home) {
                    nodes.push(home);
                }
            }
        }
        let idx = self.events.len() as u32;
        let ts = event.timestamp;
        self.node_events[home as usize].push(idx);
        let marks = marks(&mut self.labels, &event);
        let message_id: Box<str> = event.message_id.as_str().into();
        let kept = match json {
            Some(text) => Kept::Json(text.into_boxed_str()),
            None => Kept::Event(Box::new(event)),
        };
        self.events.push(Stored {
            ts,
            message_id,
            class,
            marks,
            kept,
        });
        self.scratch = Classified::default();

        if !new_links.is_empty() {
            let msg = self.events[idx].message_id.to_string();
            let mut root = self.raw_find(home);
            for (from, to, explicit) in new_links {
                let li = self.links.len() as u32;
                self.links.push(Link {
                    ts,
                    message_id: msg.clone(),
                    from,
                    to,
                    explicit,
                });
                let (a, b) = (self.raw_find(from), self.raw_find(to));
                let mut merged: Vec<u32> = Vec::new();
                for r in [a, b] {
                    merged.extend(self.raw_links.remove(&r).unwrap_or_default());
                }
                merged.push(li);
                self.raw_parent[a as usize] = b;
                self.raw_links.insert(b, merged);
                root = b;
            }
            let root = self.raw_find(root);
            self.reresolve(root);
            return Ingested::Rescored;
        }

        let key = self.canon[home as usize];
        self.touch(key);
        let profile = self.profiles.entry(key).or_insert_with(|| Profile {
            members: vec![key],
            state: self.scorer.new_state(),
            log: VecDeque::new(),
            last: None,
            facets: Facets::default(),
        });
        let order = (ts, idx);
        let in_order = match profile.last {
            None => true,
            Some((lt, li)) => {
                lt < ts || (lt == ts && self.events[li].message_id < self.events[idx].message_id)
            }
        };
        if in_order {
            let stored = &self.events[idx];
            observe(&mut profile.facets, stored.marks, &stored.class);
            let class = &stored.class;
            self.scorer
                .apply(&mut profile.state, ts, class, &mut profile.log, &mut NoSink)
                .expect("in order");
            profile.last = Some(order);
            Ingested::Applied
        } else {
            self.rebuild(key);
            Ingested::Rescored
        }
    }

    fn reresolve(&mut self, root: u32) {
        let link_ids = self.raw_links.get(&root).cloned().unwrap_or_default();
        // The component's nodes, numbered locally.
        let mut nodes: Vec<u32> = Vec::new();
        for &li in &link_ids {
            let l = &self.links[li as usize];
            nodes.push(l.from);
            nodes.push(l.to);
        }
        nodes.sort_unstable();
        nodes.dedup();
        let local = |n: u32| nodes.binary_search(&n).expect("component node") as u32;
        let links: Vec<Link> = link_ids
            .iter()
            .map(|&li| {
                let l = &self.links[li as usize];
                Link {
                    from: local(l.from),
                    to: local(l.to),
                    ..l.clone()
                }
            })
            .collect();
        let refs: Vec<&Link> = links.iter().collect();
        let names = &self.node_names;
        let canon = resolve(nodes.len(), |n| names[nodes[n as usize] as usize].0, &refs);
        let mut touched: FxHashSet<u32> = FxHashSet::default();
        for (i, &n) in nodes.iter().enumerate() {
            touched.insert(self.canon[n as usize]);
            let c = nodes[canon[i] as usize];
            self.canon[n as usize] = c;
            touched.insert(c);
        }
        for &key in &touched {
            self.profiles.remove(&key);
            self.touch(key);
        }
        let mut members: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for &n in &nodes {
            members.entry(self.canon[n as usize]).or_default().push(n);
        }
        for (key, m) in members {
            self.profiles.insert(
                key,
                Profile {
                    members: m,
                    state: self.scorer.new_state(),
                    log: VecDeque::new(),
                    last: None,
                    facets: Facets::default(),
                },
            );
            self.rebuild(key);
        }
    }

    fn history(&self, key: u32) -> Vec<u32> {
        let profile = &self.profiles[&key];
        let mut idx: Vec<u32> = profile
            .members
            .iter()
            .flat_map(|&n| self.node_events[n as usize].iter().copied())
            .collect();
        idx.sort_by(|&a, &b| {
            let (ea, eb) = (&self.events[a], &self.events[b]);
            (ea.ts, &ea.message_id).cmp(&(eb.ts, &eb.message_id))
        });
        idx
    }

    fn rebuild(&mut self, key: u32) {
        let order = self.history(key);
        let profile = self.profiles.get_mut(&key).expect("profile");
        self.scorer.reset(&mut profile.state);
        profile.log.clear();
        profile.facets = Facets::default();
        for &i in &order {
            let s = &self.events[i];
            observe(&mut profile.facets, s.marks, &s.class);
            self.scorer
                .apply(
                    &mut profile.state,
                    s.ts,
                    &s.class,
                    &mut profile.log,
                    &mut NoSink,
                )
                .expect("history is sorted");
        }
        profile.last = order.last().map(|&i| (self.events[i].ts, i));
    }

    /// The canonical id of every profile: `user:<id>` or `anon:<id>`.
    pub fn profile_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.profiles.keys().map(|&k| self.name(k)).collect();
        ids.sort();
        ids
    }

    /// The number of profiles.
    pub fn profile_count(&self) -> usize {
        self.profiles.len()
    }

    /// The number of distinct events taken.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Whether a message id was taken before (always false [`Engine::without_dedupe`]).
    pub fn contains_message(&self, message_id: &str) -> bool {
        self.seen.contains(message_id)
    }

    /// Every profile's scores at `now` (at or after its last event) and its facets, in no
    /// particular order.
    pub fn profiles_at(&self, now: Ts) -> impl Iterator<Item = ProfileView<'_>> + '_ {
        self.profiles.iter().map(move |(&key, p)| ProfileView {
            key,
            snapshot: self.scorer.peek(&p.state, now, &p.log),
            facets: &p.facets,
        })
    }

    /// The key of every profile, in no particular order ([`Engine::key_name`] names them).
    pub fn profile_keys(&self) -> Vec<u32> {
        self.profiles.keys().copied().collect()
    }

    /// A profile's history in canonical order (time, then message id), by key, as the engine
    /// keeps it; `None` when the key is not a profile (any more: it merged into another).
    pub fn history_of(&self, key: u32) -> Option<Vec<Recorded<'_>>> {
        let profile = self.profiles.get(&key)?;
        let mut out: Vec<Recorded<'_>> = profile
            .members
            .iter()
            .flat_map(|&n| {
                let identified = self.node_names[n as usize].0;
                self.node_events[n as usize].iter().map(move |&i| {
                    let s = &self.events[i];
                    Recorded {
                        ts: s.ts,
                        class: &s.class,
                        identified,
                        channel: s.marks.channel.map(|c| self.label(c)),
                        location: s.marks.location.map(|l| self.label(l)),
                        stored: s,
                    }
                })
            })
            .collect();
        out.sort_by(|a, b| (a.ts, &a.stored.message_id).cmp(&(b.ts, &b.stored.message_id)));
        Some(out)
    }

    /// The canonical id (`user:<id>` or `anon:<id>`) of a profile key.
    pub fn key_name(&self, key: u32) -> String {
        self.name(key)
    }

    /// An interned channel or location name.
    pub fn label(&self, id: u16) -> &str {
        &self.labels.names[id as usize]
    }

    /// The id of an interned channel or location name, when some event named it.
    pub fn label_id(&self, text: &str) -> Option<u16> {
        self.labels.ids.get(text).copied()
    }

    /// A profile's facets.
    pub fn facets(&self, id: &str) -> Option<&Facets> {
        self.key_of(id).map(|k| &self.profiles[&k].facets)
    }

    /// Every id of a profile that carried events (`user:<id>` / `anon:<id>`), sorted.
    pub fn members(&self, id: &str) -> Vec<String> {
        let Some(key) = self.key_of(id) else {
            return Vec::new();
        };
        // An alias links both readings of `previousId` (user and anonymous); only ids that
        // carried events are the person's.
        let mut names: Vec<String> = self.profiles[&key]
            .members
            .iter()
            .filter(|&&n| !self.node_events[n as usize].is_empty() || n == key)
            .map(|&n| self.name(n))
            .collect();
        names.sort();
        names
    }

    /// A profile's events in canonical order (time, then message id).
    pub fn timeline(&self, id: &str) -> Vec<std::borrow::Cow<'_, Event>> {
        let Some(key) = self.key_of(id) else {
            return Vec::new();
        };
        self.history(key)
            .into_iter()
            .map(|i| self.events[i].event())
            .collect()
    }

    /// A profile's traits: every trait its events carried, the latest value of each.
    pub fn traits(&self, id: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut traits = serde_json::Map::new();
        for e in self.timeline(id) {
            for (k, v) in e.traits.iter() {
                traits.insert(k.to_string(), v.clone());
            }
        }
        traits
    }

    /// The event of a profile's history with this message id, if it has one (ids are compared
    /// without decoding; only the match is decoded).
    pub fn find_event(&self, id: &str, message_id: &str) -> Option<Event> {
        let key = self.key_of(id)?;
        self.profiles[&key]
            .members
            .iter()
            .flat_map(|&n| self.node_events[n as usize].iter().rev())
            .map(|&i| &self.events[i])
            .find(|s| &*s.message_id == message_id)
            .map(|s| s.event().into_owned())
    }

    /// The time of a profile's last event (canonical order), without decoding anything.
    pub fn last_event_time(&self, id: &str) -> Option<Ts> {
        let key = self.key_of(id)?;
        self.profiles[&key].last.map(|(ts, _)| ts)
    }

    /// Canonical ids of the profiles that `text` names: a user id, an anonymous id, a prefixed
    /// id (`user:..`/`anon:..`), or a trait value (case-insensitive, e.g. an e-mail). Sorted.
    pub fn search(&self, text: &str) -> Vec<String> {
        let mut keys: FxHashSet<u32> = FxHashSet::default();
        if let Some(k) = self.key_of(text) {
            keys.insert(k);
        }
        for user in [true, false] {
            if let Some(&n) = self.node_ids[usize::from(user)].get(text) {
                keys.insert(self.canon[n as usize]);
            }
        }
        if let Some(nodes) = self.trait_index.get(&text.to_lowercase()) {
            keys.extend(nodes.iter().map(|&n| self.canon[n as usize]));
        }
        let mut names: Vec<String> = keys
            .into_iter()
            .filter(|k| self.profiles.contains_key(k))
            .map(|k| self.name(k))
            .collect();
        names.sort();
        names
    }

    fn name(&self, node: u32) -> String {
        let (user, id) = &self.node_names[node as usize];
        if *user {
            format!("user:{id}")
        } else {
            format!("anon:{id}")
        }
    }

    fn key_of(&self, id: &str) -> Option<u32> {
        let (user, raw) = match id.split_once(':') {
            Some(("user", r)) => (true, r),
            Some(("anon", r)) => (false, r),
            _ => return None,
        };
        let n = *self.node_ids[usize::from(user)].get(raw)?;
        let key = self.canon[n as usize];
        self.profiles.contains_key(&key).then_some(key)
    }

    /// A profile's scores at `now` (at or after its last event). Accepts any id of the profile.
    pub fn snapshot(&self, id: &str, now: Ts) -> Option<Snapshot> {
        let key = self.key_of(id)?;
        let p = &self.profiles[&key];
        Some(self.scorer.peek(&p.state, now, &p.log))
    }

    /// The canonical id for any id of a profile.
    pub fn canonical(&self, id: &str) -> Option<String> {
        self.key_of(id).map(|k| self.name(k))
    }

    /// The ledger behind a profile's score at `now`.
    pub fn explain(&self, id: &str, now: Ts) -> Option<Explanation> {
        let key = self.key_of(id)?;
        let order = self.history(key);
        let decoded: Vec<(std::borrow::Cow<'_, Event>, &Classified)> = order
            .iter()
            .map(|&i| &self.events[i])
            .filter(|s| s.ts <= now)
            .map(|s| (s.event(), &s.class))
            .collect();
        let events: Vec<(&Event, &Classified)> = decoded.iter().map(|(e, c)| (&**e, *c)).collect();
        Some(explain(&self.scorer, &events, now).0)
    }

    /// A profile's scores at each of `times` (ascending), each from the events up to that
    /// moment ([`crate::explain::score_series`]).
    pub fn score_series(&self, id: &str, times: &[Ts]) -> Option<Vec<Snapshot>> {
        let key = self.key_of(id)?;
        let last = times.last().copied().unwrap_or(Ts::MIN);
        let order = self.history(key);
        let decoded: Vec<(std::borrow::Cow<'_, Event>, &Classified)> = order
            .iter()
            .map(|&i| &self.events[i])
            .filter(|s| s.ts <= last)
            .map(|s| (s.event(), &s.class))
            .collect();
        let events: Vec<(&Event, &Classified)> = decoded.iter().map(|(e, c)| (&**e, *c)).collect();
        Some(crate::explain::score_series(&self.scorer, &events, times))
    }
}
