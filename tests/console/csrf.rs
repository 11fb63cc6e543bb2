//! Forged requests with the console's cookie: a state-changing request must come from a page
//! of this origin and carry the session's CSRF token; roles apply as with the token itself.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};
use crate::support::{Session, sign_in};

fn tenant(slug: &str) -> Value {
    json!({"name": "Forged", "slug": slug, "aws_account_id": "123456789012"})
}

async fn refused(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 403, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["type"], "/problems/cross-site-request",
        "{what}: {body}"
    );
}

async fn tenants(app: &TestApp) -> usize {
    let page: Value = app.get_json("/api/v1/tenants").await;
    page["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn a_cross_site_post_with_the_cookie_is_refused() {
    let app = spawn_app().await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    // What a page on another site can make a browser send: the cookie (were it not
    // SameSite=Strict), its own origin, and no CSRF token it cannot read.
    let forged = session
        .bare(&app, Method::POST, "/api/v1/tenants")
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .json(&tenant("forged"))
        .send()
        .await
        .unwrap();
    refused(forged, "cross-site").await;
    // Even with the session's CSRF token, another origin is refused.
    let with_token = session
        .bare(&app, Method::POST, "/api/v1/tenants")
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "same-site")
        .header("X-CSRF-Token", &session.csrf)
        .json(&tenant("forged"))
        .send()
        .await
        .unwrap();
    refused(with_token, "same-site sibling").await;
    let no_fetch_metadata = session
        .bare(&app, Method::POST, "/api/v1/tenants")
        .header("Origin", "https://evil.example")
        .header("X-CSRF-Token", &session.csrf)
        .json(&tenant("forged"))
        .send()
        .await
        .unwrap();
    refused(no_fetch_metadata, "foreign Origin without Sec-Fetch-Site").await;
    assert_eq!(tenants(&app).await, 0, "nothing was created");
    app.stop().await;
}

#[actix_web::test]
async fn a_same_origin_request_without_the_right_csrf_token_is_refused() {
    let app = spawn_app().await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    let other = sign_in(&app, ADMIN_TOKEN).await;
    let send = |s: &Session, token: Option<&str>| {
        let mut req =
            crate::support::same_origin(&app, s.bare(&app, Method::POST, "/api/v1/tenants"));
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        req.json(&tenant("acme")).send()
    };
    refused(send(&session, None).await.unwrap(), "no token").await;
    refused(
        send(&session, Some("not-the-token")).await.unwrap(),
        "wrong token",
    )
    .await;
    refused(
        send(&session, Some(&other.csrf)).await.unwrap(),
        "another session's token",
    )
    .await;
    // DELETE and the other state-changing methods are checked the same way.
    let delete = crate::support::same_origin(
        &app,
        session.bare(&app, Method::DELETE, "/api/v1/tenants/acme"),
    );
    refused(delete.send().await.unwrap(), "delete without token").await;
    assert_eq!(tenants(&app).await, 0);

    let ok = send(&session, Some(&session.csrf)).await.unwrap();
    assert_eq!(ok.status(), 201, "the console's own request");
    app.stop().await;
}

#[actix_web::test]
async fn a_viewer_session_cannot_change_anything() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let viewer = app.token("viewer").await;
    let session = sign_in(&app, &viewer).await;
    assert_eq!(session.body["role"], "viewer");
    for (method, path) in [
        (Method::POST, "/api/v1/tenants"),
        (Method::POST, "/api/v1/tenants/acme/verify"),
        (
            Method::POST,
            "/api/v1/tenants/acme/environments/prod/deploy",
        ),
        (Method::DELETE, "/api/v1/tenants/acme"),
    ] {
        let resp = session
            .page(&app, method.clone(), path)
            .json(&tenant("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["type"], "/problems/forbidden", "{method} {path}");
    }
    let read = session
        .bare(&app, Method::GET, "/api/v1/tenants/acme")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    app.stop().await;
}

#[actix_web::test]
async fn bearer_requests_need_no_csrf_token() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(format!("{}/api/v1/tenants", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("Origin", "https://elsewhere.example")
        .json(&tenant("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "API clients are not browsers");
    app.stop().await;
}
