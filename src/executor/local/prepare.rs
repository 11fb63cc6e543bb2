//! Before the engine runs: render and validate the program, check the tenant role, and open
//! the stack in a private workspace holding the program, the tenant AWS profile and the stack
//! config (the external ID as a secret on stdin).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use super::LocalExecutor;
use super::outcome::LocalError;
use super::settings_file;
use crate::cloud::profile::DEFAULT_SESSION_SECONDS;
use crate::cloud::{RoleTarget, SessionName, TenantProfile, preflight_role, render_profile};
use crate::domain::config::EnvironmentConfig;
use crate::executor::{EventSink, OperationJob, StackSettings};
use crate::program::{
    CONFIG_EXTERNAL_ID, CONFIG_SESSION_NAME, Program, RenderInput, render_checked,
};
use tokio_util::sync::CancellationToken;

use crate::pulumi::{ConfigValue, RunControl, Workspace};

/// Name of the AWS shared-config file inside the workspace (`AWS_CONFIG_FILE`).
pub(super) const AWS_CONFIG_NAME: &str = "aws-config";

/// Controls shared by every CLI call of one run: the cancel token, the run's overall deadline,
/// and the workspace's environment (`AWS_CONFIG_FILE`).
#[derive(Debug, Clone)]
pub(super) struct Control {
    pub cancel: CancellationToken,
    pub deadline: Instant,
    pub extra_env: Vec<(String, String)>,
}

impl Control {
    /// The driver control for the next CLI call: what is left of the deadline.
    pub fn run_control(&self) -> RunControl {
        let left = self.deadline.saturating_duration_since(Instant::now());
        RunControl {
            cancel: Some(self.cancel.clone()),
            // Zero would mean "no time at all"; the driver then reports a timeout at once.
            timeout: Some(left.max(Duration::from_millis(1))),
            output: None,
            extra_env: self.extra_env.clone(),
            exited_ok: None,
        }
    }
}

/// Renders `config` for the job's stack and validates the result against the schema, or
/// takes the program rendered before from an equal input (`program_cache`).
pub(super) fn render_program(
    exec: &LocalExecutor,
    job: &OperationJob,
    config: &EnvironmentConfig,
) -> Result<Program, LocalError> {
    let input = RenderInput {
        stack: &job.stack,
        slug: &job.slug,
        env: &job.env,
        account_id: &job.account,
        region: &job.region,
        tenant_role_arn: &job.role_arn,
        project: &exec.project,
        config,
    };
    Ok(exec
        .programs
        .get_or_render(&input, || render_checked(&input))?)
}

/// The tenant role `job` runs with.
pub(super) fn role_target(job: &OperationJob) -> RoleTarget {
    RoleTarget {
        account: job.account.clone(),
        region: job.region.clone(),
        role_arn: job.role_arn.clone(),
        external_id: job.external_id.clone(),
    }
}

/// `sts:AssumeRole` with the external ID, session `byoc-<kind>-<stack>`: a bad role fails here,
/// clearly, instead of deep inside the AWS provider. A role that passed recently with the same
/// external ID is not checked again (`cloud::preflight_cache`: until shortly before the checked
/// session would expire, or until a run with it fails).
pub(super) async fn preflight(exec: &LocalExecutor, job: &OperationJob) -> Result<(), LocalError> {
    let target = role_target(job);
    if exec.preflight.stands(&target, Instant::now()) {
        tracing::debug!("tenant role passed its check recently; not checked again");
        return Ok(());
    }
    let session = SessionName::for_operation(job.kind.as_str(), job.stack.as_str());
    let (now, now_utc) = (Instant::now(), chrono::Utc::now());
    let report = preflight_role(&exec.aws, &target, &session).await?;
    exec.preflight
        .passed(&target, now, now_utc, report.session_expires_at);
    Ok(())
}

/// The session name the AWS provider and the kubeconfig use:
/// `byoc-<kind>-<operation id prefix>-<stack>`, cut to 64 characters (the operation id comes
/// first so the cut never loses it).
pub(super) fn provider_session(job: &OperationJob) -> SessionName {
    let prefix: String = job.operation_id.chars().take(8).collect();
    SessionName::for_operation(job.kind.as_str(), &format!("{prefix}-{}", job.stack))
}

