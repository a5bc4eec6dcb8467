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

struct Stored {
    event: Event,
    class: Classified,
}

struct Profile {
    members: Vec<u32>,
    state: Vec<u8>,
    log: VecDeque<(Ts, u8, f64)>,
    last: Option<(Ts, u32)>,
}

/// An in-memory incremental scoring engine.
pub struct Engine {
    scorer: Scorer,
    seen: FxHashSet<String>,
    node_ids: FxHashMap<(bool, String), u32>,
    node_names: Vec<(bool, String)>,
    node_events: Vec<Vec<u32>>,
    raw_parent: Vec<u32>,
    raw_links: FxHashMap<u32, Vec<u32>>,
    links: Vec<Link>,
    canon: Vec<u32>,
    events: Vec<Stored>,
    profiles: FxHashMap<u32, Profile>,
    scratch: Classified,
}

impl Engine {
    /// An empty engine for a plan.
    pub fn new(scorer: Scorer) -> Self {
        Engine {
            scorer,
            seen: FxHashSet::default(),
            node_ids: FxHashMap::default(),
            node_names: Vec::new(),
            node_events: Vec::new(),
            raw_parent: Vec::new(),
            raw_links: FxHashMap::default(),
            links: Vec::new(),
            canon: Vec::new(),
            events: Vec::new(),
            profiles: FxHashMap::default(),
            scratch: Classified::default(),
        }
    }

    /// The scorer.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    fn node(&mut self, user: bool, id: &str) -> u32 {
        if let Some(&n) = self.node_ids.get(&(user, id.to_string())) {
            return n;
        }
        let n = self.node_names.len() as u32;
        self.node_ids.insert((user, id.to_string()), n);
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
        if !self.seen.insert(event.message_id.clone()) {
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
        let idx = self.events.len() as u32;
        let ts = event.timestamp;
        self.node_events[home as usize].push(idx);
        self.events.push(Stored { event, class });
        self.scratch = Classified::default();

        if !new_links.is_empty() {
            let msg = self.events[idx as usize].event.message_id.clone();
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
        let profile = self.profiles.entry(key).or_insert_with(|| Profile {
            members: vec![key],
            state: self.scorer.new_state(),
            log: VecDeque::new(),
            last: None,
        });
        let order = (ts, idx);
        let in_order = match profile.last {
            None => true,
            Some((lt, li)) => {
                lt < ts
                    || (lt == ts
                        && self.events[li as usize].event.message_id
                            < self.events[idx as usize].event.message_id)
            }
        };
        if in_order {
            let class = &self.events[idx as usize].class;
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
        for key in &touched {
            self.profiles.remove(key);
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
            let (ea, eb) = (
                &self.events[a as usize].event,
                &self.events[b as usize].event,
            );
            (ea.timestamp, &ea.message_id).cmp(&(eb.timestamp, &eb.message_id))
        });
        idx
    }

    fn rebuild(&mut self, key: u32) {
        let order = self.history(key);
        let profile = self.profiles.get_mut(&key).expect("profile");
        self.scorer.reset(&mut profile.state);
        profile.log.clear();
        for &i in &order {
            let s = &self.events[i as usize];
            self.scorer
                .apply(
                    &mut profile.state,
                    s.event.timestamp,
                    &s.class,
                    &mut profile.log,
                    &mut NoSink,
                )
                .expect("history is sorted");
        }
        profile.last = order
            .last()
            .map(|&i| (self.events[i as usize].event.timestamp, i));
    }

    /// The canonical id of every profile: `user:<id>` or `anon:<id>`.
    pub fn profile_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.profiles.keys().map(|&k| self.name(k)).collect();
        ids.sort();
        ids
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
        let n = *self.node_ids.get(&(user, raw.to_string()))?;
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
        let events: Vec<(&Event, &Classified)> = order
            .iter()
            .map(|&i| {
                let s = &self.events[i as usize];
                (&s.event, &s.class)
            })
            .filter(|(e, _)| e.timestamp <= now)
            .collect();
        Some(explain(&self.scorer, &events, now).0)
    }
}
