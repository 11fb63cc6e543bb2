//! The store's error type: database failures classified once, so the API can map them.

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named row does not exist; the API answers 404 with this text.
    #[error("{kind} '{name}' not found")]
    NotFound {
        /// What was looked for (`tenant`, `environment config`, `operation`, …).
        kind: &'static str,
        /// Its name, as the caller knows it.
        name: String,
    },
    /// A unique constraint was violated.
    #[error("already exists")]
    Conflict,
    /// The database is busy, locked or the pool timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored value could not be decoded (corrupt row or incompatible version).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error (including a lookup that expected its row to exist).
    #[error(transparent)]
    Database(diesel::result::Error),
}

impl StoreError {
    /// A `NotFound` for `kind` named `name`.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }
}

/// Names the row an optional lookup was after: `None` becomes [`StoreError::NotFound`].
pub trait Found<T> {
    /// `Ok(row)`, or `NotFound` naming `kind` and `name`.
    fn found(self, kind: &'static str, name: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T, E: Into<StoreError>> Found<T> for Result<Option<T>, E> {
    fn found(self, kind: &'static str, name: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(Into::into)?
            .ok_or_else(|| StoreError::not_found(kind, name()))
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict,
            Error::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("busy") =>
            {
                StoreError::Unavailable(info.message().to_owned())
            }
            // A bare diesel `NotFound` is a row the code expected to exist: lookups that may
            // miss name what they looked for through `Found`.
            other => StoreError::Database(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}
