//! Bearer-token authentication: the `Caller` extractor resolves `Authorization: Bearer <token>`
//! to a live token row; handlers state the role they need with `caller.require(Role::…)`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{ApiError, AppState};
use crate::crypto::hash_token;
use crate::domain::Role;
use crate::store::{self, StoreError};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token id.
    pub token_id: String,
    /// Token name.
    pub token_name: String,
    /// The token's role.
    pub role: Role,
}

impl Caller {
    /// `Ok` when the caller's role includes `required`, else 403.
    pub fn require(&self, required: Role) -> Result<(), ApiError> {
        if self.role.allows(required) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                required,
                actual: self.role,
            })
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthorized)?;
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let hash = hash_token(&token);
            let row = state
                .db(move |conn| {
                    let row = store::tokens::find_active_by_hash(conn, &hash)?;
                    if let Some(row) = &row {
                        store::tokens::touch(conn, &row.id, store::now())?;
                    }
                    Ok::<_, StoreError>(row)
                })
                .await?
                .ok_or(ApiError::Unauthorized)?;
            tracing::Span::current().record("token.name", row.name.as_str());
            Ok(Caller {
                token_id: row.id,
                token_name: row.name,
                role: row.role,
            })
        })
    }
}
