//! `byoc tokens …`: create (shown once), list and revoke API tokens.

use serde_json::{Value, json};

use super::Session;
use super::error::{ClientError, Exit};
use super::output::{text, time};
use crate::cli::TokensAction;

/// Runs a tokens action.
pub async fn run(s: &Session, action: TokensAction) -> Result<Exit, ClientError> {
    match action {
        TokensAction::Create {
            name,
            role,
            tenants,
        } => {
            let mut body = json!({"name": name, "role": role.as_str()});
            if !tenants.is_empty() {
                body["tenants"] = json!(tenants);
            }
            let created = s.api.post("/api/v1/tokens", Some(&body)).await?;
            s.out.show(&created, |v| {
                format!(
                    "{}\n\nThe token is shown only now: store it.",
                    s.out.pairs(vec![
                        ("Id", text(v, "id")),
                        ("Name", text(v, "name")),
                        ("Role", text(v, "role")),
                        ("Token", text(v, "token")),
                    ])
                )
            })?;
        }
        TokensAction::List => {
            let list = s.api.get("/api/v1/tokens").await?;
            s.out.show(&list, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| vec![text(t, "id"), text(t, "name"), text(t, "role"), state(t)])
                    .collect();
                s.out.table(&["ID", "NAME", "ROLE", "STATE"], rows)
            })?;
        }
        TokensAction::Revoke { id } => {
            s.api.delete(&format!("/api/v1/tokens/{id}")).await?;
            eprintln!("Token {id} revoked.");
        }
    }
    Ok(Exit::Succeeded)
}

fn state(t: &Value) -> String {
    if t["revoked_at"].is_string() {
        format!("revoked {}", time(t, "revoked_at"))
    } else if t["last_used_at"].is_string() {
        format!("used {}", time(t, "last_used_at"))
    } else {
        "never used".to_owned()
    }
}
