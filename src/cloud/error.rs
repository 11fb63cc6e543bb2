//! `RoleCheckError`: why assuming a tenant role failed, in words an operator can act on, and the
//! one classifier that turns an AWS SDK failure into it. Nothing else inspects SDK errors.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;

/// Why a tenant role could not be assumed or verified.
///
/// Each message says what to check; the AWS request id is carried when AWS answered.
#[derive(Debug, thiserror::Error)]
pub enum RoleCheckError {
    /// AWS refused the AssumeRole call.
    #[error(
        "access denied assuming {role_arn}: check that the role's trust policy names the byoc \
         principal {trusted_hint} and that its ExternalId condition equals the tenant's current \
         external ID (after a rotation, update the CloudFormation stack's ExternalId parameter); \
         also check that the platform principal may call sts:AssumeRole{}",
        request_id_suffix(.request_id)
    )]
    AccessDenied {
        /// The role we tried to assume.
        role_arn: String,
        /// The principal the trust policy must name (or a hint when unknown).
        trusted_hint: String,
        /// AWS request id.
        request_id: Option<String>,
    },
    /// The role does not exist (AWS usually reports this as access denied instead).
    #[error(
        "role {role_arn} does not exist: create it from the byoc CloudFormation template, or \
         correct the tenant's account id / role name{}",
        request_id_suffix(.request_id)
    )]
    RoleNotFound {
        /// The role we tried to assume.
        role_arn: String,
        /// AWS request id.
        request_id: Option<String>,
    },
    /// The assumed credentials belong to another account than the tenant's.
    #[error(
        "role {role_arn} was assumed but belongs to account {actual}, not the tenant's account \
         {expected}: correct the tenant's account id or role ARN"
    )]
    WrongAccount {
        /// The role that was assumed.
        role_arn: String,
        /// The tenant's account id.
        expected: String,
        /// The account GetCallerIdentity reported.
        actual: String,
    },
    /// The control plane's own AWS credentials are missing, invalid or expired.
    #[error(
        "the platform's own AWS credentials are missing, invalid or expired ({detail}): configure \
         the worker's credentials (environment, web identity, ECS/EKS or instance profile){}",
        request_id_suffix(.request_id)
    )]
    PlatformCredentials {
        /// What the SDK or AWS reported.
        detail: String,
        /// AWS request id.
        request_id: Option<String>,
    },
    /// STS could not be reached (connection refused, DNS, TLS) or did not answer in time.
    #[error(
        "AWS STS endpoint {endpoint} is unreachable{}: {detail}; check network egress, proxy \
         settings and BYOC_AWS_ENDPOINT_URL",
        if *.timed_out { " (timed out)" } else { "" }
    )]
    Unreachable {
        /// The endpoint (or "default" for the regional AWS endpoint).
        endpoint: String,
        /// Whether the failure was a timeout.
        timed_out: bool,
        /// The transport error.
        detail: String,
    },
    /// The request we built was refused as invalid (e.g. a malformed role ARN or session name).
    #[error("AWS rejected the request as invalid ({code}): {message}{}", request_id_suffix(.request_id))]
    InvalidRequest {
        /// AWS error code.
        code: String,
        /// AWS error message.
        message: String,
        /// AWS request id.
        request_id: Option<String>,
    },
    /// Any other AWS answer.
    #[error("unexpected AWS error (HTTP {status:?}, {code:?}): {message}{}", request_id_suffix(.request_id))]
    Unexpected {
        /// HTTP status, when there was a response.
        status: Option<u16>,
        /// AWS error code, when parsed.
        code: Option<String>,
        /// Message or SDK error text.
        message: String,
        /// AWS request id.
        request_id: Option<String>,
    },
}

impl RoleCheckError {
    /// The AWS request id of the failed call, when AWS answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::AccessDenied { request_id, .. }
            | Self::RoleNotFound { request_id, .. }
            | Self::PlatformCredentials { request_id, .. }
            | Self::InvalidRequest { request_id, .. }
            | Self::Unexpected { request_id, .. } => request_id.as_deref(),
            Self::WrongAccount { .. } | Self::Unreachable { .. } => None,
        }
    }

    /// Whether retrying later may succeed without anyone changing configuration.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
            || matches!(self, Self::Unexpected { status: Some(s), .. } if *s >= 500)
    }
}

fn request_id_suffix(id: &Option<String>) -> String {
    id.as_ref()
        .map(|id| format!(" (AWS request id {id})"))
        .unwrap_or_default()
}

