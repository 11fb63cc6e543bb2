//! The `stacks` table: one row per `<slug>-<env>` that has ever had an operation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::stacks;
use super::{Conn, StoreError};

/// Stack status, compatible with the original API's values.
pub const DESTROYED: &str = "destroyed";

/// A stack row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stacks)]
pub struct Stack {
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Environment name.
    pub environment: String,
    /// pending | in_progress | succeeded | failed | destroying | destroyed.
    pub status: String,
    /// Last known outputs (JSON, secrets redacted).
    pub outputs: Option<String>,
    /// Last error message.
    pub error: Option<String>,
    /// Last operation id.
    pub last_operation_id: Option<String>,
    /// First operation time.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// Stacks of a tenant that still hold (or may hold) cloud resources.
pub fn live_for_tenant(conn: &mut Conn, tenant_id: &str) -> Result<Vec<Stack>, StoreError> {
    stacks::table
        .filter(stacks::tenant_id.eq(tenant_id))
        .filter(stacks::status.ne(DESTROYED))
        .select(Stack::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The stack of one environment, if it ever had an operation.
pub fn find_for_env(
    conn: &mut Conn,
    tenant_id: &str,
    environment: &str,
) -> Result<Option<Stack>, StoreError> {
    stacks::table
        .filter(stacks::tenant_id.eq(tenant_id))
        .filter(stacks::environment.eq(environment))
        .select(Stack::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// Inserts or replaces a stack row's status (used by the operations engine and tests).
pub fn upsert_status(
    conn: &mut Conn,
    stack_name: &str,
    tenant_id: &str,
    environment: &str,
    status: &str,
) -> Result<(), StoreError> {
    let now = super::now();
    diesel::insert_into(stacks::table)
        .values((
            stacks::stack_name.eq(stack_name),
            stacks::tenant_id.eq(tenant_id),
            stacks::environment.eq(environment),
            stacks::status.eq(status),
            stacks::created_at.eq(now),
            stacks::updated_at.eq(now),
        ))
        .on_conflict(stacks::stack_name)
        .do_update()
        .set((stacks::status.eq(status), stacks::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
