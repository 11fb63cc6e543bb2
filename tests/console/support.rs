//! A console session as a browser holds it: the cookie (sent back as the browser would) and
//! the CSRF token the page read from `GET /console/session`.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use crate::app::TestApp;

/// A signed-in console session.
pub struct Session {
    /// `name=value` of the session cookie.
    pub cookie: String,
    /// The whole `Set-Cookie` header of the sign-in.
    pub set_cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The sign-in answer.
    pub body: Value,
}

/// Headers a same-origin `fetch` of the console's pages sends with a state-changing request.
pub fn same_origin(app: &TestApp, req: RequestBuilder) -> RequestBuilder {
    req.header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
}

/// `POST /console/session` from a page of the server's own origin.
pub async fn sign_in_raw(app: &TestApp, token: &str) -> Response {
    let req = app
        .client
        .post(format!("{}/console/session", app.base))
        .json(&serde_json::json!({ "token": token }));
    same_origin(app, req).send().await.unwrap()
}

/// Signs in with `token`; must answer 201.
pub async fn sign_in(app: &TestApp, token: &str) -> Session {
    let resp = sign_in_raw(app, token).await;
    assert_eq!(resp.status(), 201, "sign-in");
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    Session {
        cookie,
        set_cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        body,
    }
}

impl Session {
    /// A request carrying the cookie only (no CSRF token, no origin headers).
    pub fn bare(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.client
            .request(method, format!("{}{path}", app.base))
            .header("Cookie", &self.cookie)
    }

    /// A request as the console's own scripts send it: cookie, same-origin, CSRF token.
    pub fn page(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        same_origin(app, self.bare(app, method, path)).header("X-CSRF-Token", &self.csrf)
    }
}

/// The attributes of a `Set-Cookie` header, lower-cased (`httponly`, `max-age=28800`, …).
pub fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}
