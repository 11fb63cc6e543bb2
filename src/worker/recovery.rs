//! Recovery of operations whose worker died: the lease expired, so another worker takes it
//! over (which fences the dead attempt off), clears the backend lock through the executor,
//! and re-queues the operation up to the attempt limit — or fails it with the reason. A stack
//! is never left locked.

use serde_json::json;
use tracing::Instrument;

use super::{RecoveryError, Verdict, Worker};
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

    /// Clears the stack lock of a taken-over operation, then re-queues or fails it.
    async fn recover_one(&self, op: Operation, lease: Lease) {
        let lost_worker = op.worker_id.as_deref().unwrap_or("?");
        tracing::warn!(lost_worker, "lease expired; recovering");
        let cleared: Result<(), RecoveryError> = match self.prepare(&op).await {
            Ok(job) => self.inner.executor.recover(&job).await.map_err(Into::into),
            Err(e) => Err(e.into()),
        };
        let max = self.inner.settings.max_attempts;
        let note = match &cleared {
            Ok(()) => {
                format!("worker {lost_worker} stopped responding; the stack lock was cleared")
            }
            Err(e) => {
                format!("worker stopped responding and the stack lock could not be cleared: {e}")
            }
        };
        let event = NewEvent {
            kind: "byoc.recovery".into(),
            payload: json!({"byoc.recovery": {"message": note, "attempt": op.attempt, "maxAttempts": max}}),
        };
        if let Err(QueueError::LeaseLost(_)) = self.record(&lease, vec![event]).await {
            // Yet another worker took it over meanwhile: it decides.
            return;
        }
        if cleared.is_ok() && op.attempt < max {
            self.inner.metrics.recoveries.inc();
            self.requeue(&lease, "operation queued again").await;
        } else {
            let message = match cleared {
                Ok(()) => format!(
                    "the worker running this operation stopped responding {} time(s); giving up",
                    op.attempt
                ),
                Err(_) => note,
            };
            self.finish(&op, &lease, Verdict::failed(message)).await;
        }
    }
}
