//! `/api/v1/tokens` (admin only): create, list and revoke API tokens.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::JsonBody;
use super::problems::{
    Conflict, Forbidden, Invalid, Malformed, NotFound, StorageFull, Unauthorized, UnsupportedMedia,
};
use super::{Admin, ApiError, ApiResult, AppState, Caller};
use crate::domain::{Role, Slug, ValidationErrors};
use crate::store;

/// Request body of `create_token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Who or what uses the token (1–100 characters; no control, bidirectional-override or
    /// invisible characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*[^\s\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF][^\x00-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2066-\u2069\uFEFF]*$"
    )]
    pub name: String,
    /// Role the token carries.
    pub role: Role,
    /// Limit the token to these tenants (slugs; they need not exist yet). Absent: every
    /// tenant. A scoped token can only create tokens within its own scope.
    #[schema(min_items = 1, max_items = 100)]
    #[serde(default)]
    pub tenants: Option<Vec<Slug>>,
}

/// A token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The tenants the token is limited to; `null` for every tenant.
    pub tenants: Option<Vec<String>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<store::tokens::ApiToken> for TokenView {
    fn from(t: store::tokens::ApiToken) -> Self {
        Self {
            tenants: t.scope(),
            id: t.id,
            name: t.name,
            role: t.role,
            created_at: t.created_at.and_utc(),
            last_used_at: t.last_used_at.map(|t| t.and_utc()),
            revoked_at: t.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// Answer of `create_token`: the only time the token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The stored token.
    #[serde(flatten)]
    pub info: TokenView,
    /// The bearer token. Shown only here.
    pub token: String,
}

/// Creates a token and shows it once.
#[utoipa::path(
    tag = "tokens",
    request_body = CreateToken,
    responses(
        (status = 201, body = TokenCreated),
        Malformed, Unauthorized, Forbidden, UnsupportedMedia, Invalid, StorageFull
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tokens")]
#[tracing::instrument(skip_all)]
pub async fn create_token(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    body: JsonBody,
) -> ApiResult {
    let body: CreateToken = body.parse()?;
    let name = crate::domain::names::display_name(&body.name)
        .map_err(|e| ValidationErrors::single("/name", e.to_string()))?;
    let scope: Option<Vec<String>> = body.tenants.map(|slugs| {
        let mut slugs: Vec<String> = slugs.iter().map(|s| s.as_str().to_owned()).collect();
        slugs.sort();
        slugs.dedup();
        slugs
    });
    if scope
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.len() > 100)
    {
        return Err(ValidationErrors::single("/tenants", "must list 1 to 100 tenant slugs").into());
    }
    if !caller.covers(scope.as_deref()) {
        return Err(ApiError::OutOfScope(format!(
            "this token is limited to the tenants {}; it can only create tokens limited to \
             some of them (set `tenants`)",
            caller.tenants.unwrap_or_default().join(", ")
        )));
    }
    let (row, token) = state
        .db(move |conn| store::tokens::issue_scoped(conn, &name, body.role, scope.as_deref()))
        .await?;
    tracing::info!(token.name = %row.name, token.role = %row.role, "token created");
    Ok(HttpResponse::Created().json(TokenCreated {
        info: row.into(),
        token: token.expose_secret().to_owned(),
    }))
}

/// Lists every token (revoked ones included).
#[utoipa::path(
    tag = "tokens",
    responses((status = 200, body = Vec<TokenView>), Unauthorized, Forbidden),
    security(("bearer" = []))
)]
#[get("/api/v1/tokens")]
pub async fn list_tokens(state: web::Data<AppState>, Admin(caller): Admin) -> ApiResult {
    let rows = state.db(store::tokens::list).await?;
    // A scoped admin sees only the tokens it could have created.
    let views: Vec<TokenView> = rows
        .into_iter()
        .filter(|t| caller.covers(t.scope().as_deref()))
        .map(Into::into)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(
    tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Token revoked"),
        Unauthorized, Forbidden, NotFound, Conflict
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tokens/{id}")]
#[tracing::instrument(skip_all, fields(token.id = %path))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    Admin(caller): Admin,
    path: web::Path<String>,
) -> ApiResult {
    let id = path.into_inner();
    let revoked = id.clone();
    state
        .db(move |conn| {
            store::transaction(conn, |conn| {
                let token = store::tokens::find_active(conn, &id)?;
                // Beyond a scoped admin's reach: the same 404 as a token that does not exist.
                if !caller.covers(token.scope().as_deref()) {
                    return Err(ApiError::not_found("active token", id.as_str()));
                }
                // Revoking the last admin token would lock every operator out of token management.
                if token.role == Role::Admin && store::tokens::count_active_admins(conn)? <= 1 {
                    return Err(ApiError::Conflict {
                        slug: "last-admin-token",
                        detail:
                            "this is the last active admin token; create another admin token first"
                                .to_owned(),
                    });
                }
                store::tokens::revoke(conn, &id)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    // Committed: it stops working here now (other replicas: within `TOKEN_CACHE_TTL`).
    state.tokens.forget(&revoked);
    tracing::info!("token revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// Who the calling token is (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// Token id.
    pub token_id: String,
    /// Token name.
    pub token_name: String,
    /// The token's role.
    pub role: Role,
    /// The tenants the token is limited to; `null` for every tenant.
    pub tenants: Option<Vec<String>>,
}

/// The calling token's id, name, role and tenant scope: checks a token without side effects.
#[utoipa::path(
    tag = "tokens",
    responses((status = 200, body = WhoAmI), Unauthorized),
    security(("bearer" = []))
)]
#[get("/api/v1/whoami")]
pub async fn whoami(caller: Caller) -> ApiResult {
    Ok(HttpResponse::Ok().json(WhoAmI {
        token_id: caller.token_id,
        token_name: caller.token_name,
        role: caller.role,
        tenants: caller.tenants,
    }))
}
