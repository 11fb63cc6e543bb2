//! Runs one stack operation. The worker hands an `OperationJob` to an `Executor`, which
//! renders and validates the program, runs it (locally with the pulumi CLI, or on Pulumi
//! Deployments), streams engine events to an `EventSink`, and answers with an `Outcome`.

use std::collections::BTreeMap;
use std::time::Duration;

mod unavailable;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod deployments;

pub use deployments::{
    ACCEPT as DEPLOYMENTS_ACCEPT, ADOPTED_EVENT as DEPLOYMENT_ADOPTED_EVENT, AWS_CONFIG_PATH,
    AWS_CONFIG_VAR, DeploymentsConfig, DeploymentsError, DeploymentsExecutor, EXTERNAL_ID_VAR,
    INITIATOR as DEPLOYMENTS_INITIATOR, LOG_EVENT, PRE_RUN_COMMANDS, PROGRAM_VAR, RetryPolicy,
    STACK_VAR, Source,
};
pub use unavailable::UnavailableExecutor;

use crate::domain::config::EnvironmentConfig;
use crate::domain::{AwsAccountId, AwsRegion, EnvName, OperationKind, RoleArn, Slug, StackName};

mod local;
mod simulated;
pub use local::{
    LOCK_CLEARED_EVENT, LocalError, LocalExecutor, LocalSetupError, OUTPUTS_UNAVAILABLE_EVENT,
    PASSPHRASE_FILE, PENDING_CREATES_EVENT, PENDING_RESOLVED_EVENT, PROTECTION_OFF_EVENT,
    UNDECODABLE_EVENT,
};
pub use simulated::{
    DEFAULT_STEP_DELAY as SIMULATED_STEP_DELAY, NOTICE as SIMULATED_NOTICE, SIMULATED_EVENT,
    STANDIN_IDENTITY, STANDIN_IN_CHECKOUT, STANDIN_IN_IMAGE, SimulatedExecutor,
    SimulatedSetupError, check_standin, local_aws as simulated_aws, local_env as simulated_env,
    locate_standin,
};

/// Everything an executor needs to run one operation. Holds the external ID: never log it.
#[derive(Debug, Clone)]
pub struct OperationJob {
    /// Operation id (names the AWS session and the workspace).
    pub operation_id: String,
    /// What to do.
    pub kind: OperationKind,
    /// Which run of this operation (1 first; more after a recovery).
    pub attempt: i32,
    /// The stack.
    pub stack: StackName,
    /// Tenant slug.
    pub slug: Slug,
    /// Environment.
    pub env: EnvName,
    /// Tenant account.
    pub account: AwsAccountId,
    /// Tenant region.
    pub region: AwsRegion,
    /// Role the AWS provider assumes.
    pub role_arn: RoleArn,
    /// The tenant's external ID (decrypted only for the run).
    pub external_id: SecretString,
    /// The resolved config to apply (the version recorded on the operation).
    pub config: EnvironmentConfig,
    /// Executor-side reference recorded by an earlier attempt (e.g. a Deployments id), so a
    /// recovered operation follows the same remote run.
    pub external_ref: Option<String>,
    /// When following an earlier attempt's remote run: the highest engine event `sequence`
    /// already stored, so a replay of the run's events forwards only newer ones.
    pub resume_after_sequence: Option<i64>,
    /// Overall deadline of the run.
    pub timeout: Duration,
    /// What an earlier run left of the stack's workspace (its settings file), restored into
    /// this run's fresh workspace; `None` before the first run reported one.
    pub stack_settings: Option<StackSettings>,
    /// The stack's checkpoint may hold pending operations (an earlier run was killed, or its
    /// worker died): resolve them before running the engine.
    pub check_pending: bool,
    /// Change control: run a deploy as a preview that saves its plan, or apply a saved plan.
    pub plan: PlanStep,
}

