//! `GET /api/v1/tenants`, `GET` and `DELETE /api/v1/tenants/{slug}`.

use actix_web::{HttpResponse, delete, get, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::TenantView;
use crate::api::problems::{Conflict, Forbidden, Invalid, Malformed, NotFound, Unauthorized};
use crate::api::{ApiError, ApiResult, AppState, Operator, TenantPath, Viewer};
use crate::domain::ValidationErrors;
use crate::store;

/// Query of `list_tenants`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTenantsQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only tenants whose labels match this selector: comma-separated `key=value`,
    /// `key!=value` (also true without the key), `key in (a,b)`, `key notin (a,b)` (also
    /// true without the key), `key` (present), `!key` (absent), as in Kubernetes.
    #[param(schema_with = crate::api::labels::selector_schema, example = "ring=canary,tier!=free")]
    pub selector: Option<String>,
}

/// One page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    /// Tenants, ordered by slug.
    pub items: Vec<TenantView>,
    /// Cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Lists tenants, a page at a time (with `?selector=`, those whose labels match).
#[utoipa::path(
    tag = "tenants",
    params(ListTenantsQuery),
    responses((status = 200, body = TenantPage), Malformed, Unauthorized, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    query: crate::api::body::Query<ListTenantsQuery>,
) -> ApiResult {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ValidationErrors::single("limit", "must be between 1 and 200").into());
    }
    let after = match &query.cursor {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ValidationErrors::single("cursor", "is not a cursor this API issued")
                })?,
        ),
    };
    let selector = crate::api::labels::parse_selector(query.selector.as_deref())?;
    let wanted = move |t: &store::tenants::Tenant| {
        selector
            .as_ref()
            .is_none_or(|s| t.labels().is_ok_and(|l| s.matches(&l)))
    };
    // Fetch one extra row to learn whether another page exists.
    let scope = caller.tenants.clone();
    let mut rows = state
        .db(move |conn| match scope {
            None => {
                // Read in batches until the page (plus one) is full of matching tenants.
                let want = limit as usize + 1;
                let mut rows = Vec::new();
                let mut after = after;
                loop {
                    let batch = store::tenants::list(conn, after.as_deref(), i64::from(limit) + 1)?;
                    let done = batch.len() <= limit as usize;
                    after = batch.last().map(|t| t.slug.clone());
                    rows.extend(batch.into_iter().filter(&wanted));
                    if done || rows.len() >= want {
                        rows.truncate(want);
                        return Ok(rows);
                    }
                }
            }
            // A scoped token lists only its own tenants (a handful: read them one by one).
            Some(mut slugs) => {
                slugs.sort();
                let mut rows = Vec::new();
                for slug in slugs
                    .iter()
                    .filter(|s| after.as_deref().is_none_or(|a| s.as_str() > a))
                {
                    match store::tenants::find_by_slug(conn, slug) {
                        Ok(t) if wanted(&t) => rows.push(t),
                        Ok(_) | Err(store::StoreError::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                    if rows.len() > limit as usize {
                        break;
                    }
                }
                Ok(rows)
            }
        })
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|t| URL_SAFE_NO_PAD.encode(&t.slug))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(TenantPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Reads one tenant (without its external ID).
#[utoipa::path(
    tag = "tenants",
    params(TenantPath),
    responses((status = 200, body = TenantView), Unauthorized, NotFound, Invalid),
    security(("bearer" = []))
)]
#[get("/api/v1/tenants/{slug}")]
pub async fn get_tenant(state: web::Data<AppState>, _: Viewer, path: TenantPath) -> ApiResult {
    let tenant = state.read(move |conn| path.load_tenant(conn)).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// Removes a tenant and its configs; refused while any of its stacks is not destroyed.
#[utoipa::path(
    tag = "tenants",
    params(TenantPath),
    responses(
        (status = 204, description = "Tenant removed"),
        Unauthorized, Forbidden, NotFound, Conflict, Invalid
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tenants/{slug}")]
#[tracing::instrument(skip_all, fields(tenant.slug = %path.slug))]
pub async fn delete_tenant(state: web::Data<AppState>, _: Operator, path: TenantPath) -> ApiResult {
    state
        .db(move |conn| {
        // Check and delete in one write transaction: no operation can start in between.
        store::transaction(conn, |conn| {
            let tenant = path.load_tenant(conn)?;
            let slug = &path.slug;
            let live = store::stacks::live_for_tenant(conn, &tenant.id)?;
            if !live.is_empty() {
                let names: Vec<_> = live
                    .iter()
                    .map(|s| format!("{} ({})", s.stack_name, s.status))
                    .collect();
                return Err(ApiError::Conflict {
                    slug: "stack-not-destroyed",
                    detail: format!(
                        "tenant '{slug}' still has stacks that are not destroyed: {}; destroy them first",
                        names.join(", ")
                    ),
                });
            }
            store::tenants::delete(conn, &tenant)?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    tracing::info!("tenant removed");
    Ok(HttpResponse::NoContent().finish())
}
