//! Bearer tokens and the role matrix.

use reqwest::Method;
use serde_json::json;

use crate::app::{ADMIN_TOKEN, spawn_app};
use crate::routes::Token;

#[actix_web::test]
async fn missing_or_malformed_authorization_is_401_problem() {
    let app = spawn_app().await;
    for header in [None, Some("Basic abc"), Some("Bearer")] {
        let mut req = app.client.get(format!("{}/api/v1/tenants", app.base));
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{header:?}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["type"], "/problems/unauthorized");
    }
    app.stop().await;
}

#[actix_web::test]
async fn unknown_token_is_401() {
    let app = spawn_app().await;
    let resp = app
        .request(
            Method::GET,
            "/api/v1/tenants",
            Some("byoc_not-a-real-token"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

#[actix_web::test]
async fn revoked_token_stops_working_at_once() {
    let app = spawn_app().await;
    let created = app.create_token("viewer").await;
    let (token, id) = (created.token.as_str(), created.id.as_str());
    let ok = app
        .request(Method::GET, "/api/v1/tenants", Some(token), None)
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        204
    );
    let denied = app
        .request(Method::GET, "/api/v1/tenants", Some(token), None)
        .await;
    assert_eq!(denied.status(), 401);
    // Revoking twice is a 404: there is no active token with that id any more.
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        404
    );
    app.stop().await;
}

#[actix_web::test]
async fn viewer_can_read_but_not_write() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let viewer = app.token("viewer").await;
    let read = app
        .request(Method::GET, "/api/v1/tenants/acme", Some(&viewer), None)
        .await;
    assert_eq!(read.status(), 200);
    let body = json!({"name": "X", "slug": "xcorp", "aws_account_id": "123456789012"});
    let write = app
        .request(Method::POST, "/api/v1/tenants", Some(&viewer), Some(body))
        .await;
    assert_eq!(write.status(), 403);
    let problem: serde_json::Value = write.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/forbidden");
    let delete = app
        .request(Method::DELETE, "/api/v1/tenants/acme", Some(&viewer), None)
        .await;
    assert_eq!(delete.status(), 403);
    app.stop().await;
}

#[actix_web::test]
async fn operator_manages_tenants_but_not_tokens() {
    let app = spawn_app().await;
    let operator = app.token("operator").await;
    let body = json!({"name": "X", "slug": "xcorp", "aws_account_id": "123456789012"});
    let created = app
        .request(Method::POST, "/api/v1/tenants", Some(&operator), Some(body))
        .await;
    assert_eq!(created.status(), 201);
    let tokens = app
        .request(Method::GET, "/api/v1/tokens", Some(&operator), None)
        .await;
    assert_eq!(tokens.status(), 403);
    let new = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(&operator),
            Some(json!({"name": "escalate", "role": "admin"})),
        )
        .await;
    assert_eq!(new.status(), 403);
    app.stop().await;
}

#[actix_web::test]
async fn tokens_are_stored_only_as_hashes_and_listed_without_secret() {
    let app = spawn_app().await;
    let token = app.token("operator").await;
    let list: serde_json::Value = app.get("/api/v1/tokens").await.json().await.unwrap();
    let text = list.to_string();
    assert!(!text.contains(&token));
    assert!(!text.contains(ADMIN_TOKEN));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none())
    );
    assert_eq!(
        app.data_files_contain(token.as_bytes()),
        None,
        "token on disk"
    );
    app.stop().await;
}

#[actix_web::test]
async fn token_requests_are_validated() {
    let app = spawn_app().await;
    let bad_role = app
        .post("/api/v1/tokens", json!({"name": "x", "role": "root"}))
        .await;
    assert_eq!(bad_role.status(), 422);
    let body: serde_json::Value = bad_role.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "/role");
    let blank = app
        .post("/api/v1/tokens", json!({"name": "  ", "role": "viewer"}))
        .await;
    assert_eq!(blank.status(), 422);
    app.stop().await;
}

#[actix_web::test]
async fn the_last_admin_token_cannot_be_revoked() {
    let app = spawn_app().await;
    let list: Vec<Token> = app.get_json("/api/v1/tokens").await;
    let bootstrap = list[0].id.clone();
    let refused = app.delete(&format!("/api/v1/tokens/{bootstrap}")).await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "/problems/last-admin-token");
    // With a second admin token, the first can go.
    let second = app.token("admin").await;
    let resp = app
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{bootstrap}"),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    let old = app
        .request(Method::GET, "/api/v1/tokens", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(old.status(), 401);
    app.stop().await;
}
