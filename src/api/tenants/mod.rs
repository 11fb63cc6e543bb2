//! `/api/v1/tenants`: register, list, read and remove tenants.

mod create;
mod read;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use create::*;
pub use read::*;

use crate::store;

/// A tenant as the API shows it. Never carries the external ID.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Tenant id (UUID).
    pub id: String,
    /// Unique slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// AWS account id.
    pub aws_account_id: String,
    /// Region the tenant deploys to.
    pub aws_region: String,
    /// IAM role name the tenant creates.
    pub role_name: String,
    /// ARN byoc assumes.
    pub role_arn: String,
    /// When the role was last verified, if ever.
    pub role_verified_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Labels (`PUT /api/v1/tenants/{slug}/labels`).
    #[schema(example = json!({"tier": "gold", "ring": "canary"}))]
    pub labels: BTreeMap<String, String>,
}

impl From<store::tenants::Tenant> for TenantView {
    fn from(t: store::tenants::Tenant) -> Self {
        let labels = t.labels().map_or_else(
            |e| {
                // Shown as none rather than failing every read of the tenant.
                tracing::error!(error = %e, "stored labels do not parse");
                BTreeMap::new()
            },
            |l| l.as_map().clone(),
        );
        Self {
            labels,
            id: t.id,
            slug: t.slug,
            name: t.name,
            aws_account_id: t.aws_account_id,
            aws_region: t.aws_region,
            role_name: t.role_name,
            role_arn: t.role_arn,
            role_verified_at: t.role_verified_at.map(|t| t.and_utc()),
            created_at: t.created_at.and_utc(),
            updated_at: t.updated_at.and_utc(),
        }
    }
}
