//! Labels on tenants and environments (`tier=gold`, `ring=canary`) and the selectors that
//! pick them out of a list. Keys and values follow Kubernetes' rules, so operators can reuse
//! the conventions they know:
//! <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set>.
//! Selectors are the equality-based subset of Kubernetes' syntax (`k=v`, `k==v`, `k!=v`, `k`,
//! `!k`, comma meaning AND); the set-based forms (`in`, `notin`) are not supported.

use std::collections::BTreeMap;

use super::ValidationErrors;
use super::config::resolve::checks::{label_key as check_key, label_value as check_value};

/// At most this many labels on one tenant or environment.
pub const MAX_LABELS: usize = 64;

/// The key, value and selector rules as regular expressions, for the OpenAPI document
/// (a test below checks they agree with the parsers).
pub mod patterns {
    const NAME: &str = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?";
    const DNS_LABEL: &str = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
    /// What `str::trim` removes, in ASCII (JSON Schema's `\s` differs between engines).
    const WS: &str = r"[ \t\n\r\f\v]*";

    fn key_body() -> String {
        format!(r"({DNS_LABEL}(\.{DNS_LABEL})*/)?{NAME}")
    }

    /// A label key.
    pub fn key() -> String {
        format!("^{}$", key_body())
    }

    /// A label value (may be empty).
    pub fn value() -> String {
        format!("^({NAME})?$")
    }

    /// A selector: comma-separated `k=v`, `k==v`, `k!=v`, `k`, `!k`; blank selects all.
    pub fn selector() -> String {
        let key = key_body();
        let part = format!("(!{WS}{key}|{key}({WS}(!=|==|=){WS}({NAME})?)?)");
        format!("^{WS}({part}({WS},{WS}{part})*)?{WS}$")
    }
}

/// A validated label set, ordered by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Labels(BTreeMap<String, String>);

impl Labels {
    /// Validates every key and value; errors name the field as `<field>.<key>`.
    pub fn parse(field: &str, raw: BTreeMap<String, String>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if raw.len() > MAX_LABELS {
            errors.push(field, format!("at most {MAX_LABELS} labels"));
        }
        for (key, value) in &raw {
            if let Err(e) = check_key(key) {
                errors.push(format!("{field}.{key}"), e);
            }
            if let Err(e) = check_value(value) {
                errors.push(format!("{field}.{key}"), e);
            }
        }
        errors.into_result(Self(raw))
    }

    /// Reads labels as stored (JSON object); not re-validated.
    pub fn from_stored(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The stored form (JSON object).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The labels as a map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    /// Like Kubernetes: also true when the key is absent.
    NotEquals(String, String),
    Exists(String),
    Absent(String),
}

/// A parsed label selector: every requirement must hold. The empty selector matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

/// Why a selector did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector '{selector}': {reason}")]
pub struct SelectorError {
    /// The selector as given.
    pub selector: String,
    /// What is wrong.
    pub reason: String,
}

impl Selector {
    /// Parses `ring=canary,tier!=free,region,!legacy`.
    pub fn parse(raw: &str) -> Result<Self, SelectorError> {
        let fail = |reason: String| SelectorError {
            selector: raw.to_owned(),
            reason,
        };
        let mut out = Vec::new();
        if raw.trim().is_empty() {
            return Ok(Self(out));
        }
        for part in raw.split(',') {
            let part = part.trim();
            let req = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(k.trim().to_owned())
            } else {
                Requirement::Exists(part.to_owned())
            };
            let (key, value) = match &req {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, Some(v)),
                Requirement::Exists(k) | Requirement::Absent(k) => (k, None),
            };
            check_key(key).map_err(|e| fail(format!("'{part}': {e}")))?;
            if let Some(v) = value {
                check_value(v).map_err(|e| fail(format!("'{part}': {e}")))?;
            }
            out.push(req);
        }
        Ok(Self(out))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v.as_str()),
            Requirement::Exists(k) => labels.get(k).is_some(),
            Requirement::Absent(k) => labels.get(k).is_none(),
        })
    }

    /// True for the empty selector.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::parse(
            "labels",
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn keys_and_values_follow_kubernetes_rules() {
        labels(&[
            ("tier", "gold"),
            ("example.com/ring", "canary"),
            ("a", ""),
            ("A_b.c-d", "X.y_z-1"),
        ]);
        for (k, v) in [
            ("", "x"),
            ("-a", "x"),
            ("a-", "x"),
            ("Bad.Prefix/a", "x"),
            ("/a", "x"),
            ("a/b/c", "x"),
            ("ok", "-bad"),
            ("ok", "has space"),
            (&"k".repeat(64), "x"),
            ("ok", &"v".repeat(64)),
        ] {
            let err = Labels::parse("labels", [(k.to_owned(), v.to_owned())].into()).unwrap_err();
            assert_eq!(err.0[0].field, format!("labels.{k}"), "{k}={v}");
        }
    }

    #[test]
    fn selectors_combine_equality_inequality_and_existence() {
        let gold_canary = labels(&[("tier", "gold"), ("ring", "canary")]);
        let free = labels(&[("tier", "free")]);
        let none = labels(&[]);
        let cases = [
            ("ring=canary", [true, false, false]),
            ("ring==canary", [true, false, false]),
            ("tier!=free", [true, false, true]),
            ("ring=canary,tier!=free", [true, false, false]),
            ("tier", [true, true, false]),
            ("!ring", [false, true, true]),
            ("", [true, true, true]),
            (" tier = gold , ring ", [true, false, false]),
        ];
        for (sel, want) in cases {
            let s = Selector::parse(sel).unwrap();
            let got = [&gold_canary, &free, &none].map(|l| s.matches(l));
            assert_eq!(got, want, "{sel}");
        }
    }

    #[test]
    fn invalid_selectors_name_the_bad_part() {
        // An empty value is a valid value: `ring=` selects an empty label.
        assert!(Selector::parse("ring=").is_ok());
        for sel in ["=x", "a b", "ring=can ary", "tier in (gold)", "!", "a,,b"] {
            let err = Selector::parse(sel).unwrap_err();
            assert_eq!(err.selector, sel);
        }
    }

    #[test]
    fn document_patterns_agree_with_the_parsers() {
        let key = regex::Regex::new(&patterns::key()).unwrap();
        let value = regex::Regex::new(&patterns::value()).unwrap();
        let selector = regex::Regex::new(&patterns::selector()).unwrap();
        let words = [
            "",
            "a",
            "tier",
            "-a",
            "a-",
            "a_b.c",
            "Ab9",
            "example.com/a",
            "Example.com/a",
            "a/b/c",
            "/a",
            "a/",
            "x.-y/a",
            "ring canary",
            "é",
            &"k".repeat(63),
            &"k".repeat(64),
        ];
        for w in words {
            assert_eq!(key.is_match(w), check_key(w).is_ok(), "key {w:?}");
            assert_eq!(value.is_match(w), check_value(w).is_ok(), "value {w:?}");
        }
        let selectors = [
            "",
            "  ",
            "ring=canary",
            "ring==canary",
            "tier!=free",
            "ring=canary,tier!=free",
            "tier",
            "!ring",
            " tier = gold , ring ",
            "ring=",
            "! ring",
            "=x",
            "a b",
            "ring=can ary",
            "tier in (gold)",
            "!",
            "a,,b",
            "a=!b",
            "!a=b",
            "a!=b=c",
            ",",
            "example.com/a=b",
        ];
        for sel in selectors {
            assert_eq!(
                selector.is_match(sel),
                Selector::parse(sel).is_ok(),
                "selector {sel:?}"
            );
        }
    }
}
