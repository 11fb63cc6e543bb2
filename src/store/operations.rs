//! The `operations` table: its row and the reads the API and the workers need. Every change
//! of an operation's state goes through the queue's transitions in `store::queue`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::operations as ops;
use super::{Conn, Found, StoreError};
use crate::domain::{OperationKind, OperationStatus, StackStatus};

/// An operation row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ops)]
pub struct Operation {
    /// Queue position.
    pub seq: i32,
    /// UUID.
    pub id: String,
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// What it does.
    pub kind: OperationKind,
    /// Where it is in its life.
    pub status: OperationStatus,
    /// Config version the operation applies.
    pub config_version: Option<i32>,
    /// The executor that claimed it last (`local`, `deployments`); empty until a worker
    /// claims it — read it through [`Operation::executor`].
    pub executor: String,
    /// Executor-side id (e.g. a Pulumi Deployments id).
    pub external_ref: Option<String>,
    /// Worker holding the lease.
    pub worker_id: Option<String>,
    /// Lease expiry.
    pub lease_expires_at: Option<NaiveDateTime>,
    /// Runs started so far (1 on the first run).
    pub attempt: i32,
    /// Cancel was asked for while running.
    pub cancel_requested: bool,
    /// Stack status before it was queued.
    pub stack_status_before: Option<StackStatus>,
    /// Token name that asked for it.
    pub requested_by: Option<String>,
    /// Queued at.
    pub created_at: NaiveDateTime,
    /// First started at.
    pub started_at: Option<NaiveDateTime>,
    /// Finished at.
    pub finished_at: Option<NaiveDateTime>,
    /// The engine's error message, for failures.
    pub error: Option<String>,
    /// Change summary JSON (`{"create": 3, "same": 10}`).
    pub summary: Option<String>,
    /// Fencing token of the current lease (see `store::queue::Lease`).
    pub lease_token: i64,
}

impl Operation {
    /// The executor that claimed it, once one has.
    pub fn executor(&self) -> Option<&str> {
        Some(self.executor.as_str()).filter(|e| !e.is_empty())
    }
}

/// An operation to enqueue (see `store::queue::enqueue`).
#[derive(Debug, Insertable)]
#[diesel(table_name = ops)]
pub(super) struct NewOperation<'a> {
    pub id: &'a str,
    pub stack_name: &'a str,
    pub kind: OperationKind,
    pub status: OperationStatus,
    pub config_version: Option<i32>,
    /// Empty: the executor is recorded when a worker claims the operation.
    pub executor: &'a str,
    pub stack_status_before: Option<StackStatus>,
    pub requested_by: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

/// Inserts a queued operation.
pub(super) fn insert(conn: &mut Conn, new: &NewOperation<'_>) -> Result<Operation, StoreError> {
    super::on_backend!(conn, |c| diesel::insert_into(ops::table)
        .values(new)
        .returning(Operation::as_returning())
        .get_result(c))
    .map_err(Into::into)
}

/// One operation by id; `NotFound` names it.
pub fn find(conn: &mut Conn, id: &str) -> Result<Operation, StoreError> {
    ops::table
        .filter(ops::id.eq(id))
        .select(Operation::as_select())
        .first(conn)
        .optional()
        .found("operation", || id.to_owned())
}

/// One operation by id, for a change decided on what is read: on PostgreSQL the row stays
/// locked (`FOR UPDATE`) until the transaction ends (see `stacks::lock`).
pub fn lock(conn: &mut Conn, id: &str) -> Result<Operation, StoreError> {
    match conn {
        Conn::Pg(c) => ops::table
            .filter(ops::id.eq(id))
            .select(Operation::as_select())
            .for_update()
            .first(c),
        Conn::Sqlite(c) => ops::table
            .filter(ops::id.eq(id))
            .select(Operation::as_select())
            .first(c),
    }
    .optional()
    .found("operation", || id.to_owned())
}

/// One operation by id, if it exists.
pub fn lookup(conn: &mut Conn, id: &str) -> Result<Option<Operation>, StoreError> {
    // Not `.first()`: see `super::first_row` (SQLite re-prepares `LIMIT ?`).
    super::first_row(
        ops::table
            .filter(ops::id.eq(id))
            .select(Operation::as_select())
            .load_iter::<Operation, diesel::connection::DefaultLoadingMode>(conn),
    )
}

/// A stack's operations (only those in `status` when given), newest first.
pub fn list_for_stack(
    conn: &mut Conn,
    stack: &str,
    status: Option<OperationStatus>,
    limit: i64,
) -> Result<Vec<Operation>, StoreError> {
    let mut query = ops::table.filter(ops::stack_name.eq(stack)).into_boxed();
    if let Some(status) = status {
        query = query.filter(ops::status.eq(status));
    }
    query
        .order(ops::seq.desc())
        .limit(limit)
        .select(Operation::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Number of operations per (kind, status), for metrics.
pub fn counts(conn: &mut Conn) -> Result<Vec<(OperationKind, OperationStatus, i64)>, StoreError> {
    ops::table
        .group_by((ops::kind, ops::status))
        .select((ops::kind, ops::status, diesel::dsl::count_star()))
        .load(conn)
        .map_err(Into::into)
}
