//! Following an operation to its end: progress from its engine events, resumed over SSE after
//! a dropped connection, Ctrl-C to cancel or detach; and reading an operation's log.

mod progress;
mod stream;
mod view;

#[cfg(test)]
mod tests;

use serde_json::Value;

use super::Session;
use super::error::{ClientError, Exit};
use crate::cli::{OutputFormat, StackRef};
use stream::Ended;
use view::{Mode, View};

/// Follows `op` (the API's operation body) until it ends; the exit code is its status.
/// `stack` (when the caller knows it) lets the view size the bar from the plan up front.
pub async fn follow(
    s: &Session,
    op: &Value,
    stack: Option<&StackRef>,
) -> Result<Exit, ClientError> {
    let mode = match s.out.format {
        OutputFormat::Table if s.term.stdout => Mode::Live,
        OutputFormat::Table => Mode::Plain,
        _ => Mode::Quiet,
    };
    run(s, op, stack, mode).await
}

/// `byoc ops logs ID --follow`: like `follow`, but `-o json|yaml` prints every event as it
/// comes.
pub async fn follow_log(s: &Session, id: &str) -> Result<Exit, ClientError> {
    let op = s.api.get(&format!("/api/v1/operations/{id}")).await?;
    let mode = match s.out.format {
        OutputFormat::Table if s.term.stdout => Mode::Live,
        OutputFormat::Table => Mode::Plain,
        format => Mode::Events(format),
    };
    run(s, &op, None, mode).await
}

async fn run(
    s: &Session,
    op: &Value,
    stack: Option<&StackRef>,
    mode: Mode,
) -> Result<Exit, ClientError> {
    let id = op["id"]
        .as_str()
        .ok_or_else(|| ClientError::Protocol("operation without an id".to_owned()))?
        .to_owned();
    let estimate = match (stack, mode) {
        (Some(stack), Mode::Live) => plan_size(s, op, stack).await,
        _ => None,
    };
    let mut view = View::new(mode, estimate);
    view.header(op);
    let ended = stream::watch(s, &id, &mut view, 0).await?;
    if ended == Ended::Detached {
        view.abandon();
        eprintln!(
            "Detached: operation {id} keeps running. Follow it again with: byoc ops logs {id} --follow"
        );
        return Ok(Exit::Detached);
    }
    let last = s.api.get(&format!("/api/v1/operations/{id}")).await?;
    view.finish(&last);
    if mode == Mode::Quiet {
        s.out.show(&last, |_| String::new())?;
    }
    if ended == Ended::AwaitingApproval {
        // Not over, but nothing happens until someone decides: say what to run, and stop.
        let plan = s
            .api
            .get(&format!("/api/v1/operations/{id}/plan"))
            .await
            .ok();
        let reason = plan
            .as_ref()
            .and_then(|p| p["hold_reason"].as_str())
            .unwrap_or("the environment's approval policy holds it");
        eprintln!(
            "Operation {id} awaits approval: {reason}.\n  \
             review its plan: byoc plan {id}\n  \
             approve it:      byoc approve {id}\n  \
             or reject it:    byoc reject {id} --reason \"…\""
        );
        return Ok(Exit::AwaitingApproval);
    }
    Ok(Exit::of_operation(
        last["status"].as_str().unwrap_or_default(),
    ))
}

/// `byoc ops logs ID`: every event stored so far, as lines (or every event with `-o json|yaml`).
pub async fn log(s: &Session, id: &str) -> Result<Exit, ClientError> {
    let mode = match s.out.format {
        OutputFormat::Table => Mode::Plain,
        format => Mode::Events(format),
    };
    let mut view = View::new(mode, None);
    let mut after = 0i64;
    loop {
        let page = s
            .api
            .get(&format!(
                "/api/v1/operations/{id}/events?after={after}&limit=1000"
            ))
            .await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        for e in &events {
            after = e["seq"].as_i64().unwrap_or(after + 1);
            view.event(after, e["kind"].as_str().unwrap_or_default(), &e["payload"]);
        }
        if events.len() < 1000 {
            break;
        }
    }
    Ok(Exit::Succeeded)
}

/// How many resources the operation's plan holds, to size the bar before any event:
/// a deploy or preview steps through every resource of the program it applies (plus the
/// stack itself); a refresh or destroy through what the last change left in the stack.
/// `None` when unknown: the bar then grows as the engine starts steps.
async fn plan_size(s: &Session, op: &Value, stack: &StackRef) -> Option<u64> {
    match op["kind"].as_str()? {
        "update" | "preview" => {
            let version = op["config_version"].as_i64()?;
            let yaml = s
                .api
                .get_text(&format!("{}/program?version={version}", stack.api_path()))
                .await
                .ok()?;
            let program: yaml_serde::Value = yaml_serde::from_str(&yaml).ok()?;
            Some(program.get("resources")?.as_mapping()?.len() as u64 + 1)
        }
        _ => {
            let history = s
                .api
                .get(&format!("{}/operations?limit=50", stack.api_path()))
                .await
                .ok()?;
            let last = history.as_array()?.iter().find(|o| {
                o["id"] != op["id"] && o["status"] == "succeeded" && o["kind"] != "preview"
            })?;
            resources_after(&last["summary"])
        }
    }
}

/// Resources a stack holds after a change with this summary: every step but deletions.
fn resources_after(summary: &Value) -> Option<u64> {
    let map = summary.as_object()?;
    Some(
        map.iter()
            .filter(|(op, _)| op.as_str() != "delete")
            .filter_map(|(_, n)| n.as_u64())
            .sum(),
    )
}
