//! Stack lifecycle and read commands: select-or-create, config, outputs, cancel, history, rm.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::error::{FailedRun, PulumiError, classify};
use super::runner::{Invocation, RunControl, RunOutput, Runner, StopReason};
use super::workspace::Workspace;
use crate::domain::names::StackName;

/// A config value to set.
#[derive(Debug, Clone)]
pub enum ConfigValue {
    /// Stored in plaintext; may appear in argv.
    Plain(String),
    /// Encrypted by the stack's secrets provider; only ever written to the CLI's stdin.
    Secret(SecretString),
}

/// One stack output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    /// The value (from `--show-secrets`).
    pub value: Value,
    /// Whether pulumi considers it secret.
    pub secret: bool,
}

/// The newest entry of `stack history --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UpdateRecord {
    /// Stack version after the update.
    #[serde(default)]
    pub version: i64,
    /// update, preview, refresh, destroy, …
    #[serde(default)]
    pub kind: String,
    /// not-started, in-progress, succeeded, failed.
    #[serde(default)]
    pub result: Option<String>,
    /// Start time (RFC 3339).
    #[serde(default, rename = "startTime")]
    pub start_time: Option<String>,
    /// End time, once finished.
    #[serde(default, rename = "endTime")]
    pub end_time: Option<String>,
    /// Op → count, once finished.
    #[serde(default, rename = "resourceChanges")]
    pub resource_changes: Option<BTreeMap<String, u64>>,
    /// Message.
    #[serde(default)]
    pub message: String,
}

impl Runner {
    /// Runs a command and turns a non-zero exit (or a stop) into a classified error.
    async fn checked(
        &self,
        ws: &Workspace,
        stack: Option<&StackName>,
        args: &[&str],
        stdin: Option<&SecretString>,
        ctl: &RunControl,
    ) -> Result<RunOutput, PulumiError> {
        let out = self
            .run(Invocation {
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                stack,
                cwd: ws.path(),
                stdin,
                control: ctl,
            })
            .await?;
        // Exit 0 wins over a cancel that raced the end of the command.
        if out.exit_code == 0 {
            return Ok(out);
        }
        Err(classify(FailedRun {
            exit_code: out.exit_code,
            stdout: &out.stdout,
            stderr: &out.stderr,
            cancelled: out.stopped == Some(StopReason::Cancelled),
            timed_out: match out.stopped {
                Some(StopReason::TimedOut(d)) => Some(d),
                _ => None,
            },
            ..Default::default()
        }))
    }

