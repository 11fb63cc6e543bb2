//! Property checks: names and required properties at every nesting level (following the
//! schema's nested input types), and `fn::invoke` calls (function, arguments, options,
//! `return`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Problems;
use super::schema::{Lookup, Prop, Schema};

/// Options an invoke accepts.
const INVOKE_OPTIONS: &[&str] = &[
    "dependsOn",
    "parent",
    "provider",
    "version",
    "pluginDownloadURL",
];

/// Checks an object's keys against `inputs` and that required inputs are present.
pub(super) fn check_object(
    schema: &Schema,
    obj: &Map<String, Value>,
    inputs: &BTreeMap<String, Prop>,
    path: &str,
    owner: &str,
    problems: &mut Problems,
) {
    for (key, value) in obj {
        let child = format!("{path}.{key}");
        match inputs.get(key) {
            Some(prop) => check_value(schema, value, &prop.ty, &child, problems),
            None => problems.push(
                &child,
                format!(
                    "property `{key}` does not exist on `{owner}`; existing properties are: {}",
                    existing(inputs)
                ),
            ),
        }
    }
    for (key, prop) in inputs {
        if prop.required && !obj.contains_key(key) {
            problems.push(
                path,
                format!("missing required property `{key}` of `{owner}`"),
            );
        }
    }
}

fn existing(inputs: &BTreeMap<String, Prop>) -> String {
    let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    if names.len() > 8 {
        format!("{}, and {} others", names[..8].join(", "), names.len() - 8)
    } else {
        names.join(", ")
    }
}

/// Is this value a builtin call (`{fn::x: …}`)?
fn is_builtin(value: &Value) -> bool {
    matches!(value, Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.to_ascii_lowercase().starts_with("fn::")))
}

/// Splits a type string into its union alternatives, unwrapping `(a | b)[]`.
fn alternatives(ty: &str) -> Vec<String> {
    let ty = ty.trim();
    if let Some(inner) = ty.strip_prefix('(').and_then(|t| t.strip_suffix(")[]")) {
        return inner
            .split(" | ")
            .map(|a| format!("{}[]", a.trim()))
            .collect();
    }
    ty.split(" | ").map(|a| a.trim().to_owned()).collect()
}

fn check_value(schema: &Schema, value: &Value, ty: &str, path: &str, problems: &mut Problems) {
    if is_builtin(value) {
        return; // its result is only known at run time; invokes are checked separately
    }
    let alts = alternatives(ty);
    check_shape(schema, value, &alts, path, problems);
    match value {
        Value::Array(items) => {
            if let Some(elem) = alts.iter().find_map(|a| a.strip_suffix("[]")) {
                for (i, item) in items.iter().enumerate() {
                    check_value(schema, item, elem, &format!("{path}[{i}]"), problems);
                }
            }
        }
        Value::Object(obj) => {
            if let Some((name, fields)) = alts
                .iter()
                .find_map(|a| schema.types.get(a).map(|f| (a, f)))
            {
                check_object(schema, obj, fields, path, name, problems);
            } else if let Some(elem) = alts
                .iter()
                .find_map(|a| a.strip_prefix("map<").and_then(|t| t.strip_suffix('>')))
            {
                for (k, v) in obj {
                    check_value(schema, v, elem, &format!("{path}.{k}"), problems);
                }
            }
        }
        _ => {}
    }
}

/// The broad shape of a type alternative or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
    Scalar,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Object => "an object",
            Shape::Array => "a list",
            Shape::Scalar => "a scalar",
        }
    }
}

/// The shape a type alternative expects; `None` when the type string is not understood
/// (then nothing is checked).
fn expected_shape(schema: &Schema, alt: &str) -> Option<Shape> {
    if alt.ends_with("[]") {
        Some(Shape::Array)
    } else if alt.starts_with("map<") || schema.types.contains_key(alt) {
        Some(Shape::Object)
    } else if matches!(alt, "string" | "number" | "boolean")
        || alt.starts_with('"')
        || alt.starts_with("enums.")
    {
        Some(Shape::Scalar)
    } else {
        None
    }
}

