//! The console's pages and files: served at `/` and `/ui/…` with a Content-Security-Policy
//! that allows only our own scripts and styles; nothing at all with `BYOC_CONSOLE=off`.

use reqwest::Method;

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};

fn assert_secured(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, byoc::console::CSP, "{what}");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(
            csp.split("; ").any(|d| d == directive),
            "{what}: {directive} in {csp}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

#[actix_web::test]
async fn every_page_path_serves_the_shell_with_the_csp() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/ui",
        "/ui/",
        "/ui/tenants/acme/environments/prod",
        "/ui/operations/x",
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_secured(&resp, path);
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(r#"<script type="module" src="/console/assets/app.js">"#),
            "{path}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn files_are_served_with_their_type_and_revalidated_by_etag() {
    let app = spawn_app().await;
    let url = format!("{}/console/assets/app.js", app.base);
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_secured(&resp, "app.js");
    assert_eq!(
        resp.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let css = app
        .client
        .get(format!("{}/console/assets/style.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let missing = app
        .client
        .get(format!("{}/console/assets/nope.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    app.stop().await;
}

const KEY_HEX: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

async fn with_console(enabled: bool) -> TestApp {
    TestApp::builder()
        .settings(move |s| {
            s.console.enabled = enabled;
            s.data.master_key = Some(secrecy::SecretString::from(KEY_HEX));
        })
        .spawn()
        .await
}

/// A session of the bootstrap admin token, sealed with `KEY_HEX` as a sign-in would.
async fn sealed_admin_session(app: &TestApp) -> String {
    let tokens: serde_json::Value = app.get_json("/api/v1/tokens").await;
    let id = tokens[0]["id"].as_str().unwrap();
    let key = byoc::crypto::MasterKey::decode(KEY_HEX).unwrap();
    let session = byoc::console::session::Session::new(id, chrono::Utc::now());
    format!("byoc_session={}", session.seal(&key))
}

#[actix_web::test]
async fn with_the_console_off_nothing_is_served_and_cookies_are_ignored() {
    let on = with_console(true).await;
    let cookie = sealed_admin_session(&on).await;
    let read = |app: &TestApp| {
        app.client
            .get(format!("{}/api/v1/tenants", app.base))
            .header("Cookie", &cookie)
            .send()
    };
    assert_eq!(
        read(&on).await.unwrap().status(),
        200,
        "the cookie is a valid session"
    );
    on.stop().await;

    let app = with_console(false).await;
    for path in [
        "/",
        "/ui/",
        "/ui/tenants/acme",
        "/console/assets/app.js",
        "/console/session",
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let sign_in = crate::support::sign_in_raw(&app, ADMIN_TOKEN).await;
    assert_eq!(sign_in.status(), 404);
    assert_eq!(
        read(&app).await.unwrap().status(),
        401,
        "no console, no cookie sessions"
    );
    let bearer = app
        .request(Method::GET, "/api/v1/tenants", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(bearer.status(), 200, "the API itself is unchanged");
    app.stop().await;
}

#[test]
fn byoc_console_is_on_by_default_and_takes_only_on_or_off() {
    use byoc::settings::Settings;
    let with = |v: Option<&'static str>| {
        Settings::from_lookup(move |k| {
            (k == "BYOC_CONSOLE")
                .then_some(v)
                .flatten()
                .map(str::to_owned)
        })
    };
    assert!(with(None).unwrap().console.enabled);
    assert!(with(Some("on")).unwrap().console.enabled);
    assert!(!with(Some("off")).unwrap().console.enabled);
    let err = with(Some("no")).unwrap_err();
    assert_eq!(err.var, "BYOC_CONSOLE");
}
