//! The HTTP API (actix-web): one module per resource, bearer auth, problem+json errors and
//! the OpenAPI document. Handlers turn request bodies into domain types at the edge.

mod auth;
mod body;
mod config_cache;
pub(crate) mod configs;
mod drift;
pub mod edge;
pub(crate) mod environments;
mod error;
mod labels;
mod metrics;
mod onboarding;
mod openapi;
mod operations;
mod paths;
mod problems;
pub(crate) mod program;
pub mod request_log;
mod rollouts;
mod sse;
mod status_cache;
mod system;
pub(crate) mod tenants;
mod token_cache;
mod tokens;
mod webhooks;

use std::sync::Arc;

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::{Admin, Caller, Operator, Viewer};
pub use config_cache::ConfigCache;
pub use configs::request_example as config_request_example;
pub use error::{ApiError, Problem};
pub use openapi::ApiDoc;
pub use paths::{EnvPath, OperationPath, TenantPath};
pub use token_cache::{TOKEN_CACHE_TTL, TokenCache};

use crate::crypto::MasterKey;
use crate::metrics::Metrics;
use crate::notify::Hub;
use crate::settings::Settings;
use crate::store::{Conn, DbPool, StoreError};

/// What a handler answers.
pub type ApiResult = Result<actix_web::HttpResponse, ApiError>;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Database pool (use [`AppState::db`] from handlers).
    pub pool: DbPool,
    /// Key for secrets at rest.
    pub key: MasterKey,
    /// Settings, read once at start.
    pub settings: Arc<Settings>,
    /// Wakes workers and live event streams of this process.
    pub hub: Hub,
    /// Metrics of this process.
    pub metrics: Metrics,
    /// The platform's AWS identity (role verification).
    pub aws: crate::cloud::PlatformAws,
    /// Tokens verified in the last few seconds (see [`TokenCache`]).
    pub tokens: TokenCache,
    /// Answers of `GET …/config` per stored version (see [`ConfigCache`]).
    pub configs: ConfigCache,
}

impl AppState {
    /// Runs `f` with a pooled connection on the blocking thread pool (diesel is synchronous).
    pub async fn db<T, E>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Runs the read-only `f` like [`AppState::db`], but on SQLite with an idle connection at
    /// hand right here on the handler's thread: a read by key takes microseconds and a WAL
    /// reader never waits for a writer, so the hop through the blocking pool (two thread
    /// switches) would cost more than the query. On PostgreSQL (a network round trip), or
    /// with no idle connection, through the blocking pool. Never for writes: a write may wait
    /// for SQLite's lock.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let sqlite = !matches!(
            self.settings.data.database_url,
            Some(crate::store::DatabaseUrl::Postgres(_))
        );
        if sqlite && let Some(mut conn) = self.pool.try_get() {
            return f(&mut conn).map_err(Into::into);
        }
        self.db(f).await
    }
}

/// Routes the OpenAPI document does not list, per method (405 answers need them).
const UNDOCUMENTED: &[(&str, &[Method])] = &[
    ("/api/openapi.json", &[Method::GET]),
    ("/docs", &[Method::GET]),
    ("/docs/{_:.*}", &[Method::GET]),
];

/// The console's routes (when it is on), for the same purpose.
const CONSOLE_ROUTES: &[(&str, &[Method])] = &[
    ("/", &[Method::GET]),
    ("/ui{tail:(/.*)?}", &[Method::GET]),
    ("/console/assets/{name}", &[Method::GET]),
    (
        "/console/session",
        &[Method::GET, Method::POST, Method::DELETE],
    ),
    ("/console/api/environments", &[Method::GET]),
    (
        "/console/api/tenants/{slug}/environments/{env}/config-request",
        &[Method::GET],
    ),
];

