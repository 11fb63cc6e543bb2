//! preview / up / refresh / destroy: the argv of `docs/pulumi-contract.md` §1.5, the event
//! log tailed while the CLI runs, and a typed result derived from the summary event.

use tokio::sync::mpsc;

use super::decode::EventItem;
use super::error::{FailedRun, PulumiError, classify};
use super::events::{EventError, UpdateSummary};
use super::options::{DestroyOptions, PreviewOptions, RefreshOptions, UpOptions};
use super::progress::{ResourceProgress, RunDigest};
use super::runner::{Invocation, RunControl, Runner, StopReason};
use super::tail::tail_event_log;
use super::workspace::Workspace;
use crate::domain::names::StackName;
use crate::telemetry::TIMING;

/// Outcome of a successful engine operation.
#[derive(Debug, Clone)]
pub struct OperationResult {
    /// The engine's `summaryEvent`.
    pub summary: UpdateSummary,
    /// Per-resource progress derived from the events (the events themselves go to the
    /// caller's [`EventSink`] as they are read).
    pub resources: Vec<ResourceProgress>,
    /// Lines of the log that did not decode (kept, not fatal).
    pub decode_errors: Vec<EventError>,
    /// Bounded stdout.
    pub stdout: String,
    /// Bounded stderr.
    pub stderr: String,
    /// Exit code (0).
    pub exit_code: i32,
    /// The stack outputs as the engine's events showed them (secret values `[secret]`), when
    /// the run produced the stack resource's outputs event.
    pub masked_outputs: Option<serde_json::Value>,
}

/// Result of [`Runner::preview`].
pub type PreviewResult = OperationResult;
/// Result of [`Runner::up`].
pub type UpResult = OperationResult;
/// Result of [`Runner::refresh`].
pub type RefreshResult = OperationResult;
/// Result of [`Runner::destroy`].
pub type DestroyResult = OperationResult;

/// Sink for live events: each decoded item is sent as soon as it is read. Drain it while the
/// operation runs; a full channel pauses the tail (the CLI itself is not blocked).
pub type EventSink = mpsc::Sender<EventItem>;

impl Runner {
    /// `pulumi preview [opts] --color=never --exec-kind=auto.local --event-log <log> --stack <s>`.
    pub async fn preview(
        &self,
        ws: &Workspace,
        stack: &StackName,
        opts: &PreviewOptions,
        ctl: &RunControl,
        events: Option<&EventSink>,
    ) -> Result<PreviewResult, PulumiError> {
        let mut args = vec!["preview".to_owned()];
        args.extend(opts.to_args());
        self.engine_op(ws, stack, args, true, ctl, events).await
    }

    /// `pulumi up --yes --skip-preview [opts] --color=never --exec-kind=auto.local --event-log <log> --stack <s>`.
    pub async fn up(
        &self,
        ws: &Workspace,
        stack: &StackName,
        opts: &UpOptions,
        ctl: &RunControl,
        events: Option<&EventSink>,
    ) -> Result<UpResult, PulumiError> {
        let mut args = vec!["up".into(), "--yes".into(), "--skip-preview".into()];
        args.extend(opts.to_args());
        self.engine_op(ws, stack, args, false, ctl, events).await
    }

    /// `pulumi refresh --yes --skip-preview [opts] --color=never --exec-kind=auto.local --event-log <log> --stack <s>`.
    pub async fn refresh(
        &self,
        ws: &Workspace,
        stack: &StackName,
        opts: &RefreshOptions,
        ctl: &RunControl,
        events: Option<&EventSink>,
    ) -> Result<RefreshResult, PulumiError> {
        let mut args = vec!["refresh".into(), "--yes".into(), "--skip-preview".into()];
        args.extend(opts.to_args());
        self.engine_op(ws, stack, args, false, ctl, events).await
    }

    /// `pulumi refresh --preview-only [opts] --color=never --exec-kind=auto.local --event-log <log> --stack <s>`:
    /// what a refresh would change, changing nothing and taking no lock (the Go SDK's
    /// `PreviewRefresh`; `pkg/backend/diy/backend.go` Refresh with `DryRun` takes no lock).
    pub async fn preview_refresh(
        &self,
        ws: &Workspace,
        stack: &StackName,
        opts: &RefreshOptions,
        ctl: &RunControl,
        events: Option<&EventSink>,
    ) -> Result<PreviewResult, PulumiError> {
        let mut args = vec!["refresh".into(), "--preview-only".into()];
        args.extend(opts.to_args());
        self.engine_op(ws, stack, args, true, ctl, events).await
    }

    /// `pulumi destroy [opts] --color=never --exec-kind=auto.local --event-log <log> --yes --skip-preview --stack <s>`
    /// (the Go SDK puts `--yes --skip-preview` last for destroy).
    pub async fn destroy(
        &self,
        ws: &Workspace,
        stack: &StackName,
        opts: &DestroyOptions,
        ctl: &RunControl,
        events: Option<&EventSink>,
    ) -> Result<DestroyResult, PulumiError> {
        let mut args = vec!["destroy".to_owned()];
        args.extend(opts.to_args());
        self.engine_op(ws, stack, args, false, ctl, events).await
    }

