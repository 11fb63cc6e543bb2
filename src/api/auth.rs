//! Bearer-token authentication: the `Caller` extractor resolves `Authorization: Bearer <token>`
//! — or, without one, the web console's session cookie — to a live token row; handlers state
//! the role they need by taking a [`Viewer`], an [`Operator`] or an [`Admin`] (or check
//! `caller.require(Role::…)` when it depends on the request). actix polls a handler's
//! extractors together and answers the first error: a request without a token is refused (401)
//! before anything else; a token that must be looked up is checked before a malformed path
//! parameter or query is reported (they wait for it, `body::after_auth`), so a viewer's write
//! is 403 whatever its parameters or body. A token verified in the last few seconds is not
//! looked up again ([`super::TokenCache`]; a revocation on this replica takes effect at once,
//! elsewhere within [`super::TOKEN_CACHE_TTL`]).
//!
//! A token may be limited to some tenants (`tenant_scope`). The extractor enforces it for
//! every route that names a tenant (`{slug}`) or an operation (`/api/v1/operations/{id}…`):
//! anything outside the scope answers exactly the 404 of a tenant or operation that does not
//! exist, so a scoped token cannot learn what exists beyond its tenants. Lists filter with
//! [`Caller::sees`].

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

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
    /// The tenant slugs the token is limited to; `None` for every tenant.
    pub tenants: Option<Vec<String>>,
}

impl Caller {
    /// Whether the caller may see the tenant with this slug.
    pub fn sees(&self, slug: &str) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|scope| scope.iter().any(|s| s == slug))
    }

    /// `Ok` when the caller may see tenant `slug`, else the 404 of a missing tenant.
    pub fn check_tenant(&self, slug: &str) -> Result<(), ApiError> {
        if self.sees(slug) {
            Ok(())
        } else {
            Err(ApiError::not_found("tenant", slug))
        }
    }

    /// Whether a token limited to `scope` (`None`: every tenant) is no broader than this one.
    pub fn covers(&self, scope: Option<&[String]>) -> bool {
        match (&self.tenants, scope) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(wanted)) => wanted.iter().all(|s| self.sees(s)),
        }
    }

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

/// What the route names that a tenant scope limits.
enum ScopedTarget {
    /// Nothing (lists filter themselves).
    None,
    /// A tenant, by slug.
    Tenant(String),
    /// An operation, by id.
    Operation(String),
}

impl ScopedTarget {
    fn of(req: &HttpRequest) -> Self {
        if let Some(slug) = req.match_info().get("slug") {
            return Self::Tenant(slug.to_owned());
        }
        let on_operation = req
            .match_pattern()
            .is_some_and(|p| p.starts_with("/api/v1/operations/{id}"));
        match req.match_info().get("id") {
            Some(id) if on_operation => Self::Operation(id.to_owned()),
            _ => Self::None,
        }
    }

    /// [`ScopedTarget::check`] for the targets that need no database (every one but an
    /// operation named to a scoped token).
    fn check_cached(&self, caller: &Caller) -> Result<(), ApiError> {
        match self {
            Self::Tenant(slug) if caller.tenants.is_some() => caller.check_tenant(slug),
            _ => Ok(()),
        }
    }

    /// `Ok` when the caller may see the target; otherwise the 404 a missing one answers.
    fn check(&self, conn: &mut store::Conn, caller: &Caller) -> Result<(), ApiError> {
        if caller.tenants.is_none() {
            return Ok(());
        }
        match self {
            Self::None => Ok(()),
            Self::Tenant(slug) => caller.check_tenant(slug),
            Self::Operation(id) => {
                let hidden = || ApiError::not_found("operation", id.as_str());
                let Some(op) = store::operations::lookup(conn, id)? else {
                    // The handler answers the same 404 for a missing operation.
                    return Ok(());
                };
                let stack = store::stacks::find(conn, &op.stack_name).map_err(|_| hidden())?;
                let tenant = store::tenants::find(conn, &stack.tenant_id).map_err(|_| hidden())?;
                if caller.sees(&tenant.slug) {
                    Ok(())
                } else {
                    Err(hidden())
                }
            }
        }
    }
}

/// The bearer token of the request: `Ok(None)` without an `Authorization` header, an error
/// naming the problem when the header is not a usable bearer token.
fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::NotBearer);
    }
    Ok(Some(token.to_owned()))
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
        let target = ScopedTarget::of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let session = match (&token, &state) {
            (Ok(None), Some(state)) => console_session(req, state),
            _ => None,
        };
        // Path, query and body errors wait for this to be dropped (`body::after_auth`).
        let (gate, gate_rx) = tokio::sync::watch::channel(());
        req.extensions_mut().insert(super::body::AuthGate(gate_rx));
        Box::pin(async move {
            let _gate = gate;
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let lookup = match (token?, session) {
                (Some(token), _) => Ok(hash_token(&token)),
                (None, Some(session)) => Err(session?),
                (None, None) => return Err(ApiError::Unauthorized),
            };
            let key = match &lookup {
                Ok(hash) => hash.clone(),
                Err(id) => format!("session:{id}"),
            };
            // A token verified moments ago needs no database, unless the route's scope
            // check does (a scoped token on an operation's route).
            if let Some(caller) = state.tokens.get(&key)
                && (caller.tenants.is_none()
                    || matches!(target, ScopedTarget::None | ScopedTarget::Tenant(_)))
            {
                tracing::Span::current().record("token.name", caller.token_name.as_str());
                target.check_cached(&caller)?;
                return Ok(caller);
            }
            let generation = state.tokens.generation();
            let caller = state
                .db(move |conn| {
                    let row = match lookup {
                        Ok(hash) => store::tokens::find_active_by_hash(conn, &hash)?,
                        Err(id) => match store::tokens::find_active(conn, &id) {
                            Ok(row) => Some(row),
                            Err(StoreError::NotFound { .. }) => None,
                            Err(e) => return Err(e.into()),
                        },
                    };
                    let row = row.ok_or(ApiError::UnknownToken)?;
                    // Authentication is a read: the last use is written only when stale.
                    let now = store::now();
                    if row.use_is_stale(now) {
                        store::tokens::touch(conn, &row.id, now)?;
                    }
                    tracing::Span::current().record("token.name", row.name.as_str());
                    let caller = Caller {
                        tenants: row.scope(),
                        token_id: row.id,
                        token_name: row.name,
                        role: row.role,
                    };
                    target.check(conn, &caller)?;
                    Ok::<_, ApiError>(caller)
                })
                .await?;
            state.tokens.put(key, caller.clone(), generation);
            Ok(caller)
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
