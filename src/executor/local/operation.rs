//! One run, start to end: prepare, turn deletion protection off before a destroy, run the
//! engine (`engine`), and read the outputs after an update.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::LocalExecutor;
use super::engine::{Engine, EngineOp};
use super::outcome::{LocalError, pulumi_outcome};
use super::prepare::{self, Control};
use super::protection;
use crate::domain::{OperationKind, StackName};
use crate::executor::{EventSink, OperationJob, Outcome, OutputValue};
use crate::pulumi::Workspace;

/// Event kind recorded when an update succeeded but its outputs could not be read.
pub const OUTPUTS_UNAVAILABLE_EVENT: &str = "byoc.outputs-unavailable";

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
    if job.kind == OperationKind::Destroy && job.config.eks.deletion_protection {
        protection::turn_off(exec, job, sink, cancel, deadline).await?;
    }
    let open = prepare::open_stack(exec, job, &program, cancel, deadline).await?;
    let op = EngineOp::for_kind(job.kind);
    let engine = Engine {
        exec,
        ws: &open.ws,
        stack: &job.stack,
        sink: Some(sink),
        control: &open.control,
    };
    let result = engine.run_clearing_stale_lock(&op).await;
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
