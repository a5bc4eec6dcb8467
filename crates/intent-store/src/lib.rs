//! # intent-store
//!
//! Where Intent Engine keeps what must survive a restart: the event log (every accepted message,
//! in a monotonically increasing sequence), the quarantine of rejected messages, the versions of
//! the scoring plan and the hashed access keys. Live profile state is not stored here as truth: it
//! is a checkpoint of the log and can always be rebuilt by scanning it.
//!
//! Storage sits behind small traits by capability ([`EventLog`], [`Quarantine`], [`Plans`],
//! [`Keys`]); [`SqliteStore`] is the embedded default (bundled SQLite, WAL, `synchronous=FULL`, so
//! a committed append is on disk). A scale-out adapter implements the same traits.
//!
//! This crate never scores, never parses events and never reads a clock: callers pass times in.
//!
//! # Layout
//! - [`sqlite`]: the SQLite adapter and its migrations.

pub mod sqlite;

pub use sqlite::SqliteStore;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file or folder could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Something asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One message for the log: the normalized Segment JSON and its message id.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The message id (unique; the caller deduplicates).
    pub message_id: &'a str,
    /// Arrival time (ms since the epoch).
    pub received_at: i64,
    /// The message, as JSON.
    pub body: &'a str,
}

/// A message kept out of the log, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    /// Quarantine id (0 before it is stored).
    pub id: i64,
    /// Arrival time (ms since the epoch).
    pub received_at: i64,
    /// The key's source name that sent it.
    pub source: String,
    /// The offending field, as a path (`batch[3].timestamp`), or empty.
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// The message as received (truncated to 64 KiB).
    pub body: String,
}

/// A stored plan version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanVersion {
    /// Version number, from 1.
    pub version: i64,
    /// When it was stored (ms since the epoch).
    pub created_at: i64,
    /// The plan's YAML text.
    pub text: String,
    /// Where it came from (a file name or `api`).
    pub origin: String,
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// Send events only.
    Write,
    /// Read and manage.
    Admin,
}

impl KeyKind {
    /// `write` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Write => "write",
            KeyKind::Admin => "admin",
        }
    }

    /// Parses `write` or `admin`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "write" => Some(KeyKind::Write),
            "admin" => Some(KeyKind::Admin),
            _ => None,
        }
    }
}

/// A stored key: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyRecord {
    /// Key id.
    pub id: i64,
    /// Write or admin.
    pub kind: KeyKind,
    /// The source it stands for (website, kiosk fleet, CRM import) or the admin's name.
    pub name: String,
    /// Hex SHA-256 of the secret.
    #[serde(skip)]
    pub hash: String,
    /// When it was made (ms since the epoch).
    pub created_at: i64,
    /// Revoked keys are refused.
    pub revoked: bool,
}

/// The append-only event log.
pub trait EventLog {
    /// Appends messages and quarantined rejects in one durable transaction; returns the sequence
    /// number of the first appended message (the rest follow it in order). When this returns,
    /// the messages are on disk.
    fn append(&mut self, events: &[NewEvent<'_>], rejected: &[Rejected]) -> Result<i64>;
    /// The highest sequence number in the log (0 when empty).
    fn last_seq(&self) -> Result<i64>;
    /// Calls `f(seq, body)` for each message with `after < seq <= upto`, in sequence order.
    fn scan(
        &self,
        after: i64,
        upto: i64,
        f: &mut dyn FnMut(i64, &str) -> Result<(), String>,
    ) -> Result<()>;
    /// The number of messages in the log.
    fn count(&self) -> Result<i64>;
    /// One message by id, when the log holds it (a linear scan when the backend keeps no index).
    fn find(&self, message_id: &str) -> Result<Option<(i64, String)>>;
    /// Bytes on disk.
    fn size_bytes(&self) -> u64;
    /// Leaves housekeeping (for SQLite: checkpoints of the write-ahead log) to a background
    /// caller of [`EventLog::maintain`], so that appends never pay for it.
    fn defer_maintenance(&mut self) -> Result<()> {
        Ok(())
    }
    /// Housekeeping that does not block appends on other connections; call it now and then.
    fn maintain(&self) -> Result<()> {
        Ok(())
    }
}

/// Rejected messages, kept with their reason.
pub trait Quarantine {
    /// The most recent rejects, newest first, after `before` id when given.
    fn rejected(&self, limit: usize, before: Option<i64>) -> Result<Vec<Rejected>>;
    /// How many rejects are kept.
    fn rejected_count(&self) -> Result<i64>;
}

/// Plan versions.
pub trait Plans {
    /// Stores a new version and makes it the latest; returns its number.
    fn add_plan(&mut self, text: &str, origin: &str, now: i64) -> Result<i64>;
    /// Every version, oldest first.
    fn plans(&self) -> Result<Vec<PlanVersion>>;
    /// The active version (set by [`Plans::activate`]).
    fn active_plan(&self) -> Result<Option<PlanVersion>>;
    /// Makes a stored version the active one.
    fn activate(&mut self, version: i64) -> Result<()>;
}

/// Access keys, hashed.
pub trait Keys {
    /// Stores a key by the hash of its secret.
    fn add_key(&mut self, kind: KeyKind, name: &str, hash: &str, now: i64) -> Result<i64>;
    /// Every key.
    fn keys(&self) -> Result<Vec<KeyRecord>>;
    /// Refuses a key from now on.
    fn revoke_key(&mut self, id: i64) -> Result<()>;
}

/// Everything a server needs from a store.
pub trait Store: EventLog + Quarantine + Plans + Keys + Send {}

impl<T: EventLog + Quarantine + Plans + Keys + Send> Store for T {}