/// Reports a value whose shape no alternative of its type accepts (a list where an object
/// is expected, a string where a nested type is expected, …). Interpolations are skipped:
/// `${x}` alone can stand for any shape.
fn check_shape(
    schema: &Schema,
    value: &Value,
    alts: &[String],
    path: &str,
    problems: &mut Problems,
) {
    let actual = match value {
        Value::Object(_) => Shape::Object,
        Value::Array(_) => Shape::Array,
        Value::String(s) if s.trim_start().starts_with("${") && s.trim_end().ends_with('}') => {
            return;
        }
        Value::Null => return,
        _ => Shape::Scalar,
    };
    let mut expected = Vec::new();
    for alt in alts {
        match expected_shape(schema, alt) {
            Some(shape) => expected.push(shape),
            None => return,
        }
    }
    if !expected.is_empty() && !expected.contains(&actual) {
        problems.push(
            path,
            format!(
                "expected {} (type `{}`), found {}",
                expected[0].name(),
                alts.join(" | "),
                actual.name()
            ),
        );
    }
}

/// Finds every `fn::invoke` in the document and checks it against the schema.
pub(super) fn check_invokes(
    schema: &Schema,
    resources: &Map<String, Value>,
    value: &Value,
    path: &str,
    problems: &mut Problems,
) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.eq_ignore_ascii_case("fn::invoke") {
                    check_invoke(schema, resources, child, &child_path, problems);
                }
                check_invokes(schema, resources, child, &child_path, problems);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_invokes(schema, resources, item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

fn check_invoke(
    schema: &Schema,
    resources: &Map<String, Value>,
    call: &Value,
    path: &str,
    problems: &mut Problems,
) {
    let Value::Object(call) = call else {
        problems.push(
            path,
            "fn::invoke takes a mapping {function, arguments, options, return}",
        );
        return;
    };
    for key in call.keys() {
        if !matches!(
            key.as_str(),
            "function" | "arguments" | "options" | "return"
        ) {
            problems.push(path, format!("fn::invoke has invalid key `{key}`"));
        }
    }
    let Some(token) = call.get("function").and_then(Value::as_str) else {
        problems.push(path, "fn::invoke needs a `function`");
        return;
    };
    let canonical = match schema.function(token) {
        Lookup::Found(t) => t,
        Lookup::OutsideSubset(t) => {
            problems.push(
                &format!("{path}.function"),
                format!("function `{t}` is outside the vendored schema subset"),
            );
            return;
        }
        Lookup::Unknown => {
            problems.push(
                &format!("{path}.function"),
                format!("unable to find function `{token}`"),
            );
            return;
        }
    };
    let package = canonical.split(':').next().unwrap_or_default();
    super::providers::check_invoke_provider(resources, call, package, path, problems);
    let Some(func) = schema.functions.get(&canonical) else {
        return;
    };
    let empty = Map::new();
    let args = match call.get("arguments") {
        Some(Value::Object(a)) => a,
        Some(_) => return,
        None => &empty,
    };
    check_object(
        schema,
        args,
        &func.inputs,
        &format!("{path}.arguments"),
        &canonical,
        problems,
    );
    if let Some(Value::Object(options)) = call.get("options") {
        for key in options.keys() {
            if !INVOKE_OPTIONS.contains(&key.as_str()) {
                problems.push(
                    &format!("{path}.options"),
                    format!("`{key}` is not an invoke option"),
                );
            }
        }
    }
    if let Some(ret) = call.get("return").and_then(Value::as_str)
        && !func.outputs.contains_key(ret)
    {
        problems.push(
            &format!("{path}.return"),
            format!("`{canonical}` has no result `{ret}`"),
        );
    }
}
