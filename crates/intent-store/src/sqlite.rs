//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
//! transaction has been fsynced to the write-ahead log. One connection writes; any number of
//! other connections ([`SqliteStore::open`] again) read concurrently.

use crate::{
    Error, EventLog, KeyKind, KeyRecord, Keys, NewEvent, PlanVersion, Plans, Quarantine, Rejected,
    Result,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

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
];

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
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
        let mut store = SqliteStore { conn, path };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let done: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
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
        let tx = self.conn.transaction()?;
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
        let tx = self.conn.transaction()?;
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
        let n = self
            .conn
            .execute("UPDATE keys SET revoked = 1 WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NotFound(format!("key {id}")));
        }
        Ok(())
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
}
