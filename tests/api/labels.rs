//! Labels on tenants and environments, and `?selector=` on their lists (issue 19).

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};
use crate::routes::{Env, Problem};

async fn put_labels(app: &TestApp, path: &str, token: &str, labels: Value) -> reqwest::Response {
    app.request(
        Method::PUT,
        &format!("{path}/labels"),
        Some(token),
        Some(json!({"labels": labels})),
    )
    .await
}

async fn slugs(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    let resp = app
        .request(
            Method::GET,
            &format!("/api/v1/tenants{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn stacks(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    let resp = app
        .request(
            Method::GET,
            &format!("/api/v1/environments{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stack_name"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn tenant_labels_are_set_read_back_and_select_the_list() {
    let app = spawn_app().await;
    for (slug, labels) in [
        ("alpha", json!({"tier": "gold", "ring": "canary"})),
        ("bravo", json!({"tier": "free"})),
        (
            "charlie",
            json!({"tier": "gold", "example.com/region": "eu"}),
        ),
        ("delta", json!({})),
    ] {
        app.create_tenant(slug).await;
        let resp = put_labels(
            &app,
            &format!("/api/v1/tenants/{slug}"),
            ADMIN_TOKEN,
            labels.clone(),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["labels"], labels);
        let read: Value = app.get_json(&format!("/api/v1/tenants/{slug}")).await;
        assert_eq!(read["labels"], labels, "{slug}");
    }

    let q = |s: &str| format!("?selector={}", urlencode(s));
    assert_eq!(slugs(&app, &q("ring=canary"), ADMIN_TOKEN).await, ["alpha"]);
    assert_eq!(
        slugs(&app, &q("tier==gold"), ADMIN_TOKEN).await,
        ["alpha", "charlie"]
    );
    // `!=` is also true without the key, as in Kubernetes.
    assert_eq!(
        slugs(&app, &q("tier!=free"), ADMIN_TOKEN).await,
        ["alpha", "charlie", "delta"]
    );
    assert_eq!(
        slugs(&app, &q("tier=gold,!ring"), ADMIN_TOKEN).await,
        ["charlie"]
    );
    assert_eq!(
        slugs(&app, &q("example.com/region"), ADMIN_TOKEN).await,
        ["charlie"]
    );
    assert_eq!(
        slugs(&app, &q("ring=canary,tier!=free"), ADMIN_TOKEN).await,
        ["alpha"]
    );
    // Set-based, as in Kubernetes: `in` needs the key, `notin` is also true without it.
    assert_eq!(
        slugs(&app, &q("tier in (gold, free)"), ADMIN_TOKEN).await,
        ["alpha", "bravo", "charlie"]
    );
    assert_eq!(
        slugs(&app, &q("tier notin (gold)"), ADMIN_TOKEN).await,
        ["bravo", "delta"]
    );
    assert_eq!(
        slugs(&app, &q("tier in (gold),ring notin (canary)"), ADMIN_TOKEN).await,
        ["charlie"]
    );

    // A selective page still fills up and pages on: the cursor follows the matches.
    let first: Value = app
        .get_json(&format!(
            "/api/v1/tenants?limit=1&{}",
            &q("tier!=free")[1..]
        ))
        .await;
    assert_eq!(first["items"][0]["slug"], "alpha");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get_json(&format!(
            "/api/v1/tenants?limit=1&cursor={cursor}&{}",
            &q("tier!=free")[1..]
        ))
        .await;
    assert_eq!(second["items"][0]["slug"], "charlie");

    // Replacing removes what is not named again.
    let resp = put_labels(
        &app,
        "/api/v1/tenants/alpha",
        ADMIN_TOKEN,
        json!({"tier": "free"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(slugs(&app, &q("ring"), ADMIN_TOKEN).await.is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn invalid_labels_and_selectors_are_refused_naming_them() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let resp = put_labels(
        &app,
        "/api/v1/tenants/acme",
        ADMIN_TOKEN,
        json!({"tier": "gold", "-bad": "x", "ok": "has space"}),
    )
    .await;
    let problem = Problem::of(resp, 422).await;
    let mut fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort();
    assert_eq!(fields, ["labels.-bad", "labels.ok"]);
    // Nothing was written.
    let read: Value = app.get_json("/api/v1/tenants/acme").await;
    assert_eq!(read["labels"], json!({}));

    let resp = put_labels(
        &app,
        "/api/v1/tenants/acme",
        ADMIN_TOKEN,
        json!({"tier": 3}),
    )
    .await;
    let problem = Problem::of(resp, 422).await;
    assert_eq!(problem.errors[0].field, "/labels/tier");

    for list in ["/api/v1/tenants", "/api/v1/environments"] {
        let resp = app
            .get(&format!("{list}?selector={}", urlencode("tier in (gold")))
            .await;
        let problem = Problem::of(resp, 400).await;
        assert!(problem.detail.contains("selector"), "{}", problem.detail);
        assert!(
            problem.detail.contains("tier in (gold"),
            "{}",
            problem.detail
        );
    }

    // A viewer may not set labels.
    let viewer = app.token("viewer").await;
    let resp = put_labels(&app, "/api/v1/tenants/acme", &viewer, json!({"a": "b"})).await;
    assert_eq!(resp.status(), 403);
    // Labels of an environment that has neither a config nor a stack: 404.
    let resp = put_labels(
        &app,
        "/api/v1/tenants/acme/environments/nope",
        ADMIN_TOKEN,
        json!({"a": "b"}),
    )
    .await;
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn environment_labels_select_environments_within_a_tokens_scope() {
    let app = spawn_app().await;
    let envs = [
        (
            Env {
                slug: "acme",
                env: "prod",
            },
            json!({"ring": "canary"}),
        ),
        (
            Env {
                slug: "acme",
                env: "dev",
            },
            json!({"ring": "main"}),
        ),
        (
            Env {
                slug: "beta",
                env: "prod",
            },
            json!({"ring": "canary"}),
        ),
    ];
    app.create_tenant("acme").await;
    app.create_tenant("beta").await;
    for (env, labels) in &envs {
        app.with_config_of(*env).await;
        let resp = put_labels(&app, &env.path(), ADMIN_TOKEN, labels.clone()).await;
        assert_eq!(resp.status(), 200);
        let read: Value = app.get_json(&format!("{}/labels", env.path())).await;
        assert_eq!(read["labels"], *labels);
    }
    let all: Value = app.get_json("/api/v1/environments").await;
    assert_eq!(all["items"][0]["stack_name"], "acme-dev");
    assert_eq!(all["items"][0]["labels"], json!({"ring": "main"}));

    let canary = format!("?selector={}", urlencode("ring=canary"));
    assert_eq!(
        stacks(&app, &canary, ADMIN_TOKEN).await,
        ["acme-prod", "beta-prod"]
    );
    assert_eq!(
        stacks(&app, &format!("{canary}&tenant=beta"), ADMIN_TOKEN).await,
        ["beta-prod"]
    );
    let set = |s: &str| format!("?selector={}", urlencode(s));
    assert_eq!(
        stacks(&app, &set("ring in (main,canary)"), ADMIN_TOKEN).await,
        ["acme-dev", "acme-prod", "beta-prod"]
    );
    assert_eq!(
        stacks(&app, &set("ring notin (canary)"), ADMIN_TOKEN).await,
        ["acme-dev"]
    );

    // A token limited to acme selects only among acme's environments, and cannot label beta's.
    let body = json!({"name": "scoped", "role": "operator", "tenants": ["acme"]});
    let resp = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(ADMIN_TOKEN),
            Some(body),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let scoped = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stacks(&app, &canary, &scoped).await, ["acme-prod"]);
    let resp = put_labels(&app, &envs[2].0.path(), &scoped, json!({"ring": "x"})).await;
    assert_eq!(resp.status(), 404);
    let resp = put_labels(&app, "/api/v1/tenants/beta", &scoped, json!({"ring": "x"})).await;
    assert_eq!(resp.status(), 404);
    put_labels(
        &app,
        "/api/v1/tenants/acme",
        ADMIN_TOKEN,
        json!({"ring": "canary"}),
    )
    .await;
    put_labels(
        &app,
        "/api/v1/tenants/beta",
        ADMIN_TOKEN,
        json!({"ring": "canary"}),
    )
    .await;
    assert_eq!(slugs(&app, &canary, &scoped).await, ["acme"]);
    // beta's labels were not changed by the refused request.
    let beta: Value = app.get_json("/api/v1/tenants/beta").await;
    assert_eq!(beta["labels"], json!({"ring": "canary"}));
    app.stop().await;
}

/// Percent-encodes a query value (selectors hold `=`, `!`, `,` and spaces).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
