//! The HTTP edge: what the framework answers before a handler runs is problem+json like every
//! other error (unknown routes, wrong methods with `Allow`, oversized and stalled bodies, bad
//! targets); HEAD works wherever GET does; hardening headers; strict JSON bodies; and
//! authorization decided before anything about the request's parameters or body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};
use crate::routes::PROD;

async fn problem_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    (status, resp.json().await.unwrap())
}

/// Sends `raw` on a fresh connection and returns what the server answered (one response).
fn raw_exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(raw).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // One response is all a test asks for; stop at its (short) end.
                let text = String::from_utf8_lossy(&out);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[actix_web::test]
async fn unknown_routes_are_problem_json_404() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/api/v1/tenantz",
        "/api/v1/tenants/acme/whatever/deep",
    ] {
        let (status, body) = problem_of(app.get(path).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["type"], "/problems/not-found", "{path}");
        assert!(body["detail"].as_str().unwrap().contains(path), "{body}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::PUT, "/api/v1/tenants", Some(ADMIN_TOKEN), None)
        .await;
    let allow = resp.headers()["allow"].to_str().unwrap().to_owned();
    let (status, body) = problem_of(resp).await;
    assert_eq!(status, 405);
    assert_eq!(body["type"], "/problems/method-not-allowed");
    let mut methods: Vec<&str> = allow.split(", ").collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "HEAD", "POST"]);

    // A path with parameters, and one the console serves.
    let resp = app
        .request(
            Method::PATCH,
            "/api/v1/tenants/acme/environments/prod/config",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(resp.status(), 405);
    let allow = resp.headers()["allow"].to_str().unwrap();
    for m in ["GET", "POST", "DELETE", "HEAD"] {
        assert!(allow.contains(m), "{allow}");
    }
    let resp = app
        .request(Method::PUT, "/console/session", None, None)
        .await;
    assert_eq!(resp.status(), 405);
    app.stop().await;
}

