//! The Pulumi Deployments executor: runs the same rendered program on Pulumi's hosted
//! runners through the REST API (`docs/pulumi-contract.md` §5). It ensures the stack exists,
//! creates one deployment with `inheritSettings: false` (tenant values only as secret
//! variables, constant pre-run commands), records its id on the operation at once, follows it
//! to the end and maps its status. Before creating it checks the tenant role (the same STS
//! pre-flight as the local executor) and notes on the operation that a deployment is being
//! created; a recovered operation follows the recorded deployment, or adopts the one the dead
//! attempt created (`adopt`), and never creates a second one. Knows nothing of the database
//! or the HTTP API.
//!
//! Choices worth knowing:
//! - Source: a deployment without inherited settings needs a `sourceContext`. The runner starts
//!   from Pulumi's public YAML template (or a git repository, if configured) and the first
//!   pre-run command replaces its `Pulumi.yaml` with the rendered program, so nothing
//!   byoc-specific has to be hosted anywhere.
//! - Statuses: `not-started`/`accepted`/`running` are in progress; `succeeded` → Succeeded
//!   (summary from the `summaryEvent`, outputs from `GET …/outputs` after an update, secrets
//!   redacted); `failed` → Failed with the engine's error diagnostics, else the failed step
//!   and the last runner log lines; `skipped` → Failed (not retryable: nothing ran, the
//!   operator decides); any end after a cancel → Cancelled.
//! - Events: engine events are de-duplicated by `sequence` within one follow; a follow that
//!   resumes after a crash reads the update's events from the start again.
mod adopt;
mod body;
mod client;
mod error;
mod follow;
mod outputs;
mod shapes;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub use body::{
    AWS_CONFIG_PATH, AWS_CONFIG_VAR, EXTERNAL_ID_VAR, PRE_RUN_COMMANDS, PROGRAM_VAR, STACK_VAR,
};
pub use client::{ACCEPT, INITIATOR, RetryPolicy};
pub use error::DeploymentsError;
pub use follow::LOG_EVENT;

use self::adopt::Recorded;
use self::client::{Client, StackPath};
use self::follow::Pace;
use super::{EventSink, Executor, OperationJob, Outcome, RecoverError};
use crate::cloud::{PlatformAws, RoleTarget, SessionName, preflight_role};
use crate::program::{self, RenderInput};
use crate::settings::Settings;

/// Where the runner gets its (placeholder) project before the program replaces `Pulumi.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `sourceContext.template.sourceUrl` (default: Pulumi's public YAML template).
    Template {
        /// Template URL.
        url: String,
    },
    /// `sourceContext.git {repoURL, branch}`.
    Git {
        /// Repository URL.
        url: String,
        /// Branch (`refs/heads/main`).
        branch: String,
    },
}

/// Everything the executor needs, built from [`Settings`] (tests build it directly).
#[derive(Debug, Clone)]
pub struct DeploymentsConfig {
    /// Pulumi Cloud API base URL.
    pub api_url: String,
    /// Access token.
    pub token: SecretString,
    /// Organization.
    pub org: String,
    /// Project of every stack.
    pub project: String,
    /// Platform role the runner assumes with OIDC.
    pub oidc_role_arn: Option<String>,
    /// Static runner keys (access key id, secret key), used only without an OIDC role.
    pub static_keys: Option<(SecretString, SecretString)>,
    /// Runner image.
    pub executor_image: Option<String>,
    /// Runner source.
    pub source: Source,
    /// First interval between status polls.
    pub poll: Duration,
    /// Longest interval between status polls.
    pub max_poll: Duration,
    /// How long a cancelled deployment is still followed (`BYOC_CANCEL_GRACE_SECONDS`).
    pub cancel_grace: Duration,
    /// HTTP retries.
    pub retry: RetryPolicy,
}

