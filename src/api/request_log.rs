//! The request span every log line of a request carries: tracing-actix-web's default fields,
//! except that `http.target` has the values of secret-looking query parameters replaced, so a
//! token sent as `?access_token=…` (or any `…token`, `…secret`, `…password`, `…key`) never
//! reaches the logs.

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Fragments of query parameter names whose values are secrets (compared case-insensitively
/// on the decoded name).
const SECRET_NAME_PARTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "key",
    "signature",
    "credential",
    "external_id",
    "externalid",
    "session",
    "auth",
    "code",
];

/// `TracingLogger::<RedactedSpan>::new()`: the default root span with a redacted target.
#[derive(Debug)]
pub struct RedactedSpan;

impl RootSpanBuilder for RedactedSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Every value is written inside the macro: `tracing` evaluates them only when the span
        // is enabled, so with `RUST_LOG=warn` a request pays for none of them (the route
        // alone is a scan of every route's regex before actix's own routing, issue 16).
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().as_deref().unwrap_or("default"),
            http.host = %request.connection_info().host(),
            http.client_ip = %request.connection_info().realip_remote_addr().unwrap_or(""),
            http.user_agent = %request
                .headers()
                .get("User-Agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            http.target = %redact_target(request.path(), request.query_string()),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request
                .extensions()
                .get::<RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// `path?query` with the value of every secret-named parameter replaced by [`REDACTED`].
pub fn redact_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Whether a (still percent-encoded) query parameter name names a secret.
fn is_secret_name(raw: &str) -> bool {
    let name = percent_decode(raw).to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
}

/// `%XX` and `+` decoded; invalid escapes are kept as they are.
fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::test as actix_test;
    use actix_web::{App, HttpResponse, web};
    use tracing_actix_web::TracingLogger;

    use super::*;

    #[test]
    fn secret_query_values_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_target(
                "/api/v1/operations/x/events",
                "access_token=byoc_abc&limit=5&Api%5FKey=k&x"
            ),
            "/api/v1/operations/x/events?access_token=[redacted]&limit=5&Api%5FKey=[redacted]&x"
        );
        assert_eq!(redact_target("/a", ""), "/a");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A JSON subscriber as `byoc serve` installs (`telemetry::init`), set for this thread
    /// while the guard lives, writing into the returned capture.
    fn json_capture() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// A real request through the logger, with a JSON subscriber as `byoc serve` installs
    /// (`telemetry::init`): the token in the query is nowhere in the output.
    #[actix_web::test]
    async fn a_token_in_the_query_never_reaches_the_request_log() {
        let (capture, _guard) = json_capture();
        let app =
            actix_test::init_service(App::new().wrap(TracingLogger::<RedactedSpan>::new()).route(
                "/api/v1/things",
                web::get().to(|| async {
                    tracing::info!("handled");
                    HttpResponse::Ok().finish()
                }),
            ))
            .await;
        let req = actix_test::TestRequest::get()
            .uri("/api/v1/things?access_token=byoc_supersecret123&limit=2")
            .to_request();
        let resp = actix_test::call_service(&app, req).await;
        assert!(resp.status().is_success());
        let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("handled"), "{logged}");
        assert!(
            logged.contains("/api/v1/things?access_token=[redacted]&limit=2"),
            "{logged}"
        );
        assert!(!logged.contains("supersecret"), "{logged}");
    }

    /// The fields operators read stay on every line of a request now that they are written
    /// only when the span is enabled: the route's pattern (not the raw path), the method, the
    /// redacted target, and the request id the `x-request-id` header carries.
    #[actix_web::test]
    async fn an_enabled_request_span_carries_the_route_pattern_and_the_request_id() {
        let (capture, _guard) = json_capture();
        let app = actix_test::init_service(
            App::new()
                .wrap_fn(crate::api::request_id_header)
                .wrap(TracingLogger::<RedactedSpan>::new())
                .route(
                    "/api/v1/things/{id}",
                    web::get().to(|| async {
                        tracing::info!("handled");
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        let req = actix_test::TestRequest::get()
            .uri("/api/v1/things/42?limit=2")
            .to_request();
        let resp = actix_test::call_service(&app, req).await;
        assert!(resp.status().is_success());
        let id = resp
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = logged
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|l| l["message"] == "handled")
            .unwrap_or_else(|| panic!("{logged}"));
        let span = &line["span"];
        assert_eq!(span["http.route"], "/api/v1/things/{id}", "{logged}");
        assert_eq!(span["http.method"], "GET", "{logged}");
        assert_eq!(span["http.target"], "/api/v1/things/42?limit=2", "{logged}");
        assert_eq!(span["request_id"], id.as_str(), "{logged}");
    }
}
