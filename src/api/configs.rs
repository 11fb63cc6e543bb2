//! `/api/v1/tenants/{slug}/environments/{env}/config`: save (a new version), read, delete.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::parse_json;
use super::tenants::{load_tenant, parse_slug};
use super::{ApiError, AppState, Caller, Problem};
use crate::domain::config::{self, EnvironmentConfig, EnvironmentConfigRequest};
use crate::domain::{AwsRegion, EnvName, Role, StackStatus, ValidationErrors};
use crate::store::{self, StoreError};

/// Path of the config routes.
#[derive(Debug, Deserialize)]
pub struct EnvPath {
    /// Tenant slug.
    pub slug: String,
    /// Environment name.
    pub env: String,
}

/// Parses the `{env}` path parameter.
pub(crate) fn parse_env(raw: &str) -> Result<EnvName, ApiError> {
    EnvName::parse(raw).map_err(|e| ValidationErrors::single("env", e.to_string()).into())
}

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
    slug: &str,
    env: &str,
    row: store::configs::ConfigVersion,
) -> Result<ConfigResponse, ApiError> {
    let config: EnvironmentConfig = serde_json::from_str(&row.config).map_err(|e| {
        ApiError::internal(StoreError::Corrupt(format!(
            "config {slug}/{env} v{}: {e}",
            row.version
        )))
    })?;
    Ok(ConfigResponse {
        tenant_slug: slug.to_owned(),
        environment: env.to_owned(),
        stack_name: format!("{slug}-{env}"),
        version: row.version,
        created_at: row.created_at.and_utc(),
        config,
    })
}

/// Validates a config, fills its defaults and saves it as the environment's next version.
#[utoipa::path(
    tag = "configs",
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$")
    ),
    request_body = EnvironmentConfigRequest,
    responses(
        (status = 201, body = ConfigResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/environments/{env}/config")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn save_config(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let value: serde_json::Value = parse_json(&body)?;
    let request = config::parse_request(value)?;
    let row = web::block(move || {
        let mut conn = state.db.get()?;
        conn.immediate_transaction(|conn| {
            let tenant = load_tenant(conn, &slug)?;
            let region = AwsRegion::parse(&tenant.aws_region)
                .map_err(|e| ApiError::internal(StoreError::Corrupt(e.to_string())))?;
            let resolved = config::resolve(request, &region, Utc::now().date_naive())?;
            let json = serde_json::to_string(&resolved).map_err(ApiError::internal)?;
            let row = store::configs::insert_next(conn, &tenant.id, env.as_str(), &json)?;
            Ok::<_, ApiError>((slug, env, row))
        })
    })
    .await??;
    let (slug, env, row) = row;
    tracing::info!(config.version = row.version, "config saved");
    let resp = response(slug.as_str(), env.as_str(), row)?;
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
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$"),
        ConfigVersionQuery
    ),
    responses(
        (status = 200, body = ConfigResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/config")]
pub async fn get_config(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
    query: web::Query<ConfigVersionQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let version = query.version;
    if version.is_some_and(|v| v < 1) {
        return Err(ValidationErrors::single("version", "must be 1 or more").into());
    }
    let (slug, env, row) = web::block(move || {
        let mut conn = state.db.get()?;
        let tenant = load_tenant(&mut conn, &slug)?;
        let row = store::configs::find(&mut conn, &tenant.id, env.as_str(), version).map_err(
            |e| match e {
                StoreError::NotFound => ApiError::not_found(
                    "environment config",
                    match version {
                        Some(v) => format!("{slug}/{env} version {v}"),
                        None => format!("{slug}/{env}"),
                    },
                ),
                other => other.into(),
            },
        )?;
        Ok::<_, ApiError>((slug, env, row))
    })
    .await??;
    Ok(HttpResponse::Ok().json(response(slug.as_str(), env.as_str(), row)?))
}

/// Deletes every version of an environment's config; refused while its stack is not destroyed.
#[utoipa::path(
    tag = "configs",
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$")
    ),
    responses(
        (status = 204, description = "Config removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tenants/{slug}/environments/{env}/config")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn delete_config(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    web::block(move || {
        let mut conn = state.db.get()?;
        conn.immediate_transaction(|conn| {
            let tenant = load_tenant(conn, &slug)?;
            let stack = store::stacks::find_for_env(conn, &tenant.id, env.as_str())?;
            if let Some(stack) = stack.filter(|s| {
                s.status
                    .parse::<StackStatus>()
                    .map_or(true, StackStatus::may_hold_resources)
            }) {
                return Err(ApiError::Conflict {
                    slug: "stack-not-destroyed",
                    detail: format!(
                        "stack '{}' is {}; destroy it before deleting its config",
                        stack.stack_name, stack.status
                    ),
                });
            }
            store::configs::delete_all(conn, &tenant.id, env.as_str()).map_err(|e| match e {
                StoreError::NotFound => {
                    ApiError::not_found("environment config", format!("{slug}/{env}"))
                }
                other => other.into(),
            })
        })
    })
    .await??;
    tracing::info!("config deleted");
    Ok(HttpResponse::NoContent().finish())
}
