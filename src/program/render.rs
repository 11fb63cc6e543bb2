//! Renders the `infra-yaml/` templates with the context from `context.rs`, parses each into
//! YAML, merges them into one program (refusing duplicate names) and serialises it with
//! sorted keys, so the same input always gives byte-identical text.

use minijinja::{Environment, Error, ErrorKind, Value as JinjaValue};
use serde_json::{Map, Value};

use super::escape::as_data;
use super::validate::check_document;
use super::{Program, ProgramError, RenderError, RenderInput, context, emit};
use crate::domain::config::reserved::builtin_key_pointers;

/// The templates, in merge order (order matters only for error messages).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "providers.yaml",
        include_str!("../../infra-yaml/providers.yaml"),
    ),
    (
        "networking.yaml",
        include_str!("../../infra-yaml/networking.yaml"),
    ),
    ("iam.yaml", include_str!("../../infra-yaml/iam.yaml")),
    ("eks.yaml", include_str!("../../infra-yaml/eks.yaml")),
    ("addons.yaml", include_str!("../../infra-yaml/addons.yaml")),
    (
        "karpenter.yaml",
        include_str!("../../infra-yaml/karpenter.yaml"),
    ),
    (
        "bootstrap.yaml",
        include_str!("../../infra-yaml/bootstrap.yaml"),
    ),
    (
        "outputs.yaml",
        include_str!("../../infra-yaml/outputs.yaml"),
    ),
];

/// Top-level sections merged across templates.
const SECTIONS: &[&str] = &["config", "variables", "resources", "outputs"];

/// Renders one Pulumi YAML program for the input.
pub fn render(input: &RenderInput<'_>) -> Result<Program, RenderError> {
    Ok(Program::from_document(&render_document(input)?))
}

/// Renders the program for the input and validates it against the provider schema, checking
/// the document it was emitted from (the YAML is never parsed back).
pub fn render_checked(input: &RenderInput<'_>) -> Result<Program, ProgramError> {
    let doc = render_document(input)?;
    check_document(&doc)?;
    Ok(Program::from_document(&doc))
}

/// The program as a JSON value: what [`emit::to_yaml`] writes and the validator checks.
fn render_document(input: &RenderInput<'_>) -> Result<Value, RenderError> {
    refuse_builtin_keys(input)?;
    let ctx = context::build(input)?;
    let env = environment();
    let mut merged: Map<String, Value> = SECTIONS
        .iter()
        .map(|s| ((*s).to_owned(), Value::Object(Map::new())))
        .collect();
    for (name, source) in TEMPLATES {
        let text = env
            .render_str(source, &ctx)
            .map_err(|source| RenderError::Template {
                template: name,
                source,
            })?;
        let doc: Value = yaml_serde::from_str::<Option<Value>>(&text)
            .map_err(|source| RenderError::Yaml {
                template: name,
                source,
            })?
            .unwrap_or(Value::Null);
        merge_template(&mut merged, doc, name)?;
    }
    apply_release_values(&mut merged, &ctx)?;
    merged.insert("name".into(), Value::String(input.project.to_owned()));
    merged.insert("runtime".into(), Value::String("yaml".into()));
    Ok(Value::Object(merged))
}

fn merge_template(
    merged: &mut Map<String, Value>,
    doc: Value,
    template: &'static str,
) -> Result<(), RenderError> {
    let Value::Object(doc) = doc else {
        return Ok(());
    };
    for (section, entries) in doc {
        let Some(Value::Object(target)) = merged.get_mut(&section) else {
            return Err(RenderError::UnexpectedSection { template, section });
        };
        let Value::Object(entries) = entries else {
            continue; // an empty section (`resources:` with every item disabled)
        };
        for (name, value) in entries {
            if target.contains_key(&name) {
                return Err(RenderError::Duplicate {
                    section,
                    name,
                    template,
                });
            }
            target.insert(name, value);
        }
    }
    Ok(())
}

/// Every key of the config is checked before anything renders, so a stored config from before
/// the rule is a clear error naming the key, not a template failure.
fn refuse_builtin_keys(input: &RenderInput<'_>) -> Result<(), RenderError> {
    let config = serde_json::to_value(input.config).unwrap_or(Value::Null);
    match builtin_key_pointers(&config, "").into_iter().next() {
        Some(path) => Err(RenderError::BuiltinKey { path }),
        None => Ok(()),
    }
}

