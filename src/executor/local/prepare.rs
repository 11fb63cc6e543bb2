//! Before the engine runs: render and validate the program, check the tenant role, and open
//! the stack in a private workspace holding the program, the tenant AWS profile and the stack
//! config (the external ID as a secret on stdin).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use super::LocalExecutor;
use super::outcome::LocalError;
use crate::cloud::profile::DEFAULT_SESSION_SECONDS;
use crate::cloud::{RoleTarget, SessionName, TenantProfile, preflight_role, render_profile};
use crate::domain::config::EnvironmentConfig;
use crate::executor::OperationJob;
use crate::program::{
    CONFIG_EXTERNAL_ID, CONFIG_SESSION_NAME, Program, RenderInput, render_checked,
};
use crate::pulumi::{CancelToken, ConfigValue, RunControl, Workspace};

/// Name of the AWS shared-config file inside the workspace (`AWS_CONFIG_FILE`).
pub(super) const AWS_CONFIG_NAME: &str = "aws-config";

/// Controls shared by every CLI call of one run: the cancel token, the run's overall deadline,
/// and the workspace's environment (`AWS_CONFIG_FILE`).
#[derive(Debug, Clone)]
pub(super) struct Control {
    pub cancel: CancelToken,
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
        }
    }
}

/// Renders `config` for the job's stack and validates the result against the schema.
pub(super) fn render_program(
    exec: &LocalExecutor,
    job: &OperationJob,
    config: &EnvironmentConfig,
) -> Result<Program, LocalError> {
    Ok(render_checked(&RenderInput {
        stack: &job.stack,
        slug: &job.slug,
        env: &job.env,
        account_id: &job.account,
        region: &job.region,
        tenant_role_arn: &job.role_arn,
        project: &exec.project,
        config,
    })?)
}

/// `sts:AssumeRole` with the external ID, session `byoc-<kind>-<stack>`: a bad role fails here,
/// clearly, instead of deep inside the AWS provider.
pub(super) async fn preflight(exec: &LocalExecutor, job: &OperationJob) -> Result<(), LocalError> {
    let target = RoleTarget {
        account: job.account.clone(),
        region: job.region.clone(),
        role_arn: job.role_arn.clone(),
        external_id: job.external_id.clone(),
    };
    let session = SessionName::for_operation(job.kind.as_str(), job.stack.as_str());
    preflight_role(&exec.aws, &target, &session).await?;
    Ok(())
}

/// The session name the AWS provider and the kubeconfig use:
/// `byoc-<kind>-<operation id prefix>-<stack>`, cut to 64 characters (the operation id comes
/// first so the cut never loses it).
pub(super) fn provider_session(job: &OperationJob) -> SessionName {
    let prefix: String = job.operation_id.chars().take(8).collect();
    SessionName::for_operation(job.kind.as_str(), &format!("{prefix}-{}", job.stack))
}

/// A workspace with the stack selected (or created) and configured.
#[derive(Debug)]
pub(super) struct OpenStack {
    /// The workspace; removed when this is dropped.
    pub ws: Workspace,
    /// Controls for every CLI call in this workspace.
    pub control: Control,
}

/// Creates the workspace for `program`, writes the tenant profile (0600) and points the CLI at
/// it, selects or creates the stack, and sets `externalId` (secret, stdin) and `sessionName`.
pub(super) async fn open_stack(
    exec: &LocalExecutor,
    job: &OperationJob,
    program: &Program,
    cancel: &CancelToken,
    deadline: Instant,
) -> Result<OpenStack, LocalError> {
    let ws = Workspace::create(&exec.workspace_dir, program.yaml())?;
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
    let created = runner
        .select_or_create_stack(
            &ws,
            &job.stack,
            &exec.secrets_provider,
            &control.run_control(),
        )
        .await?;
    if created {
        tracing::info!(secrets.provider = %exec.secrets_provider, "created the stack");
    }
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
    let session = ConfigValue::Plain(session.to_string());
    runner
        .set_config(
            &ws,
            &job.stack,
            CONFIG_SESSION_NAME,
            &session,
            false,
            &control.run_control(),
        )
        .await?;
    Ok(OpenStack { ws, control })
}
