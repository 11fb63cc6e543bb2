//! `enqueue`: a new operation joins the end of its stack's queue.

use super::{QueueError, active_on, others_active};
use crate::domain::{EnvName, OperationKind, OperationStatus, Slug, StackName};
use crate::store::operations::{self, NewOperation, Operation};
use crate::store::stacks::{self, StackChange};
use crate::store::{Conn, tenants, transaction};

/// What to queue.
#[derive(Debug, Clone, Copy)]
pub struct Enqueue<'a> {
    /// The tenant (looked up again inside the transaction: it may have been deleted since).
    pub slug: &'a Slug,
    /// The environment.
    pub env: &'a EnvName,
    /// What to do.
    pub kind: OperationKind,
    /// The config version the operation applies (validated by the caller).
    pub config_version: i32,
    /// Name of the token that asked.
    pub requested_by: &'a str,
    /// Refuse ([`QueueError::Busy`]) instead of queueing behind work already queued or
    /// running on the stack.
    pub if_idle: bool,
}

/// Queues an operation, in one transaction:
/// - the stack row is created on first use (`not_deployed`);
/// - a destroy or refresh of a stack that holds nothing is refused ([`QueueError::NotDeployed`]);
/// - with `if_idle`, so is any operation while another is queued or running ([`QueueError::Busy`]);
/// - the operation records the stack's status, to restore if it is cancelled before it runs;
/// - a deploy or destroy shows its queued status (`pending`, `destroying`) at once — unless
///   other work is queued or running on the stack, which keeps showing that work.
pub fn enqueue(conn: &mut Conn, req: &Enqueue<'_>) -> Result<Operation, QueueError> {
    transaction(conn, |conn| enqueue_in(conn, req))
}

/// [`enqueue`] inside the caller's transaction (a rollout records the operation on its
/// target in the same one).
pub fn enqueue_in(conn: &mut Conn, req: &Enqueue<'_>) -> Result<Operation, QueueError> {
    {
        let tenant = tenants::find_by_slug(conn, req.slug.as_str())?;
        let stack_name = StackName::new(req.slug, req.env);
        let stack = stacks::ensure(conn, stack_name.as_str(), &tenant.id, req.env.as_str())?;
        if req.kind.needs_deployed_stack() && !stack.status.may_hold_resources() {
            return Err(QueueError::NotDeployed {
                stack: stack.stack_name,
                status: stack.status,
                kind: req.kind,
            });
        }
        if req.if_idle
            && let Some(active) = active_on(conn, &stack.stack_name, "")?
        {
            return Err(QueueError::Busy {
                stack: stack.stack_name,
                operation_id: active,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let op = operations::insert(
            conn,
            &NewOperation {
                id: &id,
                stack_name: &stack.stack_name,
                kind: req.kind,
                status: OperationStatus::Queued,
                config_version: Some(req.config_version),
                executor: "",
                stack_status_before: Some(stack.status),
                requested_by: Some(req.requested_by),
                created_at: crate::store::now(),
            },
        )?;
        if let Some(status) = req.kind.status_when_queued()
            && !others_active(conn, &stack.stack_name, &op.id)?
        {
            let change = StackChange {
                status: Some(status),
                ..StackChange::default()
            };
            stacks::update(conn, &stack.stack_name, &change)?;
        }
        Ok(op)
    }
}
