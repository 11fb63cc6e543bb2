//! Reference checks: every `${…}` in resources, variables and outputs must name a declared
//! config key, variable or resource (or the built-in `pulumi`), and a property read on a
//! resource must be one of its outputs. `$${` is an escaped literal and is skipped.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Problems;
use super::schema::{Lookup, Schema};

/// The secret stack config key, and the one place the templates read it.
const SECRET_CONFIG: &str = crate::program::CONFIG_EXTERNAL_ID;
const SECRET_READER: &str = "resources.awsProvider.properties.assumeRoles[0].externalId";

/// Checks every reference in the program.
pub(super) fn check_references(schema: &Schema, doc: &Map<String, Value>, problems: &mut Problems) {
    let empty = Map::new();
    let section = |k: &str| doc.get(k).and_then(Value::as_object).unwrap_or(&empty);
    let mut declared: BTreeSet<&str> = BTreeSet::from(["pulumi"]);
    for key in ["config", "variables", "resources"] {
        declared.extend(section(key).keys().map(String::as_str));
    }
    let ctx = Ctx {
        schema,
        declared,
        resources: section("resources"),
    };
    for key in ["resources", "variables", "outputs"] {
        for (name, value) in section(key) {
            ctx.walk(value, &format!("{key}.{name}"), problems);
        }
    }
}

struct Ctx<'a> {
    schema: &'a Schema,
    declared: BTreeSet<&'a str>,
    resources: &'a Map<String, Value>,
}

impl Ctx<'_> {
    fn walk(&self, value: &Value, path: &str, problems: &mut Problems) {
        match value {
            Value::String(s) => {
                for expr in interpolations(s) {
                    self.check(&expr, path, problems);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(item, &format!("{path}[{i}]"), problems);
                }
            }
            Value::Object(obj) => {
                for (k, v) in obj {
                    self.walk(v, &format!("{path}.{k}"), problems);
                }
            }
            _ => {}
        }
    }

    fn check(&self, expr: &str, path: &str, problems: &mut Problems) {
        let (root, prop) = split_root(expr);
        if root == SECRET_CONFIG && path != SECRET_READER {
            problems.push(
                path,
                format!("only {SECRET_READER} may read the secret `{SECRET_CONFIG}`"),
            );
        }
        if !self.declared.contains(root) {
            problems.push(
                path,
                format!(
                    "resource, variable, or config value \"{root}\" not found (in `${{{expr}}}`)"
                ),
            );
            return;
        }
        let (Some(prop), Some(res)) = (prop, self.resources.get(root)) else {
            return;
        };
        let Some(token) = res.get("type").and_then(Value::as_str) else {
            return;
        };
        let Lookup::Found(canonical) = self.schema.resource(token) else {
            return; // the type itself is reported by the resource check
        };
        let Some(rs) = self.schema.resources.get(&canonical) else {
            return;
        };
        let implicit = prop == "urn" || (prop == "id" && !rs.component);
        if !implicit && !rs.outputs.contains_key(prop) {
            problems.push(
                path,
                format!("`{root}` ({canonical}) has no output `{prop}` (in `${{{expr}}}`)"),
            );
        }
    }
}

/// The expressions inside `${…}` in a string, skipping escaped `$${…}`.
fn interpolations(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'$' {
            i += 2; // `$$` is a literal `$`
            continue;
        }
        if bytes[i] == b'$'
            && bytes[i + 1] == b'{'
            && let Some(end) = s[i + 2..].find('}')
        {
            out.push(s[i + 2..i + 2 + end].to_owned());
            i += 3 + end;
            continue;
        }
        i += 1;
    }
    out
}

/// `cluster.vpcConfig.x` → (`cluster`, `vpcConfig`); `azs[0]` → (`azs`, None);
/// `res["key"]` → (`res`, `key`).
fn split_root(expr: &str) -> (&str, Option<&str>) {
    let expr = expr.trim();
    let end = expr.find(['.', '[']).unwrap_or(expr.len());
    let (root, rest) = expr.split_at(end);
    let prop = if let Some(rest) = rest.strip_prefix('.') {
        Some(&rest[..rest.find(['.', '[']).unwrap_or(rest.len())])
    } else if let Some(rest) = rest.strip_prefix("[\"") {
        rest.find("\"]").map(|e| &rest[..e])
    } else {
        None
    };
    (root, prop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_interpolations_and_skips_escapes() {
        assert_eq!(interpolations("a ${x.y} b $${z} ${w}"), vec!["x.y", "w"]);
        assert!(interpolations("$${only}").is_empty());
    }

    #[test]
    fn splits_roots_and_properties() {
        assert_eq!(
            split_root("cluster.vpcConfig.x"),
            ("cluster", Some("vpcConfig"))
        );
        assert_eq!(split_root("azs[0]"), ("azs", None));
        assert_eq!(split_root("res[\"key\"]"), ("res", Some("key")));
        assert_eq!(split_root("vpc"), ("vpc", None));
    }
}
