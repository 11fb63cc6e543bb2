//! The HTTP edge around every route: what the framework itself would answer (unknown routes,
//! wrong methods, oversized or stalled bodies, undecodable requests) becomes problem+json like
//! every handler error; `HEAD` is served by the `GET` route; and every response carries the
//! browser hardening headers (no sniffing, no framing, a CSP on what is not the console's own
//! page, and `no-store` on API answers, which may carry tokens, external IDs or secrets).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::Stream;

use super::ApiError;

/// CSP of every response that is not an HTML page: nothing may load, nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// CSP of an HTML page that brings none of its own (the API docs): only framing is refused.
const PAGE_CSP: &str = "frame-ancestors 'none'";

/// How long a client may take to send a request body once its head has arrived.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the edge middleware (one per server).
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// Deadline for reading a request body (`BYOC_HTTP_BODY_TIMEOUT_SECONDS`).
    pub body_timeout: Duration,
}

impl Default for Edge {
    fn default() -> Self {
        Self {
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// The middleware: install with `App::new().wrap(from_fn(edge::middleware))` and
/// `.app_data(web::Data::new(Edge{..}))` (optional, for the body timeout).
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // HEAD is GET without the body: actix-http drops the body of a HEAD answer itself, since
    // it decoded the request line as HEAD (`h1::Codec`), and keeps Content-Length.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let timeout = req
        .app_data::<web::Data<Edge>>()
        .map(|e| e.body_timeout)
        .unwrap_or(DEFAULT_BODY_TIMEOUT);
    let expired = Rc::new(Cell::new(false));
    if has_body(&req) {
        let payload = req.take_payload();
        let stream = Deadline {
            inner: payload,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            expired: expired.clone(),
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(stream),
        });
    }
    let api = is_api_path(req.path());
    let res = next.call(req).await?.map_into_boxed_body();
    let mut res = if expired.get() {
        let (req, _) = res.into_parts();
        let err = ApiError::Http {
            status: StatusCode::REQUEST_TIMEOUT.as_u16(),
            detail: format!(
                "the request body did not arrive within {} s",
                timeout.as_secs()
            ),
        };
        ServiceResponse::new(req, err.error_response())
    } else {
        as_problem(res)
    };
    harden(res.headers_mut(), api);
    Ok(res)
}

/// Whether the request announces a body (a length above zero, or chunked).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Paths whose answers are API data (and may carry tokens, external IDs or secrets).
fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/console/api/") || path == "/console/session"
}

/// A framework error (an extractor's or actix's own, with a plain-text body) rewritten as
/// problem+json; handler errors already are.
fn as_problem(res: ServiceResponse) -> ServiceResponse {
    let status = res.status();
    // A handler's own error body (problem+json, or a documented JSON answer such as `/ready`'s
    // 503) is kept; what actix built from an extractor error, or an empty error, is replaced.
    let framework =
        res.response().error().is_some() || !res.headers().contains_key(header::CONTENT_TYPE);
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&res) || !framework {
        return res;
    }
    let detail = match res.response().error() {
        Some(e) => framework_detail(status, &e.to_string()),
        None => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    let (req, _) = res.into_parts();
    let err = ApiError::Http {
        status: status.as_u16(),
        detail,
    };
    ServiceResponse::new(req, err.error_response())
}

fn is_problem(res: &ServiceResponse) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// What a client should read for an error actix produced: its message, said plainly where
/// the framework's wording helps nobody.
fn framework_detail(status: StatusCode, message: &str) -> String {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this server accepts (256 KiB)".to_owned()
        }
        _ => message.to_owned(),
    }
}

/// Adds the hardening headers a response lacks (a handler's own values win).
fn harden(headers: &mut actix_web::http::header::HeaderMap, api: bool) {
    let mut default = |name: header::HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    default(header::X_FRAME_OPTIONS, "DENY");
    if api {
        default(header::CACHE_CONTROL, "no-store");
    }
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // The console's pages set their own policy (`console::CSP`), which is kept as it is.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if html { PAGE_CSP } else { API_CSP };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
}

/// A request body that fails once `sleep` fires before it has been read to its end.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timed out");
            return Poll::Ready(Some(Err(PayloadError::Io(e))));
        }
        Poll::Pending
    }
}

/// Every route of a server and its methods: answers 405 with `Allow` for a known path with
/// another method, and a problem+json 404 for an unknown path. Built on the first such answer,
/// not at start-up: the table of the API server comes from the OpenAPI document, whose
/// construction and the code behind it a server that never answers 404 need not hold (issue
/// 16, idle RSS).
#[derive(Clone)]
pub struct Routes(Arc<LazyLock<Vec<Route>, BuildRoutes>>);

/// What builds a route table on first use.
type BuildRoutes = Box<dyn FnOnce() -> Vec<Route> + Send>;

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Routes").finish_non_exhaustive()
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::lazy(Vec::new)
    }
}

/// One route of the table: its path pattern and methods.
#[derive(Debug)]
pub struct Route {
    pattern: Pattern,
    methods: Vec<Method>,
}

/// A path pattern as actix reads it. Patterns made only of literal segments and whole-segment
/// parameters (`/a/{id}`, every documented route) are matched segment by segment, as actix's
/// `ResourceDef` would (a parameter is `[^/]+`: one non-empty segment; the path must end where
/// the pattern does): its compiled regexes took ~1.2 MB of heap for this table alone, mostly
/// the one-pass DFA `regex` builds for a Unicode `[^/]+`. Any other pattern (a custom regex,
/// a parameter inside a segment) keeps `ResourceDef`.
#[derive(Debug)]
enum Pattern {
    Segments(Vec<Segment>),
    Resource(Box<ResourceDef>),
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param,
}

