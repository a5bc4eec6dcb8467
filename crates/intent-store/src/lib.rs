//! # intent-store
//!
//! Where Intent Engine keeps what must survive a restart: the event log (every accepted message,
//! in a monotonically increasing sequence), the quarantine of rejected messages, the versions of
//! the scoring plan, the hashed access keys, the follow-up desk (observed tiers and tasks) and
//! the webhook outbox. Live profile state is not stored here as truth: it
//! is a checkpoint of the log and can always be rebuilt by scanning it.
//!
//! Storage sits behind small traits by capability ([`EventLog`], [`Quarantine`], [`Plans`],
//! [`Keys`], [`FollowUps`], [`Webhooks`]); [`SqliteStore`] is the embedded default (bundled SQLite, WAL, `synchronous=FULL`, so
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

/// One follow-up task as stored. The core owns the task's shape; the store keeps it as JSON with
/// the few columns it filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// Task id, from 1, given by the caller.
    pub id: i64,
    /// The profile it is about (`user:<id>` or `anon:<id>`).
    pub profile: String,
    /// `open`, `done`, `expired`, `merged`.
    pub status: String,
    /// When it was opened (ms since the epoch).
    pub created_at: i64,
    /// The whole task, as JSON.
    pub body: String,
}

/// A domain event to announce to webhook subscribers: committed with the state change that
/// caused it, then fanned out to every enabled subscription that wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Stable event id (the `webhook-id` of every delivery of it): repeated deliveries of one
    /// event carry the same id, so receivers can drop duplicates.
    pub id: String,
    /// `tier.changed`, `task.created`, `task.completed`, `sla.breached`, `override.fired`, ...
    pub kind: String,
    /// The tier it is about, for subscription filters.
    pub tier: Option<String>,
    /// The location (dealership) it is about, for subscription filters.
    pub location: Option<String>,
    /// The JSON body to deliver.
    pub payload: String,
    /// When it happened (ms since the epoch).
    pub at: i64,
}

/// What the follow-up desk commits at once, in one transaction: the tiers it has seen per
/// profile, the tasks it opened or changed, and the events to announce. Either all of it is
/// durable or none of it is, so a crash can neither lose an announcement nor invent one.
#[derive(Debug, Clone, Default)]
pub struct FollowCommit {
    /// Per profile: its observed state as JSON, or `None` to forget the profile.
    pub observed: Vec<(String, Option<String>)>,
    /// Tasks to insert or replace.
    pub tasks: Vec<TaskRow>,
    /// Events to announce.
    pub announcements: Vec<Announcement>,
}

/// An observed profile state: `(profile, json)`.
pub type ObservedRow = (String, String);

/// The follow-up desk's durable state.
pub trait FollowUps {
    /// Every observed profile state, by profile, and every task, by id.
    fn follow_state(&self) -> Result<(Vec<ObservedRow>, Vec<TaskRow>)>;
    /// Commits a [`FollowCommit`] in one durable transaction, fanning each announcement out into
    /// one pending delivery per enabled subscription whose filters match it.
    fn commit_follow(&mut self, commit: &FollowCommit) -> Result<()>;
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscription {
    /// Subscription id (`sub_...`).
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The signing secret, `whsec_` and base64 of the key bytes (Standard Webhooks).
    #[serde(skip)]
    pub secret: String,
    /// Event kinds wanted; empty = all.
    pub events: Vec<String>,
    /// Tiers wanted; empty = all (events without a tier always pass).
    pub tiers: Vec<String>,
    /// Locations wanted; empty = all (events without a location always pass).
    pub locations: Vec<String>,
    /// When it was made (ms since the epoch).
    pub created_at: i64,
    /// Removed subscriptions get no new deliveries (a delivery still pending for one is
    /// dead-lettered by the dispatcher); their history stays. A subscription added later does
    /// not receive announcements made before it.
    pub disabled: bool,
}

impl Subscription {
    /// Whether an announcement passes this subscription's filters.
    pub fn wants(&self, a: &Announcement) -> bool {
        fn pass(list: &[String], value: &Option<String>) -> bool {
            list.is_empty() || value.as_ref().is_none_or(|v| list.iter().any(|x| x == v))
        }
        !self.disabled
            && (self.events.is_empty() || self.events.contains(&a.kind))
            && pass(&self.tiers, &a.tier)
            && pass(&self.locations, &a.location)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed: the dead-letter list.
    Dead,
}

impl DeliveryStatus {
    /// `pending`, `delivered` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// Parses `pending`, `delivered` or `dead`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "dead" => Some(DeliveryStatus::Dead),
            _ => None,
        }
    }
}

