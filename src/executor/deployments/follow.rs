//! Follows one deployment to its end: polls its status with backoff, forwards runner log
//! lines (`byoc.log`) and, once the update exists, its engine events (same JSON as the local
//! event log) into the sink, each exactly once, cancels through the API when asked, and maps
//! the final status onto an [`Outcome`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::client::{Client, StackPath};
use super::shapes::Deployment;
use super::{DeploymentsError, outputs};
use crate::domain::OperationKind;
use crate::executor::{ChangeSummary, EventSink, OperationJob, Outcome, OutputValue};

/// Kind of the events carrying runner log lines.
pub const LOG_EVENT: &str = "byoc.log";

/// Extra reads of the update's events after the deployment ended.
const DRAIN_POLLS: usize = 10;

/// Polling intervals.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// First interval, and the interval after anything new arrived.
    pub poll: Duration,
    /// Longest interval while nothing changes.
    pub max_poll: Duration,
    /// How long a cancelled deployment is still followed before giving up on it.
    pub cancel_grace: Duration,
}

/// What has been read and forwarded so far.
#[derive(Debug, Default)]
struct Progress {
    logs_token: Option<String>,
    logs_done: bool,
    update_id: Option<String>,
    events_token: Option<String>,
    events_done: bool,
    seen: HashSet<i64>,
    /// Events up to this sequence were stored by an earlier attempt following this run.
    resume_after: Option<i64>,
    summary: Option<Value>,
    errors: Vec<String>,
    last_lines: Vec<String>,
}

/// Follows deployment `id` of `stack` until it ends, then answers the outcome.
pub async fn follow(
    client: &Client,
    stack: &StackPath,
    id: &str,
    job: &OperationJob,
    sink: &EventSink,
    cancel: &CancellationToken,
    pace: Pace,
) -> Result<Outcome, DeploymentsError> {
    let kind = job.kind;
    let mut progress = Progress {
        resume_after: job.resume_after_sequence,
        ..Progress::default()
    };
    let mut cancel_sent: Option<tokio::time::Instant> = None;
    let mut interval = pace.poll;
    loop {
        if cancel.is_cancelled() && cancel_sent.is_none() {
            tracing::info!(deployment.id = id, "cancelling deployment");
            client.cancel(stack, id).await?;
            cancel_sent = Some(tokio::time::Instant::now());
        }
        if let Some(at) = cancel_sent
            && at.elapsed() > pace.cancel_grace
        {
            return Ok(Outcome::Cancelled {
                reason: format!(
                    "cancel of deployment {id} was requested {}s ago and it has not stopped yet; \
                     Pulumi Deployments finishes it on its side",
                    pace.cancel_grace.as_secs()
                ),
                summary: change_summary(progress.summary.as_ref()),
            });
        }
        let deployment = client.deployment(stack, id).await?;
        let terminal = !matches!(
            deployment.status.as_str(),
            "not-started" | "accepted" | "running"
        );
        let moved = pull(client, stack, id, sink, &mut progress, terminal).await?;
        if terminal {
            // The service may still be ingesting the last engine events: a few more reads
            // until the update's stream is closed (the CLI waits the same way).
            for _ in 0..DRAIN_POLLS {
                if progress.events_done || progress.update_id.is_none() {
                    break;
                }
                tokio::time::sleep(pace.poll).await;
                pull(client, stack, id, sink, &mut progress, true).await?;
            }
            let outputs = if deployment.status == "succeeded" && kind == OperationKind::Update {
                read_outputs(client, stack, sink).await
            } else {
                None
            };
            return Ok(finish(
                id,
                &deployment,
                progress,
                cancel_sent.is_some(),
                outputs,
            ));
        }
        interval = if moved {
            pace.poll
        } else {
            (interval * 3 / 2).min(pace.max_poll)
        };
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            // Wake at once to send the cancel; the run keeps being followed to its end.
            () = cancel.cancelled(), if cancel_sent.is_none() => {}
        }
    }
}

