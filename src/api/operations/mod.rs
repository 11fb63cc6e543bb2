//! Stack operations over HTTP: start them (deploy, preview, refresh, destroy), follow them
//! (status, history, one operation, its events as JSON or SSE), cancel them, read outputs.

mod approve;
mod cancel;
mod events;
mod read;
mod start;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use approve::*;
pub use cancel::*;
pub use events::*;
pub use read::*;
pub use start::*;

use crate::domain::{OperationKind, OperationStatus};
use crate::store::operations::Operation;
use crate::store::{self, Conn, StoreError};

/// An operation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationView {
    /// Operation id.
    pub id: String,
    /// Stack `<slug>-<env>`.
    pub stack_name: String,
    /// Slug of the tenant the stack belongs to.
    pub tenant_slug: String,
    /// Environment name of the stack.
    pub environment: String,
    /// preview | update | refresh | destroy | forget.
    pub kind: OperationKind,
    /// queued | running | awaiting_approval | succeeded | failed | cancelled.
    pub status: OperationStatus,
    /// Config version it applies.
    pub config_version: Option<i32>,
    /// The executor of the worker that claimed it (`local`, `deployments`, or `simulated`:
    /// nothing was deployed); `null` until a worker claims it.
    pub executor: Option<String>,
    /// Runs so far (more than 1 after a recovery).
    pub attempt: i32,
    /// A cancel was requested while it ran.
    pub cancel_requested: bool,
    /// Name of the token that started it.
    pub requested_by: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Started at.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished at.
    pub finished_at: Option<DateTime<Utc>>,
    /// The engine's error message, for failures and cancellations.
    pub error: Option<String>,
    /// Resource changes (`create`, `update`, `delete`, `same`, …).
    pub summary: Option<BTreeMap<String, u64>>,
}

impl OperationView {
    /// Loads the tenant and environment of `o`'s stack.
    pub fn load(conn: &mut Conn, o: Operation) -> Result<Self, StoreError> {
        let stack = store::stacks::find(conn, &o.stack_name)?;
        let tenant = store::tenants::find(conn, &stack.tenant_id)?;
        Ok(Self::new(o, &tenant.slug, &stack.environment))
    }

    /// `o` on the stack of tenant `tenant_slug`'s `environment`.
    pub fn new(o: Operation, tenant_slug: &str, environment: &str) -> Self {
        Self {
            tenant_slug: tenant_slug.to_owned(),
            environment: environment.to_owned(),
            summary: o
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            executor: o.executor().map(str::to_owned),
            id: o.id,
            stack_name: o.stack_name,
            kind: o.kind,
            status: o.status,
            config_version: o.config_version,
            attempt: o.attempt,
            cancel_requested: o.cancel_requested,
            requested_by: o.requested_by,
            created_at: o.created_at.and_utc(),
            started_at: o.started_at.map(|t| t.and_utc()),
            finished_at: o.finished_at.map(|t| t.and_utc()),
            error: o.error,
        }
    }
}
