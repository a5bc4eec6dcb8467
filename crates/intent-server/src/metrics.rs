//! Prometheus metrics: ingest counts, latencies, commit sizes, profiles by tier, store size,
//! webhook deliveries.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route (`/v1/batch`).
    pub route: String,
    /// The status code.
    pub status: u16,
}

/// Labels of the queue depth gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierLabels {
    /// Tier name.
    pub tier: String,
}

/// Labels of the announcement counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The event kind (`task.created`).
    pub kind: String,
}

/// Labels of the webhook delivery counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered` (a 2xx answer), `failed` (to be retried) or `dead` (given up).
    pub outcome: String,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    /// Messages appended to the log.
    pub ingested: Counter,
    /// Messages acknowledged as repeats.
    pub duplicates: Counter,
    /// Messages quarantined.
    pub quarantined: Counter,
    /// Requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Ingest request latency, from body read to acknowledgement.
    pub ack_seconds: Histogram,
    /// Commit (fsync) latency of a group.
    pub commit_seconds: Histogram,
    /// Messages per group commit.
    pub commit_events: Histogram,
    /// Profiles by tier (the queue depth), set at scrape time.
    pub tiers: Family<TierLabels, Gauge>,
    /// Profiles.
    pub profiles: Gauge,
    /// The last sequence number applied to live state.
    pub log_seq: Gauge,
    /// Bytes of the store on disk.
    pub store_bytes: Gauge,
    /// Announcements committed for webhook subscribers, by kind.
    pub announcements: Family<KindLabels, Counter>,
    /// Open follow-up tasks by tier, set at scrape time.
    pub tasks_open: Family<TierLabels, Gauge>,
    /// Open tasks past their SLA deadline, set at scrape time.
    pub tasks_overdue: Gauge,
    /// Webhook delivery attempts by outcome (a subscription removed before its delivery was
    /// sent counts as `dead` without an attempt).
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    /// Time of one webhook request, from sending to the answer (or the failure).
    pub webhook_delivery_seconds: Histogram,
    /// Time from an announcement to its delivery's 2xx answer, retries included.
    pub webhook_lag_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("intent");
        let m = Metrics {
            ingested: Counter::default(),
            duplicates: Counter::default(),
            quarantined: Counter::default(),
            requests: Family::default(),
            ack_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 17)),
            commit_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 17)),
            commit_events: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
            tiers: Family::default(),
            profiles: Gauge::default(),
            log_seq: Gauge::default(),
            store_bytes: Gauge::default(),
            announcements: Family::default(),
            tasks_open: Family::default(),
            tasks_overdue: Gauge::default(),
            webhook_deliveries: Family::default(),
            webhook_delivery_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            webhook_lag_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 24)),
            registry: Registry::default(),
        };
        registry.register(
            "events_ingested",
            "Messages appended to the event log",
            m.ingested.clone(),
        );
        registry.register(
            "events_duplicate",
            "Messages acknowledged as repeats of a stored messageId",
            m.duplicates.clone(),
        );
        registry.register(
            "events_quarantined",
            "Messages kept in the quarantine with their reason",
            m.quarantined.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            m.requests.clone(),
        );
        registry.register(
            "ack_latency_seconds",
            "Ingest latency from request to durable acknowledgement",
            m.ack_seconds.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Latency of one group commit (write and fsync)",
            m.commit_seconds.clone(),
        );
        registry.register(
            "commit_events",
            "Messages per group commit",
            m.commit_events.clone(),
        );
        registry.register("queue_depth", "Profiles by tier", m.tiers.clone());
        registry.register("profiles", "Profiles in live state", m.profiles.clone());
        registry.register(
            "log_sequence",
            "Last event-log sequence number applied to live state",
            m.log_seq.clone(),
        );
        registry.register(
            "store_bytes",
            "Bytes of the store on disk",
            m.store_bytes.clone(),
        );
        registry.register(
            "announcements",
            "Announcements committed for webhook subscribers, by kind",
            m.announcements.clone(),
        );
        registry.register(
            "tasks_open",
            "Open follow-up tasks by tier",
            m.tasks_open.clone(),
        );
        registry.register(
            "tasks_overdue",
            "Open follow-up tasks past their SLA deadline",
            m.tasks_overdue.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed and retried, dead)",
            m.webhook_deliveries.clone(),
        );
        registry.register(
            "webhook_delivery_seconds",
            "Time of one webhook request, from sending to the answer or the failure",
            m.webhook_delivery_seconds.clone(),
        );
        registry.register(
            "webhook_lag_seconds",
            "Time from an announcement to its delivery's 2xx answer, retries included",
            m.webhook_lag_seconds.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}
