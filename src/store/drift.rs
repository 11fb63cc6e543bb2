//! Drift detection's tables (issue 18): `drift_checks` (per stack: when the next check is due,
//! a running check's lease, how the last one went) and `drift_resources` (per drifted
//! resource: what differs, first and last seen). Checks are not operations: they never enter
//! the queue, hold no stack and change no state.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::drift_checks as dc;
use super::schema::drift_resources as dr;
use super::schema::operations as ops;
use super::schema::{environment_configs as ec, stacks as st, tenants as tn};
use super::{Conn, StoreError, transaction};
use crate::domain::config::EnvironmentConfig;
use crate::domain::drift::DriftedResource;
use crate::domain::{OperationStatus, StackStatus};

/// One stack's schedule row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dc)]
pub struct DriftCheckRow {
    /// The stack.
    pub stack_name: String,
    /// When the next check is due.
    pub next_at: NaiveDateTime,
    /// A check runs until then (its lease); `None`: none runs.
    pub running_until: Option<NaiveDateTime>,
    /// When the running (or last) check started.
    pub started_at: Option<NaiveDateTime>,
    /// When the last check completed.
    pub checked_at: Option<NaiveDateTime>,
    /// Why the last check failed.
    pub error: Option<String>,
}

/// One drifted resource as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dr)]
pub struct DriftRow {
    /// The stack.
    pub stack_name: String,
    /// Resource URN.
    pub urn: String,
    /// Type token.
    pub resource_type: String,
    /// Logical name.
    pub name: String,
    /// `update` or `delete`.
    pub op: String,
    /// Property paths, JSON array.
    pub paths: String,
    /// First check that saw it drifted.
    pub first_seen: NaiveDateTime,
    /// Last check that saw it drifted.
    pub last_seen: NaiveDateTime,
}

impl DriftRow {
    /// The property paths.
    pub fn path_list(&self) -> Vec<String> {
        serde_json::from_str(&self.paths).unwrap_or_default()
    }
}

/// Stacks that may hold resources: only those can drift.
const DEPLOYED: [StackStatus; 5] = [
    StackStatus::Succeeded,
    StackStatus::Failed,
    StackStatus::Pending,
    StackStatus::InProgress,
    StackStatus::Destroying,
];

/// Brings the schedule in line with the configs: a deployed stack whose latest config has a
/// `drift_check` gets a row, its first check due at `first_due(interval)`; a row whose stack
/// no longer asks for checks (or holds nothing) goes, with its drift report.
pub fn sync_schedules(
    conn: &mut Conn,
    now: NaiveDateTime,
    first_due: impl Fn(Duration) -> Duration,
) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        let stacks: Vec<(String, String, String)> = st::table
            .filter(st::status.eq_any(DEPLOYED))
            .select((st::stack_name, st::tenant_id, st::environment))
            .load(conn)?;
        let scheduled: Vec<String> = dc::table.select(dc::stack_name).load(conn)?;
        let mut wanted = Vec::new();
        for (stack, tenant, env) in stacks {
            let latest: Option<String> = ec::table
                .filter(ec::tenant_id.eq(&tenant))
                .filter(ec::environment.eq(&env))
                .order(ec::version.desc())
                .select(ec::config)
                .first(conn)
                .optional()?;
            let check = latest
                .and_then(|c| serde_json::from_str::<EnvironmentConfig>(&c).ok())
                .and_then(|c| c.drift_check);
            let Some(check) = check else { continue };
            if !scheduled.contains(&stack) {
                let due = now + delta(first_due(check.interval()));
                diesel::insert_into(dc::table)
                    .values((dc::stack_name.eq(&stack), dc::next_at.eq(due)))
                    .execute(conn)?;
            }
            wanted.push(stack);
        }
        let gone: Vec<&String> = scheduled.iter().filter(|s| !wanted.contains(s)).collect();
        if !gone.is_empty() {
            diesel::delete(dr::table.filter(dr::stack_name.eq_any(&gone))).execute(conn)?;
            diesel::delete(dc::table.filter(dc::stack_name.eq_any(&gone))).execute(conn)?;
        }
        Ok(())
    })
}

fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// Claims due checks for this process, at most so many that no more than `cap` run across
/// the fleet (a running check holds `running_until`, its lease). A stack with an operation
/// queued or running is passed over: checks yield to work. Returns the stacks claimed.
pub fn claim_due(
    conn: &mut Conn,
    now: NaiveDateTime,
    cap: usize,
    lease: Duration,
) -> Result<Vec<String>, StoreError> {
    transaction(conn, |conn| {
        if let Conn::Pg(c) = conn {
            // Claims from several processes count the running checks one after another, so
            // together they never pass the cap (on SQLite the write transaction already is
            // exclusive).
            diesel::sql_query("LOCK TABLE drift_checks IN SHARE ROW EXCLUSIVE MODE").execute(c)?;
        }
        let running: i64 = dc::table
            .filter(dc::running_until.gt(now))
            .count()
            .get_result(conn)?;
        let free = (cap as i64 - running).max(0);
        if free == 0 {
            return Ok(Vec::new());
        }
        let busy = ops::table
            .filter(ops::status.eq_any([OperationStatus::Queued, OperationStatus::Running]))
            .select(ops::stack_name);
        let due: Vec<String> = dc::table
            .filter(dc::next_at.le(now))
            .filter(dc::running_until.is_null().or(dc::running_until.le(now)))
            .filter(dc::stack_name.ne_all(busy))
            .order(dc::next_at.asc())
            .limit(free)
            .select(dc::stack_name)
            .load(conn)?;
        if !due.is_empty() {
            diesel::update(dc::table.filter(dc::stack_name.eq_any(&due)))
                .set((
                    dc::running_until.eq(Some(now + delta(lease))),
                    dc::started_at.eq(Some(now)),
                ))
                .execute(conn)?;
        }
        Ok(due)
    })
}

/// How a check ended.
#[derive(Debug)]
pub enum CheckResult {
    /// The refresh preview ran: these resources differ.
    Drifted(Vec<DriftedResource>),
    /// It failed.
    Failed(String),
}