    async fn engine_op(
        &self,
        ws: &Workspace,
        stack: &StackName,
        mut args: Vec<String>,
        is_preview: bool,
        ctl: &RunControl,
        sink: Option<&EventSink>,
    ) -> Result<OperationResult, PulumiError> {
        let log = ws.event_log_path();
        let is_destroy = args.first().is_some_and(|a| a == "destroy");
        args.push("--color=never".into());
        args.push("--exec-kind=auto.local".into());
        args.push("--event-log".into());
        args.push(log.to_string_lossy().into_owned());
        if is_destroy {
            args.push("--yes".into());
            args.push("--skip-preview".into());
        }
        // The tail pre-creates the file before the CLI starts, so a run that fails before the
        // engine opens it still yields an (empty) stream instead of a missing file.
        let (mut stream, mut tail) = tail_event_log(&log).await?;
        let run = async {
            let out = self
                .run(Invocation {
                    args,
                    stack: Some(stack),
                    cwd: ws.path(),
                    stdin: None,
                    control: ctl,
                })
                .await;
            tail.writer_exited();
            if let (Ok(o), Some(exited)) = (&out, &ctl.exited_ok)
                && o.exit_code == 0
            {
                exited.notify_one();
            }
            out
        };
        let collect = async {
            let mut digest = RunDigest::new();
            let mut errors = Vec::new();
            while let Some(item) = stream.next_item().await {
                match &item {
                    Ok(ev) => digest.observe(ev),
                    Err(e) => {
                        tracing::warn!(reason = %e.reason, "undecodable event-log entry");
                        errors.push(e.clone());
                    }
                }
                if let Some(sink) = sink {
                    // A caller that stopped listening still gets the final result.
                    let _ = sink.send(item).await;
                }
            }
            (digest, errors)
        };
        let (out, (digest, decode_errors)) = tokio::join!(run, collect);
        tail.join().await;
        tracing::debug!(target: TIMING, step = "log read");
        // Read in full: removed now rather than with the workspace, so that freeing its blocks
        // (~1 ms for the ~330 KB a day-2 update writes) overlaps the outputs read instead of
        // following the last CLI's exit. On the blocking pool: this thread is the one that
        // starts the outputs read meanwhile.
        let removed = tokio::task::spawn_blocking(move || std::fs::remove_file(log)).await;
        if let Ok(Err(e)) = removed {
            tracing::debug!(error = %e, "removing the read event log failed; the workspace's removal will");
        }
        let out = out?;

        // A run that exits 0 is a success even if a cancel or the deadline raced its end:
        // the engine finished and the state is what the summary says.
        if out.exit_code != 0 {
            return Err(classify(FailedRun {
                exit_code: out.exit_code,
                stdout: &out.stdout,
                stderr: &out.stderr,
                diagnostics: digest.error_diagnostics.clone(),
                summary: digest.last_summary().cloned(),
                cancelled: out.stopped == Some(StopReason::Cancelled),
                timed_out: match out.stopped {
                    Some(StopReason::TimedOut(d)) => Some(d),
                    _ => None,
                },
            }));
        }
        let summary = pick_summary(&digest.summaries, is_preview)?;
        Ok(OperationResult {
            summary,
            resources: digest.resources().to_vec(),
            decode_errors,
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
            masked_outputs: digest.stack_outputs.clone(),
        })
    }
}

/// The run's result from its summary events: exactly one for a preview (the SDK's rule:
/// "failed to get preview summary" / "got multiple preview summaries"); at least one for an
/// update, of which the last counts.
pub fn pick_summary(
    summaries: &[UpdateSummary],
    is_preview: bool,
) -> Result<UpdateSummary, PulumiError> {
    let command = if is_preview { "preview" } else { "update" };
    match summaries {
        [] => Err(PulumiError::BadOutput {
            command: command.into(),
            reason: format!("failed to get {command} summary"),
        }),
        [one] => Ok(one.clone()),
        [_, ..] if is_preview => Err(PulumiError::BadOutput {
            command: command.into(),
            reason: "got multiple preview summaries".into(),
        }),
        [.., last] => Ok(last.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(result: &str) -> UpdateSummary {
        serde_json::from_value(serde_json::json!({"result": result})).unwrap()
    }

    #[test]
    fn preview_needs_exactly_one_summary() {
        assert!(pick_summary(&[], true).is_err());
        assert!(pick_summary(&[], false).is_err());
        let two = [summary("failed"), summary("succeeded")];
        let e = pick_summary(&two, true).unwrap_err();
        assert!(e.to_string().contains("multiple preview summaries"));
        let last = pick_summary(&two, false).unwrap();
        assert_eq!(last.result.as_deref(), Some("succeeded"));
    }
}
