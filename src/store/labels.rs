//! The `environment_labels` table: the labels of one environment of a tenant (a tenant's own
//! labels are a column of `tenants`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::environment_labels as el;
use super::{Conn, StoreError};
use crate::domain::Labels;

/// A row as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = el)]
pub struct EnvironmentLabelsRow {
    /// Owning tenant's id.
    pub tenant_id: String,
    /// Environment name.
    pub environment: String,
    /// JSON object of labels.
    pub labels: String,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl EnvironmentLabelsRow {
    fn parsed(&self) -> Result<Labels, StoreError> {
        Labels::from_stored(&self.labels).map_err(|e| {
            StoreError::Corrupt(format!(
                "labels of {}/{}: {e}",
                self.tenant_id, self.environment
            ))
        })
    }
}

/// Replaces the labels of one environment (no labels: the row goes).
pub fn set(
    conn: &mut Conn,
    tenant_id: &str,
    environment: &str,
    labels: &Labels,
) -> Result<(), StoreError> {
    diesel::delete(el::table.find((tenant_id, environment))).execute(conn)?;
    if labels.as_map().is_empty() {
        return Ok(());
    }
    let row = EnvironmentLabelsRow {
        tenant_id: tenant_id.to_owned(),
        environment: environment.to_owned(),
        labels: labels.to_stored(),
        updated_at: super::now(),
    };
    super::on_backend!(conn, |c| diesel::insert_into(el::table)
        .values(&row)
        .execute(c))?;
    Ok(())
}

/// The labels of one environment (empty when none were set).
pub fn get(conn: &mut Conn, tenant_id: &str, environment: &str) -> Result<Labels, StoreError> {
    el::table
        .find((tenant_id, environment))
        .select(EnvironmentLabelsRow::as_select())
        .first(conn)
        .optional()?
        .map_or_else(|| Ok(Labels::default()), |r| r.parsed())
}

/// Labels of every environment (of one tenant with `tenant_id`), by (tenant id, environment).
pub fn all(
    conn: &mut Conn,
    tenant_id: Option<&str>,
) -> Result<HashMap<(String, String), Labels>, StoreError> {
    let mut q = el::table
        .select(EnvironmentLabelsRow::as_select())
        .into_boxed();
    if let Some(id) = tenant_id {
        q = q.filter(el::tenant_id.eq(id));
    }
    q.load(conn)?
        .into_iter()
        .map(|r| Ok(((r.tenant_id.clone(), r.environment.clone()), r.parsed()?)))
        .collect()
}

/// Every row, for `db copy`.
pub fn rows(conn: &mut Conn) -> Result<Vec<EnvironmentLabelsRow>, StoreError> {
    el::table
        .select(EnvironmentLabelsRow::as_select())
        .load(conn)
        .map_err(Into::into)
}
