//! The `stacks` table: one row per `<slug>-<env>` that has ever had an operation. Its status
//! changes only through the queue's transitions (`store::queue`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::operations::Operation;
use super::schema::stacks;
use super::{Conn, Found, StoreError};
use crate::domain::StackStatus;

/// A stack row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stacks)]
pub struct Stack {
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Environment name.
    pub environment: String,
    /// What the stack shows.
    pub status: StackStatus,
    /// Last known outputs (JSON, secret values sealed; see `store::outputs`).
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
    /// The byoc release (version and component catalog identity) of the last successful
    /// deploy, when one has succeeded since byoc recorded it.
    pub deployed_release: Option<String>,
}

/// A change to a stack row: `None` leaves a column as it is; `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = stacks)]
pub struct StackChange<'a> {
    /// New status.
    pub status: Option<StackStatus>,
    /// New outputs.
    pub outputs: Option<Option<&'a str>>,
    /// New error message.
    pub error: Option<Option<&'a str>>,
    /// New last operation.
    pub last_operation_id: Option<Option<&'a str>>,
    /// New current operation.
    pub current_operation_id: Option<Option<&'a str>>,
    /// The release a deploy that just succeeded ran with.
    pub deployed_release: Option<Option<&'a str>>,
}

/// Applies `change` to the stack named `stack_name` (and touches `updated_at`).
pub fn update(
    conn: &mut Conn,
    stack_name: &str,
    change: &StackChange<'_>,
) -> Result<(), StoreError> {
    diesel::update(stacks::table.find(stack_name))
        .set((change, stacks::updated_at.eq(super::now())))
        .execute(conn)?;
    Ok(())
}

