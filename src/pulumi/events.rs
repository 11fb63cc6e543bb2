//! Typed engine events (`apitype.EngineEvent`, `docs/pulumi-contract.md` §2.2). Lossless:
//! every event keeps its raw JSON, unknown payload kinds and `op` strings are kept as strings,
//! unknown keys ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One event-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineEvent {
    /// Increasing, unique (gaps possible).
    pub sequence: i64,
    /// Unix seconds.
    pub timestamp: i64,
    /// The typed payload.
    pub payload: EventPayload,
    /// The whole event as written by the CLI, for storage.
    pub raw: Value,
}

/// The one payload key of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventPayload {
    /// `cancelEvent`: always the last event.
    Cancel,
    /// `stdoutEvent`.
    Stdout(StdoutEvent),
    /// `diagnosticEvent`.
    Diagnostic(DiagnosticEvent),
    /// `preludeEvent`.
    Prelude(PreludeEvent),
    /// `summaryEvent`.
    Summary(UpdateSummary),
    /// `resourcePreEvent`: a step starts.
    ResourcePre(StepEvent),
    /// `resOutputsEvent`: a step finished.
    ResOutputs(StepEvent),
    /// `resOpFailedEvent`: a step failed.
    ResOpFailed(ResOpFailedEvent),
    /// `errorEvent`: an internal engine error.
    Error(ErrorEvent),
    /// Policy, progress, debugging or future kinds, kept as they came.
    Other {
        /// The payload key, e.g. `policyEvent`.
        kind: String,
        /// Its value.
        body: Value,
    },
}

/// `stdoutEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StdoutEvent {
    /// Text.
    #[serde(default)]
    pub message: String,
}

/// `diagnosticEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DiagnosticEvent {
    /// Resource the diagnostic is about, if any.
    #[serde(default)]
    pub urn: Option<String>,
    /// `error: ` etc.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Text (may carry color directives when `color` is `raw`).
    #[serde(default)]
    pub message: String,
    /// `info`, `info#err`, `warning`, `error`, `debug`.
    #[serde(default)]
    pub severity: String,
    /// Transient status line.
    #[serde(default)]
    pub ephemeral: bool,
}

impl DiagnosticEvent {
    /// The message with color directives (`<{%fg 1%}>`, `<{%reset%}>`) removed and trimmed.
    pub fn plain_message(&self) -> String {
        strip_color(&self.message).trim().to_owned()
    }
}

