//! Checks a Pulumi YAML program against the vendored provider schema before anything runs:
//! top-level shape, resource types (refusing the types Pulumi YAML blocks and types outside
//! the vendored subset), property names at every nesting level, required properties,
//! resource options, `fn::invoke` calls, every `${…}` reference, and that no builtin other
//! than the templates' own appears anywhere.

mod builtins;
mod props;
mod providers;
mod refs;
pub mod schema;

pub use builtins::TEMPLATE_BUILTINS;

use serde_json::{Map, Value};

use super::Program;
use schema::{Lookup, Schema};

/// One thing wrong with a program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProgramProblem {
    /// Where, e.g. `resources.vpc.properties.cidrBlock`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ProgramProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of a program that failed validation (an error, for `?` and the 422 mapping).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the program has {} problem(s); first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
pub struct ProgramProblems(pub Vec<ProgramProblem>);

/// Validates a program, turning any problems into an error.
pub fn check(program: &Program) -> Result<(), ProgramProblems> {
    into_result(validate(program))
}

/// Validates a program document that has not been through YAML (see `render_checked`).
pub(super) fn check_document(doc: &Value) -> Result<(), ProgramProblems> {
    into_result(validate_document(doc))
}

fn into_result(problems: Vec<ProgramProblem>) -> Result<(), ProgramProblems> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProgramProblems(problems))
    }
}

/// Resource types Pulumi YAML refuses to load (pulumi-yaml `packages.go`).
const REFUSED_TYPES: &[&str] = &[
    "kubernetes:apiextensions.k8s.io:CustomResource",
    "kubernetes:kustomize:Directory",
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:helm.sh/v2:Chart",
    "kubernetes:helm.sh/v3:Chart",
];

/// Keys a resource may have.
const RESOURCE_KEYS: &[&str] = &[
    "type",
    "name",
    "defaultProvider",
    "properties",
    "options",
    "get",
    "condition",
    "metadata",
];

/// Resource option names.
const OPTION_KEYS: &[&str] = &[
    "additionalSecretOutputs",
    "aliases",
    "customTimeouts",
    "deleteBeforeReplace",
    "dependsOn",
    "ignoreChanges",
    "import",
    "parent",
    "protect",
    "provider",
    "providers",
    "version",
    "pluginDownloadURL",
    "replaceOnChanges",
    "retainOnDelete",
    "replaceWith",
    "deletedWith",
    "hideDiffs",
    "replacementTrigger",
    "envVarMappings",
];

/// Validates a program; an empty list means it passed.
pub fn validate(program: &Program) -> Vec<ProgramProblem> {
    match yaml_serde::from_str::<Value>(program.yaml()) {
        Ok(doc) => validate_document(&doc),
        Err(e) => vec![ProgramProblem {
            path: String::new(),
            message: format!("not valid YAML: {e}"),
        }],
    }
}

fn validate_document(root: &Value) -> Vec<ProgramProblem> {
    let mut problems = Problems::default();
    let schema = match schema::schema() {
        Ok(s) => s,
        Err(msg) => {
            problems.push("", msg);
            return problems.0;
        }
    };
    let Value::Object(doc) = root else {
        problems.push("", "a program must be a YAML mapping");
        return problems.0;
    };
    check_top_level(doc, &mut problems);
    let empty = Map::new();
    let section = |k: &str| doc.get(k).and_then(Value::as_object).unwrap_or(&empty);
    for (name, res) in section("resources") {
        check_resource(schema, name, res, &mut problems);
    }
    providers::check_providers(schema, section("resources"), &mut problems);
    props::check_invokes(schema, section("resources"), root, "", &mut problems);
    refs::check_references(schema, doc, &mut problems);
    builtins::check_builtins(root, "", &mut problems);
    problems.0
}

/// Problems collected so far.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ProgramProblem>);

impl Problems {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(ProgramProblem {
            path: path.to_owned(),
            message: message.into(),
        });
    }
}

fn check_top_level(doc: &Map<String, Value>, problems: &mut Problems) {
    if !doc.get("name").is_some_and(Value::is_string) {
        problems.push("name", "missing required `name` field");
    }
    if doc.get("runtime").and_then(Value::as_str) != Some("yaml") {
        problems.push("runtime", "runtime must be `yaml`");
    }
    let Some(Value::Object(config)) = doc.get("config") else {
        return;
    };
    for (key, entry) in config {
        let path = format!("config.{key}");
        let Value::Object(entry) = entry else {
            continue; // a scalar is shorthand for `default`
        };
        match entry.get("type").and_then(Value::as_str) {
            Some("string" | "integer" | "boolean" | "array" | "object") => {}
            Some(other) => problems.push(&path, format!("unknown config type `{other}`")),
            None if entry.contains_key("default") => {}
            None => problems.push(
                &path,
                "unable to infer type: either 'default' or 'type' is required",
            ),
        }
    }
}

fn check_resource(schema: &Schema, name: &str, res: &Value, problems: &mut Problems) {
    let path = format!("resources.{name}");
    let Value::Object(res) = res else {
        problems.push(&path, "a resource must be a mapping");
        return;
    };
    for key in res.keys() {
        if !RESOURCE_KEYS.contains(&key.as_str()) {
            problems.push(&path, format!("resource has invalid key `{key}`"));
        }
    }
    if let Some(Value::Object(options)) = res.get("options") {
        for key in options.keys() {
            if !OPTION_KEYS.contains(&key.as_str()) {
                problems.push(
                    &format!("{path}.options"),
                    format!("`{key}` does not exist on resource options"),
                );
            }
        }
    }
    let Some(token) = res.get("type").and_then(Value::as_str) else {
        problems.push(&format!("{path}.type"), "missing resource type");
        return;
    };
    let type_path = format!("{path}.type");
    if REFUSED_TYPES.contains(&token) {
        problems.push(
            &type_path,
            format!("the resource type [{token}] is not supported in Pulumi YAML"),
        );
        return;
    }
    let canonical = match schema.resource(token) {
        Lookup::Found(t) => t,
        Lookup::OutsideSubset(t) => {
            problems.push(
                &type_path,
                format!("type `{t}` is outside the vendored schema subset (extend it with pulumi-schema-extract.py --extra)"),
            );
            return;
        }
        Lookup::Unknown => {
            problems.push(&type_path, format!("unknown resource type `{token}`"));
            return;
        }
    };
    if REFUSED_TYPES.contains(&canonical.as_str()) {
        problems.push(
            &type_path,
            format!("the resource type [{canonical}] is not supported in Pulumi YAML"),
        );
        return;
    }
    let Some(rs) = schema.resources.get(&canonical) else {
        return;
    };
    let props_path = format!("{path}.properties");
    match res.get("properties") {
        Some(Value::Object(props)) => {
            props::check_object(schema, props, &rs.inputs, &props_path, &canonical, problems);
        }
        None if res.contains_key("get") => {}
        None => props::check_object(
            schema,
            &Map::new(),
            &rs.inputs,
            &props_path,
            &canonical,
            problems,
        ),
        Some(_) => {} // a single expression: checked at run time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_gets_the_same_problems_as_its_yaml() {
        let yaml = "name: x\nruntime: yaml\nresources:\n  vpc:\n    type: aws:ec2/vpc:Vpc\n    properties:\n      cidrBlok: 10.0.0.0/16\n";
        let doc: Value = yaml_serde::from_str(yaml).unwrap();
        let from_doc = check_document(&doc).unwrap_err().0;
        assert!(!from_doc.is_empty());
        assert_eq!(from_doc, validate(&Program::from_yaml(yaml)));
    }
}
