//! The driver's side of a rollout: the lease that lets one process drive it ([`acquire`]) and
//! one step ([`step`]) — follow the targets' deploys, count failures (a later failed deploy
//! of a target that had succeeded counts too), then halt, finish, bake, advance or start
//! targets. A step is one transaction that first re-checks the lease: what it reads is what it
//! decides on, and a target's operation is recorded in the transaction that enqueues it, so
//! a step cut short by a crash leaves nothing half done and no target is deployed twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Rollout, Target, append_event, set_target, targets};
use crate::domain::rollout::{self, Next, RolloutStatus, StepInput, TargetStatus, TargetView};
use crate::domain::{EnvName, OperationKind, OperationStatus, Slug};
use crate::store::operations::{self, Operation};
use crate::store::queue::{self, QueueError};
use crate::store::schema::{operations as ops, rollout_targets as rt, rollouts as ro};
use crate::store::{Conn, StoreError, transaction};

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stepped {
    /// Another process holds the rollout.
    NotHeld,
    /// Nothing changed.
    Idle,
    /// Targets or the rollout changed; `queued` operations were enqueued.
    Changed {
        /// Operations enqueued (wake the workers).
        queued: usize,
    },
}

/// Rollouts a driver should look at: running or paused ones, and ended ones whose targets'
/// deploys are still queued or running (their outcome is still to be recorded).
pub fn active(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = ro::table
        .filter(ro::status.eq_any([RolloutStatus::Running, RolloutStatus::Paused]))
        .order(ro::created_at.asc())
        .select(ro::id)
        .load(conn)?;
    let following: Vec<String> = rt::table
        .filter(rt::status.eq_any([TargetStatus::Queued, TargetStatus::Running]))
        .select(rt::rollout_id)
        .distinct()
        .load(conn)?;
    for id in following {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Takes (or renews) the lease on rollout `id` for `driver` until `until`: free, already its
/// own, or expired (its driver died). Returns whether `driver` holds it.
pub fn acquire(
    conn: &mut Conn,
    id: &str,
    driver: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        ro::table.filter(ro::id.eq(id)).filter(
            ro::driver_id
                .is_null()
                .or(ro::driver_id.eq(driver))
                .or(ro::driver_until.lt(now)),
        ),
    )
    .set((ro::driver_id.eq(driver), ro::driver_until.eq(until)))
    .execute(conn)?;
    Ok(n == 1)
}

/// One driver step of rollout `id`, if `driver` holds its lease at `now`.
pub fn step(
    conn: &mut Conn,
    id: &str,
    driver: &str,
    now: NaiveDateTime,
) -> Result<Stepped, QueueError> {
    transaction(conn, |conn| {
        // Holding the lease, checked in the step's transaction (and the row locked on
        // PostgreSQL): a driver whose lease was taken over writes nothing.
        let held: Option<Rollout> = crate::store::on_backend!(conn, |c| diesel::update(
            ro::table
                .filter(ro::id.eq(id))
                .filter(ro::driver_id.eq(driver))
                .filter(ro::driver_until.ge(now)),
        )
        .set(ro::driver_until.eq(ro::driver_until))
        .returning(Rollout::as_returning())
        .get_result(c)
        .optional())?;
        let Some(mut r) = held else {
            return Ok(Stepped::NotHeld);
        };
        let mut list = targets(conn, id)?;
        let mut changed = follow(conn, &mut list, !r.status.is_final())?;
        if r.status != RolloutStatus::Running {
            return Ok(if changed {
                Stepped::Changed { queued: 0 }
            } else {
                Stepped::Idle
            });
        }
        let mut queued = 0;
        loop {
            let views: Vec<TargetView> = list
                .iter()
                .map(|t| TargetView {
                    wave: u32::try_from(t.wave).ok(),
                    status: t.status,
                })
                .collect();
            let baked = r.bake_seconds <= 0
                || r.wave_done_at.is_some_and(|d| {
                    now >= d + chrono::Duration::seconds(i64::from(r.bake_seconds))
                });
            let input = StepInput {
                current_wave: r.current_wave as u32,
                wave_count: r.wave_count as u32,
                failure_budget: r.failure_budget as u32,
                max_parallel: r.max_parallel as u32,
                baked,
            };
            match rollout::next(&views, input) {
                Next::Halt => {
                    let failed: Vec<&str> = list
                        .iter()
                        .filter(|t| t.status == TargetStatus::Failed)
                        .map(|t| t.stack_name.as_str())
                        .collect();
                    let reason = format!(
                        "failure budget of {} spent: {} failed",
                        r.failure_budget.max(1),
                        failed.join(", ")
                    );
                    end(conn, &r, &list, RolloutStatus::Halted, Some(&reason))?;
                    return Ok(Stepped::Changed { queued });
                }
                Next::Finish => {
                    end(conn, &r, &list, RolloutStatus::Finished, None)?;
                    return Ok(Stepped::Changed { queued });
                }
                Next::Bake => {
                    if r.wave_done_at.is_none() {
                        diesel::update(ro::table.find(id))
                            .set((ro::wave_done_at.eq(Some(now)), ro::updated_at.eq(now)))
                            .execute(conn)?;
                        let wave = r.current_wave;
                        append_event(
                            conn,
                            id,
                            "wave.baking",
                            serde_json::json!({ "wave": wave, "bake_seconds": r.bake_seconds }),
                        )?;
                        changed = true;
                    }
                    break;
                }
                Next::Advance(wave) => {
                    let wave = wave as i32;
                    diesel::update(ro::table.find(id))
                        .set((
                            ro::current_wave.eq(wave),
                            ro::wave_done_at.eq(None::<NaiveDateTime>),
                            ro::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    append_event(
                        conn,
                        id,
                        "wave.started",
                        serde_json::json!({ "wave": wave }),
                    )?;
                    r.current_wave = wave;
                    r.wave_done_at = None;
                    changed = true;
                }
                Next::Start(indexes) => {
                    for i in indexes {
                        if start_target(conn, &r, &mut list[i])? {
                            queued += 1;
                        }
                        changed = true;
                    }
                    break;
                }
            }
        }
        Ok(if changed {
            Stepped::Changed { queued }
        } else {
            Stepped::Idle
        })
    })
}

/// Brings in-flight targets up to date with their operations and, while the rollout goes on
/// (`watch`: during its waves and bakes), marks failed a succeeded target whose stack saw a
/// later deploy fail — whoever queued that deploy. Returns whether anything changed.
fn follow(conn: &mut Conn, list: &mut [Target], watch: bool) -> Result<bool, QueueError> {
    let mut changed = false;
    for t in list.iter_mut() {
        let Some(op_id) = t.operation_id.clone() else {
            continue;
        };
        if t.status.in_flight() {
            let op = operations::find(conn, &op_id)?;
            let status = match op.status {
                OperationStatus::Queued | OperationStatus::AwaitingApproval => TargetStatus::Queued,
                OperationStatus::Running => TargetStatus::Running,
                OperationStatus::Succeeded => TargetStatus::Succeeded,
                OperationStatus::Failed => TargetStatus::Failed,
                OperationStatus::Cancelled => TargetStatus::Cancelled,
            };
            if status != t.status {
                set_target(conn, t, status, None, op.error.as_deref())?;
                append_event(
                    conn,
                    &t.rollout_id,
                    &format!("target.{status}"),
                    serde_json::json!({ "stack_name": t.stack_name, "operation_id": op.id, "error": op.error }),
                )?;
                t.status = status;
                t.error = op.error.or(t.error.take());
                changed = true;
            }
        } else if watch
            && t.status == TargetStatus::Succeeded
            && let Some(later) = later_failure(conn, &t.stack_name, &op_id)?
        {
            let message = format!(
                "a later deploy of the stack ({}) failed: {}",
                later.id,
                later.error.as_deref().unwrap_or("no message")
            );
            set_target(conn, t, TargetStatus::Failed, None, Some(&message))?;
            append_event(
                conn,
                &t.rollout_id,
                "target.failed",
                serde_json::json!({ "stack_name": t.stack_name, "operation_id": later.id, "error": message }),
            )?;
            t.status = TargetStatus::Failed;
            t.error = Some(message);
            changed = true;
        }
    }
    Ok(changed)
}

/// A deploy of `stack` after operation `after` that failed.
fn later_failure(
    conn: &mut Conn,
    stack: &str,
    after: &str,
) -> Result<Option<Operation>, StoreError> {
    let seq: i32 = ops::table
        .filter(ops::id.eq(after))
        .select(ops::seq)
        .first(conn)?;
    ops::table
        .filter(ops::stack_name.eq(stack))
        .filter(ops::seq.gt(seq))
        .filter(ops::kind.eq(OperationKind::Update))
        .filter(ops::status.eq(OperationStatus::Failed))
        .order(ops::seq.asc())
        .select(Operation::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// Starts one target: attaches it to a deploy already queued on its stack that applies its
/// config version or a newer one (coalescing), or enqueues one; the operation is recorded on
/// the target in this transaction. Returns whether an operation was enqueued.
fn start_target(conn: &mut Conn, r: &Rollout, t: &mut Target) -> Result<bool, QueueError> {
    let version = t.config_version.unwrap_or(0);
    let waiting: Option<String> = ops::table
        .filter(ops::stack_name.eq(&t.stack_name))
        .filter(ops::kind.eq(OperationKind::Update))
        .filter(ops::status.eq(OperationStatus::Queued))
        .filter(ops::config_version.ge(version))
        .order(ops::seq.asc())
        .select(ops::id)
        .first(conn)
        .optional()?;
    let (op_id, kind, enqueued) = match waiting {
        Some(op_id) => (op_id, "target.attached", false),
        None => {
            let (Ok(slug), Ok(env)) = (Slug::parse(&t.tenant_slug), EnvName::parse(&t.environment))
            else {
                return Err(StoreError::Corrupt(format!("rollout target {}", t.stack_name)).into());
            };
            let requested_by = format!("rollout:{}", r.id);
            let queued = queue::enqueue_in(
                conn,
                &queue::Enqueue {
                    slug: &slug,
                    env: &env,
                    kind: OperationKind::Update,
                    config_version: version,
                    requested_by: &requested_by,
                    if_idle: false,
                },
            );
            let op = match queued {
                Ok(op) => op,
                // The tenant was deleted since the rollout began (found missing before any
                // write): the target cannot run; the rollout goes on without it.
                Err(QueueError::Store(e @ StoreError::NotFound { .. })) => {
                    let why = e.to_string();
                    set_target(conn, t, TargetStatus::Skipped, None, Some(&why))?;
                    append_event(
                        conn,
                        &r.id,
                        "target.skipped",
                        serde_json::json!({ "stack_name": t.stack_name, "error": why }),
                    )?;
                    t.status = TargetStatus::Skipped;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            (op.id, "target.queued", true)
        }
    };
    set_target(conn, t, TargetStatus::Queued, Some(&op_id), None)?;
    append_event(
        conn,
        &r.id,
        kind,
        serde_json::json!({ "stack_name": t.stack_name, "operation_id": op_id, "wave": t.wave }),
    )?;
    t.status = TargetStatus::Queued;
    t.operation_id = Some(op_id);
    Ok(enqueued)
}

/// Ends the rollout (halted, finished or aborted): cancels its deploys that have not started
/// (running ones go on and are still followed), marks unstarted targets cancelled, records
/// the event and, in the same transaction, the webhook (`rollout.halted`, or
/// `rollout.finished` for finished and aborted).
pub(super) fn end(
    conn: &mut Conn,
    r: &Rollout,
    list: &[Target],
    status: RolloutStatus,
    reason: Option<&str>,
) -> Result<(), QueueError> {
    let now = crate::store::now();
    let note = format!("rollout {status}");
    for t in list {
        match t.status {
            TargetStatus::Pending => {
                set_target(conn, t, TargetStatus::Cancelled, None, Some(&note))?;
            }
            TargetStatus::Queued => {
                let Some(op_id) = &t.operation_id else {
                    continue;
                };
                let op = operations::find(conn, op_id)?;
                // An attached deploy another user queued is theirs: leave it alone.
                let ours = op.requested_by.as_deref() == Some(&format!("rollout:{}", r.id));
                if ours
                    && matches!(
                        op.status,
                        OperationStatus::Queued | OperationStatus::AwaitingApproval
                    )
                {
                    queue::cancel_in(conn, op_id)?;
                    set_target(conn, t, TargetStatus::Cancelled, None, Some(&note))?;
                }
            }
            _ => {}
        }
    }
    diesel::update(ro::table.find(&r.id))
        .set((
            ro::status.eq(status),
            ro::halt_reason.eq(reason),
            ro::finished_at.eq(Some(now)),
            ro::updated_at.eq(now),
        ))
        .execute(conn)?;
    let after = targets(conn, &r.id)?;
    let failed: Vec<serde_json::Value> = after
        .iter()
        .filter(|t| t.status == TargetStatus::Failed)
        .map(|t| serde_json::json!({ "stack_name": t.stack_name, "operation_id": t.operation_id, "error": t.error }))
        .collect();
    let count = |s: TargetStatus| after.iter().filter(|t| t.status == s).count();
    let data = serde_json::json!({
        "rollout_id": r.id,
        "status": status,
        "reason": reason,
        "failed": failed,
        "succeeded": count(TargetStatus::Succeeded),
        "skipped": count(TargetStatus::Skipped),
        "cancelled": count(TargetStatus::Cancelled),
    });
    append_event(conn, &r.id, &format!("rollout.{status}"), data.clone())?;
    let event = match status {
        RolloutStatus::Halted => crate::webhooks::ROLLOUT_HALTED,
        _ => crate::webhooks::ROLLOUT_FINISHED,
    };
    crate::store::webhooks::record(conn, event, &crate::webhooks::envelope(event, data))?;
    Ok(())
}
