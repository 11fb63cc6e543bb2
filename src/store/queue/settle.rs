//! How a run's writes land and how operations end: events and the external reference while
//! running, `requeue` (retry, shutdown, recovery), `finish`, and `cancel` from the API.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Lease, QueueError, hold, others_active};
use crate::domain::{OperationKind, OperationStatus, StackStatus};
use crate::store::events::{self, NewEvent};
use crate::store::operations::{self, Operation};
use crate::store::schema::operation_events as ev;
use crate::store::schema::operations as ops;
use crate::store::stack_settings;
use crate::store::stacks::{self, StackChange};
use crate::store::{Conn, transaction};

/// Appends a batch of the running attempt's events (numbered after the last stored one);
/// returns them as stored.
pub fn record_events(
    conn: &mut Conn,
    lease: &Lease,
    batch: &[NewEvent],
) -> Result<Vec<events::Event>, QueueError> {
    record_events_at(conn, lease, None, batch)
}

/// [`record_events`] numbering from `first` when the lease holder knows it (its writer counts
/// what it stored; `None`: after the last stored event). Under the lease nothing else appends.
pub fn record_events_at(
    conn: &mut Conn,
    lease: &Lease,
    first: Option<i32>,
    batch: &[NewEvent],
) -> Result<Vec<events::Event>, QueueError> {
    transaction(conn, |conn| {
        hold(conn, lease)?;
        Ok(events::append_at(conn, &lease.operation_id, first, batch)?)
    })
}

/// Records the executor-side reference of the running attempt (e.g. a Deployments id), so a
/// recovered operation follows the same remote run.
pub fn record_external_ref(
    conn: &mut Conn,
    lease: &Lease,
    external_ref: &str,
) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set(ops::external_ref.eq(Some(external_ref)))
            .execute(conn)?;
        Ok(())
    })
}

/// Stores the stack settings file the running attempt's workspace ended with (sealed by the
/// caller, see `store::stack_settings`), so the next run's fresh workspace gets it back.
pub fn record_stack_settings(
    conn: &mut Conn,
    lease: &Lease,
    sealed: &[u8],
) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        Ok(stack_settings::put_settings(conn, &op.stack_name, sealed)?)
    })
}

/// Records whether the stack's checkpoint may hold pending operations (a run was killed, or
/// recovery took a dead worker's operation over), so the next run resolves them first.
pub fn record_check_pending(conn: &mut Conn, lease: &Lease, on: bool) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        Ok(stack_settings::put_check_pending(conn, &op.stack_name, on)?)
    })
}

/// Puts a running operation back in the queue (a transient failure, a shutdown, a recovered
/// crash). Its `seq` keeps it first for its stack; the stack shows it as queued again
/// (`pending`, `destroying`, or unchanged for previews and refreshes) with nothing running.
pub fn requeue(conn: &mut Conn, lease: &Lease) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set((
                ops::status.eq(OperationStatus::Queued),
                ops::worker_id.eq(None::<String>),
                ops::lease_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let change = StackChange {
            status: op.kind.status_when_queued(),
            current_operation_id: Some(None),
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
        Ok(())
    })
}

/// Event kind of the note recorded when a cancel was asked for but the run ended otherwise.
pub const CANCEL_TOO_LATE: &str = "byoc.cancel-too-late";

/// How a run ended, as the worker records it.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: OperationStatus,
    /// The engine's (or byoc's) message, for failures and cancellations.
    pub error: Option<&'a str>,
    /// Change summary JSON.
    pub summary: Option<&'a str>,
    /// Outputs the run produced, sealed (`store::outputs::seal`).
    pub outputs: Option<&'a str>,
}

/// Records the end of a running operation, on the operation and its stack: the stack's
/// status follows the kind and the outcome (`OperationKind::status_after`), its error is the
/// operation's, a successful update replaces its outputs and a successful destroy clears
/// them; nothing runs on the stack any more. A deploy or destroy that failed or was cancelled
/// on a stack that no run ever reached the engine for leaves it `not_deployed`: nothing can
/// have been created (e.g. no executor on this server), so its config and tenant stay
/// deletable.
pub fn finish(conn: &mut Conn, lease: &Lease, ending: &Ending<'_>) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        if op.cancel_requested && ending.status != OperationStatus::Cancelled {
            // The engine ended before the cancel could stop it: say so, or a
            // `cancel_requested` operation that succeeded leaves the user guessing.
            let note = NewEvent {
                kind: CANCEL_TOO_LATE.to_owned(),
                payload: serde_json::json!({ CANCEL_TOO_LATE: {
                    "message": format!(
                        "the cancel arrived after the engine had finished; the operation {} and its result stands",
                        ending.status
                    )
                }}),
            };
            events::append(conn, &op.id, &[note])?;
        }
        let untouched = matches!(op.kind, OperationKind::Update | OperationKind::Destroy)
            && matches!(
                ending.status,
                OperationStatus::Failed | OperationStatus::Cancelled
            )
            && engine_never_reached(conn, &op)?;
        close(conn, &op, ending.status, ending.error, ending.summary)?;
        let outputs = match (op.kind, ending.status, ending.outputs) {
            (OperationKind::Destroy, OperationStatus::Succeeded, _) => Some(None),
            (_, OperationStatus::Succeeded, Some(sealed)) => Some(Some(sealed)),
            _ => None,
        };
        let status = match untouched {
            true => Some(StackStatus::NotDeployed),
            false => op.kind.status_after(ending.status, None),
        };
        // A deploy that succeeded ran this binary's release (its version and component pins);
        // a redeploy rollout can then tell stacks on an older release apart.
        let release = crate::domain::config::release();
        let deployed_release = (op.kind == OperationKind::Update
            && ending.status == OperationStatus::Succeeded)
            .then_some(Some(release.as_str()));
        let change = StackChange {
            status,
            outputs,
            error: Some(ending.error),
            last_operation_id: Some(Some(&op.id)),
            current_operation_id: Some(None),
            deployed_release,
        };
        stacks::update(conn, &op.stack_name, &change)?;
        Ok(())
    })
}

