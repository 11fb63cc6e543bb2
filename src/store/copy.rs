//! `byoc db copy`: every row of one database into another, empty one — how a single-node
//! SQLite install moves to PostgreSQL. Rows are copied as they are (sealed values stay
//! sealed: the same master key opens them on the other side), in one transaction on the
//! target, parents before children; the counts are compared at the end.

use diesel::prelude::*;

use super::schema::{
    api_tokens, drift_checks, drift_resources, environment_configs, environment_labels,
    operation_events, operation_plans, operations, rollout_events, rollout_targets, rollouts,
    stack_settings, stacks, tenants, webhook_attempts, webhook_deliveries, webhook_subscriptions,
};
use super::stack_settings as ss;
use super::{Conn, StoreError, configs, drift, events, operations as ops, plans};
use super::{stacks as st, tenants as tn, tokens as tk};

/// Rows per insert: far below both engines' limits on bound parameters.
const CHUNK: usize = 500;

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds data; nothing was written.
    #[error("the target database is not empty ({table} has {rows} rows): refusing to copy into it")]
    TargetNotEmpty {
        /// The first table found non-empty.
        table: &'static str,
        /// Its rows.
        rows: i64,
    },
    /// After the copy a table's count differs (the transaction was rolled back).
    #[error("{table}: {source_rows} rows in the source, {target_rows} in the target")]
    CountMismatch {
        /// The table.
        table: &'static str,
        /// Rows in the source.
        source_rows: i64,
        /// Rows in the target.
        target_rows: i64,
    },
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CopyError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Rows per table, in copy order.
pub type Counts = Vec<(&'static str, i64)>;

/// Rows per table of `conn`, parents first.
pub fn counts(conn: &mut Conn) -> Result<Counts, StoreError> {
    Ok(vec![
        ("tenants", tenants::table.count().get_result(conn)?),
        (
            "environment_configs",
            environment_configs::table.count().get_result(conn)?,
        ),
        ("stacks", stacks::table.count().get_result(conn)?),
        ("api_tokens", api_tokens::table.count().get_result(conn)?),
        ("operations", operations::table.count().get_result(conn)?),
        (
            "operation_events",
            operation_events::table.count().get_result(conn)?,
        ),
        (
            "stack_settings",
            stack_settings::table.count().get_result(conn)?,
        ),
        (
            "operation_plans",
            operation_plans::table.count().get_result(conn)?,
        ),
        (
            "drift_checks",
            drift_checks::table.count().get_result(conn)?,
        ),
        (
            "drift_resources",
            drift_resources::table.count().get_result(conn)?,
        ),
        (
            "environment_labels",
            environment_labels::table.count().get_result(conn)?,
        ),
        (
            "webhook_subscriptions",
            webhook_subscriptions::table.count().get_result(conn)?,
        ),
        (
            "webhook_deliveries",
            webhook_deliveries::table.count().get_result(conn)?,
        ),
        (
            "webhook_attempts",
            webhook_attempts::table.count().get_result(conn)?,
        ),
        ("rollouts", rollouts::table.count().get_result(conn)?),
        (
            "rollout_targets",
            rollout_targets::table.count().get_result(conn)?,
        ),
        (
            "rollout_events",
            rollout_events::table.count().get_result(conn)?,
        ),
    ])
}

/// Copies every row of `from` into `to` (both migrated by the caller); returns the counts.
pub fn copy(from: &mut Conn, to: &mut Conn) -> Result<Counts, CopyError> {
    if let Some((table, rows)) = counts(to)?.into_iter().find(|(_, n)| *n > 0) {
        return Err(CopyError::TargetNotEmpty { table, rows });
    }
    let expected = counts(from)?;
    super::transaction(to, |to| {
        let rows: Vec<tn::Tenant> = tenants::table.select(tn::Tenant::as_select()).load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(tenants::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<configs::ConfigVersion> = environment_configs::table
            .select(configs::ConfigVersion::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(environment_configs::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<st::Stack> = stacks::table.select(st::Stack::as_select()).load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(stacks::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<tk::ApiToken> = api_tokens::table
            .select(tk::ApiToken::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(api_tokens::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<ops::Operation> = operations::table
            .order(operations::seq.asc())
            .select(ops::Operation::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(operations::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<events::Event> = operation_events::table
            .select(events::Event::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(operation_events::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<ss::StackSettingsRow> = stack_settings::table
            .select(ss::StackSettingsRow::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(stack_settings::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<plans::OperationPlan> = operation_plans::table
            .select(plans::OperationPlan::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(operation_plans::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<drift::DriftCheckRow> = drift_checks::table
            .select(drift::DriftCheckRow::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(drift_checks::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows: Vec<drift::DriftRow> = drift_resources::table
            .select(drift::DriftRow::as_select())
            .load(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(drift_resources::table)
                .values(chunk)
                .execute(c))
        })?;
        let rows = super::labels::rows(from)?;
        insert_chunks(to, &rows, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(environment_labels::table)
                .values(chunk)
                .execute(c))
        })?;
        let (subs, deliveries, attempts) = super::webhooks::all(from)?;
        insert_chunks(to, &subs, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(webhook_subscriptions::table)
                .values(chunk)
                .execute(c))
        })?;
        insert_chunks(to, &deliveries, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(webhook_deliveries::table)
                .values(chunk)
                .execute(c))
        })?;
        insert_chunks(to, &attempts, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(webhook_attempts::table)
                .values(chunk)
                .execute(c))
        })?;
        let (runs, targets, run_events) = super::rollouts::all(from)?;
        insert_chunks(to, &runs, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(rollouts::table)
                .values(chunk)
                .execute(c))
        })?;
        insert_chunks(to, &targets, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(rollout_targets::table)
                .values(chunk)
                .execute(c))
        })?;
        insert_chunks(to, &run_events, |c, chunk| {
            super::on_backend!(c, |c| diesel::insert_into(rollout_events::table)
                .values(chunk)
                .execute(c))
        })?;
        if let Conn::Pg(c) = to {
            // Rows came with their `seq`: the next enqueue must continue after them.
            diesel::sql_query(
                "SELECT setval(pg_get_serial_sequence('operations', 'seq'), \
                 COALESCE(MAX(seq), 0) + 1, false) FROM operations",
            )
            .execute(c)?;
        }
        let copied = counts(to)?;
        for ((table, source_rows), (_, target_rows)) in expected.iter().zip(&copied) {
            if source_rows != target_rows {
                return Err(CopyError::CountMismatch {
                    table,
                    source_rows: *source_rows,
                    target_rows: *target_rows,
                });
            }
        }
        Ok(copied)
    })
}

fn insert_chunks<T>(
    to: &mut Conn,
    rows: &[T],
    mut insert: impl FnMut(&mut Conn, &[T]) -> QueryResult<usize>,
) -> Result<(), CopyError> {
    for chunk in rows.chunks(CHUNK) {
        insert(to, chunk)?;
    }
    Ok(())
}