/// Records a check of `stack` that started at `started`, and schedules the next at `next`.
/// When an operation ran on the stack meanwhile (or is queued or running now) the result is
/// dropped — it may describe a state in the middle of a change — and the check is due again
/// at `retry`. Returns whether the result was recorded.
pub fn record_check(
    conn: &mut Conn,
    stack: &str,
    started: NaiveDateTime,
    result: CheckResult,
    next: NaiveDateTime,
    retry: NaiveDateTime,
) -> Result<bool, StoreError> {
    transaction(conn, |conn| {
        let now = super::now();
        let interfered: i64 = ops::table
            .filter(ops::stack_name.eq(stack))
            .filter(
                ops::status
                    .eq_any([OperationStatus::Queued, OperationStatus::Running])
                    .or(ops::started_at.ge(started))
                    .or(ops::finished_at.ge(started)),
            )
            .count()
            .get_result(conn)?;
        if interfered > 0 {
            diesel::update(dc::table.find(stack))
                .set((
                    dc::running_until.eq(None::<NaiveDateTime>),
                    dc::next_at.eq(retry),
                ))
                .execute(conn)?;
            return Ok(false);
        }
        let error = match result {
            CheckResult::Failed(e) => Some(e),
            CheckResult::Drifted(found) => {
                if newly_drifted(conn, stack, &found)? > 0 {
                    record_detected(conn, stack, &found)?;
                }
                let urns: Vec<&str> = found.iter().map(|d| d.urn.as_str()).collect();
                diesel::delete(
                    dr::table
                        .filter(dr::stack_name.eq(stack))
                        .filter(dr::urn.ne_all(&urns)),
                )
                .execute(conn)?;
                for d in &found {
                    let paths = serde_json::to_string(&d.paths).unwrap_or_default();
                    let updated = diesel::update(dr::table.find((stack, &d.urn)))
                        .set((
                            dr::op.eq(&d.op),
                            dr::paths.eq(&paths),
                            dr::last_seen.eq(now),
                        ))
                        .execute(conn)?;
                    if updated == 0 {
                        diesel::insert_into(dr::table)
                            .values((
                                dr::stack_name.eq(stack),
                                dr::urn.eq(&d.urn),
                                dr::resource_type.eq(&d.type_),
                                dr::name.eq(&d.name),
                                dr::op.eq(&d.op),
                                dr::paths.eq(&paths),
                                dr::first_seen.eq(now),
                                dr::last_seen.eq(now),
                            ))
                            .execute(conn)?;
                    }
                }
                None
            }
        };
        diesel::update(dc::table.find(stack))
            .set((
                dc::running_until.eq(None::<NaiveDateTime>),
                dc::next_at.eq(next),
                dc::checked_at.eq(Some(now)),
                dc::error.eq(error),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// How many of `found` the stored report of `stack` does not already hold as they are (a
/// new URN, or another op or other property paths).
fn newly_drifted(
    conn: &mut Conn,
    stack: &str,
    found: &[DriftedResource],
) -> Result<usize, StoreError> {
    let known: Vec<(String, String, String)> = dr::table
        .filter(dr::stack_name.eq(stack))
        .select((dr::urn, dr::op, dr::paths))
        .load(conn)?;
    Ok(found
        .iter()
        .filter(|d| {
            let paths = serde_json::to_string(&d.paths).unwrap_or_default();
            !known
                .iter()
                .any(|(u, o, p)| *u == d.urn && *o == d.op && *p == paths)
        })
        .count())
}

/// Writes the `drift.detected` webhook event to the outbox, in the transaction that stores
/// the report. Only a check that finds something the last report did not hold (or held
/// differently) emits one: a check that sees the same drift again, or less of it, does not.
fn record_detected(
    conn: &mut Conn,
    stack: &str,
    found: &[DriftedResource],
) -> Result<(), StoreError> {
    let (tenant, environment): (String, String) = st::table
        .inner_join(tn::table.on(tn::id.eq(st::tenant_id)))
        .filter(st::stack_name.eq(stack))
        .select((tn::slug, st::environment))
        .first(conn)?;
    let mut types: Vec<&str> = found.iter().map(|d| d.type_.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let resources: Vec<_> = found
        .iter()
        .map(|d| {
            serde_json::json!({
                "urn": d.urn, "type": d.type_, "name": d.name, "op": d.op, "paths": d.paths,
            })
        })
        .collect();
    let data = serde_json::json!({
        "tenant": tenant,
        "environment": environment,
        "stack_name": stack,
        "drifted_resources": found.len(),
        "types": types,
        "resources": resources,
        "report": format!("/api/v1/tenants/{tenant}/environments/{environment}/drift"),
    });
    let body = crate::webhooks::envelope(crate::webhooks::DRIFT_DETECTED, data);
    super::webhooks::record(conn, crate::webhooks::DRIFT_DETECTED, &body)?;
    Ok(())
}

/// The schedule row of `stack`, if it has checks.
pub fn schedule(conn: &mut Conn, stack: &str) -> Result<Option<DriftCheckRow>, StoreError> {
    dc::table
        .find(stack)
        .select(DriftCheckRow::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// The drifted resources of `stack`.
pub fn resources(conn: &mut Conn, stack: &str) -> Result<Vec<DriftRow>, StoreError> {
    dr::table
        .filter(dr::stack_name.eq(stack))
        .order(dr::urn.asc())
        .select(DriftRow::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// Every drifted resource of the fleet with its tenant slug and environment, by type then
/// stack.
pub fn fleet(conn: &mut Conn) -> Result<Vec<(DriftRow, String, String)>, StoreError> {
    dr::table
        .inner_join(st::table.on(st::stack_name.eq(dr::stack_name)))
        .inner_join(tn::table.on(tn::id.eq(st::tenant_id)))
        .order((dr::resource_type.asc(), dr::stack_name.asc(), dr::urn.asc()))
        .select((DriftRow::as_select(), tn::slug, st::environment))
        .load(conn)
        .map_err(Into::into)
}

/// (drifted stacks, drifted resources) across the fleet, for the gauges.
pub fn counts(conn: &mut Conn) -> Result<(i64, i64), StoreError> {
    let resources: i64 = dr::table.count().get_result(conn)?;
    let stacks: Vec<String> = dr::table.select(dr::stack_name).distinct().load(conn)?;
    Ok((stacks.len() as i64, resources))
}
