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
    /// The database cannot grow: its disk (or SQLite's `max_page_count`) is full. Nothing can
    /// be written until an operator frees space; reads keep working.
    #[error("database storage is full: {0}")]
    Full(String),
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
            Error::DatabaseError(_, ref info) if is_storage_full(info.as_ref()) => {
                StoreError::Full(info.message().to_owned())
            }
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

/// Whether a database error says the storage is full.
///
/// - SQLite: `SQLITE_FULL`, whose message is "database or disk is full" (`sqlite3ErrStr`),
///   for a full disk and for a database at its `max_page_count` alike.
/// - PostgreSQL: SQLSTATE 53100 `disk_full`, which diesel does not expose (libpq's SQLSTATE is
///   not part of `DatabaseErrorInformation`). The server raises it from
///   `errcode_for_file_access()` for `ENOSPC` (`src/backend/utils/error/elog.c`), so the text
///   always carries strerror's "No space left on device", e.g. `could not extend file
///   "base/…": No space left on device` with the hint "Check free disk space."
///   (`src/backend/storage/smgr/md.c`).
pub fn is_storage_full(info: &dyn diesel::result::DatabaseErrorInformation) -> bool {
    let message = info.message();
    message.contains("database or disk is full")
        || message.contains("No space left on device")
        || info
            .hint()
            .is_some_and(|h| h.contains("Check free disk space"))
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error as diesel hands it over: the primary message and the hint.
    struct Info(&'static str, Option<&'static str>);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            self.1
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn classify(message: &'static str, hint: Option<&'static str>) -> StoreError {
        use diesel::result::{DatabaseErrorKind, Error};
        Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(Info(message, hint))).into()
    }

    #[test]
    fn full_storage_is_recognised_on_both_engines() {
        // SQLite's SQLITE_FULL (the API test fills a real database for it).
        assert!(matches!(
            classify("database or disk is full", None),
            StoreError::Full(_)
        ));
        // PostgreSQL's 53100, as md.c words it for ENOSPC.
        assert!(matches!(
            classify(
                "could not extend file \"base/16384/16397\": No space left on device",
                Some("Check free disk space.")
            ),
            StoreError::Full(_)
        ));
        assert!(matches!(
            classify(
                "could not write to file \"pg_wal/xlogtemp.1\": No space left on device",
                None
            ),
            StoreError::Full(_)
        ));
        assert!(matches!(
            classify("relation \"x\" does not exist", None),
            StoreError::Database(_)
        ));
    }
}
