//! The one place that knows HTTP status codes: every error the API can return, mapped to an
//! RFC 9457 `application/problem+json` body with a stable `type`.

use actix_web::{HttpResponse, ResponseError};
use problem_details::ProblemDetails;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::validation::MAX_LISTED_ERRORS;
use crate::domain::{FieldError, Role, ValidationErrors};
use crate::store::StoreError;
use crate::store::queue::QueueError;

/// Extension members of byoc's problem documents.
#[derive(Debug, Default, Serialize)]
pub struct ProblemExtensions {
    /// Every invalid field, for validation failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many invalid fields there were, when `errors` lists only the first of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_total: Option<usize>,
}

/// The problem+json document, as described in the OpenAPI spec.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable problem type, e.g. `/problems/validation-failed`.
    pub r#type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What happened, for a human.
    pub detail: String,
    /// Invalid fields (validation failures only): at most the first 20.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 20)]
    pub errors: Option<Vec<FieldError>>,
    /// How many invalid fields there were, when `errors` lists only the first 20.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 21)]
    pub errors_total: Option<u64>,
}

/// Every error an API handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials at all (no `Authorization` header, no console session).
    #[error("authentication is required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header is not a bearer token: send `Authorization: Bearer <token>`")]
    NotBearer,
    /// A bearer token (or session) that is unknown or revoked.
    #[error("the token is unknown or has been revoked")]
    UnknownToken,
    /// The token's role may not do this.
    #[error("this action needs the {required} role; the token has {actual}")]
    Forbidden {
        /// Role the action needs.
        required: Role,
        /// Role of the token.
        actual: Role,
    },
    /// The token's tenant scope does not allow this (e.g. a scoped token creating a broader
    /// token or a tenant outside its scope).
    #[error("{0}")]
    OutOfScope(String),
    /// The token that asked for a deploy may not decide on it
    /// (`BYOC_APPROVAL_SEPARATE_REQUESTER=true`).
    #[error(
        "token '{0}' asked for this deploy and may not approve or reject it; another operator or admin must"
    )]
    SelfApproval(String),
    /// A console-session request failed the cross-site checks (origin, CSRF token).
    #[error(transparent)]
    CrossSite(#[from] crate::console::guard::CrossSite),
    /// A named thing does not exist.
    #[error("{kind} '{name}' not found")]
    NotFound {
        /// What kind of thing (`tenant`, `environment config`, …).
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The request conflicts with current state.
    #[error("{detail}")]
    Conflict {
        /// Stable problem slug, e.g. `tenant-exists`.
        slug: &'static str,
        /// What conflicts and what to do.
        detail: String,
    },
    /// The body or parameters are well-formed but invalid.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// The body is not parseable (malformed JSON, wrong content type).
    #[error("{0}")]
    BadRequest(String),
    /// A tenant role check failed (trust policy, external ID, account, or AWS itself).
    #[error(transparent)]
    RoleCheck(#[from] crate::cloud::RoleCheckError),
    /// The request body is not `application/json`.
    #[error("the request body must be JSON: send `Content-Type: application/json` (got {0})")]
    UnsupportedMediaType(String),
    /// The path exists but not with this method.
    #[error("{method} is not allowed here; allowed: {}", allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))]
    MethodNotAllowed {
        /// The method the request used.
        method: String,
        /// The methods the path answers (the `Allow` header).
        allowed: Vec<actix_web::http::Method>,
    },
    /// What the framework answered before any handler ran (unknown route, oversized or
    /// stalled body, undecodable request), as problem+json.
    #[error("{detail}")]
    Http {
        /// The status the framework chose.
        status: u16,
        /// What happened.
        detail: String,
    },
    /// The database's disk is full: nothing can be written until space is freed.
    #[error(
        "the database has no space left (disk or database size limit full): nothing can be \
         saved until an operator frees space; reads still work"
    )]
    StorageFull,
    /// The database is busy or unreachable; retry later.
    #[error("the service is temporarily unavailable; retry shortly")]
    Unavailable,
    /// Anything else; details are logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A `NotFound` for `kind` named `name`.
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        ApiError::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// A 500 wrapping any error (logged once when the response is built).
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthorized | ApiError::NotBearer | ApiError::UnknownToken => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::CrossSite(_) => "cross-site-request",
            ApiError::OutOfScope(_) => "out-of-scope",
            ApiError::SelfApproval(_) => "self-approval",
            ApiError::NotFound { .. } => "not-found",
            ApiError::Conflict { slug, .. } => slug,
            ApiError::Validation(_) => "validation-failed",
            ApiError::BadRequest(_) => "malformed-request",
            ApiError::RoleCheck(e) if e.is_transient() => "aws-unavailable",
            ApiError::RoleCheck(crate::cloud::RoleCheckError::PlatformCredentials { .. }) => {
                "platform-credentials"
            }
            ApiError::RoleCheck(_) => "role-check-failed",
            ApiError::Unavailable => "unavailable",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Http { status, .. } => match status {
                400 => "malformed-request",
                404 => "not-found",
                408 => "request-timeout",
                413 => "payload-too-large",
                414 => "uri-too-long",
                431 => "headers-too-large",
                _ => "http-error",
            },
            ApiError::StorageFull => "storage-full",
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ApiError::Unauthorized | ApiError::NotBearer | ApiError::UnknownToken => {
                S::UNAUTHORIZED
            }
            ApiError::Forbidden { .. }
            | ApiError::CrossSite(_)
            | ApiError::OutOfScope(_)
            | ApiError::SelfApproval(_) => S::FORBIDDEN,
            ApiError::NotFound { .. } => S::NOT_FOUND,
            ApiError::Conflict { .. } => S::CONFLICT,
            ApiError::Validation(_) => S::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => S::BAD_REQUEST,
            ApiError::RoleCheck(e) if e.is_transient() => S::SERVICE_UNAVAILABLE,
            ApiError::RoleCheck(crate::cloud::RoleCheckError::PlatformCredentials { .. }) => {
                S::SERVICE_UNAVAILABLE
            }
            ApiError::RoleCheck(_) => S::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => S::SERVICE_UNAVAILABLE,
            ApiError::UnsupportedMediaType(_) => S::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            ApiError::Http { status, .. } => {
                S::from_u16(*status).unwrap_or(S::INTERNAL_SERVER_ERROR)
            }
            ApiError::StorageFull => S::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, name } => ApiError::NotFound { kind, name },
            StoreError::Unavailable(_) => ApiError::Unavailable,
            StoreError::Full(_) => ApiError::StorageFull,
            // A handler that expects a unique violation says what conflicts itself.
            other => ApiError::internal(other),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            e @ QueueError::NotDeployed { .. } => ApiError::Conflict {
                slug: "not-deployed",
                detail: e.to_string(),
            },
            e @ QueueError::Busy { .. } => ApiError::Conflict {
                slug: "operation-in-progress",
                detail: e.to_string(),
            },
            e @ QueueError::Finished { .. } => ApiError::Conflict {
                slug: "operation-finished",
                detail: e.to_string(),
            },
            e @ QueueError::NotAwaitingApproval { .. } => ApiError::Conflict {
                slug: "not-awaiting-approval",
                detail: e.to_string(),
            },
            QueueError::Store(e) => e.into(),
            // Leases belong to workers; a handler never holds one.
            e @ QueueError::LeaseLost(_) => ApiError::internal(e),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            ApiError::Internal(cause) => {
                // The whole cause chain is logged once here; the client sees an opaque detail.
                tracing::error!(error.cause_chain = ?cause, "request failed");
                "an internal error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let (errors, errors_total) = match self {
            ApiError::Validation(v) => {
                let listed = v.0.iter().take(MAX_LISTED_ERRORS).cloned().collect();
                let total = (v.0.len() > MAX_LISTED_ERRORS).then_some(v.0.len());
                (listed, total)
            }
            _ => (Vec::new(), None),
        };
        let status = self.status();
        let problem = ProblemDetails::from_status_code(status)
            .with_type(
                http::Uri::try_from(format!("/problems/{}", self.slug())).unwrap_or_default(),
            )
            .with_detail(detail)
            .with_extensions(ProblemExtensions {
                errors,
                errors_total,
            });
        let mut resp = problem.error_response();
        if let ApiError::MethodNotAllowed { allowed, .. } = self {
            let allow = allowed
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                resp.headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
        }
        if matches!(
            self,
            ApiError::Unauthorized | ApiError::NotBearer | ApiError::UnknownToken
        ) {
            resp.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::from(e).into()
    }
}
