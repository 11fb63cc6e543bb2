//! One run, start to end: prepare, resolve pending operations when the stack may hold some,
//! turn deletion protection off before a destroy, run the engine (`engine`), repair the stack
//! when the engine had to be stopped, and read the outputs after an update.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::LocalExecutor;
use super::engine::{Engine, EngineOp, LOCK_CLEARED_EVENT};
use super::outcome::{LocalError, pulumi_outcome};
use super::pending::Pending;
use super::prepare::{self, OpenStack};
use super::protection;
use crate::domain::OperationKind;
use crate::executor::{EventSink, OperationJob, Outcome, OutputValue, PlanFile, PlanStep};
use crate::pulumi::{OperationResult, PreviewOptions, PulumiError, RunControl, UpOptions};
use crate::telemetry::TIMING;

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
    // The role pre-flight is a round trip to STS: the program is rendered while it is in
    // flight (`join!` polls the request first, then renders on this task while it waits).
    let (checked, program) = tokio::join!(
        async {
            tokio::select! {
                r = prepare::preflight(exec, job) => r,
                () = cancel.cancelled() => Err(LocalError::CancelledEarly),
            }
        },
        async { prepare::render_program(exec, job, &job.config) },
    );
    let program = program?;
    checked?;
    tracing::debug!(target: TIMING, step = "rendered");
    if cancel.is_cancelled() {
        return Err(LocalError::CancelledEarly);
    }
    let mut open = prepare::open_stack(exec, job, &program, cancel, deadline, Some(sink)).await?;
    tracing::debug!(target: TIMING, step = "workspace ready");
    // The program is the workspace's `Pulumi.yaml` now; what needs it again reads it back
    // from there rather than every running operation holding a copy (15–55 KB) for as long
    // as the engine runs (issue 16: memory per operation in flight).
    drop(program);
    if job.check_pending {
        let program_yaml = open.ws.read_program()?;
        let pending = Pending {
            exec,
            ws: &open.ws,
            stack: &job.stack,
            program_yaml: &program_yaml,
            sink,
        };
        pending.resolve(&open.control.run_control()).await?;
    }
    if job.kind == OperationKind::Destroy && job.config.eks.deletion_protection {
        protection::turn_off(exec, job, sink, cancel, deadline).await?;
    }
    let op = engine_op(job, &open)?;
    // An update's outputs are read with `stack output --show-secrets`, which reads the state
    // the engine wrote, not its event log (the CLI loads the stack's latest checkpoint from the
    // backend: pkg/cmd/pulumi/stack/stack_output.go; the stand-in's `stack output` does the
    // same, cmd_stack.py), and the engine has written its final checkpoint before `up` exits
    // 0 (engine events are not needed): that CLI starts as soon as `up` exited 0, while the
    // tail of the log is still decoded and stored (issue 16: the drain took 0–8 ms p50,
    // 11–17 ms p99). Masking still waits for the drained log (`read_outputs`).
    let reads_outputs = job.kind == OperationKind::Update && job.plan != PlanStep::Save;
    let exited_ok = Arc::new(Notify::new());
    let (result, shown) = {
        let engine = run_engine(
            exec,
            job,
            &open,
            sink,
            &op,
            reads_outputs.then_some(&exited_ok),
        );
        tokio::pin!(engine);
        tokio::select! {
            // Engine first: a run that ended (even in the poll that notified) has nothing to
            // overlap, and its outputs are read after it as before.
            biased;
            r = &mut engine => (r, None),
            () = exited_ok.notified(), if reads_outputs => {
                let ctl = open.control.run_control();
                let read = exec.runner.stack_outputs_shown(&open.ws, &job.stack, &ctl);
                let (r, shown) = tokio::join!(&mut engine, read);
                (r, Some(shown))
            }
        }
    };
    prepare::report_settings(exec, job, &mut open, sink).await?;
    tracing::debug!(target: TIMING, step = "settings read");
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            if stopped_by_force(&e) {
                repair_after_stop(exec, job, &open, sink).await;
            }
            return Ok(pulumi_outcome(e));
        }
    };
    let summary = result.summary.resource_changes.clone();
    if job.plan == PlanStep::Save {
        let path = open.ws.path().join(PLAN_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            PulumiError::io(format!("reading the saved plan {}", path.display()), e)
        })?;
        sink.plan(PlanFile(bytes)).await;
        return Ok(Outcome::Succeeded {
            summary,
            outputs: None,
        });
    }
    let outputs = match job.kind {
        OperationKind::Update => read_outputs(exec, job, &open, &result, shown, sink).await,
        _ => None,
    };
    tracing::debug!(target: TIMING, step = "outputs read");
    Ok(Outcome::Succeeded { summary, outputs })
}

/// The update plan's file name in the workspace (0700, removed with it).
const PLAN_FILE: &str = "byoc-update-plan.json";

/// The engine command of `job`: its kind's, or under change control the preview that saves
/// the plan (`preview --save-plan`) or the update constrained to the approved one
/// (`up --plan`, written into the workspace first).
fn engine_op(job: &OperationJob, open: &OpenStack) -> Result<EngineOp, LocalError> {
    Ok(match &job.plan {
        PlanStep::None => EngineOp::for_kind(job.kind),
        PlanStep::Save => EngineOp::Preview(PreviewOptions {
            save_plan: Some(open.ws.path().join(PLAN_FILE)),
            ..PreviewOptions::default()
        }),
        PlanStep::Apply(plan) => EngineOp::Up(UpOptions {
            plan: Some(open.ws.write_private_file(PLAN_FILE, &plan.0)?),
            ..UpOptions::default()
        }),
    })
}

