//! What can go wrong in a client command, and the exit code each outcome maps to (the one
//! table a script relies on).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// How a client command ends: the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: it worked (or the operation succeeded).
    Succeeded,
    /// 1: the operation failed, or the server could not be reached or answered 5xx.
    Failed,
    /// 2: bad usage, invalid input, or a confirmation that was not given.
    Usage,
    /// 3: no token, a token the server refuses (401), or a role that may not do this (403).
    Auth,
    /// 4: what was named does not exist.
    NotFound,
    /// 5: the request conflicts with the current state (409).
    Conflict,
    /// 6: the operation was cancelled.
    Cancelled,
    /// 7: the followed deploy stopped to await approval (`byoc approve` or `byoc reject` it).
    AwaitingApproval,
    /// 130: the user detached from a running operation with Ctrl-C; it keeps running.
    Detached,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Succeeded => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Auth => 3,
            Exit::NotFound => 4,
            Exit::Conflict => 5,
            Exit::Cancelled => 6,
            Exit::AwaitingApproval => 7,
            Exit::Detached => 130,
        }
    }

    /// The exit code of an operation that ended with `status`.
    pub fn of_operation(status: &str) -> Self {
        match status {
            "succeeded" => Exit::Succeeded,
            "cancelled" => Exit::Cancelled,
            _ => Exit::Failed,
        }
    }
}

/// One invalid field of a problem document.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldProblem {
    /// JSON pointer into the request body, or a parameter name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// An `application/problem+json` answer (RFC 9457) of the byoc API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiProblem {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// Stable problem type, e.g. `/problems/validation-failed`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Summary of the type.
    #[serde(default)]
    pub title: String,
    /// What happened.
    #[serde(default)]
    pub detail: String,
    /// Invalid fields (validation failures).
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
    /// The server's `x-request-id`, to quote when reporting a problem.
    #[serde(skip)]
    pub request_id: Option<String>,
}

impl ApiProblem {
    /// The exit code of this answer.
    pub fn exit(&self) -> Exit {
        match self.status {
            400 | 422 => Exit::Usage,
            401 | 403 => Exit::Auth,
            404 => Exit::NotFound,
            409 => Exit::Conflict,
            _ => Exit::Failed,
        }
    }
}

impl fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.detail.is_empty() {
            &self.title
        } else {
            &self.detail
        };
        write!(f, "{text} (HTTP {})", self.status)
    }
}

impl std::error::Error for ApiProblem {}

/// Every error of a client command.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad usage or input the client itself refuses.
    #[error("{0}")]
    Usage(String),
    /// No usable token.
    #[error("{0}")]
    NoCredentials(String),
    /// The server answered with a problem document (boxed: it is the largest variant).
    #[error(transparent)]
    Api(Box<ApiProblem>),
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach {url}")]
    Transport {
        /// The server.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// An input file could not be read or parsed.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The client's own config file could not be read or written.
    #[error("config file {}: {reason}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading from or writing to the terminal failed.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    /// The command already told the user what went wrong; exit with this code.
    #[error("already reported")]
    Reported(Exit),
}

impl From<ApiProblem> for ClientError {
    fn from(p: ApiProblem) -> Self {
        ClientError::Api(Box::new(p))
    }
}

impl ClientError {
    /// The exit code of this error.
    pub fn exit(&self) -> Exit {
        match self {
            ClientError::Usage(_) | ClientError::Input { .. } => Exit::Usage,
            ClientError::NoCredentials(_) => Exit::Auth,
            ClientError::Api(p) => p.exit(),
            ClientError::ConfigFile { .. } => Exit::Usage,
            ClientError::Transport { .. } | ClientError::Protocol(_) | ClientError::Terminal(_) => {
                Exit::Failed
            }
            ClientError::Reported(exit) => *exit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(status: u16) -> ClientError {
        ApiProblem {
            status,
            ..ApiProblem::default()
        }
        .into()
    }

    #[test]
    fn http_statuses_map_to_the_documented_exit_codes() {
        assert_eq!(problem(422).exit().code(), 2);
        assert_eq!(problem(400).exit().code(), 2);
        assert_eq!(problem(401).exit().code(), 3);
        assert_eq!(problem(403).exit().code(), 3);
        assert_eq!(problem(404).exit().code(), 4);
        assert_eq!(problem(409).exit().code(), 5);
        assert_eq!(problem(503).exit().code(), 1);
    }

    #[test]
    fn operation_statuses_map_to_exit_codes() {
        assert_eq!(Exit::of_operation("succeeded").code(), 0);
        assert_eq!(Exit::of_operation("failed").code(), 1);
        assert_eq!(Exit::of_operation("cancelled").code(), 6);
    }
}
