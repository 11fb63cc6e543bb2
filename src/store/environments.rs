//! Environments across tenants, for the console's fleet overview: every (tenant,
//! environment) that has a saved config or a stack, with its latest config version, its stack
//! and the stack's current and last operations. Reads only.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::operations::Operation;
use super::schema::{environment_configs as ec, operations as ops, stacks, tenants};
use super::stacks::Stack;
use super::{Conn, StoreError};

/// One environment of one tenant.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Owning tenant's id.
    pub tenant_id: String,
    /// Owning tenant's slug.
    pub tenant_slug: String,
    /// Owning tenant's display name.
    pub tenant_name: String,
    /// Environment name.
    pub environment: String,
    /// Latest saved config version, if any is saved.
    pub config_version: Option<i32>,
    /// Its stack, once an operation was queued on it.
    pub stack: Option<Stack>,
    /// The stack's running operation.
    pub current_operation: Option<Operation>,
    /// The stack's last finished operation.
    pub last_operation: Option<Operation>,
    /// Its labels.
    pub labels: crate::domain::Labels,
}

/// Every environment, or those of the tenant with id `tenant_id`, ordered by tenant slug and
/// environment name.
pub fn list(conn: &mut Conn, tenant_id: Option<&str>) -> Result<Vec<Environment>, StoreError> {
    let versions: Vec<(String, String, Option<i32>)> = match tenant_id {
        Some(id) => ec::table
            .filter(ec::tenant_id.eq(id))
            .group_by((ec::tenant_id, ec::environment))
            .select((
                ec::tenant_id,
                ec::environment,
                diesel::dsl::max(ec::version),
            ))
            .load(conn)?,
        None => ec::table
            .group_by((ec::tenant_id, ec::environment))
            .select((
                ec::tenant_id,
                ec::environment,
                diesel::dsl::max(ec::version),
            ))
            .load(conn)?,
    };
    let mut stack_query = stacks::table.select(Stack::as_select()).into_boxed();
    if let Some(id) = tenant_id {
        stack_query = stack_query.filter(stacks::tenant_id.eq(id));
    }
    let stack_rows: Vec<Stack> = stack_query.load(conn)?;

    let mut found: BTreeMap<(String, String), (Option<i32>, Option<Stack>)> = BTreeMap::new();
    for (tenant, env, version) in versions {
        found.entry((tenant, env)).or_default().0 = version;
    }
    for stack in stack_rows {
        let key = (stack.tenant_id.clone(), stack.environment.clone());
        found.entry(key).or_default().1 = Some(stack);
    }

    let tenant_ids: Vec<&str> = found.keys().map(|(t, _)| t.as_str()).collect();
    let names: HashMap<String, (String, String)> = tenants::table
        .filter(tenants::id.eq_any(&tenant_ids))
        .select((tenants::id, tenants::slug, tenants::name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, slug, name)| (id, (slug, name)))
        .collect();
    let op_ids: Vec<&str> = found
        .values()
        .filter_map(|(_, s)| s.as_ref())
        .flat_map(|s| [&s.current_operation_id, &s.last_operation_id])
        .filter_map(|id| id.as_deref())
        .collect();
    let operations: HashMap<String, Operation> = ops::table
        .filter(ops::id.eq_any(&op_ids))
        .select(Operation::as_select())
        .load::<Operation>(conn)?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();

    let mut labels = super::labels::all(conn, tenant_id)?;

    let mut out: Vec<Environment> = found
        .into_iter()
        .filter_map(|((tenant_id, environment), (config_version, stack))| {
            let (slug, name) = names.get(&tenant_id)?.clone();
            let op = |id: Option<&String>| id.and_then(|id| operations.get(id).cloned());
            let current_operation =
                op(stack.as_ref().and_then(|s| s.current_operation_id.as_ref()));
            let last_operation = op(stack.as_ref().and_then(|s| s.last_operation_id.as_ref()));
            let labels = labels
                .remove(&(tenant_id.clone(), environment.clone()))
                .unwrap_or_default();
            Some(Environment {
                labels,
                tenant_id,
                tenant_slug: slug,
                tenant_name: name,
                environment,
                config_version,
                stack,
                current_operation,
                last_operation,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.tenant_slug, &a.environment).cmp(&(&b.tenant_slug, &b.environment)));
    Ok(out)
}
