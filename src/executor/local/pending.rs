//! Pending operations left in a stack's checkpoint by a CLI that was killed mid-step (a dead
//! worker, a cancel that escalated to SIGKILL, a lost lease). The real `up` only warns about
//! pending creates and creates them again, which fails for fixed physical names
//! (`docs/pulumi-contract.md` §3.4). Before the next engine run byoc reads them
//! (`stack export`) and resolves them in one refresh: pending creates whose provider ID the
//! program determines are imported (`--import-pending-creates <urn> <id>`), the others cleared
//! (`--clear-pending-creates`; `pending_ids.rs` says which and why). An import whose object
//! turns out not to exist fails the refresh; those operations are then dropped with a
//! `stack import` of the exported state, which removes every pending operation
//! (`stack_import.go`), so the next run creates them. Other pending operations (updates,
//! deletes) need nothing: the engine drops them at its next checkpoint (`snapshot.go`).

use serde_json::{Value, json};

use super::LocalExecutor;
use super::pending_ids::ProgramIds;
use crate::domain::StackName;
use crate::executor::EventSink;
use crate::pulumi::{PulumiError, RefreshOptions, RunControl, Workspace};

/// Event kind: which pending creates were found and what is done with each.
pub const PENDING_CREATES_EVENT: &str = "byoc.pending-creates";
/// Event kind: the pending creates are resolved (imported, cleared, or dropped).
pub const PENDING_RESOLVED_EVENT: &str = "byoc.pending-resolved";

/// One pending create and what byoc does with it.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    urn: String,
    type_: String,
    /// `Some(id)`: import it; `None`: clear it.
    import: Option<String>,
}

/// Where the resolution runs.
pub(super) struct Pending<'a> {
    pub exec: &'a LocalExecutor,
    pub ws: &'a Workspace,
    pub stack: &'a StackName,
    pub program_yaml: &'a str,
    pub sink: &'a EventSink,
}

impl Pending<'_> {
    /// Reads the checkpoint's pending operations and resolves the pending creates; reports
    /// `check_pending(false)` once nothing is left to resolve.
    pub(super) async fn resolve(&self, ctl: &RunControl) -> Result<(), PulumiError> {
        let runner = &self.exec.runner;
        let export = match runner.export_stack(self.ws, self.stack, ctl).await {
            Ok(doc) => doc,
            // A stack that does not exist has no checkpoint, so nothing pending.
            Err(PulumiError::StackNotFound { .. }) => {
                self.sink.check_pending(false).await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let plans = plan(&export, &ProgramIds::new(self.program_yaml));
        if plans.is_empty() {
            self.sink.check_pending(false).await;
            return Ok(());
        }
        let described: Vec<Value> = plans.iter().map(describe).collect();
        tracing::warn!(
            count = plans.len(),
            "resolving pending creates left by an interrupted run"
        );
        self.sink
            .event(
                PENDING_CREATES_EVENT,
                json!({ PENDING_CREATES_EVENT: { "stack": self.stack.as_str(), "creates": described } }),
            )
            .await;
        let opts = RefreshOptions {
            clear_pending_creates: true,
            import_pending_creates: plans
                .iter()
                .filter_map(|p| Some((p.urn.clone(), p.import.clone()?)))
                .collect(),
            ..RefreshOptions::default()
        };
        let mut dropped = Vec::new();
        match runner.refresh(self.ws, self.stack, &opts, ctl, None).await {
            Ok(_) => {}
            Err(PulumiError::ProgramFailed { diagnostics, .. }) => {
                tracing::warn!(
                    ?diagnostics,
                    "importing pending creates failed; dropping them"
                );
                dropped = self.drop_remaining(ctl).await?;
            }
            Err(e) => return Err(e),
        }
        let imported: Vec<&str> = plans
            .iter()
            .filter(|p| p.import.is_some() && !dropped.contains(&p.urn))
            .map(|p| p.urn.as_str())
            .collect();
        let cleared: Vec<&str> = plans
            .iter()
            .filter(|p| p.import.is_none())
            .map(|p| p.urn.as_str())
            .collect();
        self.sink
            .event(
                PENDING_RESOLVED_EVENT,
                json!({ PENDING_RESOLVED_EVENT: {
                    "imported": imported,
                    "cleared": cleared,
                    "dropped": dropped,
                } }),
            )
            .await;
        self.sink.check_pending(false).await;
        Ok(())
    }

    /// Drops whatever is still pending (imports of objects that do not exist) by importing the
    /// exported state again. Returns their URNs.
    async fn drop_remaining(&self, ctl: &RunControl) -> Result<Vec<String>, PulumiError> {
        let runner = &self.exec.runner;
        let export = runner.export_stack(self.ws, self.stack, ctl).await?;
        let left: Vec<String> = pending(&export).map(|(urn, _, _)| urn.to_owned()).collect();
        if left.is_empty() {
            return Ok(left);
        }
        let text = serde_json::to_vec(&export).map_err(|e| PulumiError::BadOutput {
            command: "stack export".into(),
            reason: e.to_string(),
        })?;
        let file = self
            .ws
            .write_private_file("state-without-pending.json", &text)?;
        runner.import_stack(self.ws, self.stack, &file, ctl).await?;
        Ok(left)
    }
}

/// `(urn, type, operation type)` of each pending operation in a `stack export` document.
fn pending(export: &Value) -> impl Iterator<Item = (&str, &str, &str)> {
    export["deployment"]["pending_operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|op| {
            let res = &op["resource"];
            Some((
                res["urn"].as_str()?,
                res["type"].as_str().unwrap_or_default(),
                op["type"].as_str().unwrap_or_default(),
            ))
        })
}

/// What to do with each pending create (`apitype.OperationType` `creating`).
fn plan(export: &Value, ids: &ProgramIds) -> Vec<Plan> {
    pending(export)
        .filter(|(_, _, op)| *op == "creating")
        .map(|(urn, type_, _)| Plan {
            urn: urn.to_owned(),
            type_: type_.to_owned(),
            import: ids.derive(urn, type_),
        })
        .collect()
}

fn describe(p: &Plan) -> Value {
    match &p.import {
        Some(id) => json!({"urn": p.urn, "type": p.type_, "action": "import", "id": id}),
        None => json!({
            "urn": p.urn,
            "type": p.type_,
            "action": "clear",
            "note": "its provider ID is not determined by the program, or its create is \
                     idempotent: the next run creates it again; an object created before the \
                     interruption may remain untracked (tagged ManagedBy=byoc)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_creates_are_planned_and_derivable_ones_imported() {
        let program = "resources:\n  cluster:\n    type: aws:eks/cluster:Cluster\n    \
                       properties:\n      name: acme-prod\n";
        let export = json!({"version": 3, "deployment": {"pending_operations": [
            {"type": "creating", "resource": {"urn": "urn:pulumi:s::p::aws:eks/cluster:Cluster::cluster", "type": "aws:eks/cluster:Cluster"}},
            {"type": "creating", "resource": {"urn": "urn:pulumi:s::p::aws:ec2/vpc:Vpc::vpc", "type": "aws:ec2/vpc:Vpc"}},
            {"type": "updating", "resource": {"urn": "urn:pulumi:s::p::aws:iam/role:Role::r", "type": "aws:iam/role:Role"}},
        ]}});
        let plans = plan(&export, &ProgramIds::new(program));
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].import.as_deref(), Some("acme-prod"));
        assert_eq!(plans[1].import, None);
    }
}
