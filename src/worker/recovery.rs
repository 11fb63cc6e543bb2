//! Recovery of operations whose worker died: the lease expired, so another worker takes it
//! over (which fences the dead attempt's writes off), waits until the old attempt has had
//! time to kill its CLI, clears the backend lock through the executor, marks the stack so its
//! next run resolves pending operations first, and re-queues the operation up to the attempt
//! limit — or fails it with the reason. A stack is never left locked. Deploys that waited
//! for approval past their plan's expiry are ended here too.

use serde_json::json;
use tracing::Instrument;

use super::{RecoveryError, Verdict, Worker};
use crate::executor::EngineEventRecord;
use crate::store::events::NewEvent;
use crate::store::operations::Operation;
use crate::store::queue::{self, Lease, QueueError};
use crate::store::{self, StoreError};

impl Worker {
    /// Finds expired leases and recovers each operation (one reaper wins per operation).
    pub(super) async fn recover_expired(&self) {
        let expired = match self
            .blocking(|conn| queue::expired(conn, store::now()))
            .await
        {
            Ok(ops) => ops,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for expired leases");
                return;
            }
        };
        for op in expired {
            let inner = self.inner.clone();
            let seen = op.clone();
            let taken = self
                .blocking(move |conn| queue::take_over(conn, &seen, &inner.id, inner.lease_until()))
                .await;
            let lease = match taken {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err::<_, StoreError>(e) => {
                    tracing::warn!(error = %e, "cannot take an expired lease over");
                    continue;
                }
            };
            self.inner.metrics.lease_expiries.inc();
            let span =
                tracing::warn_span!("recovery", operation.id = %op.id, stack = %op.stack_name);
            self.recover_one(op, lease).instrument(span).await;
        }
    }

    /// Ends the deploys awaiting approval whose plan expired (`cancelled`, `plan expired …`,
    /// with their `operation.finished` event); the run loop calls it once per poll interval.
    /// Returns how many ended.
    pub async fn expire_plans(&self) -> usize {
        match self
            .blocking(|conn| queue::expire_plans(conn, store::now()))
            .await
        {
            Ok(ended) => {
                for id in &ended {
                    tracing::info!(operation.id = %id, "plan expired before approval; cancelled");
                    self.inner.hub.changed(id);
                }
                ended.len()
            }
            Err::<_, QueueError>(e) => {
                tracing::warn!(error = %e, "cannot end deploys whose plan expired");
                0
            }
        }
    }

    /// Fences the dead attempt off, clears the stack lock of a taken-over operation, marks
    /// the stack so the next run resolves pending operations, then re-queues or fails it. The
    /// lease taken over is renewed all along.
    async fn recover_one(&self, op: Operation, lease: Lease) {
        let lost_worker = op.worker_id.as_deref().unwrap_or("?");
        tracing::warn!(lost_worker, "lease expired; recovering");
        let work = async {
            let held = lease.clone();
            self.blocking(move |conn| queue::record_check_pending(conn, &held, true))
                .await?;
            self.wait_for_the_old_attempt(&op).await;
            let cleared: Result<Vec<EngineEventRecord>, RecoveryError> =
                match self.prepare(&op).await {
                    Ok(job) => self.inner.executor.recover(&job).await.map_err(Into::into),
                    Err(e) => Err(e.into()),
                };
            Ok::<_, QueueError>(cleared)
        };
        let cleared = match self.holding(&lease, work).await {
            Some(Ok(cleared)) => cleared,
            // Yet another worker took it over meanwhile: it decides.
            None | Some(Err(QueueError::LeaseLost(_))) => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot mark the stack for recovery; retrying later");
                return;
            }
        };
        let max = self.inner.settings.max_attempts;
        let note = match &cleared {
            Ok(_) => {
                format!("worker {lost_worker} stopped responding; the stack lock was cleared")
            }
            Err(e) => {
                format!("worker stopped responding and the stack lock could not be cleared: {e}")
            }
        };
        let mut events: Vec<NewEvent> = match &cleared {
            Ok(notes) => notes
                .iter()
                .map(|n| NewEvent {
                    kind: n.kind.clone(),
                    payload: n.payload.clone(),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        events.push(NewEvent {
            kind: "byoc.recovery".into(),
            payload: json!({"byoc.recovery": {"message": note, "attempt": op.attempt, "maxAttempts": max}}),
        });
        if let Err(QueueError::LeaseLost(_)) = self.record(&lease, events).await {
            return;
        }
        if cleared.is_ok() && op.attempt < max {
            self.inner.metrics.recoveries.inc();
            self.requeue(&lease, "operation queued again").await;
        } else {
            let message = match cleared {
                Ok(_) => format!(
                    "the worker running this operation stopped responding {} time(s); giving up",
                    op.attempt
                ),
                Err(_) => note,
            };
            self.finish(&op, &lease, Verdict::failed(message)).await;
        }
    }

    /// Waits until the dead attempt's lease expired longer ago than that attempt takes to kill
    /// its CLI: a worker that is alive but cut off kills its run as soon as its own lease runs
    /// out by its own clock (`lease.rs`), checked at least every third of the lease. The extra
    /// second absorbs clock differences between hosts.
    async fn wait_for_the_old_attempt(&self, op: &Operation) {
        let Some(expired_at) = op.lease_expires_at else {
            return;
        };
        let allowance = kill_allowance(self.inner.settings.lease);
        let until = expired_at + chrono::Duration::from_std(allowance).unwrap_or_default();
        if let Ok(wait) = (until - store::now()).to_std() {
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "waiting for the old attempt to have stopped"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Runs `work` while renewing `lease`; `None` (and `work` dropped, with any CLI it runs)
    /// when the lease is lost.
    async fn holding<T>(
        &self,
        lease: &Lease,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        tokio::pin!(work);
        let mut beat = tokio::time::interval(self.inner.settings.lease / 3);
        beat.tick().await;
        loop {
            tokio::select! {
                done = &mut work => return Some(done),
                _ = beat.tick() => {
                    let inner = self.inner.clone();
                    let held = lease.clone();
                    let renewed = self
                        .blocking(move |conn| queue::heartbeat(conn, &held, inner.lease_until()))
                        .await;
                    match renewed {
                        Err(QueueError::LeaseLost(_)) => return None,
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed during recovery"),
                        Ok(_) => {}
                    }
                }
            }
        }
    }
}

/// How long after a lease's expiry its attempt may still be stopping its CLI: the lease keeper
/// checks its own lease every third of the lease length and kills at once; one more second
/// for clocks that differ between hosts.
pub(super) fn kill_allowance(lease: std::time::Duration) -> std::time::Duration {
    lease / 3 + std::time::Duration::from_secs(1)
}
