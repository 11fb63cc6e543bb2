//! Provider checks: every resource and invoke of a cloud package names an explicit provider
//! of that package (a default provider would act with the worker's own credentials instead
//! of the tenant role), and `dependsOn`/`provider`/`parent` options name resources.

use serde_json::{Map, Value};

use super::Problems;
use super::schema::Schema;

/// Packages whose resources must carry an explicit provider.
const EXPLICIT: &[&str] = &["aws", "kubernetes"];

/// Runs the provider and option-reference checks over all resources.
pub(super) fn check_providers(
    schema: &Schema,
    resources: &Map<String, Value>,
    problems: &mut Problems,
) {
    for (name, res) in resources {
        let path = format!("resources.{name}.options");
        let options = res.get("options").and_then(Value::as_object);
        check_plugin_version(schema, res, options, &path, problems);
        for key in ["provider", "parent"] {
            if let Some(v) = options.and_then(|o| o.get(key)) {
                check_resource_ref(resources, v, &format!("{path}.{key}"), problems);
            }
        }
        if let Some(Value::Array(deps)) = options.and_then(|o| o.get("dependsOn")) {
            for (i, d) in deps.iter().enumerate() {
                check_resource_ref(resources, d, &format!("{path}.dependsOn[{i}]"), problems);
            }
        }
        if let Some(Value::Object(t)) = options.and_then(|o| o.get("customTimeouts")) {
            for key in t
                .keys()
                .filter(|k| !matches!(k.as_str(), "create" | "update" | "delete"))
            {
                problems.push(
                    &format!("{path}.customTimeouts"),
                    format!("unknown timeout `{key}`"),
                );
            }
        }
        let token = res.get("type").and_then(Value::as_str).unwrap_or_default();
        let package = token.split(':').next().unwrap_or_default();
        if EXPLICIT.contains(&package) {
            let provider = options.and_then(|o| o.get("provider"));
            check_provider(resources, provider, package, &path, problems);
        }
    }
}

/// Checks an invoke's `options.provider` names a provider of the function's package.
pub(super) fn check_invoke_provider(
    resources: &Map<String, Value>,
    call: &Map<String, Value>,
    package: &str,
    path: &str,
    problems: &mut Problems,
) {
    if EXPLICIT.contains(&package) {
        let provider = call
            .get("options")
            .and_then(Value::as_object)
            .and_then(|o| o.get("provider"));
        check_provider(
            resources,
            provider,
            package,
            &format!("{path}.options"),
            problems,
        );
    }
}

/// A provider of a checked package must pin the plugin version the schema was taken from:
/// otherwise the program would run against facts nobody checked.
fn check_plugin_version(
    schema: &Schema,
    res: &Value,
    options: Option<&Map<String, Value>>,
    path: &str,
    problems: &mut Problems,
) {
    let token = res.get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(package) = token.strip_prefix("pulumi:providers:") else {
        return;
    };
    let Some(expected) = schema.meta.sources.get(&format!("@pulumi/{package}")) else {
        return;
    };
    let pinned = options
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str);
    if pinned != Some(expected.as_str()) {
        problems.push(
            path,
            format!("the `{package}` provider must pin `version: {expected}` (the version the schema describes)"),
        );
    }
}

fn check_provider(
    resources: &Map<String, Value>,
    provider: Option<&Value>,
    package: &str,
    path: &str,
    problems: &mut Problems,
) {
    let Some(target) = provider.and_then(Value::as_str).and_then(whole_reference) else {
        problems.push(
            path,
            format!("no explicit `{package}` provider (`options.provider: ${{…}}`)"),
        );
        return;
    };
    let expected = format!("pulumi:providers:{package}");
    let actual = resources
        .get(target)
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str);
    if actual != Some(expected.as_str()) {
        problems.push(
            &format!("{path}.provider"),
            format!("`{target}` is not a `{expected}` resource"),
        );
    }
}

fn check_resource_ref(
    resources: &Map<String, Value>,
    v: &Value,
    path: &str,
    problems: &mut Problems,
) {
    match v.as_str().and_then(whole_reference) {
        Some(name) if resources.contains_key(name) => {}
        Some(name) => problems.push(path, format!("`{name}` is not a resource")),
        None => problems.push(path, "must be a single `${resource}` reference"),
    }
}

/// `${name}` → `name` when the string is exactly one bare resource reference.
fn whole_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        .then_some(inner)
}
