//! Folds engine events into what callers show and record: per-resource progress, the summary
//! and the error diagnostics.

use std::collections::HashMap;

use super::events::{EngineEvent, EventPayload, OpType, UpdateSummary};

/// Where one resource's step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// `resourcePreEvent` seen, no outcome yet.
    Started,
    /// `resOutputsEvent` seen.
    Done,
    /// `resOpFailedEvent` seen.
    Failed,
}

/// Progress of one resource (URN) in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceProgress {
    /// Resource URN.
    pub urn: String,
    /// Type token.
    pub type_: String,
    /// Every op the engine started for it, in order (a replacement shows its whole chain).
    pub ops: Vec<OpType>,
    /// Outcome of the last step.
    pub status: StepStatus,
}

/// The type of a stack's root resource, whose outputs are the stack outputs.
const STACK_TYPE: &str = "pulumi:pulumi:Stack";

/// Accumulates what a stream of events says.
#[derive(Debug, Clone, Default)]
pub struct RunDigest {
    resources: Vec<ResourceProgress>,
    index: HashMap<String, usize>,
    /// Every `summaryEvent`, in order (a well-formed run has exactly one).
    pub summaries: Vec<UpdateSummary>,
    /// `error` diagnostics with colors stripped.
    pub error_diagnostics: Vec<String>,
    /// A `cancelEvent` (end of stream) was seen.
    pub ended: bool,
    /// The stack's outputs as the last non-planning `resOutputsEvent` of the
    /// `pulumi:pulumi:Stack` resource showed them: secret values masked as `[secret]`
    /// (pulumi/pulumi `pkg/backend/display/events.go`, events are rendered without secrets).
    pub stack_outputs: Option<serde_json::Value>,
}

impl RunDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in.
    pub fn observe(&mut self, ev: &EngineEvent) {
        match &ev.payload {
            EventPayload::ResourcePre(s) => {
                let m = &s.metadata;
                let r = self.entry(&m.urn, &m.type_);
                r.ops.push(m.op.clone());
                r.status = StepStatus::Started;
            }
            EventPayload::ResOutputs(s) => {
                if s.metadata.type_ == STACK_TYPE && !s.planning {
                    let outputs = s.metadata.new.as_ref().and_then(|n| n.get("outputs"));
                    self.stack_outputs = outputs.cloned();
                }
                let r = self.entry(&s.metadata.urn, &s.metadata.type_);
                r.status = StepStatus::Done;
            }
            EventPayload::ResOpFailed(s) => {
                let r = self.entry(&s.metadata.urn, &s.metadata.type_);
                r.status = StepStatus::Failed;
            }
            EventPayload::Diagnostic(d) if d.severity == "error" => {
                self.error_diagnostics.push(d.plain_message());
            }
            EventPayload::Summary(s) => self.summaries.push(s.clone()),
            EventPayload::Cancel => self.ended = true,
            _ => {}
        }
    }

    /// Resources in order of first appearance.
    pub fn resources(&self) -> &[ResourceProgress] {
        &self.resources
    }

    /// The last summary, if any.
    pub fn last_summary(&self) -> Option<&UpdateSummary> {
        self.summaries.last()
    }

    fn entry(&mut self, urn: &str, type_: &str) -> &mut ResourceProgress {
        let i = match self.index.get(urn) {
            Some(i) => *i,
            None => {
                self.resources.push(ResourceProgress {
                    urn: urn.to_owned(),
                    type_: type_.to_owned(),
                    ops: Vec::new(),
                    status: StepStatus::Started,
                });
                self.index.insert(urn.to_owned(), self.resources.len() - 1);
                self.resources.len() - 1
            }
        };
        &mut self.resources[i]
    }
}
