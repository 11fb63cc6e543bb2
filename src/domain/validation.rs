//! Field-level validation errors shared by every request type.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One invalid field: a JSON pointer into the request body (or a parameter name) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the offending value, e.g. `/vpc_config/cidr_block`,
    /// or the name of a path/query parameter.
    pub field: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every invalid field of one request; never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s): {}", .0.len(), summary(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// How many problems an answer lists: a large bad body must not make a larger answer.
pub const MAX_LISTED_ERRORS: usize = 20;

/// The first [`MAX_LISTED_ERRORS`] problems, then how many more there are.
fn summary(errors: &[FieldError]) -> String {
    let mut out = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > MAX_LISTED_ERRORS {
        out.push_str(&format!("; and {} more", errors.len() - MAX_LISTED_ERRORS));
    }
    out
}

impl ValidationErrors {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-field error.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }

    /// Records one invalid field.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Records the error of `result` under `field`, returning its value if any.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }
}