impl DeploymentsConfig {
    /// Reads the `deployments` and `pulumi` sections; names a missing setting.
    pub fn from_settings(settings: &Settings) -> Result<Self, DeploymentsError> {
        let d = &settings.deployments;
        let (Some(token), Some(org)) = (d.token.clone(), d.org.clone()) else {
            return Err(DeploymentsError::NotConfigured(
                "PULUMI_ACCESS_TOKEN and BYOC_PULUMI_ORG must both be set".into(),
            ));
        };
        let static_keys = match (&d.aws_access_key_id, &d.aws_secret_access_key) {
            (Some(id), Some(key)) => Some((id.clone(), key.clone())),
            (None, None) => None,
            _ => {
                return Err(DeploymentsError::NotConfigured(
                    "BYOC_DEPLOYMENTS_AWS_ACCESS_KEY_ID and BYOC_DEPLOYMENTS_AWS_SECRET_ACCESS_KEY \
                     must be set together"
                        .into(),
                ));
            }
        };
        Ok(Self {
            api_url: d.api_url.clone(),
            token,
            org,
            project: settings.pulumi.project.clone(),
            oidc_role_arn: d.oidc_role_arn.clone(),
            static_keys,
            executor_image: d.executor_image.clone(),
            source: match &d.git_url {
                Some(url) => Source::Git {
                    url: url.clone(),
                    branch: d.git_branch.clone(),
                },
                None => Source::Template {
                    url: d.template_url.clone(),
                },
            },
            poll: d.poll,
            max_poll: d.max_poll.max(d.poll),
            cancel_grace: settings.pulumi.cancel_grace,
            retry: RetryPolicy::default(),
        })
    }
}

/// Runs operations on Pulumi Deployments.
#[derive(Debug)]
pub struct DeploymentsExecutor {
    config: DeploymentsConfig,
    client: Client,
    /// The platform identity the tenant-role pre-flight assumes the role from.
    aws: PlatformAws,
}

/// Event recorded when an attempt adopts the deployment an earlier attempt created.
pub const ADOPTED_EVENT: &str = "byoc.deployment-adopted";

impl DeploymentsExecutor {
    /// An executor talking to `config.api_url`, checking tenant roles as `aws`.
    pub fn new(config: DeploymentsConfig, aws: PlatformAws) -> Result<Self, DeploymentsError> {
        let client = Client::new(&config.api_url, config.token.clone(), config.retry.clone())?;
        Ok(Self {
            config,
            client,
            aws,
        })
    }

    fn stack_path(&self, job: &OperationJob) -> StackPath {
        StackPath {
            org: self.config.org.clone(),
            project: self.config.project.clone(),
            stack: job.stack.as_str().to_owned(),
        }
    }

