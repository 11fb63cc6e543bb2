//! Onboarding through the HTTP API: the onboarding block, the template, external-ID rotation,
//! and role verification against a real moto server (IAM-authorization mode) whose role was
//! created from our template.

use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::AwsRegion;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, spawn_app};
use crate::moto::MotoServer;
use crate::routes::Problem;

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);
const STACK: &str = "byoc-platform-role";

#[actix_web::test]
async fn create_returns_the_onboarding_block_and_later_reads_hide_the_external_id() {
    let app = spawn_app_with_principal().await;
    let created = app.create_tenant("acme").await;
    let external_id = created.external_id.as_str();
    let block = &created.onboarding;
    assert_eq!(
        block["role_arn"],
        "arn:aws:iam::123456789012:role/BYOCPlatformRole"
    );
    assert_eq!(block["external_id_included"], true);
    let command = block["cli_command"].as_str().expect("a command");
    assert!(command.starts_with("aws cloudformation create-stack"));
    assert!(command.contains(external_id));
    assert!(command.contains("arn:aws:iam::111122223333:role/byoc-worker"));

    let later: Value = app
        .get("/api/v1/tenants/acme/onboarding")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["external_id_included"], false);
    assert!(!later.to_string().contains(external_id));
    assert_eq!(later["role_arn"], block["role_arn"]);
    app.stop().await;
}

async fn spawn_app_with_principal() -> TestApp {
    TestApp::builder()
        .settings(|s| {
            s.aws.trusted_principal_arn = Some("arn:aws:iam::111122223333:role/byoc-worker".into());
        })
        .spawn()
        .await
}

#[actix_web::test]
async fn the_template_is_served_and_never_outputs_the_external_id() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/templates/customer-iam-role.yaml").await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(text, byoc::cloud::onboarding::TEMPLATE);
    let outputs = text.split("\nOutputs:").nth(1).expect("an Outputs section");
    assert!(!outputs.contains("ExternalId"));
    app.stop().await;
}

#[actix_web::test]
async fn rotation_is_admin_only_and_shows_the_new_id_once() {
    let app = spawn_app().await;
    let old = app.create_tenant("acme").await.external_id;
    let operator = app.token("operator").await;
    let denied = app
        .request(
            Method::POST,
            "/api/v1/tenants/acme/external-id/rotate",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(denied.status(), 403);
    let rotated = app.rotate_external_id("acme").await;
    let new = rotated.external_id.as_str();
    assert_eq!(new.len(), 43);
    assert_ne!(new, old);
    let command = rotated.onboarding["cli_command"]
        .as_str()
        .expect("a command");
    assert!(command.contains(new));
    let tenant: Value = app.get("/api/v1/tenants/acme").await.json().await.unwrap();
    assert!(!tenant.to_string().contains(new));
    app.stop().await;
}

#[actix_web::test]
async fn verify_checks_the_role_and_follows_a_rotation() {
    let Some(moto) = MotoServer::start().await else {
        return;
    };
    // The tenant's stack is first created with an ID byoc did not issue.
    let setup = moto
        .cfn_script("setup", &[TEMPLATE, STACK, "not-the-issued-id-0123"])
        .await;
    moto.enable_iam_auth().await;
    let s = |v: &Value| v.as_str().expect("a string").to_owned();
    let (worker_arn, admin_key, admin_secret) = (
        s(&setup["worker"]["arn"]),
        s(&setup["admin"]["key"]),
        s(&setup["admin"]["secret"]),
    );
    let region = AwsRegion::parse("us-east-1").unwrap();
    let mut options = AwsClientOptions::new(region);
    options.endpoint_url = Some(moto.url.clone());
    options.trusted_principal_arn = Some(worker_arn.clone());
    let creds = aws_credential_types::Credentials::new(
        s(&setup["worker"]["key"]),
        s(&setup["worker"]["secret"]),
        None,
        None,
        "moto-worker",
    );
    let aws = PlatformAws::with_credentials(options, creds).await;
    let app = TestApp::builder().aws(aws).spawn().await;
    let issued = app.create_tenant("acme").await.external_id;

    let denied = app.post("/api/v1/tenants/acme/verify", json!({})).await;
    let problem = Problem::of(denied, 422).await;
    assert_eq!(problem.kind, "/problems/role-check-failed");
    assert!(problem.detail.contains("ExternalId"), "{problem:?}");

    let update = |id: String| {
        let args = [
            TEMPLATE,
            STACK,
            "",
            admin_key.as_str(),
            admin_secret.as_str(),
            worker_arn.as_str(),
        ];
        let moto = &moto;
        async move {
            let mut args = args;
            args[2] = &id;
            moto.cfn_script("update", &args).await;
        }
    };
    update(issued.clone()).await;
    let ok = app.post("/api/v1/tenants/acme/verify", json!({})).await;
    assert_eq!(ok.status(), 200);
    let report: Value = ok.json().await.unwrap();
    assert_eq!(report["account_id"], "123456789012");
    assert_eq!(report["session_name"], "byoc-verify-acme");
    assert!(app.tenant("acme").await.role_verified_at.is_some());
    // moto saw the issued external ID, sent by the server.
    let sent: Vec<String> = moto
        .assumed_roles()
        .await
        .into_iter()
        .map(|(_, _, ext)| ext)
        .collect();
    assert!(sent.contains(&issued));

    // After a rotation the old ID is no longer used: verify fails until the stack is updated.
    let rotated = app.rotate_external_id("acme").await;
    assert!(
        app.tenant("acme").await.role_verified_at.is_none(),
        "rotation clears the verification"
    );
    assert_eq!(
        app.post("/api/v1/tenants/acme/verify", json!({}))
            .await
            .status(),
        422
    );
    update(rotated.external_id).await;
    assert_eq!(
        app.post("/api/v1/tenants/acme/verify", json!({}))
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_server_without_a_trusted_principal_says_so_in_the_onboarding_block() {
    let app = spawn_app().await;
    let created = app.create_tenant("acme").await;
    let warnings = created.onboarding["warnings"].as_array().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("BYOC_TRUSTED_PRINCIPAL_ARN is not configured")
    );
    let block: Value = app.get_json("/api/v1/tenants/acme/onboarding").await;
    assert_eq!(block["warnings"], Value::Array(warnings));
    app.stop().await;

    let app = spawn_app_with_principal().await;
    let created = app.create_tenant("acme").await;
    assert_eq!(created.onboarding["warnings"], json!([]));
    app.stop().await;
}
