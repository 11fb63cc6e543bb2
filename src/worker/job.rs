//! Running one claimed operation: build the job, run the executor while renewing the lease,
//! store events in batches as they arrive, and record the outcome.

use std::collections::BTreeMap;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Worker;
use crate::domain::config::EnvironmentConfig;
use crate::domain::{EnvName, OperationKind, OperationStatus, StackName};
use crate::executor::{EventSink, OperationJob, Outcome, SinkMessage};
use crate::store::events::Event;
use crate::store::operations::{Heartbeat, Operation};
use crate::store::{self, StoreError};

/// Events are written in batches of at most this many (and at least every heartbeat).
const BATCH: usize = 64;

/// Why the worker cancelled a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Requested,
    Timeout,
    Shutdown,
    LeaseLost,
}

impl Worker {
    /// Runs one claimed operation to its end.
    pub(super) async fn process(&self, op: Operation, shutdown: CancellationToken) {
        let span = tracing::info_span!(
            "operation",
            operation.id = %op.id,
            stack = %op.stack_name,
            operation.kind = %op.kind,
            attempt = op.attempt
        );
        async {
            match self.prepare(&op, true).await {
                Ok(job) => self.execute(op, job, shutdown).await,
                Err(message) => {
                    let outcome = Outcome::Failed {
                        message,
                        summary: BTreeMap::new(),
                        retryable: false,
                    };
                    self.finish(&op, outcome, None).await;
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Loads what the executor needs; with `mark_running`, also shows the stack as running.
    pub(super) async fn prepare(
        &self,
        op: &Operation,
        mark_running: bool,
    ) -> Result<OperationJob, String> {
        let inner = self.inner.clone();
        let op = op.clone();
        let timeout = self.inner.settings.operation_timeout;
        self.blocking(move |conn| {
            let kind = op.kind()?;
            let stack = store::stacks::find(conn, &op.stack_name)?;
            let tenant = store::tenants::find(conn, &stack.tenant_id)?;
            let version =
                store::configs::find(conn, &tenant.id, &stack.environment, op.config_version)?;
            let config: EnvironmentConfig = serde_json::from_str(&version.config)
                .map_err(|e| StoreError::Corrupt(format!("config v{}: {e}", version.version)))?;
            // Only a remote run that is followed again replays events already stored.
            let resume_after_sequence = match op.external_ref {
                Some(_) => store::events::max_engine_sequence(conn, &op.id)?,
                None => None,
            };
            let external_id: SecretString = inner
                .key
                .open_secret(&tenant.external_id_sealed, tenant.id.as_bytes())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let ids = tenant.ids()?;
            let corrupt = |e: crate::domain::names::NameError| StoreError::Corrupt(e.to_string());
            let job = OperationJob {
                operation_id: op.id.clone(),
                kind,
                attempt: op.attempt,
                stack: StackName::parse(&stack.stack_name).map_err(corrupt)?,
                slug: ids.slug,
                env: EnvName::parse(&stack.environment).map_err(corrupt)?,
                account: ids.account,
                region: ids.region,
                role_arn: ids.role_arn,
                external_id,
                config,
                external_ref: op.external_ref.clone(),
                resume_after_sequence,
                timeout,
            };
            if mark_running {
                store::stacks::set_status(
                    conn,
                    &stack.stack_name,
                    kind.status_when_running(),
                    Some(&op.id),
                )?;
            }
            Ok(job)
        })
        .await
        .map_err(|e| format!("cannot prepare the operation: {e}"))
    }

    async fn execute(&self, op: Operation, job: OperationJob, shutdown: CancellationToken) {
        self.inner.hub.changed();
        let cancel = CancellationToken::new();
        let (sink, mut rx) = EventSink::channel(256);
        let mut writer = match self.event_writer(&op.id).await {
            Ok(w) => w,
            Err(e) => {
                let message = format!("cannot read the event log: {e}");
                let outcome = Outcome::Failed {
                    message,
                    summary: BTreeMap::new(),
                    retryable: true,
                };
                return self.finish(&op, outcome, None).await;
            }
        };
        let executor = self.inner.executor.clone();
        let run_cancel = cancel.clone();
        // Its own task: a panicking executor fails this operation, not the worker.
        let mut task = tokio::spawn(async move { executor.run(job, sink, run_cancel).await });
        let mut beat = tokio::time::interval(self.inner.settings.lease / 3);
        beat.tick().await;
        let deadline = tokio::time::sleep(self.inner.settings.operation_timeout);
        tokio::pin!(deadline);
        let mut stop: Option<StopReason> = None;
        let outcome = loop {
            tokio::select! {
                biased;
                done = &mut task => break done.unwrap_or_else(|e| Outcome::Failed {
                    message: format!("the executor crashed: {e}"),
                    summary: BTreeMap::new(),
                    retryable: false,
                }),
                Some(msg) = rx.recv() => {
                    match msg {
                        SinkMessage::Event(e) => {
                            writer.push(e.kind, e.payload);
                            if writer.pending.len() >= BATCH {
                                self.flush(&mut writer).await;
                            }
                        }
                        SinkMessage::ExternalRef(r) => self.record_external_ref(&op.id, r).await,
                    }
                }
                _ = beat.tick() => {
                    self.flush(&mut writer).await;
                    match self.heartbeat(&op.id).await {
                        Ok(Heartbeat::Renewed { cancel_requested: true }) if stop.is_none() => {
                            stop = Some(StopReason::Requested);
                            cancel.cancel();
                        }
                        Ok(Heartbeat::Lost) if stop.is_none() => {
                            tracing::warn!("lease lost: another worker recovered this operation");
                            stop = Some(StopReason::LeaseLost);
                            cancel.cancel();
                        }
                        Ok(_) => {}
                        // A missed heartbeat is not fatal: the lease covers three of them.
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                    }
                }
                _ = &mut deadline, if stop.is_none() => {
                    stop = Some(StopReason::Timeout);
                    cancel.cancel();
                }
                _ = shutdown.cancelled(), if stop.is_none() => {
                    stop = Some(StopReason::Shutdown);
                    if self.inner.executor.runs_remotely() {
                        // The remote run goes on without us; the next worker follows it.
                        task.abort();
                        break Outcome::Cancelled { reason: "worker shut down".into(), summary: BTreeMap::new() };
                    }
                    cancel.cancel();
                }
            }
        };
        while let Ok(msg) = rx.try_recv() {
            match msg {
                SinkMessage::Event(e) => writer.push(e.kind, e.payload),
                SinkMessage::ExternalRef(r) => self.record_external_ref(&op.id, r).await,
            }
        }
        self.flush(&mut writer).await;
        match (stop, &outcome) {
            (Some(StopReason::LeaseLost), _) => {}
            (Some(StopReason::Shutdown), Outcome::Cancelled { .. }) => {
                self.requeue(&op, "operation stopped for shutdown and queued again")
                    .await
            }
            // A transient failure (AWS unreachable, a lock still held…) is run again, up to the
            // attempt limit; the event log says why.
            (
                None,
                Outcome::Failed {
                    retryable: true,
                    message,
                    ..
                },
            ) if op.attempt < self.inner.settings.max_attempts => {
                writer.push(
                    "byoc.retry".to_owned(),
                    serde_json::json!({"byoc.retry": {"message": message, "attempt": op.attempt}}),
                );
                self.flush(&mut writer).await;
                self.requeue(&op, "transient failure; operation queued again")
                    .await
            }
            (reason, _) => {
                self.finish(&op, outcome, reason_text(reason, &self.inner.settings))
                    .await
            }
        }
    }

    async fn heartbeat(&self, id: &str) -> Result<Heartbeat, StoreError> {
        let inner = self.inner.clone();
        let id = id.to_owned();
        self.blocking(move |conn| {
            store::operations::heartbeat(conn, &id, &inner.id, inner.lease_until())
        })
        .await
    }

    async fn record_external_ref(&self, id: &str, reference: String) {
        let id = id.to_owned();
        if let Err(e) = self
            .blocking(move |conn| store::operations::set_external_ref(conn, &id, &reference))
            .await
        {
            tracing::error!(error = %e, "cannot record the executor reference");
        }
    }

    /// Puts a stopped operation back in the queue (it keeps its place) and shows the stack as
    /// queued again.
    async fn requeue(&self, op: &Operation, why: &'static str) {
        let id = op.id.clone();
        let stack = op.stack_name.clone();
        let before = op.kind().ok().and_then(OperationKind::status_when_queued);
        let res = self
            .blocking(move |conn| {
                conn.immediate_transaction(|conn| {
                    store::operations::requeue(conn, &id)?;
                    store::stacks::set_status(conn, &stack, before, None)
                })
            })
            .await;
        match res {
            Ok(()) => {
                tracing::info!("{why}");
                self.inner.hub.operation_queued();
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot re-queue the operation; its lease will expire and recovery takes over")
            }
        }
        self.inner.hub.changed();
    }

    /// Records how an operation ended, on the operation and its stack, in one transaction.
    pub(super) async fn finish(
        &self,
        op: &Operation,
        outcome: Outcome,
        stop_reason: Option<String>,
    ) {
        let kind = op.kind().unwrap_or(OperationKind::Preview);
        let (status, error, summary, outputs) = match outcome {
            Outcome::Succeeded { summary, outputs } => {
                let outputs = match (kind, outputs) {
                    (OperationKind::Destroy, _) => Some(None),
                    (_, Some(o)) => Some(Some(super::seal_outputs(
                        &self.inner.key,
                        &op.stack_name,
                        &o,
                    ))),
                    (_, None) => None,
                };
                (OperationStatus::Succeeded, None, summary, outputs)
            }
            Outcome::Failed {
                message, summary, ..
            } => (OperationStatus::Failed, Some(message), summary, None),
            Outcome::Cancelled { reason, summary } => (
                OperationStatus::Cancelled,
                Some(stop_reason.unwrap_or(reason)),
                summary,
                None,
            ),
        };
        let summary_json = serde_json::to_string(&summary).ok();
        let id = op.id.clone();
        let stack = op.stack_name.clone();
        let res = self
            .blocking(move |conn| {
                conn.immediate_transaction(|conn| {
                    store::operations::finish(
                        conn,
                        &id,
                        status,
                        error.as_deref(),
                        summary_json.as_deref(),
                    )?;
                    store::stacks::record_result(
                        conn,
                        &stack,
                        kind.status_after(status, None),
                        &id,
                        outputs.as_ref().map(|o| o.as_deref()),
                        error.as_deref(),
                    )
                })
            })
            .await;
        let labels = crate::metrics::OperationLabels {
            kind: kind.as_str().to_owned(),
            status: status.as_str().to_owned(),
        };
        self.inner
            .metrics
            .operations_finished
            .get_or_create(&labels)
            .inc();
        if let Some(started) = op.started_at {
            let secs = (store::now() - started).num_milliseconds().max(0) as f64 / 1000.0;
            self.inner
                .metrics
                .operation_duration
                .get_or_create(&crate::metrics::KindLabels {
                    kind: kind.as_str().to_owned(),
                })
                .observe(secs);
        }
        match res {
            Ok(()) => tracing::info!(operation.status = %status, "operation finished"),
            Err(e) => tracing::error!(error = %e, "cannot record the operation result"),
        }
        self.inner.hub.changed();
        self.inner.hub.operation_queued();
    }
}

fn reason_text(reason: Option<StopReason>, settings: &super::WorkerSettings) -> Option<String> {
    reason.map(|r| match r {
        StopReason::Requested => "cancelled on request".to_owned(),
        StopReason::Timeout => format!(
            "timed out after {} s (BYOC_OPERATION_TIMEOUT_SECONDS)",
            settings.operation_timeout.as_secs()
        ),
        StopReason::Shutdown => "stopped because the worker shut down".to_owned(),
        StopReason::LeaseLost => "the worker lost its lease".to_owned(),
    })
}

/// Buffers events with their sequence numbers until the next flush.
pub(super) struct EventWriter {
    operation_id: String,
    next_seq: i32,
    pub(super) pending: Vec<Event>,
}

impl EventWriter {
    pub(super) fn push(&mut self, kind: String, payload: serde_json::Value) {
        self.pending.push(Event {
            operation_id: self.operation_id.clone(),
            seq: self.next_seq,
            created_at: store::now(),
            kind,
            payload: payload.to_string(),
        });
        self.next_seq += 1;
    }
}

impl Worker {
    /// A writer continuing the operation's stream (a retried run appends after the last).
    pub(super) async fn event_writer(&self, operation_id: &str) -> Result<EventWriter, StoreError> {
        let id = operation_id.to_owned();
        let last = self
            .blocking(move |conn| store::events::last_seq(conn, &id))
            .await?;
        Ok(EventWriter {
            operation_id: operation_id.to_owned(),
            next_seq: last + 1,
            pending: Vec::new(),
        })
    }

    /// Writes buffered events in one statement and wakes live subscribers.
    pub(super) async fn flush(&self, writer: &mut EventWriter) {
        if writer.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut writer.pending);
        let n = batch.len();
        match self
            .blocking(move |conn| store::events::append(conn, &batch))
            .await
        {
            Ok(()) => self.inner.hub.changed(),
            Err(e) => tracing::error!(error = %e, events = n, "cannot store events"),
        }
    }
}
