//! The `stacks` table: one row per `<slug>-<env>` that has ever had an operation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::stacks;
use super::{Conn, StoreError};
use crate::domain::StackStatus;

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
    /// The operation running now, if any.
    pub current_operation_id: Option<String>,
}

/// Stacks of a tenant that still hold (or may hold) cloud resources.
pub fn live_for_tenant(conn: &mut Conn, tenant_id: &str) -> Result<Vec<Stack>, StoreError> {
    stacks::table
        .filter(stacks::tenant_id.eq(tenant_id))
        .filter(stacks::status.ne_all([
            StackStatus::Destroyed.as_str(),
            StackStatus::NotDeployed.as_str(),
        ]))
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

/// Creates the stack row if missing (status `not_deployed`) and returns it.
pub fn ensure(
    conn: &mut Conn,
    stack_name: &str,
    tenant_id: &str,
    environment: &str,
) -> Result<Stack, StoreError> {
    let now = super::now();
    diesel::insert_into(stacks::table)
        .values((
            stacks::stack_name.eq(stack_name),
            stacks::tenant_id.eq(tenant_id),
            stacks::environment.eq(environment),
            stacks::status.eq(StackStatus::NotDeployed.as_str()),
            stacks::created_at.eq(now),
            stacks::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    stacks::table
        .find(stack_name)
        .select(Stack::as_select())
        .first(conn)
        .map_err(Into::into)
}

/// Sets the status (when given) and the current operation of a stack.
pub fn set_status(
    conn: &mut Conn,
    stack_name: &str,
    status: Option<StackStatus>,
    current_operation_id: Option<&str>,
) -> Result<(), StoreError> {
    let now = super::now();
    let target = stacks::table.find(stack_name);
    match status {
        Some(s) => diesel::update(target)
            .set((
                stacks::status.eq(s.as_str()),
                stacks::current_operation_id.eq(current_operation_id),
                stacks::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                stacks::current_operation_id.eq(current_operation_id),
                stacks::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Records the end of an operation on its stack: status, outputs, error, last operation.
pub fn record_result(
    conn: &mut Conn,
    stack_name: &str,
    status: Option<StackStatus>,
    operation_id: &str,
    outputs: Option<Option<&str>>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let now = super::now();
    let target = stacks::table.find(stack_name);
    diesel::update(target)
        .set((
            stacks::current_operation_id.eq(None::<String>),
            stacks::last_operation_id.eq(Some(operation_id)),
            stacks::error.eq(error),
            stacks::updated_at.eq(now),
        ))
        .execute(conn)?;
    if let Some(s) = status {
        diesel::update(target)
            .set(stacks::status.eq(s.as_str()))
            .execute(conn)?;
    }
    if let Some(outputs) = outputs {
        diesel::update(target)
            .set(stacks::outputs.eq(outputs))
            .execute(conn)?;
    }
    Ok(())
}

/// The stack named `stack_name`.
pub fn find(conn: &mut Conn, stack_name: &str) -> Result<Stack, StoreError> {
    stacks::table
        .find(stack_name)
        .select(Stack::as_select())
        .first(conn)
        .map_err(Into::into)
}
