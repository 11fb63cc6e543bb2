//! The `environment_configs` table: every save is a new version.

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::schema::environment_configs as ec;
use super::tenants::Tenant;
use super::{Conn, Found, StoreError};

/// One stored config version.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ec)]
pub struct ConfigVersion {
    /// Owning tenant.
    pub tenant_id: String,
    /// Environment name.
    pub environment: String,
    /// Version, from 1.
    pub version: i32,
    /// The resolved config as JSON.
    pub config: String,
    /// When it was saved.
    pub created_at: NaiveDateTime,
    /// The request document as posted (JSON); `None` for versions saved before it was kept.
    pub request: Option<String>,
    /// Name of the token that saved it, when known.
    pub created_by: Option<String>,
}

/// What a new version stores.
#[derive(Debug, Clone, Copy)]
pub struct NewConfig<'a> {
    /// The resolved config (JSON).
    pub config: &'a str,
    /// The request document as posted (JSON).
    pub request: Option<&'a str>,
    /// Name of the token saving it.
    pub created_by: Option<&'a str>,
}

/// One line of an environment's version list.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ec)]
pub struct ConfigVersionSummary {
    /// Version, from 1.
    pub version: i32,
    /// When it was saved.
    pub created_at: NaiveDateTime,
    /// Name of the token that saved it, when known.
    pub created_by: Option<String>,
}

/// Saves `new` as the next version of (`tenant_id`, `environment`). Run it inside a
/// transaction ([`super::transaction`]): the next version number is read and written in the
/// same one, and concurrent saves of one environment take turns.
///
/// On PostgreSQL (`READ COMMITTED`) two saves would both read the same `max(version)` and the
/// second insert would hit the primary key: [`super::serialize_on`] the environment makes the
/// second wait until the first commits, and it then reads the new maximum.
pub fn insert_next(
    conn: &mut Conn,
    tenant_id: &str,
    environment: &str,
    new: NewConfig<'_>,
) -> Result<ConfigVersion, StoreError> {
    super::serialize_on(conn, &format!("byoc.config:{tenant_id}/{environment}"))?;
    let current: Option<i32> = ec::table
        .filter(ec::tenant_id.eq(tenant_id))
        .filter(ec::environment.eq(environment))
        .select(diesel::dsl::max(ec::version))
        .first(conn)?;
    let row = (
        ec::tenant_id.eq(tenant_id),
        ec::environment.eq(environment),
        ec::version.eq(current.unwrap_or(0) + 1),
        ec::config.eq(new.config),
        ec::request.eq(new.request),
        ec::created_by.eq(new.created_by),
        ec::created_at.eq(super::now()),
    );
    // Per engine: diesel's `MultiBackend` cannot return a `Selectable` from this insert.
    super::on_backend!(conn, |c| diesel::insert_into(ec::table)
        .values(row)
        .returning(ConfigVersion::as_returning())
        .get_result(c))
    .map_err(Into::into)
}

/// The latest version, or version `version` when given, if there is one.
///
/// Two fixed queries rather than one boxed query: diesel finds a fixed query's prepared
/// statement by its type, a boxed one by its SQL text, which it writes again on every call.
pub fn lookup(
    conn: &mut Conn,
    tenant_id: &str,
    environment: &str,
    version: Option<i32>,
) -> Result<Option<ConfigVersion>, StoreError> {
    let of_env = ec::table
        .filter(ec::tenant_id.eq(tenant_id))
        .filter(ec::environment.eq(environment));
    // `first_row`, not `.first()`: see `super::first_row` (SQLite re-prepares `LIMIT ?`).
    super::on_backend!(conn, |c| super::first_row(match version {
        Some(v) => of_env
            .filter(ec::version.eq(v))
            .select(ConfigVersion::as_select())
            .load_iter::<ConfigVersion, DefaultLoadingMode>(c)
            .map(|rows| Box::new(rows) as Box<dyn Iterator<Item = _>>),
        None => of_env
            .order(ec::version.desc())
            .select(ConfigVersion::as_select())
            .load_iter::<ConfigVersion, DefaultLoadingMode>(c)
            .map(|rows| Box::new(rows) as Box<dyn Iterator<Item = _>>),
    }))
}