/// A workspace with the stack's settings file and config in place.
#[derive(Debug)]
pub(super) struct OpenStack {
    /// The workspace; removed when this is dropped.
    pub ws: Workspace,
    /// Controls for every CLI call in this workspace.
    pub control: Control,
    /// The settings file came from an earlier run: the stack may still be missing from the
    /// backend (its state was removed), which the first engine command then reports.
    pub restored: bool,
    /// The settings file as last reported to the worker.
    pub reported: Option<StackSettings>,
    /// SHA-256 of the external ID the file's secret was set from.
    pub external_id_sha256: String,
}

/// Creates the workspace for `program`, writes the tenant profile (0600) and points the CLI at
/// it, restores the stack's settings file from the job (or creates the stack: `stack init`),
/// writes the session name into it, and sets the secret `externalId` (stdin) only when the
/// file was not set from this external ID. A day-2 run thus starts no CLI process here.
pub(super) async fn open_stack(
    exec: &LocalExecutor,
    job: &OperationJob,
    program: &Program,
    cancel: &CancellationToken,
    deadline: Instant,
    sink: Option<&EventSink>,
) -> Result<OpenStack, LocalError> {
    let ws = Workspace::create(exec.workspaces.dir(), program.yaml())?;
    let session = provider_session(job);
    let env: HashMap<String, String> = exec.env.vars().iter().cloned().collect();
    let profile = render_profile(
        &TenantProfile {
            role_arn: &job.role_arn,
            external_id: &job.external_id,
            session_name: &session,
            region: &job.region,
            duration_seconds: DEFAULT_SESSION_SECONDS,
        },
        &env,
    )?;
    let config_file = ws.write_private_file(AWS_CONFIG_NAME, profile.expose_secret().as_bytes())?;
    // Only the config file: AWS_PROFILE stays unset so the state backend keeps the worker's
    // own credentials; the program's provider assumes the tenant role itself, and the
    // kubeconfig's token command names the `byoc-tenant` profile.
    let control = Control {
        cancel: cancel.clone(),
        deadline,
        extra_env: vec![(
            "AWS_CONFIG_FILE".to_owned(),
            config_file.display().to_string(),
        )],
    };
    let runner = &exec.runner;
    let restored = job.stack_settings.is_some();
    match &job.stack_settings {
        Some(stored) => ws.write_stack_settings(&job.stack, &stored.yaml)?,
        None => {
            let provider = &exec.secrets_provider;
            let created = runner
                .init_stack(&ws, &job.stack, provider, &control.run_control())
                .await?;
            tracing::info!(created, secrets.provider = %provider, "stack initialised");
        }
    }
    settings_file::set_plain(
        &ws,
        &job.stack,
        &exec.project,
        CONFIG_SESSION_NAME,
        session.as_str(),
    )?;
    let external_id_sha256 = settings_file::digest(&job.external_id);
    let stored_digest = job
        .stack_settings
        .as_ref()
        .and_then(|s| s.external_id_sha256.as_deref());
    if stored_digest != Some(external_id_sha256.as_str()) {
        let external_id = ConfigValue::Secret(job.external_id.clone());
        runner
            .set_config(
                &ws,
                &job.stack,
                CONFIG_EXTERNAL_ID,
                &external_id,
                false,
                &control.run_control(),
            )
            .await?;
    }
    let mut open = OpenStack {
        ws,
        control,
        restored,
        reported: job.stack_settings.clone(),
        external_id_sha256,
    };
    if let Some(sink) = sink {
        // At once: a worker that dies during the engine run must not lose a new stack's
        // secrets provider or salt.
        report_settings(exec, job, &mut open, sink).await?;
    }
    Ok(open)
}

/// Sends the workspace's settings file to the worker when it differs from the last one sent.
pub(super) async fn report_settings(
    exec: &LocalExecutor,
    job: &OperationJob,
    open: &mut OpenStack,
    sink: &EventSink,
) -> Result<(), LocalError> {
    let digest = Some(open.external_id_sha256.clone());
    let now = settings_file::snapshot(&open.ws, &job.stack, &exec.project, digest)?;
    if let Some(now) = now
        && open.reported.as_ref() != Some(&now)
    {
        sink.stack_settings(now.clone()).await;
        open.reported = Some(now);
    }
    Ok(())
}
