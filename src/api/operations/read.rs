//! `GET …/status`, `GET …/operations`, `GET /api/v1/operations/{id}` and `GET …/outputs`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{OperationView, load_operation};
use crate::api::configs::{EnvPath, parse_env};
use crate::api::tenants::{load_tenant, parse_slug};
use crate::api::{ApiError, AppState, Caller, Problem};
use crate::domain::{Role, StackName, ValidationErrors};
use crate::executor::OutputValue;
use crate::store;

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
    pub status: String,
    /// Last known outputs (secret values redacted to `null`).
    pub outputs: BTreeMap<String, OutputValue>,
    /// Last error message.
    pub error: Option<String>,
    /// The operation running now.
    pub current_operation: Option<OperationView>,
    /// The last finished operation.
    pub last_operation: Option<OperationView>,
}

fn stack_outputs(
    state: &AppState,
    stack: &store::stacks::Stack,
    reveal: bool,
) -> Result<BTreeMap<String, OutputValue>, ApiError> {
    match &stack.outputs {
        None => Ok(BTreeMap::new()),
        Some(stored) => crate::worker::open_outputs(&state.key, &stack.stack_name, stored, reveal)
            .map_err(ApiError::internal),
    }
}

/// The environment's deployment status.
#[utoipa::path(
    tag = "operations",
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$")
    ),
    responses(
        (status = 200, body = EnvironmentStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/status")]
pub async fn get_environment_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let status = web::block(move || {
        let mut conn = state.db.get()?;
        let tenant = load_tenant(&mut conn, &slug)?;
        let stack_name = StackName::new(&slug, &env);
        let Some(stack) = store::stacks::find_for_env(&mut conn, &tenant.id, env.as_str())? else {
            return Err(ApiError::not_found("stack", stack_name.as_str()));
        };
        let op = |id: &Option<String>,
                  conn: &mut store::Conn|
         -> Result<Option<OperationView>, ApiError> {
            match id {
                Some(id) => Ok(store::operations::find(conn, id).ok().map(Into::into)),
                None => Ok(None),
            }
        };
        Ok::<_, ApiError>(EnvironmentStatus {
            outputs: stack_outputs(&state, &stack, false)?,
            current_operation: op(&stack.current_operation_id, &mut conn)?,
            last_operation: op(&stack.last_operation_id, &mut conn)?,
            tenant_slug: tenant.slug,
            environment: stack.environment,
            stack_name: stack.stack_name,
            aws_region: tenant.aws_region,
            status: stack.status,
            error: stack.error,
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(status))
}

/// Query of `list_environment_operations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many (1–200, default 50), newest first.
    pub limit: Option<u32>,
}

/// The environment's operation history, newest first.
#[utoipa::path(
    tag = "operations",
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$"),
        HistoryQuery
    ),
    responses(
        (status = 200, body = Vec<OperationView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/operations")]
pub async fn list_environment_operations(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ValidationErrors::single("limit", "must be between 1 and 200").into());
    }
    let ops = web::block(move || {
        let mut conn = state.db.get()?;
        load_tenant(&mut conn, &slug)?;
        let stack = StackName::new(&slug, &env);
        Ok::<_, ApiError>(store::operations::list_for_stack(
            &mut conn,
            stack.as_str(),
            i64::from(limit),
        )?)
    })
    .await??;
    let views: Vec<OperationView> = ops.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One operation.
#[utoipa::path(
    tag = "operations",
    params(("id" = String, Path, description = "Operation id")),
    responses(
        (status = 200, body = OperationView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/operations/{id}")]
pub async fn get_operation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let op = web::block(move || {
        let mut conn = state.db.get()?;
        load_operation(&mut conn, &path)
    })
    .await??;
    Ok(HttpResponse::Ok().json(OperationView::from(op)))
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
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$"),
        OutputsQuery
    ),
    responses(
        (status = 200, body = BTreeMap<String, OutputValue>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/outputs")]
pub async fn get_environment_outputs(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
    query: web::Query<OutputsQuery>,
) -> Result<HttpResponse, ApiError> {
    let reveal = query.show_secrets.unwrap_or(false);
    caller.require(if reveal { Role::Admin } else { Role::Viewer })?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let outputs = web::block(move || {
        let mut conn = state.db.get()?;
        let tenant = load_tenant(&mut conn, &slug)?;
        let Some(stack) = store::stacks::find_for_env(&mut conn, &tenant.id, env.as_str())? else {
            return Err(ApiError::not_found(
                "stack",
                StackName::new(&slug, &env).as_str(),
            ));
        };
        stack_outputs(&state, &stack, reveal)
    })
    .await??;
    if reveal {
        tracing::info!(token.name = %caller.token_name, "secret outputs revealed");
    }
    Ok(HttpResponse::Ok().json(outputs))
}