/// What one failed AWS call told us, independent of the SDK's types (so the rules are testable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AwsFailure {
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Parsed error code (None when the body was not in the expected shape, as with moto).
    pub code: Option<String>,
    /// Message or transport error text.
    pub message: String,
    /// AWS request id.
    pub request_id: Option<String>,
    /// No response: the request timed out.
    pub timed_out: bool,
    /// No response: connecting or sending failed.
    pub dispatch_failed: bool,
    /// The platform credentials provider failed before anything was sent.
    pub credentials_failed: bool,
}

/// Where the call was going and for which role, to word the error.
pub(crate) struct CallContext<'a> {
    pub role_arn: &'a str,
    pub endpoint: &'a str,
    pub trusted_hint: &'a str,
}

impl AwsFailure {
    /// Extracts the facts from an SDK error.
    pub fn from_sdk<E>(err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let credentials_failed = source_chain(err).any(|e| e.is::<CredentialsError>());
        let raw = err.raw_response();
        let header_id = raw.and_then(|r| {
            r.headers()
                .get("x-amzn-requestid")
                .or_else(|| r.headers().get("x-amz-request-id"))
                .map(str::to_owned)
        });
        let body = raw.and_then(|r| r.body().bytes()).unwrap_or_default();
        let (code, message) = match err {
            SdkError::ServiceError(s) => (
                s.err()
                    .code()
                    .map(str::to_owned)
                    .or_else(|| xml_tag(body, "Code")),
                s.err()
                    .message()
                    .map(str::to_owned)
                    .or_else(|| xml_tag(body, "Message"))
                    .unwrap_or_else(|| chain_text(err)),
            ),
            _ => (None, chain_text(err)),
        };
        Self {
            status: raw.map(|r| r.status().as_u16()),
            code,
            message,
            request_id: err.request_id().map(str::to_owned).or(header_id),
            timed_out: matches!(err, SdkError::TimeoutError(_)),
            dispatch_failed: matches!(err, SdkError::DispatchFailure(_)),
            credentials_failed,
        }
    }

    /// The one classifier: maps the facts to an actionable [`RoleCheckError`].
    pub fn classify(self, ctx: &CallContext<'_>) -> RoleCheckError {
        let code = self.code.as_deref().unwrap_or_default();
        let unreachable = |timed_out| RoleCheckError::Unreachable {
            endpoint: ctx.endpoint.to_owned(),
            timed_out,
            detail: self.message.clone(),
        };
        if self.credentials_failed {
            return RoleCheckError::PlatformCredentials {
                detail: self.message,
                request_id: self.request_id,
            };
        }
        if self.timed_out {
            return unreachable(true);
        }
        if self.dispatch_failed && self.status.is_none() {
            return unreachable(self.message.to_ascii_lowercase().contains("timed out"));
        }
        match code {
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken" => RoleCheckError::PlatformCredentials {
                detail: format!("{code}: {}", self.message),
                request_id: self.request_id,
            },
            "NoSuchEntity" | "NoSuchEntityException" => RoleCheckError::RoleNotFound {
                role_arn: ctx.role_arn.to_owned(),
                request_id: self.request_id,
            },
            "AccessDenied" | "AccessDeniedException" => access_denied(ctx, self.request_id),
            "ValidationError" | "MalformedPolicyDocument" | "InvalidParameterValue" => {
                RoleCheckError::InvalidRequest {
                    code: code.to_owned(),
                    message: self.message,
                    request_id: self.request_id,
                }
            }
            // moto (and some proxies) answer with a body the SDK cannot parse; the status still
            // tells a denial from a missing role.
            _ if self.status == Some(403) => access_denied(ctx, self.request_id),
            _ if self.status == Some(404) => RoleCheckError::RoleNotFound {
                role_arn: ctx.role_arn.to_owned(),
                request_id: self.request_id,
            },
            _ => RoleCheckError::Unexpected {
                status: self.status,
                code: self.code,
                message: self.message,
                request_id: self.request_id,
            },
        }
    }
}

fn access_denied(ctx: &CallContext<'_>, request_id: Option<String>) -> RoleCheckError {
    RoleCheckError::AccessDenied {
        role_arn: ctx.role_arn.to_owned(),
        trusted_hint: ctx.trusted_hint.to_owned(),
        request_id,
    }
}