/// Which half of a deploy under an approval policy a run is (issue 18).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlanStep {
    /// No saved plan: the operation's kind says what runs.
    #[default]
    None,
    /// `preview --save-plan`: report the plan file ([`SinkMessage::Plan`]); change nothing.
    Save,
    /// `up --plan`: apply exactly this saved plan.
    Apply(PlanFile),
}

/// An update plan file as `preview --save-plan` wrote it. It may hold secret inputs: its
/// `Debug` shows only its size, and byoc stores it sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct PlanFile(pub Vec<u8>);

impl std::fmt::Debug for PlanFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlanFile({} bytes)", self.0.len())
    }
}

/// What the local executor keeps about a stack's workspace between runs. The worker stores it
/// sealed and hands it back with the stack's next job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StackSettings {
    /// `Pulumi.<stack>.yaml` as the CLI left it: `secretsprovider`, `encryptedkey` or
    /// `encryptionsalt`, and the stack config (secret values encrypted by that provider).
    pub yaml: String,
    /// SHA-256 (hex) of the external ID the file's secret `externalId` was set from, so an
    /// unchanged one is not set again. Stored sealed with the file.
    #[serde(default)]
    pub external_id_sha256: Option<String>,
}

/// One engine event, raw, as the executor received it.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineEventRecord {
    /// Payload key (`resourcePreEvent`, `summaryEvent`, …) or `byoc.*` for byoc's own notes.
    pub kind: String,
    /// The whole event JSON.
    pub payload: serde_json::Value,
}

/// Where an executor sends events and executor-side references while it runs.
#[derive(Debug, Clone)]
pub struct EventSink {
    events: mpsc::Sender<SinkMessage>,
}

/// What flows from a running executor to the worker.
#[derive(Debug)]
pub enum SinkMessage {
    /// An engine event.
    Event(EngineEventRecord),
    /// The executor-side reference of this run (recorded at once, before waiting on it).
    ExternalRef(String),
    /// The stack's settings file changed: store it for the next run (recorded at once).
    StackSettings(StackSettings),
    /// Whether the stack's checkpoint may hold pending operations: `true` after a run was
    /// killed before it could resolve them, `false` once they are resolved.
    CheckPending(bool),
    /// The update plan a `PlanStep::Save` run's preview wrote (stored sealed at once).
    Plan(PlanFile),
    /// Answer `true` once everything sent before this is stored, `false` when it was not (the
    /// lease was lost, the worker is gone).
    Flush(tokio::sync::oneshot::Sender<bool>),
}

impl EventSink {
    /// A sink and the receiving end the worker drains.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<SinkMessage>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { events: tx }, rx)
    }

    /// Sends an event; waits when the worker is behind (back-pressure instead of loss).
    pub async fn event(&self, kind: impl Into<String>, payload: serde_json::Value) {
        // A closed receiver means the worker gave the operation up; the executor is being
        // cancelled too, so dropping the event is correct.
        let _ = self
            .events
            .send(SinkMessage::Event(EngineEventRecord {
                kind: kind.into(),
                payload,
            }))
            .await;
    }

    /// Reports the stack's settings file, to be restored into the next run's workspace.
    pub async fn stack_settings(&self, settings: StackSettings) {
        let _ = self.events.send(SinkMessage::StackSettings(settings)).await;
    }

    /// Reports whether the stack may hold pending operations (see [`SinkMessage`]).
    pub async fn check_pending(&self, on: bool) {
        let _ = self.events.send(SinkMessage::CheckPending(on)).await;
    }

    /// Waits until everything sent so far is stored. `false`: it was not, and will not be
    /// (lease lost, worker gone), so the run must not act on it (e.g. create what the stored
    /// note was meant to protect).
    pub async fn flush(&self) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.events.send(SinkMessage::Flush(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Reports the update plan a `PlanStep::Save` run's preview wrote.
    pub async fn plan(&self, plan: PlanFile) {
        let _ = self.events.send(SinkMessage::Plan(plan)).await;
    }

    /// Records the executor-side reference of the run.
    pub async fn external_ref(&self, reference: impl Into<String>) {
        let _ = self
            .events
            .send(SinkMessage::ExternalRef(reference.into()))
            .await;
    }
}

/// Resource change counts from the engine's summary (`create`, `update`, `delete`, `same`, …).
pub type ChangeSummary = BTreeMap<String, u64>;

pub use crate::domain::OutputValue;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It completed.
    Succeeded {
        /// Resource changes.
        summary: ChangeSummary,
        /// Stack outputs after an update (secret values included; the worker stores them
        /// encrypted or redacted).
        outputs: Option<BTreeMap<String, OutputValue>>,
    },
    /// The engine or the executor reported a failure.
    Failed {
        /// The engine's own error message (diagnostics), not just "failed".
        message: String,
        /// Resource changes made before failing, when known.
        summary: ChangeSummary,
        /// Whether running it again may help (e.g. the platform lost its connection).
        retryable: bool,
    },
    /// It was cancelled (by request, timeout or shutdown).
    Cancelled {
        /// Why.
        reason: String,
        /// Resource changes made before stopping.
        summary: ChangeSummary,
    },
}

