//! Errors of the Deployments executor: configuration, program preparation and the Pulumi
//! Cloud REST API. Secrets never reach a message: bodies are not echoed, only the service's
//! own `{code, message}`.

use crate::cloud::{ProfileError, RoleCheckError};
use crate::program::{ProgramError, ProgramProblems, RenderError};

/// Why a Deployments run could not be started or followed.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentsError {
    /// A setting the executor needs is missing or invalid; the message names it.
    #[error("Pulumi Deployments is not configured: {0}")]
    NotConfigured(String),
    /// The program could not be rendered.
    #[error("could not render the program")]
    Render(#[from] RenderError),
    /// The rendered program failed validation.
    #[error(transparent)]
    Program(#[from] ProgramProblems),
    /// The tenant AWS profile for the runner could not be built.
    #[error("could not build the tenant AWS profile for the runner")]
    Profile(#[from] ProfileError),
    /// The tenant role pre-flight (`sts:AssumeRole` with the external ID) failed; nothing was
    /// created. Same check and message as the local executor's.
    #[error("pre-flight check of the tenant role failed: {0}")]
    Role(#[from] RoleCheckError),
    /// The note that guards against a second deployment could not be stored, so none is
    /// created (the worker lost its lease or its database).
    #[error(
        "could not record on the operation that a deployment is being created; none was created"
    )]
    NotRecorded,
    /// The program does not fit in one runner environment variable.
    #[error(
        "the encoded program is {bytes} bytes; a runner environment variable holds at most {max}"
    )]
    ProgramTooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The request never got an HTTP answer (connection, TLS, timeout).
    #[error("request to Pulumi Cloud failed: {context}")]
    Transport {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// Pulumi Cloud refused the request.
    #[error("Pulumi Cloud answered {status} to {context}: {message}")]
    Api {
        /// What was being done.
        context: String,
        /// HTTP status.
        status: u16,
        /// The service's `message` (or the start of the body).
        message: String,
    },
    /// Every attempt was answered 429.
    #[error("pulumi service: request rate-limit exceeded ({context})")]
    RateLimited {
        /// What was being done.
        context: String,
    },
    /// The answer did not have the documented shape.
    #[error("Pulumi Cloud sent an unexpected response to {context}")]
    Decode {
        /// What was being done.
        context: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

impl From<ProgramError> for DeploymentsError {
    fn from(e: ProgramError) -> Self {
        match e {
            ProgramError::Render(e) => Self::Render(e),
            ProgramError::Invalid(problems) => Self::Program(problems),
        }
    }
}

impl DeploymentsError {
    /// Whether running the operation again may help (the platform or its link failed, not
    /// the request).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::RateLimited { .. } => true,
            Self::Api { status, .. } => *status >= 500,
            Self::Role(e) => e.is_transient(),
            Self::NotRecorded => true,
            _ => false,
        }
    }

    /// The message with its cause chain, for an operation's error field.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            source = cause.source();
        }
        out
    }
}
