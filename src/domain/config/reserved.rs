//! Keys no user value may carry: Pulumi YAML reads a mapping whose only key starts with
//! `fn::` (compared case-insensitively) as a builtin call, including the invoke shorthand
//! `fn::<pkg>:<module>[:<name>]`, and an `fn::*Asset`/`fn::*Archive` key in any mapping as an
//! asset (pulumi-yaml `pkg/pulumiyaml/ast/expr.go`, `tryParseFunction` and
//! `tryParseAssetOrArchive`). The language has no escape for such a key (`$$` only escapes
//! interpolation), so it cannot reach a program as data: byoc refuses it wherever a user
//! supplies keys (Helm values, addon configuration, tags, labels, …).

use serde_json::Value;

/// True for a key Pulumi YAML may read as a builtin: `fn::` in any case.
pub fn is_builtin_key(key: &str) -> bool {
    key.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("fn::"))
}

/// JSON pointers (RFC 6901, from `base`) of every builtin key in `value`, at any depth.
pub fn builtin_key_pointers(value: &Value, base: &str) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, base, &mut found);
    found
}

fn walk(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                if is_builtin_key(key) {
                    found.push(here.clone());
                }
                walk(child, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The message for a refused key.
pub fn builtin_key_message(pointer: &str) -> String {
    let key = pointer.rsplit('/').next().unwrap_or(pointer);
    format!(
        "keys starting with `fn::` (any case) are Pulumi YAML builtin calls and cannot be passed \
         through as data; rename `{}`",
        key.replace("~1", "/").replace("~0", "~")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_keys_are_found_in_any_case_at_any_depth() {
        let v = json!({"a": [{"FN::ReadFile": "x"}], "fn::aws:ssm:getParameter": {},
            "b/c": {"Fn::toJSON": 1}, "fn:": 1, "xfn::y": 2, "fn": {"fn:x": 3}});
        let mut found = builtin_key_pointers(&v, "/components/x/values");
        found.sort();
        assert_eq!(
            found,
            vec![
                "/components/x/values/a/0/FN::ReadFile",
                "/components/x/values/b~1c/Fn::toJSON",
                "/components/x/values/fn::aws:ssm:getParameter",
            ]
        );
        assert!(builtin_key_message("/x/fn::y~1z").contains("`fn::y/z`"));
    }

    #[test]
    fn short_and_multibyte_keys_are_handled() {
        assert!(!is_builtin_key("fn:"));
        assert!(!is_builtin_key("é"));
        assert!(!is_builtin_key("fné:x"));
        assert!(is_builtin_key("fN::"));
    }
}
