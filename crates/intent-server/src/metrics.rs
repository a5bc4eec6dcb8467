//! Prometheus metrics: ingest counts, latencies, commit sizes, profiles by tier, store size.

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
