//! The rule every external ID follows: 10–128 characters of `[A-Za-z0-9_-]`, the same
//! `AllowedPattern` the CloudFormation template enforces, so it is also safe in an INI file,
//! a URL query and a shell word.

use secrecy::{ExposeSecret, SecretString};

/// An external ID that breaks the template's rule (the value itself is never shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("external ID must be 10 to 128 characters of letters, digits, '_' and '-'")]
pub struct ExternalIdError;

/// Checks `id` against the template's `ExternalId` parameter rule.
pub fn check_external_id(id: &SecretString) -> Result<(), ExternalIdError> {
    let s = id.expose_secret();
    let ok = (10..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or(ExternalIdError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_id_follows_the_template_pattern() {
        let ok = |s: &str| check_external_id(&SecretString::from(s)).is_ok();
        assert!(ok("abcdefghij"));
        assert!(ok("A-b_9".repeat(25).as_str()));
        assert!(!ok("short"));
        assert!(!ok(&"a".repeat(129)));
        assert!(!ok("has space in it"));
        assert!(!ok("new\nline-here"));
        assert!(ok(crate::crypto::generate_external_id().expose_secret()));
    }
}
