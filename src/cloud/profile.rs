//! The AWS shared-config file a pulumi workspace gets: profile `byoc-tenant` assumes the tenant
//! role (with external ID and a session name naming the operation) from the worker's own
//! credentials. The program's kubeconfig runs `aws eks get-token --profile byoc-tenant`
//! with it, so Kubernetes tokens are the tenant's and refresh during long runs (the AWS
//! provider assumes the role through its own `assumeRoles` config).
//! Pure: the worker's environment comes in as a snapshot; the caller writes the file (0600).

use std::collections::HashMap;
use std::fmt::Write as _;

use secrecy::{ExposeSecret, SecretString};

use super::external_id::{ExternalIdError, check_external_id};
use super::session::SessionName;
use crate::domain::aws::{AwsRegion, RoleArn};

/// The tenant profile: named by the `--profile` argument of the kubeconfig's
/// `aws eks get-token` (the program's [`crate::program::TENANT_AWS_PROFILE`]).
pub const TENANT_PROFILE: &str = "byoc-tenant";
/// The helper profile holding the worker's web-identity setup.
pub const PLATFORM_PROFILE: &str = "byoc-platform";
/// Default tenant session length. Sessions assumed from role credentials (web identity,
/// ECS/EKS, instance profile) are role chaining, which AWS caps at one hour.
pub const DEFAULT_SESSION_SECONDS: u32 = 3600;

/// Where the worker's own credentials come from, as the AWS SDKs name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` in the environment.
    Environment,
    /// A web-identity token file (EKS IRSA, Pulumi Deployments OIDC…) and the role it assumes.
    WebIdentity {
        /// `AWS_WEB_IDENTITY_TOKEN_FILE`.
        token_file: String,
        /// `AWS_ROLE_ARN`.
        role_arn: String,
        /// `AWS_ROLE_SESSION_NAME`, if set.
        session_name: Option<String>,
    },
    /// The ECS / EKS Pod Identity container credentials endpoint.
    EcsContainer,
    /// The EC2 instance profile.
    Ec2InstanceMetadata,
}

/// Why no profile could be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The external ID breaks the template rule.
    #[error(transparent)]
    ExternalId(#[from] ExternalIdError),
    /// The worker uses a named profile, which the workspace's own config file would hide.
    #[error(
        "the worker's credentials come from AWS_PROFILE={0}; a pulumi workspace cannot use a \
         named profile: give the worker environment, web-identity, ECS/EKS or instance credentials"
    )]
    NamedProfileUnsupported(String),
    /// Nothing in the environment names a source and instance metadata is disabled.
    #[error(
        "the worker has no AWS credential source (AWS_EC2_METADATA_DISABLED is set and no other is configured)"
    )]
    NoCredentialSource,
    /// The session length is outside what AWS allows for this source.
    #[error(
        "duration_seconds {requested} is outside 900..={max} for credentials from {source_name}"
    )]
    Duration {
        /// Requested seconds.
        requested: u32,
        /// The maximum for this source.
        max: u32,
        /// The source, for the message.
        source_name: &'static str,
    },
    /// A value from the environment cannot be written into an INI file.
    #[error("environment variable {0} contains a line break")]
    UnsafeValue(&'static str),
}

impl CredentialSource {
    /// Picks the source from a snapshot of the worker's environment, in the order of the AWS
    /// default chain: static keys, web identity, container endpoint, then instance metadata.
    pub fn detect(env: &HashMap<String, String>) -> Result<Self, ProfileError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        if get("AWS_ACCESS_KEY_ID").is_some() && get("AWS_SECRET_ACCESS_KEY").is_some() {
            return Ok(Self::Environment);
        }
        if let (Some(token_file), Some(role_arn)) =
            (get("AWS_WEB_IDENTITY_TOKEN_FILE"), get("AWS_ROLE_ARN"))
        {
            return Ok(Self::WebIdentity {
                token_file: ini_safe("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)?,
                role_arn: ini_safe("AWS_ROLE_ARN", role_arn)?,
                session_name: get("AWS_ROLE_SESSION_NAME")
                    .map(|s| ini_safe("AWS_ROLE_SESSION_NAME", s))
                    .transpose()?,
            });
        }
        if get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
            || get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        {
            return Ok(Self::EcsContainer);
        }
        if let Some(profile) = get("AWS_PROFILE").filter(|p| *p != "default") {
            return Err(ProfileError::NamedProfileUnsupported(profile.to_owned()));
        }
        if get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(ProfileError::NoCredentialSource);
        }
        Ok(Self::Ec2InstanceMetadata)
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Environment => "Environment",
            Self::WebIdentity { .. } => "WebIdentity",
            Self::EcsContainer => "EcsContainer",
            Self::Ec2InstanceMetadata => "Ec2InstanceMetadata",
        }
    }

    /// The longest tenant session AWS allows from this source: role chaining is capped at 1 h;
    /// only long-term keys (no session token) may ask for the role's maximum (12 h).
    fn max_session_seconds(&self, env: &HashMap<String, String>) -> u32 {
        let has_session_token = env.get("AWS_SESSION_TOKEN").is_some_and(|t| !t.is_empty());
        match self {
            Self::Environment if !has_session_token => 43_200,
            _ => DEFAULT_SESSION_SECONDS,
        }
    }
}

