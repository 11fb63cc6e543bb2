//! Running one engine command (preview, up, refresh, destroy) with its events forwarded to
//! the sink as they are read, and a stale lock cleared once. Used by the operation itself and
//! by the deletion-protection step before a destroy.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::{Notify, mpsc};

use super::LocalExecutor;
use super::prepare::Control;
use crate::domain::{OperationKind, StackName};
use crate::executor::EventSink;
use crate::pulumi::{
    DestroyOptions, EventItem, OperationResult, PreviewOptions, PulumiError, RefreshOptions,
    UpOptions, Workspace,
};

/// Event kind recorded when a stale lock was cleared before retrying.
pub const LOCK_CLEARED_EVENT: &str = "byoc.lock-cleared";
/// Event kind recorded for an event-log entry that did not decode (kept, not fatal).
pub const UNDECODABLE_EVENT: &str = "byoc.undecodable-event";

/// An engine command with its options.
#[derive(Debug, Clone)]
pub(super) enum EngineOp {
    Preview(PreviewOptions),
    Up(UpOptions),
    Refresh,
    Destroy,
}

impl EngineOp {
    pub(super) fn for_kind(kind: OperationKind) -> Self {
        match kind {
            OperationKind::Preview => Self::Preview(PreviewOptions::default()),
            OperationKind::Update => Self::Up(UpOptions::default()),
            OperationKind::Refresh => Self::Refresh,
            OperationKind::Destroy => Self::Destroy,
            // Recorded finished by the queue; no worker ever claims one.
            OperationKind::Forget => unreachable!("a forget operation is never run"),
        }
    }
}

/// One stack in an open workspace, where engine commands run.
pub(super) struct Engine<'a> {
    pub exec: &'a LocalExecutor,
    pub ws: &'a Workspace,
    pub stack: &'a StackName,
    /// Where the events go; `None` for internal checks whose events are not the operation's.
    pub sink: Option<&'a EventSink>,
    pub control: &'a Control,
    /// Notified when an engine command exits with status 0, before its event log is drained
    /// (see [`crate::pulumi::RunControl::exited_ok`]); `None` when nothing waits for that.
    pub exited_ok: Option<&'a Arc<Notify>>,
}

impl Engine<'_> {
    /// Runs `op`; when the stack is locked at start, clears the lock once and retries. byoc
    /// runs at most one operation per stack, so a lock found at start was left by a crashed
    /// run (`docs/pulumi-contract.md` §3.2).
    pub(super) async fn run_clearing_stale_lock(
        &self,
        op: &EngineOp,
    ) -> Result<OperationResult, PulumiError> {
        match self.run(op).await {
            Err(PulumiError::ConcurrentUpdate { stderr_tail }) => {
                tracing::warn!(lock = %stderr_tail, "stack locked at start: clearing a stale lock");
                let ctl = self.control.run_control();
                match self
                    .exec
                    .runner
                    .cancel_update(self.ws, self.stack, &ctl)
                    .await
                {
                    // The other update ended meanwhile: nothing to clear, just run again.
                    Ok(()) | Err(PulumiError::NothingToCancel { .. }) => {}
                    Err(e) => return Err(e),
                }
                if let Some(sink) = self.sink {
                    let note = json!({ "stack": self.stack.as_str(), "lock": stderr_tail });
                    sink.event(LOCK_CLEARED_EVENT, note).await;
                }
                self.run(op).await
            }
            other => other,
        }
    }

    /// Runs one engine command, forwarding each event to the sink while it runs.
    async fn run(&self, op: &EngineOp) -> Result<OperationResult, PulumiError> {
        let (tx, mut rx) = mpsc::channel::<EventItem>(256);
        let mut ctl = self.control.run_control();
        ctl.exited_ok = self.exited_ok.cloned();
        let (runner, ws, stack, sink) = (&self.exec.runner, self.ws, self.stack, self.sink);
        let run = async move {
            let events = sink.is_some().then_some(&tx);
            let result = match op {
                EngineOp::Preview(opts) => runner.preview(ws, stack, opts, &ctl, events).await,
                EngineOp::Up(opts) => runner.up(ws, stack, opts, &ctl, events).await,
                EngineOp::Refresh => {
                    let opts = RefreshOptions::default();
                    runner.refresh(ws, stack, &opts, &ctl, events).await
                }
                EngineOp::Destroy => {
                    let opts = DestroyOptions::default();
                    runner.destroy(ws, stack, &opts, &ctl, events).await
                }
            };
            // Ends the forwarding loop below.
            drop(tx);
            result
        };
        let forward = async {
            while let Some(item) = rx.recv().await {
                let Some(sink) = sink else { continue };
                match item {
                    Ok(ev) => {
                        let kind = ev.kind().to_owned();
                        sink.event(kind, ev.raw).await;
                    }
                    Err(e) => {
                        let payload = json!({ "reason": e.reason, "line": e.line });
                        sink.event(UNDECODABLE_EVENT, payload).await;
                    }
                }
            }
        };
        let (result, ()) = tokio::join!(run, forward);
        result
    }
}
