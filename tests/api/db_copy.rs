//! `byoc db copy`: a populated SQLite install copied into an empty database (PostgreSQL with
//! `BYOC_TEST_DATABASE=postgres`, else another SQLite file) serves the same answers and still
//! opens its sealed external IDs.

use byoc::store::DatabaseUrl;
use byoc::store::scratch::ScratchDatabase;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::routes::{Action, PROD};

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn shared_key(s: &mut byoc::settings::Settings) {
    s.data.master_key = Some(SecretString::from(MASTER_KEY));
    // Webhook events stay in the outbox: the answers must not change while they are compared.
    s.webhooks.deliver = false;
}

fn url_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// What a client can read of the install.
async fn answers(app: &TestApp, op: &str, webhook: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{webhook}/deliveries"),
        "/api/v1/tenants".to_owned(),
        "/api/v1/tenants/acme".to_owned(),
        "/api/v1/tenants/acme/onboarding".to_owned(),
        format!("{}/config", PROD.path()),
        format!("{}/status", PROD.path()),
        format!("{}/outputs", PROD.path()),
        format!("{}/operations", PROD.path()),
        format!("/api/v1/operations/{op}"),
        format!("/api/v1/operations/{op}/events"),
        "/api/v1/tokens".to_owned(),
        "/api/v1/environments".to_owned(),
        format!("{}/labels", PROD.path()),
    ] {
        let resp = app.get(&path).await;
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        out.push(resp.json().await.unwrap());
    }
    out
}

fn run_copy(from: &DatabaseUrl, to: &DatabaseUrl) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_byoc"))
        .args(["db", "copy", "--from", &url_arg(from)])
        // The target through the environment: a password stays off the command line.
        .env("BYOC_COPY_TO", url_arg(to))
        .env_remove("BYOC_DATABASE_URL")
        .output()
        .expect("byoc runs")
}

#[actix_web::test]
async fn a_copied_install_serves_the_same_answers_and_opens_its_secrets() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = ScratchDatabase::sqlite(source_dir.path());
    let source_url = source.url().clone();
    let app = TestApp::builder()
        .database(source)
        .settings(shared_key)
        .spawn()
        .await;
    let created = app.create_tenant("acme").await;
    let resp = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/byoc", "events": ["operation.finished"]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let webhook: Value = resp.json().await.unwrap();
    let webhook = webhook["id"].as_str().unwrap().to_owned();
    app.with_config_of(PROD).await;
    app.create_token("viewer").await;
    let op = app.run(PROD, Action::Deploy).await;
    app.run(PROD, Action::Preview).await;
    for (path, labels) in [
        ("/api/v1/tenants/acme".to_owned(), json!({"tier": "gold"})),
        (PROD.path(), json!({"ring": "canary"})),
    ] {
        let resp = app
            .request(
                reqwest::Method::PUT,
                &format!("{path}/labels"),
                Some(crate::app::ADMIN_TOKEN),
                Some(json!({ "labels": labels })),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let before = answers(&app, &op.id, &webhook).await;
    app.stop().await;

    let target_dir = tempfile::tempdir().unwrap();
    let target = ScratchDatabase::from_env(target_dir.path()).unwrap();
    let copied = run_copy(&source_url, target.url());
    assert!(copied.status.success(), "{copied:?}");
    let report = String::from_utf8_lossy(&copied.stdout);
    assert!(report.contains("operations: 2 rows"), "{report}");
    assert!(report.contains("environment_labels: 1 rows"), "{report}");
    assert!(report.contains("webhook_deliveries: 2 rows"), "{report}");

    // A second copy into the now non-empty target is refused, and writes nothing.
    let again = run_copy(&source_url, target.url());
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{again:?}"
    );

    let moved = TestApp::builder()
        .database(target)
        .settings(shared_key)
        .spawn()
        .await;
    let after = answers(&moved, &op.id, &webhook).await;
    assert_eq!(after, before);
    // The sealed external id came over as it was: the same master key opens it there.
    let tenant = byoc::store::tenants::find_by_slug(&mut moved.db(), "acme").unwrap();
    let key = byoc::crypto::MasterKey::load_or_create(
        moved.data_dir.path(),
        Some(&SecretString::from(MASTER_KEY)),
    )
    .unwrap();
    let opened = key
        .open_secret(&tenant.external_id_sealed, tenant.id.as_bytes())
        .unwrap();
    assert_eq!(opened.expose_secret(), created.external_id);
    // The queue goes on after the copied rows.
    moved.run(PROD, Action::Preview).await;
    assert_eq!(moved.history(PROD).await.len(), 3);
    moved.stop().await;
}