    /// `stack select --stack <s>`; when the stack does not exist,
    /// `stack init <s> --secrets-provider <p>`. Returns whether it was created.
    pub async fn select_or_create_stack(
        &self,
        ws: &Workspace,
        stack: &StackName,
        secrets_provider: &str,
        ctl: &RunControl,
    ) -> Result<bool, PulumiError> {
        match self
            .checked(ws, Some(stack), &["stack", "select"], None, ctl)
            .await
        {
            Ok(_) => Ok(false),
            Err(PulumiError::StackNotFound { .. }) => {
                let args = [
                    "stack",
                    "init",
                    stack.as_str(),
                    "--secrets-provider",
                    secrets_provider,
                ];
                self.checked(ws, None, &args, None, ctl).await?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// `stack init <s> --secrets-provider <p>`. Returns `false` when the stack already exists
    /// (its settings file was lost; the CLI then falls back to the checkpoint's secrets
    /// manager, see `PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER` in the runner).
    pub async fn init_stack(
        &self,
        ws: &Workspace,
        stack: &StackName,
        secrets_provider: &str,
        ctl: &RunControl,
    ) -> Result<bool, PulumiError> {
        let args = [
            "stack",
            "init",
            stack.as_str(),
            "--secrets-provider",
            secrets_provider,
        ];
        match self.checked(ws, None, &args, None, ctl).await {
            Ok(_) => Ok(true),
            Err(PulumiError::StackAlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `stack export --stack <s>`: the checkpoint's deployment as `{version, deployment}`
    /// (secrets stay encrypted).
    pub async fn export_stack(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<Value, PulumiError> {
        let out = self
            .checked(ws, Some(stack), &["stack", "export"], None, ctl)
            .await?;
        serde_json::from_str(&out.stdout).map_err(|e| PulumiError::BadOutput {
            command: "stack export".into(),
            reason: e.to_string(),
        })
    }

    /// `stack import --file <file> --stack <s>`. The CLI drops every pending operation of the
    /// imported deployment, with a warning each (`stack_import.go`, `SaveSnapshot`).
    pub async fn import_stack(
        &self,
        ws: &Workspace,
        stack: &StackName,
        file: &std::path::Path,
        ctl: &RunControl,
    ) -> Result<(), PulumiError> {
        let file = file.to_string_lossy();
        let args = ["stack", "import", "--file", file.as_ref()];
        self.checked(ws, Some(stack), &args, None, ctl)
            .await
            .map(drop)
    }

    /// Sets one config key. Plain values: `config set [--path] <key> --plaintext --stack <s> --
    /// <value>` (the `--` protects values starting with `-`). Secret values:
    /// `config set [--path] <key> --secret --stack <s>` with the value on stdin: given only the
    /// key, the CLI reads stdin to EOF when it is not a terminal (even with
    /// `--non-interactive`) and removes one trailing newline (pulumi/pulumi
    /// `pkg/cmd/pulumi/config/config.go`, `newConfigSetCmd`), so the secret never reaches argv.
    pub async fn set_config(
        &self,
        ws: &Workspace,
        stack: &StackName,
        key: &str,
        value: &ConfigValue,
        path: bool,
        ctl: &RunControl,
    ) -> Result<(), PulumiError> {
        let mut args = vec!["config", "set"];
        if path {
            args.push("--path");
        }
        args.push(key);
        match value {
            ConfigValue::Plain(v) => {
                args.extend(["--plaintext", "--", v.as_str()]);
                self.checked(ws, Some(stack), &args, None, ctl).await?;
            }
            ConfigValue::Secret(s) => {
                args.push("--secret");
                self.checked(ws, Some(stack), &args, Some(s), ctl).await?;
            }
        }
        Ok(())
    }

    /// Sets many plain values in one run: `config set-all [--path] --plaintext k1=v1
    /// --plaintext k2=v2 … --stack <s>` (each pair after its own flag, as the Go SDK does).
    /// Secrets must go through [`Runner::set_config`] so they stay off argv.
    pub async fn set_plain_config_all(
        &self,
        ws: &Workspace,
        stack: &StackName,
        pairs: &[(String, String)],
        path: bool,
        ctl: &RunControl,
    ) -> Result<(), PulumiError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let kv: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["config", "set-all"];
        if path {
            args.push("--path");
        }
        for pair in &kv {
            args.extend(["--plaintext", pair.as_str()]);
        }
        self.checked(ws, Some(stack), &args, None, ctl)
            .await
            .map(drop)
    }

    /// `stack output --json`, then `stack output --json --show-secrets`; a key is secret when
    /// its first rendering contains `[secret]` (`docs/pulumi-contract.md` §1.3).
    pub async fn stack_outputs(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<BTreeMap<String, OutputValue>, PulumiError> {
        let masked = self
            .checked(ws, Some(stack), &["stack", "output", "--json"], None, ctl)
            .await?;
        let shown = self
            .checked(
                ws,
                Some(stack),
                &["stack", "output", "--json", "--show-secrets"],
                None,
                ctl,
            )
            .await?;
        let parse = |text: &str| {
            serde_json::from_str::<BTreeMap<String, Value>>(text).map_err(|e| {
                PulumiError::BadOutput {
                    command: "stack output".into(),
                    reason: e.to_string(),
                }
            })
        };
        let masked = parse(&masked.stdout)?;
        Ok(parse(&shown.stdout)?
            .into_iter()
            .map(|(k, value)| {
                let secret = masked
                    .get(&k)
                    .is_some_and(|m| m.to_string().contains("[secret]"));
                (k, OutputValue { value, secret })
            })
            .collect())
    }

    /// `stack output --json --show-secrets`: every output with its value, in one process.
    /// Which ones are secret is not in this answer; the engine's events say it (secret values
    /// are masked as `[secret]` in them, `docs/pulumi-contract.md` §1.3).
    pub async fn stack_outputs_shown(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<BTreeMap<String, Value>, PulumiError> {
        let args = ["stack", "output", "--json", "--show-secrets"];
        let out = self.checked(ws, Some(stack), &args, None, ctl).await?;
        serde_json::from_str(&out.stdout).map_err(|e| PulumiError::BadOutput {
            command: "stack output".into(),
            reason: e.to_string(),
        })
    }

    /// `cancel --yes --stack <s>`: on DIY backends, deletes the stack's lock files; on Pulumi
    /// Cloud, cancels the active update.
    pub async fn cancel_update(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<(), PulumiError> {
        self.checked(ws, Some(stack), &["cancel", "--yes"], None, ctl)
            .await
            .map(drop)
    }

    /// `stack history --json --page-size 1 --page 1 --stack <s>`: the newest update, if any.
    pub async fn last_update(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<Option<UpdateRecord>, PulumiError> {
        let args = [
            "stack",
            "history",
            "--json",
            "--page-size",
            "1",
            "--page",
            "1",
        ];
        let out = self.checked(ws, Some(stack), &args, None, ctl).await?;
        let text = out.stdout.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let mut records: Vec<UpdateRecord> =
            serde_json::from_str(text).map_err(|e| PulumiError::BadOutput {
                command: "stack history".into(),
                reason: e.to_string(),
            })?;
        Ok((!records.is_empty()).then(|| records.swap_remove(0)))
    }

    /// `stack rm --yes <s>` (after a destroy; the stack must be empty).
    pub async fn remove_stack(
        &self,
        ws: &Workspace,
        stack: &StackName,
        ctl: &RunControl,
    ) -> Result<(), PulumiError> {
        self.checked(
            ws,
            None,
            &["stack", "rm", "--yes", stack.as_str()],
            None,
            ctl,
        )
        .await
        .map(drop)
    }
}
