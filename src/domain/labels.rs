//! Labels on tenants and environments (`tier=gold`, `ring=canary`) and the selectors that
//! pick them out of a list. Keys and values follow Kubernetes' rules, so operators can reuse
//! the conventions they know:
//! <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set>.
//! Selectors follow Kubernetes' syntax and semantics: equality-based (`k=v`, `k==v`, `k!=v`),
//! set-based (`k in (a,b)`, `k notin (a,b)`), existence (`k`, `!k`), comma meaning AND
//! (<https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors>;
//! the parser of `k8s.io/apimachinery/pkg/labels/selector.go` is the reference for the edge
//! cases: `k in ()` and empty members mean the empty value).

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
    /// At least one of those (between a key and `in`/`notin`).
    const WS1: &str = r"[ \t\n\r\f\v]+";

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

    /// A selector: comma-separated `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
    /// `k`, `!k`; blank selects all.
    pub fn selector() -> String {
        let key = key_body();
        let set = format!(r"\({WS}({NAME})?({WS},{WS}({NAME})?)*{WS}\)");
        let part = format!(
            "(!{WS}{key}|{key}({WS}(!=|==|=){WS}({NAME})?)?|{key}{WS1}(in|notin){WS}{set})"
        );
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
    /// The key is present with one of the values.
    In(String, Vec<String>),
    /// Like Kubernetes: also true when the key is absent.
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A parsed label selector: every requirement must hold. The empty selector matches all.
/// Rollouts and lists share it: parse with [`Selector::parse`] (or
/// [`Selector::parse_field`] inside a request body), test with [`Selector::matches`].
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

/// The whitespace selectors allow around their parts (ASCII, as the document's pattern says).
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b')
}

fn trim(s: &str) -> &str {
    s.trim_matches(is_ws)
}

/// Splits at the commas outside parentheses; `None` when parentheses do not pair up.
fn split_parts(raw: &str) -> Option<Vec<&str>> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0u32, 0);
    for (i, c) in raw.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            ')' if depth == 1 => depth = 0,
            '(' | ')' => return None,
            ',' if depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    (depth == 0).then_some(parts)
}

/// `key in (a,b)` / `key notin (a,b)`: `None` when `part` is not of that form.
fn set_requirement(part: &str) -> Option<Result<Requirement, String>> {
    let open = part.find('(')?;
    let head = part[..open].trim_end_matches(is_ws);
    let Some(inner) = part[open + 1..].strip_suffix(')') else {
        return Some(Err("expected ')' at the end".to_owned()));
    };
    let (key, op) = match head.rsplit_once(is_ws) {
        Some((key, op @ ("in" | "notin"))) => (trim(key), op),
        _ => return Some(Err("expected `key in (…)` or `key notin (…)`".to_owned())),
    };
    // As Kubernetes: `()` and empty members stand for the empty value.
    let mut values: Vec<String> = inner.split(',').map(|v| trim(v).to_owned()).collect();
    values.sort();
    values.dedup();
    Some(Ok(if op == "in" {
        Requirement::In(key.to_owned(), values)
    } else {
        Requirement::NotIn(key.to_owned(), values)
    }))
}

impl Selector {
    /// Parses `ring=canary,tier!=free,region in (eu,us),!legacy`.
    pub fn parse(raw: &str) -> Result<Self, SelectorError> {
        let fail = |reason: String| SelectorError {
            selector: raw.to_owned(),
            reason,
        };
        let mut out = Vec::new();
        if trim(raw).is_empty() {
            return Ok(Self(out));
        }
        let parts = split_parts(raw).ok_or_else(|| fail("unbalanced parentheses".to_owned()))?;
        for part in parts {
            let part = trim(part);
            let req = if let Some(set) = set_requirement(part) {
                set.map_err(|e| fail(format!("'{part}': {e}")))?
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(trim(k).to_owned(), trim(v).to_owned())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(trim(k).to_owned(), trim(v).to_owned())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(trim(k).to_owned(), trim(v).to_owned())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(trim(k).to_owned())
            } else {
                Requirement::Exists(part.to_owned())
            };
            let (key, values) = match &req {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => {
                    (k, std::slice::from_ref(v))
                }
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => (k, vs.as_slice()),
                Requirement::Exists(k) | Requirement::Absent(k) => (k, &[][..]),
            };
            check_key(key).map_err(|e| fail(format!("'{part}': {e}")))?;
            for v in values {
                check_value(v).map_err(|e| fail(format!("'{part}': {e}")))?;
            }
            out.push(req);
        }
        Ok(Self(out))
    }

    /// [`Selector::parse`] for a selector inside a request body: the error names `field`.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, ValidationErrors> {
        Self::parse(raw).map_err(|e| {
            let mut errors = ValidationErrors::new();
            errors.push(field, e.to_string());
            errors
        })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| vs.iter().all(|v| v != l)),
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
            ("tier in (gold,silver)", [true, false, false]),
            ("tier in (free)", [false, true, false]),
            ("tier notin (free)", [true, false, true]),
            ("tier notin (gold, free)", [false, false, true]),
            ("tier in (gold),ring notin (canary)", [false, false, false]),
            ("ring in (canary), tier", [true, false, false]),
            ("tier in(gold)", [true, false, false]),
            // The empty value, as Kubernetes reads `()` and empty members.
            ("tier in ()", [false, false, false]),
            ("tier notin (,free)", [true, false, true]),
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
        for sel in [
            "=x",
            "a b",
            "ring=can ary",
            "tier in gold",
            "tier in (gold",
            "tier in (gold))",
            "tier in ((gold))",
            "tierin (gold)",
            "tier = (gold)",
            "tier in (go ld)",
            "tier of (gold)",
            "!",
            "a,,b",
        ] {
            let err = Selector::parse(sel).unwrap_err();
            assert_eq!(err.selector, sel);
        }
    }

    #[test]
    fn a_selector_in_a_body_names_its_field() {
        let err = Selector::parse_field("target.selector", "tier in (gold").unwrap_err();
        assert_eq!(err.0[0].field, "target.selector");
        assert!(err.0[0].message.contains("parentheses"), "{err:?}");
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
            "tier in (gold,silver)",
            "tier notin (gold, silver)",
            "tier in(gold)",
            "tier in ()",
            "tier in (,)",
            "tier in (a,,b)",
            " tier  notin  ( a , b ) , ring ",
            "in in (in)",
            "tier in gold",
            "tier in (gold",
            "tier in (gold))",
            "tier in ((gold))",
            "tierin (gold)",
            "tier = (gold)",
            "tier in (go ld)",
            "tier of (gold)",
            "tier in (gold)x",
            "(gold)",
            "tier notin",
            "!tier in (a)",
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
