//! The database itself: which engine (`DatabaseUrl`), one connection type over both
//! ([`Conn`], a diesel `MultiConnection`), the pool, per-backend migrations and the write
//! transaction. Everything above this module is written once for both engines; the few
//! statements whose SQL differs (upserts, row locks, JSON) dispatch with [`on_backend!`].

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;

/// One connection, to SQLite or to PostgreSQL. Queries built with diesel's DSL run on either;
/// match on the variant (or use [`on_backend!`]) for the SQL only one engine speaks.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    /// A PostgreSQL server (`BYOC_DATABASE_URL=postgres://…`): many API replicas and workers.
    Pg(PgConnection),
    /// The embedded SQLite file in the data dir (the default): one node.
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the inner connection of `$conn`, typed for its backend:
/// the same diesel code compiles once per engine, so it may use what only the concrete
/// backends support (`ON CONFLICT`, `FOR UPDATE`).
#[macro_export]
#[doc(hidden)]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Pg($c) => $body,
            $crate::store::Conn::Sqlite($c) => $body,
        }
    };
}
pub use on_backend;

/// The connection pool shared by the API and the workers.
pub type DbPool = Pool<Manager>;
/// A connection checked out of the pool.
pub type PooledConn = PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Where the database is: `BYOC_DATABASE_URL`, or the SQLite file in the data dir.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A database URL byoc cannot use.
#[derive(Debug, thiserror::Error)]
#[error("expected postgres://…, postgresql://… or sqlite:///path, got '{0}'")]
pub struct BadDatabaseUrl(String);

impl DatabaseUrl {
    /// Parses `postgres://…`, `postgresql://…` or `sqlite://<path>` (`sqlite:///abs/path`).
    pub fn parse(url: &str) -> Result<Self, BadDatabaseUrl> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://").filter(|p| !p.is_empty()) {
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            // Never echo what may be a URL with a password in it.
            Err(BadDatabaseUrl(Self::Postgres(url.to_owned()).redacted()))
        }
    }

    /// Whether this is a PostgreSQL server.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The URL without its password, for logs and errors.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let userinfo = &url[scheme + 3..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    let hidden = if userinfo.contains(':') { ":***" } else { "" };
                    format!("{}{user}{hidden}{}", &url[..scheme + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }

    /// Opens one connection of the right kind, never guessing from the string.
    pub fn establish(&self) -> Result<Conn, ConnectionError> {
        match self {
            Self::Postgres(url) => PgConnection::establish(url).map(Conn::Pg),
            Self::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // A busy timeout so concurrent writers (API + workers) wait instead of failing
                // (set first, so the other pragmas wait too), and foreign keys.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(Conn::Sqlite(conn))
            }
        }
    }
}

/// The pool's connection factory: establishes the variant the URL names.
#[derive(Debug)]
pub struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        self.0
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Opens (creating a SQLite file if needed) the database with a pool of `max_size`
/// connections.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, StoreError> {
    if let DatabaseUrl::Sqlite(path) = url {
        prepare_sqlite_file(path)?;
    }
    Pool::builder()
        .max_size(max_size)
        // A SQLite file does not drop connections: no `SELECT 1` before every use.
        .test_on_check_out(url.is_postgres())
        // Two at start (and when idle), more on demand up to `max_size`: a quicker start and
        // a smaller idle process than opening every connection up front.
        .min_idle(Some(2.min(max_size)))
        .connection_timeout(Duration::from_secs(10))
        // r2d2 opens connections on its own threads (three by default); one is enough for
        // a pool that opens two at start and more only on demand, and idle threads cost
        // memory (issue 16: idle RSS).
        .thread_pool(Arc::new(
            scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("r2d2-{}")
                .build(),
        ))
        .build(Manager(url.clone()))
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", url.redacted())))
}

/// Creates the file owner-only and switches it to WAL once, before the pool opens its
/// connections concurrently.
fn prepare_sqlite_file(path: &Path) -> Result<(), StoreError> {
    // The database holds sealed secrets and token hashes: create it owner-only (SQLite would
    // use the umask). An existing file keeps the mode its operator chose.
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .is_ok();
    let url = path.to_string_lossy();
    // WAL lets readers proceed while a writer commits; it is a property of the file.
    let mut first = SqliteConnection::establish(&url)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
    // Switching a file to WAL writes its first page through a rollback journal: four fsyncs
    // (journal, its directory, journal again, database), 10-20 ms each on the disk issue 16
    // measured, on every new data directory. On a file this call created (empty, nothing to
    // lose) they protect nothing: after a power cut the file is either still empty (SQLite
    // then treats it as new and drops any WAL beside it: `pagerOpenWalIfPresent`, "the
    // database is zero pages in size") or holds the page — an empty database's only non-zero
    // bytes are its first 108, within one sector, and ext4's default ordered mode writes a
    // block before the size that covers it. The durable point is the first commit (the
    // migrations): in WAL mode SQLite syncs the new WAL's header and its directory there.
    // An existing file is switched with the default (FULL) synchronisation.
    let switch = if created {
        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;"
    } else {
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;"
    };
    first
        .batch_execute(switch)
        .map_err(|e| StoreError::Unavailable(format!("cannot enable WAL on {url}: {e}")))
}

