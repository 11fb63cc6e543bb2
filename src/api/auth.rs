//! Bearer-token authentication: the `Caller` extractor resolves `Authorization: Bearer <token>`
//! — or, without one, the web console's session cookie — to a live token row; handlers state
//! the role they need by taking a [`Viewer`], an [`Operator`] or an [`Admin`] (or check
//! `caller.require(Role::…)` when it depends on the request). actix polls a handler's
//! extractors together and answers the first error: a request without a token is refused (401)
//! before anything else, but a token that must be looked up loses the race against a malformed
//! path parameter (422).

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

/// The token id of the console session a request's cookie carries (console on, no bearer
/// token sent): `None` without a valid session, an error when a state-changing request fails
/// the console's forgery checks (`console::guard`).
fn console_session(req: &HttpRequest, state: &AppState) -> Option<Result<String, ApiError>> {
    if !state.settings.console.enabled {
        return None;
    }
    match crate::console::guard::checked_session(req, &state.key) {
        Ok(session) => session.map(|s| Ok(s.token_id)),
        Err(refused) => Some(Err(ApiError::CrossSite(refused))),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let session = match (&token, &state) {
            (None, Some(state)) => console_session(req, state),
            _ => None,
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let lookup = match (token, session) {
                (Some(token), _) => Ok(hash_token(&token)),
                (None, Some(session)) => Err(session?),
                (None, None) => return Err(ApiError::Unauthorized),
            };
            let row = state
                .db(move |conn| {
                    let row = match lookup {
                        Ok(hash) => store::tokens::find_active_by_hash(conn, &hash)?,
                        Err(id) => match store::tokens::find_active(conn, &id) {
                            Ok(row) => Some(row),
                            Err(StoreError::NotFound { .. }) => None,
                            Err(e) => return Err(e),
                        },
                    };
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

/// Declares an extractor for a caller whose token has at least one role.
macro_rules! role_extractor {
    ($($(#[$doc:meta])* $name:ident => $role:expr),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let caller = Caller::from_request(req, payload);
                Box::pin(async move {
                    let caller = caller.await?;
                    caller.require($role)?;
                    Ok(Self(caller))
                })
            }
        }
    )+};
}

role_extractor! {
    /// A caller with at least the viewer role (read-only routes).
    Viewer => Role::Viewer,
    /// A caller with at least the operator role (tenants, configs, operations).
    Operator => Role::Operator,
    /// A caller with the admin role (tokens, secrets).
    Admin => Role::Admin,
}
