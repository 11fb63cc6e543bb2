//! Builtins: a program may call only the builtins byoc's own templates use, each as the only
//! key of its mapping, spelled as the templates spell it. Pulumi YAML reads any `fn::` key in
//! any case as a builtin (or, unknown, warns and keeps it as data; see
//! `domain::config::reserved`), so every other `fn::` key is refused: user data never carries
//! one, and a template that starts using a new builtin must add it here on purpose.

use serde_json::Value;

use super::Problems;
use crate::domain::config::reserved::is_builtin_key;

/// The builtins `infra-yaml/` uses (a test in `render` keeps this list equal to the templates).
pub const TEMPLATE_BUILTINS: &[&str] = &["fn::invoke", "fn::secret", "fn::toJSON"];

/// Reports every `fn::` key that is not a template builtin, or not alone in its mapping.
pub(super) fn check_builtins(value: &Value, path: &str, problems: &mut Problems) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if is_builtin_key(key) {
                    if !TEMPLATE_BUILTINS.contains(&key.as_str()) {
                        problems.push(
                            &here,
                            format!(
                                "`{key}` is not a builtin byoc's templates use (allowed: {})",
                                TEMPLATE_BUILTINS.join(", ")
                            ),
                        );
                    } else if map.len() != 1 {
                        problems.push(
                            &here,
                            format!("`{key}` must be the only key of its mapping"),
                        );
                    }
                }
                check_builtins(child, &here, problems);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_builtins(child, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(v: Value) -> Vec<String> {
        let mut p = Problems::default();
        check_builtins(&v, "", &mut p);
        p.0.into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn only_template_builtins_alone_in_their_mapping_pass() {
        assert!(
            problems(json!({"a": {"fn::toJSON": {"x": 1}}, "b": [{"fn::secret": "s"}]})).is_empty()
        );
        let found = problems(json!({
            "a": {"fn::readFile": "aws-config"},
            "b": [{"FN::toJSON": 1}],
            "c": {"fn::aws:ssm:getParameter": {"name": "x"}},
            "d": {"fn::toJSON": 1, "other": 2},
            "e": {"x": {"fn::fileAsset": "f", "y": 1}},
        }));
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].starts_with("a.fn::readFile: `fn::readFile` is not a builtin"));
        assert!(found[1].starts_with("b[0].FN::toJSON"));
        assert!(found[3].contains("must be the only key"));
    }
}
