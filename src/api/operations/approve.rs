//! Change control over HTTP (issue 18): read a deploy's saved plan and its change list,
//! approve it (queued again to apply exactly that plan) or reject it.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OperationView;
use crate::api::body::JsonBody;
use crate::api::problems::{
    Conflict, Forbidden, Invalid, Malformed, NotFound, Unauthorized, UnsupportedMedia,
};
use crate::api::{ApiError, ApiResult, AppState, OperationPath, Operator, Viewer};
use crate::domain::ValidationErrors;
use crate::domain::approval::ResourceChange;
use crate::store::queue::{self, Approval, Stale};
use crate::store::{self, plans::OperationPlan};

/// A deploy's saved update plan, as reviewers see it (the plan file itself is never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// The deploy.
    pub operation_id: String,
    /// The config version the preview ran with.
    pub config_version: i32,
    /// What the preview will do, per resource (property paths only, never values).
    pub changes: Vec<ResourceChange>,
    /// Why the environment's approval policy holds it; `null` when it let it through.
    pub hold_reason: Option<String>,
    /// When the preview saved it.
    pub created_at: DateTime<Utc>,
    /// After this it can no longer be approved.
    pub expires_at: DateTime<Utc>,
    /// `approved`, `rejected`, `auto` (the policy let it through), `refused` (stale when
    /// approved), `expired` (nobody decided before `expires_at`; decided by `byoc`); `null`
    /// while it waits.
    pub decision: Option<String>,
    /// Token that decided (`policy` for `auto`).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<OperationPlan> for PlanView {
    fn from(p: OperationPlan) -> Self {
        Self {
            changes: p.change_list(),
            operation_id: p.operation_id,
            config_version: p.config_version,
            hold_reason: p.hold_reason,
            created_at: p.created_at.and_utc(),
            expires_at: p.expires_at.and_utc(),
            decision: p.decision,
            decided_by: p.decided_by,
            decided_at: p.decided_at.map(|t| t.and_utc()),
        }
    }
}

/// The saved update plan of a deploy run under an approval policy.
#[utoipa::path(
    tag = "operations",
    params(OperationPath),
    responses(
        (status = 200, body = PlanView, description = "The plan's change list and decision"),
        Unauthorized, Forbidden, NotFound
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/operations/{id}/plan")]
#[tracing::instrument(skip_all, fields(operation.id = %path.id))]
pub async fn get_operation_plan(
    state: web::Data<AppState>,
    _: Viewer,
    path: OperationPath,
) -> ApiResult {
    let plan = state
        .db(move |conn| {
            store::operations::find(conn, &path.id)?;
            Ok::<_, ApiError>(PlanView::from(store::plans::find(conn, &path.id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(plan))
}

/// Approves a deploy awaiting approval: it is queued again to apply exactly its plan
/// (`pulumi up --plan`). Refused (409) when the plan expired (`plan-expired`), the
/// environment's config has a newer version (`config-changed`) or the stack had another
/// update since the preview (`stack-changed`); the deploy then ends `cancelled` and nothing
/// runs.
#[utoipa::path(
    tag = "operations",
    params(OperationPath),
    responses(
        (status = 202, body = OperationView, description = "Approved: queued to apply the plan"),
        Unauthorized, Forbidden, NotFound, Conflict
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/operations/{id}/approve")]
#[tracing::instrument(skip_all, fields(operation.id = %path.id))]
pub async fn approve_operation(
    state: web::Data<AppState>,
    caller: Operator,
    path: OperationPath,
) -> ApiResult {
    let separate = state.settings.approvals.separate_requester;
    let who = caller.0.token_name.clone();
    let outcome = state
        .db(move |conn| {
            check_requester(conn, &path.id, &who, separate)?;
            match queue::approve(conn, &path.id, &who)? {
                Approval::Queued(op) => Ok(Ok(OperationView::load(conn, *op)?)),
                Approval::Refused(stale) => Ok::<_, ApiError>(Err(stale)),
            }
        })
        .await?;
    match outcome {
        Ok(op) => {
            tracing::info!("deploy approved; queued to apply its plan");
            state.hub.changed(&op.id);
            state.hub.operation_queued();
            Ok(HttpResponse::Accepted().json(op))
        }
        Err(stale) => {
            tracing::info!(reason = %stale, "approval refused: the plan is stale");
            Err(stale_conflict(stale))
        }
    }
}

/// Longest `reason` of a rejection.
const MAX_REASON: usize = 500;

/// Body of `reject_operation` (optional: an empty body rejects without a reason).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectOperation {
    /// Why (up to 500 characters, one line): recorded in the operation's `error` after
    /// `rejected by <token>`.
    #[schema(
        example = "the VPC CIDR change needs a maintenance window",
        max_length = 500,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub reason: Option<String>,
}

/// Rejects a deploy awaiting approval: it ends `cancelled` (its `error` names who, and why
/// when a `reason` is given), nothing runs.
#[utoipa::path(
    tag = "operations",
    params(OperationPath),
    request_body(content = Option<RejectOperation>),
    responses(
        (status = 200, body = OperationView, description = "Rejected"),
        Malformed, Unauthorized, Forbidden, NotFound, Conflict, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/operations/{id}/reject")]
#[tracing::instrument(skip_all, fields(operation.id = %path.id))]
pub async fn reject_operation(
    state: web::Data<AppState>,
    caller: Operator,
    path: OperationPath,
    body: JsonBody,
) -> ApiResult {
    // No body, or `null`, is a rejection without a reason.
    let req: RejectOperation = body.parse_optional()?;
    // Checked as sent (the document's maxLength and pattern), then trimmed to be kept.
    if let Some(r) = &req.reason {
        let mut errors = ValidationErrors::new();
        if r.chars().count() > MAX_REASON {
            errors.push("reason", format!("at most {MAX_REASON} characters"));
        }
        if r.chars().any(char::is_control) {
            errors.push("reason", "one line without control characters");
        }
        errors.into_result(())?;
    }
    let reason = req
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let separate = state.settings.approvals.separate_requester;
    let who = caller.0.token_name.clone();
    let op = state
        .db(move |conn| {
            check_requester(conn, &path.id, &who, separate)?;
            let op = queue::reject(conn, &path.id, &who, reason.as_deref())?;
            Ok::<_, ApiError>(OperationView::load(conn, op)?)
        })
        .await?;
    tracing::info!("deploy rejected");
    state.hub.changed(&op.id);
    Ok(HttpResponse::Ok().json(op))
}

/// With `BYOC_APPROVAL_SEPARATE_REQUESTER=true`, the token that asked for the deploy may
/// not decide on it.
fn check_requester(
    conn: &mut store::Conn,
    id: &str,
    who: &str,
    separate: bool,
) -> Result<(), ApiError> {
    let op = store::operations::find(conn, id)?;
    if separate && op.requested_by.as_deref() == Some(who) {
        return Err(ApiError::SelfApproval(who.to_owned()));
    }
    Ok(())
}

fn stale_conflict(stale: Stale) -> ApiError {
    let slug = match stale {
        Stale::Expired { .. } => "plan-expired",
        Stale::ConfigChanged { .. } => "config-changed",
        Stale::StackChanged { .. } => "stack-changed",
    };
    ApiError::Conflict {
        slug,
        detail: format!("approval refused, the deploy is cancelled: {stale}"),
    }
}
