//! Reading an operation's events over SSE to the end, resuming after a dropped connection
//! from the last event shown (`Last-Event-ID`), so no line is repeated or missed. Ctrl-C asks
//! whether to cancel the operation or detach.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use super::view::View;
use crate::client::Session;
use crate::client::error::ClientError;
use crate::client::terminal::read_key;

/// A stream silent this long is treated as dropped and reopened (the server sends nothing
/// while a long step runs, and a half-open connection would otherwise hang forever).
const IDLE: Duration = Duration::from_secs(75);
/// Consecutive failed attempts before giving up.
const MAX_ATTEMPTS: u32 = 30;
/// How often the operation's status is read while following: a deploy that stops to await
/// approval sends no `end` (it is not over), so the stream alone would wait forever.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// How following ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server said the operation finished and every event was shown.
    Finished,
    /// The user detached; the operation keeps running.
    Detached,
    /// The operation stopped to await approval (every event so far was shown).
    AwaitingApproval,
}

/// What to do after Ctrl-C.
enum Choice {
    Continue,
    Detach,
}

/// Follows operation `id`'s events after `after` into `view` until the end.
pub async fn watch(
    s: &Session,
    id: &str,
    view: &mut View,
    mut after: i64,
) -> Result<Ended, ClientError> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut status = tokio::time::interval(STATUS_EVERY);
    status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    loop {
        let opened = tokio::select! {
            biased;
            _ = sigint.recv() => match interrupt(s, id, view).await? {
                Choice::Detach => return Ok(Ended::Detached),
                Choice::Continue => continue,
            },
            _ = status.tick() => {
                if awaiting_approval(s, id, view, after).await? {
                    return Ok(Ended::AwaitingApproval);
                }
                continue;
            },
            r = s.api.event_stream(id, after) => r,
        };
        let broke = match opened {
            Ok(resp) => {
                let mut events = resp.bytes_stream().eventsource();
                loop {
                    let next = tokio::select! {
                        biased;
                        _ = sigint.recv() => match interrupt(s, id, view).await? {
                            Choice::Detach => return Ok(Ended::Detached),
                            Choice::Continue => continue,
                        },
                        _ = status.tick() => {
                            if awaiting_approval(s, id, view, after).await? {
                                return Ok(Ended::AwaitingApproval);
                            }
                            continue;
                        },
                        n = tokio::time::timeout(IDLE, events.next()) => n,
                    };
                    let ev = match next {
                        Ok(Some(Ok(ev))) => ev,
                        Ok(Some(Err(e))) => break format!("the event stream broke: {e}"),
                        Ok(None) => break "the server closed the event stream".to_owned(),
                        Err(_) => break format!("no event for {} s", IDLE.as_secs()),
                    };
                    match ev.event.as_str() {
                        "end" => return Ok(Ended::Finished),
                        "error" => {
                            break format!("the server could not read events: {}", ev.data.trim());
                        }
                        kind => {
                            // Ids are the server's gap-free sequence numbers; anything at or
                            // below `after` was already shown before a reconnection.
                            let Ok(seq) = ev.id.trim().parse::<i64>() else {
                                continue;
                            };
                            if seq <= after {
                                continue;
                            }
                            if seq > after + 1 {
                                backfill(s, id, view, after, seq).await?;
                            }
                            let payload: Value =
                                serde_json::from_str(&ev.data).unwrap_or(Value::Null);
                            view.event(seq, kind, &payload);
                            after = seq;
                            failures = 0;
                        }
                    }
                }
            }
            Err(e) if transient(&e) => e.to_string(),
            Err(e) => return Err(e),
        };
        failures += 1;
        if failures > MAX_ATTEMPTS {
            return Err(ClientError::Protocol(format!(
                "lost the event stream of operation {id} and could not resume it: {broke}"
            )));
        }
        view.note(&format!(
            "connection lost ({broke}); resuming after event {after}…"
        ));
        let backoff = Duration::from_millis(200 * u64::from(failures.min(25)));
        tokio::select! {
            biased;
            _ = sigint.recv() => if let Choice::Detach = interrupt(s, id, view).await? {
                return Ok(Ended::Detached);
            },
            () = tokio::time::sleep(backoff) => {}
        }
    }
}

/// Whether operation `id` waits for approval; if so, the events after `after` not shown yet
/// are shown first (the preview's last steps may still be on their way over the stream).
async fn awaiting_approval(
    s: &Session,
    id: &str,
    view: &mut View,
    after: i64,
) -> Result<bool, ClientError> {
    // A failed read says nothing about the status: the stream's own retries handle the
    // connection, and the next tick asks again.
    let Ok(op) = s.api.get(&format!("/api/v1/operations/{id}")).await else {
        return Ok(false);
    };
    if op["status"] != "awaiting_approval" {
        return Ok(false);
    }
    backfill(s, id, view, after, i64::MAX).await?;
    Ok(true)
}

/// Fetches events `after+1 .. before-1` as JSON when the stream skipped some (it never
/// should: sequence numbers have no gaps), so that no line is missing.
async fn backfill(
    s: &Session,
    id: &str,
    view: &mut View,
    mut after: i64,
    before: i64,
) -> Result<(), ClientError> {
    while after + 1 < before {
        let limit = (before - after - 1).min(1000);
        let page = s
            .api
            .get(&format!(
                "/api/v1/operations/{id}/events?after={after}&limit={limit}"
            ))
            .await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            break;
        }
        for e in events {
            let seq = e["seq"].as_i64().unwrap_or(after + 1);
            view.event(seq, e["kind"].as_str().unwrap_or_default(), &e["payload"]);
            after = seq;
        }
    }
    Ok(())
}

/// Errors worth retrying: the network, and the server being briefly unavailable.
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Transport { .. } => true,
        ClientError::Api(p) => p.status >= 500 || p.status == 429,
        _ => false,
    }
}

/// Ctrl-C: on a terminal, asks; elsewhere, detaches (the operation keeps running).
async fn interrupt(s: &Session, id: &str, view: &mut View) -> Result<Choice, ClientError> {
    if !s.term.interactive() {
        return Ok(Choice::Detach);
    }
    let prompt = "\nCtrl-C: [d]etach (the operation keeps running), [c]ancel the operation, \
                  or [k]eep following? ";
    let bar = view.bar();
    let answer = tokio::task::spawn_blocking(move || match bar {
        Some(bar) => bar.suspend(|| read_key(prompt)),
        None => read_key(prompt),
    })
    .await
    .map_err(|e| ClientError::Terminal(std::io::Error::other(e)))??;
    match answer {
        Some('c') => {
            match s
                .api
                .post(&format!("/api/v1/operations/{id}/cancel"), None)
                .await
            {
                Ok(_) => view.say("Cancel requested: the operation stops after its current step."),
                Err(ClientError::Api(p)) => view.say(&format!("Cannot cancel: {p}")),
                Err(e) => return Err(e),
            }
            Ok(Choice::Continue)
        }
        None | Some('d') => Ok(Choice::Detach),
        Some(_) => Ok(Choice::Continue),
    }
}
