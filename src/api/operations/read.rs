//! `GET …/status`, `GET …/operations`, `GET /api/v1/operations/{id}` and `GET …/outputs`.

use std::collections::BTreeMap;

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, get, web};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::OperationView;
use crate::api::problems::{Forbidden, Invalid, NotFound, Unauthorized};
use crate::api::status_cache::{StatusCache, StatusRows};
use crate::api::{ApiError, ApiResult, AppState, Caller, EnvPath, OperationPath, Viewer};
use crate::crypto::MasterKey;
use crate::domain::{OperationStatus, OutputValue, Role, StackStatus, ValidationErrors};
use crate::store::{self, StoreError};

/// The spec's deployment record, plus the current and last operation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentStatus {
    /// Tenant slug.
    pub tenant_slug: String,
    /// Environment.
    pub environment: String,
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// Tenant region.
    pub aws_region: String,
    /// pending | in_progress | succeeded | failed | destroying | destroyed | not_deployed.
    pub status: StackStatus,
    /// The byoc release (`byoc <version>+catalog.<pins id>`) of the stack's last successful
    /// deploy; absent before one (or if it predates byoc recording it).
    pub deployed_release: Option<String>,
    /// Last known outputs (secret values redacted to `null`).
    pub outputs: BTreeMap<String, OutputValue>,
    /// Last error message.
    pub error: Option<String>,
    /// The operation running now.
    pub current_operation: Option<OperationView>,
    /// The last finished operation.
    pub last_operation: Option<OperationView>,
}

/// The environment's stack row; `NotFound` names it.
fn load_stack(
    conn: &mut store::Conn,
    path: &EnvPath,
) -> Result<(store::stacks::TenantRef, store::stacks::Stack), store::StoreError> {
    let stack_name = path.stack_name();
    store::stacks::find_with_tenant(
        conn,
        path.slug.as_str(),
        path.env.as_str(),
        stack_name.as_str(),
    )
}

/// The environment's deployment status.
#[utoipa::path(
    tag = "operations",
    params(EnvPath),
    responses((status = 200, body = EnvironmentStatus), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/status")]
pub async fn get_environment_status(
    state: web::Data<AppState>,
    cache: web::Data<StatusCache>,
    _: Viewer,
    path: EnvPath,
) -> ApiResult {
    // The rows on every request; the body rendered from equal rows before, when this worker
    // has it (`StatusCache`: nothing to invalidate, any write makes the rows differ).
    let rows = state
        .read(move |conn| {
            // One statement: the tenant, the stack and both operations.
            let (tenant, stack, current, last) = store::stacks::find_status(
                conn,
                path.slug.as_str(),
                path.env.as_str(),
                path.stack_name().as_str(),
            )?;
            Ok::<_, StoreError>(StatusRows {
                tenant,
                stack,
                current,
                last,
            })
        })
        .await?;
    let body = match cache.get(&rows) {
        Some(body) => body,
        None => {
            let body = Bytes::from(
                serde_json::to_vec(&render(&state.key, rows.clone())?)
                    .map_err(ApiError::internal)?,
            );
            cache.put(rows, body.clone());
            body
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// The status answered from `rows`.
fn render(key: &MasterKey, rows: StatusRows) -> Result<EnvironmentStatus, ApiError> {
    let StatusRows {
        tenant,
        stack,
        current,
        last,
    } = rows;
    let view = |o| OperationView::new(o, &tenant.slug, &stack.environment);
    Ok(EnvironmentStatus {
        current_operation: current.map(view),
        last_operation: last.map(view),
        outputs: store::outputs::of_stack(key, &stack, false).map_err(ApiError::internal)?,
        tenant_slug: tenant.slug,
        environment: stack.environment,
        stack_name: stack.stack_name,
        aws_region: tenant.aws_region,
        status: stack.status,
        deployed_release: stack.deployed_release,
        error: stack.error,
    })
}

/// Query of `list_environment_operations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many (1–200, default 50), newest first.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Only operations in this status, e.g. `awaiting_approval` (the deploys waiting for a
    /// reviewer).
    pub status: Option<OperationStatus>,
}

/// The environment's operation history, newest first (only those in `status` when given).
#[utoipa::path(
    tag = "operations",
    params(EnvPath, HistoryQuery),
    responses((status = 200, body = Vec<OperationView>), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/operations")]
pub async fn list_environment_operations(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
    query: crate::api::body::Query<HistoryQuery>,
) -> ApiResult {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ValidationErrors::single("limit", "must be between 1 and 200").into());
    }
    let status = query.status;
    let (slug, env) = (path.slug.to_string(), path.env.to_string());
    let ops = state
        .db(move |conn| {
            path.load_tenant(conn)?;
            let stack = path.stack_name();
            store::operations::list_for_stack(conn, stack.as_str(), status, i64::from(limit))
        })
        .await?;
    let views: Vec<OperationView> = ops
        .into_iter()
        .map(|o| OperationView::new(o, &slug, &env))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One operation.
#[utoipa::path(
    tag = "operations",
    params(OperationPath),
    responses((status = 200, body = OperationView), Unauthorized, NotFound),
    security(("bearer" = []))
)]
#[get("/api/v1/operations/{id}")]
pub async fn get_operation(
    state: web::Data<AppState>,
    _: Viewer,
    path: OperationPath,
) -> ApiResult {
    let view = state
        .db(move |conn| {
            let op = store::operations::find(conn, &path.id)?;
            OperationView::load(conn, op)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Query of `get_environment_outputs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutputsQuery {
    /// Reveal secret outputs (admin only).
    pub show_secrets: Option<bool>,
}

/// The stack's outputs; secret ones are `null` unless an admin asks with `show_secrets=true`.
#[utoipa::path(
    tag = "operations",
    params(EnvPath, OutputsQuery),
    responses(
        (status = 200, body = BTreeMap<String, OutputValue>),
        Unauthorized, Forbidden, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/outputs")]
pub async fn get_environment_outputs(
    state: web::Data<AppState>,
    caller: Caller,
    path: EnvPath,
    query: crate::api::body::Query<OutputsQuery>,
) -> ApiResult {
    let reveal = query.show_secrets.unwrap_or(false);
    caller.require(if reveal { Role::Admin } else { Role::Viewer })?;
    let key = state.key.clone();
    let outputs = state
        .db(move |conn| {
            let (_, stack) = load_stack(conn, &path)?;
            store::outputs::of_stack(&key, &stack, reveal).map_err(ApiError::internal)
        })
        .await?;
    if reveal {
        tracing::info!(token.name = %caller.token_name, "secret outputs revealed");
    }
    Ok(HttpResponse::Ok().json(outputs))
}