/// Runs `op`; when a restored settings file names a stack the backend no longer has (its
/// state was removed), creates the stack once — `stack init` keeps the file's secrets
/// provider and key — and runs again.
async fn run_engine(
    exec: &LocalExecutor,
    job: &OperationJob,
    open: &OpenStack,
    sink: &EventSink,
    op: &EngineOp,
    exited_ok: Option<&Arc<Notify>>,
) -> Result<OperationResult, PulumiError> {
    let engine = Engine {
        exec,
        ws: &open.ws,
        stack: &job.stack,
        sink: Some(sink),
        control: &open.control,
        exited_ok,
    };
    match engine.run_clearing_stale_lock(op).await {
        Err(PulumiError::StackNotFound { .. }) if open.restored => {
            let provider = &exec.secrets_provider;
            let ctl = open.control.run_control();
            exec.runner
                .init_stack(&open.ws, &job.stack, provider, &ctl)
                .await?;
            engine.run_clearing_stale_lock(op).await
        }
        other => other,
    }
}

/// The engine was stopped by a cancel or the deadline. Whether it stopped gracefully is not
/// known from here: after a second signal the CLI still writes a summary but leaves its
/// in-flight steps pending (`cancellation_scope.go`), and after SIGKILL it leaves its lock too.
/// So every stop is followed by the repair; after a graceful one it finds nothing to do.
fn stopped_by_force(e: &PulumiError) -> bool {
    matches!(
        e,
        PulumiError::Cancelled { .. } | PulumiError::TimedOut { .. }
    )
}

/// After a forced stop: clears the stack's lock now (not at the next operation) and resolves
/// pending operations, with a budget of its own (the run's deadline may be spent, its cancel
/// token is). What cannot be done here is left to the next run (`check_pending`).
async fn repair_after_stop(
    exec: &LocalExecutor,
    job: &OperationJob,
    open: &OpenStack,
    sink: &EventSink,
) {
    sink.check_pending(true).await;
    let ctl = RunControl {
        timeout: Some(super::RECOVER_TIMEOUT),
        extra_env: open.control.extra_env.clone(),
        ..Default::default()
    };
    match exec.runner.cancel_update(&open.ws, &job.stack, &ctl).await {
        Ok(()) | Err(PulumiError::NothingToCancel { .. }) => {
            let note = json!({ "stack": job.stack.as_str(), "after": "the engine was stopped" });
            sink.event(LOCK_CLEARED_EVENT, note).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "clearing the lock after a forced stop failed");
            return;
        }
    }
    let program_yaml = match open.ws.read_program() {
        Ok(yaml) => yaml,
        Err(e) => {
            tracing::warn!(error = %e, "resolving pending operations after a forced stop failed; the next run will");
            return;
        }
    };
    let pending = Pending {
        exec,
        ws: &open.ws,
        stack: &job.stack,
        program_yaml: &program_yaml,
        sink,
    };
    if let Err(e) = pending.resolve(&ctl).await {
        tracing::warn!(error = %e, "resolving pending operations after a forced stop failed; the next run will");
    }
}

/// The stack outputs after an update, in one CLI process: the values from
/// `stack output --json --show-secrets`, and which are secret from the engine's own events
/// (secret values are masked as `[secret]` there). Without those events (an old CLI), the
/// masked `stack output --json` says it. A failure here does not undo the update: it is
/// reported as an event and the previous outputs stay recorded.
async fn read_outputs(
    exec: &LocalExecutor,
    job: &OperationJob,
    open: &OpenStack,
    result: &OperationResult,
    shown: Option<Result<BTreeMap<String, Value>, PulumiError>>,
    sink: &EventSink,
) -> Option<BTreeMap<String, OutputValue>> {
    let ctl = open.control.run_control();
    let read = async {
        let shown = match shown {
            Some(shown) => shown?,
            None => {
                exec.runner
                    .stack_outputs_shown(&open.ws, &job.stack, &ctl)
                    .await?
            }
        };
        let masked = match &result.masked_outputs {
            Some(m) => m.clone(),
            None => {
                let outputs = exec
                    .runner
                    .stack_outputs(&open.ws, &job.stack, &ctl)
                    .await?;
                let masked = outputs
                    .into_iter()
                    .map(|(k, v)| (k, if v.secret { json!("[secret]") } else { v.value }));
                Value::Object(masked.collect())
            }
        };
        Ok::<_, PulumiError>(
            shown
                .into_iter()
                .map(|(k, value)| {
                    let secret = masked
                        .get(&k)
                        .is_some_and(|m| m.to_string().contains("[secret]"));
                    (k, OutputValue { value, secret })
                })
                .collect(),
        )
    };
    match read.await {
        Ok(outputs) => Some(outputs),
        Err(e) => {
            tracing::warn!(error = %e, "update succeeded but its outputs could not be read");
            sink.event(OUTPUTS_UNAVAILABLE_EVENT, json!({ "error": e.to_string() }))
                .await;
            None
        }
    }
}
