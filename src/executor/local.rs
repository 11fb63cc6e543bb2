//! The local executor: runs stack operations with the `pulumi` CLI on this machine, through the
//! driver in [`crate::pulumi`]. It renders and validates the program, checks the tenant role,
//! prepares a private workspace (program, AWS shared-config file, stack config), runs the
//! operation while forwarding engine events, and maps the result to an [`Outcome`]. It never
//! touches the database; secrets go to the CLI through its environment or stdin only.
//!
//! Module map: `setup` (directories, passphrase, CLI probe), `prepare` (render, pre-flight,
//! workspace and stack config), `engine` (one engine command, event forwarding, a stale lock
//! cleared once), `operation` (the run start to end), `protection` (destroy with EKS deletion
//! protection on), `outcome` (errors → [`Outcome`]). `operation` and `protection` both use
//! `engine`; neither uses the other's internals.

mod drift;
mod engine;
mod operation;
mod outcome;
mod pending;
mod pending_ids;
mod prepare;
mod program_cache;
mod protection;
mod recover;
mod settings_file;
mod setup;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{EngineEventRecord, EventSink, Executor, OperationJob, Outcome, RecoverError};
use crate::cloud::{PlatformAws, PreflightCache};
use crate::pulumi::{EnvSnapshot, Runner, WorkspaceRoot};
use crate::settings::Settings;

pub use engine::{LOCK_CLEARED_EVENT, UNDECODABLE_EVENT};
pub use operation::OUTPUTS_UNAVAILABLE_EVENT;
pub use outcome::LocalError;
pub use pending::{PENDING_CREATES_EVENT, PENDING_RESOLVED_EVENT};
pub use protection::PROTECTION_OFF_EVENT;
pub use setup::{LocalSetupError, PASSPHRASE_FILE};

/// How long recovery and the repair after a forced stop let each CLI command run.
const RECOVER_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs operations with the local `pulumi` CLI (self-hosted workers).
#[derive(Debug, Clone)]
pub struct LocalExecutor {
    runner: Runner,
    /// The CLI's version check: `Err` with the reason every operation then fails with.
    probe: Arc<tokio::sync::OnceCell<Result<(), String>>>,
    aws: PlatformAws,
    /// Tenant roles that passed the pre-flight recently (in memory only; see
    /// `cloud::preflight_cache`).
    preflight: Arc<PreflightCache>,
    /// The programs rendered last (`program_cache`: a day-2 update renders the same again).
    programs: Arc<program_cache::ProgramCache>,
    /// The worker's allowlisted environment: the source of the tenant profile's credentials.
    env: EnvSnapshot,
    /// This process's locked workspace folder.
    workspaces: Arc<WorkspaceRoot>,
    project: String,
    secrets_provider: String,
}

impl LocalExecutor {
    /// Locates and version-checks the CLI (`BYOC_PULUMI_BIN`, else `PATH`), creates
    /// `PULUMI_HOME`, the workspace parent (both 0700) and the default `file://` state
    /// directory, removes workspaces a crash left behind, and loads (or generates once, into
    /// `<data dir>/pulumi.passphrase`) the passphrase when `PULUMI_CONFIG_PASSPHRASE` is unset.
    pub async fn new(
        settings: &Settings,
        aws: PlatformAws,
        env: EnvSnapshot,
    ) -> Result<Self, LocalSetupError> {
        Self::with_extra_env(settings, aws, env, Vec::new()).await
    }

    /// [`LocalExecutor::new`] plus variables given to every CLI child. Only for the pulumi
    /// stand-in's `PULUMI_STANDIN_*` knobs: tests pass fault injection this way, and the
    /// simulated engine its step delay; a real CLI gets none (its environment is an allowlist).
    pub async fn with_extra_env(
        settings: &Settings,
        aws: PlatformAws,
        env: EnvSnapshot,
        extra_env: Vec<(String, String)>,
    ) -> Result<Self, LocalSetupError> {
        let prepared = setup::prepare(settings, env.clone(), extra_env)?;
        let runner = Runner::new(prepared.runner).await?;
        log_ready(&runner, runner.version());
        let probe = Arc::new(tokio::sync::OnceCell::new_with(Some(Ok(()))));
        Ok(Self::assemble(
            settings,
            aws,
            env,
            prepared.workspaces,
            runner,
            probe,
        ))
    }

