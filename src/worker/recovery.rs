//! Recovery of operations whose worker died: the lease expired, so another worker takes it
//! over, clears the backend lock through the executor, and runs it again up to the attempt
//! limit — or fails it with the reason. A stack is never left locked.

use std::collections::BTreeMap;

use serde_json::json;
use tracing::Instrument;

use super::Worker;
use crate::executor::Outcome;
use crate::store;

impl Worker {
    /// Finds expired leases and recovers each operation (one reaper wins per operation).
    pub(super) async fn recover_expired(&self) {
        let expired = match self
            .blocking(|conn| store::operations::expired(conn, store::now()))
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
            let won = self
                .blocking(move |conn| {
                    store::operations::take_over(conn, &seen, &inner.id, inner.lease_until())
                })
                .await
                .unwrap_or(false);
            if !won {
                continue;
            }
            self.inner.metrics.lease_expiries.inc();
            let span =
                tracing::warn_span!("recovery", operation.id = %op.id, stack = %op.stack_name);
            self.recover_one(op).instrument(span).await;
        }
    }

    /// Clears the stack lock of a taken-over operation, then re-queues or fails it.
    async fn recover_one(&self, op: store::operations::Operation) {
        {
            tracing::warn!(
                lost_worker = op.worker_id.as_deref().unwrap_or("?"),
                "lease expired; recovering"
            );
            let cleared = match self.prepare(&op, false).await {
                Ok(job) => self.inner.executor.recover(&job).await,
                Err(e) => Err(e),
            };
            let max = self.inner.settings.max_attempts;
            let note = match &cleared {
                Ok(()) => format!(
                    "worker {} stopped responding; the stack lock was cleared",
                    op.worker_id.as_deref().unwrap_or("?")
                ),
                Err(e) => format!(
                    "worker stopped responding and the stack lock could not be cleared: {e}"
                ),
            };
            if let Ok(mut writer) = self.event_writer(&op.id).await {
                writer.push(
                    "byoc.recovery".to_owned(),
                    json!({"byoc.recovery": {"message": note, "attempt": op.attempt, "maxAttempts": max}}),
                );
                self.flush(&mut writer).await;
            }
            if cleared.is_ok() && op.attempt < max {
                let id = op.id.clone();
                match self
                    .blocking(move |conn| store::operations::requeue(conn, &id))
                    .await
                {
                    Ok(()) => {
                        self.inner.metrics.recoveries.inc();
                        tracing::info!("operation queued again");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot re-queue the recovered operation")
                    }
                }
                self.inner.hub.operation_queued();
            } else {
                let message = if cleared.is_ok() {
                    format!(
                        "the worker running this operation stopped responding {} time(s); giving up",
                        op.attempt
                    )
                } else {
                    note
                };
                let outcome = Outcome::Failed {
                    message,
                    summary: BTreeMap::new(),
                    retryable: false,
                };
                self.finish(&op, outcome, None).await;
            }
            self.inner.hub.changed();
        }
    }
}
