//! Path parameters as the edge: `{slug}` and `{env}` become a [`Slug`] and an [`EnvName`]
//! before a handler runs — an invalid one is a 422 naming the parameter — and each carries
//! its OpenAPI description and pattern once (`params(EnvPath)`).

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use super::ApiError;
use crate::domain::names::NameError;
use crate::domain::{EnvName, Slug, StackName, ValidationErrors};
use crate::store::{Conn, StoreError, tenants};

/// `{slug}`: one tenant.
#[derive(Debug, Clone)]
pub struct TenantPath {
    /// The tenant's slug.
    pub slug: Slug,
}

/// `{slug}` and `{env}`: one environment of a tenant.
#[derive(Debug, Clone)]
pub struct EnvPath {
    /// The tenant's slug.
    pub slug: Slug,
    /// The environment.
    pub env: EnvName,
}

/// `{id}`: one operation (any string; an unknown id is a 404).
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OperationPath {
    /// Operation id
    pub id: String,
}

impl TenantPath {
    /// The tenant it names; `NotFound` (404) naming the slug.
    pub fn load_tenant(&self, conn: &mut Conn) -> Result<tenants::Tenant, StoreError> {
        tenants::find_by_slug(conn, self.slug.as_str())
    }
}

impl EnvPath {
    /// The tenant it names; `NotFound` (404) naming the slug.
    pub fn load_tenant(&self, conn: &mut Conn) -> Result<tenants::Tenant, StoreError> {
        tenants::find_by_slug(conn, self.slug.as_str())
    }

    /// The environment's stack, `<slug>-<env>`.
    pub fn stack_name(&self) -> StackName {
        StackName::new(&self.slug, &self.env)
    }
}

/// Reads and parses one path segment, naming it on failure.
fn segment<T>(
    req: &HttpRequest,
    name: &'static str,
    parse: fn(&str) -> Result<T, NameError>,
) -> Result<T, ApiError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    parse(raw).map_err(|e| ValidationErrors::single(name, e.to_string()).into())
}

/// A parsed path, or its error once authentication has finished (`body::after_auth`): a
/// caller who may not make the request learns nothing from its path.
fn deferred<T: 'static>(
    req: &HttpRequest,
    parsed: Result<T, ApiError>,
) -> Pin<Box<dyn Future<Output = Result<T, ApiError>>>> {
    match parsed {
        Ok(v) => Box::pin(ready(Ok(v))),
        Err(e) => super::body::after_auth(req, e),
    }
}

impl FromRequest for TenantPath {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        deferred(
            req,
            segment(req, "slug", Slug::parse).map(|slug| Self { slug }),
        )
    }
}

impl FromRequest for EnvPath {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = segment(req, "slug", Slug::parse).and_then(|slug| {
            Ok(Self {
                slug,
                env: segment(req, "env", EnvName::parse)?,
            })
        });
        deferred(req, parsed)
    }
}

impl FromRequest for OperationPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").unwrap_or_default().to_owned();
        ready(Ok(Self { id }))
    }
}

/// How the parameters are documented (the patterns are the newtypes' rules).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "only documents the parameter")]
struct SlugParam {
    /// Tenant slug
    #[param(pattern = r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")]
    slug: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "only documents the parameter")]
struct EnvParam {
    /// Environment name
    #[param(pattern = r"^[a-z][a-z0-9-]{0,19}$")]
    env: String,
}

impl IntoParams for TenantPath {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        SlugParam::into_params(parameter_in)
    }
}

impl IntoParams for EnvPath {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = SlugParam::into_params(&parameter_in);
        params.extend(EnvParam::into_params(&parameter_in));
        params
    }
}
