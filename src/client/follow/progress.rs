//! What an operation's events mean for an operator: the lines to print (one per completed
//! resource step, diagnostics, messages, the summary), the transient activity, and progress
//! as resources done out of the plan's total. Pure: no I/O, so it is tested on event values.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::client::output::{duration, past_tense};
use crate::pulumi::{EngineEvent, EventPayload, OpType, StepMetadata, strip_color};

/// A completed (or failed) resource step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The engine's op (`create`, `update`, `delete`, `replace`, …).
    pub op: String,
    /// Resource name (the URN's last part).
    pub name: String,
    /// Resource type token.
    pub type_: String,
    /// Seconds from the step's start to its end (event timestamps), when known.
    pub seconds: Option<i64>,
    /// A planned step of a preview: nothing was changed.
    pub planned: bool,
}

/// What one event produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A step completed.
    Done(Step),
    /// A step failed.
    Failed(Step),
    /// A diagnostic (error, warning, info) about a resource or the whole run.
    Diagnostic {
        /// `error`, `warning`, `info`.
        severity: String,
        /// Resource name, when it is about one.
        resource: Option<String>,
        /// The text, colour directives removed.
        message: String,
    },
    /// A message of the CLI or of byoc itself (retries, recovery, …).
    Message(String),
    /// What the engine is doing right now: shown in place, never as a line.
    Activity(String),
    /// The run's summary.
    Summary {
        /// Op → count.
        changes: Vec<(String, u64)>,
        /// Engine-reported duration.
        seconds: i64,
        /// A preview.
        preview: bool,
    },
}

impl Item {
    /// The line to print, if this item is one (colours only when enabled on stdout).
    pub fn line(&self) -> Option<String> {
        use console::style;
        match self {
            Item::Done(s) => {
                let (sym, color) = symbol(&s.op);
                let verb = if s.planned {
                    s.op.clone()
                } else {
                    past_tense(&s.op)
                };
                let head = style(format!("{sym} {verb:<9}")).fg(color);
                let dur = s
                    .seconds
                    .map(|d| format!("  {}", duration(d)))
                    .unwrap_or_default();
                Some(format!("{head} {}  {}{dur}", s.name, style(&s.type_).dim()))
            }
            Item::Failed(s) => {
                let dur = s
                    .seconds
                    .map(|d| format!("  {}", duration(d)))
                    .unwrap_or_default();
                let head = style(format!("x {} failed", s.op)).red().bold();
                Some(format!("{head} {}  {}{dur}", s.name, style(&s.type_).dim()))
            }
            Item::Diagnostic {
                severity,
                resource,
                message,
            } => {
                let label = match severity.as_str() {
                    "error" => style(format!("{severity}:")).red().bold(),
                    "warning" => style(format!("{severity}:")).yellow(),
                    _ => style(format!("{severity}:")).dim(),
                };
                let about = resource
                    .as_ref()
                    .map(|r| format!("{r}: "))
                    .unwrap_or_default();
                Some(format!(
                    "{label} {about}{}",
                    message.replace('\n', "\n    ")
                ))
            }
            Item::Message(m) => Some(m.clone()),
            Item::Activity(_) => None,
            Item::Summary {
                changes,
                seconds,
                preview,
            } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|(op, n)| {
                        if *preview && op != "same" {
                            format!("{n} to {op}")
                        } else {
                            format!("{n} {}", past_tense(op))
                        }
                    })
                    .collect();
                let what = if parts.is_empty() {
                    "no changes".to_owned()
                } else {
                    parts.join(", ")
                };
                Some(format!(
                    "{} {what}; took {}",
                    style("Resources:").bold(),
                    duration(*seconds)
                ))
            }
        }
    }
}

/// The symbol and colour of an op.
fn symbol(op: &str) -> (&'static str, console::Color) {
    use console::Color;
    match op {
        "create" => ("+", Color::Green),
        "update" => ("~", Color::Yellow),
        "delete" => ("-", Color::Red),
        "replace" => ("+-", Color::Magenta),
        "create-replacement" => ("++", Color::Magenta),
        "delete-replaced" => ("--", Color::Magenta),
        "import" | "import-replacement" => ("=", Color::Cyan),
        _ => ("*", Color::White),
    }
}

/// Ops that change nothing and get no line (they still count as progress).
fn quiet(op: &OpType) -> bool {
    matches!(op, OpType::Same | OpType::Refresh | OpType::Read)
}

/// Folds events into items and progress.
#[derive(Debug, Default)]
pub struct Progress {
    estimate: Option<u64>,
    /// URN → timestamp of its latest `resourcePreEvent`, in the current run.
    started: HashMap<String, i64>,
    /// URNs whose step ended, in the current run.
    done: HashSet<String>,
    /// The current run printed its summary.
    summarized: bool,
}

impl Progress {
    /// `estimate`: resources the plan holds, when known before the first event.
    pub fn new(estimate: Option<u64>) -> Self {
        Self {
            estimate,
            ..Self::default()
        }
    }

    /// `(done, total)` of the current run. The total is the plan's, or more when the engine
    /// starts more steps than planned; after the summary it is exactly what was done.
    pub fn position(&self) -> (u64, u64) {
        let done = self.done.len() as u64;
        if self.summarized {
            return (done, done);
        }
        let total = self
            .estimate
            .unwrap_or(0)
            .max(self.started.len() as u64)
            .max(done);
        (done, total)
    }

