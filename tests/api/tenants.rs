//! Tenants: register, read, list, remove.

use byoc::domain::StackStatus;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, spawn_app};
use crate::routes::{Problem, TenantPage};

#[actix_web::test]
async fn create_returns_the_external_id_once_with_the_role_to_expect() {
    let app = spawn_app().await;
    let created = app.create_tenant("acme").await;
    let external_id = created.external_id.as_str();
    assert_eq!(external_id.len(), 43);
    assert!(
        external_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        created.tenant.role_arn,
        "arn:aws:iam::123456789012:role/BYOCPlatformRole"
    );
    assert_eq!(created.tenant.aws_region, "us-east-1");

    let get: Value = app.get("/api/v1/tenants/acme").await.json().await.unwrap();
    let list: Value = app.get("/api/v1/tenants").await.json().await.unwrap();
    for body in [&get, &list] {
        let text = body.to_string();
        assert!(!text.contains(external_id), "external id leaked: {text}");
        assert!(!text.contains("external_id"), "field present: {text}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn external_id_is_never_stored_in_plaintext() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for slug in ["acme", "globex", "initech"] {
        ids.push(app.create_tenant(slug).await.external_id);
    }
    let files = app.data_files();
    assert!(files.iter().any(|(f, _)| f.ends_with("byoc.db")));
    for id in &ids {
        let found = app.data_files_contain(id.as_bytes());
        assert_eq!(found, None, "external id in plaintext");
    }
    app.stop().await;
}

#[actix_web::test]
async fn custom_region_and_role_name_shape_the_role_arn() {
    let app = spawn_app().await;
    let resp = app
        .post(
            "/api/v1/tenants",
            json!({"name": "Gov", "slug": "gov", "aws_account_id": "111122223333",
                   "aws_region": "us-gov-west-1", "role_name": "MyByocRole"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["tenant"]["role_arn"],
        "arn:aws-us-gov:iam::111122223333:role/MyByocRole"
    );
    app.stop().await;
}

#[actix_web::test]
async fn duplicate_slug_is_409() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let again = app
        .post(
            "/api/v1/tenants",
            json!({"name": "Other", "slug": "acme", "aws_account_id": "210987654321"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["type"], "/problems/tenant-exists");
    app.stop().await;
}

#[actix_web::test]
async fn invalid_tenant_fields_are_all_reported_with_their_pointer() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "A", "slug": "ab", "aws_account_id": "123456789012"}),
            "/slug",
        ),
        (
            json!({"name": "A", "slug": "Acme", "aws_account_id": "123456789012"}),
            "/slug",
        ),
        (
            json!({"name": "A", "slug": "acme-", "aws_account_id": "123456789012"}),
            "/slug",
        ),
        (
            json!({"name": "A", "slug": "acme", "aws_account_id": "1234"}),
            "/aws_account_id",
        ),
        (
            json!({"name": "", "slug": "acme", "aws_account_id": "123456789012"}),
            "/name",
        ),
        (
            json!({"name": "A", "slug": "acme", "aws_account_id": "123456789012", "aws_region": "mars-1"}),
            "/aws_region",
        ),
        (
            json!({"name": "A", "slug": "acme", "aws_account_id": "123456789012", "role_name": "bad name"}),
            "/role_name",
        ),
        (json!({"name": "A", "slug": "acme"}), "/"),
        (
            json!({"name": "A", "slug": "acme", "aws_account_id": 123}),
            "/aws_account_id",
        ),
    ];
    for (body, field) in cases {
        let resp = app.post("/api/v1/tenants", body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/validation-failed");
        let fields: Vec<_> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert!(fields.contains(&json!(field)), "{body}: {fields:?}");
    }
    let many = app
        .post(
            "/api/v1/tenants",
            json!({"name": "", "slug": "A", "aws_account_id": "1"}),
        )
        .await;
    let problem: Value = many.json().await.unwrap();
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);
    let malformed = app
        .client
        .post(format!("{}/api/v1/tenants", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    app.stop().await;
}

#[actix_web::test]
async fn list_is_paginated_with_an_opaque_cursor() {
    let app = spawn_app().await;
    for slug in ["delta", "alpha", "echo", "charlie", "bravo"] {
        app.create_tenant(slug).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tenants?limit=2&cursor={c}"),
            None => "/api/v1/tenants?limit=2".to_owned(),
        };
        let page: TenantPage = app.get_json(&path).await;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|t| t.slug));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["alpha", "bravo", "charlie", "delta", "echo"]);
    assert_eq!(app.get("/api/v1/tenants?limit=0").await.status(), 422);
    assert_eq!(app.get("/api/v1/tenants?limit=201").await.status(), 422);
    assert_eq!(app.get("/api/v1/tenants?cursor=%%%").await.status(), 422);
    app.stop().await;
}

#[actix_web::test]
async fn unknown_tenant_is_404_naming_it() {
    let app = spawn_app().await;
    let problem = Problem::of(app.get("/api/v1/tenants/nobody").await, 404).await;
    assert!(problem.detail.contains("tenant 'nobody'"), "{problem:?}");
    assert_eq!(app.delete("/api/v1/tenants/nobody").await.status(), 404);
    assert_eq!(app.get("/api/v1/tenants/NOT_A_SLUG").await.status(), 422);
    app.stop().await;
}

#[actix_web::test]
async fn delete_is_refused_while_a_stack_is_not_destroyed() {
    let app = spawn_app().await;
    let tenant_id = app.create_tenant("acme").await.tenant.id;
    app.force_stack_status(&tenant_id, "prod", StackStatus::Succeeded);
    let refused = Problem::of(app.delete("/api/v1/tenants/acme").await, 409).await;
    assert_eq!(refused.kind, "/problems/stack-not-destroyed");
    assert!(refused.detail.contains("acme-prod"), "{refused:?}");

    app.force_stack_status(&tenant_id, "prod", StackStatus::Destroyed);
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    assert_eq!(app.get("/api/v1/tenants/acme").await.status(), 404);
    // The slug is free again.
    app.create_tenant("acme").await;
    let _ = app.request(Method::GET, "/health", None, None).await;
    app.stop().await;
}
