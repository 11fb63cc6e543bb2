//! Why the worker could not get an operation ready, or a crashed one's stack usable again.

use crate::crypto::CryptoError;
use crate::domain::names::NameError;
use crate::executor::RecoverError;
use crate::store::StoreError;

/// Why an operation could not be turned into an executor job; the operation fails with it.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The database failed, or a row the operation names is gone.
    #[error("cannot prepare the operation: {0}")]
    Store(#[from] StoreError),
    /// The stored config version does not decode (corrupt, or written by a newer byoc).
    #[error("cannot prepare the operation: config v{version} does not decode: {source}")]
    Config {
        /// The version.
        version: i32,
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// A stored name no longer parses.
    #[error("cannot prepare the operation: stored {what} is invalid: {source}")]
    Name {
        /// Which name.
        what: &'static str,
        /// The rule it breaks.
        source: NameError,
    },
    /// The stack's stored settings file does not decrypt with this master key.
    #[error("cannot prepare the operation: the stack's stored settings file does not decrypt: {0}")]
    StackSettings(#[source] CryptoError),
    /// The stack's stored settings file decrypts but does not decode.
    #[error(
        "cannot prepare the operation: the stack's stored settings file does not decode: {source}"
    )]
    StackSettingsFormat {
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// The deploy's approved update plan does not decrypt with this master key.
    #[error("cannot prepare the operation: its approved update plan does not decrypt: {0}")]
    Plan(#[source] CryptoError),
    /// The tenant's external ID does not decrypt with this master key.
    #[error("cannot prepare the operation: the tenant's external ID does not decrypt: {0}")]
    ExternalId(#[source] CryptoError),
}

/// Why a crashed operation's stack could not be made usable again.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// Its job could not be built.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The executor could not clear the stack lock.
    #[error(transparent)]
    Recover(#[from] RecoverError),
}
