//! The operation queue's state machine: every transition an operation goes through, each one
//! transaction that owns its rules — what the stack shows while work is queued, running or
//! done, who holds the lease, and which attempt may still write. The API and the workers
//! only call these functions; nothing else changes an operation's status or a stack's.
//!
//! ```text
//!             enqueue          claim                    finish
//!   (none) ──────────▶ queued ───────▶ running ──────────────────▶ succeeded | failed | cancelled
//!                      │   ▲             │  ▲  │ take_over (expired lease, recovery)
//!               cancel │   └── requeue ──┘  └──┘
//!                      ▼   (retry, shutdown, recovery)
//!                  cancelled
//! ```
//!
//! Fencing: `claim` and `take_over` hand out a [`Lease`] carrying a fresh token. Every write a
//! running attempt makes (heartbeat, events, external reference, requeue, finish) first
//! *holds* its lease — the row must still be running under that worker and token — in the same
//! transaction, and fails with [`QueueError::LeaseLost`] otherwise. An attempt whose lease was
//! taken over can then write nothing more.
//!
//! Portability: the SQL lives here and in `claim.rs`; it is plain SQL except the write
//! transaction (`BEGIN IMMEDIATE` on SQLite, see [`super::transaction`]).

mod approval;
mod claim;
mod enqueue;
mod forget;
mod settle;
#[cfg(test)]
mod tests;

use diesel::prelude::*;

pub use approval::{
    Approval, Concluded, Stale, approve, conclude_plan, end_preview, expire_plans, record_plan,
    reject,
};
pub use claim::{Claimed, Renewed, claim, claim_then, expired, heartbeat, take_over};
pub use enqueue::{Enqueue, enqueue, enqueue_in};
pub use forget::forget;
pub use settle::{
    CANCEL_TOO_LATE, Ending, cancel, cancel_in, finish, record_check_pending, record_events,
    record_events_at, record_external_ref, record_stack_settings, requeue,
};

use super::operations::Operation;
use super::schema::operations as ops;
use super::{Conn, StoreError};
use crate::domain::{OperationKind, OperationStatus, StackStatus};

/// The right of one attempt to run an operation, as handed out by [`claim`] or [`take_over`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    operation_id: String,
    worker_id: String,
    attempt: i32,
    token: i64,
}

impl Lease {
    fn of(op: &Operation) -> Self {
        Self {
            operation_id: op.id.clone(),
            worker_id: op.worker_id.clone().unwrap_or_default(),
            attempt: op.attempt,
            token: op.lease_token,
        }
    }

    /// The operation this lease is for.
    pub fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// The run it belongs to (1 for the first).
    pub fn attempt(&self) -> i32 {
        self.attempt
    }
}

/// A transition the queue's rules refuse.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A destroy or refresh of a stack that holds nothing.
    #[error("stack '{stack}' is {status}: there is nothing to {kind}")]
    NotDeployed {
        /// The stack.
        stack: String,
        /// Its status.
        status: StackStatus,
        /// What was asked.
        kind: OperationKind,
    },
    /// An operation is queued or running on the stack and the caller asked not to wait
    /// (`if_idle`), or wants to forget it.
    #[error("operation {operation_id} is queued or running on stack '{stack}'")]
    Busy {
        /// The stack.
        stack: String,
        /// The active operation (the oldest).
        operation_id: String,
    },
    /// A cancel of an operation that has already ended.
    #[error("operation {id} already {status}")]
    Finished {
        /// The operation.
        id: String,
        /// How it ended.
        status: OperationStatus,
    },
    /// An approve or reject of an operation that is not awaiting approval.
    #[error("operation {id} is {status}, not awaiting approval")]
    NotAwaitingApproval {
        /// The operation.
        id: String,
        /// Its status.
        status: OperationStatus,
    },
    /// The lease is no longer held by this attempt: recovery took the operation over, or it
    /// was re-queued or finished. The attempt must stop and write nothing more.
    #[error("operation {0} is no longer leased to this attempt")]
    LeaseLost(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for QueueError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Holds `lease` for the rest of the transaction: the operation must still be running under
/// this worker and token. The no-op update also locks the row on databases with row locks.
fn hold(conn: &mut Conn, lease: &Lease) -> Result<Operation, QueueError> {
    super::on_backend!(conn, |c| diesel::update(
        ops::table
            .filter(ops::id.eq(&lease.operation_id))
            .filter(ops::worker_id.eq(&lease.worker_id))
            .filter(ops::lease_token.eq(lease.token))
            .filter(ops::status.eq(OperationStatus::Running)),
    )
    .set(ops::lease_token.eq(ops::lease_token))
    .returning(Operation::as_returning())
    .get_result(c))
    .optional()?
    .ok_or_else(|| QueueError::LeaseLost(lease.operation_id.clone()))
}

/// Whether another operation than `except` is queued or running on `stack`.
fn others_active(conn: &mut Conn, stack: &str, except: &str) -> Result<bool, StoreError> {
    Ok(active_on(conn, stack, except)?.is_some())
}

/// The oldest operation other than `except` queued or running on `stack`.
fn active_on(conn: &mut Conn, stack: &str, except: &str) -> Result<Option<String>, StoreError> {
    ops::table
        .filter(ops::stack_name.eq(stack))
        .filter(ops::id.ne(except))
        .filter(ops::status.eq_any([OperationStatus::Queued, OperationStatus::Running]))
        .order(ops::seq.asc())
        .select(ops::id)
        .first(conn)
        .optional()
        .map_err(Into::into)
}
