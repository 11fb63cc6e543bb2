//! `SessionName`: the STS role session name, which names the operation in the tenant's
//! CloudTrail (`byoc-verify-<slug>`, `byoc-up-<stack>` …). Validated because it reaches AWS
//! requests and the shared-config file.

use std::fmt;

use crate::domain::names::Slug;

/// A role session name: 2–64 characters of letters, digits and `+=,.@_-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionName(String);

/// A session name that breaks the STS rule; the message states it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid role session name: must be 2 to 64 characters of letters, digits and +=,.@_-")]
pub struct SessionNameError;

impl SessionName {
    /// Parses a session name.
    pub fn parse(s: &str) -> Result<Self, SessionNameError> {
        let ok = (2..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        ok.then(|| Self(s.to_owned())).ok_or(SessionNameError)
    }

    /// `byoc-verify-<slug>`: the session of a role verification.
    pub fn for_verify(slug: &Slug) -> Self {
        Self::for_operation("verify", slug.as_str())
    }

    /// `byoc-<action>-<subject>`, cut to 64 characters; characters STS refuses become `-`.
    pub fn for_operation(action: &str, subject: &str) -> Self {
        let mut name: String = format!("byoc-{action}-{subject}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        name.truncate(64);
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_session_names_the_slug() {
        let slug = Slug::parse("acme-corp").unwrap();
        assert_eq!(
            SessionName::for_verify(&slug).as_str(),
            "byoc-verify-acme-corp"
        );
    }

    #[test]
    fn operation_names_are_sanitized_and_capped_at_64() {
        let n = SessionName::for_operation("up", &"x/y".repeat(40));
        assert_eq!(n.as_str().len(), 64);
        assert!(SessionName::parse(n.as_str()).is_ok());
        assert!(n.as_str().starts_with("byoc-up-x-y"));
    }

    #[test]
    fn parse_enforces_the_sts_rule() {
        assert!(SessionName::parse("ok").is_ok());
        assert!(SessionName::parse("a").is_err());
        assert!(SessionName::parse("has space").is_err());
        assert!(SessionName::parse(&"a".repeat(65)).is_err());
    }
}