/// What tells one stored version from every other, past or future: its number and when it
/// was saved (a version number comes back after the config was deleted and saved again).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Queryable)]
pub struct VersionStamp {
    /// Version, from 1.
    pub version: i32,
    /// When it was saved.
    pub created_at: NaiveDateTime,
}

/// The stamp of the latest version, or of version `version`, of `tenant`'s `environment`
/// (read from the primary key's index and the row, without its documents); `NotFound` as
/// [`find`].
pub fn find_stamp(
    conn: &mut Conn,
    tenant: &Tenant,
    environment: &str,
    version: Option<i32>,
) -> Result<VersionStamp, StoreError> {
    let of_env = ec::table
        .filter(ec::tenant_id.eq(&tenant.id))
        .filter(ec::environment.eq(environment));
    // On the engine's own connection: see `super::first_row`.
    super::on_backend!(conn, |c| super::first_row(match version {
        Some(v) => of_env
            .filter(ec::version.eq(v))
            .select((ec::version, ec::created_at))
            .load_iter::<VersionStamp, DefaultLoadingMode>(c)
            .map(|rows| Box::new(rows) as Box<dyn Iterator<Item = _>>),
        None => of_env
            .order(ec::version.desc())
            .select((ec::version, ec::created_at))
            .load_iter::<VersionStamp, DefaultLoadingMode>(c)
            .map(|rows| Box::new(rows) as Box<dyn Iterator<Item = _>>),
    }))
    .found("environment config", || name(tenant, environment, version))
}

/// The latest version, or version `version`, of `tenant`'s `environment`; `NotFound` names
/// it as `<slug>/<env>[ version N]`.
pub fn find(
    conn: &mut Conn,
    tenant: &Tenant,
    environment: &str,
    version: Option<i32>,
) -> Result<ConfigVersion, StoreError> {
    lookup(conn, &tenant.id, environment, version)
        .found("environment config", || name(tenant, environment, version))
}

/// Every version of an environment's config, newest first; `NotFound` when there is none.
pub fn list_versions(
    conn: &mut Conn,
    tenant: &Tenant,
    environment: &str,
) -> Result<Vec<ConfigVersionSummary>, StoreError> {
    let rows: Vec<ConfigVersionSummary> = ec::table
        .filter(ec::tenant_id.eq(&tenant.id))
        .filter(ec::environment.eq(environment))
        .select(ConfigVersionSummary::as_select())
        .order(ec::version.desc())
        .load(conn)?;
    if rows.is_empty() {
        return Err(StoreError::not_found(
            "environment config",
            name(tenant, environment, None),
        ));
    }
    Ok(rows)
}

/// Deletes every version of an environment's config; `NotFound` when there was none.
pub fn delete_all(conn: &mut Conn, tenant: &Tenant, environment: &str) -> Result<(), StoreError> {
    let n = diesel::delete(
        ec::table
            .filter(ec::tenant_id.eq(&tenant.id))
            .filter(ec::environment.eq(environment)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found(
            "environment config",
            name(tenant, environment, None),
        ));
    }
    Ok(())
}

fn name(tenant: &Tenant, environment: &str, version: Option<i32>) -> String {
    match version {
        Some(v) => format!("{}/{environment} version {v}", tenant.slug),
        None => format!("{}/{environment}", tenant.slug),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, scratch::ScratchDatabase};

    fn new(config: &str) -> NewConfig<'_> {
        NewConfig {
            config,
            request: None,
            created_by: Some("test"),
        }
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// A save that starts while another one's transaction is open waits for it, then takes the
    /// next version (on PostgreSQL both used to read the same `max(version)`, and the second
    /// failed on the primary key: a 500).
    #[test]
    fn a_save_waits_for_a_concurrent_one_and_takes_the_next_version() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchDatabase::from_env(dir.path()).unwrap();
        let pool = store::connect(scratch.url(), 3).unwrap();
        let mut first = pool.get().unwrap();
        store::migrate(&mut first).unwrap();
        store::scratch::insert_acme(&mut first).unwrap();
        std::thread::scope(|s| {
            let mut other = None;
            let mine = store::transaction(&mut first, |conn| {
                let mine = insert_next(conn, "t1", "prod", new("{\"a\":1}"))?;
                other = Some(s.spawn(|| {
                    let mut conn = pool.get().unwrap();
                    store::transaction(&mut conn, |c| {
                        insert_next(c, "t1", "prod", new("{\"a\":2}"))
                    })
                }));
                // PostgreSQL: commit only once the other save is seen waiting for this one
                // (on anything: without the advisory lock it waited on the primary key, then
                // failed). SQLite: its `BEGIN IMMEDIATE` waits for this transaction anyway.
                if let Conn::Pg(watch) = &mut *pool.get().unwrap() {
                    while diesel::sql_query("SELECT count(*) AS n FROM pg_locks WHERE NOT granted")
                        .get_result::<Count>(watch)?
                        .n
                        == 0
                    {
                        std::thread::yield_now();
                    }
                }
                Ok::<_, StoreError>(mine)
            })
            .unwrap();
            let theirs = other.unwrap().join().unwrap().unwrap();
            assert_eq!((mine.version, theirs.version), (1, 2));
        });
    }
}