/// The first `<tag>…</tag>` text of an XML error body. moto wraps query-protocol errors the EC2
/// way (`<Errors><Error>`), which the SDK does not parse, so its `code()` is `None`.
fn xml_tag(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = text[start..].find(&format!("</{tag}>"))?;
    Some(text[start..start + len].trim().to_owned()).filter(|s| !s.is_empty())
}

fn source_chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| {
        let e: &'a (dyn StdError + 'static) = *e;
        e.source()
    })
}

/// The whole cause chain in one line (the SDK's top-level text alone is "dispatch failure").
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    source_chain(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: CallContext<'static> = CallContext {
        role_arn: "arn:aws:iam::123456789012:role/BYOCPlatformRole",
        endpoint: "https://sts.us-east-1.amazonaws.com",
        trusted_hint: "arn:aws:iam::210987654321:role/byoc-worker",
    };

    fn failure(status: Option<u16>, code: Option<&str>) -> AwsFailure {
        AwsFailure {
            status,
            code: code.map(str::to_owned),
            message: "msg".into(),
            request_id: Some("req-1".into()),
            ..AwsFailure::default()
        }
    }

    #[test]
    fn access_denied_by_code_or_by_status_403_names_trust_and_external_id() {
        for f in [
            failure(Some(403), Some("AccessDenied")),
            failure(Some(403), None),
        ] {
            let e = f.classify(&CTX);
            assert!(matches!(e, RoleCheckError::AccessDenied { .. }), "{e:?}");
            let text = e.to_string();
            assert!(
                text.contains("trust policy") && text.contains("ExternalId"),
                "{text}"
            );
            assert!(
                text.contains("arn:aws:iam::210987654321:role/byoc-worker"),
                "{text}"
            );
            assert!(text.contains("req-1"), "{text}");
            assert_eq!(e.request_id(), Some("req-1"));
        }
    }

    #[test]
    fn no_such_entity_or_404_is_role_not_found() {
        for f in [
            failure(Some(404), Some("NoSuchEntity")),
            failure(Some(404), None),
        ] {
            assert!(matches!(
                f.classify(&CTX),
                RoleCheckError::RoleNotFound { .. }
            ));
        }
    }

    #[test]
    fn expired_or_invalid_platform_tokens_are_platform_credentials() {
        for code in [
            "ExpiredToken",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
        ] {
            let e = failure(Some(403), Some(code)).classify(&CTX);
            assert!(
                matches!(e, RoleCheckError::PlatformCredentials { .. }),
                "{code}"
            );
        }
        let missing = AwsFailure {
            credentials_failed: true,
            dispatch_failed: true,
            ..AwsFailure::default()
        };
        assert!(matches!(
            missing.classify(&CTX),
            RoleCheckError::PlatformCredentials { .. }
        ));
    }

    #[test]
    fn transport_failures_are_unreachable_and_transient() {
        let refused = AwsFailure {
            dispatch_failed: true,
            message: "connection refused".into(),
            ..AwsFailure::default()
        };
        let e = refused.classify(&CTX);
        assert!(matches!(
            e,
            RoleCheckError::Unreachable {
                timed_out: false,
                ..
            }
        ));
        assert!(e.is_transient());
        let timeout = AwsFailure {
            timed_out: true,
            ..AwsFailure::default()
        };
        assert!(matches!(
            timeout.classify(&CTX),
            RoleCheckError::Unreachable {
                timed_out: true,
                ..
            }
        ));
    }

    #[test]
    fn codes_are_read_from_ec2_style_error_bodies() {
        let body = br#"<?xml version="1.0"?><ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>"#;
        assert_eq!(
            xml_tag(body, "Code").as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(
            xml_tag(body, "Message").as_deref(),
            Some("The security token included in the request is invalid.")
        );
        assert_eq!(xml_tag(b"<html>oops</html>", "Code"), None);
        assert_eq!(xml_tag(b"\xff\xfe", "Code"), None);
    }

    #[test]
    fn other_answers_keep_status_code_and_request_id() {
        let e = failure(Some(500), Some("InternalFailure")).classify(&CTX);
        assert!(matches!(
            e,
            RoleCheckError::Unexpected {
                status: Some(500),
                ..
            }
        ));
        assert!(e.is_transient());
        assert_eq!(e.request_id(), Some("req-1"));
        let e = failure(Some(400), Some("ValidationError")).classify(&CTX);
        assert!(matches!(e, RoleCheckError::InvalidRequest { .. }));
        assert!(!e.is_transient());
    }
}