/// Reads new log lines and engine events; at the end (`drain`) reads until both are complete.
/// Answers whether anything new arrived.
async fn pull(
    client: &Client,
    stack: &StackPath,
    id: &str,
    sink: &EventSink,
    p: &mut Progress,
    drain: bool,
) -> Result<bool, DeploymentsError> {
    let mut moved = false;
    while !p.logs_done {
        let page = client.logs(stack, id, p.logs_token.as_deref()).await?;
        let got = !page.lines.is_empty();
        for line in page.lines {
            if let Some(text) = &line.line {
                p.last_lines.push(text.trim_end().to_owned());
                if p.last_lines.len() > 20 {
                    p.last_lines.remove(0);
                }
            }
            sink.event(LOG_EVENT, json!({ "deployment": id, "log": line }))
                .await;
        }
        moved |= got;
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(t) => {
                let same = p.logs_token.as_deref() == Some(t.as_str());
                p.logs_token = Some(t);
                if same || !got {
                    break;
                }
            }
            // An empty token ends the logs only once the deployment is over.
            None if drain => p.logs_done = true,
            None => break,
        }
    }
    if p.update_id.is_none() {
        p.update_id = client
            .updates(stack, id)
            .await?
            .into_iter()
            .next()
            .map(|u| u.update_id);
    }
    let Some(update_id) = p.update_id.clone() else {
        return Ok(moved);
    };
    while !p.events_done {
        let page = client
            .events(stack, &update_id, p.events_token.as_deref())
            .await?;
        let got = !page.events.is_empty();
        for event in page.events {
            moved |= forward(sink, p, event).await;
        }
        match page.continuation_token {
            Some(t) => {
                let same = p.events_token.as_deref() == Some(t.as_str());
                p.events_token = Some(t);
                // A token that did not move, or an empty page, means "nothing more yet".
                if same || !got {
                    break;
                }
            }
            None => p.events_done = true,
        }
    }
    Ok(moved)
}

/// Sends one engine event unless its sequence was already sent (pages re-read after a retry
/// or a token that did not move). Answers whether it was new.
async fn forward(sink: &EventSink, p: &mut Progress, event: Value) -> bool {
    if let Some(seq) = event.get("sequence").and_then(Value::as_i64)
        && !p.seen.insert(seq)
    {
        return false;
    }
    let kind = event
        .as_object()
        .and_then(|o| {
            o.keys()
                .find(|k| *k != "sequence" && *k != "timestamp")
                .cloned()
        })
        .unwrap_or_else(|| "unknown".into());
    if let Some(summary) = event.get("summaryEvent") {
        p.summary = Some(summary.clone());
    }
    if let Some(diag) = event.get("diagnosticEvent")
        && diag.get("severity").and_then(Value::as_str) == Some("error")
        && let Some(msg) = diag.get("message").and_then(Value::as_str)
    {
        p.errors.push(msg.trim().to_owned());
    }
    // Replayed after a resume: already stored by the earlier attempt (still counted above).
    let replayed = matches!(
        (event.get("sequence").and_then(Value::as_i64), p.resume_after),
        (Some(seq), Some(after)) if seq <= after
    );
    if !replayed {
        sink.event(kind, event).await;
    }
    true
}

fn finish(
    id: &str,
    deployment: &Deployment,
    p: Progress,
    cancel_sent: bool,
    outputs: Option<BTreeMap<String, OutputValue>>,
) -> Outcome {
    let summary = change_summary(p.summary.as_ref());
    let status = deployment.status.as_str();
    match status {
        "succeeded" => Outcome::Succeeded { summary, outputs },
        _ if cancel_sent => Outcome::Cancelled {
            reason: format!(
                "deployment {id} was cancelled through the Pulumi Deployments API ({status})"
            ),
            summary,
        },
        "skipped" => Outcome::Failed {
            message: format!(
                "Pulumi Deployments skipped deployment {id} (the service did not run it, e.g. a \
                 newer deployment of the same stack superseded it); this operation applied \
                 nothing: run it again"
            ),
            summary,
            retryable: false,
        },
        _ => Outcome::Failed {
            message: failure_message(id, status, deployment, &p),
            summary,
            retryable: false,
        },
    }
}

/// The outputs after an update. The update itself succeeded, so a failure to read them is a
/// warning on the operation, not a failed operation.
async fn read_outputs(
    client: &Client,
    stack: &StackPath,
    sink: &EventSink,
) -> Option<BTreeMap<String, OutputValue>> {
    match client.outputs(stack).await {
        Ok(response) => Some(outputs::from_response(response)),
        Err(e) => {
            tracing::warn!(error = %e.chain(), "could not read stack outputs");
            sink.event(
                "byoc.warning",
                json!({ "message": format!("could not read stack outputs: {}", e.chain()) }),
            )
            .await;
            None
        }
    }
}

/// The runner's own words: error diagnostics, else the failed step and its last log lines.
fn failure_message(id: &str, status: &str, deployment: &Deployment, p: &Progress) -> String {
    let step = deployment
        .jobs
        .iter()
        .flat_map(|j| &j.steps)
        .find(|s| s.status == "failed")
        .map(|s| format!(" in step \"{}\"", s.name))
        .unwrap_or_default();
    let detail = if p.errors.is_empty() {
        p.last_lines
            .iter()
            .rev()
            .take(5)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        p.errors.join("\n")
    };
    format!("deployment {id} {status}{step}: {detail}")
}

fn change_summary(summary: Option<&Value>) -> ChangeSummary {
    summary
        .and_then(|s| s.get("resourceChanges"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default()
}
