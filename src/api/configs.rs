//! `/api/v1/tenants/{slug}/environments/{env}/config`: save (a new version), read (the posted
//! request document beside the resolved config), list versions, delete.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::JsonBody;
use super::problems::{
    Conflict, Forbidden, Invalid, Malformed, NotFound, StorageFull, Unauthorized, UnsupportedMedia,
};
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
    /// Name of the token that saved it (absent for versions saved before byoc recorded it).
    pub created_by: Option<String>,
    /// The request document as it was posted: POST it again (edited or not) to save a new
    /// version. For versions saved before byoc kept it, the resolved config written out as an
    /// explicit request (which resolves to the same config).
    pub request: EnvironmentConfigRequest,
    /// The resolved config (every default filled): what the program is rendered from.
    pub config: EnvironmentConfig,
}

fn corrupt(path: &EnvPath, version: i32, e: impl std::fmt::Display) -> ApiError {
    let (slug, env) = (&path.slug, &path.env);
    ApiError::internal(StoreError::Corrupt(format!(
        "config {slug}/{env} v{version}: {e}"
    )))
}

fn response(
    path: &EnvPath,
    row: store::configs::ConfigVersion,
) -> Result<ConfigResponse, ApiError> {
    let config: EnvironmentConfig =
        serde_json::from_str(&row.config).map_err(|e| corrupt(path, row.version, e))?;
    let request = match &row.request {
        Some(json) => serde_json::from_str(json).map_err(|e| corrupt(path, row.version, e))?,
        None => EnvironmentConfigRequest::from(&config),
    };
    Ok(ConfigResponse {
        tenant_slug: path.slug.to_string(),
        environment: path.env.to_string(),
        stack_name: path.stack_name().to_string(),
        version: row.version,
        created_at: row.created_at.and_utc(),
        created_by: row.created_by,
        request,
        config,
    })
}

