//! Two reads the public API does not offer yet, which the console's pages need; both take
//! the same [`Viewer`] extractor as every API read, so roles apply exactly as in the API:
//!
//! - `GET /console/api/environments[?tenant=SLUG]`: every environment of every tenant (or of
//!   one) with its stack status and current/last operation — the fleet overview and a
//!   tenant's environment list. (A candidate for `GET /api/v1/environments`.)
//! - `GET /console/api/tenants/{slug}/environments/{env}/config-request[?version=N]`: a
//!   stored config version written back as a request body (what `POST …/config` takes), so
//!   the page can edit and re-save it; without a saved config, a starter with the spec's flat
//!   fields at their defaults. (A candidate for a `?as=request` form of `GET …/config`.)

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiResult, AppState, EnvPath, Viewer};
use crate::domain::config::request::NodeGroupConfigRequest;
use crate::domain::config::{EnvironmentConfig, EnvironmentConfigRequest, resolve};
use crate::domain::{AwsRegion, OperationKind, OperationStatus, Slug, StackStatus};
use crate::store::{self, StoreError};

/// Query of `list_environments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentsQuery {
    /// Only this tenant's environments.
    pub tenant: Option<String>,
}

/// An operation, in brief.
#[derive(Debug, Serialize)]
pub struct OperationBrief {
    /// Id.
    pub id: String,
    /// preview | update | refresh | destroy.
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
#[derive(Debug, Serialize)]
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
    /// The stack's last error.
    pub error: Option<String>,
    /// The operation running now.
    pub current_operation: Option<OperationBrief>,
    /// The last finished operation.
    pub last_operation: Option<OperationBrief>,
}

/// `{"items": […]}`.
#[derive(Debug, Serialize)]
pub struct EnvironmentList {
    /// Ordered by tenant slug, then environment.
    pub items: Vec<EnvironmentItem>,
}

/// Every environment (of one tenant with `?tenant=`).
#[get("/console/api/environments")]
pub async fn list_environments(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    query: web::Query<EnvironmentsQuery>,
) -> ApiResult {
    let tenant = query
        .into_inner()
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
        .map(|e| EnvironmentItem {
            stack_name: format!("{}-{}", e.tenant_slug, e.environment),
            tenant_slug: e.tenant_slug,
            tenant_name: e.tenant_name,
            environment: e.environment,
            config_version: e.config_version,
            status: e
                .stack
                .as_ref()
                .map_or(StackStatus::NotDeployed, |s| s.status),
            error: e.stack.and_then(|s| s.error),
            current_operation: e.current_operation.map(Into::into),
            last_operation: e.last_operation.map(Into::into),
        })
        .collect();
    Ok(HttpResponse::Ok().json(EnvironmentList { items }))
}

/// Query of `get_config_request`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// A specific version (default: the latest).
    pub version: Option<i32>,
}

/// A config as a request body.
#[derive(Debug, Serialize)]
pub struct ConfigRequestView {
    /// The version it was written from; `null` for the starter of a new environment.
    pub version: Option<i32>,
    /// The body to edit and `POST` to `…/config`.
    pub request: EnvironmentConfigRequest,
}

/// A stored config version as a request body, or a starter when none is saved.
#[get("/console/api/tenants/{slug}/environments/{env}/config-request")]
pub async fn get_config_request(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
    query: web::Query<VersionQuery>,
) -> ApiResult {
    let version = query.version;
    let (region, stored) = state
        .db(move |conn| {
            let tenant = path.load_tenant(conn)?;
            let stored = match version {
                Some(v) => Some(store::configs::find(
                    conn,
                    &tenant,
                    path.env.as_str(),
                    Some(v),
                )?),
                None => store::configs::lookup(conn, &tenant.id, path.env.as_str(), None)?,
            };
            Ok::<_, StoreError>((tenant.aws_region, stored))
        })
        .await?;
    let corrupt = |e: String| ApiError::internal(StoreError::Corrupt(e));
    let view = match stored {
        Some(row) => {
            let config: EnvironmentConfig =
                serde_json::from_str(&row.config).map_err(|e| corrupt(e.to_string()))?;
            ConfigRequestView {
                version: Some(row.version),
                request: EnvironmentConfigRequest::from(&config),
            }
        }
        None => {
            let region = AwsRegion::parse(&region).map_err(|e| corrupt(e.to_string()))?;
            ConfigRequestView {
                version: None,
                request: starter(&region)?,
            }
        }
    };
    Ok(HttpResponse::Ok().json(view))
}

/// The spec's flat fields at byoc's defaults for `region`: a short first config to edit.
fn starter(region: &AwsRegion) -> Result<EnvironmentConfigRequest, ApiError> {
    let defaults = resolve(
        EnvironmentConfigRequest::default(),
        region,
        chrono::Utc::now().date_naive(),
    )?;
    let group = defaults.eks.node_groups.first();
    Ok(EnvironmentConfigRequest {
        vpc_cidr: Some(defaults.vpc.cidr_block.to_string()),
        availability_zone_count: Some(defaults.availability_zones.count),
        eks_version: Some(defaults.eks.version.clone()),
        eks_mode: Some(defaults.eks.mode),
        node_group_config: group.map(|g| NodeGroupConfigRequest {
            instance_types: Some(g.instance_types.clone()),
            desired_size: Some(g.scaling.desired_size),
            min_size: Some(g.scaling.min_size),
            max_size: Some(g.scaling.max_size),
            disk_size: Some(g.disk_size),
            capacity_type: Some(g.capacity_type),
        }),
        ..EnvironmentConfigRequest::default()
    })
}
