//! Change control (issue 18): a deploy under an approval policy first runs as a preview that
//! saves its update plan (`record_plan`), then either waits in `awaiting_approval` or goes
//! straight back to the queue (`conclude_plan`); a reviewer `approve`s it (queued again, to
//! apply exactly that plan) or `reject`s it.
//!
//! ```text
//!   running (preview --save-plan) ──conclude_plan──▶ awaiting_approval ──approve──▶ queued (up --plan)
//!                 │                                        │  │
//!                 └── policy lets it through ──▶ queued    │  └─ approve, but stale ─▶ cancelled (409)
//!                                                          └── reject / cancel ──────▶ cancelled
//! ```
//!
//! An operation awaiting approval holds nothing: no lease, and the stack is free for other
//! work (the claim only looks at queued and running operations).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Lease, QueueError, hold, others_active};
use crate::domain::approval::{ApprovalConfig, ChangeListBuilder, hold_reason};
use crate::domain::{OperationKind, OperationStatus, StackStatus};
use crate::store::operations::{self, Operation};
use crate::store::schema::operation_events as ev;
use crate::store::schema::operation_plans as plans;
use crate::store::schema::operations as ops;
use crate::store::stacks::{self, StackChange};
use crate::store::{Conn, configs, transaction};

/// Stores the update plan the running attempt's preview saved (sealed by the caller, see
/// `store::plans::seal`), replacing one an earlier attempt stored.
pub fn record_plan(conn: &mut Conn, lease: &Lease, sealed: &[u8]) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        diesel::delete(plans::table.filter(plans::operation_id.eq(&op.id))).execute(conn)?;
        let now = crate::store::now();
        diesel::insert_into(plans::table)
            .values((
                plans::operation_id.eq(&op.id),
                plans::plan_sealed.eq(sealed),
                plans::changes.eq("[]"),
                plans::config_version.eq(op.config_version.unwrap_or_default()),
                plans::created_at.eq(now),
                plans::expires_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Where a deploy went once its preview saved the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concluded {
    /// The policy holds it: it waits in `awaiting_approval`, for this reason.
    Held(String),
    /// The policy lets it through: queued again to apply the plan.
    Queued,
}

/// Ends the preview half of a deploy: reads the change list from the preview's events,
/// stores it with the plan (which may be approved until `now + ttl`), and per `approval`
/// either parks the operation in `awaiting_approval` (no lease; the stack shows `pending`
/// and runs nothing of it) or puts it back in the queue, keeping its place, decided `auto`.
pub fn conclude_plan(
    conn: &mut Conn,
    lease: &Lease,
    approval: &ApprovalConfig,
    ttl: std::time::Duration,
    summary: Option<&str>,
) -> Result<Concluded, QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        let payloads: Vec<String> = ev::table
            .filter(ev::operation_id.eq(&op.id))
            .filter(ev::kind.eq("resourcePreEvent"))
            .order(ev::seq.asc())
            .select(ev::payload)
            .load(conn)?;
        let mut builder = ChangeListBuilder::default();
        for p in &payloads {
            if let Ok(v) = serde_json::from_str(p) {
                builder.observe(&v);
            }
        }
        let changes = builder.finish();
        let reason = hold_reason(approval, &changes);
        let now = crate::store::now();
        let expires = now + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX);
        let (decision, decided_by, decided_at) = match reason {
            Some(_) => (None, None, None),
            None => (Some("auto"), Some("policy"), Some(now)),
        };
        let updated = diesel::update(plans::table.filter(plans::operation_id.eq(&op.id)))
            .set((
                plans::changes.eq(serde_json::to_string(&changes).unwrap_or_default()),
                plans::hold_reason.eq(reason.as_deref()),
                plans::created_at.eq(now),
                plans::expires_at.eq(expires),
                plans::decision.eq(decision),
                plans::decided_by.eq(decided_by),
                plans::decided_at.eq(decided_at),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Err(
                crate::store::StoreError::not_found("update plan of operation", op.id).into(),
            );
        }
        let status = match reason {
            Some(_) => OperationStatus::AwaitingApproval,
            None => OperationStatus::Queued,
        };
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set((
                ops::status.eq(status),
                ops::summary.eq(summary),
                ops::worker_id.eq(None::<String>),
                ops::lease_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let change = StackChange {
            status: Some(StackStatus::Pending),
            current_operation_id: Some(None),
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
        Ok(match reason {
            Some(r) => {
                record_required(conn, &op, &r)?;
                Concluded::Held(r)
            }
            None => Concluded::Queued,
        })
    })
}

/// Writes the `approval.required` webhook event to the outbox, in the transaction that
/// parks the operation: the event exists exactly when the hold does.
fn record_required(conn: &mut Conn, op: &Operation, reason: &str) -> Result<(), QueueError> {
    let stack = stacks::find(conn, &op.stack_name)?;
    let tenant = crate::store::tenants::find(conn, &stack.tenant_id)?;
    let data = serde_json::json!({
        "operation_id": op.id,
        "tenant": tenant.slug,
        "environment": stack.environment,
        "stack_name": op.stack_name,
        "hold_reason": reason,
        "requested_by": op.requested_by,
        "plan": format!("/api/v1/operations/{}/plan", op.id),
    });
    let body = crate::webhooks::envelope(crate::webhooks::APPROVAL_REQUIRED, data);
    crate::store::webhooks::record(conn, crate::webhooks::APPROVAL_REQUIRED, &body)?;
    Ok(())
}

/// Why a plan can no longer be approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// Its approval window ended.
    #[error("the plan expired at {at} (BYOC_PLAN_TTL_SECONDS)")]
    Expired {
        /// When.
        at: NaiveDateTime,
    },
    /// The environment's config has a newer version than the one previewed.
    #[error(
        "the environment's config is now version {current}; the plan was previewed from version {planned}"
    )]
    ConfigChanged {
        /// The version the preview ran with.
        planned: i32,
        /// The latest version.
        current: i32,
    },
    /// Another operation changed (or is changing) the stack since the preview.
    #[error("the stack had another {kind} since the preview (operation {operation_id})")]
    StackChanged {
        /// That operation.
        operation_id: String,
        /// Its kind.
        kind: OperationKind,
    },
}

