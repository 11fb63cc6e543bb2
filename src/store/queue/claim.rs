//! Taking work: `claim` the next runnable operation, keep its lease with `heartbeat`, and let
//! recovery `take_over` operations whose lease expired.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Timestamp};

use super::{Lease, QueueError, hold};
use crate::domain::OperationStatus;
use crate::store::operations::Operation;
use crate::store::schema::operations as ops;
use crate::store::stacks::{self, StackChange};
use crate::store::{Conn, StoreError, transaction};

/// A claimed operation and the lease to run it under.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The operation, as it is now (running).
    pub op: Operation,
    /// The lease every later write must hold.
    pub lease: Lease,
}

/// The queue position of the next runnable operation: the oldest queued operation of a stack
/// that has nothing running and nothing queued before it. Plain SQL without parameters
/// (the names are the stored status names), so any backend runs it.
///
/// On PostgreSQL (`skip_locked`) the row is locked with `FOR UPDATE OF q SKIP LOCKED`: claims
/// from workers on other hosts pass over a row another claim is taking instead of queueing
/// behind it, and the row's status is checked again once locked. A second claim can still
/// not start another operation of the same stack: the `NOT EXISTS` sees the first one
/// (queued or, once committed, running), and the partial unique index
/// `operations_one_running_per_stack` refuses it if anything slipped through.
fn next_runnable(skip_locked: bool) -> String {
    let (queued, running) = (
        OperationStatus::Queued.as_str(),
        OperationStatus::Running.as_str(),
    );
    format!(
        "(SELECT q.seq FROM operations q \
          WHERE q.status = '{queued}' \
            AND NOT EXISTS (SELECT 1 FROM operations o \
                            WHERE o.stack_name = q.stack_name \
                              AND (o.status = '{running}' \
                                   OR (o.status = '{queued}' AND o.seq < q.seq))) \
          ORDER BY q.seq LIMIT 1{lock})",
        lock = if skip_locked {
            " FOR UPDATE OF q SKIP LOCKED"
        } else {
            ""
        }
    )
}

/// Claims the next runnable operation for `worker_id`, whose `executor` will run it: one
/// statement picks and marks it running (a new attempt, a new lease token); the stack then
/// shows it as running. `None` when nothing is runnable.
pub fn claim(
    conn: &mut Conn,
    worker_id: &str,
    executor: &str,
    lease_until: NaiveDateTime,
) -> Result<Option<Claimed>, StoreError> {
    claim_then(conn, worker_id, executor, lease_until, |_, _| Ok(()))
        .map(|c| c.map(|(claimed, ())| claimed))
}

/// [`claim`], then `then` on the claimed operation in the same transaction (the worker reads
/// its job there: one `BEGIN … COMMIT` for the claim and its reads). An error from `then`
/// rolls the claim back: the operation stays queued.
pub fn claim_then<T>(
    conn: &mut Conn,
    worker_id: &str,
    executor: &str,
    lease_until: NaiveDateTime,
    then: impl FnOnce(&mut Conn, &Claimed) -> Result<T, StoreError>,
) -> Result<Option<(Claimed, T)>, StoreError> {
    let now = crate::store::now();
    let next = next_runnable(matches!(conn, Conn::Pg(_)));
    transaction(conn, |conn| {
        let claimed = crate::store::on_backend!(conn, |c| diesel::update(
            ops::table.filter(ops::seq.nullable().eq(sql::<Nullable<Integer>>(&next))),
        )
        .set((
            ops::status.eq(OperationStatus::Running),
            ops::worker_id.eq(worker_id),
            ops::executor.eq(executor),
            ops::lease_expires_at.eq(Some(lease_until)),
            ops::lease_token.eq(ops::lease_token + 1),
            ops::attempt.eq(ops::attempt + 1),
            ops::started_at.eq(sql::<Nullable<Timestamp>>("COALESCE(started_at, ")
                .bind::<Timestamp, _>(now)
                .sql(")")),
        ))
        .returning(Operation::as_returning())
        .get_result(c))
        .optional()?;
        let Some(op) = claimed else {
            return Ok(None);
        };
        let change = StackChange {
            status: op.kind.status_when_running(),
            current_operation_id: Some(Some(&op.id)),
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
        let claimed = Claimed {
            lease: Lease::of(&op),
            op,
        };
        let value = then(conn, &claimed)?;
        Ok(Some((claimed, value)))
    })
}

/// What a renewed lease learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    /// A cancel was requested through the API.
    pub cancel_requested: bool,
}

/// Renews `lease` until `lease_until`; [`QueueError::LeaseLost`] when it is no longer held.
pub fn heartbeat(
    conn: &mut Conn,
    lease: &Lease,
    lease_until: NaiveDateTime,
) -> Result<Renewed, QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set(ops::lease_expires_at.eq(Some(lease_until)))
            .execute(conn)?;
        Ok(Renewed {
            cancel_requested: op.cancel_requested,
        })
    })
}

/// Running operations whose lease expired before `now` (their worker died or hung).
pub fn expired(conn: &mut Conn, now: NaiveDateTime) -> Result<Vec<Operation>, StoreError> {
    ops::table
        .filter(ops::status.eq(OperationStatus::Running))
        .filter(ops::lease_expires_at.lt(now))
        .order(ops::seq.asc())
        .select(Operation::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Takes over the expired lease of `seen` for recovery by `worker_id`. Only one reaper wins:
/// the lease must still be the expired one it saw. The new token fences the old attempt off.
pub fn take_over(
    conn: &mut Conn,
    seen: &Operation,
    worker_id: &str,
    lease_until: NaiveDateTime,
) -> Result<Option<Lease>, StoreError> {
    let op = crate::store::on_backend!(conn, |c| diesel::update(
        ops::table
            .filter(ops::id.eq(&seen.id))
            .filter(ops::status.eq(OperationStatus::Running))
            .filter(ops::lease_token.eq(seen.lease_token))
            .filter(ops::lease_expires_at.lt(crate::store::now())),
    )
    .set((
        ops::worker_id.eq(worker_id),
        ops::lease_expires_at.eq(Some(lease_until)),
        ops::lease_token.eq(ops::lease_token + 1),
    ))
    .returning(Operation::as_returning())
    .get_result(c))
    .optional()?;
    Ok(op.as_ref().map(Lease::of))
}
