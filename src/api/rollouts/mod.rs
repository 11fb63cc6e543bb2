//! `/api/v1/rollouts`: roll one change (a JSON merge patch of the config, or a redeploy)
//! across many environments in waves (`create`), read them (here), pause, resume and abort
//! them (`control`), follow their events (`events`). The driver that moves them on runs with
//! the workers (`worker::rollouts`).

mod control;
mod create;
mod events;

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use control::*;
pub use create::*;
pub use events::*;

use super::problems::{Forbidden, Invalid, NotFound, Unauthorized};
use super::{ApiError, ApiResult, AppState, Caller, Viewer};
use crate::domain::FieldError;
use crate::domain::rollout::{RolloutStatus, TargetStatus};
use crate::store::rollouts::{Rollout, Target};
use crate::store::{self, Conn, StoreError};

/// `{id}`: one rollout.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RolloutPath {
    /// Rollout id
    pub id: String,
}

/// One target of a rollout.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    /// Tenant slug.
    pub tenant: String,
    /// Environment.
    pub environment: String,
    /// Stack `<slug>-<env>`.
    pub stack_name: String,
    /// Its wave (0 is the canary wave when there is one); absent when skipped.
    pub wave: Option<i32>,
    /// pending | skipped | queued | running | succeeded | failed | cancelled | superseded.
    pub status: TargetStatus,
    /// The config version its deploy applies.
    pub config_version: Option<i32>,
    /// Its deploy (possibly one already queued that it attached to).
    pub operation_id: Option<String>,
    /// Why it failed (the engine's message), or was skipped, cancelled or superseded.
    pub error: Option<String>,
    /// For a target skipped because its patched config is invalid: every invalid field.
    pub field_errors: Option<Vec<FieldError>>,
}

impl From<Target> for TargetView {
    fn from(t: Target) -> Self {
        Self {
            tenant: t.tenant_slug,
            environment: t.environment,
            stack_name: t.stack_name,
            wave: (t.wave >= 0).then_some(t.wave),
            status: t.status,
            config_version: t.config_version,
            operation_id: t.operation_id,
            error: t.error,
            field_errors: t.field_errors.and_then(|f| serde_json::from_str(&f).ok()),
        }
    }
}

/// How many targets stand where.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct TargetCounts {
    /// Targets in all.
    pub total: usize,
    /// Not started.
    pub pending: usize,
    /// Left out at creation.
    pub skipped: usize,
    /// Deploy queued.
    pub queued: usize,
    /// Deploy running.
    pub running: usize,
    /// Deploy succeeded.
    pub succeeded: usize,
    /// Deploy failed (or a later deploy failed during the rollout).
    pub failed: usize,
    /// Cancelled.
    pub cancelled: usize,
    /// Taken over by a newer rollout.
    pub superseded: usize,
}

impl TargetCounts {
    fn of<'a>(statuses: impl Iterator<Item = &'a TargetStatus>) -> Self {
        let mut c = Self::default();
        for s in statuses {
            c.total += 1;
            *match s {
                TargetStatus::Pending => &mut c.pending,
                TargetStatus::Skipped => &mut c.skipped,
                TargetStatus::Queued => &mut c.queued,
                TargetStatus::Running => &mut c.running,
                TargetStatus::Succeeded => &mut c.succeeded,
                TargetStatus::Failed => &mut c.failed,
                TargetStatus::Cancelled => &mut c.cancelled,
                TargetStatus::Superseded => &mut c.superseded,
            } += 1;
        }
        c
    }
}

/// A rollout as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolloutView {
    /// Rollout id.
    pub id: String,
    /// running | paused | halted | finished | aborted.
    pub status: RolloutStatus,
    /// The request as accepted.
    pub spec: serde_json::Value,
    /// The wave being rolled (from 0).
    pub current_wave: i32,
    /// Waves in all.
    pub wave_count: i32,
    /// Why it halted or was aborted.
    pub halt_reason: Option<String>,
    /// Name of the token that created it.
    pub created_by: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it halted, finished or was aborted.
    pub finished_at: Option<DateTime<Utc>>,
    /// Targets by status.
    pub counts: TargetCounts,
    /// Every target, canary first (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<TargetView>>,
}

impl RolloutView {
    fn new(r: Rollout, targets: Vec<Target>, full: bool) -> Self {
        Self {
            counts: TargetCounts::of(targets.iter().map(|t| &t.status)),
            targets: full.then(|| targets.into_iter().map(TargetView::from).collect()),
            spec: serde_json::from_str(&r.spec).unwrap_or(serde_json::Value::Null),
            id: r.id,
            status: r.status,
            current_wave: r.current_wave,
            wave_count: r.wave_count,
            halt_reason: r.halt_reason,
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            finished_at: r.finished_at.map(|t| t.and_utc()),
        }
    }

    /// Loads rollout `id` with its targets.
    pub fn load(conn: &mut Conn, id: &str) -> Result<Self, StoreError> {
        let r = store::rollouts::find(conn, id)?;
        let targets = store::rollouts::targets(conn, id)?;
        Ok(Self::new(r, targets, true))
    }
}

/// Rollouts span tenants: a token limited to some tenants may not start or see them.
fn unscoped(caller: &Caller) -> Result<(), ApiError> {
    match caller.tenants {
        None => Ok(()),
        Some(_) => Err(ApiError::OutOfScope(
            "rollouts span tenants: this needs a token that is not limited to some tenants".into(),
        )),
    }
}

/// One rollout with every target's status, operation and error, and counts by status.
#[utoipa::path(
    tag = "rollouts",
    params(RolloutPath),
    responses((status = 200, body = RolloutView), Unauthorized, Forbidden, NotFound),
    security(("bearer" = []))
)]
#[get("/api/v1/rollouts/{id}")]
pub async fn get_rollout(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    path: web::Path<RolloutPath>,
) -> ApiResult {
    unscoped(&caller)?;
    let id = path.into_inner().id;
    let view = state.read(move |conn| RolloutView::load(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Rollouts, newest first (the last 100), with counts by status.
#[utoipa::path(
    tag = "rollouts",
    responses((status = 200, body = Vec<RolloutView>), Unauthorized, Forbidden, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/rollouts")]
pub async fn list_rollouts(state: web::Data<AppState>, Viewer(caller): Viewer) -> ApiResult {
    unscoped(&caller)?;
    let views = state
        .read(move |conn| {
            store::rollouts::list(conn, 100)?
                .into_iter()
                .map(|r| {
                    let targets = store::rollouts::targets(conn, &r.id)?;
                    Ok(RolloutView::new(r, targets, false))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}
