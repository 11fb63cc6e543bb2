//! `forget`: byoc stops tracking a stack. Whatever the stack may hold in the cloud stays in the
//! tenant's account (and its Pulumi state stays in the backend); byoc shows it `not_deployed`
//! again, so its config and tenant can be deleted. Recorded as a finished `forget` operation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{QueueError, active_on};
use crate::domain::{EnvName, OperationKind, OperationStatus, Slug, StackName, StackStatus};
use crate::store::operations::{self, NewOperation, Operation};
use crate::store::schema::operations as ops;
use crate::store::stacks::{self, StackChange};
use crate::store::{Conn, StoreError, tenants, transaction};

/// Forgets the stack of `slug`/`env` for `requested_by`, in one transaction: refused while an
/// operation is queued or running on it ([`QueueError::Busy`]); `NotFound` when byoc never
/// tracked it. The stack's status before is kept on the operation row.
pub fn forget(
    conn: &mut Conn,
    slug: &Slug,
    env: &EnvName,
    requested_by: &str,
) -> Result<Operation, QueueError> {
    transaction(conn, |conn| {
        let tenant = tenants::find_by_slug(conn, slug.as_str())?;
        let name = StackName::new(slug, env);
        let stack = stacks::lookup_for_env(conn, &tenant.id, env.as_str())?
            .ok_or_else(|| StoreError::not_found("stack", name.to_string()))?;
        if let Some(active) = active_on(conn, &stack.stack_name, "")? {
            return Err(QueueError::Busy {
                stack: stack.stack_name,
                operation_id: active,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = crate::store::now();
        operations::insert(
            conn,
            &NewOperation {
                id: &id,
                stack_name: &stack.stack_name,
                kind: OperationKind::Forget,
                status: OperationStatus::Succeeded,
                config_version: None,
                executor: "",
                stack_status_before: Some(stack.status),
                requested_by: Some(requested_by),
                created_at: now,
            },
        )?;
        diesel::update(ops::table.filter(ops::id.eq(&id)))
            .set((
                ops::started_at.eq(Some(now)),
                ops::finished_at.eq(Some(now)),
                ops::lease_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let change = StackChange {
            status: Some(StackStatus::NotDeployed),
            outputs: Some(None),
            error: Some(None),
            last_operation_id: Some(Some(&id)),
            current_operation_id: Some(None),
            deployed_release: Some(None),
        };
        stacks::update(conn, &stack.stack_name, &change)?;
        let op = operations::find(conn, &id)?;
        super::settle::record_finished(conn, &op, OperationStatus::Succeeded, None)?;
        Ok(op)
    })
}
