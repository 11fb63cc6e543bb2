//! The documented JSON shapes of the Pulumi Cloud answers the executor reads
//! (`docs/pulumi-contract.md` §2 and §5); unknown fields are ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A deployment as `GET …/deployments/{id}` shows it (only the fields byoc reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    /// `not-started`, `accepted`, `running`, `failed`, `succeeded` or `skipped`.
    pub status: String,
    /// Runner jobs and their steps.
    #[serde(default)]
    pub jobs: Vec<Job>,
}

/// One page of a stack's deployments, `GET …/deployments?page=&pageSize=` (pulumi/pulumi
/// `sdk/go/common/apitype/list_deployments.go`, `ListDeploymentResponseV2`; newest first).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentList {
    /// This page's deployments.
    #[serde(default)]
    pub deployments: Vec<DeploymentSummary>,
    /// The stack's deployments in all.
    #[serde(default)]
    pub total: i64,
}

/// One deployment of a list (`ListDeploymentSnapshot`; only the fields byoc reads). The
/// snapshot carries no request data (variables, source): a deployment is known by its
/// `version` and `pulumiOperation` only.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentSummary {
    /// Deployment id.
    pub id: String,
    /// Ordinal of the deployment on its stack (sequential, assigned at create).
    pub version: i64,
    /// Status, as on [`Deployment`].
    pub status: String,
    /// `update`, `preview`, `refresh`, `destroy` (or a drift operation).
    #[serde(rename = "pulumiOperation")]
    pub pulumi_operation: String,
}

/// One runner job.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    /// Its steps.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One runner step ("Get source", "Pre-run command 1", "pulumi update" …).
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// `not-started`, `running`, `failed` or `succeeded`.
    pub status: String,
}

/// A page of runner log lines.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogsPage {
    /// The lines.
    #[serde(default)]
    pub lines: Vec<LogLine>,
    /// Token of the next page; empty or absent once the logs are complete.
    #[serde(default, rename = "nextToken")]
    pub next_token: Option<String>,
}

/// One runner log line; a `header` opens a step.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct LogLine {
    /// Step header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

/// One update a deployment ran.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateRef {
    /// The update id (for the events route).
    #[serde(rename = "updateID")]
    pub update_id: String,
}

/// A page of an update's engine events.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventsPage {
    /// Engine events, same JSON as the CLI's event log.
    #[serde(default)]
    pub events: Vec<Value>,
    /// Next page; `null` once the update finished and every event was returned.
    #[serde(default, rename = "continuationToken")]
    pub continuation_token: Option<String>,
}

/// `GET …/outputs`: the outputs of the last completed update, secrets as stored (encrypted).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StackOutputs {
    /// Output name → value (a secret is a signature object with `ciphertext`).
    #[serde(default)]
    pub outputs: Option<Map<String, Value>>,
}
