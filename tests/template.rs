//! The IAM templates in templates/: the customer role tenants create
//! (`customer-iam-role.yaml`) and the platform identity's own policy
//! (`platform-iam-policy.yaml`). Each is checked by cfn-lint and parliament (AWS linters), against
//! AWS's Service Authorization Reference (the data parliament bundles), by our own
//! least-privilege rules, and by evaluating allowed and denied requests with a policy simulator.

#[path = "support/skipped.rs"]
pub mod skipped;

#[path = "template/customer.rs"]
mod customer;
#[path = "template/evaluate.rs"]
mod evaluate;
#[path = "template/parliament.rs"]
mod parliament;
#[path = "template/platform.rs"]
mod platform;
#[path = "template/sar.rs"]
mod sar;
#[path = "template/simulator.rs"]
mod simulator;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Map, Value as Json, json};
use yaml_serde::Value as Yaml;

/// The customer role template.
pub const CUSTOMER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);
/// The platform identity's policy template.
pub const PLATFORM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/platform-iam-policy.yaml"
);
/// Pseudo-parameter values substituted when a template is loaded.
pub const PARTITION: &str = "aws-us-gov";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-gov-west-1";

/// A template file's text.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Parses a template and resolves what these templates use: `!Sub` (pseudo parameters and the
/// given parameter values), `!Ref` (same; other names stay `{"Ref": name}`), `!If` on the
/// template's own Conditions, and `AWS::NoValue` (the list item or key disappears).
pub fn load(text: &str, params: &[(&str, &str)]) -> Json {
    let raw = tags(yaml_serde::from_str(text).expect("template is YAML"));
    let mut values: Map<String, Json> = [
        ("AWS::Partition", PARTITION),
        ("AWS::AccountId", ACCOUNT),
        ("AWS::Region", REGION),
    ]
    .iter()
    .chain(params)
    .map(|(k, v)| ((*k).to_owned(), json!(v)))
    .collect();
    // Parameters not given take their Default.
    if let Some(ps) = raw["Parameters"].as_object() {
        for (name, p) in ps {
            if let (false, Some(d)) = (values.contains_key(name), p.get("Default")) {
                values.insert(name.clone(), d.clone());
            }
        }
    }
    let conditions = raw["Conditions"].clone();
    let mut out = raw.clone();
    out["Resources"] = resolve(&raw["Resources"], &values, &conditions).unwrap_or(Json::Null);
    out["Outputs"] = raw["Outputs"].clone();
    out
}

/// YAML → JSON with CloudFormation tags as `{"Fn::<tag>": …}` (`!Ref X` as `{"Ref": X}`).
fn tags(v: Yaml) -> Json {
    match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => json!(b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap(),
        Yaml::String(s) => json!(s),
        Yaml::Sequence(items) => Json::Array(items.into_iter().map(tags).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), tags(v)))
                .collect(),
        ),
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string().trim_start_matches('!').to_owned();
            match tag.as_str() {
                "Ref" => json!({ "Ref": tags(t.value) }),
                other => json!({ format!("Fn::{other}"): tags(t.value) }),
            }
        }
    }
}

/// Resolves intrinsic functions; `None` is `AWS::NoValue`.
fn resolve(v: &Json, values: &Map<String, Json>, conditions: &Json) -> Option<Json> {
    match v {
        Json::Array(items) => Some(Json::Array(
            items
                .iter()
                .filter_map(|i| resolve(i, values, conditions))
                .collect(),
        )),
        Json::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
            let name = m["Ref"].as_str().expect("Ref of a name");
            match name {
                "AWS::NoValue" => None,
                _ => Some(values.get(name).cloned().unwrap_or_else(|| v.clone())),
            }
        }
        Json::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let mut s = m["Fn::Sub"].as_str().expect("plain !Sub").to_owned();
            for (k, val) in values {
                if let Some(val) = val.as_str() {
                    s = s.replace(&format!("${{{k}}}"), val);
                }
            }
            Some(json!(s))
        }
        Json::Object(m) if m.len() == 1 && m.contains_key("Fn::If") => {
            let args = m["Fn::If"].as_array().expect("!If [cond, a, b]");
            let name = args[0].as_str().expect("condition name");
            let branch = if condition(&conditions[name], values, conditions) {
                &args[1]
            } else {
                &args[2]
            };
            resolve(branch, values, conditions)
        }
        Json::Object(m) => Some(Json::Object(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), resolve(v, values, conditions)?)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Evaluates a Conditions entry (`Fn::Not`, `Fn::Equals`, `Fn::And`, `Fn::Or`, `Condition`).
fn condition(c: &Json, values: &Map<String, Json>, conditions: &Json) -> bool {
    let Some((f, args)) = c.as_object().and_then(|m| m.iter().next()) else {
        panic!("unsupported condition {c}");
    };
    let list = || args.as_array().expect("condition arguments").iter();
    match f.as_str() {
        "Fn::Not" => !condition(&args[0], values, conditions),
        "Fn::And" => list().all(|a| condition(a, values, conditions)),
        "Fn::Or" => list().any(|a| condition(a, values, conditions)),
        "Fn::Equals" => {
            let v: Vec<Option<Json>> = list().map(|a| resolve(a, values, conditions)).collect();
            v[0] == v[1]
        }
        "Condition" => condition(&conditions[args.as_str().unwrap()], values, conditions),
        other => panic!("unsupported condition function {other}"),
    }
}

/// `(logical name, policy document)` of every managed policy in a loaded template.
pub fn managed_policies(t: &Json) -> Vec<(String, Json)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::ManagedPolicy")
        .map(|(n, r)| (n.clone(), r["Properties"]["PolicyDocument"].clone()))
        .collect()
}

/// Every statement of some policies.
pub fn statements(policies: &[(String, Json)]) -> Vec<(String, Json)> {
    policies
        .iter()
        .flat_map(|(name, doc)| {
            doc["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |s| (name.clone(), s.clone()))
        })
        .collect()
}

/// A string or list of strings.
pub fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().flat_map(strings).collect(),
        Json::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

pub fn find_on_path(bin: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(bin))
        .find(|p| p.is_file())
}

/// The interpreter for the oracle scripts: `BYOC_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("BYOC_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Whether `python()` can import every module; when not, prints SKIPPED (or fails when
/// `BYOC_REQUIRE_ORACLES=1`) and returns false.
pub fn python_has(modules: &[&str], install: &str) -> bool {
    let ok = Command::new(python())
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("BYOC_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "{} not importable by {} and BYOC_REQUIRE_ORACLES=1: {install}",
            modules.join(", "),
            python()
        );
        skipped::record(&format!("python modules {modules:?} missing"), install);
    }
    ok
}

/// Runs a script under tests/template/ with `input` as JSON on stdin; its stdout as JSON.
pub fn run_script(script: &str, input: &Json) -> Json {
    let path = format!("{}/tests/template/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("script prints JSON")
}
