//! Runs queued operations: claims them with a lease (`store::queue`), keeps the lease while the
//! executor runs (`lease`), stores events as they arrive (`events`), decides what becomes of
//! the operation (`decide`) and records it; recovers operations whose worker died
//! (`recovery`); drives rollouts (`rollouts`).
//!
//! Runs inside `byoc serve` and as `byoc worker` processes sharing one database.

mod decide;
mod drift;
mod error;
mod events;
mod job;
mod lease;
mod recovery;
mod rollouts;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use decide::{Disposition, Stop, Verdict, decide};
pub use error::{PrepareError, RecoveryError};

use crate::crypto::MasterKey;
use crate::executor::{Executor, OperationJob};
use crate::metrics::Metrics;
use crate::notify::Hub;
use crate::settings::WorkerSettings;
use crate::store::queue::{self, Claimed};
use crate::store::{self, DbPool, StoreError};
use crate::telemetry::TIMING;

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
        // Nothing is claimed (or recovered, or checked for drift) before the executor knows
        // whether it can run anything; a failure is reported by each run.
        tokio::select! {
            _ = self.inner.executor.ready() => {}
            _ = shutdown.cancelled() => return,
        }
        // Drift checks run beside the queue and never take an operation permit.
        let drift = tokio::spawn(self.clone().drift_loop(shutdown.clone()));
        // So does the rollout driver: it only enqueues and follows operations.
        let rollouts = tokio::spawn(self.clone().rollout_loop(shutdown.clone()));
        // Expired leases are looked for once per poll interval, not before every claim: a
        // lease lasts many intervals. And after the claim, not before it: a wake-up reaches the
        // claim without a detour through two more transactions (a recovered operation is
        // queued again, which wakes this loop once more).
        let mut next_recovery = tokio::time::Instant::now();
        loop {
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "operation task failed");
                }
            }
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p,
                _ = shutdown.cancelled() => break,
            };
            let Ok(permit) = permit else { break };
            // Armed before looking for work: a wake-up between the claim and the wait below
            // is kept, not lost.
            let wake = self.inner.hub.queued();
            let idle = match self.claim().await {
                Ok(Some((claimed, job))) => {
                    tracing::debug!(target: TIMING, step = "claimed");
                    let worker = self.clone();
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        worker.process(claimed, job, shutdown).await;
                    });
                    false
                }
                Ok(None) => {
                    drop(permit);
                    true
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claiming an operation failed; retrying");
                    tokio::time::sleep(self.inner.settings.poll).await;
                    false
                }
            };
            if tokio::time::Instant::now() >= next_recovery {
                self.recover_expired().await;
                self.expire_plans().await;
                next_recovery = tokio::time::Instant::now() + self.inner.settings.poll;
            }
            if idle {
                tokio::select! {
                    _ = wake => tracing::debug!(target: TIMING, step = "woken"),
                    _ = tokio::time::sleep(self.inner.settings.poll) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
        tracing::info!(
            running = tasks.len(),
            "worker stopping: no new operations are claimed"
        );
        let grace = self.inner.settings.shutdown_grace + Duration::from_secs(5);
        // Cancelled with the shutdown token; an unfinished check's slot expires with its lease.
        drift.abort();
        rollouts.abort();
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
        let _ = self.inner.executor.ready().await;
        loop {
            self.recover_expired().await;
            match self.claim().await {
                Ok(Some((claimed, job))) => {
                    self.process(claimed, job, CancellationToken::new()).await;
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

    /// Claims the next runnable operation and reads its job in the same trip through the
    /// blocking pool (under load each trip waits for a thread to be scheduled, twice) and in
    /// the claim's transaction (one `BEGIN … COMMIT`; on SQLite the reads take no lock of
    /// their own). A job that cannot be built fails the operation, as before; a database
    /// error while reading it rolls the claim back instead (on PostgreSQL a failed statement
    /// aborts the transaction, so the claim could not commit anyway): the operation stays
    /// queued and the next claim tries again.
    async fn claim(
        &self,
    ) -> Result<Option<(Claimed, Result<OperationJob, PrepareError>)>, StoreError> {
        let inner = self.inner.clone();
        self.blocking(move |conn| {
            let lease_until = inner.lease_until();
            let executor = inner.executor.name();
            queue::claim_then(
                conn,
                &inner.id,
                executor,
                lease_until,
                |conn, claimed| match inner.load_job(conn, &claimed.op) {
                    Err(PrepareError::Store(e)) if !fails_the_operation(&e) => Err(e),
                    job => Ok(job),
                },
            )
        })
        .await
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    async fn blocking<T, E>(
        &self,
        f: impl FnOnce(&mut store::Conn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("blocking task failed: {e}")))?
    }
}

/// Whether a store error while reading a claimed operation's job fails the operation (a row
/// it names is gone, a stored value does not decode: trying again cannot help, and the
/// transaction is still good) rather than rolling the claim back (the database refused a
/// statement or is unavailable: the transaction may be aborted, the next claim may succeed).
fn fails_the_operation(e: &StoreError) -> bool {
    !matches!(
        e,
        StoreError::Unavailable(_)
            | StoreError::Full(_)
            | StoreError::Database(diesel::result::Error::DatabaseError(..))
    )
}

impl Inner {
    fn lease_until(&self) -> chrono::NaiveDateTime {
        store::now() + chrono::Duration::from_std(self.settings.lease).unwrap_or_default()
    }
}
