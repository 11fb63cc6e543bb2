//! Checking a tenant role: AssumeRole with the tenant's external ID, then GetCallerIdentity with
//! the assumed credentials, then compare the account. Used by `verify` (onboarding) and as the
//! deploy path's pre-flight. Never logs the external ID or any credential.

use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::client::PlatformAws;
use super::error::{AwsFailure, CallContext, RoleCheckError};
use super::session::SessionName;
use crate::domain::aws::{AwsAccountId, AwsRegion, RoleArn};
use crate::domain::names::Slug;

/// Session length of a check: the STS minimum, since the credentials are only used once.
pub const CHECK_SESSION_SECONDS: i32 = 900;

/// The tenant role to check.
#[derive(Debug, Clone)]
pub struct RoleTarget {
    /// The tenant's account; the assumed identity must belong to it.
    pub account: AwsAccountId,
    /// The tenant's region (its regional STS endpoint is used).
    pub region: AwsRegion,
    /// The role to assume.
    pub role_arn: RoleArn,
    /// The tenant's current external ID.
    pub external_id: SecretString,
}

/// What a successful check established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleCheckReport {
    /// The role that was assumed.
    pub role_arn: String,
    /// The assumed-role ARN AssumeRole returned (`arn:…:sts::<account>:assumed-role/<role>/<session>`).
    pub assumed_role_arn: String,
    /// The ARN GetCallerIdentity reported for the assumed credentials.
    pub caller_arn: String,
    /// The account GetCallerIdentity reported; equals the tenant's.
    pub account_id: String,
    /// The role session name (visible in the tenant's CloudTrail).
    pub session_name: String,
    /// When the check finished.
    pub checked_at: DateTime<Utc>,
    /// When the (unused) assumed session expires.
    pub session_expires_at: Option<DateTime<Utc>>,
}

/// Verifies a tenant's role at onboarding (session `byoc-verify-<slug>`).
pub async fn verify_role(
    aws: &PlatformAws,
    slug: &Slug,
    target: &RoleTarget,
) -> Result<RoleCheckReport, RoleCheckError> {
    check_role(aws, target, &SessionName::for_verify(slug)).await
}

/// The deploy path's pre-flight: the same check, with a session name naming the operation
/// (e.g. `SessionName::for_operation("up", stack)`), so a bad role fails fast and clearly.
pub async fn preflight_role(
    aws: &PlatformAws,
    target: &RoleTarget,
    session_name: &SessionName,
) -> Result<RoleCheckReport, RoleCheckError> {
    check_role(aws, target, session_name).await
}

#[tracing::instrument(
    name = "check_role",
    skip_all,
    fields(role.arn = %target.role_arn, aws.account_id = %target.account, aws.session_name = %session_name)
)]
async fn check_role(
    aws: &PlatformAws,
    target: &RoleTarget,
    session_name: &SessionName,
) -> Result<RoleCheckReport, RoleCheckError> {
    let started = Instant::now();
    let endpoint = aws.endpoint_label(&target.region);
    let trusted_hint = aws.trusted_hint();
    let ctx = CallContext {
        role_arn: target.role_arn.as_str(),
        endpoint: &endpoint,
        trusted_hint: &trusted_hint,
    };
    let result = assume_and_identify(aws, target, session_name, &ctx).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(report) => {
            tracing::info!(duration_ms, caller.arn = %report.caller_arn, "tenant role check passed")
        }
        Err(e) => {
            tracing::warn!(duration_ms, aws.request_id = e.request_id(), error = %e, "tenant role check failed")
        }
    }
    result
}

async fn assume_and_identify(
    aws: &PlatformAws,
    target: &RoleTarget,
    session_name: &SessionName,
    ctx: &CallContext<'_>,
) -> Result<RoleCheckReport, RoleCheckError> {
    let assumed = aws
        .sts_client(&target.region)
        .await
        .assume_role()
        .role_arn(target.role_arn.as_str())
        .role_session_name(session_name.as_str())
        .external_id(target.external_id.expose_secret())
        .duration_seconds(CHECK_SESSION_SECONDS)
        .send()
        .await
        .map_err(|e| AwsFailure::from_sdk(&e).classify(ctx))?;
    let unexpected = |what: &str| RoleCheckError::Unexpected {
        status: Some(200),
        code: None,
        message: format!("AssumeRole answered without {what}"),
        request_id: None,
    };
    let creds = assumed
        .credentials()
        .ok_or_else(|| unexpected("credentials"))?;
    let assumed_role_arn = assumed
        .assumed_role_user()
        .map(|u| u.arn().to_owned())
        .ok_or_else(|| unexpected("an assumed role user"))?;
    let expires = SystemTime::try_from(*creds.expiration()).ok();
    let session_creds = aws_sdk_sts::config::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        expires,
        "byoc-tenant-check",
    );

    // Identify with the *assumed* credentials: this proves they work and tells whose they are.
    let identity = aws
        .sts_client_as(&target.region, session_creds)
        .await
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsFailure::from_sdk(&e).classify(ctx))?;
    let account_id = identity.account().unwrap_or_default().to_owned();
    if account_id != target.account.as_str() {
        return Err(RoleCheckError::WrongAccount {
            role_arn: target.role_arn.to_string(),
            expected: target.account.to_string(),
            actual: account_id,
        });
    }
    Ok(RoleCheckReport {
        role_arn: target.role_arn.to_string(),
        assumed_role_arn,
        caller_arn: identity.arn().unwrap_or_default().to_owned(),
        account_id,
        session_name: session_name.to_string(),
        checked_at: Utc::now(),
        session_expires_at: expires.map(DateTime::<Utc>::from),
    })
}