/// Runs operations.
#[async_trait]
pub trait Executor: Send + Sync + std::fmt::Debug {
    /// Short stable name stored on each operation (`local`, `deployments`, `simulated`).
    fn name(&self) -> &'static str;

    /// True when the run happens elsewhere (Pulumi Deployments) and survives this worker: on
    /// shutdown the worker then stops following it and re-queues the operation, so the next
    /// worker follows the same run, instead of cancelling it.
    fn runs_remotely(&self) -> bool {
        false
    }

    /// Resolves once the executor knows whether it can run operations: the local one checks
    /// the CLI's version in the background so the server is ready without waiting for it.
    /// Workers claim nothing before. `Err` is why not; every run then fails with it.
    async fn ready(&self) -> Result<(), String> {
        Ok(())
    }

    /// Runs `job` to the end. `cancel` is triggered by an API cancel, the timeout or a
    /// shutdown: the executor then stops gracefully and answers `Outcome::Cancelled`. When the
    /// run must stop at once (its lease was lost), the worker drops this future instead.
    async fn run(&self, job: OperationJob, sink: EventSink, cancel: CancellationToken) -> Outcome;

    /// Drift detection (issue 18): a refresh preview of `job`'s stack, changing nothing and
    /// holding no lock; the resources whose cloud state differs from the stack's. The default
    /// says the executor cannot (Pulumi Deployments has no such run that byoc drives).
    async fn check_drift(
        &self,
        job: OperationJob,
        cancel: CancellationToken,
    ) -> Result<Vec<crate::domain::drift::DriftedResource>, String> {
        let _ = (job, cancel);
        Err(format!("the {} executor cannot check drift", self.name()))
    }

    /// Makes a stack usable again after a worker died while running `job` on it: clears the
    /// backend lock (`pulumi cancel`) or checks the remote run. Must be idempotent. Returns
    /// notes for the operation's event log.
    async fn recover(&self, job: &OperationJob) -> Result<Vec<EngineEventRecord>, RecoverError>;
}