    /// Like [`LocalExecutor::new`], without waiting for `pulumi version`: the CLI is located
    /// now (a missing one is an error at once) and its version checked by the first
    /// [`Executor::ready`] call, which resolves once the check is done; a failed check fails
    /// every operation with its reason. `byoc serve` starts its workers, whose first step is
    /// that call, only after the HTTP server is up: the CLI's start-up (a process of its own,
    /// ~190 ms of CPU with the test stand-in) does not compete with the server's on a small
    /// machine (issue 16, cold start).
    pub fn start(
        settings: &Settings,
        aws: PlatformAws,
        env: EnvSnapshot,
    ) -> Result<Self, LocalSetupError> {
        let prepared = setup::prepare(settings, env.clone(), Vec::new())?;
        let runner = Runner::locate(prepared.runner)?;
        let probe = Arc::new(tokio::sync::OnceCell::new());
        Ok(Self::assemble(
            settings,
            aws,
            env,
            prepared.workspaces,
            runner,
            probe,
        ))
    }

    fn assemble(
        settings: &Settings,
        aws: PlatformAws,
        env: EnvSnapshot,
        workspaces: WorkspaceRoot,
        runner: Runner,
        probe: Arc<tokio::sync::OnceCell<Result<(), String>>>,
    ) -> Self {
        Self {
            runner,
            probe,
            aws,
            preflight: Arc::new(PreflightCache::new()),
            programs: Arc::default(),
            env,
            workspaces: Arc::new(workspaces),
            project: settings.pulumi.project.clone(),
            secrets_provider: settings.pulumi.secrets_provider.clone(),
        }
    }

    /// The CLI driver in use.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Where this process creates its per-operation workspaces.
    pub fn workspace_dir(&self) -> &std::path::Path {
        self.workspaces.dir()
    }
}

fn log_ready(runner: &Runner, version: crate::pulumi::Version) {
    tracing::info!(
        pulumi.bin = %runner.bin().display(),
        pulumi.version = %version,
        "local executor ready"
    );
}

#[async_trait]
impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn ready(&self) -> Result<(), String> {
        self.probe
            .get_or_init(|| async {
                match self.runner.probe().await {
                    Ok(version) => {
                        log_ready(&self.runner, version);
                        Ok(())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "operations cannot run on this server");
                        Err(e.to_string())
                    }
                }
            })
            .await
            .clone()
    }

    async fn run(&self, job: OperationJob, sink: EventSink, cancel: CancellationToken) -> Outcome {
        if let Err(reason) = self.ready().await {
            return Outcome::Failed {
                message: format!("no executor can run operations on this server: {reason}"),
                summary: std::collections::BTreeMap::new(),
                retryable: false,
            };
        }
        let span = tracing::info_span!(
            "local_executor",
            operation.id = %job.operation_id,
            operation.kind = %job.kind,
            stack = %job.stack,
            attempt = job.attempt
        );
        async {
            let started = std::time::Instant::now();
            let outcome = match operation::run(self, &job, &sink, &cancel).await {
                Ok(outcome) => outcome,
                Err(e) => e.into_outcome(),
            };
            if !matches!(outcome, Outcome::Succeeded { .. }) {
                // The role may be why (AccessDenied, ExpiredToken): the next run checks it.
                self.preflight.forget(&prepare::role_target(&job));
            }
            tracing::info!(
                duration_ms = started.elapsed().as_millis() as u64,
                outcome = outcome::label(&outcome),
                "operation finished"
            );
            outcome
        }
        .instrument(span)
        .await
    }

    async fn check_drift(
        &self,
        job: OperationJob,
        cancel: CancellationToken,
    ) -> Result<Vec<crate::domain::drift::DriftedResource>, String> {
        let span = tracing::info_span!("local_drift_check", stack = %job.stack);
        drift::check(self, &job, &cancel)
            .instrument(span)
            .await
            .map_err(|e| match e.into_outcome() {
                Outcome::Failed { message, .. } => message,
                Outcome::Cancelled { reason, .. } => reason,
                Outcome::Succeeded { .. } => "the drift check failed".to_owned(),
            })
    }

    async fn recover(&self, job: &OperationJob) -> Result<Vec<EngineEventRecord>, RecoverError> {
        if self.ready().await.is_err() {
            // Nothing can run here; the operation fails when run, like on an unavailable
            // executor.
            return Ok(Vec::new());
        }
        let span = tracing::info_span!("local_recover", operation.id = %job.operation_id, stack = %job.stack);
        recover::recover(self, job).instrument(span).await
    }
}
