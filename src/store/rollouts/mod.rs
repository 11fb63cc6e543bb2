//! The `rollouts`, `rollout_targets` and `rollout_events` tables: a rollout's definition, where
//! each target stands, and its event stream. Creating one ([`insert`]) supersedes older
//! rollouts' unstarted work on the same stacks; the driver's step is in `step`, the user's
//! pause/resume/abort in `control`. The caller owns the transaction unless a function says so.

mod control;
mod step;
#[cfg(test)]
mod tests;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use control::{ControlError, abort, pause, resume};
pub use step::{Stepped, acquire, active, step};

use super::schema::{rollout_events as re, rollout_targets as rt, rollouts as ro};
use super::{Conn, Found, StoreError};
use crate::domain::rollout::{RolloutStatus, TargetStatus};

/// A rollout row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ro)]
pub struct Rollout {
    /// Id (a UUID).
    pub id: String,
    /// Where it stands.
    pub status: RolloutStatus,
    /// The request as accepted (JSON): target, change, strategy.
    pub spec: String,
    /// Deploys in flight at most.
    pub max_parallel: i32,
    /// Failures that halt it.
    pub failure_budget: i32,
    /// Seconds to wait after a wave before the next.
    pub bake_seconds: i32,
    /// Waves in all.
    pub wave_count: i32,
    /// The wave being rolled (from 0).
    pub current_wave: i32,
    /// When the current wave's last target ended (its bake began).
    pub wave_done_at: Option<NaiveDateTime>,
    /// Why it halted.
    pub halt_reason: Option<String>,
    /// Name of the token that created it.
    pub created_by: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// When it halted, finished or was aborted.
    pub finished_at: Option<NaiveDateTime>,
    /// The process driving it.
    pub driver_id: Option<String>,
    /// Until when that process holds it.
    pub driver_until: Option<NaiveDateTime>,
    /// Last event's sequence number.
    pub event_seq: i32,
}

/// One target of a rollout.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rt)]
pub struct Target {
    /// Owning rollout.
    pub rollout_id: String,
    /// Order (canary first), from 0.
    pub position: i32,
    /// Its wave; -1 for a target skipped at creation.
    pub wave: i32,
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant slug.
    pub tenant_slug: String,
    /// Environment.
    pub environment: String,
    /// `<slug>-<env>`.
    pub stack_name: String,
    /// Where it stands.
    pub status: TargetStatus,
    /// The config version its deploy applies.
    pub config_version: Option<i32>,
    /// Its deploy (or the queued deploy it attached to).
    pub operation_id: Option<String>,
    /// Why it failed (the engine's message) or was skipped, cancelled or superseded.
    pub error: Option<String>,
    /// For a target skipped as invalid: the patched config's field errors (JSON array).
    pub field_errors: Option<String>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// One event of a rollout.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = re)]
pub struct Event {
    /// Owning rollout.
    pub rollout_id: String,
    /// Position in its stream, from 1.
    pub seq: i32,
    /// When.
    pub created_at: NaiveDateTime,
    /// `target.queued`, `target.succeeded`, `wave.started`, `rollout.halted`, …
    pub kind: String,
    /// JSON.
    pub payload: String,
}

/// Inserts `rollout` and its `targets` and supersedes the pending targets of older rollouts
/// on the same stacks (they will never start: this rollout deploys those stacks now). Run it
/// in a transaction.
pub fn insert(conn: &mut Conn, rollout: &Rollout, targets: &[Target]) -> Result<(), StoreError> {
    super::on_backend!(conn, |c| diesel::insert_into(ro::table)
        .values(rollout)
        .execute(c))?;
    for chunk in targets.chunks(500) {
        super::on_backend!(conn, |c| diesel::insert_into(rt::table)
            .values(chunk)
            .execute(c))?;
    }
    let stacks: Vec<&str> = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Pending)
        .map(|t| t.stack_name.as_str())
        .collect();
    let older: Vec<Target> = rt::table
        .filter(rt::rollout_id.ne(&rollout.id))
        .filter(rt::stack_name.eq_any(&stacks))
        .filter(rt::status.eq(TargetStatus::Pending))
        .select(Target::as_select())
        .load(conn)?;
    for t in older {
        let reason = format!("superseded by rollout {}", rollout.id);
        set_target(conn, &t, TargetStatus::Superseded, None, Some(&reason))?;
        append_event(
            conn,
            &t.rollout_id,
            "target.superseded",
            serde_json::json!({ "stack_name": t.stack_name, "by": rollout.id }),
        )?;
    }
    append_event(
        conn,
        &rollout.id,
        "rollout.created",
        serde_json::json!({ "targets": targets.len() }),
    )?;
    Ok(())
}

