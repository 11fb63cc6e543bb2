//! The `operation_plans` table: the update plan a deploy's preview saved, sealed with the
//! master key (bound to the operation id: a plan may hold secret inputs), its change list,
//! and the approval decision. Written only through the queue's transitions
//! (`queue::record_plan`, `queue::conclude_plan`, `queue::approve`, `queue::reject`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::operation_plans as table;
use super::{Conn, Found, StoreError};
use crate::crypto::{CryptoError, MasterKey};
use crate::domain::approval::ResourceChange;

/// One deploy's saved plan.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = table)]
pub struct OperationPlan {
    /// The deploy.
    pub operation_id: String,
    /// The plan file, sealed ([`seal`]).
    pub plan_sealed: Vec<u8>,
    /// The change list, JSON (`[ResourceChange]`).
    pub changes: String,
    /// Why the policy holds it; `None` when it let it through.
    pub hold_reason: Option<String>,
    /// The config version the preview ran with.
    pub config_version: i32,
    /// When the preview saved it.
    pub created_at: NaiveDateTime,
    /// After this it can no longer be approved.
    pub expires_at: NaiveDateTime,
    /// `approved`, `rejected`, `auto` (the policy let it through) or `refused` (stale when
    /// approved); `None` while it waits.
    pub decision: Option<String>,
    /// Token name that decided (`policy` for `auto`).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<NaiveDateTime>,
}

impl OperationPlan {
    /// The change list (an unreadable one reads as empty: it is display data only).
    pub fn change_list(&self) -> Vec<ResourceChange> {
        serde_json::from_str(&self.changes).unwrap_or_default()
    }
}

fn context(operation_id: &str) -> Vec<u8> {
    format!("update-plan:{operation_id}").into_bytes()
}

/// Seals a plan file for `operation_id`.
pub fn seal(key: &MasterKey, operation_id: &str, plan: &[u8]) -> Vec<u8> {
    key.seal(plan, &context(operation_id))
}

/// Opens what [`seal`] sealed (another operation's plan does not open).
pub fn open(key: &MasterKey, operation_id: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    key.open(sealed, &context(operation_id))
}

/// The plan of `operation_id`, if its preview saved one.
pub fn lookup(conn: &mut Conn, operation_id: &str) -> Result<Option<OperationPlan>, StoreError> {
    table::table
        .find(operation_id)
        .select(OperationPlan::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// The plan of `operation_id`; `NotFound` names it.
pub fn find(conn: &mut Conn, operation_id: &str) -> Result<OperationPlan, StoreError> {
    table::table
        .find(operation_id)
        .select(OperationPlan::as_select())
        .first(conn)
        .optional()
        .found("update plan of operation", || operation_id.to_owned())
}
