//! `/api/v1/tenants/{slug}/environments/{env}/config`: save (a new version), read, delete.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::parse_json;
use super::problems::{Conflict, Forbidden, Invalid, Malformed, NotFound, Unauthorized};
use super::{ApiError, ApiResult, AppState, EnvPath, Operator, Viewer};
use crate::domain::config::{self, EnvironmentConfig, EnvironmentConfigRequest};
use crate::domain::{AwsRegion, ValidationErrors};
use crate::store::{self, StoreError};

/// A stored config version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigResponse {
    /// Tenant slug.
    pub tenant_slug: String,
    /// Environment name.
    pub environment: String,
    /// Stack the environment deploys: `<slug>-<env>`.
    pub stack_name: String,
    /// Version number (1, 2, …).
    pub version: i32,
    /// When this version was saved.
    pub created_at: DateTime<Utc>,
    /// The resolved config (every default filled).
    pub config: EnvironmentConfig,
}

fn response(
    path: &EnvPath,
    row: store::configs::ConfigVersion,
) -> Result<ConfigResponse, ApiError> {
    let (slug, env) = (&path.slug, &path.env);
    let config: EnvironmentConfig = serde_json::from_str(&row.config).map_err(|e| {
        ApiError::internal(StoreError::Corrupt(format!(
            "config {slug}/{env} v{}: {e}",
            row.version
        )))
    })?;
    Ok(ConfigResponse {
        tenant_slug: slug.to_string(),
        environment: env.to_string(),
        stack_name: path.stack_name().to_string(),
        version: row.version,
        created_at: row.created_at.and_utc(),
        config,
    })
}

/// Validates a config, fills its defaults and saves it as the environment's next version.
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    request_body = EnvironmentConfigRequest,
    responses(
        (status = 201, body = ConfigResponse),
        Malformed, Unauthorized, Forbidden, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/environments/{env}/config")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn save_config(
    state: web::Data<AppState>,
    _: Operator,
    path: EnvPath,
    body: web::Bytes,
) -> ApiResult {
    let value: serde_json::Value = parse_json(&body)?;
    let request = config::parse_request(value)?;
    let at = path.clone();
    let row = state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let tenant = at.load_tenant(conn)?;
                let region = AwsRegion::parse(&tenant.aws_region)
                    .map_err(|e| ApiError::internal(StoreError::Corrupt(e.to_string())))?;
                let resolved = config::resolve(request, &region, Utc::now().date_naive())?;
                let json = serde_json::to_string(&resolved).map_err(ApiError::internal)?;
                Ok::<_, ApiError>(store::configs::insert_next(
                    conn,
                    &tenant.id,
                    at.env.as_str(),
                    &json,
                )?)
            })
        })
        .await?;
    tracing::info!(config.version = row.version, "config saved");
    let resp = response(&path, row)?;
    let (slug, env) = (&path.slug, &path.env);
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!(
                "/api/v1/tenants/{slug}/environments/{env}/config?version={}",
                resp.version
            ),
        ))
        .json(resp))
}

/// Query of `get_config`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfigVersionQuery {
    /// A specific version (default: the latest).
    pub version: Option<i32>,
}

/// Reads the latest config of an environment, or an older version.
#[utoipa::path(
    tag = "configs",
    params(EnvPath, ConfigVersionQuery),
    responses((status = 200, body = ConfigResponse), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/config")]
pub async fn get_config(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
    query: web::Query<ConfigVersionQuery>,
) -> ApiResult {
    let version = query.version;
    if version.is_some_and(|v| v < 1) {
        return Err(ValidationErrors::single("version", "must be 1 or more").into());
    }
    let at = path.clone();
    let row = state
        .db(move |conn| {
            let tenant = at.load_tenant(conn)?;
            store::configs::find(conn, &tenant, at.env.as_str(), version)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response(&path, row)?))
}

/// Deletes every version of an environment's config; refused while its stack is not destroyed.
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    responses(
        (status = 204, description = "Config removed"),
        Unauthorized, Forbidden, NotFound, Conflict, Invalid
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tenants/{slug}/environments/{env}/config")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn delete_config(state: web::Data<AppState>, _: Operator, path: EnvPath) -> ApiResult {
    state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let tenant = path.load_tenant(conn)?;
                let env = path.env.as_str();
                let stack = store::stacks::lookup_for_env(conn, &tenant.id, env)?;
                if let Some(stack) = stack.filter(|s| s.status.may_hold_resources()) {
                    return Err(ApiError::Conflict {
                        slug: "stack-not-destroyed",
                        detail: format!(
                            "stack '{}' is {}; destroy it before deleting its config",
                            stack.stack_name, stack.status
                        ),
                    });
                }
                Ok::<_, ApiError>(store::configs::delete_all(conn, &tenant, env)?)
            })
        })
        .await?;
    tracing::info!("config deleted");
    Ok(HttpResponse::NoContent().finish())
}