/// Removes the CLI's `<{%…%}>` color directives.
pub fn strip_color(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<{%") {
        out.push_str(&rest[..i]);
        match rest[i..].find("%}>") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `preludeEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PreludeEvent {
    /// Stack config (secrets blinded).
    #[serde(default)]
    pub config: BTreeMap<String, Value>,
}

/// `summaryEvent`: the result of a preview or update.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UpdateSummary {
    /// The state may not match reality (a step failed half-way).
    #[serde(default, rename = "maybeCorrupt")]
    pub maybe_corrupt: bool,
    /// Duration.
    #[serde(default, rename = "durationSeconds")]
    pub duration_seconds: u64,
    /// Logical op → count (a replacement counts once as `replace`).
    #[serde(default, rename = "resourceChanges")]
    pub resource_changes: BTreeMap<String, u64>,
    /// Policy pack name → version (note the CLI's PascalCase key).
    #[serde(default, rename = "PolicyPacks")]
    pub policy_packs: BTreeMap<String, String>,
    /// Absent in logs of older CLIs.
    #[serde(default, rename = "isPreview")]
    pub is_preview: Option<bool>,
    /// `succeeded`, `failed`, `canceled`; absent in logs of older CLIs.
    #[serde(default)]
    pub result: Option<String>,
}

/// A step op (`apitype.OpType`), open-ended: unknown strings are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(from = "String")]
pub enum OpType {
    /// `same`.
    Same,
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// `replace`.
    Replace,
    /// `create-replacement`.
    CreateReplacement,
    /// `delete-replaced`.
    DeleteReplaced,
    /// `read`.
    Read,
    /// `refresh`.
    Refresh,
    /// `import`.
    Import,
    /// Any other op string (`discard`, `read-replacement`, future ones…).
    Other(String),
}

impl From<String> for OpType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "same" => Self::Same,
            "create" => Self::Create,
            "update" => Self::Update,
            "delete" => Self::Delete,
            "replace" => Self::Replace,
            "create-replacement" => Self::CreateReplacement,
            "delete-replaced" => Self::DeleteReplaced,
            "read" => Self::Read,
            "refresh" => Self::Refresh,
            "import" => Self::Import,
            _ => Self::Other(s),
        }
    }
}

impl OpType {
    /// The CLI's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Same => "same",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Replace => "replace",
            Self::CreateReplacement => "create-replacement",
            Self::DeleteReplaced => "delete-replaced",
            Self::Read => "read",
            Self::Refresh => "refresh",
            Self::Import => "import",
            Self::Other(s) => s,
        }
    }
}

/// `StepEventMetadata`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepMetadata {
    /// The op.
    pub op: OpType,
    /// Resource URN.
    pub urn: String,
    /// Resource type token.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// State before (may be null).
    #[serde(default)]
    pub old: Option<Value>,
    /// State after (may be null).
    #[serde(default)]
    pub new: Option<Value>,
    /// Keys forcing replacement.
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// Changed keys.
    #[serde(default)]
    pub diffs: Option<Vec<String>>,
    /// Path → diff; `None` when the CLI wrote `null` (meaningful: no detailed diff computed).
    #[serde(default, rename = "detailedDiff")]
    pub detailed_diff: Option<BTreeMap<String, Value>>,
    /// A logical (component/stack) step.
    #[serde(default)]
    pub logical: bool,
}

/// `resourcePreEvent` / `resOutputsEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepEvent {
    /// The step.
    pub metadata: StepMetadata,
    /// True in previews.
    #[serde(default)]
    pub planning: bool,
}

/// `resOpFailedEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResOpFailedEvent {
    /// The step.
    pub metadata: StepMetadata,
    /// 0 OK, 1 partial failure, 2 unknown.
    #[serde(default)]
    pub status: i64,
    /// Steps done.
    #[serde(default)]
    pub steps: i64,
}

/// `errorEvent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorEvent {
    /// Text.
    #[serde(default)]
    pub error: String,
}

/// Why a JSON value is not an engine event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad engine event: {reason}")]
pub struct EventError {
    /// What was wrong.
    pub reason: String,
    /// The offending text.
    pub line: String,
}

impl EngineEvent {
    /// Types a decoded JSON value; keeps it as `raw`.
    pub fn from_value(raw: Value) -> Result<Self, String> {
        let obj = raw.as_object().ok_or("not a JSON object")?;
        let sequence = obj.get("sequence").and_then(Value::as_i64).unwrap_or(0);
        let timestamp = obj.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
        let (kind, body) = obj
            .iter()
            .find(|(k, _)| k.as_str() != "sequence" && k.as_str() != "timestamp")
            .ok_or("no payload key")?;
        let payload = decode_payload(kind, body).map_err(|e| format!("{kind}: {e}"))?;
        Ok(Self {
            sequence,
            timestamp,
            payload,
            raw,
        })
    }

    /// The payload key, e.g. `summaryEvent` (what callers store as the event kind).
    pub fn kind(&self) -> &str {
        self.raw
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "sequence" && *k != "timestamp"))
            .map_or("", String::as_str)
    }
}

fn decode_payload(kind: &str, body: &Value) -> Result<EventPayload, serde_json::Error> {
    fn de<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, serde_json::Error> {
        T::deserialize(v)
    }
    Ok(match kind {
        "cancelEvent" => EventPayload::Cancel,
        "stdoutEvent" => EventPayload::Stdout(de(body)?),
        "diagnosticEvent" => EventPayload::Diagnostic(de(body)?),
        "preludeEvent" => EventPayload::Prelude(de(body)?),
        "summaryEvent" => EventPayload::Summary(de(body)?),
        "resourcePreEvent" => EventPayload::ResourcePre(de(body)?),
        "resOutputsEvent" => EventPayload::ResOutputs(de(body)?),
        "resOpFailedEvent" => EventPayload::ResOpFailed(de(body)?),
        "errorEvent" => EventPayload::Error(de(body)?),
        _ => EventPayload::Other {
            kind: kind.to_owned(),
            body: body.clone(),
        },
    })
}