#[actix_web::test]
async fn head_answers_wherever_get_does_without_a_body() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    for path in ["/health", "/api/v1/tenants", "/api/v1/tenants/acme"] {
        let get = app.get(path).await;
        let get_len = get.bytes().await.unwrap().len();
        let head = app
            .request(Method::HEAD, path, Some(ADMIN_TOKEN), None)
            .await;
        assert_eq!(head.status(), 200, "{path}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            get_len.to_string(),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    // Authentication still applies.
    let head = app
        .request(Method::HEAD, "/api/v1/tenants", None, None)
        .await;
    assert_eq!(head.status(), 401);
    app.stop().await;
}

#[actix_web::test]
async fn an_oversized_body_is_problem_json_413() {
    let app = spawn_app().await;
    let big =
        json!({"name": "x".repeat(300 * 1024), "slug": "acme", "aws_account_id": "123456789012"});
    let (status, body) = problem_of(app.post("/api/v1/tenants", big).await).await;
    assert_eq!(status, 413);
    assert_eq!(body["type"], "/problems/payload-too-large");
    app.stop().await;
}

#[actix_web::test]
async fn a_body_that_never_arrives_is_408_after_the_body_timeout() {
    let app = TestApp::builder()
        .settings(|s| s.http.body_timeout = Duration::from_secs(1))
        .spawn()
        .await;
    // Announces 100 bytes, sends 10, then waits: the server gives up, the client is told.
    let raw = format!(
        "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": "
    );
    let answer = tokio::task::spawn_blocking({
        let app_addr = app.addr();
        move || {
            let mut stream = TcpStream::connect(app_addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            stream.write_all(raw.as_bytes()).unwrap();
            let mut out = vec![0u8; 4096];
            let n = stream.read(&mut out).unwrap();
            String::from_utf8_lossy(&out[..n]).into_owned()
        }
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    app.stop().await;
}

#[actix_web::test]
async fn an_undecodable_target_is_problem_json() {
    let app = spawn_app().await;
    let raw = format!(
        "GET /api/v1/tenants/%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let addr = app.addr();
    let answer = tokio::task::spawn_blocking(move || raw_exchange(addr, raw.as_bytes()))
        .await
        .unwrap();
    let status: u16 = answer[9..12].parse().unwrap();
    assert!((400..500).contains(&status), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    app.stop().await;
}

#[actix_web::test]
async fn responses_carry_hardening_headers_and_the_console_keeps_its_csp() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/tenants").await;
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // Errors too.
    let resp = app.get("/nope").await;
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");

    // The console's page keeps its own policy.
    let page = app.request(Method::GET, "/", None, None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["content-security-policy"],
        byoc::console::CSP
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    app.stop().await;
}

#[actix_web::test]
async fn answers_that_carry_a_secret_are_never_stored_by_caches() {
    let app = spawn_app().await;
    let tenant = app
        .post(
            "/api/v1/tenants",
            json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"}),
        )
        .await;
    assert_eq!(tenant.status(), 201);
    assert_eq!(tenant.headers()["cache-control"], "no-store", "external ID");
    let token = app
        .post("/api/v1/tokens", json!({"name": "ci", "role": "viewer"}))
        .await;
    assert_eq!(token.status(), 201);
    assert_eq!(token.headers()["cache-control"], "no-store", "token");
    let rotated = app
        .post("/api/v1/tenants/acme/external-id/rotate", json!({}))
        .await;
    assert_eq!(rotated.headers()["cache-control"], "no-store", "rotated ID");
    app.stop().await;
}

/// POSTs `body` (raw bytes) with `content_type` as admin.
async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn a_duplicate_key_is_400_naming_it() {
    let app = spawn_app().await;
    let body =
        r#"{"name": "Acme", "slug": "acme", "slug": "evil", "aws_account_id": "123456789012"}"#;
    let (status, problem) =
        problem_of(post_raw(&app, "/api/v1/tenants", Some("application/json"), body).await).await;
    assert_eq!(status, 400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("duplicate key 'slug'"), "{detail}");

    // Nested too, with the object's pointer.
    app.create_tenant("acme").await;
    let body = r#"{"vpc": {"cidr": "10.0.0.0/16", "cidr": "10.1.0.0/16"}}"#;
    let (status, problem) = problem_of(
        post_raw(
            &app,
            "/api/v1/tenants/acme/environments/prod/config",
            Some("application/json"),
            body,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("duplicate key 'cidr' in the object at /vpc"),
        "{detail}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_array_where_an_object_is_expected_is_refused() {
    let app = spawn_app().await;
    // serde would otherwise read the struct's fields from the array's positions.
    let body = r#"["Acme", "acme", "123456789012"]"#;
    let (status, problem) =
        problem_of(post_raw(&app, "/api/v1/tenants", Some("application/json"), body).await).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "/");
    let list: Value = app.get_json("/api/v1/tenants").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    app.stop().await;
}

#[actix_web::test]
async fn an_array_where_a_nested_object_is_expected_is_refused_naming_it() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let path = "/api/v1/tenants/acme/environments/prod/config";
    // Through serde alone this would read as instance types ["t3.large"] and desired size 3.
    let body = r#"{"node_group_config": [["t3.large"], 3]}"#;
    let (status, problem) =
        problem_of(post_raw(&app, path, Some("application/json"), body).await).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "/node_group_config",
        "{problem}"
    );
    let saved = app.get(path).await;
    assert_eq!(saved.status(), 404, "nothing was saved");
    // The object form of the same values is taken.
    let body = r#"{"node_group_config": {"instance_types": ["t3.large"], "desired_size": 3}}"#;
    let resp = post_raw(&app, path, Some("application/json"), body).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    app.stop().await;
}

#[actix_web::test]
async fn writes_need_application_json() {
    let app = spawn_app().await;
    let body = r#"{"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"}"#;
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, problem) = problem_of(post_raw(&app, "/api/v1/tenants", ct, body).await).await;
        assert_eq!(status, 415, "{ct:?}");
        assert_eq!(problem["type"], "/problems/unsupported-media-type");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
    // With parameters, and a +json type.
    for ct in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let resp = post_raw(&app, "/api/v1/tenants", Some(ct), body).await;
        assert!(
            resp.status() == 201 || resp.status() == 409,
            "{ct}: {}",
            resp.status()
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_viewers_write_is_403_whatever_its_parameters_or_body() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let viewer = app.token("viewer").await;
    let send = |method: Method, path: &str, ct: Option<&str>, body: &str| {
        let mut req = app
            .client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&viewer)
            .body(body.to_owned());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let cases: [(Method, &str, Option<&str>, &str); 8] = [
        (
            Method::DELETE,
            "/api/v1/tenants/acme/environments/prod",
            None,
            "",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/environments/prod?confirm=maybe",
            None,
            "",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/environments/prod",
            Some("text/plain"),
            "yes",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/acme/environments/prod",
            Some("application/json"),
            "{not json",
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/NOT_A_SLUG/environments/prod",
            None,
            "",
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/environments/BAD!/deploy?if_idle=perhaps",
            None,
            "",
        ),
        (
            Method::POST,
            "/api/v1/tenants",
            Some("application/json"),
            "[1, 2]",
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/environments/prod/config",
            Some("text/plain"),
            "x",
        ),
    ];
    for (method, path, ct, body) in cases {
        let resp = send(method.clone(), path, ct, body).await.unwrap();
        let (status, problem) = problem_of(resp).await;
        assert_eq!(status, 403, "{method} {path} {ct:?} {body}: {problem}");
        assert_eq!(problem["type"], "/problems/forbidden");
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_full_database_answers_507_and_shows_in_ready_and_metrics() {
    let app = spawn_app().await;
    if app.on_postgres() {
        // PostgreSQL's disk-full error is classified by text (unit test in store::error); a
        // server whose disk fills cannot be had here.
        app.stop().await;
        return;
    }
    // SQLite answers SQLITE_FULL ("database or disk is full") once the file would grow past
    // `max_page_count`, exactly as on a full disk. The limit is per connection: set it on
    // every connection of the server's pool (holding them all at once), at today's size.
    {
        use diesel::connection::SimpleConnection;
        let pool = app.server_pool();
        let mut conns: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
        for conn in &mut conns {
            conn.batch_execute("PRAGMA max_page_count = 1").unwrap();
        }
    }
    let mut refused = None;
    for i in 0..500 {
        let resp = app
            .post(
                "/api/v1/tenants",
                json!({"name": "x".repeat(90), "slug": format!("tenant-{i}"), "aws_account_id": "123456789012"}),
            )
            .await;
        if resp.status() != 201 {
            refused = Some(resp);
            break;
        }
    }
    let (status, body) = problem_of(refused.expect("the database filled up")).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["type"], "/problems/storage-full");
    assert!(
        body["detail"].as_str().unwrap().contains("no space left"),
        "{body}"
    );

    // Reads still work.
    assert_eq!(app.get("/api/v1/tenants").await.status(), 200);
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "storage-full", "{ready}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("byoc_storage_full 1"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("byoc_storage_full_errors_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn names_refuse_control_and_bidi_characters() {
    let app = spawn_app().await;
    for name in [
        "Acme\nCorp",
        "Acme\u{1b}[2J",
        "Acme \u{202E}proC",
        "\u{2066}Acme\u{2069}",
        "Ac\u{200B}me",
    ] {
        let resp = app
            .post(
                "/api/v1/tenants",
                json!({"name": name, "slug": "acme", "aws_account_id": "123456789012"}),
            )
            .await;
        let (status, body) = problem_of(resp).await;
        assert_eq!(status, 422, "{name:?}");
        assert_eq!(body["errors"][0]["field"], "/name", "{name:?}");
        let resp = app
            .post("/api/v1/tokens", json!({"name": name, "role": "viewer"}))
            .await;
        assert_eq!(resp.status(), 422, "token {name:?}");
    }
    // Letters of every script stay welcome.
    let resp = app
        .post(
            "/api/v1/tenants",
            json!({"name": "Société Générale 日本", "slug": "socgen", "aws_account_id": "123456789012"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    // The OpenAPI document says the same.
    let doc: Value = app.get_json("/api/openapi.json").await;
    for schema in ["CreateTenant", "CreateToken"] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"]["name"]["pattern"],
            byoc::domain::names::DISPLAY_NAME_PATTERN,
            "{schema}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_body_with_many_problems_gets_a_bounded_answer() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let tags: serde_json::Map<String, Value> = (0..500)
        .map(|i| (format!("aws:reserved-{i}"), json!("x")))
        .collect();
    let resp = app
        .save_config("acme", "prod", json!({"vpc_config": {"tags": tags}}))
        .await;
    let (status, body) = problem_of(resp).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 20, "{body}");
    // Every reserved key, plus the count of tags itself.
    assert_eq!(body["errors_total"], 501, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.ends_with("and 481 more"), "{detail}");
    assert!(detail.len() < 4000, "{}", detail.len());
    app.stop().await;
}
