//! One claimed operation, start to end: build the executor's job, run it under the lease
//! keeper with the event writer beside it, decide what becomes of the operation and record
//! that through the queue.

use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::lease::Signals;
use super::{Disposition, Inner, PrepareError, Stop, Verdict, Worker, decide};
use crate::domain::config::EnvironmentConfig;
use crate::domain::{EnvName, StackName};
use crate::executor::{EventSink, OperationJob, PlanStep};
use crate::store;
use crate::store::events::NewEvent;
use crate::store::operations::Operation;
use crate::store::queue::{self, Claimed, Ending, Lease, QueueError};
use crate::telemetry::TIMING;

impl Worker {
    /// Runs one claimed operation to its end, with its job as read at the claim.
    pub(super) async fn process(
        &self,
        claimed: Claimed,
        job: Result<OperationJob, PrepareError>,
        shutdown: CancellationToken,
    ) {
        let Claimed { op, lease } = claimed;
        let span = tracing::info_span!(
            "operation",
            operation.id = %op.id,
            stack = %op.stack_name,
            operation.kind = %op.kind,
            attempt = op.attempt
        );
        async {
            // The stack shows the operation running now.
            self.inner.hub.changed(&op.id);
            match job {
                Ok(job) => {
                    tracing::debug!(target: TIMING, step = "task started");
                    self.execute(&op, lease, job, shutdown).await
                }
                Err(e) => {
                    self.finish(&op, &lease, Verdict::failed(e.to_string()))
                        .await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Loads what the executor needs to run (or recover) `op`.
    pub(super) async fn prepare(&self, op: &Operation) -> Result<OperationJob, PrepareError> {
        let inner = self.inner.clone();
        let op = op.clone();
        self.blocking(move |conn| inner.load_job(conn, &op)).await
    }
}

impl Inner {
    /// [`Worker::prepare`] on the caller's connection (the claim reads it in its own trip).
    pub(super) fn load_job(
        &self,
        conn: &mut store::Conn,
        op: &Operation,
    ) -> Result<OperationJob, PrepareError> {
        let inner = self;
        let timeout = self.settings.operation_timeout;
        {
            let stack = store::stacks::find(conn, &op.stack_name)?;
            let tenant = store::tenants::find(conn, &stack.tenant_id)?;
            let version =
                store::configs::find(conn, &tenant, &stack.environment, op.config_version)?;
            let config: EnvironmentConfig =
                serde_json::from_str(&version.config).map_err(|source| PrepareError::Config {
                    version: version.version,
                    source,
                })?;
            // Only a remote run that is followed again replays events already stored.
            let resume_after_sequence = match op.external_ref {
                Some(_) => store::events::max_engine_sequence(conn, &op.id)?,
                None => None,
            };
            let stored = store::stack_settings::find(conn, &stack.stack_name)?;
            let stack_settings = match stored.as_ref().and_then(|r| r.settings_sealed.as_ref()) {
                Some(sealed) => {
                    let text = store::stack_settings::open(&inner.key, &stack.stack_name, sealed)
                        .map_err(PrepareError::StackSettings)?;
                    let parsed = serde_json::from_str(&text)
                        .map_err(|source| PrepareError::StackSettingsFormat { source })?;
                    Some(parsed)
                }
                None => None,
            };
            let check_pending = stored.is_some_and(|r| r.check_pending);
            let plan = plan_step(conn, &inner.key, op, &config)?;
            let external_id: SecretString = inner
                .key
                .open_secret(&tenant.external_id_sealed, tenant.id.as_bytes())
                .map_err(PrepareError::ExternalId)?;
            let ids = tenant.ids()?;
            let name = |what| move |source| PrepareError::Name { what, source };
            Ok(OperationJob {
                operation_id: op.id.clone(),
                kind: op.kind,
                attempt: op.attempt,
                stack: StackName::parse(&stack.stack_name).map_err(name("stack name"))?,
                slug: ids.slug,
                env: EnvName::parse(&stack.environment).map_err(name("environment"))?,
                account: ids.account,
                region: ids.region,
                role_arn: ids.role_arn,
                external_id,
                config,
                external_ref: op.external_ref.clone(),
                resume_after_sequence,
                timeout,
                stack_settings,
                check_pending,
                plan,
            })
        }
    }
}

impl Worker {
    async fn execute(
        &self,
        op: &Operation,
        lease: Lease,
        job: OperationJob,
        shutdown: CancellationToken,
    ) {
        // Under change control, a run that saves a plan ends the preview half only.
        let planning = (job.plan == PlanStep::Save).then(|| job.config.approval.clone());
        // Room for a whole batch: the writer takes everything waiting while the executor keeps
        // sending (tokio's channel allocates its slots as they fill, 32 at a time).
        let (sink, rx) = EventSink::channel(super::events::BATCH);
        let lost = CancellationToken::new();
        let writer = tokio::spawn(self.clone().write_events(lease.clone(), rx, lost.clone()));
        let cancel = CancellationToken::new();
        let executor = self.inner.executor.clone();
        let run_cancel = cancel.clone();
        // Its own task: a panicking executor fails this operation, not the worker.
        let run = tokio::spawn(async move { executor.run(job, sink, run_cancel).await });
        let signals = Signals {
            cancel: &cancel,
            lost: &lost,
            shutdown: &shutdown,
        };
        let watched = self.keep_lease(&lease, run, signals).await;
        tracing::debug!(target: TIMING, step = "run returned");
        if watched.stop == Some(Stop::LeaseLost) {
            writer.abort();
        } else if let Err(e) = writer.await {
            tracing::error!(error = %e, "the event writer failed");
        }
        tracing::debug!(target: TIMING, step = "events stored");
        // The writer's last batch may also have found the lease gone.
        let stop = match lost.is_cancelled() {
            true => Some(Stop::LeaseLost),
            false => watched.stop,
        };
        let max = self.inner.settings.max_attempts;
        match decide(stop, watched.outcome, lease.attempt(), max) {
            Disposition::Finish(verdict) => match planning {
                Some(approval) => self.conclude_plan(op, &lease, verdict, approval).await,
                None => self.finish(op, &lease, verdict).await,
            },
            Disposition::Retry { message } => {
                let note = NewEvent {
                    kind: "byoc.retry".into(),
                    payload: json!({"byoc.retry": {"message": message, "attempt": lease.attempt()}}),
                };
                if self.record(&lease, vec![note]).await.is_ok() {
                    self.requeue(&lease, "transient failure; operation queued again")
                        .await;
                }
            }
            Disposition::Requeue => {
                self.requeue(&lease, "operation stopped for shutdown and queued again")
                    .await
            }
            Disposition::Abandon => {
                tracing::warn!(
                    "lease lost: the operation belongs to its new holder; nothing recorded"
                )
            }
        }
    }

    /// Puts a stopped operation back in the queue (it keeps its place).
    pub(super) async fn requeue(&self, lease: &Lease, why: &'static str) {
        let held = lease.clone();
        match self.blocking(move |conn| queue::requeue(conn, &held)).await {
            Ok(()) => {
                tracing::info!("{why}");
                self.inner.hub.operation_queued();
            }
            Err(QueueError::LeaseLost(_)) => {
                tracing::warn!(
                    "lease lost before the operation could be re-queued; its new holder decides"
                )
            }
            Err(e) => tracing::error!(
                error = %e,
                "cannot re-queue the operation; its lease will expire and recovery takes over"
            ),
        }
        self.inner.hub.changed(lease.operation_id());
    }

    /// Records how an operation ended, on the operation and its stack.
    pub(super) async fn finish(&self, op: &Operation, lease: &Lease, verdict: Verdict) {
        let outputs = verdict
            .outputs
            .as_ref()
            .map(|o| store::outputs::seal(&self.inner.key, &op.stack_name, o));
        let summary = serde_json::to_string(&verdict.summary).ok();
        let status = verdict.status;
        let held = lease.clone();
        let res = self
            .blocking(move |conn| {
                let ending = Ending {
                    status,
                    error: verdict.error.as_deref(),
                    summary: summary.as_deref(),
                    outputs: outputs.as_deref(),
                };
                queue::finish(conn, &held, &ending)
            })
            .await;
        tracing::debug!(target: TIMING, step = "recorded");
        match res {
            Ok(()) => {
                tracing::info!(operation.status = %status, "operation finished");
                self.count_finished(op, status);
            }
            Err(QueueError::LeaseLost(_)) => {
                tracing::warn!(
                    "lease lost before the result could be recorded; its new holder decides"
                )
            }
            Err(e) => tracing::error!(error = %e, "cannot record the operation result"),
        }
        self.inner.hub.changed(&op.id);
        // The stack is free: the next operation on it can start.
        self.inner.hub.operation_queued();
    }

    /// Ends the preview half of a deploy under an approval policy: a saved plan waits for
    /// approval or goes back to the queue (`queue::conclude_plan`); a preview that failed or
    /// was stopped ends the operation without touching the stack's status.
    async fn conclude_plan(
        &self,
        op: &Operation,
        lease: &Lease,
        verdict: Verdict,
        approval: crate::domain::approval::ApprovalConfig,
    ) {
        let summary = serde_json::to_string(&verdict.summary).ok();
        let ttl = self.inner.settings.plan_ttl;
        let held = lease.clone();
        let status = verdict.status;
        let res = self
            .blocking(move |conn| {
                if status == crate::domain::OperationStatus::Succeeded {
                    queue::conclude_plan(conn, &held, &approval, ttl, summary.as_deref()).map(Some)
                } else {
                    let error = verdict.error.as_deref();
                    queue::end_preview(conn, &held, status, error, summary.as_deref())
                        .map(|()| None)
                }
            })
            .await;
        match res {
            Ok(Some(queue::Concluded::Held(reason))) => {
                tracing::info!(%reason, "plan saved; the deploy awaits approval")
            }
            Ok(Some(queue::Concluded::Queued)) => {
                tracing::info!("plan saved; the policy lets it through: queued to apply it");
            }
            Ok(None) => {
                tracing::info!(operation.status = %status, "the deploy's preview ended");
                self.count_finished(op, status);
            }
            Err(QueueError::LeaseLost(_)) => {
                tracing::warn!(
                    "lease lost before the plan could be recorded; its new holder decides"
                )
            }
            Err(e) => tracing::error!(error = %e, "cannot record the deploy's plan"),
        }
        self.inner.hub.changed(&op.id);
        self.inner.hub.operation_queued();
    }

    fn count_finished(&self, op: &Operation, status: crate::domain::OperationStatus) {
        let metrics = &self.inner.metrics;
        let labels = crate::metrics::OperationLabels {
            kind: op.kind.as_str().to_owned(),
            status: status.as_str().to_owned(),
        };
        metrics.operations_finished.get_or_create(&labels).inc();
        if let Some(started) = op.started_at {
            let secs = (store::now() - started).num_milliseconds().max(0) as f64 / 1000.0;
            let kind = crate::metrics::KindLabels {
                kind: op.kind.as_str().to_owned(),
            };
            metrics
                .operation_duration
                .get_or_create(&kind)
                .observe(secs);
        }
    }
}

/// Which half of a deploy under change control this run is: a deploy whose environment has an
/// approval policy first saves a plan; once that plan is approved (or the policy let it
/// through) the next run applies it. Everything else runs as its kind says.
fn plan_step(
    conn: &mut store::Conn,
    key: &crate::crypto::MasterKey,
    op: &Operation,
    config: &EnvironmentConfig,
) -> Result<PlanStep, PrepareError> {
    use crate::domain::approval::ApprovalPolicy;
    if op.kind != crate::domain::OperationKind::Update
        || config.approval.policy == ApprovalPolicy::Never
    {
        return Ok(PlanStep::None);
    }
    let plan = store::plans::lookup(conn, &op.id)?;
    match plan {
        Some(p) if matches!(p.decision.as_deref(), Some("approved" | "auto")) => {
            let bytes =
                store::plans::open(key, &op.id, &p.plan_sealed).map_err(PrepareError::Plan)?;
            Ok(PlanStep::Apply(crate::executor::PlanFile(bytes)))
        }
        _ => Ok(PlanStep::Save),
    }
}
