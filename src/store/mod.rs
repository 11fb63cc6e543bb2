//! Persistence with diesel over SQLite or PostgreSQL (`db`): the pool, per-backend
//! migrations, and one module per aggregate. Functions take `&mut Conn` so callers own the transaction — except
//! the queue's transitions (`queue`), each of which is one transaction of its own.

pub mod configs;
pub mod copy;
mod db;
pub mod drift;
pub mod environments;
mod error;
pub mod events;
pub mod labels;
mod mapping;
pub mod operations;
pub mod outputs;
pub mod plans;
pub mod queue;
pub mod rollouts;
pub mod schema;
pub mod scratch;
pub mod stack_settings;
pub mod stacks;
pub mod tenants;
pub mod tokens;
pub mod webhooks;

pub use db::{
    BadDatabaseUrl, Conn, DatabaseUrl, DbPool, Manager, MultiBackend, PooledConn, connect, migrate,
    on_backend, serialize_on, transaction,
};
pub use error::{Found, StoreError};

/// The first row of a loaded result, the rest never read (SQLite stops when the statement
/// is reset). For the hot reads instead of diesel's `.first()`, whose `LIMIT ?` SQLite
/// treats as a parameter its plan depends on: binding it again (every call) expires the
/// prepared statement, and the next step parses and plans the SQL again (the bundled
/// SQLite, `sqlite3ExprIsInteger` marking the LIMIT variable in the statement's `expmask`).
///
/// The hot reads (GET tenant, config, status) run on the engine's own connection
/// (`on_backend!`) rather than through [`Conn`], diesel's `MultiConnection`: the typed
/// query then has a static query id and is found in the statement cache by that id, while
/// through [`Conn`] diesel writes the whole SQL text on every execution to find it (issue
/// 16: ~5 % of a GET status). The statement is the same either way.
pub fn first_row<T>(
    rows: diesel::QueryResult<impl Iterator<Item = diesel::QueryResult<T>>>,
) -> Result<Option<T>, StoreError> {
    Ok(rows?.next().transpose()?)
}

/// The current UTC time as stored in the database: to the microsecond, which is what
/// PostgreSQL's `TIMESTAMP` keeps, so a value reads back equal on both engines.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::DurationRound;
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(now)
}
