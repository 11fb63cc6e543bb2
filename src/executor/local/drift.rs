//! A drift check (issue 18): `pulumi refresh --preview-only` in a fresh workspace, its events
//! folded into the resources whose cloud state differs. Changes nothing: no lock is taken, no
//! checkpoint written, and nothing the workspace ends with is reported back.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::LocalExecutor;
use super::outcome::LocalError;
use super::prepare;
use crate::domain::drift::{DriftedResource, drifted};
use crate::executor::OperationJob;
use crate::pulumi::{EventItem, RefreshOptions};

/// Runs the refresh preview of `job`'s stack.
pub(super) async fn check(
    exec: &LocalExecutor,
    job: &OperationJob,
    cancel: &CancellationToken,
) -> Result<Vec<DriftedResource>, LocalError> {
    let deadline = Instant::now() + job.timeout;
    let program = prepare::render_program(exec, job, &job.config)?;
    tokio::select! {
        r = prepare::preflight(exec, job) => r?,
        () = cancel.cancelled() => return Err(LocalError::CancelledEarly),
    }
    // No sink: the settings file this workspace ends with is not the stack's to keep.
    let open = prepare::open_stack(exec, job, &program, cancel, deadline, None).await?;
    let (tx, mut rx) = mpsc::channel::<EventItem>(256);
    let ctl = open.control.run_control();
    let run = async {
        let opts = RefreshOptions::default();
        let result = exec
            .runner
            .preview_refresh(&open.ws, &job.stack, &opts, &ctl, Some(&tx))
            .await;
        drop(tx);
        result
    };
    let collect = async {
        let mut events = Vec::new();
        while let Some(item) = rx.recv().await {
            if let Ok(ev) = item {
                events.push(ev.raw);
            }
        }
        events
    };
    let (result, events) = tokio::join!(run, collect);
    result?;
    Ok(drifted(&events))
}
