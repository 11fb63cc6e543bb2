//! Tenant-scoped tokens (issue 13.3), `whoami`, the three 401 causes and authentication as a
//! pure read (issue 16).

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, spawn_app};
use crate::routes::{Action, Env};

const BETA: Env = Env {
    slug: "beta",
    env: "prod",
};

/// Creates a token with `role` limited to `tenants`, as `by`; the raw answer.
async fn scoped(
    app: &crate::app::TestApp,
    by: &str,
    role: &str,
    tenants: Option<&[&str]>,
) -> reqwest::Response {
    let mut body = json!({"name": "scoped", "role": role});
    if let Some(t) = tenants {
        body["tenants"] = json!(t);
    }
    app.request(Method::POST, "/api/v1/tokens", Some(by), Some(body))
        .await
}

async fn token_of(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// The answer with the tenant's slug replaced, so two 404s can be compared whole.
async fn normalized(resp: reqwest::Response, slug: &str) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, text.replace(slug, "<slug>"))
}

#[actix_web::test]
async fn a_scoped_token_sees_only_its_tenants_and_gets_the_404_of_a_missing_one_elsewhere() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    app.with_config(BETA).await;
    let op = app.run(BETA, Action::Deploy).await;
    let token = token_of(scoped(&app, ADMIN_TOKEN, "operator", Some(&["acme"])).await).await;
    let t = Some(token.as_str());

    let list: Value = app
        .request(Method::GET, "/api/v1/tenants", t, None)
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    assert_eq!(
        app.request(Method::GET, "/api/v1/tenants/acme", t, None)
            .await
            .status(),
        200
    );

    // Every route naming beta answers exactly what a tenant that does not exist answers.
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::GET, "/environments/prod/status"),
        (Method::GET, "/environments/prod/operations"),
        (Method::GET, "/environments/prod/outputs"),
        (Method::GET, "/environments/prod/config"),
        (Method::POST, "/environments/prod/deploy"),
        (Method::GET, "/onboarding"),
    ] {
        let hidden = app
            .request(
                method.clone(),
                &format!("/api/v1/tenants/beta{suffix}"),
                t,
                Some(json!({})),
            )
            .await;
        let missing = app
            .request(
                method.clone(),
                &format!("/api/v1/tenants/gamma{suffix}"),
                Some(ADMIN_TOKEN),
                Some(json!({})),
            )
            .await;
        let (hidden, missing) = (
            normalized(hidden, "beta").await,
            normalized(missing, "gamma").await,
        );
        assert_eq!(hidden.0, 404, "{method} {suffix}: {}", hidden.1);
        assert_eq!(hidden, missing, "{method} {suffix}");
    }

    // Operations by id too: beta's operation is as absent as one that never existed.
    for suffix in ["", "/events", "/cancel"] {
        let method = if suffix == "/cancel" {
            Method::POST
        } else {
            Method::GET
        };
        let hidden = app
            .request(
                method.clone(),
                &format!("/api/v1/operations/{}{suffix}", op.id),
                t,
                None,
            )
            .await;
        let missing = app
            .request(
                method,
                &format!("/api/v1/operations/no-such-op{suffix}"),
                t,
                None,
            )
            .await;
        let hidden = normalized(hidden, &op.id).await;
        let missing = normalized(missing, "no-such-op").await;
        assert_eq!(hidden.0, 404, "{suffix}: {}", hidden.1);
        assert_eq!(hidden, missing, "{suffix}");
    }
    // The unscoped admin still reads it.
    assert_eq!(
        app.get(&format!("/api/v1/operations/{}", op.id))
            .await
            .status(),
        200
    );

    // Registering a tenant outside the scope is refused before any conflict check.
    let body = json!({"name": "B", "slug": "beta", "aws_account_id": "123456789012"});
    let resp = app
        .request(Method::POST, "/api/v1/tenants", t, Some(body))
        .await;
    assert_eq!(resp.status(), 403);
    app.stop().await;
}

