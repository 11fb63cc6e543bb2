//! `POST /api/v1/operations/{id}/cancel`: a queued operation is cancelled at once; a running
//! one is flagged and its worker interrupts the engine (SIGINT) on its next heartbeat.

use actix_web::{HttpResponse, post, web};

use super::{OperationView, load_operation};
use crate::api::{ApiError, AppState, Caller, Problem};
use crate::domain::{OperationKind, OperationStatus, Role, StackStatus};
use crate::store::{self, StoreError};

/// Cancels an operation.
#[utoipa::path(
    tag = "operations",
    params(("id" = String, Path, description = "Operation id")),
    responses(
        (status = 202, body = OperationView, description = "Cancelled (queued) or being cancelled (running)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/operations/{id}/cancel")]
#[tracing::instrument(skip_all, fields(operation.id = %path))]
pub async fn cancel_operation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let hub = state.hub.clone();
    let op = web::block(move || {
        let mut conn = state.db.get()?;
        conn.immediate_transaction(|conn| {
            let op = load_operation(conn, &path)?;
            let corrupt = |e: String| ApiError::internal(StoreError::Corrupt(e));
            match op.status().map_err(ApiError::from)? {
                OperationStatus::Queued => {
                    store::operations::finish(
                        conn,
                        &op.id,
                        OperationStatus::Cancelled,
                        Some("cancelled before it started"),
                        None,
                    )?;
                    // Nothing ran: the stack goes back to the status it had before.
                    let kind: OperationKind = op.kind.parse().map_err(corrupt)?;
                    // Only an operation that set the status while queued alone restores it.
                    if kind.status_when_queued().is_some()
                        && !store::operations::others_active(conn, &op.stack_name, &op.id)?
                    {
                        let before: Option<StackStatus> = op
                            .stack_status_before
                            .as_deref()
                            .map(str::parse)
                            .transpose()
                            .map_err(corrupt)?;
                        let stack = store::stacks::find(conn, &op.stack_name)?;
                        store::stacks::set_status(
                            conn,
                            &op.stack_name,
                            before,
                            stack.current_operation_id.as_deref(),
                        )?;
                    }
                }
                OperationStatus::Running => store::operations::flag_cancel(conn, &op.id)?,
                done => {
                    return Err(ApiError::Conflict {
                        slug: "operation-finished",
                        detail: format!("operation {} already {done}", op.id),
                    });
                }
            }
            load_operation(conn, &op.id)
        })
    })
    .await??;
    tracing::info!(operation.status = %op.status, "cancel requested");
    hub.changed();
    hub.operation_queued();
    Ok(HttpResponse::Accepted().json(OperationView::from(op)))
}
