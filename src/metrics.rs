//! Prometheus metrics: HTTP requests, operations finished and their durations, lease expiries
//! and recoveries (this process), and queue depth / running operations (read from the
//! database at scrape time, so every process reports the same numbers).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{OperationKind, OperationStatus};

/// Labels of `byoc_http_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern (not the raw path, to bound cardinality).
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of operation metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// preview | update | refresh | destroy.
    pub kind: String,
    /// Operation status.
    pub status: String,
}

/// Labels with only the operation kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// preview | update | refresh | destroy.
    pub kind: String,
}

/// The process's metrics. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// HTTP requests served.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Operations finished by this process.
    pub operations_finished: Family<OperationLabels, Counter>,
    /// Wall time of finished operations.
    pub operation_duration: Family<KindLabels, Histogram>,
    /// Expired leases this process found.
    pub lease_expiries: Counter,
    /// Operations this process recovered after an expired lease.
    pub recoveries: Counter,
    /// Operations per kind and status in the database (set at scrape).
    pub operations: Family<OperationLabels, Gauge>,
    /// Queued operations (set at scrape).
    pub queue_depth: Gauge,
    /// Running operations (set at scrape).
    pub running: Gauge,
    /// Environments with at least one drifted resource (database-derived).
    pub drifted_stacks: Gauge,
    /// Drifted resources across the fleet (database-derived).
    pub drifted_resources: Gauge,
    /// Writes refused because the database's storage is full.
    pub storage_full_errors: Counter,
    /// 1 while the storage was found full within [`STORAGE_FULL_WINDOW_SECS`] (set at scrape).
    pub storage_full: Gauge,
    /// Unix time of the last storage-full refusal (0: never).
    last_storage_full: Arc<AtomicI64>,
}

/// How long after a storage-full refusal `/ready` and `byoc_storage_full` keep reporting it
/// (no write succeeds meanwhile that would prove otherwise cheaply).
pub const STORAGE_FULL_WINDOW_SECS: i64 = 60;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("byoc");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let operations_finished = Family::<OperationLabels, Counter>::default();
        let operation_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            // 1 s … ~4.5 h
            Histogram::new(exponential_buckets(1.0, 2.0, 15))
        });
        let lease_expiries = Counter::default();
        let recoveries = Counter::default();
        let operations = Family::<OperationLabels, Gauge>::default();
        let queue_depth = Gauge::default();
        let running = Gauge::default();
        let storage_full_errors = Counter::default();
        let storage_full = Gauge::default();
        registry.register(
            "storage_full_errors",
            "Requests refused because the database's storage is full",
            storage_full_errors.clone(),
        );
        registry.register(
            "storage_full",
            "1 while the database's storage was recently found full",
            storage_full.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        registry.register(
            "operations_finished",
            "Operations finished by this process",
            operations_finished.clone(),
        );
        registry.register(
            "operation_duration_seconds",
            "Wall time of finished operations",
            operation_duration.clone(),
        );
        registry.register(
            "lease_expiries",
            "Expired operation leases found",
            lease_expiries.clone(),
        );
        registry.register(
            "recoveries",
            "Operations recovered after an expired lease",
            recoveries.clone(),
        );
        registry.register(
            "operations",
            "Operations by kind and status",
            operations.clone(),
        );
        registry.register("queue_depth", "Queued operations", queue_depth.clone());
        registry.register("operations_running", "Running operations", running.clone());
        let drifted_stacks = Gauge::default();
        let drifted_resources = Gauge::default();
        registry.register(
            "drifted_stacks",
            "Stacks whose last drift check found drifted resources",
            drifted_stacks.clone(),
        );
        registry.register(
            "drifted_resources",
            "Resources the last drift checks found drifted",
            drifted_resources.clone(),
        );
        Self {
            registry: Arc::new(registry),
            http_requests,
            operations_finished,
            operation_duration,
            lease_expiries,
            recoveries,
            operations,
            queue_depth,
            running,
            drifted_stacks,
            drifted_resources,
            storage_full_errors,
            storage_full,
            last_storage_full: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Sets the drift gauges from `(drifted stacks, drifted resources)`.
    pub fn set_drift_counts(&self, (stacks, resources): (i64, i64)) {
        self.drifted_stacks.set(stacks);
        self.drifted_resources.set(resources);
    }

    /// Records a write refused for full storage.
    pub fn record_storage_full(&self) {
        self.storage_full_errors.inc();
        self.last_storage_full
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Whether the storage was found full within the last [`STORAGE_FULL_WINDOW_SECS`].
    pub fn storage_recently_full(&self) -> bool {
        let last = self.last_storage_full.load(Ordering::Relaxed);
        last > 0 && chrono::Utc::now().timestamp() - last < STORAGE_FULL_WINDOW_SECS
    }

    /// Sets the database-derived gauges from `(kind, status, count)` rows.
    pub fn set_operation_counts(&self, rows: &[(OperationKind, OperationStatus, i64)]) {
        let (mut queued, mut running) = (0, 0);
        for (kind, status, n) in rows {
            self.operations
                .get_or_create(&OperationLabels {
                    kind: kind.as_str().to_owned(),
                    status: status.as_str().to_owned(),
                })
                .set(*n);
            match status {
                OperationStatus::Queued => queued += n,
                OperationStatus::Running => running += n,
                _ => {}
            }
        }
        self.queue_depth.set(queued);
        self.running.set(running);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.storage_full
            .set(i64::from(self.storage_recently_full()));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
