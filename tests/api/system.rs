//! Probes, request ids, the OpenAPI document and the shape of problem documents.

use crate::app::spawn_app;

#[actix_web::test]
async fn probes_and_docs_need_no_token() {
    let app = spawn_app().await;
    for path in ["/health", "/ready", "/api/openapi.json", "/docs/"] {
        let resp = app.request(reqwest::Method::GET, path, None, None).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let resp = app
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    let id = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id header");
    assert!(uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok());
    app.stop().await;
}

#[actix_web::test]
async fn openapi_documents_every_v1_route_with_bearer_security() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/tenants",
        "/api/v1/tenants/{slug}",
        "/api/v1/tenants/{slug}/environments/{env}/config",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_database_and_master_key_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    // On PostgreSQL the server's own access control guards the database; the key file stays.
    let files: &[&str] = if app.on_postgres() {
        &["master.key"]
    } else {
        &["byoc.db", "master.key"]
    };
    for file in files {
        let mode = std::fs::metadata(app.data_dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_openapi_document_is_reviewed_on_every_change() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    // Any change to routes, schemas or responses shows up here for review.
    insta::assert_json_snapshot!("openapi", doc, { ".info.version" => "[version]" });
    app.stop().await;
}

#[actix_web::test]
async fn problem_documents_have_a_stable_shape() {
    let app = spawn_app().await;
    let resp = app
        .post(
            "/api/v1/tenants",
            serde_json::json!({"name": "", "slug": "A", "aws_account_id": "1"}),
        )
        .await;
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = resp.json().await.unwrap();
    insta::assert_json_snapshot!("validation_problem", body);
    app.stop().await;
}

#[actix_web::test]
async fn ready_reports_unbaked_plugins_and_fails_only_when_they_cannot_be_fetched() {
    let app = spawn_app().await;
    let body: serde_json::Value = app.get_json("/ready").await;
    assert_eq!(body["plugins"]["baked"], false, "{body}");
    assert_eq!(body["plugins"]["automatic_acquisition"], true, "{body}");
    assert_eq!(
        body["plugins"]["versions"]["aws"],
        byoc::program::AWS_PLUGIN_VERSION
    );
    app.stop().await;

    let strict = crate::app::TestApp::builder()
        .settings(|s| s.pulumi.automatic_plugin_acquisition = false)
        .spawn()
        .await;
    let resp = strict.get("/ready").await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "plugins-unavailable", "{body}");
    strict.stop().await;
}
