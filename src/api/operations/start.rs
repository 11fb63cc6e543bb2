//! `POST …/deploy`, `…/preview`, `…/refresh` and `DELETE …/environments/{env}` (destroy):
//! each queues an operation and answers 202 with it. `POST …/forget` (admin): byoc stops
//! tracking the stack.

use actix_web::{HttpResponse, delete, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::OperationView;
use crate::api::problems::{
    Conflict, Forbidden, Invalid, Malformed, NotFound, Unauthorized, UnsupportedMedia,
};
use crate::api::program::render_stored;
use crate::api::{Admin, ApiError, ApiResult, AppState, Caller, EnvPath, Operator};
use crate::domain::OperationKind;
use crate::store::{self, queue};

/// Query of the routes that start an operation.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// `true`: answer 409 (`operation-in-progress`) when an operation is already queued or
    /// running on the stack, instead of queueing behind it.
    pub if_idle: Option<bool>,
}

/// Queues `kind` on the stack of `path`, checking what the kind needs first.
async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    path: EnvPath,
    kind: OperationKind,
    query: StartQuery,
) -> ApiResult {
    let if_idle = query.if_idle == Some(true);
    let project = state.settings.pulumi.project.clone();
    let at = path.clone();
    let config_version = state
        .db(move |conn| {
            let tenant = at.load_tenant(conn)?;
            let Some(config) = store::configs::lookup(conn, &tenant.id, at.env.as_str(), None)?
            else {
                let (slug, env) = (&at.slug, &at.env);
                return Err(ApiError::Conflict {
                    slug: "config-missing",
                    detail: format!(
                        "environment '{slug}/{env}' has no saved config: POST one to \
                         /api/v1/tenants/{slug}/environments/{env}/config first"
                    ),
                });
            };
            // An invalid program never reaches a worker: render and validate it now (422 with
            // every problem); the operation then applies exactly this config version.
            render_stored(&tenant, &at.slug, &at.env, &config.config, &project)?;
            Ok(config.version)
        })
        .await?;
    let requested_by = caller.token_name.clone();
    let (slug, env) = (path.slug.clone(), path.env.clone());
    let op = state
        .db(move |conn| {
            queue::enqueue(
                conn,
                &queue::Enqueue {
                    slug: &path.slug,
                    env: &path.env,
                    kind,
                    config_version,
                    requested_by: &requested_by,
                    if_idle,
                },
            )
        })
        .await?;
    tracing::info!(operation.id = %op.id, operation.kind = %kind, stack = %op.stack_name, "operation queued");
    state.hub.operation_queued();
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/operations/{}", op.id)))
        .json(OperationView::new(op, slug.as_str(), env.as_str())))
}

macro_rules! start_route {
    ($name:ident, $method:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            $method,
            path = $path,
            tag = "operations",
            params(EnvPath, StartQuery),
            responses(
                (status = 202, body = OperationView, description = "Queued; follow it at the Location"),
                Unauthorized, Forbidden, NotFound, Conflict, Invalid
            ),
            security(("bearer" = []))
        )]
        #[$method($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            Operator(caller): Operator,
            path: EnvPath,
            query: crate::api::body::Query<StartQuery>,
        ) -> ApiResult {
            start(state, caller, path, $kind, query.into_inner()).await
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
    params(EnvPath, DestroyConfirm, StartQuery),
    request_body(content = DestroyConfirm, description = "Alternatively, the confirmation as a body (optional)"),
    responses(
        (status = 202, body = OperationView, description = "Queued; follow it at the Location"),
        Malformed, Unauthorized, Forbidden, NotFound, Conflict, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tenants/{slug}/environments/{env}")]
pub async fn destroy_environment(
    state: web::Data<AppState>,
    Operator(caller): Operator,
    path: EnvPath,
    query: crate::api::body::Query<DestroyConfirm>,
    start_query: crate::api::body::Query<StartQuery>,
    body: crate::api::body::JsonBody,
) -> ApiResult {
    let body_confirm = if body.is_blank() {
        None
    } else {
        body.parse::<DestroyConfirm>()?.confirm
    };
    if query.confirm != Some(true) && body_confirm != Some(true) {
        return Err(crate::domain::ValidationErrors::single(
            "confirm",
            "destroying removes every resource of the stack: confirm with {\"confirm\": true} or ?confirm=true",
        )
        .into());
    }
    start(
        state,
        caller,
        path,
        OperationKind::Destroy,
        start_query.into_inner(),
    )
    .await
}

/// byoc stops tracking the environment's stack: it shows `not_deployed` again, so its config
/// and tenant can be deleted. Resources, if any, stay in the account (and the stack's Pulumi
/// state in the backend); nothing is destroyed. Admin only; refused (409) while an operation
/// is queued or running on the stack. Recorded in the history as a `forget` operation.
#[utoipa::path(
    tag = "operations",
    params(EnvPath),
    responses(
        (status = 200, body = OperationView, description = "Forgotten; the recorded operation"),
        Unauthorized, Forbidden, NotFound, Conflict, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tenants/{slug}/environments/{env}/forget")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn forget_environment(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: EnvPath,
) -> ApiResult {
    let (slug, env) = (path.slug.clone(), path.env.clone());
    let op = state
        .db(move |conn| queue::forget(conn, &path.slug, &path.env, &caller.token_name))
        .await?;
    tracing::warn!(
        operation.id = %op.id,
        stack = %op.stack_name,
        "stack forgotten: byoc no longer tracks it; any resources stay in the account"
    );
    state.hub.changed(&op.id);
    Ok(HttpResponse::Ok().json(OperationView::new(op, slug.as_str(), env.as_str())))
}