/// Writes the `operation.finished` webhook event to the outbox, in the finish transaction:
/// the event exists exactly when the operation's end does.
pub(super) fn record_finished(
    conn: &mut Conn,
    op: &Operation,
    status: OperationStatus,
    error: Option<&str>,
) -> Result<(), QueueError> {
    let stack = stacks::find(conn, &op.stack_name)?;
    let tenant = crate::store::tenants::find(conn, &stack.tenant_id)?;
    let data = serde_json::json!({
        "operation_id": op.id,
        "tenant": tenant.slug,
        "environment": stack.environment,
        "stack_name": op.stack_name,
        "kind": op.kind,
        "status": status,
        "error": error,
        "requested_by": op.requested_by,
    });
    let body = crate::webhooks::envelope(crate::webhooks::OPERATION_FINISHED, data);
    crate::store::webhooks::record(conn, crate::webhooks::OPERATION_FINISHED, &body)?;
    Ok(())
}

/// Cancels an operation: a queued one ends at once (`cancelled`) and, if it set the stack's
/// status while queued and nothing else is active on the stack, the stack goes back to the
/// status it had before; a running one is flagged and its worker interrupts the run at its
/// next heartbeat. An operation that has ended is [`QueueError::Finished`].
pub fn cancel(conn: &mut Conn, id: &str) -> Result<Operation, QueueError> {
    transaction(conn, |conn| cancel_in(conn, id))
}

/// [`cancel`] inside the caller's transaction.
pub fn cancel_in(conn: &mut Conn, id: &str) -> Result<Operation, QueueError> {
    {
        let op = operations::lock(conn, id)?;
        stacks::lock(conn, &op.stack_name)?;
        match op.status {
            OperationStatus::Queued => {
                close(
                    conn,
                    &op,
                    OperationStatus::Cancelled,
                    Some("cancelled before it started"),
                    None,
                )?;
                if op.kind.status_when_queued().is_some()
                    && !others_active(conn, &op.stack_name, &op.id)?
                {
                    let change = StackChange {
                        status: op.stack_status_before,
                        ..StackChange::default()
                    };
                    stacks::update(conn, &op.stack_name, &change)?;
                }
            }
            // Nothing runs while a reviewer decides: it ends like a queued one.
            OperationStatus::AwaitingApproval => {
                super::approval::close_unrun(conn, &op, "cancelled while awaiting approval")?;
            }
            OperationStatus::Running => {
                diesel::update(ops::table.filter(ops::id.eq(&op.id)))
                    .set(ops::cancel_requested.eq(true))
                    .execute(conn)?;
            }
            status => {
                return Err(QueueError::Finished { id: op.id, status });
            }
        }
        Ok(operations::find(conn, id)?)
    }
}

/// Whether no run on `op`'s stack has ever reached the engine: no deploy of the stack
/// succeeded, no operation of the stack stored an engine event (byoc's own notes are `byoc.*`; the engine's first event, the
/// prelude, comes before any resource step), no attempt of `op` was taken over, and every
/// earlier attempt of `op` ended in a retry the worker recorded (an attempt lost with its worker may have run the engine
/// without its events reaching the database, so it counts as reached).
fn engine_never_reached(conn: &mut Conn, op: &Operation) -> Result<bool, QueueError> {
    let stack_ops = ops::table
        .filter(ops::stack_name.eq(&op.stack_name))
        .select(ops::id);
    let engine_events: i64 = ev::table
        .filter(ev::operation_id.eq_any(stack_ops))
        .filter(ev::kind.not_like("byoc.%"))
        .count()
        .get_result(conn)?;
    // A deploy that succeeded created something, whatever its executor reported as events.
    let deployed: i64 = ops::table
        .filter(ops::stack_name.eq(&op.stack_name))
        .filter(ops::kind.eq(OperationKind::Update))
        .filter(ops::status.eq(OperationStatus::Succeeded))
        .count()
        .get_result(conn)?;
    if engine_events > 0 || deployed > 0 {
        return Ok(false);
    }
    let retries: i64 = ev::table
        .filter(ev::operation_id.eq(&op.id))
        .filter(ev::kind.eq("byoc.retry"))
        .count()
        .get_result(conn)?;
    // `claim` and `take_over` each add one to the lease token, only `claim` to the attempt:
    // a token above the attempt count means an attempt was taken over from a lost worker.
    let taken_over = op.lease_token > i64::from(op.attempt);
    Ok(!taken_over && retries == i64::from(op.attempt) - 1)
}

/// Ends the operation row itself, and records its `operation.finished` webhook event.
fn close(
    conn: &mut Conn,
    op: &Operation,
    status: OperationStatus,
    error: Option<&str>,
    summary: Option<&str>,
) -> Result<(), QueueError> {
    diesel::update(ops::table.filter(ops::id.eq(&op.id)))
        .set((
            ops::status.eq(status),
            ops::error.eq(error),
            ops::summary.eq(summary),
            ops::finished_at.eq(Some(crate::store::now())),
            ops::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    record_finished(conn, op, status, error)
}
