//! One run, start to end: prepare, run the engine while forwarding its events to the sink as
//! they arrive, clear a stale lock once, and read the outputs after an update.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::LocalExecutor;
use super::outcome::{LocalError, pulumi_outcome};
use super::prepare::{self, Control};
use super::protection;
use crate::domain::{OperationKind, StackName};
use crate::executor::{EventSink, OperationJob, Outcome, OutputValue};
use crate::pulumi::{
    CancelToken, DestroyOptions, EventItem, OperationResult, PreviewOptions, PulumiError,
    RefreshOptions, UpOptions, Workspace,
};

/// Event kind recorded when a stale lock was cleared before retrying.
pub const LOCK_CLEARED_EVENT: &str = "byoc.lock-cleared";
/// Event kind recorded for an event-log entry that did not decode (kept, not fatal).
pub const UNDECODABLE_EVENT: &str = "byoc.undecodable-event";
/// Event kind recorded when an update succeeded but its outputs could not be read.
pub const OUTPUTS_UNAVAILABLE_EVENT: &str = "byoc.outputs-unavailable";

/// An engine command with its options.
#[derive(Debug, Clone)]
pub(super) enum EngineOp {
    Preview,
    Up(UpOptions),
    Refresh,
    Destroy,
}

impl EngineOp {
    fn for_kind(kind: OperationKind) -> Self {
        match kind {
            OperationKind::Preview => Self::Preview,
            OperationKind::Update => Self::Up(UpOptions::default()),
            OperationKind::Refresh => Self::Refresh,
            OperationKind::Destroy => Self::Destroy,
        }
    }
}

/// Aborts the wrapped task when dropped (the cancel bridge must not outlive its run).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Turns the worker's token into the driver's (SIGINT, grace, SIGTERM, SIGKILL).
fn bridge(cancel: CancellationToken, token: CancelToken) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        cancel.cancelled().await;
        token.cancel();
    }))
}

/// Runs `job`; errors are mapped to an outcome by the caller.
pub(super) async fn run(
    exec: &LocalExecutor,
    job: &OperationJob,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<Outcome, LocalError> {
    let deadline = Instant::now() + job.timeout;
    let program = prepare::render_program(exec, job, &job.config)?;
    tokio::select! {
        r = prepare::preflight(exec, job) => r?,
        () = cancel.cancelled() => return Err(LocalError::CancelledEarly),
    }
    if cancel.is_cancelled() {
        return Err(LocalError::CancelledEarly);
    }
    let token = CancelToken::new();
    let _bridge = bridge(cancel.clone(), token.clone());

    if job.kind == OperationKind::Destroy && job.config.eks.deletion_protection {
        protection::turn_off(exec, job, sink, &token, deadline).await?;
    }
    let open = prepare::open_stack(exec, job, &program, &token, deadline).await?;
    let op = EngineOp::for_kind(job.kind);
    let result =
        engine_clearing_stale_lock(exec, &open.ws, &job.stack, &op, Some(sink), &open.control)
            .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => return Ok(pulumi_outcome(e)),
    };
    let summary = result.summary.resource_changes.clone();
    let outputs = match job.kind {
        OperationKind::Update => {
            read_outputs(exec, &open.ws, &job.stack, sink, &open.control).await
        }
        _ => None,
    };
    Ok(Outcome::Succeeded { summary, outputs })
}

/// Runs `op`; when the stack is locked at start, clears the lock once and retries. byoc runs
/// at most one operation per stack, so a lock found at start was left by a crashed run.
pub(super) async fn engine_clearing_stale_lock(
    exec: &LocalExecutor,
    ws: &Workspace,
    stack: &StackName,
    op: &EngineOp,
    sink: Option<&EventSink>,
    control: &Control,
) -> Result<OperationResult, PulumiError> {
    match engine(exec, ws, stack, op, sink, control).await {
        Err(PulumiError::ConcurrentUpdate { stderr_tail }) => {
            tracing::warn!(lock = %stderr_tail, "stack locked at start: clearing a stale lock");
            match exec
                .runner
                .cancel_update(ws, stack, &control.run_control())
                .await
            {
                // The other update ended meanwhile: nothing to clear, just run again.
                Ok(()) | Err(PulumiError::NothingToCancel { .. }) => {}
                Err(e) => return Err(e),
            }
            if let Some(sink) = sink {
                sink.event(
                    LOCK_CLEARED_EVENT,
                    json!({ "stack": stack.as_str(), "lock": stderr_tail }),
                )
                .await;
            }
            engine(exec, ws, stack, op, sink, control).await
        }
        other => other,
    }
}

/// Runs one engine command, forwarding each event to `sink` while it runs.
async fn engine(
    exec: &LocalExecutor,
    ws: &Workspace,
    stack: &StackName,
    op: &EngineOp,
    sink: Option<&EventSink>,
    control: &Control,
) -> Result<OperationResult, PulumiError> {
    let (tx, mut rx) = mpsc::channel::<EventItem>(256);
    let ctl = control.run_control();
    let runner = &exec.runner;
    let run = async move {
        let events = sink.is_some().then_some(&tx);
        let result = match op {
            EngineOp::Preview => {
                runner
                    .preview(ws, stack, &PreviewOptions::default(), &ctl, events)
                    .await
            }
            EngineOp::Up(opts) => runner.up(ws, stack, opts, &ctl, events).await,
            EngineOp::Refresh => {
                runner
                    .refresh(ws, stack, &RefreshOptions::default(), &ctl, events)
                    .await
            }
            EngineOp::Destroy => {
                runner
                    .destroy(ws, stack, &DestroyOptions::default(), &ctl, events)
                    .await
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

/// The stack outputs after an update. A failure here does not undo the update: it is
/// reported as an event and the previous outputs stay recorded.
async fn read_outputs(
    exec: &LocalExecutor,
    ws: &Workspace,
    stack: &StackName,
    sink: &EventSink,
    control: &Control,
) -> Option<BTreeMap<String, OutputValue>> {
    match exec
        .runner
        .stack_outputs(ws, stack, &control.run_control())
        .await
    {
        Ok(outputs) => Some(
            outputs
                .into_iter()
                .map(|(k, v)| {
                    let value = OutputValue {
                        value: v.value,
                        secret: v.secret,
                    };
                    (k, value)
                })
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "update succeeded but its outputs could not be read");
            sink.event(OUTPUTS_UNAVAILABLE_EVENT, json!({ "error": e.to_string() }))
                .await;
            None
        }
    }
}