impl Pattern {
    fn new(path: &str) -> Self {
        let segments: Option<Vec<Segment>> = path
            .split('/')
            .map(|seg| {
                if !seg.contains(['{', '}', '*']) {
                    Some(Segment::Literal(seg.to_owned()))
                } else {
                    let name = seg.strip_prefix('{')?.strip_suffix('}')?;
                    let plain = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    plain.then_some(Segment::Param)
                }
            })
            .collect();
        match segments {
            Some(s) => Self::Segments(s),
            None => Self::Resource(Box::new(ResourceDef::new(path))),
        }
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            Self::Resource(def) => def.is_match(path),
            Self::Segments(segments) => {
                let mut parts = path.split('/');
                segments.iter().all(|seg| match (seg, parts.next()) {
                    (Segment::Literal(l), Some(p)) => l == p,
                    (Segment::Param, Some(p)) => !p.is_empty(),
                    (_, None) => false,
                }) && parts.next().is_none()
            }
        }
    }
}

impl Routes {
    /// The table `build` returns, built on first use.
    pub fn lazy(build: impl FnOnce() -> Vec<Route> + Send + 'static) -> Self {
        Self(Arc::new(LazyLock::new(Box::new(build))))
    }

    /// The routes the OpenAPI document describes, plus `extra` (routes it does not list).
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi, extra: &[(&str, &[Method])]) -> Vec<Route> {
        let mut routes = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect();
            routes.push(Route {
                pattern: Pattern::new(path),
                methods,
            });
        }
        routes.extend(Self::table(extra));
        routes
    }

    /// Exactly these routes.
    pub fn from_paths(routes: &[(&str, &[Method])]) -> Self {
        let table = Self::table(routes);
        Self::lazy(move || table)
    }

    fn table(routes: &[(&str, &[Method])]) -> Vec<Route> {
        routes
            .iter()
            .map(|(path, methods)| Route {
                pattern: Pattern::new(path),
                methods: methods.to_vec(),
            })
            .collect()
    }

    /// The methods `path` answers, `HEAD` included with `GET`; empty for an unknown path.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut out: Vec<Method> = Vec::new();
        for route in self.0.iter() {
            if route.pattern.is_match(path) {
                for m in &route.methods {
                    if !out.contains(m) {
                        out.push(m.clone());
                    }
                }
            }
        }
        if out.contains(&Method::GET) {
            out.push(Method::HEAD);
        }
        out
    }

    /// The default service: 405 with `Allow`, or 404, both problem+json.
    pub async fn fallback(req: HttpRequest, routes: web::Data<Routes>) -> HttpResponse {
        let allowed = routes.allowed(req.path());
        let err = if allowed.is_empty() {
            ApiError::Http {
                status: StatusCode::NOT_FOUND.as_u16(),
                detail: format!("no route matches {}", req.path()),
            }
        } else {
            ApiError::MethodNotAllowed {
                method: req.method().to_string(),
                allowed,
            }
        };
        err.error_response()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn allowed_methods_join_every_matching_route_and_head_follows_get() {
        let routes = Routes::from_paths(&[
            ("/a/{id}", &[Method::GET]),
            ("/a/{id}", &[Method::DELETE]),
            ("/b", &[Method::POST]),
        ]);
        assert_eq!(
            routes.allowed("/a/x"),
            [Method::GET, Method::DELETE, Method::HEAD]
        );
        assert_eq!(routes.allowed("/b"), [Method::POST]);
        assert!(routes.allowed("/a/x/y").is_empty());
    }

    /// Paths around `pattern` that probe where a match starts and stops: each parameter as a
    /// value, as nothing, as two segments; with a trailing slash, an extra segment, a prefix.
    pub(crate) fn probes(pattern: &str) -> Vec<String> {
        let fill = |value: &str| {
            pattern
                .split('/')
                .map(|seg| if seg.starts_with('{') { value } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut out = vec![pattern.to_owned()];
        for value in ["x", "", "x/y", "%2F", "é", "{id}"] {
            let path = fill(value);
            out.extend([
                format!("{path}/"),
                format!("{path}/z"),
                format!("/z{path}"),
                format!("{path}z"),
                path,
            ]);
        }
        out
    }

    /// The segment matcher answers as actix's `ResourceDef` does, on what it takes over and on
    /// what it leaves to it.
    pub(crate) fn assert_matches_like_actix(pattern: &str) {
        let (ours, actix) = (Pattern::new(pattern), ResourceDef::new(pattern));
        for path in probes(pattern) {
            assert_eq!(
                ours.is_match(&path),
                actix.is_match(&path),
                "{pattern} on {path:?}"
            );
        }
    }

    #[test]
    fn segment_patterns_match_as_actix_does() {
        for pattern in [
            "/",
            "/health",
            "/a/{id}",
            "/api/v1/tenants/{slug}/environments/{env}/config",
            "/docs/{_:.*}",
            "/ui{tail:(/.*)?}",
            "/a/{tail}*",
            "/a/{id}.json",
        ] {
            assert_matches_like_actix(pattern);
        }
        assert!(matches!(Pattern::new("/a/{id}/b"), Pattern::Segments(_)));
        assert!(matches!(Pattern::new("/docs/{_:.*}"), Pattern::Resource(_)));
    }

    #[test]
    fn only_api_answers_are_marked_no_store() {
        assert!(is_api_path("/api/v1/tokens"));
        assert!(is_api_path("/console/session"));
        assert!(!is_api_path("/console/assets/app.js"));
        assert!(!is_api_path("/health"));
    }
}
