//! Persistence with diesel over SQLite: the pool, pragmas, embedded migrations, and one
//! module per aggregate. Functions take `&mut Conn` so callers own the transaction — except
//! the queue's transitions (`queue`), each of which is one transaction of its own.

pub mod configs;
pub mod environments;
mod error;
pub mod events;
mod mapping;
pub mod operations;
pub mod outputs;
pub mod queue;
pub mod schema;
pub mod stack_settings;
pub mod stacks;
pub mod tenants;
pub mod tokens;

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::{Found, StoreError};

/// One SQLite connection.
pub type Conn = SqliteConnection;
/// The connection pool shared by the API and the workers.
pub type DbPool = Pool<ConnectionManager<SqliteConnection>>;
/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<ConnectionManager<SqliteConnection>>;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Sets the pragmas every connection needs: a busy timeout so concurrent writers (API +
/// workers) wait instead of failing (set first, so the other pragmas wait too), and foreign
/// keys. WAL is persistent, so `connect` sets it once.
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens (creating if needed) the database at `path` with a pool of `max_size` connections.
pub fn connect(path: &Path, max_size: u32) -> Result<DbPool, StoreError> {
    let url = path.to_string_lossy().into_owned();
    // The database holds sealed secrets and token hashes: create it owner-only (SQLite would
    // use the umask). An existing file keeps the mode its operator chose.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    // WAL lets readers proceed while a writer commits; it is a property of the file, so one
    // connection sets it before the pool opens its connections concurrently.
    let mut first = SqliteConnection::establish(&url)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
    first
        .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
        .map_err(|e| StoreError::Unavailable(format!("cannot enable WAL on {url}: {e}")))?;
    drop(first);
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::<SqliteConnection>::new(url))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Applies every pending embedded migration; returns how many ran.
pub fn migrate(conn: &mut Conn) -> Result<usize, StoreError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.len())
}

/// Runs `f` in one write transaction. On SQLite it begins `IMMEDIATE`: the write lock is
/// taken first, so what `f` reads is what its writes are checked against, and two writers
/// never deadlock upgrading a read lock.
pub fn transaction<T, E>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(f)
}

/// The current UTC time as stored in the database.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
