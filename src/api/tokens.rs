//! `/api/v1/tokens` (admin only): create, list and revoke API tokens.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::parse_json;
use super::{ApiError, AppState, Caller, Problem};
use crate::domain::{Role, ValidationErrors};
use crate::store::{self, StoreError};

/// Request body of `create_token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Who or what uses the token (1–100 characters).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Role the token carries.
    pub role: Role,
}

/// A token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/tokens")]
#[tracing::instrument(skip_all)]
pub async fn create_token(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body: CreateToken = parse_json(&body)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationErrors::single("/name", "must be 1 to 100 characters long").into());
    }
    let (row, token) = web::block(move || {
        let mut conn = state.db.get()?;
        store::tokens::issue(&mut conn, &name, body.role)
    })
    .await??;
    tracing::info!(token.name = %row.name, token.role = %row.role, "token created");
    Ok(HttpResponse::Created().json(TokenCreated {
        info: row.into(),
        token: token.expose_secret().to_owned(),
    }))
}

/// Lists every token (revoked ones included).
#[utoipa::path(
    tag = "tokens",
    responses(
        (status = 200, body = Vec<TokenView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/tokens")]
pub async fn list_tokens(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let rows = web::block(move || {
        let mut conn = state.db.get()?;
        store::tokens::list(&mut conn)
    })
    .await??;
    let views: Vec<TokenView> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(
    tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Token revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/tokens/{id}")]
#[tracing::instrument(skip_all, fields(token.id = %path))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let id = path.into_inner();
    let shown = id.clone();
    web::block(move || {
        let mut conn = state.db.get()?;
        conn.immediate_transaction(|conn| {
            let token = store::tokens::find_active(conn, &id).map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found("active token", shown),
                other => other.into(),
            })?;
            // Revoking the last admin token would lock every operator out of token management.
            if token.role == Role::Admin.as_str() && store::tokens::count_active_admins(conn)? <= 1
            {
                return Err(ApiError::Conflict {
                    slug: "last-admin-token",
                    detail: "this is the last active admin token; create another admin token first"
                        .to_owned(),
                });
            }
            store::tokens::revoke(conn, &id)?;
            Ok(())
        })
    })
    .await??;
    tracing::info!("token revoked");
    Ok(HttpResponse::NoContent().finish())
}
