//! The HTTP API (actix-web): one module per resource, bearer auth, problem+json errors and
//! the OpenAPI document. Handlers turn request bodies into domain types at the edge.

mod auth;
mod body;
mod configs;
mod error;
mod openapi;
mod system;
mod tenants;
mod tokens;

use std::sync::Arc;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::Caller;
pub use error::{ApiError, Problem};
pub use openapi::ApiDoc;

use crate::crypto::MasterKey;
use crate::settings::Settings;
use crate::store::DbPool;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Database pool.
    pub db: DbPool,
    /// Key for secrets at rest.
    pub key: MasterKey,
    /// Settings, read once at start.
    pub settings: Arc<Settings>,
}

/// Registers every route, the docs and the request-id header on an actix `App`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(body::path_config())
            .app_data(body::query_config())
            .service(system::health)
            .service(system::ready)
            .service(tenants::create_tenant)
            .service(tenants::list_tenants)
            .service(tenants::get_tenant)
            .service(tenants::delete_tenant)
            .service(configs::save_config)
            .service(configs::get_config)
            .service(configs::delete_config)
            .service(tokens::create_token)
            .service(tokens::list_tokens)
            .service(tokens::revoke_token)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()))
            .service(web::redirect("/docs", "/docs/"));
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
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        Ok(res)
    }
}