/// Registers every route, the docs and the request-id header on an actix `App`; unknown
/// routes and wrong methods answer problem+json (`edge`).
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let mut extra = UNDOCUMENTED.to_vec();
        if state.settings.console.enabled {
            extra.extend_from_slice(CONSOLE_ROUTES);
        }
        let routes = shared_routes(state.settings.console.enabled, &extra);
        let edge = edge::Edge {
            body_timeout: state.settings.http.body_timeout,
        };
        cfg.app_data(web::Data::new(routes))
            .app_data(web::Data::new(edge))
            .default_service(web::to(edge::Routes::fallback))
            .app_data(web::Data::new(state))
            // Per worker: this closure runs once for each (see `StatusCache`).
            .app_data(web::Data::new(status_cache::StatusCache::default()))
            .app_data(body::path_config())
            .app_data(body::query_config())
            // actix tries the routes in this order, one regex per route, until one matches
            // (issue 16: ~9 % of a GET status that came 25th). The reads clients poll come
            // first; the order changes nothing else because no two patterns match the same
            // path (`tests::no_two_routes_match_the_same_path`).
            .service(system::health)
            .service(system::ready)
            .service(operations::get_environment_status)
            .service(configs::get_config)
            .service(tenants::get_tenant)
            .service(operations::get_operation)
            .service(operations::list_operation_events)
            .service(tenants::create_tenant)
            .service(tenants::list_tenants)
            .service(tenants::delete_tenant)
            .service(environments::list_environments)
            .service(labels::set_tenant_labels)
            .service(labels::set_environment_labels)
            .service(labels::get_environment_labels)
            .service(configs::save_config)
            .service(configs::list_config_versions)
            .service(configs::get_config_version)
            .service(configs::delete_config)
            .service(tokens::create_token)
            .service(tokens::list_tokens)
            .service(tokens::revoke_token)
            .service(tokens::whoami)
            .service(operations::deploy_environment)
            .service(operations::preview_environment)
            .service(operations::refresh_environment)
            .service(operations::destroy_environment)
            .service(operations::forget_environment)
            .service(operations::list_environment_operations)
            .service(operations::get_environment_outputs)
            .service(operations::cancel_operation)
            .service(operations::get_operation_plan)
            .service(operations::approve_operation)
            .service(operations::reject_operation)
            .service(drift::get_environment_drift)
            .service(drift::list_drift)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::delete_webhook)
            .service(webhooks::list_deliveries)
            .service(webhooks::redeliver)
            .service(rollouts::create_rollout)
            .service(rollouts::list_rollouts)
            .service(rollouts::get_rollout)
            .service(rollouts::list_rollout_events)
            .service(rollouts::pause_rollout)
            .service(rollouts::resume_rollout)
            .service(rollouts::abort_rollout)
            .service(metrics::get_metrics)
            .service(program::get_environment_program)
            .service(onboarding::get_role_template)
            .service(onboarding::get_tenant_onboarding)
            .service(onboarding::verify_tenant_role)
            .service(onboarding::rotate_external_id)
            .service(web::resource("/api/openapi.json").get(get_openapi))
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::new(["/api/openapi.json"])),
            )
            .service(web::redirect("/docs", "/docs/"));
    }
}

/// The OpenAPI document as served at `/api/openapi.json`, built and serialised once per
/// process. Handing the document to `SwaggerUi` instead made every HTTP worker build and keep
/// its own copy (a few MB each) and serialise it on every request (issue 16: idle RSS and
/// start-up, which builds each worker's `App`).
static OPENAPI_JSON: std::sync::LazyLock<actix_web::web::Bytes> = std::sync::LazyLock::new(|| {
    serde_json::to_vec(&ApiDoc::openapi())
        .expect("the OpenAPI document serialises")
        .into()
});

async fn get_openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(OPENAPI_JSON.clone())
}

/// The route table of `edge` (405/404 answers), one per process for each console setting and
/// shared by every HTTP worker (its patterns were compiled again by each worker); built from
/// the OpenAPI document on the first 404 or 405, not at start-up.
fn shared_routes(console: bool, extra: &[(&'static str, &'static [Method])]) -> edge::Routes {
    static ROUTES: [std::sync::OnceLock<edge::Routes>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    ROUTES[usize::from(console)]
        .get_or_init(|| {
            let extra = extra.to_vec();
            edge::Routes::lazy(move || edge::Routes::from_openapi(&ApiDoc::openapi(), &extra))
        })
        .clone()
}

/// The routes `byoc worker` serves on `BYOC_WORKER_HEALTH_BIND`: liveness, readiness (the
/// database answers) and this process's metrics (viewer token).
pub fn configure_worker(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let routes = edge::Routes::from_paths(&[
            ("/health", &[Method::GET]),
            ("/ready", &[Method::GET]),
            ("/metrics", &[Method::GET]),
        ]);
        cfg.app_data(web::Data::new(state))
            .app_data(web::Data::new(routes))
            .default_service(web::to(edge::Routes::fallback))
            .service(system::health)
            .service(system::ready)
            .service(metrics::get_metrics);
    }
}