    /// Starts a deployment for `job` (or picks up the one an earlier attempt started) and
    /// follows it.
    async fn drive(
        &self,
        job: &OperationJob,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<Outcome, DeploymentsError> {
        let stack = self.stack_path(job);
        let recorded = job.external_ref.as_deref().map(Recorded::parse);
        let id = match recorded {
            Some(Recorded::Deployment(id)) => {
                tracing::info!(deployment.id = %id, "following the deployment an earlier attempt started");
                sink.event("byoc.resume", json!({ "deployment": id })).await;
                id
            }
            Some(Recorded::Creating { after_version }) => {
                match self.adopt(job, &stack, after_version, sink).await? {
                    Some(id) => id,
                    None => {
                        let Some(id) = self
                            .create(job, &stack, Some(after_version), sink, cancel)
                            .await?
                        else {
                            return Ok(cancelled_early());
                        };
                        id
                    }
                }
            }
            None => {
                let Some(id) = self.create(job, &stack, None, sink, cancel).await? else {
                    return Ok(cancelled_early());
                };
                id
            }
        };
        let pace = Pace {
            poll: self.config.poll,
            max_poll: self.config.max_poll,
            cancel_grace: self.config.cancel_grace,
        };
        follow::follow(&self.client, &stack, &id, job, sink, cancel, pace).await
    }

    /// An earlier attempt noted it was creating a deployment and died before recording its
    /// id: the deployment it created, if it reached the service (`adopt.rs`).
    async fn adopt(
        &self,
        job: &OperationJob,
        stack: &StackPath,
        after_version: i64,
        sink: &EventSink,
    ) -> Result<Option<String>, DeploymentsError> {
        let ours = adopt::created_after(
            &self.client,
            stack,
            after_version,
            body::operation(job.kind),
        )
        .await?;
        let Some(first) = ours.first() else {
            tracing::info!(
                after_version,
                "the earlier attempt's deployment never reached the service; creating one"
            );
            return Ok(None);
        };
        let others: Vec<&str> = ours[1..].iter().map(|d| d.id.as_str()).collect();
        tracing::info!(deployment.id = %first.id, deployment.status = %first.status, "adopting the deployment an earlier attempt created");
        sink.event(
            ADOPTED_EVENT,
            json!({
                "deployment": first.id,
                "version": first.version,
                "status": first.status,
                "also_after_marker": others,
            }),
        )
        .await;
        sink.external_ref(first.id.clone()).await;
        Ok(Some(first.id.clone()))
    }

    /// Checks the tenant role, notes on the operation that a deployment is being created
    /// (stored before the create is sent), creates it and records its id. `None`: cancelled
    /// before anything was created.
    async fn create(
        &self,
        job: &OperationJob,
        stack: &StackPath,
        marker: Option<i64>,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<Option<String>, DeploymentsError> {
        if cancel.is_cancelled() {
            return Ok(None);
        }
        let program = program::render_checked(&RenderInput {
            stack: &job.stack,
            slug: &job.slug,
            env: &job.env,
            account_id: &job.account,
            region: &job.region,
            tenant_role_arn: &job.role_arn,
            project: &self.config.project,
            config: &job.config,
        })?;
        let request = body::create_request(job, &program, &stack.qualified(), &self.config)?;
        tokio::select! {
            r = self.preflight(job) => r?,
            () = cancel.cancelled() => return Ok(None),
        }
        self.client.ensure_stack(stack).await?;
        if marker.is_none() {
            let after_version = adopt::newest_version(&self.client, stack).await?;
            sink.external_ref(Recorded::marker(after_version)).await;
            if !sink.flush().await {
                return Err(DeploymentsError::NotRecorded);
            }
        }
        if cancel.is_cancelled() {
            return Ok(None);
        }
        let id = self.client.create_deployment(stack, &request.0).await?;
        // Recorded before anything else, so a worker that dies from here on is recovered by
        // following this deployment instead of looking for it.
        sink.external_ref(id.clone()).await;
        tracing::info!(deployment.id = %id, "created deployment");
        Ok(Some(id))
    }

    /// `sts:AssumeRole` with the external ID, session `byoc-<kind>-<stack>`, as the local
    /// executor does: a bad role fails here, clearly, before a runner is started.
    async fn preflight(&self, job: &OperationJob) -> Result<(), DeploymentsError> {
        let target = RoleTarget {
            account: job.account.clone(),
            region: job.region.clone(),
            role_arn: job.role_arn.clone(),
            external_id: job.external_id.clone(),
        };
        let session = SessionName::for_operation(job.kind.as_str(), job.stack.as_str());
        preflight_role(&self.aws, &target, &session).await?;
        Ok(())
    }
}

fn cancelled_early() -> Outcome {
    Outcome::Cancelled {
        reason: "cancelled before a deployment was created".into(),
        summary: Default::default(),
    }
}

#[async_trait]
impl Executor for DeploymentsExecutor {
    fn name(&self) -> &'static str {
        "deployments"
    }

    fn runs_remotely(&self) -> bool {
        true
    }

    #[tracing::instrument(skip_all, fields(operation.id = %job.operation_id, stack.name = %job.stack, executor = "deployments"))]
    async fn run(&self, job: OperationJob, sink: EventSink, cancel: CancellationToken) -> Outcome {
        if job.plan != super::PlanStep::None {
            // A deployment runs `pulumi up`/`preview` itself and its REST request has no field
            // for a plan file (`apitype.CreateDeploymentRequest`, docs/pulumi-contract.md §5).
            return Outcome::Failed {
                message: "approval policies need the local executor: Pulumi Deployments cannot                           save or apply an update plan; set the environment's approval policy                           to `never` or run byoc with BYOC_EXECUTOR=local"
                    .into(),
                summary: Default::default(),
                retryable: false,
            };
        }
        match self.drive(&job, &sink, &cancel).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e.chain(), "deployments run failed");
                Outcome::Failed {
                    message: e.chain(),
                    summary: Default::default(),
                    retryable: e.is_retryable(),
                }
            }
        }
    }

    /// Nothing to unlock: a deployment the dead worker followed keeps running on Pulumi's
    /// side, and the next attempt follows it through `job.external_ref`.
    async fn recover(
        &self,
        _job: &OperationJob,
    ) -> Result<Vec<super::EngineEventRecord>, RecoverError> {
        Ok(Vec::new())
    }
}

/// The executor `BYOC_EXECUTOR=deployments` asks for.
pub fn build(
    settings: &Settings,
    aws: PlatformAws,
) -> Result<DeploymentsExecutor, DeploymentsError> {
    DeploymentsExecutor::new(DeploymentsConfig::from_settings(settings)?, aws)
}
