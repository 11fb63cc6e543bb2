//! Claims queued operations with a lease, heartbeats while they run, recovers operations
//! whose worker died (expired lease), runs executors and records events and results.
//!
//! Runs inside `byoc serve` and as `byoc worker` processes sharing one database.

mod hub;
mod job;
mod outputs;
mod recovery;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use hub::Hub;
pub use outputs::{open as open_outputs, seal as seal_outputs};

use crate::crypto::MasterKey;
use crate::executor::Executor;
use crate::metrics::Metrics;
use crate::store::{self, DbPool, StoreError};

/// Worker tuning. `BYOC_WORKER_CONCURRENCY` (default 4), `BYOC_LEASE_SECONDS` (60),
/// `BYOC_MAX_ATTEMPTS` (3), `BYOC_OPERATION_TIMEOUT_SECONDS` (7200),
/// `BYOC_SHUTDOWN_GRACE_SECONDS` (60), `BYOC_POLL_MILLIS` (1000), `BYOC_WORKER_HEALTH_BIND`
/// (unset).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Operations run at once by this process.
    pub concurrency: usize,
    /// Lease length; renewed every third of it.
    pub lease: Duration,
    /// Runs of one operation before a lost lease fails it.
    pub max_attempts: i32,
    /// Per-operation timeout.
    pub operation_timeout: Duration,
    /// How long a shutdown waits for running operations to stop gracefully.
    pub shutdown_grace: Duration,
    /// How often to look for work queued by other processes and for expired leases.
    pub poll: Duration,
    /// Where `byoc worker` serves `/health`, `/ready` and `/metrics` (`BYOC_WORKER_HEALTH_BIND`);
    /// `None`: no listener.
    pub health_bind: Option<std::net::SocketAddr>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(60),
            max_attempts: 3,
            operation_timeout: Duration::from_secs(2 * 3600),
            shutdown_grace: Duration::from_secs(60),
            poll: Duration::from_millis(1000),
            health_bind: None,
        }
    }
}

/// A pool of operation runners in one process.
#[derive(Debug, Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    db: DbPool,
    key: MasterKey,
    executor: Arc<dyn Executor>,
    settings: WorkerSettings,
    hub: Hub,
    metrics: Metrics,
}

impl Worker {
    /// A worker with a fresh id (`<host>-<pid>-<random>`).
    pub fn new(
        db: DbPool,
        key: MasterKey,
        executor: Arc<dyn Executor>,
        settings: WorkerSettings,
        hub: Hub,
        metrics: Metrics,
    ) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "worker".to_owned());
        let id = format!(
            "{host}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            inner: Arc::new(Inner {
                id,
                db,
                key,
                executor,
                settings,
                hub,
                metrics,
            }),
        }
    }

    /// This worker's id (recorded on the operations it claims).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Claims and runs operations until `shutdown`; then stops claiming, lets running
    /// operations stop gracefully (they are cancelled and re-queued) within the grace period.
    pub async fn run(&self, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.inner.settings.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        tracing::info!(worker.id = %self.inner.id, "worker started");
        loop {
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "operation task failed");
                }
            }
            self.recover_expired().await;
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p,
                _ = shutdown.cancelled() => break,
            };
            let Ok(permit) = permit else { break };
            match self.claim().await {
                Ok(Some(op)) => {
                    let worker = self.clone();
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        worker.process(op, shutdown).await;
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = self.inner.hub.wait_queued() => {}
                        _ = tokio::time::sleep(self.inner.settings.poll) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claiming an operation failed; retrying");
                    tokio::time::sleep(self.inner.settings.poll).await;
                }
            }
        }
        tracing::info!(
            running = tasks.len(),
            "worker stopping: no new operations are claimed"
        );
        let grace = self.inner.settings.shutdown_grace + Duration::from_secs(5);
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tracing::warn!("running operations did not stop within the grace period");
        }
    }

    /// Runs runnable operations one at a time until none is left, recovering expired leases
    /// first. Returns how many ran. For tests and one-shot use.
    pub async fn run_pending(&self) -> usize {
        let mut ran = 0;
        loop {
            self.recover_expired().await;
            match self.claim().await {
                Ok(Some(op)) => {
                    self.process(op, CancellationToken::new()).await;
                    ran += 1;
                }
                Ok(None) => return ran,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming an operation failed");
                    return ran;
                }
            }
        }
    }

    async fn claim(&self) -> Result<Option<store::operations::Operation>, StoreError> {
        let inner = self.inner.clone();
        self.blocking(move |conn| {
            store::operations::claim_next(conn, &inner.id, inner.lease_until())
        })
        .await
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut store::Conn) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("blocking task failed: {e}")))?
    }
}

impl Inner {
    fn lease_until(&self) -> chrono::NaiveDateTime {
        store::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default()
    }
}
