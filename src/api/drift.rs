//! Drift reports over HTTP (issue 18): one environment's, and the fleet's grouped by resource
//! type. Read-only: the checks themselves run in the workers (`worker::drift`).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::problems::{Invalid, NotFound, Unauthorized};
use crate::api::{ApiError, ApiResult, AppState, EnvPath, Viewer};
use crate::store::{self, drift::DriftRow};

/// One drifted resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftedResourceView {
    /// Resource URN.
    pub urn: String,
    /// Type token, e.g. `aws:ec2/vpc:Vpc`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Logical name.
    pub name: String,
    /// `update` (properties differ) or `delete` (gone from the cloud).
    pub op: String,
    /// The property paths that differ (never their values: they may be secret).
    pub paths: Vec<String>,
    /// The first check that saw it drifted.
    pub first_seen: DateTime<Utc>,
    /// The last check that saw it drifted.
    pub last_seen: DateTime<Utc>,
}

impl From<DriftRow> for DriftedResourceView {
    fn from(r: DriftRow) -> Self {
        Self {
            paths: r.path_list(),
            urn: r.urn,
            type_: r.resource_type,
            name: r.name,
            op: r.op,
            first_seen: r.first_seen.and_utc(),
            last_seen: r.last_seen.and_utc(),
        }
    }
}

/// An environment's drift report.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentDrift {
    /// Whether the environment's config asks for checks (`drift_check`) and its stack is
    /// deployed.
    pub scheduled: bool,
    /// When the last check completed.
    pub checked_at: Option<DateTime<Utc>>,
    /// When the next check is due.
    pub next_check_at: Option<DateTime<Utc>>,
    /// Why the last check failed.
    pub error: Option<String>,
    /// The resources that differ from the stack.
    pub resources: Vec<DriftedResourceView>,
}

/// The latest drift report of an environment.
#[utoipa::path(
    tag = "drift",
    params(EnvPath),
    responses((status = 200, body = EnvironmentDrift), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/drift")]
pub async fn get_environment_drift(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
) -> ApiResult {
    let report = state
        .db(move |conn| {
            let tenant = path.load_tenant(conn)?;
            let stack_name = path.stack_name();
            let stack = store::stacks::find_for_env(
                conn,
                &tenant.id,
                path.env.as_str(),
                stack_name.as_str(),
            )?;
            let schedule = store::drift::schedule(conn, &stack.stack_name)?;
            let resources = store::drift::resources(conn, &stack.stack_name)?;
            Ok::<_, ApiError>(EnvironmentDrift {
                scheduled: schedule.is_some(),
                checked_at: schedule
                    .as_ref()
                    .and_then(|s| s.checked_at)
                    .map(|t| t.and_utc()),
                next_check_at: schedule.as_ref().map(|s| s.next_at.and_utc()),
                error: schedule.and_then(|s| s.error),
                resources: resources.into_iter().map(Into::into).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// A drifted resource in the fleet view.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetDriftedResource {
    /// Tenant slug.
    pub tenant_slug: String,
    /// Environment.
    pub environment: String,
    /// The resource.
    #[serde(flatten)]
    pub resource: DriftedResourceView,
}

/// Drifted resources of one type across the fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftByType {
    /// Type token.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its drifted resources.
    pub resources: Vec<FleetDriftedResource>,
}

/// The fleet's drift.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetDrift {
    /// Environments with at least one drifted resource.
    pub drifted_environments: usize,
    /// Drifted resources.
    pub drifted_resources: usize,
    /// By resource type.
    pub types: Vec<DriftByType>,
}

/// Drift across every environment the token sees, grouped by resource type.
#[utoipa::path(
    tag = "drift",
    responses((status = 200, body = FleetDrift), Unauthorized),
    security(("bearer" = []))
)]
#[get("/api/v1/drift")]
pub async fn list_drift(state: web::Data<AppState>, viewer: Viewer) -> ApiResult {
    let rows = state.db(store::drift::fleet).await?;
    let mut types: Vec<DriftByType> = Vec::new();
    let mut envs = std::collections::BTreeSet::new();
    let mut count = 0;
    for (row, slug, env) in rows {
        if !viewer.0.sees(&slug) {
            continue;
        }
        envs.insert((slug.clone(), env.clone()));
        count += 1;
        let resource = FleetDriftedResource {
            tenant_slug: slug,
            environment: env,
            resource: row.into(),
        };
        match types.last_mut() {
            Some(t) if t.type_ == resource.resource.type_ => t.resources.push(resource),
            _ => types.push(DriftByType {
                type_: resource.resource.type_.clone(),
                resources: vec![resource],
            }),
        }
    }
    Ok(HttpResponse::Ok().json(FleetDrift {
        drifted_environments: envs.len(),
        drifted_resources: count,
        types,
    }))
}