/// Merges each component's user Helm values over byoc's (as data: see `escape`), then
/// re-asserts the service account name, which IAM trust and Pod Identity associations
/// depend on.
fn apply_release_values(merged: &mut Map<String, Value>, ctx: &Value) -> Result<(), RenderError> {
    let Some(Value::Object(releases)) = ctx.pointer("/components/release_values") else {
        return Ok(());
    };
    for (release, spec) in releases {
        let Some(props) = merged
            .get_mut("resources")
            .and_then(|r| r.get_mut(release))
            .and_then(|r| r.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let values = props
            .entry("values")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(user) = spec.get("values") {
            let user = as_data(user, &format!("/components/{release}/values"))
                .map_err(|path| RenderError::BuiltinKey { path })?;
            deep_merge(values, &user);
        }
        let path: Vec<&str> = spec["sa_path"]
            .as_array()
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        set_path(values, &path, spec["service_account"].clone());
    }
    Ok(())
}

fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                deep_merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn set_path(cur: &mut Value, path: &[&str], value: Value) {
    match path.split_first() {
        None => *cur = value,
        Some((key, rest)) => {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            if let Value::Object(m) = cur {
                set_path(
                    m.entry((*key).to_owned()).or_insert(Value::Null),
                    rest,
                    value,
                );
            }
        }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("tojson", tojson);
    env.add_filter("ref", reference);
    env.add_filter("ident", ident);
    env.add_filter("merge_tags", merge_tags);
    env
}

/// `{{ a | merge_tags(b) }}`: the union of two string maps, `b` winning, keys sorted.
fn merge_tags(base: JinjaValue, over: JinjaValue) -> Result<JinjaValue, Error> {
    let to_map = |v: &JinjaValue| -> Result<Map<String, Value>, Error> {
        match serde_json::to_value(v) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            _ => Err(Error::new(
                ErrorKind::InvalidOperation,
                "merge_tags expects maps",
            )),
        }
    };
    let mut merged = to_map(&base)?;
    merged.extend(to_map(&over)?);
    Ok(JinjaValue::from_serialize(&merged))
}

/// Quotes a value as data (see `escape`) on one line, in JSON flow style (JSON is YAML)
/// with `": "`/`", "` separators so every YAML parser reads flow collections the same way.
fn tojson(value: JinjaValue) -> Result<String, Error> {
    let json: Value = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?;
    let data = as_data(&json, "").map_err(|path| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("builtin key at {path} in template data"),
        )
    })?;
    Ok(flow_json(&data))
}

fn flow_json(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(flow_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", emit::quoted(k), flow_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) => emit::quoted(s),
        scalar => scalar.to_string(),
    }
}

/// Checks that a logical name is a plain identifier (letters and digits).
fn ident(name: String) -> Result<String, Error> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(name)
    } else {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("`{name}` is not a logical resource name"),
        ))
    }
}

/// `{{ "vpc" | ref("id") }}` → `"${vpc.id}"`; without an argument, `"${vpc}"`.
fn reference(name: String, prop: Option<String>) -> Result<String, Error> {
    let name = ident(name)?;
    Ok(match prop {
        Some(p) => format!("\"${{{name}.{}}}\"", ident(p)?),
        None => format!("\"${{{name}}}\""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tojson_quotes_and_escapes_interpolation() {
        let env = environment();
        let out = env
            .render_str("a: {{ v | tojson }}", json!({"v": "x\"\n${y}: z"}))
            .unwrap();
        assert_eq!(out, "a: \"x\\\"\\n$${y}: z\"");
        let back: Value = yaml_serde::from_str(&out).unwrap();
        assert_eq!(back["a"], "x\"\n$${y}: z");
        // `$$` is itself an escape: escaping only `${` would turn `$${y}` into `$$${y}`.
        let out = env
            .render_str("a: {{ v | tojson }}", json!({"v": "$${y}"}))
            .unwrap();
        assert_eq!(out, "a: \"$$$${y}\"");
    }

    #[test]
    fn flow_collections_parse_as_yaml() {
        let v = json!({"b": [1, "two", {"c": null}], "a": {"k": true}});
        let back: Value = yaml_serde::from_str(&flow_json(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn the_builtin_allowlist_is_exactly_what_the_templates_use() {
        let mut used: Vec<String> = TEMPLATES
            .iter()
            .flat_map(|(_, text)| text.match_indices("fn::").map(|(i, _)| &text[i..]))
            .map(|rest| {
                let name: String = rest[4..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                format!("fn::{name}")
            })
            .collect();
        used.sort();
        used.dedup();
        assert_eq!(used, crate::program::TEMPLATE_BUILTINS);
    }

    #[test]
    fn references_accept_only_identifiers() {
        assert_eq!(
            reference("vpc".into(), Some("id".into())).unwrap(),
            "\"${vpc.id}\""
        );
        assert!(reference("vpc}\n  evil".into(), None).is_err());
        assert!(ident("bad-name".into()).is_err());
    }

    #[test]
    fn duplicate_logical_names_are_refused() {
        let mut merged: Map<String, Value> = SECTIONS
            .iter()
            .map(|s| ((*s).to_owned(), Value::Object(Map::new())))
            .collect();
        let doc = json!({"resources": {"vpc": {"type": "aws:ec2/vpc:Vpc"}}});
        merge_template(&mut merged, doc.clone(), "a.yaml").unwrap();
        let err = merge_template(&mut merged, doc, "b.yaml").unwrap_err();
        assert!(
            matches!(err, RenderError::Duplicate { ref name, .. } if name == "vpc"),
            "{err}"
        );
    }

    #[test]
    fn user_values_merge_over_byoc_but_keep_the_service_account() {
        let mut values = json!({"serviceAccount": {"name": "sa"}, "replicas": 1});
        deep_merge(
            &mut values,
            &json!({"replicas": 3, "serviceAccount": {"name": "other"}}),
        );
        set_path(&mut values, &["serviceAccount", "name"], json!("sa"));
        assert_eq!(
            values,
            json!({"serviceAccount": {"name": "sa"}, "replicas": 3})
        );
    }
}
