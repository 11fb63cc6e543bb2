//! `POST /api/v1/operations/{id}/cancel`: a queued operation is cancelled at once; a running
//! one is flagged and its worker interrupts the engine (SIGINT) on its next heartbeat.

use actix_web::{HttpResponse, post, web};

use super::OperationView;
use crate::api::problems::{Conflict, Forbidden, NotFound, Unauthorized};
use crate::api::{ApiError, ApiResult, AppState, OperationPath, Operator};
use crate::store::queue;

/// Cancels an operation.
#[utoipa::path(
    tag = "operations",
    params(OperationPath),
    responses(
        (status = 202, body = OperationView, description = "Cancelled (queued) or being cancelled (running)"),
        Unauthorized, Forbidden, NotFound, Conflict
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/operations/{id}/cancel")]
#[tracing::instrument(skip_all, fields(operation.id = %path.id))]
pub async fn cancel_operation(
    state: web::Data<AppState>,
    _: Operator,
    path: OperationPath,
) -> ApiResult {
    let op = state
        .db(move |conn| {
            let op = queue::cancel(conn, &path.id)?;
            Ok::<_, ApiError>(OperationView::load(conn, op)?)
        })
        .await?;
    tracing::info!(operation.status = %op.status, "cancel requested");
    state.hub.changed(&op.id);
    // A cancelled queued operation may free its stack for the next one.
    state.hub.operation_queued();
    Ok(HttpResponse::Accepted().json(op))
}