/// Why a stack could not be made usable again after its worker died.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// `pulumi cancel` (or the workspace it runs in) failed; the stack may still be locked.
    #[error("clearing the stack lock with `pulumi cancel` failed: {0}")]
    ClearLock(#[from] crate::pulumi::PulumiError),
    /// `pulumi cancel` found no stack, and deleting the lock files a killed `stack init` left
    /// on it failed (`crate::pulumi::diy_locks`).
    #[error("removing the lock files of a stack that does not exist failed: {0}")]
    RemoveLocks(#[source] crate::pulumi::diy_locks::LockClearError),
    /// Removing the workspaces of dead processes failed.
    #[error("removing dead processes' workspaces failed: {0}")]
    Workspaces(crate::pulumi::PulumiError),
    /// The lock's holder is still running on this host after every grace period.
    #[error("the pulumi process {pid} on {host} still holds the stack lock; not clearing it")]
    HolderAlive {
        /// Its pid.
        pid: i32,
        /// Its host.
        host: String,
    },
}

/// The executor the settings ask for, with the platform's AWS identity of [`platform_aws`].
/// Async: the local executor probes the CLI in the background, at its first `ready`.
pub async fn build(
    settings: &crate::settings::Settings,
    env: &crate::pulumi::EnvSnapshot,
) -> anyhow::Result<std::sync::Arc<dyn Executor>> {
    build_with_aws(settings, env, platform_aws(settings).await).await
}

/// [`build`] with the platform's AWS identity the caller already loaded, so that a process
/// loads it once (the provider chain's resolution and the SDK's HTTPS client with its CA
/// roots: issue 16, start-up and idle RSS). The simulated executor keeps its own (the same
/// dummy credentials).
pub async fn build_with_aws(
    settings: &crate::settings::Settings,
    env: &crate::pulumi::EnvSnapshot,
    aws: crate::cloud::PlatformAws,
) -> anyhow::Result<std::sync::Arc<dyn Executor>> {
    match settings.pulumi.executor {
        crate::settings::ExecutorKind::Local => build_local(settings, env, aws),
        crate::settings::ExecutorKind::Simulated => simulated::build(settings, env).await,
        crate::settings::ExecutorKind::Deployments => {
            Ok(std::sync::Arc::new(deployments::build(settings, aws)?))
        }
        crate::settings::ExecutorKind::Auto => {
            let path = env.get("PATH").map(std::ffi::OsStr::new);
            match crate::pulumi::locate(settings.pulumi.bin.as_deref(), path) {
                Ok(_) => build_local(settings, env, aws),
                Err(_) if settings.deployments.is_configured() => {
                    Ok(std::sync::Arc::new(deployments::build(settings, aws)?))
                }
                Err(e) => Ok(std::sync::Arc::new(UnavailableExecutor::new(format!(
                    "BYOC_EXECUTOR=auto found no pulumi CLI ({e}; set BYOC_PULUMI_BIN or install \
                     pulumi) and Pulumi Deployments is not configured (set PULUMI_ACCESS_TOKEN \
                     and BYOC_PULUMI_ORG)"
                )))),
            }
        }
    }
}

/// The provider plugins' state, when this process may run the CLI itself (any executor but
/// Deployments, and the simulated engine, whose stand-in needs no plugin).
pub fn plugin_status(settings: &crate::settings::Settings) -> Option<crate::pulumi::PluginStatus> {
    if matches!(
        settings.pulumi.executor,
        crate::settings::ExecutorKind::Deployments | crate::settings::ExecutorKind::Simulated
    ) {
        return None;
    }
    let home = settings.pulumi.home(&settings.data.dir);
    Some(crate::pulumi::PluginStatus::inspect(
        &home,
        settings.pulumi.automatic_plugin_acquisition,
    ))
}

/// The platform's AWS identity (the role pre-flight's caller): the provider chain, or in
/// simulated mode moto's dummy credentials (never the provider chain: it could find real ones).
pub async fn platform_aws(settings: &crate::settings::Settings) -> crate::cloud::PlatformAws {
    if settings.is_simulated() {
        return simulated_aws(settings).await;
    }
    crate::cloud::PlatformAws::from_provider_chain(crate::cloud::AwsClientOptions::from_settings(
        crate::domain::AwsRegion::default(),
        &settings.aws,
    ))
    .await
}

/// The local executor, with the platform's AWS identity.
fn build_local(
    settings: &crate::settings::Settings,
    env: &crate::pulumi::EnvSnapshot,
    aws: crate::cloud::PlatformAws,
) -> anyhow::Result<std::sync::Arc<dyn Executor>> {
    // The CLI's version is checked in the background (`Executor::ready`): `pulumi version`
    // costs a process start-up that readiness need not wait for.
    let local = LocalExecutor::start(settings, aws, env.clone())?;
    Ok(std::sync::Arc::new(local))
}
