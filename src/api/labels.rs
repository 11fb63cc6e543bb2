//! Labels of tenants and environments: `PUT` replaces them (operator), `GET` reads an
//! environment's (a tenant's come with the tenant). List endpoints filter on them with
//! `?selector=` ([`parse_selector`]).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::JsonBody;
use super::problems::{Forbidden, Invalid, Malformed, NotFound, Unauthorized, UnsupportedMedia};
use super::{ApiError, ApiResult, AppState, EnvPath, Operator, TenantPath, Viewer};
use crate::domain::labels::{MAX_LABELS, patterns};
use crate::domain::{Labels, Selector};
use crate::store::{self, StoreError};

/// Body of the `PUT …/labels` routes: the complete new label set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLabels {
    /// Keys and values as in Kubernetes: a key is `[prefix/]name`, the prefix a DNS subdomain,
    /// the name (and the value, which may also be empty) up to 63 letters, digits, `-`, `_`,
    /// `.`, beginning and ending with a letter or digit. At most 64 labels.
    #[schema(schema_with = label_set_schema, example = json!({"tier": "gold", "ring": "canary"}))]
    pub labels: BTreeMap<String, String>,
}

/// A label set in the document: key and value patterns, at most `MAX_LABELS` entries.
fn label_set_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    let string = |pattern: String| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string(patterns::key())))
        .additional_properties(Some(AdditionalProperties::RefOr(
            string(patterns::value()).build().into(),
        )))
        .max_properties(Some(MAX_LABELS))
        .description(Some(
            "Keys and values as in Kubernetes: a key is `[prefix/]name`, the prefix a DNS \
             subdomain, the name (and the value, which may also be empty) up to 63 letters, \
             digits, `-`, `_`, `.`, beginning and ending with a letter or digit. At most 64 labels.",
        ))
        .examples([serde_json::json!({"tier": "gold", "ring": "canary"})])
        .build()
}

/// The `selector` query parameter in the document.
pub fn selector_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(patterns::selector()))
        .build()
}

/// A label set.
#[derive(Debug, Serialize, ToSchema)]
pub struct LabelsView {
    /// Keys and values.
    #[schema(example = json!({"tier": "gold", "ring": "canary"}))]
    pub labels: BTreeMap<String, String>,
}

impl From<Labels> for LabelsView {
    fn from(l: Labels) -> Self {
        Self {
            labels: l.as_map().clone(),
        }
    }
}

/// `?selector=` of a list: `None` when absent; a 400 naming the parameter when invalid.
pub fn parse_selector(raw: Option<&str>) -> Result<Option<Selector>, ApiError> {
    raw.map(|s| Selector::parse(s).map_err(|e| ApiError::BadRequest(format!("selector: {e}"))))
        .transpose()
}

fn parse_body(body: &JsonBody) -> Result<Labels, ApiError> {
    let set: SetLabels = body.parse()?;
    Ok(Labels::parse("labels", set.labels)?)
}

/// Replaces a tenant's labels.
#[utoipa::path(
    tag = "tenants",
    params(TenantPath),
    request_body = SetLabels,
    responses(
        (status = 200, body = LabelsView),
        Malformed, Unauthorized, Forbidden, NotFound, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/tenants/{slug}/labels")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug))]
pub async fn set_tenant_labels(
    state: web::Data<AppState>,
    _: Operator,
    path: TenantPath,
    body: JsonBody,
) -> ApiResult {
    let labels = parse_body(&body)?;
    let saved = labels.clone();
    state
        .db(move |conn| {
            let tenant = path.load_tenant(conn)?;
            store::tenants::set_labels(conn, &tenant.id, &saved)
        })
        .await?;
    Ok(HttpResponse::Ok().json(LabelsView::from(labels)))
}

/// Replaces an environment's labels. The environment must exist (a saved config or a stack).
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    request_body = SetLabels,
    responses(
        (status = 200, body = LabelsView),
        Malformed, Unauthorized, Forbidden, NotFound, UnsupportedMedia, Invalid
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/tenants/{slug}/environments/{env}/labels")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug, environment = %path.env))]
pub async fn set_environment_labels(
    state: web::Data<AppState>,
    _: Operator,
    path: EnvPath,
    body: JsonBody,
) -> ApiResult {
    let labels = parse_body(&body)?;
    let saved = labels.clone();
    state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let tenant = existing_env(conn, &path)?;
                store::labels::set(conn, &tenant.id, path.env.as_str(), &saved)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(LabelsView::from(labels)))
}

/// Reads an environment's labels.
#[utoipa::path(
    tag = "configs",
    params(EnvPath),
    responses((status = 200, body = LabelsView), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}/environments/{env}/labels")]
pub async fn get_environment_labels(
    state: web::Data<AppState>,
    _: Viewer,
    path: EnvPath,
) -> ApiResult {
    let labels = state
        .db(move |conn| {
            let tenant = existing_env(conn, &path)?;
            store::labels::get(conn, &tenant.id, path.env.as_str())
        })
        .await?;
    Ok(HttpResponse::Ok().json(LabelsView::from(labels)))
}

/// The tenant of an environment that has a saved config or a stack; else 404.
fn existing_env(
    conn: &mut store::Conn,
    path: &EnvPath,
) -> Result<store::tenants::Tenant, StoreError> {
    let tenant = path.load_tenant(conn)?;
    let env = path.env.as_str();
    let has_config = store::configs::lookup(conn, &tenant.id, env, None)?.is_some();
    if has_config || store::stacks::lookup_for_env(conn, &tenant.id, env)?.is_some() {
        Ok(tenant)
    } else {
        Err(StoreError::not_found(
            "environment",
            format!("{}/{env}", path.slug),
        ))
    }
}