/// What an approval did.
#[derive(Debug, Clone)]
pub enum Approval {
    /// Queued again, to apply the plan (`up --plan`).
    Queued(Box<Operation>),
    /// The plan is stale: the operation ended `cancelled` and nothing runs.
    Refused(Stale),
}

/// Approves an operation awaiting approval, by token `who`: unless its plan is stale
/// (expired, the environment's config has a newer version, or another update, destroy,
/// refresh or forget of the stack ran or runs since the preview), it is queued again with its
/// place kept and the stack shows `pending`. A stale plan ends the operation `cancelled`
/// (decision `refused`) and says why. Anything not awaiting approval is
/// [`QueueError::NotAwaitingApproval`].
pub fn approve(conn: &mut Conn, id: &str, who: &str) -> Result<Approval, QueueError> {
    transaction(conn, |conn| {
        let op = awaiting(conn, id)?;
        let plan = crate::store::plans::find(conn, &op.id)?;
        let now = crate::store::now();
        if let Some(stale) = staleness(conn, &op, &plan, now)? {
            decide(conn, &op.id, "refused", who, now)?;
            close_unrun(conn, &op, &format!("approval refused: {stale}"))?;
            return Ok(Approval::Refused(stale));
        }
        decide(conn, &op.id, "approved", who, now)?;
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set(ops::status.eq(OperationStatus::Queued))
            .execute(conn)?;
        let change = StackChange {
            status: Some(StackStatus::Pending),
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
        Ok(Approval::Queued(Box::new(operations::find(conn, id)?)))
    })
}

/// Rejects an operation awaiting approval, by token `who` (with an optional `reason`, kept in
/// its `error`): it ends `cancelled` and, if
/// nothing else is active on the stack, the stack goes back to the status it had.
pub fn reject(
    conn: &mut Conn,
    id: &str,
    who: &str,
    reason: Option<&str>,
) -> Result<Operation, QueueError> {
    transaction(conn, |conn| {
        let op = awaiting(conn, id)?;
        decide(conn, &op.id, "rejected", who, crate::store::now())?;
        let error = match reason {
            Some(r) => format!("rejected by {who}: {r}"),
            None => format!("rejected by {who}"),
        };
        close_unrun(conn, &op, &error)?;
        Ok(operations::find(conn, id)?)
    })
}

/// Ends every operation awaiting approval whose plan expired before `now`: `cancelled`, with
/// `plan expired at …` as its error, decision `expired` by `byoc`, and its
/// `operation.finished` event, each in one transaction (an approval or rejection that got
/// there first wins). Returns the ids ended.
pub fn expire_plans(conn: &mut Conn, now: NaiveDateTime) -> Result<Vec<String>, QueueError> {
    let due: Vec<String> = ops::table
        .filter(ops::status.eq(OperationStatus::AwaitingApproval))
        .filter(
            ops::id.eq_any(
                plans::table
                    .filter(plans::expires_at.lt(now))
                    .select(plans::operation_id),
            ),
        )
        .select(ops::id)
        .load(conn)?;
    let mut ended = Vec::new();
    for id in due {
        let expired = transaction(conn, |conn| {
            let op = match awaiting(conn, &id) {
                Ok(op) => op,
                Err(QueueError::NotAwaitingApproval { .. }) => return Ok(false),
                Err(e) => return Err(e),
            };
            let plan = crate::store::plans::find(conn, &op.id)?;
            if now <= plan.expires_at {
                return Ok(false);
            }
            decide(conn, &op.id, "expired", "byoc", now)?;
            let error = format!(
                "plan expired at {} (BYOC_PLAN_TTL_SECONDS) before anyone approved it; nothing ran",
                plan.expires_at
                    .and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            close_unrun(conn, &op, &error)?;
            Ok::<_, QueueError>(true)
        })?;
        if expired {
            ended.push(id);
        }
    }
    Ok(ended)
}

/// The operation `id`, locked, which must be awaiting approval.
fn awaiting(conn: &mut Conn, id: &str) -> Result<Operation, QueueError> {
    let op = operations::lock(conn, id)?;
    stacks::lock(conn, &op.stack_name)?;
    if op.status != OperationStatus::AwaitingApproval {
        return Err(QueueError::NotAwaitingApproval {
            id: op.id,
            status: op.status,
        });
    }
    Ok(op)
}

fn decide(
    conn: &mut Conn,
    id: &str,
    decision: &str,
    who: &str,
    at: NaiveDateTime,
) -> Result<(), QueueError> {
    diesel::update(plans::table.filter(plans::operation_id.eq(id)))
        .set((
            plans::decision.eq(Some(decision)),
            plans::decided_by.eq(Some(who)),
            plans::decided_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends an operation that will not run (rejected, refused, cancelled while awaiting
/// approval), restoring the stack's status when nothing else is active there.
pub(super) fn close_unrun(conn: &mut Conn, op: &Operation, error: &str) -> Result<(), QueueError> {
    diesel::update(ops::table.filter(ops::id.eq(&op.id)))
        .set((
            ops::status.eq(OperationStatus::Cancelled),
            ops::error.eq(Some(error)),
            ops::finished_at.eq(Some(crate::store::now())),
            ops::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    // An end like any other: receivers of `operation.finished` hear of it.
    super::settle::record_finished(conn, op, OperationStatus::Cancelled, Some(error))?;
    // The stack shows this deploy's `pending` unless other work ran since: an update,
    // destroy or forget that ended after it was queued set the status the stack has now.
    let stack = stacks::find(conn, &op.stack_name)?;
    let changed_since: i64 = ops::table
        .filter(ops::stack_name.eq(&op.stack_name))
        .filter(ops::id.ne(&op.id))
        .filter(ops::kind.eq_any([
            OperationKind::Update,
            OperationKind::Destroy,
            OperationKind::Forget,
        ]))
        .filter(ops::finished_at.gt(op.created_at))
        .count()
        .get_result(conn)?;
    if stack.status == StackStatus::Pending
        && changed_since == 0
        && !others_active(conn, &op.stack_name, &op.id)?
    {
        let change = StackChange {
            status: op.stack_status_before,
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
    }
    Ok(())
}

/// Why `plan` can no longer be applied, if it cannot.
fn staleness(
    conn: &mut Conn,
    op: &Operation,
    plan: &crate::store::plans::OperationPlan,
    now: NaiveDateTime,
) -> Result<Option<Stale>, QueueError> {
    if now > plan.expires_at {
        return Ok(Some(Stale::Expired {
            at: plan.expires_at,
        }));
    }
    let stack = stacks::find(conn, &op.stack_name)?;
    let latest = configs::lookup(conn, &stack.tenant_id, &stack.environment, None)?;
    if let Some(latest) = latest
        && latest.version != plan.config_version
    {
        return Ok(Some(Stale::ConfigChanged {
            planned: plan.config_version,
            current: latest.version,
        }));
    }
    let changed: Option<(String, OperationKind)> = ops::table
        .filter(ops::stack_name.eq(&op.stack_name))
        .filter(ops::id.ne(&op.id))
        .filter(ops::kind.eq_any([
            OperationKind::Update,
            OperationKind::Destroy,
            OperationKind::Refresh,
            OperationKind::Forget,
        ]))
        .filter(
            ops::status
                .eq(OperationStatus::Running)
                .or(ops::finished_at.gt(plan.created_at)),
        )
        .order(ops::seq.asc())
        .select((ops::id, ops::kind))
        .first(conn)
        .optional()?;
    Ok(changed.map(|(operation_id, kind)| Stale::StackChanged { operation_id, kind }))
}

/// Ends the preview half of a deploy that did not save a plan (the preview failed, was
/// cancelled or timed out): like `finish`, but a preview changed nothing, so the stack goes
/// back to the status it had rather than `failed`.
pub fn end_preview(
    conn: &mut Conn,
    lease: &Lease,
    status: OperationStatus,
    error: Option<&str>,
    summary: Option<&str>,
) -> Result<(), QueueError> {
    transaction(conn, |conn| {
        let op = hold(conn, lease)?;
        diesel::update(ops::table.filter(ops::id.eq(&op.id)))
            .set((
                ops::status.eq(status),
                ops::error.eq(error),
                ops::summary.eq(summary),
                ops::finished_at.eq(Some(crate::store::now())),
                ops::lease_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let restore = match others_active(conn, &op.stack_name, &op.id)? {
            true => None,
            false => op.stack_status_before,
        };
        let change = StackChange {
            status: restore,
            error: Some(error),
            last_operation_id: Some(Some(&op.id)),
            current_operation_id: Some(None),
            ..StackChange::default()
        };
        stacks::update(conn, &op.stack_name, &change)?;
        Ok(())
    })
}