/// The tenant side of the profile.
#[derive(Debug)]
pub struct TenantProfile<'a> {
    /// Role to assume.
    pub role_arn: &'a RoleArn,
    /// The tenant's current external ID.
    pub external_id: &'a SecretString,
    /// Session name naming the operation (`byoc-up-<stack>` …).
    pub session_name: &'a SessionName,
    /// The tenant's region.
    pub region: &'a AwsRegion,
    /// Session length (see [`DEFAULT_SESSION_SECONDS`]).
    pub duration_seconds: u32,
}

/// Renders the shared-config file text for `tenant`, sourcing the worker's credentials as the
/// `env` snapshot says. Secret because it contains the external ID.
///
/// The caller writes it 0600 into the workspace and points the pulumi child at it with
/// `AWS_CONFIG_FILE`, leaving `AWS_PROFILE` unset so an `s3://` state backend keeps using the
/// worker's own credentials. Only the kubeconfig selects [`TENANT_PROFILE`], and it must do so
/// with the `--profile` argument: in the AWS CLI, access keys in the environment beat an
/// `AWS_PROFILE` variable, and only the argument disables the environment provider (aws-cli
/// v2 `awscli/botocore/credentials.py`, `awscli/clidriver.py`). Within the selected profile,
/// `credential_source = Environment` then reads those keys as the source of the role
/// assumption.
pub fn render_profile(
    tenant: &TenantProfile<'_>,
    env: &HashMap<String, String>,
) -> Result<SecretString, ProfileError> {
    check_external_id(tenant.external_id)?;
    let source = CredentialSource::detect(env)?;
    let max = source.max_session_seconds(env);
    if !(900..=max).contains(&tenant.duration_seconds) {
        return Err(ProfileError::Duration {
            requested: tenant.duration_seconds,
            max,
            source_name: source.name(),
        });
    }
    let mut out =
        String::from("# Written by byoc for one pulumi run; removed with the workspace.\n");
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "[profile {TENANT_PROFILE}]");
    let _ = writeln!(out, "role_arn = {}", tenant.role_arn);
    let _ = writeln!(out, "external_id = {}", tenant.external_id.expose_secret());
    let _ = writeln!(out, "role_session_name = {}", tenant.session_name);
    let _ = writeln!(out, "duration_seconds = {}", tenant.duration_seconds);
    let _ = writeln!(out, "region = {}", tenant.region);
    match &source {
        CredentialSource::WebIdentity {
            token_file,
            role_arn,
            session_name,
        } => {
            let _ = writeln!(out, "source_profile = {PLATFORM_PROFILE}\n");
            let _ = writeln!(out, "[profile {PLATFORM_PROFILE}]");
            let _ = writeln!(out, "web_identity_token_file = {token_file}");
            let _ = writeln!(out, "role_arn = {role_arn}");
            if let Some(name) = session_name {
                let _ = writeln!(out, "role_session_name = {name}");
            }
            let _ = writeln!(out, "region = {}", tenant.region);
        }
        other => {
            let _ = writeln!(out, "credential_source = {}", other.name());
        }
    }
    tracing::debug!(
        role.arn = %tenant.role_arn,
        aws.session_name = %tenant.session_name,
        aws.credential_source = source.name(),
        duration_s = tenant.duration_seconds,
        "rendered tenant AWS profile"
    );
    Ok(SecretString::from(out))
}

fn ini_safe(var: &'static str, value: &str) -> Result<String, ProfileError> {
    if value.contains(['\n', '\r']) {
        Err(ProfileError::UnsafeValue(var))
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests;
