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
        "/ui/approvals",
        "/ui/drift",
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

/// The quoted strings after each `marker` in `text` (e.g. the `'./x.js'` of `from './x.js'`).
fn quoted_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            let quote = rest
                .chars()
                .next()
                .filter(|c| matches!(c, '\'' | '"' | '`'))?;
            let end = rest[1..].find(quote)?;
            // A template with a placeholder is not one route.
            Some(&rest[1..=end]).filter(|s| !s.contains("${"))
        })
        .collect()
}

/// Every module a page imports is served, and every API route a page is gated on (`needs:` in
/// app.js, `available(…)` in the pages) is a route of the OpenAPI document: a typo there would
/// hide the page (approvals, drift, labels) without any error.
#[actix_web::test]
async fn every_imported_script_is_served_and_every_page_gate_names_a_real_route() {
    let app = spawn_app().await;
    let fetch = |name: String| {
        let url = format!("{}/console/assets/{name}", app.base);
        let client = app.client.clone();
        async move {
            let resp = client.get(&url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            resp.text().await.unwrap()
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec!["app.js".to_owned()];
    let mut gates = Vec::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let text = fetch(name).await;
        // Module imports only (`from './x.js'`), not prose that says "from".
        for import in quoted_after(&text, "from ") {
            if let Some(module) = import.strip_prefix("./").filter(|m| m.ends_with(".js")) {
                todo.push(module.to_owned());
            }
        }
        gates.extend(
            quoted_after(&text, "needs: ")
                .into_iter()
                .map(str::to_owned),
        );
        gates.extend(
            quoted_after(&text, "available(")
                .into_iter()
                .map(str::to_owned),
        );
        // page-environment.js gates its sections on `has('drift')` etc., its own shorthand.
        let shorthand =
            "const has = (route) => available(`/api/v1/tenants/{slug}/environments/{env}/";
        let sections = if text.contains(shorthand) {
            quoted_after(&text, "has(")
        } else {
            Vec::new()
        };
        for has in sections {
            gates.push(format!(
                "/api/v1/tenants/{{slug}}/environments/{{env}}/{has}"
            ));
        }
    }
    for page in [
        "page-approvals.js",
        "page-drift.js",
        "labelsblock.js",
        "approval.js",
    ] {
        assert!(
            seen.contains(page),
            "{page} is reached from app.js: {seen:?}"
        );
    }
    let doc: serde_json::Value = app.get_json("/api/openapi.json").await;
    let routes = doc["paths"].as_object().unwrap();
    for needed in [
        "/api/v1/operations/{id}/approve",
        "/api/v1/drift",
        "/api/v1/tenants/{slug}/labels",
        "/api/v1/tenants/{slug}/environments/{env}/labels",
        "/api/v1/tenants/{slug}/environments/{env}/drift",
    ] {
        assert!(
            gates.iter().any(|g| g == needed),
            "a page is gated on {needed}: {gates:?}"
        );
    }
    for gate in &gates {
        assert!(routes.contains_key(gate), "{gate} is not an API route");
    }
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
