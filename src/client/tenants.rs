//! `byoc tenants …`: register, list, show, delete, onboard, verify, rotate the external ID.

use serde_json::{Value, json};

use super::Session;
use super::error::{ClientError, Exit};
use super::output::{Printer, text, time};
use crate::cli::TenantsAction;

/// Page size when listing every tenant.
const PAGE: u32 = 200;

/// Runs a tenants action.
pub async fn run(s: &Session, action: TenantsAction) -> Result<Exit, ClientError> {
    match action {
        TenantsAction::Create {
            slug,
            name,
            account,
            region,
            role_name,
        } => {
            let mut body = json!({"name": name, "slug": slug.as_str(), "aws_account_id": account});
            if let Some(r) = region {
                body["aws_region"] = json!(r);
            }
            if let Some(r) = role_name {
                body["role_name"] = json!(r);
            }
            let created = s.api.post("/api/v1/tenants", Some(&body)).await?;
            s.out.show(&created, |v| created_table(&s.out, v))?;
        }
        TenantsAction::List => {
            let body = list_all(s).await?;
            s.out.show(&body, |v| {
                let rows = items(v)
                    .iter()
                    .map(|t| {
                        vec![
                            text(t, "slug"),
                            text(t, "name"),
                            text(t, "aws_account_id"),
                            text(t, "aws_region"),
                            time(t, "role_verified_at"),
                        ]
                    })
                    .collect();
                s.out
                    .table(&["SLUG", "NAME", "ACCOUNT", "REGION", "VERIFIED"], rows)
            })?;
        }
        TenantsAction::Show { slug } => {
            let t = s.api.get(&format!("/api/v1/tenants/{slug}")).await?;
            s.out.show(&t, |v| tenant_table(&s.out, v))?;
        }
        TenantsAction::Delete { slug } => {
            s.api.delete(&format!("/api/v1/tenants/{slug}")).await?;
            eprintln!("Tenant '{slug}' deleted.");
        }
        TenantsAction::Onboarding { slug } => {
            let o = s
                .api
                .get(&format!("/api/v1/tenants/{slug}/onboarding"))
                .await?;
            s.out.show(&o, |v| onboarding_table(&s.out, v))?;
        }
        TenantsAction::Verify { slug } => {
            let r = s
                .api
                .post(&format!("/api/v1/tenants/{slug}/verify"), None)
                .await?;
            s.out.show(&r, |v| {
                s.out.pairs(vec![
                    ("Role", text(v, "role_arn")),
                    ("Assumed as", text(v, "assumed_role_arn")),
                    ("Account", text(v, "account_id")),
                    ("Session", text(v, "session_name")),
                    ("Checked", time(v, "checked_at")),
                    ("Expires", time(v, "session_expires_at")),
                ])
            })?;
        }
        TenantsAction::RotateExternalId { slug } => {
            let r = s
                .api
                .post(&format!("/api/v1/tenants/{slug}/external-id/rotate"), None)
                .await?;
            s.out.show(&r, |v| {
                format!(
                    "{}\n\n{}\n\n{}",
                    s.out.pairs(vec![("External ID", text(v, "external_id"))]),
                    text(v, "message"),
                    onboarding_table(&s.out, &v["onboarding"])
                )
            })?;
        }
    }
    Ok(Exit::Succeeded)
}

/// Every tenant, all pages, in the API's page shape (`next_cursor` null).
async fn list_all(s: &Session) -> Result<Value, ClientError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tenants?limit={PAGE}&cursor={c}"),
            None => format!("/api/v1/tenants?limit={PAGE}"),
        };
        let page = s.api.get(&path).await?;
        all.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            // Cursors are URL-safe base64: no escaping needed in the query.
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(json!({"items": all, "next_cursor": null}))
}

fn items(v: &Value) -> &[Value] {
    v["items"].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn tenant_table(out: &Printer, t: &Value) -> String {
    out.pairs(vec![
        ("Slug", text(t, "slug")),
        ("Name", text(t, "name")),
        ("Account", text(t, "aws_account_id")),
        ("Region", text(t, "aws_region")),
        ("Role", text(t, "role_arn")),
        ("Verified", time(t, "role_verified_at")),
        ("Created", time(t, "created_at")),
        ("Id", text(t, "id")),
    ])
}

fn created_table(out: &Printer, v: &Value) -> String {
    format!(
        "{}\n\n{}\n{}\n\n{}",
        tenant_table(out, &v["tenant"]),
        out.pairs(vec![("External ID", text(v, "external_id"))]),
        text(v, "message"),
        onboarding_table(out, &v["onboarding"])
    )
}

fn onboarding_table(out: &Printer, o: &Value) -> String {
    let params = o["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| format!("{}={}", text(p, "key"), text(p, "value")))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let mut rows = vec![
        ("Role ARN", text(o, "role_arn")),
        ("Account", text(o, "account_id")),
        ("Region", text(o, "region")),
        ("CFN stack", text(o, "stack_name")),
        (
            "Template",
            match o["template_url"].as_str() {
                Some(url) => url.to_owned(),
                None => text(o, "template_path"),
            },
        ),
        ("Parameters", params),
    ];
    if o["quick_create_url"].is_string() {
        rows.push(("Console", text(o, "quick_create_url")));
    }
    let warnings: String = o["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|w| format!("\n\nWarning: {w}"))
        .collect();
    format!(
        "{}\n\nThe tenant runs:\n{}{warnings}",
        out.pairs(rows),
        text(o, "cli_command")
    )
}
