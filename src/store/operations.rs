//! The `operations` table: a durable queue with leases. At most one operation per stack runs;
//! the others wait in `seq` order.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::operations as ops;
use super::{Conn, StoreError};
use crate::domain::{OperationKind, OperationStatus};

/// An operation row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ops)]
pub struct Operation {
    /// Queue position.
    pub seq: i32,
    /// UUID.
    pub id: String,
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// preview | update | refresh | destroy.
    pub kind: String,
    /// queued | running | succeeded | failed | cancelled.
    pub status: String,
    /// Config version the operation applies.
    pub config_version: Option<i32>,
    /// `local` or `deployments`.
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
    pub stack_status_before: Option<String>,
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
}

impl Operation {
    /// The typed kind.
    pub fn kind(&self) -> Result<OperationKind, StoreError> {
        self.kind.parse().map_err(StoreError::Corrupt)
    }

    /// The typed status.
    pub fn status(&self) -> Result<OperationStatus, StoreError> {
        self.status.parse().map_err(StoreError::Corrupt)
    }
}

/// An operation to enqueue.
#[derive(Debug, Insertable)]
#[diesel(table_name = ops)]
pub struct NewOperation<'a> {
    /// UUID.
    pub id: &'a str,
    /// Stack.
    pub stack_name: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Always `queued`.
    pub status: &'a str,
    /// Config version.
    pub config_version: Option<i32>,
    /// Executor name.
    pub executor: &'a str,
    /// Stack status before.
    pub stack_status_before: Option<&'a str>,
    /// Who asked.
    pub requested_by: Option<&'a str>,
    /// Now.
    pub created_at: NaiveDateTime,
}

/// Enqueues an operation.
pub fn insert(conn: &mut Conn, new: &NewOperation<'_>) -> Result<Operation, StoreError> {
    diesel::insert_into(ops::table)
        .values(new)
        .returning(Operation::as_returning())
        .get_result(conn)
        .map_err(Into::into)
}

/// One operation by id.
pub fn find(conn: &mut Conn, id: &str) -> Result<Operation, StoreError> {
    ops::table
        .filter(ops::id.eq(id))
        .select(Operation::as_select())
        .first(conn)
        .map_err(Into::into)
}

