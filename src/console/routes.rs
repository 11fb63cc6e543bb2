//! `/console/session`: sign in with an API token (answered with the session cookie), read
//! the session (who, which role, the CSRF token), sign out. The token is checked exactly as
//! bearer authentication checks it, and never stored in the browser.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::guard;
use super::session::{self, Session};
use crate::api::{ApiError, ApiResult, AppState, Caller};
use crate::crypto::hash_token;
use crate::domain::{Role, ValidationErrors};
use crate::store;

/// Body of `POST /console/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    /// An API token.
    token: String,
}

/// The signed-in session as the page sees it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    /// Name of the token the session acts as.
    pub token_name: String,
    /// Its role: the page shows only what the role may do (the API refuses the rest anyway).
    pub role: Role,
    /// Send it as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
    /// When the session ends (earlier if the token is revoked).
    pub expires_at: DateTime<Utc>,
}

fn view(name: String, role: Role, session: &Session) -> SessionView {
    SessionView {
        token_name: name,
        role,
        csrf_token: session.csrf.clone(),
        expires_at: session.expires(),
    }
}

/// Nothing about a session may be cached by the browser or a proxy.
fn no_store(mut resp: HttpResponse) -> HttpResponse {
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Signs in: checks the token like bearer authentication does, then answers the sealed
/// session cookie. Only a page of this origin may sign in (no login forgery).
#[post("/console/session")]
#[tracing::instrument(skip_all)]
pub async fn create_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult {
    guard::same_origin(&req)?;
    let SignIn { token } = serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::Validation(ValidationErrors::single(
                "/token",
                "a JSON object with the API token as `token` is required",
            ))
        } else {
            ApiError::BadRequest(format!("the request body is not valid JSON: {e}"))
        }
    })?;
    let hash = hash_token(token.trim());
    let row = state
        .db(move |conn| store::tokens::find_active_by_hash(conn, &hash))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let session = Session::new(&row.id, Utc::now());
    let cookie = session::cookie(&req, session.seal(&state.key), &session);
    tracing::info!(token.name = %row.name, "console session started");
    Ok(no_store(
        HttpResponse::Created()
            .cookie(cookie)
            .json(view(row.name, row.role, &session)),
    ))
}

/// The current session: who is signed in, with which role, and the CSRF token.
#[get("/console/session")]
pub async fn get_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult {
    let session = session::from_request(&req, &state.key)
        .filter(|s| s.token_id == caller.token_id)
        .ok_or(ApiError::Unauthorized)?;
    Ok(no_store(HttpResponse::Ok().json(view(
        caller.token_name,
        caller.role,
        &session,
    ))))
}

/// Signs out: the browser drops the cookie. Checked against forgery like every
/// state-changing request of a session.
#[delete("/console/session")]
pub async fn delete_session(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    if guard::checked_session(&req, &state.key)?.is_none() {
        guard::same_origin(&req)?;
    }
    Ok(no_store(
        HttpResponse::NoContent()
            .cookie(session::removal(&req))
            .finish(),
    ))
}