#[cfg(test)]
mod statement_cache {
    use std::sync::{Arc, Mutex};

    use diesel::connection::InstrumentationEvent;

    use super::*;
    use crate::store::{self, scratch::ScratchDatabase};

    #[derive(Default)]
    struct Seen {
        started: Vec<String>,
        cached: Vec<String>,
    }

    fn watch(conn: &mut Conn) -> Arc<Mutex<Seen>> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = seen.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                s.lock().unwrap().started.push(query.to_string())
            }
            InstrumentationEvent::CacheQuery { sql, .. } => {
                s.lock().unwrap().cached.push(sql.to_owned())
            }
            _ => {}
        });
        seen
    }

    /// The reads of GET config (tenant, the version's stamp, the row), GET status (tenant,
    /// stack and both operations, one statement) and GET outputs (tenant with stack) are fixed statements: each is prepared once per
    /// connection and reused by later requests, instead of SQLite parsing and planning the
    /// SQL again on every request (BENCHMARKS.md, API GETs). A statement diesel does not
    /// cache (a raw `sql` fragment, `eq_any` over a list) would be prepared on every call:
    /// the counts differ.
    #[test]
    fn the_get_config_and_status_reads_prepare_each_statement_once_per_connection() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchDatabase::from_env(dir.path()).unwrap();
        let mut conn = scratch.url().establish().unwrap();
        store::migrate(&mut conn).unwrap();
        store::scratch::insert_acme(&mut conn).unwrap();
        store::transaction(&mut conn, |c| {
            store::stacks::ensure(c, "acme-prod", "t1", "prod")?;
            insert_next(
                c,
                "t1",
                "prod",
                NewConfig {
                    config: "{}",
                    request: None,
                    created_by: None,
                },
            )
        })
        .unwrap();
        let mut fresh = scratch.url().establish().unwrap();
        let seen = watch(&mut fresh);
        let round = |c: &mut Conn| {
            let t = store::tenants::find_by_slug(c, "acme").unwrap();
            let latest = find_stamp(c, &t, "prod", None).unwrap();
            assert_eq!(find_stamp(c, &t, "prod", Some(1)).unwrap(), latest);
            find(c, &t, "prod", Some(latest.version)).unwrap();
            find(c, &t, "prod", None).unwrap();
            let (_, stack) =
                store::stacks::find_with_tenant(c, "acme", "prod", "acme-prod").unwrap();
            assert_eq!(stack.stack_name, "acme-prod");
            let (_, stack, current, last) =
                store::stacks::find_status(c, "acme", "prod", "acme-prod").unwrap();
            assert_eq!(
                (stack.stack_name.as_str(), current, last),
                ("acme-prod", None, None)
            );
        };
        round(&mut fresh);
        let (started, cached) = {
            let seen = seen.lock().unwrap();
            (seen.started.len(), seen.cached.len())
        };
        assert_eq!(started, 7);
        assert_eq!(cached, started, "{:#?}", seen.lock().unwrap().started);
        round(&mut fresh);
        round(&mut fresh);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.started.len(), 3 * started);
        assert_eq!(
            seen.cached.len(),
            cached,
            "prepared again: {:#?}",
            seen.cached
        );
    }
}
