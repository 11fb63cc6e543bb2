//! Tenant onboarding: the role template, the onboarding instructions, role verification with
//! STS, and external-ID rotation.

use actix_web::{HttpResponse, get, post, web};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use super::problems::{Forbidden, Invalid, NotFound, Unauthorized};
use super::{Admin, ApiError, ApiResult, AppState, Operator, Problem, TenantPath, Viewer};
use crate::cloud::{
    ExternalIdShown, Onboarding, OnboardingSettings, OnboardingTenant, RoleCheckReport, RoleTarget,
    onboarding,
};
use crate::crypto::generate_external_id;
use crate::store::{self, StoreError, tenants::Tenant};

/// Builds the onboarding block of `tenant`, revealing `external_id` when given.
pub(crate) fn onboarding_for(
    state: &AppState,
    tenant: &Tenant,
    external_id: Option<&secrecy::SecretString>,
) -> Result<Onboarding, ApiError> {
    let ids = tenant.ids().map_err(ApiError::internal)?;
    let shown = match external_id {
        Some(id) => ExternalIdShown::Revealed(id),
        None => ExternalIdShown::Placeholder,
    };
    Ok(onboarding(
        &OnboardingTenant {
            account: &ids.account,
            region: &ids.region,
            role_name: &ids.role_name,
            external_id: shown,
        },
        &OnboardingSettings {
            trusted_principal_arn: state.settings.aws.trusted_principal_arn.as_deref(),
            template_url: state.settings.aws.role_template_url.as_deref(),
            simulated_endpoint: state
                .settings
                .is_simulated()
                .then_some(state.settings.aws.endpoint_url.as_deref())
                .flatten(),
        },
    ))
}

/// The CloudFormation template that creates the tenant's role.
#[utoipa::path(
    tag = "onboarding",
    responses(
        (status = 200, body = String, content_type = "text/plain", description = "The CloudFormation template (YAML with CloudFormation tags such as `!Sub`, which generic YAML parsers reject — hence plain text)"),
        Unauthorized
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/templates/customer-iam-role.yaml")]
pub async fn get_role_template(_: Viewer) -> ApiResult {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"customer-iam-role.yaml\"",
        ))
        .body(crate::cloud::onboarding::TEMPLATE))
}

/// The tenant's onboarding instructions (the external ID replaced by a placeholder).
#[utoipa::path(
    tag = "onboarding",
    params(TenantPath),
    responses((status = 200, body = Onboarding), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/onboarding")]
pub async fn get_tenant_onboarding(
    state: web::Data<AppState>,
    _: Viewer,
    path: TenantPath,
) -> ApiResult {
    let tenant = state.db(move |conn| path.load_tenant(conn)).await?;
    Ok(HttpResponse::Ok().json(onboarding_for(&state, &tenant, None)?))
}

/// Assumes the tenant's role with its external ID, calls GetCallerIdentity with the assumed
/// credentials, checks the account, and records the verification.
#[utoipa::path(
    tag = "onboarding",
    params(TenantPath),
    responses(
        (status = 200, body = RoleCheckReport, description = "The role works; what was checked"),
        Unauthorized, Forbidden, NotFound,
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Access denied, wrong account or missing role: the detail says what to fix"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "AWS unreachable or the platform's credentials are missing"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/verify")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug))]
pub async fn verify_tenant_role(
    state: web::Data<AppState>,
    _: Operator,
    path: TenantPath,
) -> ApiResult {
    let (tenant, target) = load_target(&state, &path).await?;
    let report = crate::cloud::verify_role(&state.aws, &path.slug, &target).await?;
    let at = report.checked_at.naive_utc();
    state
        .db(move |conn| store::tenants::mark_verified(conn, &tenant.id, at))
        .await?;
    tracing::info!("tenant role verified");
    Ok(HttpResponse::Ok().json(report))
}

/// Loads the tenant and decrypts what a role check needs.
pub(crate) async fn load_target(
    state: &AppState,
    path: &TenantPath,
) -> Result<(Tenant, RoleTarget), ApiError> {
    let path = path.clone();
    let tenant = state.db(move |conn| path.load_tenant(conn)).await?;
    let ids = tenant.ids().map_err(ApiError::internal)?;
    let external_id = state
        .key
        .open_secret(&tenant.external_id_sealed, tenant.id.as_bytes())
        .map_err(ApiError::internal)?;
    let target = RoleTarget {
        account: ids.account,
        region: ids.region,
        role_arn: ids.role_arn,
        external_id,
    };
    Ok((tenant, target))
}

/// Answer of `rotate_external_id`: the new external ID, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalIdRotated {
    /// The new external ID. Shown only here.
    pub external_id: String,
    /// Instructions with the new value: update the tenant's CloudFormation stack parameter.
    pub onboarding: Onboarding,
    /// What happens next.
    pub message: &'static str,
}

/// Replaces the tenant's external ID (admin). Every later operation uses the new one; the
/// tenant must update its role stack's `ExternalId` parameter before the next deploy.
#[utoipa::path(
    tag = "onboarding",
    params(TenantPath),
    responses(
        (status = 200, body = ExternalIdRotated),
        Unauthorized, Forbidden, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/external-id/rotate")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug))]
pub async fn rotate_external_id(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: TenantPath,
) -> ApiResult {
    let external_id = generate_external_id();
    let key = state.key.clone();
    let secret = external_id.clone();
    let tenant = state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let tenant = path.load_tenant(conn)?;
                let sealed = key.seal_secret(&secret, tenant.id.as_bytes());
                store::tenants::set_external_id(conn, &tenant.id, &sealed)?;
                Ok::<_, StoreError>(tenant)
            })
        })
        .await?;
    tracing::info!(token.name = %caller.token_name, "external id rotated");
    Ok(HttpResponse::Ok().json(ExternalIdRotated {
        onboarding: onboarding_for(&state, &tenant, Some(&external_id))?,
        external_id: external_id.expose_secret().to_owned(),
        message: "Save the new external_id now: it is not shown again. Update the ExternalId \
                  parameter of the tenant's role stack, then verify.",
    }))
}