/// One announcement on its way to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Delivery id.
    pub id: i64,
    /// The announcement's id (the `webhook-id`).
    pub event_id: String,
    /// The subscription.
    pub subscription: String,
    /// The event kind.
    pub kind: String,
    /// The JSON body.
    #[serde(skip)]
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (ms since the epoch).
    pub next_at: i64,
    /// When it was created (ms since the epoch).
    pub created_at: i64,
    /// When a 2xx answer came (ms since the epoch).
    pub delivered_at: Option<i64>,
    /// The last failure (kept after a later success, for the record).
    pub last_error: Option<String>,
    /// The last HTTP status received, from any attempt.
    pub last_status: Option<u16>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A 2xx answer.
    Done {
        /// Delivery id.
        id: i64,
        /// Attempts made, this one included.
        attempts: u32,
        /// The HTTP status.
        status: u16,
        /// When (ms since the epoch).
        now: i64,
    },
    /// A failure: retry at `next_at`, or dead-letter it when `None`.
    Failed {
        /// Delivery id.
        id: i64,
        /// Attempts made, this one included.
        attempts: u32,
        /// The next attempt.
        next_at: Option<i64>,
        /// What went wrong.
        error: String,
        /// The HTTP status, when one came.
        status: Option<u16>,
    },
}

/// Webhook subscriptions and their delivery outbox.
pub trait Webhooks {
    /// Stores a subscription.
    fn add_subscription(&mut self, subscription: &Subscription) -> Result<()>;
    /// Every subscription, oldest first, removed ones included.
    fn subscriptions(&self) -> Result<Vec<Subscription>>;
    /// Disables a subscription ([`Error::NotFound`] when there is none by that id).
    fn remove_subscription(&mut self, id: &str) -> Result<()>;
    /// Pending deliveries due at `now`, soonest first, at most `limit`.
    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>>;
    /// When the soonest pending delivery is due, if any.
    fn next_due(&self) -> Result<Option<i64>>;
    /// Records a 2xx answer.
    fn delivery_done(&mut self, id: i64, attempts: u32, status: u16, now: i64) -> Result<()>;
    /// Records a failed attempt: retry at `next_at`, or dead-letter it when `None`.
    fn delivery_failed(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<i64>,
        error: &str,
        status: Option<u16>,
    ) -> Result<()>;
    /// Records several attempts' ends at once, in one transaction: all of them or none.
    fn record_deliveries(&mut self, outcomes: &[DeliveryOutcome]) -> Result<()>;
    /// Deliveries, newest first, filtered by status and subscription, before id `before`.
    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        subscription: Option<&str>,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<Delivery>>;
    /// Makes a delivery due now: a delivered or dead one pending again with its attempts reset,
    /// a pending one (whose attempt may be in flight) only sooner ([`Error::NotFound`] when
    /// there is none by that id).
    fn replay(&mut self, id: i64, now: i64) -> Result<()>;
    /// Deliveries by status: `(pending, delivered, dead)`.
    fn delivery_counts(&self) -> Result<(i64, i64, i64)>;
}

/// Everything a server needs from a store.
pub trait Store: EventLog + Quarantine + Plans + Keys + FollowUps + Webhooks + Send {}

impl<T: EventLog + Quarantine + Plans + Keys + FollowUps + Webhooks + Send> Store for T {}
