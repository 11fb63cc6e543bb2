//! User values reach a program as data only. Pulumi YAML interpolates every string, keys
//! included, reading `${` as the start of an expression and `$$` as a literal `$`
//! (pulumi-yaml `pkg/pulumiyaml/ast/interpolation.go`, `parseInterpolate`); doubling every `$`
//! is therefore the complete escape, and the one pulumi-yaml's own printer uses
//! (`InterpolateExpr.String` in `ast/expr.go`). Escaping only `${` is not: `$${x}` would
//! become `$$${x}`, which reads as `$` followed by the expression `x`. Builtin keys (`fn::…`)
//! have no escape and are refused (see `domain::config::reserved`).

use serde_json::{Map, Value};

use crate::domain::config::reserved::is_builtin_key;

/// `value` with every `$` doubled in every string and key, or the path (JSON pointer from
/// `at`) of the first key Pulumi YAML would read as a builtin.
pub(crate) fn as_data(value: &Value, at: &str) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(escape_str(s)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| as_data(v, &format!("{at}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                if is_builtin_key(k) {
                    return Err(here);
                }
                out.insert(escape_str(k), as_data(v, &here)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn escape_str(s: &str) -> String {
    s.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_dollar_is_doubled_keys_included() {
        let v = json!({"${k}": ["$${x}", "a$b", 1, null], "plain": "no dollars"});
        assert_eq!(
            as_data(&v, "").unwrap(),
            json!({"$${k}": ["$$$${x}", "a$$b", 1, null], "plain": "no dollars"})
        );
    }

    #[test]
    fn builtin_keys_are_refused_with_their_path() {
        let v = json!({"a": [{"b": {"Fn::ReadFile": "aws-config"}}]});
        assert_eq!(
            as_data(&v, "/values").unwrap_err(),
            "/values/a/0/b/Fn::ReadFile"
        );
    }
}
