//! The stack settings file `Pulumi.<stack>.yaml` between runs: restored into each fresh
//! workspace from what the worker stored, given this run's plain config directly, and reported
//! back when it changed.
//!
//! The CLI reads a stack's config from that file's `config:` map, keys `<project>:<key>`, plain
//! values as they are and secrets as `{secure: <ciphertext>}` (pulumi/pulumi
//! `sdk/go/common/workspace/project.go` `ProjectStack`, `pkg/cmd/pulumi/config/config.go`,
//! which edits the same file). So a plain value is written into the file here, with no CLI
//! process; a secret still needs `config set --secret`, because only the stack's secrets
//! provider can encrypt it — and it is set only when the external ID changed.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use yaml_serde::{Mapping, Value};

use crate::domain::StackName;
use crate::executor::StackSettings;
use crate::program::CONFIG_SESSION_NAME;
use crate::pulumi::{PulumiError, Workspace};

/// SHA-256 (hex) of a secret, to see whether the stored file was set from the same value.
pub(super) fn digest(secret: &SecretString) -> String {
    hex::encode(Sha256::digest(secret.expose_secret().as_bytes()))
}

fn bad(reason: impl std::fmt::Display) -> PulumiError {
    PulumiError::BadOutput {
        command: "stack settings file".into(),
        reason: reason.to_string(),
    }
}

fn parse(yaml: &str) -> Result<Mapping, PulumiError> {
    match yaml_serde::from_str::<Value>(yaml).map_err(bad)? {
        Value::Mapping(m) => Ok(m),
        Value::Null => Ok(Mapping::new()),
        _ => Err(bad("not a mapping")),
    }
}

fn config_key(project: &str, key: &str) -> Value {
    Value::String(format!("{project}:{key}"))
}

/// Sets the plain config value `key` in the workspace's settings file (creating the file or
/// its `config` map when missing).
pub(super) fn set_plain(
    ws: &Workspace,
    stack: &StackName,
    project: &str,
    key: &str,
    value: &str,
) -> Result<(), PulumiError> {
    let mut doc = match ws.read_stack_settings(stack)? {
        Some(text) => parse(&text)?,
        None => Mapping::new(),
    };
    let config = doc
        .entry(Value::String("config".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !config.is_mapping() {
        *config = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(config) = config {
        config.insert(config_key(project, key), Value::String(value.to_owned()));
    }
    let text = yaml_serde::to_string(&Value::Mapping(doc)).map_err(bad)?;
    ws.write_stack_settings(stack, &text)
}

/// What is worth keeping of the workspace's settings file: all of it but the per-operation
/// session name (written into every run anyway), so a run that changed nothing else reports
/// nothing. `None` when the CLI wrote no file.
pub(super) fn snapshot(
    ws: &Workspace,
    stack: &StackName,
    project: &str,
    external_id_sha256: Option<String>,
) -> Result<Option<StackSettings>, PulumiError> {
    let Some(text) = ws.read_stack_settings(stack)? else {
        return Ok(None);
    };
    let mut doc = parse(&text)?;
    if let Some(Value::Mapping(config)) = doc.get_mut("config") {
        config.remove(config_key(project, CONFIG_SESSION_NAME));
    }
    let yaml = yaml_serde::to_string(&Value::Mapping(doc)).map_err(bad)?;
    Ok(Some(StackSettings {
        yaml,
        external_id_sha256,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_go_into_the_file_and_the_session_is_not_kept() {
        let root = tempfile::tempdir().unwrap();
        let ws = Workspace::create(root.path(), "name: p\nruntime: yaml\n").unwrap();
        let stack = StackName::parse("acme-prod").unwrap();
        let stored = "encryptionsalt: v1:abc\nconfig:\n  p:externalId:\n    secure: v1:xyz\n";
        ws.write_stack_settings(&stack, stored).unwrap();
        set_plain(&ws, &stack, "p", CONFIG_SESSION_NAME, "byoc-update-1").unwrap();
        let text = ws.read_stack_settings(&stack).unwrap().unwrap();
        let doc: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(doc["config"]["p:sessionName"], "byoc-update-1");
        assert_eq!(doc["config"]["p:externalId"]["secure"], "v1:xyz");
        assert_eq!(doc["encryptionsalt"], "v1:abc");
        let kept = snapshot(&ws, &stack, "p", None).unwrap().unwrap();
        let kept: Value = yaml_serde::from_str(&kept.yaml).unwrap();
        assert!(kept["config"].get("p:sessionName").is_none());
        assert_eq!(kept["config"]["p:externalId"]["secure"], "v1:xyz");
    }
}
