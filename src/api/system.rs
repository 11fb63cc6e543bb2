//! Liveness and readiness probes (no authentication).

use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::problems::Unavailable;
use super::{ApiError, AppState};

/// Probe answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "system", responses((status = 200, body = HealthStatus)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers a query.
#[utoipa::path(
    tag = "system",
    responses((status = 200, body = HealthStatus), Unavailable)
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    web::block(move || {
        let mut conn = state.pool.get().map_err(|_| ApiError::Unavailable)?;
        conn.batch_execute("SELECT 1")
            .map_err(|_| ApiError::Unavailable)
    })
    .await??;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ok" }))
}
