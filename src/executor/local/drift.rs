//! A drift check (issue 18): `pulumi refresh --preview-only` (`preview --refresh` on CLIs
//! before 3.229.0) in a fresh workspace, its events
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
use crate::pulumi::{EventItem, PreviewOptions, RefreshOptions, Version};

/// The first CLI whose `refresh --preview-only` takes no lock on a DIY backend
/// ("[backend/diy] Remove state lock for refresh --preview-only for diy backend",
/// pulumi/pulumi#22385, changelog/v3.229.0.md). Before it the check would hold the stack's
/// lock, and a deploy starting meanwhile would fail on it (or clear it as stale), so older
/// CLIs run `preview --refresh` instead, which never locks (`pkg/backend/diy/backend.go`
/// Preview) and shows the same refresh steps before the update's.
const UNLOCKED_REFRESH_PREVIEW: Version = Version {
    major: 3,
    minor: 229,
    patch: 0,
};

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
    let unlocked = exec.runner.version() >= UNLOCKED_REFRESH_PREVIEW;
    let run = async {
        let result = if unlocked {
            let opts = RefreshOptions::default();
            exec.runner
                .preview_refresh(&open.ws, &job.stack, &opts, &ctl, Some(&tx))
                .await
        } else {
            let opts = PreviewOptions {
                refresh: true,
                ..PreviewOptions::default()
            };
            exec.runner
                .preview(&open.ws, &job.stack, &opts, &ctl, Some(&tx))
                .await
        };
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
    Ok(drifted(&events, !unlocked))
}
