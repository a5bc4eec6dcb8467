//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
//! transaction has been fsynced to the write-ahead log. One connection writes; any number of
//! other connections ([`SqliteStore::open`] again) read concurrently.

use crate::{
    Announcement, Delivery, DeliveryOutcome, DeliveryStatus, Error, EventLog, FollowCommit,
    FollowUps, KeyKind, KeyRecord, Keys, NewEvent, PlanVersion, Plans, Quarantine, Rejected,
    Result, Subscription, TaskRow, Webhooks,
};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Type, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Migrations, applied in order; `user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the log, the quarantine, plans and keys.
    // The log is kept in chunks, one per group commit: `bodies` holds `count` messages as JSON
    // lines, numbered from `first_seq`. One row per commit instead of one per message makes
    // an append cost one B-tree insert, whatever the group's size.
    "CREATE TABLE events (
        first_seq INTEGER PRIMARY KEY,
        count INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        bodies TEXT NOT NULL
     );
     CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        source TEXT NOT NULL,
        field TEXT NOT NULL,
        reason TEXT NOT NULL,
        body TEXT NOT NULL
     );
     CREATE TABLE plans (
        version INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        origin TEXT NOT NULL,
        text TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE keys (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
     );",
    // 2: the follow-up desk (observed state per profile, tasks) and the webhook outbox.
    // Tasks and observed state are JSON owned by the core; only the columns the store filters
    // on are split out. A delivery is one announcement on its way to one subscription.
    "CREATE TABLE follow_state (
        profile TEXT PRIMARY KEY,
        body TEXT NOT NULL
     );
     CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL
     );
     CREATE INDEX tasks_status ON tasks (status);
     CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        tiers TEXT NOT NULL,
        locations TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE announcements (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        tier TEXT,
        location TEXT,
        payload TEXT NOT NULL,
        at INTEGER NOT NULL
     );
     CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL REFERENCES announcements (id),
        subscription TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_error TEXT,
        last_status INTEGER,
        UNIQUE (event_id, subscription)
     );
     -- The worker's queue: pending deliveries by due time.
     CREATE INDEX deliveries_due ON deliveries (status, next_at);
     -- The filtered lists, newest first (by id) within a status or a subscription.
     CREATE INDEX deliveries_by_status ON deliveries (status, id);
     CREATE INDEX deliveries_by_subscription ON deliveries (subscription, id);",
];

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Taken around every write, and shared by every connection this process opens to the same
    /// file: SQLite's own lock makes a waiting connection poll with sleeps of up to 100 ms, while
    /// this one wakes the next writer the moment the lock is free.
    writing: Arc<Mutex<()>>,
}

/// The in-process write lock of a database file.
fn write_lock(path: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    locks.entry(key).or_default().clone()
}

fn mark_done(conn: &Connection, id: i64, attempts: u32, status: u16, now: i64) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries
         SET status = 'delivered', attempts = ?2, last_status = ?3, delivered_at = ?4
         WHERE id = ?1",
        )?
        .execute(params![id, attempts, status, now])?;
    found(n, format!("delivery {id}"))
}

fn mark_failed(
    conn: &Connection,
    id: i64,
    attempts: u32,
    next_at: Option<i64>,
    error: &str,
    status: Option<u16>,
) -> Result<()> {
    let outcome = match next_at {
        Some(_) => DeliveryStatus::Pending,
        None => DeliveryStatus::Dead,
    };
    // A failure without an answer keeps the last status that was received.
    let n = conn
        .prepare_cached(
            "UPDATE deliveries
             SET status = ?2, attempts = ?3, next_at = COALESCE(?4, next_at), last_error = ?5,
                 last_status = COALESCE(?6, last_status)
             WHERE id = ?1",
        )?
        .execute(params![id, outcome, attempts, next_at, error, status])?;
    found(n, format!("delivery {id}"))
}

/// Holds a write lock until the guard drops. A panic while writing leaves nothing half done
/// (the transaction rolls back), so a poisoned lock is still good.
fn hold(lock: &Mutex<()>) -> MutexGuard<'_, ()> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the store in folder `dir` (`dir/intent.db`).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let path = dir.join("intent.db");
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Fewer, larger checkpoints keep the writer fast under load.
        conn.pragma_update(None, "wal_autocheckpoint", 20_000)?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        // Room for every statement the store prepares, so hot ones are never evicted.
        conn.set_prepared_statement_cache_capacity(64);
        let writing = write_lock(&path);
        let mut store = SqliteStore {
            conn,
            path,
            writing,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        let version = |c: &Connection| -> Result<usize> {
            let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            Ok(v as usize)
        };
        // Several connections may open a new store at once: each migration runs under the
        // write lock, after checking again that no other connection ran it meanwhile.
        while version(&self.conn)? < MIGRATIONS.len() {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let done = version(&tx)?;
            if done < MIGRATIONS.len() {
                tx.execute_batch(MIGRATIONS[done])?;
                tx.pragma_update(None, "user_version", done as i64 + 1)?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT first_seq + count - 1 FROM events ORDER BY first_seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

impl EventLog for SqliteStore {
    fn append(&mut self, events: &[NewEvent<'_>], rejected: &[Rejected]) -> Result<i64> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        // Immediate: it reads the last sequence and then writes; other connections write too
        // (the follow-up desk, subscriptions), and a deferred transaction whose snapshot went
        // stale in between would fail at once instead of waiting for the lock.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let first = last_seq(&tx)? + 1;
        if !events.is_empty() {
            let size = events.iter().map(|e| e.body.len() + 1).sum();
            let mut bodies = String::with_capacity(size);
            for e in events {
                debug_assert!(!e.body.contains('\n'), "a stored message is one line");
                bodies.push_str(e.body);
                bodies.push('\n');
            }
            let received = events.iter().map(|e| e.received_at).max().unwrap_or(0);
            tx.prepare_cached(
                "INSERT INTO events (first_seq, count, received_at, bodies) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![first, events.len() as i64, received, bodies])?;
        }
        {
            let mut q = tx.prepare_cached(
                "INSERT INTO quarantine (received_at, source, field, reason, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in rejected {
                q.execute(params![r.received_at, r.source, r.field, r.reason, r.body])?;
            }
        }
        tx.commit()?;
        Ok(first)
    }

    fn last_seq(&self) -> Result<i64> {
        Ok(last_seq(&self.conn)?)
    }

    fn scan(
        &self,
        after: i64,
        upto: i64,
        f: &mut dyn FnMut(i64, &str) -> Result<(), String>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT first_seq, bodies FROM events
             WHERE first_seq + count > ?1 AND first_seq <= ?2 ORDER BY first_seq",
        )?;
        let mut rows = stmt.query(params![after, upto])?;
        while let Some(row) = rows.next()? {
            let first: i64 = row.get(0)?;
            let bodies = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            for (i, body) in bodies.lines().enumerate() {
                let seq = first + i as i64;
                if seq <= after {
                    continue;
                }
                if seq > upto {
                    break;
                }
                if let Err(e) = f(seq, body) {
                    return Err(Error::NotFound(format!("scan stopped at seq {seq}: {e}")));
                }
            }
        }
        Ok(())
    }

    fn count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(SUM(count), 0) FROM events", [], |r| {
                r.get(0)
            })?)
    }

    fn find(&self, message_id: &str) -> Result<Option<(i64, String)>> {
        // Stored messages are compact JSON with sorted keys, so the id appears exactly so.
        let needle = format!(
            "\"messageId\":{}",
            serde_json::to_string(message_id).unwrap_or_default()
        );
        let mut stmt = self.conn.prepare_cached(
            "SELECT first_seq, bodies FROM events WHERE instr(bodies, ?1) > 0 ORDER BY first_seq",
        )?;
        let mut rows = stmt.query([&needle])?;
        while let Some(row) = rows.next()? {
            let first: i64 = row.get(0)?;
            let bodies = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            for (i, body) in bodies.lines().enumerate() {
                let hit = body.contains(&needle)
                    && serde_json::from_str::<serde_json::Value>(body)
                        .ok()
                        .is_some_and(|v| v["messageId"] == message_id);
                if hit {
                    return Ok(Some((first + i as i64, body.to_string())));
                }
            }
        }
        Ok(None)
    }

    fn defer_maintenance(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    fn maintain(&self) -> Result<()> {
        // A passive checkpoint copies what it can without waiting for (or blocking) the writer.
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        total
    }
}

impl Quarantine for SqliteStore {
    fn rejected(&self, limit: usize, before: Option<i64>) -> Result<Vec<Rejected>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, received_at, source, field, reason, body FROM quarantine
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit as i64], |r| {
            Ok(Rejected {
                id: r.get(0)?,
                received_at: r.get(1)?,
                source: r.get(2)?,
                field: r.get(3)?,
                reason: r.get(4)?,
                body: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn rejected_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?)
    }
}

fn plan_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PlanVersion> {
    Ok(PlanVersion {
        version: r.get(0)?,
        created_at: r.get(1)?,
        origin: r.get(2)?,
        text: r.get(3)?,
    })
}

impl Plans for SqliteStore {
    fn add_plan(&mut self, text: &str, origin: &str, now: i64) -> Result<i64> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        self.conn.execute(
            "INSERT INTO plans (created_at, origin, text) VALUES (?1, ?2, ?3)",
            params![now, origin, text],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn plans(&self) -> Result<Vec<PlanVersion>> {
        let mut stmt = self
            .conn
            .prepare("SELECT version, created_at, origin, text FROM plans ORDER BY version")?;
        let rows = stmt.query_map([], plan_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn active_plan(&self) -> Result<Option<PlanVersion>> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, created_at, origin, text FROM plans WHERE active = 1",
                [],
                plan_row,
            )
            .optional()?)
    }

    fn activate(&mut self, version: i64) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute("UPDATE plans SET active = 1 WHERE version = ?1", [version])?;
        if n == 0 {
            return Err(Error::NotFound(format!("plan version {version}")));
        }
        tx.execute("UPDATE plans SET active = 0 WHERE version <> ?1", [version])?;
        tx.commit()?;
        Ok(())
    }
}

impl Keys for SqliteStore {
    fn add_key(&mut self, kind: KeyKind, name: &str, hash: &str, now: i64) -> Result<i64> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        self.conn.execute(
            "INSERT INTO keys (kind, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![kind.as_str(), name, hash, now],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn keys(&self) -> Result<Vec<KeyRecord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind, name, hash, created_at, revoked FROM keys ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            let kind: String = r.get(1)?;
            Ok(KeyRecord {
                id: r.get(0)?,
                kind: KeyKind::parse(&kind).unwrap_or(KeyKind::Write),
                name: r.get(2)?,
                hash: r.get(3)?,
                created_at: r.get(4)?,
                revoked: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_key(&mut self, id: i64) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        let n = self
            .conn
            .execute("UPDATE keys SET revoked = 1 WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NotFound(format!("key {id}")));
        }
        Ok(())
    }
}

fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        profile: r.get(1)?,
        status: r.get(2)?,
        created_at: r.get(3)?,
        body: r.get(4)?,
    })
}

fn save_observed(conn: &Connection, observed: &[(String, Option<String>)]) -> Result<()> {
    let mut upsert =
        conn.prepare_cached("INSERT OR REPLACE INTO follow_state (profile, body) VALUES (?1, ?2)")?;
    let mut delete = conn.prepare_cached("DELETE FROM follow_state WHERE profile = ?1")?;
    for (profile, body) in observed {
        match body {
            Some(body) => upsert.execute(params![profile, body])?,
            None => delete.execute([profile])?,
        };
    }
    Ok(())
}

fn save_tasks(conn: &Connection, tasks: &[TaskRow]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO tasks (id, profile, status, created_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for t in tasks {
        stmt.execute(params![t.id, t.profile, t.status, t.created_at, t.body])?;
    }
    Ok(())
}

/// Stores each announcement not stored before and queues one pending delivery of it per
/// subscription that wants it. An id already stored was fanned out when it was first stored.
fn announce(conn: &Connection, announcements: &[Announcement]) -> Result<()> {
    if announcements.is_empty() {
        return Ok(());
    }
    let subscriptions = subscriptions(conn)?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO announcements (id, kind, tier, location, payload, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut queue = conn.prepare_cached(
        "INSERT INTO deliveries (event_id, subscription, status, attempts, next_at, created_at)
         VALUES (?1, ?2, 'pending', 0, ?3, ?3)",
    )?;
    for a in announcements {
        let new = insert.execute(params![a.id, a.kind, a.tier, a.location, a.payload, a.at])?;
        if new == 0 {
            continue;
        }
        for s in subscriptions.iter().filter(|s| s.wants(a)) {
            queue.execute(params![a.id, s.id, a.at])?;
        }
    }
    Ok(())
}

impl FollowUps for SqliteStore {
    fn follow_state(&self) -> Result<(Vec<(String, String)>, Vec<TaskRow>)> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT profile, body FROM follow_state ORDER BY profile")?;
        let observed = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, profile, status, created_at, body FROM tasks ORDER BY id",
        )?;
        let tasks = stmt.query_map([], task_row)?.collect::<Result<_, _>>()?;
        Ok((observed, tasks))
    }

    fn commit_follow(&mut self, commit: &FollowCommit) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        // Immediate: take the write lock before reading the subscriptions, so a write from
        // another connection in between cannot make this transaction's snapshot stale.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        save_observed(&tx, &commit.observed)?;
        save_tasks(&tx, &commit.tasks)?;
        announce(&tx, &commit.announcements)?;
        tx.commit()?;
        Ok(())
    }
}

impl ToSql for DeliveryStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for DeliveryStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        DeliveryStatus::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("delivery status {text:?}").into()))
    }
}

/// A JSON array of strings, as stored in a subscription's filter columns.
fn json_list(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn subscription_row(r: &Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: r.get(0)?,
        url: r.get(1)?,
        secret: r.get(2)?,
        events: json_list(r, 3)?,
        tiers: json_list(r, 4)?,
        locations: json_list(r, 5)?,
        created_at: r.get(6)?,
        disabled: r.get::<_, i64>(7)? != 0,
    })
}

/// Every subscription, oldest first (insertion order breaks ties).
fn subscriptions(conn: &Connection) -> Result<Vec<Subscription>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, secret, events, tiers, locations, created_at, disabled
         FROM subscriptions ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([], subscription_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The columns [`delivery_row`] reads, with the announcement's kind and payload.
const DELIVERY_SELECT: &str = "SELECT d.id, d.event_id, d.subscription, a.kind, a.payload,
        d.status, d.attempts, d.next_at, d.created_at, d.delivered_at, d.last_error, d.last_status
     FROM deliveries d JOIN announcements a ON a.id = d.event_id";

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        event_id: r.get(1)?,
        subscription: r.get(2)?,
        kind: r.get(3)?,
        payload: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_at: r.get(7)?,
        created_at: r.get(8)?,
        delivered_at: r.get(9)?,
        last_error: r.get(10)?,
        last_status: r.get(11)?,
    })
}

/// Turns "no row changed" into [`Error::NotFound`] for `what`.
fn found(changed: usize, what: String) -> Result<()> {
    if changed == 0 {
        return Err(Error::NotFound(what));
    }
    Ok(())
}

impl Webhooks for SqliteStore {
    fn add_subscription(&mut self, s: &Subscription) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        self.conn.execute(
            "INSERT INTO subscriptions (id, url, secret, events, tiers, locations, created_at, disabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.id,
                s.url,
                s.secret,
                serde_json::Value::from(&s.events[..]).to_string(),
                serde_json::Value::from(&s.tiers[..]).to_string(),
                serde_json::Value::from(&s.locations[..]).to_string(),
                s.created_at,
                s.disabled,
            ],
        )?;
        Ok(())
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>> {
        subscriptions(&self.conn)
    }

    fn remove_subscription(&mut self, id: &str) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        let n = self
            .conn
            .execute("UPDATE subscriptions SET disabled = 1 WHERE id = ?1", [id])?;
        found(n, format!("subscription {id}"))
    }

    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DELIVERY_SELECT} WHERE d.status = 'pending' AND d.next_at <= ?1
             ORDER BY d.next_at, d.id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now, limit as i64], delivery_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn next_due(&self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_at) FROM deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    fn delivery_done(&mut self, id: i64, attempts: u32, status: u16, now: i64) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        mark_done(&self.conn, id, attempts, status, now)
    }

    fn delivery_failed(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<i64>,
        error: &str,
        status: Option<u16>,
    ) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        mark_failed(&self.conn, id, attempts, next_at, error, status)
    }

    fn record_deliveries(&mut self, outcomes: &[DeliveryOutcome]) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        // One transaction, one fsync, however many attempts ended.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for o in outcomes {
            match o {
                DeliveryOutcome::Done {
                    id,
                    attempts,
                    status,
                    now,
                } => mark_done(&tx, *id, *attempts, *status, *now)?,
                DeliveryOutcome::Failed {
                    id,
                    attempts,
                    next_at,
                    error,
                    status,
                } => mark_failed(&tx, *id, *attempts, *next_at, error, *status)?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        subscription: Option<&str>,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<Delivery>> {
        // Only the filters given go into the query, so SQLite can pick the index that serves it.
        let before = before.unwrap_or(i64::MAX);
        let limit = limit as i64;
        let mut sql = format!("{DELIVERY_SELECT} WHERE d.id < ?");
        let mut args: Vec<&dyn ToSql> = vec![&before];
        if let Some(status) = &status {
            sql.push_str(" AND d.status = ?");
            args.push(status);
        }
        if let Some(subscription) = &subscription {
            sql.push_str(" AND d.subscription = ?");
            args.push(subscription);
        }
        sql.push_str(" ORDER BY d.id DESC LIMIT ?");
        args.push(&limit);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(&args[..], delivery_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn replay(&mut self, id: i64, now: i64) -> Result<()> {
        let lock = Arc::clone(&self.writing);
        let _writing = hold(&lock);
        // A pending delivery may have an attempt in flight, whose end will set its attempts:
        // it is only made due now. A delivered or dead one starts over.
        let n = self.conn.execute(
            "UPDATE deliveries
             SET attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END,
                 status = 'pending', next_at = ?2, delivered_at = NULL
             WHERE id = ?1",
            params![id, now],
        )?;
        found(n, format!("delivery {id}"))
    }

    fn delivery_counts(&self) -> Result<(i64, i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE status = 'pending'),
                    (SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'),
                    (SELECT COUNT(*) FROM deliveries WHERE status = 'dead')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "intent-store-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn append_scan_and_reopen() {
        let dir = temp();
        {
            let mut s = SqliteStore::open(&dir).unwrap();
            let ev = [
                NewEvent {
                    message_id: "a",
                    received_at: 1,
                    body: "{\"messageId\":\"a\",\"n\":1}",
                },
                NewEvent {
                    message_id: "b",
                    received_at: 2,
                    body: "{\"messageId\":\"b\",\"n\":2}",
                },
            ];
            let rej = Rejected {
                id: 0,
                received_at: 3,
                source: "web".into(),
                field: "batch[1].type".into(),
                reason: "missing".into(),
                body: "{}".into(),
            };
            assert_eq!(s.append(&ev, &[rej]).unwrap(), 1);
            assert_eq!(s.append(&ev[..1], &[]).unwrap(), 3);
        }
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.last_seq().unwrap(), 3);
        let mut seen = Vec::new();
        s.scan(1, 3, &mut |seq, body| {
            seen.push((seq, body.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (2, "{\"messageId\":\"b\",\"n\":2}".into()),
                (3, "{\"messageId\":\"a\",\"n\":1}".into())
            ]
        );
        assert_eq!(s.count().unwrap(), 3);
        assert_eq!(s.find("zz").unwrap(), None);
        assert_eq!(s.rejected_count().unwrap(), 1);
        assert_eq!(s.rejected(10, None).unwrap()[0].field, "batch[1].type");
        assert_eq!(s.find("b").unwrap().unwrap().0, 2);
        assert!(s.size_bytes() > 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn plans_and_keys() {
        let dir = temp().with_extension("pk");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.active_plan().unwrap(), None);
        let v1 = s.add_plan("a", "file", 1).unwrap();
        let v2 = s.add_plan("b", "api", 2).unwrap();
        s.activate(v1).unwrap();
        assert_eq!(s.active_plan().unwrap().unwrap().text, "a");
        s.activate(v2).unwrap();
        assert_eq!(s.active_plan().unwrap().unwrap().version, 2);
        assert_eq!(s.plans().unwrap().len(), 2);
        assert!(s.activate(9).is_err());
        let id = s.add_key(KeyKind::Write, "website", "h1", 5).unwrap();
        assert!(
            s.add_key(KeyKind::Admin, "x", "h1", 5).is_err(),
            "hashes are unique"
        );
        s.revoke_key(id).unwrap();
        let keys = s.keys().unwrap();
        assert!(keys[0].revoked);
        assert_eq!(keys[0].kind, KeyKind::Write);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn ann(
        id: &str,
        kind: &str,
        tier: Option<&str>,
        location: Option<&str>,
        at: i64,
    ) -> Announcement {
        Announcement {
            id: id.into(),
            kind: kind.into(),
            tier: tier.map(Into::into),
            location: location.map(Into::into),
            payload: format!("{{\"id\":\"{id}\"}}"),
            at,
        }
    }

    fn sub(id: &str, events: &[&str], tiers: &[&str], locations: &[&str]) -> Subscription {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Subscription {
            id: id.into(),
            url: format!("http://127.0.0.1/{id}"),
            secret: "whsec_c2VjcmV0".into(),
            events: list(events),
            tiers: list(tiers),
            locations: list(locations),
            created_at: 10,
            disabled: false,
        }
    }

    fn task(id: i64, profile: &str, status: &str) -> TaskRow {
        TaskRow {
            id,
            profile: profile.into(),
            status: status.into(),
            created_at: 100 + id,
            body: format!("{{\"id\":{id},\"status\":\"{status}\"}}"),
        }
    }

    /// `(event_id, subscription)` of every delivery, oldest first.
    fn pairs(s: &SqliteStore) -> Vec<(String, String)> {
        let mut all = s.deliveries(None, None, 100, None).unwrap();
        all.reverse();
        all.into_iter()
            .map(|d| (d.event_id, d.subscription))
            .collect()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn commit_follow_round_trip_and_reopen() {
        let dir = temp().with_extension("follow");
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut s = SqliteStore::open(&dir).unwrap();
            assert_eq!(s.follow_state().unwrap(), (vec![], vec![]));
            s.add_subscription(&sub("sub_all", &[], &[], &[])).unwrap();
            s.commit_follow(&FollowCommit {
                observed: vec![
                    ("user:b".into(), Some("{\"tier\":\"warm\"}".into())),
                    ("user:a".into(), Some("{\"tier\":\"hot\"}".into())),
                ],
                tasks: vec![task(2, "user:b", "open"), task(1, "user:a", "open")],
                announcements: vec![ann("ev1", "task.created", Some("hot"), None, 50)],
            })
            .unwrap();
        }
        let mut s = SqliteStore::open(&dir).unwrap();
        let (observed, tasks) = s.follow_state().unwrap();
        assert_eq!(
            observed,
            vec![
                ("user:a".to_string(), "{\"tier\":\"hot\"}".to_string()),
                ("user:b".to_string(), "{\"tier\":\"warm\"}".to_string()),
            ]
        );
        assert_eq!(
            tasks,
            vec![task(1, "user:a", "open"), task(2, "user:b", "open")]
        );
        let d = &s.deliveries(None, None, 10, None).unwrap()[0];
        assert_eq!(
            (d.event_id.as_str(), d.kind.as_str(), d.payload.as_str()),
            ("ev1", "task.created", "{\"id\":\"ev1\"}")
        );

        // Forgetting a profile deletes its row; a task with a known id is replaced.
        s.commit_follow(&FollowCommit {
            observed: vec![
                ("user:b".into(), None),
                ("user:a".into(), Some("{\"tier\":\"cold\"}".into())),
                ("user:never".into(), None),
            ],
            tasks: vec![task(1, "user:a", "done")],
            announcements: vec![],
        })
        .unwrap();
        drop(s);
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(
            s.follow_state().unwrap(),
            (
                vec![("user:a".to_string(), "{\"tier\":\"cold\"}".to_string())],
                vec![task(1, "user:a", "done"), task(2, "user:b", "open")]
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commit_follow_is_all_or_nothing() {
        let dir = temp().with_extension("atomic");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        // A subscription row the store cannot read makes the fan-out fail after the state and
        // tasks were written: none of it may stay.
        s.conn
            .execute(
                "INSERT INTO subscriptions (id, url, secret, events, tiers, locations, created_at)
                 VALUES ('sub_bad', 'u', 's', 'not json', '[]', '[]', 1)",
                [],
            )
            .unwrap();
        let result = s.commit_follow(&FollowCommit {
            observed: vec![("user:a".into(), Some("{}".into()))],
            tasks: vec![task(1, "user:a", "open")],
            announcements: vec![ann("ev1", "task.created", None, None, 5)],
        });
        assert!(matches!(result, Err(Error::Sqlite(_))), "{result:?}");
        assert_eq!(s.follow_state().unwrap(), (vec![], vec![]));
        let announced: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM announcements", [], |r| r.get(0))
            .unwrap();
        assert_eq!(announced, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fan_out_honours_filters() {
        let dir = temp().with_extension("fanout");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        s.add_subscription(&sub("sub_all", &[], &[], &[])).unwrap();
        s.add_subscription(&sub(
            "sub_tasks",
            &["task.created", "task.completed"],
            &[],
            &[],
        ))
        .unwrap();
        s.add_subscription(&sub("sub_hot", &[], &["hot"], &[]))
            .unwrap();
        s.add_subscription(&sub("sub_waw", &[], &[], &["warsaw"]))
            .unwrap();
        s.add_subscription(&sub("sub_gone", &[], &[], &[])).unwrap();
        s.remove_subscription("sub_gone").unwrap();
        s.commit_follow(&FollowCommit {
            announcements: vec![
                ann("e1", "task.created", Some("hot"), Some("warsaw"), 1),
                ann("e2", "tier.changed", Some("warm"), Some("krakow"), 2),
                // No tier and no location: tier and location filters let it through.
                ann("e3", "sla.breached", None, None, 3),
                ann("e4", "task.completed", Some("cold"), Some("warsaw"), 4),
            ],
            ..FollowCommit::default()
        })
        .unwrap();
        assert_eq!(
            pairs(&s),
            owned(&[
                ("e1", "sub_all"),
                ("e1", "sub_tasks"),
                ("e1", "sub_hot"),
                ("e1", "sub_waw"),
                ("e2", "sub_all"),
                ("e3", "sub_all"),
                ("e3", "sub_hot"),
                ("e3", "sub_waw"),
                ("e4", "sub_all"),
                ("e4", "sub_tasks"),
                ("e4", "sub_waw"),
            ])
        );
        let d = s.deliveries(None, Some("sub_waw"), 1, None).unwrap();
        assert_eq!(
            (d[0].status, d[0].attempts, d[0].next_at, d[0].created_at),
            (DeliveryStatus::Pending, 0, 4, 4)
        );
        assert_eq!((d[0].delivered_at, d[0].last_error.clone()), (None, None));
        assert_eq!(d[0].last_status, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn repeated_announcement_is_not_fanned_out_twice() {
        let dir = temp().with_extension("repeat");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        s.add_subscription(&sub("sub_a", &[], &[], &[])).unwrap();
        let e1 = ann("e1", "tier.changed", Some("hot"), None, 1);
        let twice = FollowCommit {
            announcements: vec![e1.clone(), e1.clone()],
            ..FollowCommit::default()
        };
        s.commit_follow(&twice).unwrap();
        // A subscription added later does not receive an announcement stored before it.
        s.add_subscription(&sub("sub_b", &[], &[], &[])).unwrap();
        s.commit_follow(&twice).unwrap();
        s.commit_follow(&FollowCommit {
            announcements: vec![e1, ann("e2", "tier.changed", None, None, 2)],
            ..FollowCommit::default()
        })
        .unwrap();
        assert_eq!(
            pairs(&s),
            owned(&[("e1", "sub_a"), ("e2", "sub_a"), ("e2", "sub_b")])
        );
        assert_eq!(s.delivery_counts().unwrap(), (3, 0, 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outcomes_are_recorded_together_or_not_at_all() {
        let dir = temp().with_extension("outcomes");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        s.add_subscription(&sub("sub_a", &[], &[], &[])).unwrap();
        s.commit_follow(&FollowCommit {
            announcements: vec![
                ann("a", "task.created", None, None, 1),
                ann("b", "task.created", None, None, 2),
            ],
            ..FollowCommit::default()
        })
        .unwrap();
        let due = s.due_deliveries(10, 10).unwrap();
        let (a, b) = (due[0].id, due[1].id);
        s.record_deliveries(&[
            DeliveryOutcome::Done {
                id: a,
                attempts: 1,
                status: 200,
                now: 5,
            },
            DeliveryOutcome::Failed {
                id: b,
                attempts: 1,
                next_at: Some(50),
                error: "status 500".into(),
                status: Some(500),
            },
        ])
        .unwrap();
        assert_eq!(s.delivery_counts().unwrap(), (1, 1, 0));
        assert_eq!(s.next_due().unwrap(), Some(50));
        // Replaying a pending delivery (its attempt may be in flight) only makes it due now.
        s.replay(b, 7).unwrap();
        let pending = s.due_deliveries(7, 10).unwrap();
        assert_eq!((pending[0].id, pending[0].attempts), (b, 1));
        // A delivered one starts over.
        s.replay(a, 8).unwrap();
        assert_eq!(s.delivery_counts().unwrap(), (2, 0, 0));
        let again = s.due_deliveries(8, 10).unwrap();
        assert_eq!(again.iter().find(|d| d.id == a).unwrap().attempts, 0);
        // An unknown id fails the whole batch: the other outcome in it is not recorded either.
        let err = s
            .record_deliveries(&[
                DeliveryOutcome::Failed {
                    id: b,
                    attempts: 2,
                    next_at: None,
                    error: "timeout".into(),
                    status: None,
                },
                DeliveryOutcome::Done {
                    id: 999,
                    attempts: 1,
                    status: 200,
                    now: 6,
                },
            ])
            .unwrap_err();
        assert_eq!(err.to_string(), "delivery 999 not found");
        assert_eq!(s.delivery_counts().unwrap(), (2, 0, 0));
    }

    #[test]
    fn delivery_lifecycle() {
        let dir = temp().with_extension("lifecycle");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.next_due().unwrap(), None);
        assert_eq!(s.delivery_counts().unwrap(), (0, 0, 0));
        s.add_subscription(&sub("sub_a", &[], &[], &[])).unwrap();
        s.commit_follow(&FollowCommit {
            announcements: vec![
                ann("late", "task.created", None, None, 300),
                ann("early", "task.created", None, None, 100),
                ann("mid", "task.created", None, None, 200),
            ],
            ..FollowCommit::default()
        })
        .unwrap();
        let ids = |v: Vec<Delivery>| v.into_iter().map(|d| d.event_id).collect::<Vec<_>>();
        assert_eq!(s.next_due().unwrap(), Some(100));
        assert_eq!(ids(s.due_deliveries(99, 10).unwrap()), Vec::<String>::new());
        assert_eq!(ids(s.due_deliveries(250, 10).unwrap()), ["early", "mid"]);
        assert_eq!(ids(s.due_deliveries(1000, 1).unwrap()), ["early"]);
        let due = s.due_deliveries(1000, 10).unwrap();
        let (early, mid, late) = (due[0].id, due[1].id, due[2].id);
        assert_eq!(due[0].payload, "{\"id\":\"early\"}");

        s.delivery_done(early, 1, 204, 1001).unwrap();
        s.delivery_failed(mid, 1, Some(5000), "503 service unavailable", Some(503))
            .unwrap();
        s.delivery_failed(late, 3, None, "connection refused", None)
            .unwrap();
        assert_eq!(s.delivery_counts().unwrap(), (1, 1, 1));
        assert_eq!(s.next_due().unwrap(), Some(5000));
        assert_eq!(
            ids(s.due_deliveries(4999, 10).unwrap()),
            Vec::<String>::new()
        );

        let all = s.deliveries(None, None, 10, None).unwrap();
        let by_id = |id: i64| all.iter().find(|d| d.id == id).unwrap().clone();
        let done = by_id(early);
        assert_eq!(
            (
                done.status,
                done.attempts,
                done.delivered_at,
                done.last_status
            ),
            (DeliveryStatus::Delivered, 1, Some(1001), Some(204))
        );
        let retry = by_id(mid);
        assert_eq!(
            (
                retry.status,
                retry.attempts,
                retry.next_at,
                retry.last_status
            ),
            (DeliveryStatus::Pending, 1, 5000, Some(503))
        );
        assert_eq!(retry.last_error.as_deref(), Some("503 service unavailable"));
        let dead = by_id(late);
        assert_eq!(
            (dead.status, dead.attempts, dead.next_at, dead.last_status),
            (DeliveryStatus::Dead, 3, 300, None)
        );
        assert_eq!(dead.last_error.as_deref(), Some("connection refused"));

        // Replay brings back a dead and a delivered one, due now, attempts reset.
        s.replay(late, 6000).unwrap();
        s.replay(early, 6000).unwrap();
        assert_eq!(s.delivery_counts().unwrap(), (3, 0, 0));
        let due = s.due_deliveries(6000, 10).unwrap();
        // Equally due: the older delivery (lower id) first.
        assert_eq!(ids(due.clone()), ["mid", "late", "early"]);
        let replayed = due.iter().find(|d| d.id == early).unwrap();
        assert_eq!(
            (replayed.status, replayed.attempts, replayed.next_at),
            (DeliveryStatus::Pending, 0, 6000)
        );
        assert_eq!(replayed.delivered_at, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deliveries_filters_and_cursor() {
        let dir = temp().with_extension("list");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        s.add_subscription(&sub("sub_a", &[], &[], &[])).unwrap();
        s.add_subscription(&sub("sub_b", &[], &[], &[])).unwrap();
        let announcements = (1..=3)
            .map(|i| ann(&format!("e{i}"), "tier.changed", None, None, i))
            .collect();
        s.commit_follow(&FollowCommit {
            announcements,
            ..FollowCommit::default()
        })
        .unwrap();
        // Ids 1..=6: (e1, a) (e1, b) (e2, a) (e2, b) (e3, a) (e3, b).
        s.delivery_failed(3, 8, None, "gone", Some(410)).unwrap();
        s.delivery_failed(4, 8, None, "gone", Some(410)).unwrap();
        s.delivery_done(5, 1, 200, 10).unwrap();
        let list = |status, subscription, limit, before| {
            s.deliveries(status, subscription, limit, before)
                .unwrap()
                .into_iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(list(None, None, 10, None), [6, 5, 4, 3, 2, 1]);
        assert_eq!(list(None, None, 2, None), [6, 5]);
        assert_eq!(list(None, None, 2, Some(5)), [4, 3]);
        assert_eq!(list(None, None, 10, Some(1)), Vec::<i64>::new());
        assert_eq!(list(Some(DeliveryStatus::Dead), None, 10, None), [4, 3]);
        assert_eq!(
            list(Some(DeliveryStatus::Pending), None, 10, None),
            [6, 2, 1]
        );
        assert_eq!(list(Some(DeliveryStatus::Delivered), None, 10, None), [5]);
        assert_eq!(list(None, Some("sub_a"), 10, None), [5, 3, 1]);
        assert_eq!(list(None, Some("sub_b"), 1, Some(6)), [4]);
        assert_eq!(
            list(Some(DeliveryStatus::Pending), Some("sub_b"), 10, None),
            [6, 2]
        );
        assert_eq!(
            list(Some(DeliveryStatus::Dead), Some("sub_a"), 10, Some(3)),
            Vec::<i64>::new()
        );
        assert_eq!(list(None, Some("sub_none"), 10, None), Vec::<i64>::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn subscriptions_round_trip_and_not_found() {
        let dir = temp().with_extension("subs");
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = SqliteStore::open(&dir).unwrap();
        let mut older = sub("sub_z", &["tier.changed"], &["hot", "warm"], &["warsaw"]);
        older.created_at = 5;
        s.add_subscription(&sub("sub_a", &[], &[], &[])).unwrap();
        s.add_subscription(&older).unwrap();
        assert!(
            matches!(s.add_subscription(&older), Err(Error::Sqlite(_))),
            "ids are unique"
        );
        s.remove_subscription("sub_z").unwrap();
        older.disabled = true;
        assert_eq!(
            s.subscriptions().unwrap(),
            vec![older, sub("sub_a", &[], &[], &[])]
        );
        let message = |r: Result<()>| match r {
            Err(Error::NotFound(what)) => what,
            other => panic!("expected not found, got {other:?}"),
        };
        assert_eq!(
            message(s.remove_subscription("sub_x")),
            "subscription sub_x"
        );
        assert_eq!(message(s.replay(7, 1)), "delivery 7");
        assert_eq!(message(s.delivery_done(7, 1, 200, 1)), "delivery 7");
        assert_eq!(
            message(s.delivery_failed(7, 1, None, "x", None)),
            "delivery 7"
        );
        assert_eq!(
            Error::NotFound("delivery 7".into()).to_string(),
            "delivery 7 not found"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn migration_two_applies_to_a_version_one_store() {
        let dir = temp().with_extension("migrate");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            let conn = Connection::open(dir.join("intent.db")).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO keys (kind, name, hash, created_at) VALUES ('admin', 'ops', 'h', 1)",
                [],
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&dir).unwrap();
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        assert_eq!(s.keys().unwrap()[0].name, "ops");
        s.commit_follow(&FollowCommit {
            tasks: vec![task(1, "user:a", "open")],
            ..FollowCommit::default()
        })
        .unwrap();
        assert_eq!(s.follow_state().unwrap().1, vec![task(1, "user:a", "open")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
