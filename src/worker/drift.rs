//! Scheduled drift checks (issue 18): keeps each environment's schedule in line with its
//! config, claims due checks under the fleet-wide cap, runs them beside the operation queue
//! (a check is not an operation: it holds no stack, so a deploy queued meanwhile runs at
//! once), and records what drifted — unless an operation ran on the stack meanwhile, when the
//! result is dropped and the check runs again later.

use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::domain::{OperationKind, OperationStatus};
use crate::store;
use crate::store::drift::{self, CheckResult};
use crate::store::operations::Operation;

/// `d` scaled by a random factor in `[lo, hi)`.
fn jitter(d: Duration, lo: f64, hi: f64) -> Duration {
    d.mul_f64(rand::thread_rng().gen_range(lo..hi))
}

fn at(d: Duration) -> chrono::NaiveDateTime {
    store::now() + chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl Worker {
    /// Looks for due drift checks every `BYOC_DRIFT_POLL_SECONDS` until `shutdown`.
    pub(super) async fn drift_loop(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.inner.settings.drift_poll) => {}
                _ = shutdown.cancelled() => return,
            }
            self.drift_checks(&shutdown).await;
        }
    }

    /// Syncs the schedule, then runs every check due now that the cap allows, concurrently, to
    /// its end. Returns how many ran. For the loop, tests and one-shot use.
    pub async fn run_drift_checks(&self) -> usize {
        self.drift_checks(&CancellationToken::new()).await
    }

    async fn drift_checks(&self, cancel: &CancellationToken) -> usize {
        let cap = self.inner.settings.drift_max_concurrent;
        let lease = self.inner.settings.operation_timeout;
        let claimed = self
            .blocking(move |conn| {
                // The first check of a schedule runs anywhere in its first interval, so a
                // fleet configured at once does not check at once.
                drift::sync_schedules(conn, store::now(), |every| jitter(every, 0.0, 1.0))?;
                drift::claim_due(conn, store::now(), cap, lease)
            })
            .await;
        let stacks = match claimed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "claiming drift checks failed");
                return 0;
            }
        };
        let mut tasks = JoinSet::new();
        for stack in &stacks {
            let (worker, stack, cancel) = (self.clone(), stack.clone(), cancel.clone());
            tasks.spawn(async move { worker.drift_check(stack, cancel).await });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "drift check task failed");
            }
        }
        stacks.len()
    }

    async fn drift_check(&self, stack: String, cancel: CancellationToken) {
        let started = store::now();
        // The job of an operation that is never stored: a refresh of the latest config.
        let probe = Operation {
            seq: 0,
            id: uuid::Uuid::new_v4().to_string(),
            stack_name: stack.clone(),
            kind: OperationKind::Refresh,
            status: OperationStatus::Running,
            config_version: None,
            executor: String::new(),
            external_ref: None,
            worker_id: None,
            lease_expires_at: None,
            attempt: 1,
            cancel_requested: false,
            stack_status_before: None,
            requested_by: None,
            created_at: started,
            started_at: Some(started),
            finished_at: None,
            error: None,
            summary: None,
            lease_token: 0,
        };
        let (result, every, remediate) = match self.prepare(&probe).await {
            Ok(job) => {
                let every = job.config.drift_check.as_ref().map(|d| d.interval());
                let remediate = job.config.drift_check.as_ref().is_some_and(|d| d.remediate);
                let remediate = remediate.then(|| (job.slug.clone(), job.env.clone()));
                let result = match self.inner.executor.check_drift(job, cancel).await {
                    Ok(found) => CheckResult::Drifted(found),
                    Err(e) => CheckResult::Failed(e),
                };
                (result, every, remediate)
            }
            Err(e) => (CheckResult::Failed(e.to_string()), None, None),
        };
        let drifted = matches!(&result, CheckResult::Drifted(found) if !found.is_empty());
        let every = every.unwrap_or(self.inner.settings.drift_poll);
        let next = at(jitter(every, 0.9, 1.1));
        let retry = at(self.inner.settings.drift_poll);
        let name = stack.clone();
        let recorded = self
            .blocking(move |conn| drift::record_check(conn, &name, started, result, next, retry))
            .await;
        match recorded {
            Ok(true) if drifted && remediate.is_some() => {
                tracing::info!(stack = %stack, "drift found: queueing a deploy to remediate it");
                if let Some((slug, env)) = remediate {
                    self.remediate(slug, env).await;
                }
            }
            Ok(true) => tracing::info!(stack = %stack, "drift check recorded"),
            Ok(false) => tracing::info!(
                stack = %stack,
                "an operation ran during the drift check: result dropped, checking again later"
            ),
            Err(e) => tracing::warn!(stack = %stack, error = %e, "cannot record the drift check"),
        }
    }
}

/// Who remediation deploys are requested by.
pub const REMEDIATION_REQUESTER: &str = "drift-remediation";

impl Worker {
    /// Queues a deploy of the latest config of `slug`/`env` (its approval policy applies as
    /// to any deploy); not when other work is already queued or running on the stack.
    async fn remediate(&self, slug: crate::domain::Slug, env: crate::domain::EnvName) {
        let queued = self
            .blocking(move |conn| {
                let tenant = store::tenants::find_by_slug(conn, slug.as_str())?;
                let version = store::configs::find(conn, &tenant, env.as_str(), None)?.version;
                let req = store::queue::Enqueue {
                    slug: &slug,
                    env: &env,
                    kind: OperationKind::Update,
                    config_version: version,
                    requested_by: REMEDIATION_REQUESTER,
                    if_idle: true,
                };
                store::queue::enqueue(conn, &req)
            })
            .await;
        match queued {
            Ok(op) => {
                tracing::info!(operation.id = %op.id, "remediation deploy queued");
                self.inner.hub.operation_queued();
            }
            Err(e) => tracing::warn!(error = %e, "remediation deploy not queued"),
        }
    }
}
