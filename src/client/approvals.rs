//! `byoc approve`, `byoc reject` and `byoc plan`: decide on a deploy held for approval, and
//! read the plan its preview saved.

use serde_json::{Value, json};

use super::Session;
use super::error::{ClientError, Exit};
use super::follow;
use super::output::{text, time};
use crate::cli::{ApproveArgs, PlanArgs, RejectArgs};

/// The operation path of `id`, refusing what is not an id (no `/` or `?` smuggled into the
/// URL).
fn op_path(id: &str) -> Result<String, ClientError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ClientError::Usage(format!(
            "'{id}' is not an operation id (see `byoc ops list TENANT/ENV`)"
        )));
    }
    Ok(format!("/api/v1/operations/{id}"))
}

/// `byoc approve`: queues the deploy to apply its plan; follows it like `deploy`.
pub async fn approve(s: &Session, args: &ApproveArgs) -> Result<Exit, ClientError> {
    let path = op_path(&args.operation)?;
    let op = s.api.post(&format!("{path}/approve"), None).await?;
    if args.follow.choice().unwrap_or(s.term.stdout) {
        return follow::follow(s, &op, None).await;
    }
    s.out.show(&op, |v| {
        let id = text(v, "id");
        format!(
            "Approved: deploy {id} is queued to apply its plan.\n\
             Follow it with: byoc ops logs {id} --follow"
        )
    })?;
    Ok(Exit::Succeeded)
}

/// `byoc reject`: the deploy ends cancelled.
pub async fn reject(s: &Session, args: &RejectArgs) -> Result<Exit, ClientError> {
    let path = op_path(&args.operation)?;
    let body = args.reason.as_ref().map(|r| json!({ "reason": r }));
    let op = s.api.post(&format!("{path}/reject"), body.as_ref()).await?;
    s.out.show(&op, |v| {
        format!(
            "Rejected: deploy {} is cancelled ({}); nothing ran.",
            text(v, "id"),
            text(v, "error")
        )
    })?;
    Ok(Exit::Succeeded)
}

/// `byoc plan`: the saved plan's change list and decision.
pub async fn plan(s: &Session, args: &PlanArgs) -> Result<Exit, ClientError> {
    let path = op_path(&args.operation)?;
    let plan = s.api.get(&format!("{path}/plan")).await?;
    s.out.show(&plan, |v| {
        let decision = match v["decision"].as_str() {
            None => "awaiting approval".to_owned(),
            Some(d) => format!(
                "{d} by {} at {}",
                text(v, "decided_by"),
                time(v, "decided_at")
            ),
        };
        let head = s.out.pairs(vec![
            ("Operation", text(v, "operation_id")),
            ("Config", text(v, "config_version")),
            ("Held", text(v, "hold_reason")),
            ("Expires", time(v, "expires_at")),
            ("Decision", decision),
        ]);
        let rows: Vec<Vec<String>> = v["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let paths = c["paths"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![text(c, "op"), text(c, "type"), text(c, "name"), paths]
            })
            .collect();
        if rows.is_empty() {
            return format!("{head}\n\nNo changes.");
        }
        let table = s.out.table(&["OP", "TYPE", "NAME", "CHANGED PATHS"], rows);
        format!("{head}\n\n{table}")
    })?;
    Ok(Exit::Succeeded)
}
