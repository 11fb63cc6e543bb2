//! The create-deployment request (`inheritSettings: false`): everything the hosted runner
//! needs, with every tenant value carried as a *secret* environment variable and a fixed list
//! of pre-run commands that is byte-identical for every tenant, so no tenant value ever
//! becomes command text (the prior art pasted config values into `pulumi config set`).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::{DeploymentsConfig, DeploymentsError, Source};
use crate::cloud::profile::DEFAULT_SESSION_SECONDS;
use crate::cloud::{SessionName, TenantProfile, render_profile};
use crate::domain::OperationKind;
use crate::executor::OperationJob;
use crate::program::Program;

/// Secret variable holding the rendered program, base64.
pub const PROGRAM_VAR: &str = "BYOC_PROGRAM_B64";
/// Secret variable holding the AWS shared-config file (profile `byoc-tenant`), base64.
pub const AWS_CONFIG_VAR: &str = "BYOC_AWS_CONFIG_B64";
/// Secret variable holding the tenant external ID.
pub const EXTERNAL_ID_VAR: &str = "BYOC_EXTERNAL_ID";
/// Secret variable holding the fully qualified stack name (it names the tenant).
pub const STACK_VAR: &str = "BYOC_STACK";
/// Where the runner's AWS shared-config file is written (`AWS_CONFIG_FILE`).
pub const AWS_CONFIG_PATH: &str = "/tmp/byoc/aws-config";

/// The pre-run commands, identical for every tenant and operation: values only arrive
/// through the secret variables above, expanded inside double quotes (no word splitting, no
/// re-evaluation). 1: the program replaces the source's `Pulumi.yaml`; 2: the tenant profile
/// is written 0600; 3: the external ID becomes secret stack config through stdin.
pub const PRE_RUN_COMMANDS: [&str; 3] = [
    "printf '%s' \"$BYOC_PROGRAM_B64\" | base64 -d > Pulumi.yaml",
    "umask 077 && mkdir -p /tmp/byoc && printf '%s' \"$BYOC_AWS_CONFIG_B64\" | base64 -d > /tmp/byoc/aws-config",
    "printf '%s' \"$BYOC_EXTERNAL_ID\" | pulumi config set --secret --stack \"$BYOC_STACK\" externalId",
];

/// Largest encoded program accepted: Linux refuses one environment string over 128 KiB.
pub const MAX_PROGRAM_B64: usize = 120 * 1024;

/// A create-deployment body. Holds secrets: its `Debug` prints nothing of it.
pub struct CreateRequest(pub Value);

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreateRequest([redacted])")
    }
}

/// The `operation` Pulumi Deployments runs for `kind`.
pub fn operation(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Preview => "preview",
        OperationKind::Update => "update",
        OperationKind::Refresh => "refresh",
        OperationKind::Destroy => "destroy",
        // Recorded finished by the queue; no worker ever claims one.
        OperationKind::Forget => unreachable!("a forget operation is never run"),
    }
}

/// Builds the request for `job` running `program` on stack `qualified_stack`.
pub fn create_request(
    job: &OperationJob,
    program: &Program,
    qualified_stack: &str,
    config: &DeploymentsConfig,
) -> Result<CreateRequest, DeploymentsError> {
    let program_b64 = STANDARD.encode(program.yaml());
    if program_b64.len() > MAX_PROGRAM_B64 {
        return Err(DeploymentsError::ProgramTooLarge {
            bytes: program_b64.len(),
            max: MAX_PROGRAM_B64,
        });
    }
    let session = SessionName::for_operation(operation(job.kind), job.stack.as_str());
    let profile = render_profile(
        &TenantProfile {
            role_arn: &job.role_arn,
            external_id: &job.external_id,
            session_name: &session,
            region: &job.region,
            duration_seconds: DEFAULT_SESSION_SECONDS,
        },
        &runner_env(),
    )?;

    let mut env = Map::new();
    env.insert(PROGRAM_VAR.into(), secret(&program_b64));
    env.insert(
        AWS_CONFIG_VAR.into(),
        secret(&STANDARD.encode(profile.expose_secret())),
    );
    env.insert(
        EXTERNAL_ID_VAR.into(),
        secret(job.external_id.expose_secret()),
    );
    env.insert(STACK_VAR.into(), secret(qualified_stack));
    env.insert(
        "AWS_CONFIG_FILE".into(),
        Value::String(AWS_CONFIG_PATH.into()),
    );
    env.insert(
        "PULUMI_SKIP_UPDATE_CHECK".into(),
        Value::String("true".into()),
    );

    let mut operation_context = json!({
        "preRunCommands": PRE_RUN_COMMANDS,
        "options": { "skipInstallDependencies": true },
    });
    match (&config.oidc_role_arn, &config.static_keys) {
        (Some(role), _) => {
            operation_context["oidc"] = json!({
                "aws": {
                    "roleArn": role,
                    "sessionName": SessionName::for_operation("deployments", &job.operation_id).as_str(),
                }
            });
        }
        (None, Some((key_id, secret_key))) => {
            env.insert("AWS_ACCESS_KEY_ID".into(), secret(key_id.expose_secret()));
            env.insert(
                "AWS_SECRET_ACCESS_KEY".into(),
                secret(secret_key.expose_secret()),
            );
        }
        (None, None) => {
            return Err(DeploymentsError::NotConfigured(
                "the runner has no AWS credentials: set BYOC_DEPLOYMENTS_OIDC_ROLE_ARN (or \
                 BYOC_DEPLOYMENTS_AWS_ACCESS_KEY_ID and BYOC_DEPLOYMENTS_AWS_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        }
    }
    operation_context["environmentVariables"] = Value::Object(env);

    let source_context = match &config.source {
        Source::Template { url } => json!({ "template": { "sourceUrl": url } }),
        Source::Git { url, branch } => json!({ "git": { "repoURL": url, "branch": branch } }),
    };
    let mut body = json!({
        "operation": operation(job.kind),
        "inheritSettings": false,
        "sourceContext": source_context,
        "operationContext": operation_context,
    });
    if let Some(image) = &config.executor_image {
        body["executorContext"] = json!({ "executorImage": image });
    }
    Ok(CreateRequest(body))
}

fn secret(value: &str) -> Value {
    json!({ "secret": value })
}

/// On the runner, OIDC (or static keys) arrive as environment credentials with a session
/// token, so the profile sources them from the environment and the tenant session is
/// role chaining (capped at one hour). Only the shape matters: values are placeholders.
fn runner_env() -> HashMap<String, String> {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), "runner".to_owned()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::CONFIG_EXTERNAL_ID;

    #[test]
    fn pre_run_commands_use_only_byoc_variables() {
        assert!(PRE_RUN_COMMANDS[2].ends_with(CONFIG_EXTERNAL_ID));
        assert!(PRE_RUN_COMMANDS[1].contains(AWS_CONFIG_PATH));
        for cmd in PRE_RUN_COMMANDS {
            for var in cmd.split('$').skip(1) {
                let name: String = var
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    [PROGRAM_VAR, AWS_CONFIG_VAR, EXTERNAL_ID_VAR, STACK_VAR]
                        .contains(&name.as_str()),
                    "{cmd} expands {name}"
                );
            }
        }
    }
}
