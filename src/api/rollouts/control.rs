//! `POST /api/v1/rollouts/{id}/pause`, `…/resume`, `…/abort`.

use actix_web::{HttpResponse, post, web};

use super::{RolloutPath, RolloutView, unscoped};
use crate::api::problems::{Conflict, Forbidden, NotFound, Unauthorized};
use crate::api::{ApiError, ApiResult, AppState, Operator};
use crate::store::rollouts::{self, ControlError};

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            e @ ControlError::Ended { .. } => ApiError::Conflict {
                slug: "rollout-ended",
                detail: e.to_string(),
            },
            ControlError::Queue(e) => e.into(),
        }
    }
}

macro_rules! control_route {
    ($name:ident, $path:literal, $action:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "rollouts",
            params(RolloutPath),
            responses((status = 200, body = RolloutView), Unauthorized, Forbidden, NotFound, Conflict),
            security(("bearer" = []))
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            Operator(caller): Operator,
            path: web::Path<RolloutPath>,
        ) -> ApiResult {
            unscoped(&caller)?;
            let id = path.into_inner().id;
            let view = state
                .db(move |conn| {
                    $action(conn, &id)?;
                    Ok::<_, ApiError>(RolloutView::load(conn, &id)?)
                })
                .await?;
            tracing::info!(rollout.id = %view.id, rollout.status = %view.status, "rollout controlled");
            state.hub.changed(&format!("rollout:{}", view.id));
            Ok(HttpResponse::Ok().json(view))
        }
    };
}

control_route!(
    pause_rollout,
    "/api/v1/rollouts/{id}/pause",
    rollouts::pause,
    "Pauses a running rollout: nothing new starts; queued and running deploys go on."
);
control_route!(
    resume_rollout,
    "/api/v1/rollouts/{id}/resume",
    rollouts::resume,
    "Resumes a paused rollout where it was."
);
control_route!(
    abort_rollout,
    "/api/v1/rollouts/{id}/abort",
    rollouts::abort,
    "Aborts a rollout: its queued deploys are cancelled, unstarted targets marked cancelled; \
     running deploys are not interrupted."
);
