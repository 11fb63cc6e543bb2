//! Console reads; both take the same [`Viewer`] extractor as every API read, so roles apply
//! exactly as in the API:
//!
//! - `GET /console/api/environments[?tenant=SLUG]`: now `GET /api/v1/environments`
//!   (`api::environments`), kept here at its first path.
//! - `GET /console/api/tenants/{slug}/environments/{env}/config-request[?version=N]`: a
//!   stored config version written back as a request body (what `POST …/config` takes), so
//!   the page can edit and re-save it; without a saved config, a starter with the spec's flat
//!   fields at their defaults. (A candidate for a `?as=request` form of `GET …/config`.)

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};

use crate::api::environments::EnvironmentsQuery;
use crate::api::{ApiError, ApiResult, AppState, EnvPath, Viewer};
use crate::domain::AwsRegion;
use crate::domain::config::request::NodeGroupConfigRequest;
use crate::domain::config::{EnvironmentConfig, EnvironmentConfigRequest, resolve};
use crate::store::{self, StoreError};

/// Every environment (of one tenant with `?tenant=`): the same as `GET /api/v1/environments`,
/// kept at its first path.
#[get("/console/api/environments")]
pub async fn list_environments(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    query: web::Query<EnvironmentsQuery>,
) -> ApiResult {
    crate::api::environments::list(state, caller, query.into_inner()).await
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