    /// Folds one stored event (`kind` as the API names it, `payload` its JSON).
    pub fn on_event(&mut self, kind: &str, payload: &Value) -> Vec<Item> {
        if kind.starts_with("byoc.") {
            return vec![Item::Message(format!(
                "byoc: {}",
                byoc_message(kind, payload)
            ))];
        }
        let Ok(ev) = EngineEvent::from_value(payload.clone()) else {
            return Vec::new();
        };
        let meta_step = |m: &StepMetadata, seconds: Option<i64>, planned: bool| Step {
            op: m.op.as_str().to_owned(),
            name: resource_name(&m.urn),
            type_: m.type_.clone(),
            seconds,
            planned,
        };
        match ev.payload {
            EventPayload::Prelude(_) => {
                // A new engine run (a retry, or a second run within one operation).
                self.started.clear();
                self.done.clear();
                self.summarized = false;
                vec![Item::Activity("starting the engine".to_owned())]
            }
            EventPayload::ResourcePre(s) => {
                let m = &s.metadata;
                self.started.insert(m.urn.clone(), ev.timestamp);
                vec![Item::Activity(format!(
                    "{} {}",
                    m.op.as_str(),
                    resource_name(&m.urn)
                ))]
            }
            EventPayload::ResOutputs(s) => {
                let m = &s.metadata;
                self.done.insert(m.urn.clone());
                if quiet(&m.op) {
                    return Vec::new();
                }
                let secs = (!s.planning)
                    .then(|| self.started.get(&m.urn).map(|t| ev.timestamp - t))
                    .flatten();
                vec![Item::Done(meta_step(m, secs, s.planning))]
            }
            EventPayload::ResOpFailed(f) => {
                let m = &f.metadata;
                self.done.insert(m.urn.clone());
                let secs = self.started.get(&m.urn).map(|t| ev.timestamp - t);
                vec![Item::Failed(meta_step(m, secs, false))]
            }
            EventPayload::Diagnostic(d) => {
                let message = d.plain_message();
                if d.severity == "debug" || message.is_empty() {
                    Vec::new()
                } else if d.ephemeral {
                    vec![Item::Activity(
                        message.lines().next().unwrap_or("").to_owned(),
                    )]
                } else {
                    vec![Item::Diagnostic {
                        severity: d.severity.split('#').next().unwrap_or("info").to_owned(),
                        resource: d
                            .urn
                            .as_deref()
                            .filter(|u| !u.is_empty())
                            .map(resource_name),
                        message,
                    }]
                }
            }
            EventPayload::Stdout(s) => {
                let text = strip_color(&s.message).trim().to_owned();
                if text.is_empty() {
                    Vec::new()
                } else {
                    vec![Item::Message(text)]
                }
            }
            EventPayload::Error(e) => vec![Item::Diagnostic {
                severity: "error".to_owned(),
                resource: None,
                message: e.error,
            }],
            EventPayload::Summary(s) => {
                self.summarized = true;
                let mut changes: Vec<(String, u64)> = s
                    .resource_changes
                    .into_iter()
                    .filter(|(_, n)| *n > 0)
                    .collect();
                // Changes first, in the order an operator reads them; unchanged last.
                changes.sort_by_key(|(op, _)| {
                    ["create", "update", "replace", "delete"]
                        .iter()
                        .position(|o| o == op)
                        .unwrap_or(if op == "same" { 9 } else { 5 })
                });
                vec![Item::Summary {
                    changes,
                    seconds: s.duration_seconds as i64,
                    preview: s.is_preview.unwrap_or(false),
                }]
            }
            EventPayload::Other { kind, body } => other_item(&kind, &body),
            EventPayload::Cancel => Vec::new(),
        }
    }
}

/// Policy and plugin-download events; other kinds are ignored.
fn other_item(kind: &str, body: &Value) -> Vec<Item> {
    let text = |k: &str| {
        strip_color(body[k].as_str().unwrap_or_default())
            .trim()
            .to_owned()
    };
    match kind {
        "policyEvent" => vec![Item::Diagnostic {
            severity: if body["enforcementLevel"] == "mandatory" {
                "error"
            } else {
                "warning"
            }
            .to_owned(),
            resource: body["resourceUrn"].as_str().map(resource_name),
            message: format!("policy {}: {}", text("policyName"), text("message")),
        }],
        "progressEvent" => vec![Item::Activity(text("message"))],
        _ => Vec::new(),
    }
}

/// The last `::` part of a URN (the resource's name); the whole string otherwise.
pub fn resource_name(urn: &str) -> String {
    urn.rsplit("::").next().unwrap_or(urn).to_owned()
}

/// The human part of a byoc event: its `message`, at the top or under the kind.
fn byoc_message(kind: &str, payload: &Value) -> String {
    let inner = &payload[kind];
    for candidate in [&payload["message"], &inner["message"]] {
        if let Some(m) = candidate.as_str() {
            return match inner["attempt"].as_i64() {
                Some(a) => format!("{m} (attempt {a})"),
                None => m.to_owned(),
            };
        }
    }
    let what = kind.trim_start_matches("byoc.").replace('-', " ");
    let body = if inner.is_null() { payload } else { inner };
    format!("{what} {body}")
}