/// Applies every pending embedded migration of the connection's engine; returns how many ran.
///
/// Every `byoc serve` and `byoc worker` migrates at start. On PostgreSQL replicas start
/// together (a Deployment's pods, `docker compose up`): a session advisory lock makes them
/// take turns, so the first applies the migrations and the others find nothing pending,
/// instead of two running the same `CREATE TABLE`.
pub fn migrate(conn: &mut Conn) -> Result<usize, StoreError> {
    let applied = match conn {
        Conn::Pg(c) => {
            let key = "byoc.migrations";
            diesel::sql_query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(key)
                .execute(c)?;
            let applied = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
            diesel::sql_query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(key)
                .execute(c)?;
            applied
        }
        // Processes starting together (`serve` and workers on one data dir) would otherwise
        // all read "nothing applied" and then trip over each other's tables: the write lock
        // taken up front makes them take turns (each migration nests as a savepoint).
        Conn::Sqlite(c) => c.immediate_transaction(|c| {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
        }),
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Inside a [`transaction`]: waits until no other transaction holds `key`, and holds it until
/// this one ends. On PostgreSQL (`READ COMMITTED`) that serializes a read-then-write (the next
/// version number, "is there a token yet?") across replicas; a transaction-scoped advisory
/// lock on a hash of `key` (two keys sharing a hash only take turns too). On SQLite nothing:
/// `BEGIN IMMEDIATE` already serializes every writer.
pub fn serialize_on(conn: &mut Conn, key: &str) -> Result<(), StoreError> {
    if let Conn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// Runs `f` in one write transaction.
///
/// - SQLite: `BEGIN IMMEDIATE` takes the database's write lock first, so what `f` reads is
///   what its writes are checked against, and two writers never deadlock upgrading a lock.
/// - PostgreSQL: `READ COMMITTED`; the queue's transitions lock the rows they decide on
///   (`queue::lock_stack`, `FOR UPDATE`), which serializes them per stack instead of
///   globally.
pub fn transaction<T, E>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        Conn::Pg(_) => <Conn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            <Conn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <Conn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replicas starting together on an empty database (a Deployment's pods): each migrates
    /// at start; they take turns, every one succeeds, and the migrations run once in all.
    #[test]
    fn processes_migrating_one_database_at_once_all_succeed_and_apply_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = crate::store::scratch::ScratchDatabase::from_env(dir.path()).unwrap();
        let url = scratch.url();
        if let DatabaseUrl::Sqlite(path) = url {
            prepare_sqlite_file(path).unwrap();
        }
        const PROCESSES: usize = 4;
        let start = std::sync::Barrier::new(PROCESSES);
        let applied: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..PROCESSES)
                .map(|_| {
                    s.spawn(|| {
                        let mut conn = url.establish().unwrap();
                        start.wait();
                        migrate(&mut conn)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().expect("every process migrates"))
                .collect()
        });
        use diesel::migration::MigrationSource;
        let all = match url {
            DatabaseUrl::Postgres(_) => {
                MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
                    .unwrap()
                    .len()
            }
            DatabaseUrl::Sqlite(_) => {
                MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(applied.iter().sum::<usize>(), all, "{applied:?}");
    }

    /// A new file comes out owner-only and in WAL mode (its switch skips the fsyncs, see
    /// `prepare_sqlite_file`), migrates, and keeps both when prepared again at a restart.
    #[test]
    fn a_new_sqlite_file_is_private_in_wal_mode_and_stays_so_after_a_restart() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("byoc.db");
        let url = DatabaseUrl::Sqlite(path.clone());
        for start in 0..2 {
            prepare_sqlite_file(&path).unwrap();
            let mut conn = url.establish().unwrap();
            let Conn::Sqlite(c) = &mut conn else {
                unreachable!()
            };
            #[derive(diesel::QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
                .get_result(c)
                .unwrap();
            assert_eq!(mode.journal_mode, "wal", "start {start}");
            let applied = migrate(&mut conn).unwrap();
            assert_eq!(applied > 0, start == 0, "start {start}: {applied} applied");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "start {start}");
        }
    }

    #[test]
    fn urls_parse_by_scheme_and_hide_passwords() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/byoc/byoc.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/byoc/byoc.db".into())
        );
        let pg = DatabaseUrl::parse("postgres://byoc:s3cret@db:5432/byoc").unwrap();
        assert!(pg.is_postgres());
        assert_eq!(pg.redacted(), "postgres://byoc:***@db:5432/byoc");
        assert!(!format!("{pg:?}").contains("s3cret"));
        let err = DatabaseUrl::parse("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("postgres://") && !err.contains("pw@"), "{err}");
    }
}