#[actix_web::test]
async fn a_scoped_admin_cannot_create_a_broader_token() {
    let app = spawn_app().await;
    let admin = token_of(scoped(&app, ADMIN_TOKEN, "admin", Some(&["acme", "beta"])).await).await;
    let a = admin.as_str();
    assert_eq!(scoped(&app, a, "viewer", None).await.status(), 403);
    assert_eq!(
        scoped(&app, a, "viewer", Some(&["acme", "gamma"]))
            .await
            .status(),
        403
    );
    let narrower = scoped(&app, a, "viewer", Some(&["beta"])).await;
    assert_eq!(narrower.status(), 201);
    let narrower: Value = narrower.json().await.unwrap();
    assert_eq!(narrower["tenants"], json!(["beta"]));

    // The scoped admin lists and revokes only tokens within its scope.
    let listed: Value = app
        .request(Method::GET, "/api/v1/tokens", Some(a), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["tenants"].is_array()),
        "{listed}"
    );
    let all: Value = app.get_json("/api/v1/tokens").await;
    let bootstrap = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenants"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .request(
            Method::DELETE,
            &format!("/api/v1/tokens/{bootstrap}"),
            Some(a),
            None,
        )
        .await;
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn whoami_names_the_token_its_role_and_scope_never_the_secret() {
    let app = spawn_app().await;
    let token = token_of(scoped(&app, ADMIN_TOKEN, "viewer", Some(&["acme"])).await).await;
    let resp = app
        .request(Method::GET, "/api/v1/whoami", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&token));
    let me: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(me["token_name"], "scoped");
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["tenants"], json!(["acme"]));
    let admin: Value = app.get_json("/api/v1/whoami").await;
    assert_eq!(admin["tenants"], Value::Null);
    assert_eq!(admin["role"], "admin");
    app.stop().await;
}

#[actix_web::test]
async fn the_three_401_causes_have_distinct_details() {
    let app = spawn_app().await;
    let mut details = Vec::new();
    for header in [None, Some("Basic abc"), Some("Bearer byoc_unknown")] {
        let mut req = app.client.get(format!("{}/api/v1/tenants", app.base));
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        details.push(body["detail"].as_str().unwrap().to_owned());
    }
    details.dedup();
    assert_eq!(details.len(), 3, "{details:?}");
    app.stop().await;
}

#[actix_web::test]
async fn authentication_reads_without_writing_and_still_records_use_coarsely() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    // First use: recorded.
    assert_eq!(app.get("/api/v1/tenants").await.status(), 200);
    let used = |app: &crate::app::TestApp| -> Vec<Option<String>> {
        use byoc::store::schema::api_tokens::dsl::*;
        use diesel::prelude::*;
        api_tokens
            .select(last_used_at)
            .load::<Option<chrono::NaiveDateTime>>(&mut *app.db())
            .unwrap()
            .into_iter()
            .map(|t| t.map(|t| t.to_string()))
            .collect()
    };
    let first = used(&app);
    assert!(first.iter().any(Option::is_some));

    // Another connection blocks every write to the tokens (SQLite: the database's write lock;
    // PostgreSQL: an EXCLUSIVE table lock, which still lets plain SELECTs through): a read must
    // not wait for it (before, every request ran an UPDATE and waited out the busy timeout).
    let mut blocker = app.db();
    blocker
        .batch_execute(if app.on_postgres() {
            "BEGIN; LOCK TABLE api_tokens IN EXCLUSIVE MODE"
        } else {
            "BEGIN IMMEDIATE"
        })
        .unwrap();
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.get("/api/v1/tenants"),
    )
    .await
    .expect("an authenticated read waited for the write lock");
    assert_eq!(resp.status(), 200);
    blocker.batch_execute("ROLLBACK").unwrap();
    drop(blocker);

    // A stale last use is advanced by the next request that verifies the token (one this
    // server has not verified in the last few seconds: verified tokens are cached briefly).
    let fresh = app.create_token("viewer").await;
    app.db()
        .batch_execute(&format!(
            "UPDATE api_tokens SET last_used_at = '2000-01-01 00:00:00' WHERE id = '{}'",
            fresh.id
        ))
        .unwrap();
    let resp = app
        .request(Method::GET, "/api/v1/tenants", Some(&fresh.token), None)
        .await;
    assert_eq!(resp.status(), 200);
    let after = used(&app);
    assert!(
        after.iter().flatten().all(|t| !t.starts_with("2000")),
        "{after:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_open_event_stream_ends_soon_after_its_token_is_revoked() {
    let app = spawn_app().await;
    app.with_config(BETA).await;
    // Queued and never run (no worker): without the revocation check the stream stays open.
    let op = app.start(BETA, Action::Deploy).await;
    let created = app.create_token("viewer").await;
    let resp = app
        .client
        .get(format!("{}/api/v1/operations/{}/events", app.base, op.id))
        .header("Authorization", format!("Bearer {}", created.token))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{}", created.id))
            .await
            .status(),
        204
    );
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), resp.text())
        .await
        .expect("the stream outlived its token's revocation")
        .unwrap();
    assert!(body.starts_with("retry: "), "{body}");
    assert!(body.contains("the token has been revoked"), "{body}");
    assert_eq!(app.cancel(&op.id).await.status(), 202);
    app.stop().await;
}
