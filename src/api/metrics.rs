//! `GET /metrics`: Prometheus text exposition (viewer token required).

use actix_web::{HttpResponse, get, web};

use super::problems::Unauthorized;
use super::{ApiResult, AppState, Viewer};
use crate::store;

/// Prometheus metrics.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, body = String, content_type = "text/plain; version=0.0.4"),
        Unauthorized
    ),
    security(("bearer" = []))
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>, _: Viewer) -> ApiResult {
    let counts = state.db(store::operations::counts).await?;
    state.metrics.set_operation_counts(&counts);
    let drift = state.db(store::drift::counts).await?;
    state.metrics.set_drift_counts(drift);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