/// Changes one target's status (and its operation and message, when given).
pub(crate) fn set_target(
    conn: &mut Conn,
    t: &Target,
    status: TargetStatus,
    operation_id: Option<&str>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(rt::table.find((&t.rollout_id, t.position)))
        .set((
            rt::status.eq(status),
            rt::operation_id.eq(operation_id.or(t.operation_id.as_deref())),
            rt::error.eq(error.or(t.error.as_deref())),
            rt::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Appends an event to the rollout's stream (after its last one).
pub fn append_event(
    conn: &mut Conn,
    rollout_id: &str,
    kind: &str,
    payload: serde_json::Value,
) -> Result<Event, StoreError> {
    // The counter row doubles as the lock that keeps sequence numbers unique.
    let seq: i32 = super::on_backend!(conn, |c| diesel::update(ro::table.find(rollout_id))
        .set(ro::event_seq.eq(ro::event_seq + 1))
        .returning(ro::event_seq)
        .get_result(c))?;
    let event = Event {
        rollout_id: rollout_id.to_owned(),
        seq,
        created_at: super::now(),
        kind: kind.to_owned(),
        payload: payload.to_string(),
    };
    super::on_backend!(conn, |c| diesel::insert_into(re::table)
        .values(&event)
        .execute(c))?;
    Ok(event)
}

/// The rollout with id `id`.
pub fn find(conn: &mut Conn, id: &str) -> Result<Rollout, StoreError> {
    ro::table
        .find(id)
        .select(Rollout::as_select())
        .first(conn)
        .optional()
        .found("rollout", || id.to_owned())
}

/// Rollouts, newest first, at most `limit`.
pub fn list(conn: &mut Conn, limit: i64) -> Result<Vec<Rollout>, StoreError> {
    ro::table
        .order((ro::created_at.desc(), ro::id.desc()))
        .limit(limit)
        .select(Rollout::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The rollout's targets, in order.
pub fn targets(conn: &mut Conn, rollout_id: &str) -> Result<Vec<Target>, StoreError> {
    rt::table
        .filter(rt::rollout_id.eq(rollout_id))
        .order(rt::position.asc())
        .select(Target::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The rollout's events after `after`, in order, at most `limit`.
pub fn events_after(
    conn: &mut Conn,
    rollout_id: &str,
    after: i32,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    re::table
        .filter(re::rollout_id.eq(rollout_id))
        .filter(re::seq.gt(after))
        .order(re::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Every row of the three tables: rollouts, targets, events.
pub type AllRows = (Vec<Rollout>, Vec<Target>, Vec<Event>);

/// Every row of the three tables, for `db copy`.
pub fn all(conn: &mut Conn) -> Result<AllRows, StoreError> {
    Ok((
        ro::table.select(Rollout::as_select()).load(conn)?,
        rt::table.select(Target::as_select()).load(conn)?,
        re::table.select(Event::as_select()).load(conn)?,
    ))
}

/// Whether the rollout has ended and none of its deploys is queued or running: nothing more
/// will happen to it.
pub fn is_settled(conn: &mut Conn, rollout_id: &str) -> Result<bool, StoreError> {
    let r = find(conn, rollout_id)?;
    if !r.status.is_final() {
        return Ok(false);
    }
    let in_flight: i64 = rt::table
        .filter(rt::rollout_id.eq(rollout_id))
        .filter(rt::status.eq_any([TargetStatus::Queued, TargetStatus::Running]))
        .count()
        .get_result(conn)?;
    Ok(in_flight == 0)
}