/// Middleware body: copies the request id that `TracingLogger` assigned into an
/// `x-request-id` response header, so clients can quote it when reporting a problem.
pub fn request_id_header<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
+ use<S, B>
where
    S: Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    // The id's 36 characters written into the header value directly, and the state's one
    // `Arc` taken instead of a clone of every metric family (issue 16: per request).
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .and_then(|id| {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut buf).as_bytes()).ok()
        });
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        if let Some(state) = state {
            let metrics = &state.metrics;
            // The route pattern, not the raw path, keeps label cardinality bounded.
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let labels = crate::metrics::HttpLabels {
                method: method.as_str().to_owned(),
                route,
                status: res.status().as_u16(),
            };
            metrics.http_requests.get_or_create(&labels).inc();
            if res.status() == actix_web::http::StatusCode::INSUFFICIENT_STORAGE {
                metrics.record_storage_full();
            }
        }
        if let Some(value) = id {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use actix_web::dev::ResourceDef;

    use super::*;

    /// Every path pattern the API server registers: documented, undocumented and console.
    fn patterns() -> BTreeSet<String> {
        let doc = ApiDoc::openapi();
        doc.paths
            .paths
            .keys()
            .cloned()
            .chain(
                UNDOCUMENTED
                    .iter()
                    .chain(CONSOLE_ROUTES)
                    .map(|(p, _)| (*p).to_owned()),
            )
            .collect()
    }

    /// `configure` lists the hot reads first (actix tries routes in order): that is only
    /// safe while every path matches at most one pattern. Each pattern is tried with paths
    /// whose parameters take every literal segment another route has at that position, so
    /// a literal route shadowed by a parameter (or the reverse) is found.
    /// The 404/405 table matches every registered pattern as actix routes it.
    #[test]
    fn the_edge_table_matches_every_route_like_actix() {
        for pattern in patterns() {
            edge::tests::assert_matches_like_actix(&pattern);
        }
    }

    #[test]
    fn no_two_routes_match_the_same_path() {
        let patterns = patterns();
        let mut literals: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for p in &patterns {
            for (i, seg) in p.split('/').enumerate() {
                if !seg.contains('{') {
                    literals.entry(i).or_default().insert(seg);
                }
            }
        }
        let defs: Vec<(&String, ResourceDef)> = patterns
            .iter()
            .map(|p| (p, ResourceDef::new(p.as_str())))
            .collect();
        for (pattern, def) in &defs {
            // Every combination of candidate values, segment by segment.
            let mut samples = vec![String::new()];
            for (i, seg) in pattern.split('/').enumerate() {
                let choices: Vec<String> = if seg.starts_with('{') && seg.ends_with('}') {
                    let mut c: Vec<String> = literals
                        .get(&i)
                        .into_iter()
                        .flatten()
                        .filter(|l| !l.is_empty())
                        .map(|l| (*l).to_owned())
                        .collect();
                    c.push("x1".to_owned());
                    c
                } else if let Some(open) = seg.find('{') {
                    // A parameter with its own regex (`/docs/{_:.*}`, `/ui{tail:(/.*)?}`).
                    vec![seg[..open].to_owned(), format!("{}/x1", &seg[..open])]
                } else {
                    vec![seg.to_owned()]
                };
                samples = samples
                    .iter()
                    .flat_map(|s| {
                        choices.iter().map(move |c| {
                            if i == 0 {
                                c.clone()
                            } else {
                                format!("{s}/{c}")
                            }
                        })
                    })
                    .collect();
            }
            for sample in samples.iter().filter(|s| def.is_match(s)) {
                for (other, other_def) in &defs {
                    assert!(
                        other == pattern || !other_def.is_match(sample),
                        "{sample} matches both {pattern} and {other}"
                    );
                }
            }
        }
    }
}