/// Validates a config, fills its defaults and saves it as the environment's next version.
/// Every invalid field is reported at once, type errors and unknown fields included.
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    request_body(
        content = EnvironmentConfigRequest,
        description = "Every field is optional; defaults are filled when the config is resolved.",
        example = json!(request_example())
    ),
    responses(
        (status = 201, body = ConfigResponse),
        Malformed, Unauthorized, Forbidden, NotFound, UnsupportedMedia, Invalid, StorageFull
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/environments/{env}/config")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn save_config(
    state: web::Data<AppState>,
    Operator(caller): Operator,
    path: EnvPath,
    body: JsonBody,
) -> ApiResult {
    let value: serde_json::Value = body.parse()?;
    // The type errors, and the request made of the fields that parsed: the semantic checks
    // still judge those, so one answer names every invalid field.
    let (request, type_errors) = config::parse_request_all(value);
    let request_json = serde_json::to_string(&request).map_err(ApiError::internal)?;
    let at = path.clone();
    let row = state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let tenant = at.load_tenant(conn)?;
                let region = AwsRegion::parse(&tenant.aws_region)
                    .map_err(|e| ApiError::internal(StoreError::Corrupt(e.to_string())))?;
                let resolved = match config::resolve(request, &region, Utc::now().date_naive()) {
                    Ok(resolved) if type_errors.is_empty() => resolved,
                    Ok(_) => return Err(type_errors.into()),
                    Err(semantic) => {
                        let mut all = type_errors;
                        all.0.extend(semantic.0);
                        return Err(all.into());
                    }
                };
                let json = serde_json::to_string(&resolved).map_err(ApiError::internal)?;
                let new = store::configs::NewConfig {
                    config: &json,
                    request: Some(&request_json),
                    created_by: Some(&caller.token_name),
                };
                Ok::<_, ApiError>(store::configs::insert_next(
                    conn,
                    &tenant.id,
                    at.env.as_str(),
                    new,
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
    #[param(minimum = 1)]
    pub version: Option<i32>,
}

/// Reads the latest config of an environment, or an older version: the request document as
/// posted (`request`, ready to be edited and posted again) beside the resolved `config`.
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
    query: crate::api::body::Query<ConfigVersionQuery>,
) -> ApiResult {
    let version = query.version;
    if version.is_some_and(|v| v < 1) {
        return Err(ValidationErrors::single("version", "must be 1 or more").into());
    }
    // The version's stamp first: its answer, when this process gave it before, is the same
    // bytes (`ConfigCache`); otherwise the row, read by that stamp's version.
    let at = path.clone();
    let cache = state.configs.clone();
    let found = state
        .read(move |conn| {
            let tenant = at.load_tenant(conn)?;
            let env = at.env.as_str();
            let stamp = store::configs::find_stamp(conn, &tenant, env, version)?;
            if let Some(body) = cache.get(&tenant.id, env, &stamp) {
                return Ok::<_, StoreError>(Ok(body));
            }
            let row = store::configs::find(conn, &tenant, env, Some(stamp.version))?;
            Ok(Err((tenant.id, row)))
        })
        .await?;
    let body = match found {
        Ok(body) => body,
        Err((tenant_id, row)) => {
            let stamp = store::configs::VersionStamp {
                version: row.version,
                created_at: row.created_at,
            };
            let body = Bytes::from(
                serde_json::to_vec(&response(&path, row)?).map_err(ApiError::internal)?,
            );
            state
                .configs
                .put(&tenant_id, path.env.as_str(), stamp, body.clone());
            body
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// One saved version in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigVersionItem {
    /// Version number.
    pub version: i32,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// Name of the token that saved it, when known.
    pub created_by: Option<String>,
}

/// Every saved version of an environment's config, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigVersionList {
    /// The versions, newest first.
    pub items: Vec<ConfigVersionItem>,
}

/// Lists the saved versions of an environment's config (newest first).
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    responses((status = 200, body = ConfigVersionList), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/config/versions")]
pub async fn list_config_versions(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
) -> ApiResult {
    let rows = state
        .db(move |conn| {
            let tenant = path.load_tenant(conn)?;
            store::configs::list_versions(conn, &tenant, path.env.as_str())
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|r| ConfigVersionItem {
            version: r.version,
            created_at: r.created_at.and_utc(),
            created_by: r.created_by,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ConfigVersionList { items }))
}

/// Reads one saved version (same body as `GET …/config?version=N`).
#[utoipa::path(
    tag = "configs",
    params(EnvPath, ("version" = i32, Path, minimum = 1, description = "Version number (1, 2, …)")),
    responses((status = 200, body = ConfigResponse), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/config/versions/{version}")]
pub async fn get_config_version(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
    req: HttpRequest,
) -> ApiResult {
    let raw = req.match_info().get("version").unwrap_or_default();
    let version: i32 =
        raw.parse().ok().filter(|v| *v >= 1).ok_or_else(|| {
            ValidationErrors::single("version", "must be a whole number, 1 or more")
        })?;
    let at = path.clone();
    let row = state
        .db(move |conn| {
            let tenant = at.load_tenant(conn)?;
            store::configs::find(conn, &tenant, at.env.as_str(), Some(version))
        })
        .await?;
    Ok(HttpResponse::Ok().json(response(&path, row)?))
}

/// A complete request document: every section, as the README documents it.
pub fn request_example() -> serde_json::Value {
    serde_json::json!({
        "vpc_config": {
            "cidr_block": "10.20.0.0/16",
            "nat_gateway_strategy": "single"
        },
        "availability_zone_count": 3,
        "eks_config": {
            "version": "1.35",
            "mode": "managed",
            "access": {
                "endpoint_public_access": true,
                "endpoint_private_access": true,
                "public_access_cidrs": ["203.0.113.0/24"]
            },
            "node_groups": [{
                "name": "general",
                "instance_types": ["m6i.large"],
                "capacity_type": "ON_DEMAND",
                "disk_size": 50,
                "scaling": {"min_size": 2, "desired_size": 3, "max_size": 6},
                "labels": {"workload": "general"}
            }]
        },
        "components": {
            "argocd": {"enabled": true},
            "ingress": {"enabled": true, "controller": "aws-load-balancer-controller"}
        },
        "tags": {"team": "platform", "cost-center": "1234"}
    })
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