/// Stacks of a tenant that still hold (or may hold) cloud resources.
pub fn live_for_tenant(conn: &mut Conn, tenant_id: &str) -> Result<Vec<Stack>, StoreError> {
    stacks::table
        .filter(stacks::tenant_id.eq(tenant_id))
        .filter(stacks::status.ne_all([StackStatus::Destroyed, StackStatus::NotDeployed]))
        .select(Stack::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The stack of one environment, if it ever had an operation.
pub fn lookup_for_env(
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

/// What a stack's readers need of its tenant: the whole row is twelve columns, three of
/// them timestamps parsed from text on SQLite (issue 16: GET status).
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct TenantRef {
    /// The tenant's slug.
    pub slug: String,
    /// The tenant's AWS region.
    pub aws_region: String,
}

/// The tenant with `slug` and the stack of its `environment`, in one query (a read of
/// `GET …/status` and `GET …/outputs`); `NotFound` names the tenant, or the stack
/// `stack_name` when the tenant has none for the environment.
pub fn find_with_tenant(
    conn: &mut Conn,
    slug: &str,
    environment: &str,
    stack_name: &str,
) -> Result<(TenantRef, Stack), StoreError> {
    use super::schema::tenants;
    // Not `.first()`: see `super::first_row` (SQLite re-prepares `LIMIT ?`); on the
    // engine's own connection: see `super::first_row`.
    let row = super::on_backend!(conn, |c| super::first_row(
        tenants::table
            .left_join(
                stacks::table.on(stacks::tenant_id
                    .eq(tenants::id)
                    .and(stacks::environment.eq(environment))),
            )
            .filter(tenants::slug.eq(slug))
            .select((
                (tenants::slug, tenants::aws_region),
                Option::<Stack>::as_select()
            ))
            .load_iter::<(TenantRef, Option<Stack>), diesel::connection::DefaultLoadingMode>(c)
    ));
    let (tenant, stack) = row.found("tenant", || slug.to_owned())?;
    let stack = stack.ok_or_else(|| StoreError::not_found("stack", stack_name))?;
    Ok((tenant, stack))
}

/// The operation columns in `Operation`'s field order, read through an alias of `operations`
/// (diesel's aliases take a tuple of columns, not `as_select()`).
macro_rules! operation_columns {
    ($alias:expr) => {{
        use super::schema::operations as o;
        (
            $alias.field(o::seq),
            $alias.field(o::id),
            $alias.field(o::stack_name),
            $alias.field(o::kind),
            $alias.field(o::status),
            $alias.field(o::config_version),
            $alias.field(o::executor),
            $alias.field(o::external_ref),
            $alias.field(o::worker_id),
            $alias.field(o::lease_expires_at),
            $alias.field(o::attempt),
            $alias.field(o::cancel_requested),
            $alias.field(o::stack_status_before),
            $alias.field(o::requested_by),
            $alias.field(o::created_at),
            $alias.field(o::started_at),
            $alias.field(o::finished_at),
            $alias.field(o::error),
            $alias.field(o::summary),
            $alias.field(o::lease_token),
        )
    }};
}

/// What `GET …/status` answers from: the tenant with `slug`, the stack of its `environment`,
/// and the stack's current and last operations (when their rows exist), in **one** statement
/// (two left joins of aliased `operations`): one read, one implicit read transaction on
/// SQLite, instead of [`find_with_tenant`] and a second statement for the operations (issue
/// 16). `NotFound` as [`find_with_tenant`].
pub fn find_status(
    conn: &mut Conn,
    slug: &str,
    environment: &str,
    stack_name: &str,
) -> Result<(TenantRef, Stack, Option<Operation>, Option<Operation>), StoreError> {
    use super::schema::{operations, tenants};
    let (current, last) = diesel::alias!(operations as current_op, operations as last_op);
    // On the engine's own connection, all in one row: see `super::first_row`.
    // The join condition binds an owned `String`: diesel's aliases need a `'static` from
    // clause.
    let environment = environment.to_owned();
    let row = super::on_backend!(conn, |c| super::first_row(
        tenants::table
            .left_join(
                stacks::table.on(stacks::tenant_id
                    .eq(tenants::id)
                    .and(stacks::environment.eq(environment))),
            )
            .left_join(
                current.on(current
                    .field(operations::id)
                    .nullable()
                    .eq(stacks::current_operation_id)),
            )
            .left_join(
                last.on(last
                    .field(operations::id)
                    .nullable()
                    .eq(stacks::last_operation_id)),
            )
            .filter(tenants::slug.eq(slug))
            .select((
                (tenants::slug, tenants::aws_region),
                Option::<Stack>::as_select(),
                operation_columns!(current).nullable(),
                operation_columns!(last).nullable(),
            ))
            .load_iter::<(
                TenantRef,
                Option<Stack>,
                Option<Operation>,
                Option<Operation>
            ), diesel::connection::DefaultLoadingMode>(c)
    ));
    let (tenant, stack, current, last) = row.found("tenant", || slug.to_owned())?;
    let stack = stack.ok_or_else(|| StoreError::not_found("stack", stack_name))?;
    Ok((tenant, stack, current, last))
}

/// The stack of one environment; `NotFound` names it `stack_name`.
pub fn find_for_env(
    conn: &mut Conn,
    tenant_id: &str,
    environment: &str,
    stack_name: &str,
) -> Result<Stack, StoreError> {
    lookup_for_env(conn, tenant_id, environment).found("stack", || stack_name.to_owned())
}

/// Creates the stack row if missing (status `not_deployed`) and returns it — on PostgreSQL
/// locked for the rest of the transaction (see [`lock`]).
pub fn ensure(
    conn: &mut Conn,
    stack_name: &str,
    tenant_id: &str,
    environment: &str,
) -> Result<Stack, StoreError> {
    let now = super::now();
    let row = (
        stacks::stack_name.eq(stack_name),
        stacks::tenant_id.eq(tenant_id),
        stacks::environment.eq(environment),
        stacks::status.eq(StackStatus::NotDeployed),
        stacks::created_at.eq(now),
        stacks::updated_at.eq(now),
    );
    // `ON CONFLICT` is per engine (diesel's `MultiConnection` does not offer it).
    super::on_backend!(conn, |c| diesel::insert_into(stacks::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    lock(conn, stack_name)
}

/// Reads the stack named `stack_name` for a change decided on what is read. On PostgreSQL
/// the row stays locked (`FOR UPDATE`) until the transaction ends, so the queue's
/// transitions on one stack run one after another, as SQLite's single writer makes them
/// run everywhere. Lock order: an operation's row before its stack's.
pub fn lock(conn: &mut Conn, stack_name: &str) -> Result<Stack, StoreError> {
    match conn {
        Conn::Pg(c) => stacks::table
            .find(stack_name)
            .select(Stack::as_select())
            .for_update()
            .first(c),
        Conn::Sqlite(c) => stacks::table
            .find(stack_name)
            .select(Stack::as_select())
            .first(c),
    }
    .optional()
    .found("stack", || stack_name.to_owned())
}

/// The stack named `stack_name`.
pub fn find(conn: &mut Conn, stack_name: &str) -> Result<Stack, StoreError> {
    stacks::table
        .find(stack_name)
        .select(Stack::as_select())
        .first(conn)
        .optional()
        .found("stack", || stack_name.to_owned())
}
