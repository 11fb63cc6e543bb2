//! `byoc ops …`: an environment's operations, one operation, its log, cancelling it.

use serde_json::Value;

use super::Session;
use super::error::{ClientError, Exit};
use super::follow;
use super::output::{changes, duration, text, time};
use crate::cli::OpsAction;

/// Runs an ops action.
pub async fn run(s: &Session, action: OpsAction) -> Result<Exit, ClientError> {
    match action {
        OpsAction::List { stack, limit } => {
            let list = s
                .api
                .get(&format!("{}/operations?limit={limit}", stack.api_path()))
                .await?;
            s.out.show(&list, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        vec![
                            text(o, "id"),
                            text(o, "kind"),
                            text(o, "status"),
                            short_time(o, "created_at"),
                            took(o),
                        ]
                    })
                    .collect();
                s.out
                    .table(&["ID", "KIND", "STATUS", "QUEUED", "TOOK"], rows)
            })?;
            Ok(Exit::Succeeded)
        }
        OpsAction::Show { id } => {
            let op = s.api.get(&format!("/api/v1/operations/{id}")).await?;
            s.out.show(&op, |v| {
                s.out.pairs(vec![
                    ("Id", text(v, "id")),
                    ("Stack", text(v, "stack_name")),
                    ("Kind", text(v, "kind")),
                    ("Status", text(v, "status")),
                    ("Config", text(v, "config_version")),
                    ("Attempt", text(v, "attempt")),
                    ("By", text(v, "requested_by")),
                    ("Queued", time(v, "created_at")),
                    ("Started", time(v, "started_at")),
                    ("Finished", time(v, "finished_at")),
                    ("Changes", changes(&v["summary"])),
                    ("Error", text(v, "error")),
                ])
            })?;
            Ok(Exit::Succeeded)
        }
        OpsAction::Logs { id, follow: true } => follow::follow_log(s, &id).await,
        OpsAction::Logs { id, follow: false } => follow::log(s, &id).await,
        OpsAction::Cancel { id } => {
            let op = s
                .api
                .post(&format!("/api/v1/operations/{id}/cancel"), None)
                .await?;
            s.out.show(&op, |v| match v["status"].as_str() {
                Some("cancelled") => format!("Operation {id} cancelled before it started."),
                _ => format!(
                    "Cancel requested: operation {id} stops after its current step \
                     (byoc ops logs {id} --follow)."
                ),
            })?;
            Ok(Exit::Succeeded)
        }
    }
}

/// `MM-DD HH:MM` (UTC): short enough for the 80-column list.
fn short_time(v: &Value, key: &str) -> String {
    let t = time(v, key);
    t.get(5..).map_or(t.clone(), str::to_owned)
}

/// How long the operation ran, or `-`.
fn took(o: &Value) -> String {
    let at = |k: &str| {
        o[k].as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (at("started_at"), at("finished_at")) {
        (Some(a), Some(b)) => duration((b - a).num_seconds()),
        _ => "-".to_owned(),
    }
}
