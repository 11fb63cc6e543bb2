//! Liveness and readiness probes (no authentication).

use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::problems::Unavailable;
use super::{ApiError, AppState};
use crate::pulumi::PluginStatus;

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

/// Readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyStatus {
    /// `ok`, `storage-full` or `plugins-unavailable`.
    pub status: &'static str,
    /// Why the server is not ready (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
    /// The provider plugins the local executor needs (absent with Pulumi Deployments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugins: Option<PluginStatus>,
    /// Present only when operations run on the simulated engine (`BYOC_EXECUTOR=simulated`,
    /// `byoc dev`): says that nothing is deployed (`plugins` is then absent: the stand-in
    /// needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated: Option<&'static str>,
}

/// Readiness: the database answers a query, and the local executor can get its provider
/// plugins (baked, or downloaded at first use). 503 when automatic acquisition is off
/// (`PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true`) and the baked plugins are missing or
/// other versions than the programs pin, and while the database's storage was recently found
/// full (a write refused with 507 in the last minute).
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, body = ReadyStatus),
        (status = 503, description = "the storage is full or the plugins cannot be had", body = ReadyStatus),
        Unavailable
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let metrics = state.metrics.clone();
    web::block(move || {
        let mut conn = state.pool.get().map_err(|_| ApiError::Unavailable)?;
        conn.batch_execute("SELECT 1")
            .map_err(|_| ApiError::Unavailable)
    })
    .await??;
    let plugins = crate::executor::plugin_status(&settings);
    let usable = plugins.as_ref().is_none_or(PluginStatus::usable);
    let (status, detail) = if metrics.storage_recently_full() {
        (
            "storage-full",
            Some(
                "the database refused a write for lack of space within the last minute: \
                 free disk space (or raise the database's size limit)",
            ),
        )
    } else if !usable {
        ("plugins-unavailable", None)
    } else {
        ("ok", None)
    };
    let body = ReadyStatus {
        status,
        detail,
        plugins,
        simulated: settings
            .is_simulated()
            .then_some(crate::executor::SIMULATED_NOTICE),
    };
    Ok(match status {
        "ok" => HttpResponse::Ok().json(body),
        _ => HttpResponse::ServiceUnavailable().json(body),
    })
}
