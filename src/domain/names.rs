//! Names that reach file paths, CLI arguments and stack names: tenant slugs, environment
//! names and the stack name built from both. Each is parsed once and is valid forever after.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a name was refused; the message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub(crate) &'static str);

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The validated name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_newtype;

/// A tenant slug: 3–50 characters of lowercase letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);
string_newtype!(Slug);

/// In the OpenAPI document: a string with the rule [`Slug::parse`] checks, as a pattern.
impl utoipa::PartialSchema for Slug {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$"))
            .description(Some(
                "A tenant slug: 3–50 lowercase letters, digits and inner hyphens.",
            ))
            .into()
    }
}
impl utoipa::ToSchema for Slug {}

impl Slug {
    /// Parses a slug, naming the rule it breaks.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if !(3..=50).contains(&s.len()) {
            return Err(NameError("must be 3 to 50 characters long"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(NameError(
                "may only contain lowercase letters, digits and hyphens",
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(NameError("must start and end with a letter or digit"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An environment name: 1–20 characters, a lowercase letter first, then lowercase letters,
/// digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);
string_newtype!(EnvName);

impl EnvName {
    /// Parses an environment name, naming the rule it breaks.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if !(1..=20).contains(&s.len()) {
            return Err(NameError("must be 1 to 20 characters long"));
        }
        if !s.as_bytes()[0].is_ascii_lowercase() {
            return Err(NameError("must start with a lowercase letter"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(NameError(
                "may only contain lowercase letters, digits and hyphens",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Characters refused in free-text names even though they are printable elsewhere: the
/// bidirectional embeddings, overrides and isolates (a name could display reversed, "Trojan
/// Source" style), zero-width characters and line separators (invisible, or breaking a line
/// in a log or a terminal).
const INVISIBLE_OR_BIDI: &[char] = &[
    '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}',
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{FEFF}',
];

/// The OpenAPI pattern of a display name: at least one non-space character, and none of the
/// characters [`display_name`] refuses (control characters, bidi and invisible ones).
pub const DISPLAY_NAME_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*[^\s\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF][^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*$";

/// A free-text display name (tenant and token names): trimmed, 1 to 100 characters, without
/// control characters (C0, DEL, C1: they break logs and terminals), bidirectional overrides
/// or invisible characters (they make a name read differently from what it is).
pub fn display_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(NameError("must be 1 to 100 characters long"));
    }
    if name.chars().any(char::is_control) {
        return Err(NameError(
            "must not contain control characters (line breaks, tabs, escapes)",
        ));
    }
    if name.chars().any(|c| INVISIBLE_OR_BIDI.contains(&c)) {
        return Err(NameError(
            "must not contain bidirectional overrides or invisible characters (U+200B-U+200F, \
             U+202A-U+202E, U+2066-U+2069, U+2028, U+2029, U+061C, U+FEFF)",
        ));
    }
    Ok(name.to_owned())
}

/// The Pulumi stack of one tenant environment: `<slug>-<env>`.
///
/// Built only from a [`Slug`] and an [`EnvName`], so it always satisfies Pulumi's stack-name
/// rule (≤ 100 characters of `[A-Za-z0-9_.-]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackName(String);
string_newtype!(StackName);

impl StackName {
    /// The stack of `env` for tenant `slug`.
    pub fn new(slug: &Slug, env: &EnvName) -> Self {
        Self(format!("{slug}-{env}"))
    }

    /// Parses a stack name read back from storage or a CLI (Pulumi's own rule).
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() || s.len() > 100 {
            return Err(NameError("must be 1 to 100 characters long"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(NameError(
                "may only contain alphanumerics, hyphens, underscores or periods",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("acme").is_ok());
        assert!(Slug::parse("acme-corp-2").is_ok());
        assert!(Slug::parse("ab").is_err(), "too short");
        assert!(Slug::parse(&"a".repeat(51)).is_err(), "too long");
        assert!(Slug::parse("Acme").is_err(), "uppercase");
        assert!(Slug::parse("-acme").is_err(), "leading hyphen");
        assert!(Slug::parse("acme-").is_err(), "trailing hyphen");
        assert!(Slug::parse("ac/me").is_err(), "path separator");
        assert!(Slug::parse("ac me").is_err(), "space");
    }

    #[test]
    fn env_name_rules() {
        assert!(EnvName::parse("prod").is_ok());
        assert!(EnvName::parse("p").is_ok());
        assert!(EnvName::parse("eu-west-2").is_ok());
        assert!(EnvName::parse("").is_err());
        assert!(EnvName::parse("1prod").is_err(), "digit first");
        assert!(EnvName::parse(&"a".repeat(21)).is_err());
        assert!(EnvName::parse("prod_1").is_err());
        assert!(EnvName::parse("..").is_err());
    }

    #[test]
    fn display_names_refuse_control_bidi_and_invisible_characters() {
        assert_eq!(display_name("  Acme Corp ").unwrap(), "Acme Corp");
        assert_eq!(
            display_name("Société Générale 日本").unwrap(),
            "Société Générale 日本"
        );
        for bad in [
            "",
            "   ",
            "Acme\nCorp",
            "Acme\tCorp",
            "Acme\u{1b}[31mCorp",
            "Acme\u{7f}",
            "Ac\u{85}me",
            "Acme\u{202E}proC",
            "Acme\u{2066}x\u{2069}",
            "Ac\u{200B}me",
            "\u{FEFF}Acme",
        ] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
        assert!(display_name(&"a".repeat(101)).is_err());
        assert!(
            display_name(&"é".repeat(100)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn the_display_name_pattern_agrees_with_the_check() {
        let re = regex::Regex::new(DISPLAY_NAME_PATTERN).unwrap();
        for s in ["Acme", " Acme ", "日本"] {
            assert!(re.is_match(s), "{s:?}");
        }
        for s in ["", "  ", "a\nb", "a\u{202E}b", "a\u{85}b", "\u{FEFF}"] {
            assert!(!re.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn stack_name_joins_slug_and_env() {
        let s = StackName::new(
            &Slug::parse("acme").unwrap(),
            &EnvName::parse("prod").unwrap(),
        );
        assert_eq!(s.as_str(), "acme-prod");
        assert!(StackName::parse(s.as_str()).is_ok());
        assert!(StackName::parse("a/b").is_err());
    }

    proptest! {
        #[test]
        fn valid_slugs_always_parse(s in "[a-z0-9][a-z0-9-]{1,48}[a-z0-9]") {
            prop_assert!(Slug::parse(&s).is_ok());
        }

        #[test]
        fn every_stack_name_from_valid_parts_is_a_valid_pulumi_name(
            slug in "[a-z0-9][a-z0-9-]{1,48}[a-z0-9]", env in "[a-z][a-z0-9-]{0,19}"
        ) {
            let stack = StackName::new(&Slug::parse(&slug).unwrap(), &EnvName::parse(&env).unwrap());
            prop_assert!(StackName::parse(stack.as_str()).is_ok());
        }
    }
}
