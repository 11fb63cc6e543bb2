//! `GET /metrics`: Prometheus text exposition (viewer token required).

use actix_web::{HttpResponse, get, web};

use super::{ApiError, AppState, Caller, Problem};
use crate::domain::Role;
use crate::store;

/// Prometheus metrics.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/metrics")]
pub async fn get_metrics(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let db = state.db.clone();
    let counts = web::block(move || {
        let mut conn = db.get()?;
        store::operations::counts(&mut conn)
    })
    .await??;
    state.metrics.set_operation_counts(&counts);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
