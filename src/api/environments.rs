//! `GET /api/v1/environments[?tenant=SLUG]`: every environment of every tenant (or of one)
//! with its stack status and current/last operation, the fleet overview (the console's fleet
//! page and a tenant's environment list read it too).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problems::{Invalid, Malformed, NotFound, Unauthorized};
use super::{ApiError, ApiResult, AppState, Caller, Viewer};
use crate::domain::{OperationKind, OperationStatus, Slug, StackStatus};
use crate::store;

/// Query of `list_environments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentsQuery {
    /// Only this tenant's environments (its slug).
    #[param(pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")]
    pub tenant: Option<String>,
    /// Only environments whose labels match this selector: comma-separated `key=value`,
    /// `key!=value` (also true without the key), `key in (a,b)`, `key notin (a,b)` (also
    /// true without the key), `key` (present), `!key` (absent), as in Kubernetes.
    #[param(schema_with = crate::api::labels::selector_schema, example = "ring=canary,tier!=free")]
    pub selector: Option<String>,
}

/// An operation, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationBrief {
    /// Id.
    pub id: String,
    /// preview | update | refresh | destroy | forget.
    pub kind: OperationKind,
    /// queued | running | succeeded | failed | cancelled.
    pub status: OperationStatus,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Finished at.
    pub finished_at: Option<DateTime<Utc>>,
    /// Token name that started it.
    pub requested_by: Option<String>,
}

impl From<store::operations::Operation> for OperationBrief {
    fn from(o: store::operations::Operation) -> Self {
        Self {
            id: o.id,
            kind: o.kind,
            status: o.status,
            created_at: o.created_at.and_utc(),
            finished_at: o.finished_at.map(|t| t.and_utc()),
            requested_by: o.requested_by,
        }
    }
}

/// One environment in the fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentItem {
    /// Tenant slug.
    pub tenant_slug: String,
    /// Tenant name.
    pub tenant_name: String,
    /// Environment.
    pub environment: String,
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// Latest saved config version.
    pub config_version: Option<i32>,
    /// The stack's status (`not_deployed` before its first operation).
    pub status: StackStatus,
    /// The byoc release (`byoc <version>+catalog.<pins id>`) of the stack's last successful
    /// deploy; absent before one (or if it predates byoc recording it).
    pub deployed_release: Option<String>,
    /// The stack's last error.
    pub error: Option<String>,
    /// The operation running now.
    pub current_operation: Option<OperationBrief>,
    /// The last finished operation.
    pub last_operation: Option<OperationBrief>,
    /// The environment's labels.
    #[schema(example = json!({"ring": "canary"}))]
    pub labels: BTreeMap<String, String>,
}

/// `{"items": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    /// Ordered by tenant slug, then environment.
    pub items: Vec<EnvironmentItem>,
}

/// Every environment that has a saved config or a stack (of one tenant with `?tenant=`), with
/// its stack status, last error and current and last operations; ordered by tenant slug, then
/// environment.
#[utoipa::path(
    tag = "operations",
    params(EnvironmentsQuery),
    responses((status = 200, body = EnvironmentList), Malformed, Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/environments")]
pub async fn list_environments(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    query: crate::api::body::Query<EnvironmentsQuery>,
) -> ApiResult {
    list(state, caller, query.into_inner()).await
}

/// The list, for the API route and the console's older path.
pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: EnvironmentsQuery,
) -> ApiResult {
    let selector = super::labels::parse_selector(query.selector.as_deref())?;
    let tenant = query
        .tenant
        .map(|t| {
            Slug::parse(&t).map_err(|e| {
                ApiError::Validation(crate::domain::ValidationErrors::single(
                    "tenant",
                    e.to_string(),
                ))
            })
        })
        .transpose()?;
    if let Some(slug) = &tenant {
        caller.check_tenant(slug.as_str())?;
    }
    let rows = state
        .db(move |conn| {
            let id = match &tenant {
                Some(slug) => Some(store::tenants::find_by_slug(conn, slug.as_str())?.id),
                None => None,
            };
            store::environments::list(conn, id.as_deref())
        })
        .await?;
    let items = rows
        .into_iter()
        // A tenant-scoped token sees only its tenants' environments.
        .filter(|e| caller.sees(&e.tenant_slug))
        .filter(|e| selector.as_ref().is_none_or(|s| s.matches(&e.labels)))
        .map(|e| EnvironmentItem {
            labels: e.labels.as_map().clone(),
            stack_name: format!("{}-{}", e.tenant_slug, e.environment),
            tenant_slug: e.tenant_slug,
            tenant_name: e.tenant_name,
            environment: e.environment,
            config_version: e.config_version,
            status: e
                .stack
                .as_ref()
                .map_or(StackStatus::NotDeployed, |s| s.status),
            deployed_release: e.stack.as_ref().and_then(|s| s.deployed_release.clone()),
            error: e.stack.and_then(|s| s.error),
            current_operation: e.current_operation.map(Into::into),
            last_operation: e.last_operation.map(Into::into),
        })
        .collect();
    Ok(HttpResponse::Ok().json(EnvironmentList { items }))
}
