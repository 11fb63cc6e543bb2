//! Throw-away databases for tests: `BYOC_TEST_DATABASE=postgres` runs a test suite on
//! PostgreSQL, each test in a database of its own, created on the server named by
//! `BYOC_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! dropped when the test ends. Unset (or `sqlite`): a SQLite file in the given directory.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use super::{DatabaseUrl, StoreError};

/// The server the scratch databases are created on, unless `BYOC_TEST_POSTGRES_URL` says.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: DatabaseUrl,
    /// `(admin url, database name)` of a PostgreSQL database to drop.
    pg: Option<(String, String)>,
}

impl ScratchDatabase {
    /// The backend `BYOC_TEST_DATABASE` selects: a fresh PostgreSQL database, or
    /// `<dir>/byoc.db`.
    pub fn from_env(dir: &Path) -> Result<Self, StoreError> {
        match std::env::var("BYOC_TEST_DATABASE").as_deref() {
            Ok("postgres") => Self::postgres(),
            Ok("sqlite") | Ok("") | Err(_) => Ok(Self::sqlite(dir)),
            Ok(other) => Err(StoreError::Unavailable(format!(
                "BYOC_TEST_DATABASE must be 'sqlite' or 'postgres', got '{other}'"
            ))),
        }
    }

    /// `<dir>/byoc.db`.
    pub fn sqlite(dir: &Path) -> Self {
        Self {
            url: DatabaseUrl::Sqlite(dir.join("byoc.db")),
            pg: None,
        }
    }

    /// A new, empty database `byoc_t_<random>` on the PostgreSQL test server.
    pub fn postgres() -> Result<Self, StoreError> {
        let admin =
            std::env::var("BYOC_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        let name = format!("byoc_t_{}", uuid::Uuid::new_v4().simple());
        admin_conn(&admin)?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| StoreError::Unavailable(format!("cannot create {name}: {e}")))?;
        let url = with_database(&admin, &name);
        Ok(Self {
            url: DatabaseUrl::Postgres(url),
            pg: Some((admin, name)),
        })
    }

    /// Its URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Keeps the database after the test (for a look at it); returns its URL.
    pub fn keep(mut self) -> DatabaseUrl {
        self.pg = None;
        self.url.clone()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // FORCE ends the connections a pool may still hold (PostgreSQL 13+).
            let dropped = admin_conn(&admin).and_then(|mut c| {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(StoreError::from)
            });
            if let Err(e) = dropped {
                eprintln!("scratch database {name} left behind: {e}");
            }
        }
    }
}

fn admin_conn(admin: &str) -> Result<PgConnection, StoreError> {
    PgConnection::establish(admin)
        .map_err(|e| StoreError::Unavailable(format!("test PostgreSQL server: {e}")))
}

/// `admin` with its database path replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let host_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..host_end]);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Tenant `acme` (id `t1`, account 123456789012, us-east-1) with a placeholder sealed external
/// ID: the one tenant the store's own tests and the database bench start from.
pub fn insert_acme(conn: &mut super::Conn) -> Result<super::tenants::Tenant, StoreError> {
    let now = super::now();
    super::tenants::insert(
        conn,
        &super::tenants::NewTenant {
            id: "t1",
            slug: "acme",
            name: "Acme",
            aws_account_id: "123456789012",
            aws_region: "us-east-1",
            role_name: "BYOCPlatformRole",
            role_arn: "arn:aws:iam::123456789012:role/BYOCPlatformRole",
            external_id_sealed: b"sealed",
            created_at: now,
            updated_at: now,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_replaces_the_admin_one() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "byoc_t_1"),
            "postgres://postgres@127.0.0.1:5432/byoc_t_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
