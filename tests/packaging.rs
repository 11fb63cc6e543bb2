//! Packaging (docker/): the Dockerfile pins and verifies everything it downloads, the compose
//! file and the Kubernetes manifests only set settings the binary reads, the pod security and
//! grace periods hold, and the offline validators (hadolint, docker-compose, kubernetes-validate)
//! pass. Everything is read as text/YAML: no Docker engine runs in CI.

#[path = "packaging/compose.rs"]
mod compose;
#[path = "packaging/dockerfile.rs"]
mod dockerfile;
#[path = "packaging/k8s.rs"]
mod k8s;
#[path = "packaging/settings_env.rs"]
mod settings_env;
#[path = "packaging/targets.rs"]
mod targets;
#[path = "packaging/validators.rs"]
mod validators;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_serde::Value;

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The text of a file under the repository root.
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// Every YAML document of a file, with aliases resolved and `<<` merge keys applied.
pub fn yaml_docs(rel: &str) -> Vec<Value> {
    let text = read(rel);
    yaml_serde::Deserializer::from_str(&text)
        .map(|d| {
            let mut v = <Value as serde::Deserialize>::deserialize(d)
                .unwrap_or_else(|e| panic!("{rel}: invalid YAML: {e}"));
            v.apply_merge()
                .unwrap_or_else(|e| panic!("{rel}: bad merge key: {e}"));
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The single YAML document of a file.
pub fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// `v[k1][k2]…`, or Null.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .fold(v, |v, k| v.get(*k).unwrap_or(&Value::Null))
}

/// A scalar as a string (numbers and booleans included).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A sequence's items (empty when `v` is not a sequence).
pub fn items(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

/// The variable names of a dotenv-style file (`KEY=value` lines; comments and blanks skipped).
pub fn dotenv_names(text: &str) -> BTreeSet<String> {
    dotenv_pairs(text).into_iter().map(|(k, _)| k).collect()
}

/// `(KEY, value)` of a dotenv-style file.
pub fn dotenv_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Whether an oracle must be present (CI) rather than skipped.
pub fn require_oracles() -> bool {
    std::env::var("BYOC_REQUIRE_ORACLES").as_deref() == Ok("1")
}
