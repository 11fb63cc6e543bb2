//! `POST …/deploy`, `…/preview`, `…/refresh` and `DELETE …/environments/{env}` (destroy):
//! each queues an operation and answers 202 with it.

use actix_web::{HttpResponse, delete, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::OperationView;
use crate::api::configs::{EnvPath, parse_env};
use crate::api::program::render_stored;
use crate::api::tenants::{load_tenant, parse_slug};
use crate::api::{ApiError, AppState, Caller, Problem};
use crate::domain::{OperationKind, OperationStatus, Role, StackName, StackStatus};
use crate::store::{self, StoreError};

/// Queues `kind` on the stack of `path`, checking what the kind needs first.
async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    path: &EnvPath,
    kind: OperationKind,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let slug = parse_slug(&path.slug)?;
    let env = parse_env(&path.env)?;
    let executor = state.executor_name;
    let hub = state.hub.clone();
    let requested_by = caller.token_name.clone();
    let project = state.settings.pulumi.project.clone();
    let db = state.db.clone();
    let (slug, env, config) = web::block(move || {
        let mut conn = db.get()?;
        let tenant = load_tenant(&mut conn, &slug)?;
        let config = match store::configs::find(&mut conn, &tenant.id, env.as_str(), None) {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(ApiError::Conflict {
                    slug: "config-missing",
                    detail: format!(
                        "environment '{slug}/{env}' has no saved config: POST one to \
                         /api/v1/tenants/{slug}/environments/{env}/config first"
                    ),
                });
            }
            Err(e) => return Err(e.into()),
        };
        // An invalid program never reaches a worker: render and validate it now (422 with
        // every problem); the operation then applies exactly this config version.
        render_stored(&tenant, &slug, &env, &config.config, &project)?;
        Ok((slug, env, config))
    })
    .await??;
    let op = web::block(move || {
        let mut conn = state.db.get()?;
        // One immediate transaction: the stack checks and the insert see the same state.
        conn.immediate_transaction(|conn| {
            // The tenant may have been deleted since the program was validated.
            let tenant = load_tenant(conn, &slug)?;
            let stack_name = StackName::new(&slug, &env);
            let stack = store::stacks::ensure(conn, stack_name.as_str(), &tenant.id, env.as_str())?;
            let current: StackStatus = stack
                .status
                .parse()
                .map_err(|e: String| ApiError::internal(StoreError::Corrupt(e)))?;
            if matches!(kind, OperationKind::Destroy | OperationKind::Refresh)
                && !current.may_hold_resources()
            {
                return Err(ApiError::Conflict {
                    slug: "not-deployed",
                    detail: format!(
                        "stack '{stack_name}' is {current}: there is nothing to {kind}"
                    ),
                });
            }
            let id = uuid::Uuid::new_v4().to_string();
            let op = store::operations::insert(
                conn,
                &store::operations::NewOperation {
                    id: &id,
                    stack_name: stack_name.as_str(),
                    kind: kind.as_str(),
                    status: OperationStatus::Queued.as_str(),
                    config_version: Some(config.version),
                    executor,
                    stack_status_before: Some(current.as_str()),
                    requested_by: Some(&requested_by),
                    created_at: store::now(),
                },
            )?;
            // Behind other work the stack keeps showing that work; this operation's status
            // applies when it starts.
            if let Some(status) = kind.status_when_queued()
                && !store::operations::others_active(conn, stack_name.as_str(), &op.id)?
            {
                store::stacks::set_status(conn, stack_name.as_str(), Some(status), None)?;
            }
            Ok(op)
        })
    })
    .await??;
    tracing::info!(operation.id = %op.id, operation.kind = %kind, stack = %op.stack_name, "operation queued");
    hub.operation_queued();
    hub.changed();
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/operations/{}", op.id)))
        .json(OperationView::from(op)))
}

macro_rules! start_route {
    ($name:ident, $method:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            $method,
            path = $path,
            tag = "operations",
            params(
                ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
                ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$")
            ),
            responses(
                (status = 202, body = OperationView, description = "Queued; follow it at the Location"),
                (status = 401, body = Problem, content_type = "application/problem+json"),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
                (status = 409, body = Problem, content_type = "application/problem+json"),
                (status = 422, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        #[$method($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<EnvPath>,
        ) -> Result<HttpResponse, ApiError> {
            start(state, caller, &path, $kind).await
        }
    };
}

start_route!(
    deploy_environment,
    post,
    "/api/v1/tenants/{slug}/environments/{env}/deploy",
    OperationKind::Update,
    "Deploys the latest config: the first deploy and every later change (no destroy needed)."
);
start_route!(
    preview_environment,
    post,
    "/api/v1/tenants/{slug}/environments/{env}/preview",
    OperationKind::Preview,
    "Previews what a deploy of the latest config would change; changes nothing."
);
start_route!(
    refresh_environment,
    post,
    "/api/v1/tenants/{slug}/environments/{env}/refresh",
    OperationKind::Refresh,
    "Reconciles the stack's state with what exists in the cloud."
);

/// Confirmation of a destroy, as a body or a query parameter.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DestroyConfirm {
    /// Must be `true`.
    pub confirm: Option<bool>,
}

/// Destroys every resource of the environment's stack. Needs `{"confirm": true}` or
/// `?confirm=true`.
#[utoipa::path(
    tag = "operations",
    params(
        ("slug" = String, Path, description = "Tenant slug", pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"),
        ("env" = String, Path, description = "Environment name", pattern = r"^[a-z][a-z0-9-]{0,19}$"),
        DestroyConfirm
    ),
    request_body(content = Option<DestroyConfirm>, description = "Alternatively, the confirmation as a body"),
    responses(
        (status = 202, body = OperationView, description = "Queued; follow it at the Location"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tenants/{slug}/environments/{env}")]
pub async fn destroy_environment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<EnvPath>,
    query: web::Query<DestroyConfirm>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body_confirm = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        crate::api::body::parse_json::<DestroyConfirm>(&body)?.confirm
    };
    if query.confirm != Some(true) && body_confirm != Some(true) {
        return Err(crate::domain::ValidationErrors::single(
            "confirm",
            "destroying removes every resource of the stack: confirm with {\"confirm\": true} or ?confirm=true",
        )
        .into());
    }
    start(state, caller, &path, OperationKind::Destroy).await
}
