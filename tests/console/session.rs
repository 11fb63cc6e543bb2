//! The console's session cookie: what sign-in answers, and when the cookie stops working.

use byoc::console::session::Session as Sealed;
use byoc::crypto::MasterKey;
use reqwest::Method;

use crate::app::{ADMIN_TOKEN, spawn_app};
use crate::support::{attributes, same_origin, sign_in, sign_in_raw};

#[actix_web::test]
async fn sign_in_answers_an_http_only_strict_expiring_cookie_that_holds_no_token() {
    let app = spawn_app().await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    let attrs = attributes(&session.set_cookie);
    assert!(
        session.cookie.starts_with("byoc_session="),
        "{}",
        session.set_cookie
    );
    for wanted in ["httponly", "samesite=strict", "path=/", "max-age=28800"] {
        assert!(attrs.contains(&wanted.to_owned()), "{wanted} in {attrs:?}");
    }
    // Plain HTTP on loopback: browsers would drop a Secure cookie of 127.0.0.1.
    assert!(!attrs.contains(&"secure".to_owned()), "{attrs:?}");
    assert!(!session.set_cookie.contains(ADMIN_TOKEN));
    assert_eq!(session.body["role"], "admin");
    assert_eq!(session.body["token_name"], "bootstrap");
    assert!(!session.body.to_string().contains(ADMIN_TOKEN));
    assert!(session.csrf.len() >= 32);

    let resp = session
        .bare(&app, Method::GET, "/console/session")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["csrf_token"], session.body["csrf_token"]);
    app.stop().await;
}

#[actix_web::test]
async fn the_cookie_is_secure_and_host_prefixed_unless_the_browser_is_on_loopback() {
    let app = spawn_app().await;
    for (header, value) in [
        ("X-Forwarded-Proto", "https"),
        ("Forwarded", "for=192.0.2.1;proto=https"),
        ("Host", "byoc.example.com"),
    ] {
        let req = app
            .client
            .post(format!("{}/console/session", app.base))
            .header(header, value)
            .json(&serde_json::json!({ "token": ADMIN_TOKEN }));
        let resp = same_origin(&app, req).send().await.unwrap();
        assert_eq!(resp.status(), 201, "{header}");
        let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set_cookie.starts_with("__Host-byoc_session="),
            "{header}: {set_cookie}"
        );
        assert!(
            attributes(&set_cookie).contains(&"secure".to_owned()),
            "{header}: {set_cookie}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_wrong_or_revoked_token_gets_no_session() {
    let app = spawn_app().await;
    let viewer = app.create_token("viewer").await;
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{}", viewer.id))
            .await
            .status(),
        204
    );
    for token in ["byoc_not-a-real-token", viewer.token.as_str()] {
        let resp = sign_in_raw(&app, token).await;
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().get("set-cookie").is_none());
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    app.stop().await;
}

#[actix_web::test]
async fn sign_in_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(format!("{}/console/session", app.base))
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .json(&serde_json::json!({ "token": ADMIN_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "/problems/cross-site-request");
    app.stop().await;
}

#[actix_web::test]
async fn the_cookie_reads_the_api_as_its_token_would() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    let resp = session
        .bare(&app, Method::GET, "/api/v1/tenants/acme")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let without = app
        .client
        .get(format!("{}/api/v1/tenants/acme", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 401);
    app.stop().await;
}

#[actix_web::test]
async fn revoking_the_token_ends_its_sessions_at_once() {
    let app = spawn_app().await;
    let operator = app.create_token("operator").await;
    let session = sign_in(&app, &operator.token).await;
    let read = |s: &crate::support::Session| s.bare(&app, Method::GET, "/api/v1/tenants").send();
    assert_eq!(read(&session).await.unwrap().status(), 200);
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{}", operator.id))
            .await
            .status(),
        204
    );
    assert_eq!(read(&session).await.unwrap().status(), 401);
    let me = session
        .bare(&app, Method::GET, "/console/session")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    app.stop().await;
}

#[actix_web::test]
async fn a_cookie_past_its_expiry_or_changed_is_refused() {
    let app = spawn_app().await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    let key = MasterKey::load_or_create(app.data_dir.path(), None).unwrap();
    let value = session.cookie.split_once('=').unwrap().1;
    let mut opened = Sealed::open(value, &key, chrono::Utc::now()).unwrap();
    // The same session, sealed by the same key, but an hour past its expiry.
    opened.expires_at = chrono::Utc::now().timestamp() - 3600;
    let expired = format!("byoc_session={}", opened.seal(&key));
    let mut tampered = session.cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for cookie in [expired, tampered] {
        let resp = app
            .client
            .get(format!("{}/api/v1/tenants", app.base))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{cookie}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn signing_out_clears_the_cookie() {
    let app = spawn_app().await;
    let session = sign_in(&app, ADMIN_TOKEN).await;
    let refused = session
        .bare(&app, Method::DELETE, "/console/session")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "signing out is state-changing: CSRF applies"
    );
    let resp = session
        .page(&app, Method::DELETE, "/console/session")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("byoc_session=;"), "{set_cookie}");
    assert!(
        attributes(set_cookie).contains(&"max-age=0".to_owned()),
        "{set_cookie}"
    );
    app.stop().await;
}