/// A stack's operations, newest first.
pub fn list_for_stack(
    conn: &mut Conn,
    stack: &str,
    limit: i64,
) -> Result<Vec<Operation>, StoreError> {
    ops::table
        .filter(ops::stack_name.eq(stack))
        .order(ops::seq.desc())
        .limit(limit)
        .select(Operation::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Claims the next runnable operation for `worker_id`: the oldest queued operation of a stack
/// that has no running one. Runs in an immediate transaction, so two workers (even in two
/// processes) never claim the same operation or two operations of one stack.
pub fn claim_next(
    conn: &mut Conn,
    worker_id: &str,
    lease_until: NaiveDateTime,
) -> Result<Option<Operation>, StoreError> {
    conn.immediate_transaction(|conn| {
        let queued: Vec<(i32, String)> = ops::table
            .filter(ops::status.eq(OperationStatus::Queued.as_str()))
            .order(ops::seq.asc())
            .select((ops::seq, ops::stack_name))
            .load(conn)?;
        let busy: Vec<String> = ops::table
            .filter(ops::status.eq(OperationStatus::Running.as_str()))
            .select(ops::stack_name)
            .load(conn)?;
        // `queued` is in seq order, so the first hit per stack is that stack's oldest.
        let mut seen = std::collections::HashSet::new();
        let pick = queued.into_iter().find(|(_, stack)| {
            let first_of_stack = seen.insert(stack.clone());
            first_of_stack && !busy.contains(stack)
        });
        let Some((seq, _)) = pick else {
            return Ok(None);
        };
        let now = super::now();
        let op = diesel::update(ops::table.find(seq))
            .set((
                ops::status.eq(OperationStatus::Running.as_str()),
                ops::worker_id.eq(worker_id),
                ops::lease_expires_at.eq(Some(lease_until)),
                ops::attempt.eq(ops::attempt + 1),
                ops::started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
                >("COALESCE(started_at, ")
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .sql(")")),
            ))
            .returning(Operation::as_returning())
            .get_result(conn)?;
        Ok(Some(op))
    })
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease was renewed.
    Renewed {
        /// A cancel was requested through the API.
        cancel_requested: bool,
    },
    /// The lease is no longer ours (expired and recovered elsewhere, or finished).
    Lost,
}

/// Renews the lease of a running operation held by `worker_id`.
pub fn heartbeat(
    conn: &mut Conn,
    id: &str,
    worker_id: &str,
    lease_until: NaiveDateTime,
) -> Result<Heartbeat, StoreError> {
    let row: Option<bool> = diesel::update(
        ops::table
            .filter(ops::id.eq(id))
            .filter(ops::worker_id.eq(worker_id))
            .filter(ops::status.eq(OperationStatus::Running.as_str())),
    )
    .set(ops::lease_expires_at.eq(Some(lease_until)))
    .returning(ops::cancel_requested)
    .get_result(conn)
    .optional()?;
    Ok(match row {
        Some(cancel_requested) => Heartbeat::Renewed { cancel_requested },
        None => Heartbeat::Lost,
    })
}

/// Running operations whose lease expired before `now` (their worker died or hung).
pub fn expired(conn: &mut Conn, now: NaiveDateTime) -> Result<Vec<Operation>, StoreError> {
    ops::table
        .filter(ops::status.eq(OperationStatus::Running.as_str()))
        .filter(ops::lease_expires_at.lt(now))
        .order(ops::seq.asc())
        .select(Operation::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Takes over an expired lease for recovery: only one reaper wins (the lease must still be
/// the expired one it saw).
pub fn take_over(
    conn: &mut Conn,
    op: &Operation,
    worker_id: &str,
    lease_until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        ops::table
            .filter(ops::id.eq(&op.id))
            .filter(ops::status.eq(OperationStatus::Running.as_str()))
            .filter(ops::lease_expires_at.eq(op.lease_expires_at)),
    )
    .set((
        ops::worker_id.eq(worker_id),
        ops::lease_expires_at.eq(Some(lease_until)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Puts a recovered operation back in the queue; its `seq` keeps it first for its stack.
pub fn requeue(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    diesel::update(ops::table.filter(ops::id.eq(id)))
        .set((
            ops::status.eq(OperationStatus::Queued.as_str()),
            ops::worker_id.eq(None::<String>),
            ops::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether another operation than `except` is queued or running on `stack`.
pub fn others_active(conn: &mut Conn, stack: &str, except: &str) -> Result<bool, StoreError> {
    let n: i64 = ops::table
        .filter(ops::stack_name.eq(stack))
        .filter(ops::id.ne(except))
        .filter(ops::status.eq_any([
            OperationStatus::Queued.as_str(),
            OperationStatus::Running.as_str(),
        ]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records the end of an operation.
pub fn finish(
    conn: &mut Conn,
    id: &str,
    status: OperationStatus,
    error: Option<&str>,
    summary: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(ops::table.filter(ops::id.eq(id)))
        .set((
            ops::status.eq(status.as_str()),
            ops::error.eq(error),
            ops::summary.eq(summary),
            ops::finished_at.eq(Some(super::now())),
            ops::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Flags a running operation for cancellation (its worker sees it on the next heartbeat).
pub fn flag_cancel(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    diesel::update(ops::table.filter(ops::id.eq(id)))
        .set(ops::cancel_requested.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Records the executor-side reference of an operation.
pub fn set_external_ref(conn: &mut Conn, id: &str, external_ref: &str) -> Result<(), StoreError> {
    diesel::update(ops::table.filter(ops::id.eq(id)))
        .set(ops::external_ref.eq(Some(external_ref)))
        .execute(conn)?;
    Ok(())
}

/// Number of operations per (kind, status), for metrics.
pub fn counts(conn: &mut Conn) -> Result<Vec<(String, String, i64)>, StoreError> {
    ops::table
        .group_by((ops::kind, ops::status))
        .select((ops::kind, ops::status, diesel::dsl::count_star()))
        .load(conn)
        .map_err(Into::into)
}
