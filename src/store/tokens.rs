//! The `api_tokens` table: tokens are stored only as SHA-256 hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use secrecy::{ExposeSecret, SecretString};

use super::schema::api_tokens;
use super::{Conn, Found, StoreError};
use crate::domain::Role;

/// A token row (never the token itself).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    /// UUID.
    pub id: String,
    /// Human name.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The token's role.
    pub role: Role,
    /// The tenant slugs the token is limited to, as a JSON array (see [`ApiToken::scope`]);
    /// `NULL` for every tenant.
    pub tenant_scope: Option<String>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Last successful use (updated at most once a minute).
    pub last_used_at: Option<NaiveDateTime>,
    /// Revocation time.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    /// The tenants the token may see, `None` for every tenant. A value written before scopes
    /// were a list (one bare slug) still reads as that one tenant.
    pub fn scope(&self) -> Option<Vec<String>> {
        let raw = self.tenant_scope.as_deref()?;
        Some(serde_json::from_str(raw).unwrap_or_else(|_| vec![raw.to_owned()]))
    }

    /// Whether the stored last use is old enough to record a new one: authentication stays a
    /// pure read except about once a minute per token (issue 16).
    pub fn use_is_stale(&self, now: NaiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|t| t < now - chrono::Duration::seconds(TOUCH_INTERVAL_SECS))
    }
}

/// How stale `last_used_at` may be before a use writes it again.
pub const TOUCH_INTERVAL_SECS: i64 = 60;

/// A token to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    /// UUID.
    pub id: &'a str,
    /// Human name.
    pub name: &'a str,
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// Role.
    pub role: Role,
    /// Optional tenant scope.
    pub tenant_scope: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

/// Generates a new token, stores its hash under `name` with `role`, and returns the row
/// and the token (to be shown once).
pub fn issue(
    conn: &mut Conn,
    name: &str,
    role: Role,
) -> Result<(ApiToken, SecretString), StoreError> {
    issue_scoped(conn, name, role, None)
}

/// Like [`issue`], limited to the tenants with the slugs in `scope` (`None`: every tenant).
pub fn issue_scoped(
    conn: &mut Conn,
    name: &str,
    role: Role,
    scope: Option<&[String]>,
) -> Result<(ApiToken, SecretString), StoreError> {
    let token = crate::crypto::generate_token();
    let id = uuid::Uuid::new_v4().to_string();
    let hash = crate::crypto::hash_token(token.expose_secret());
    let scope = scope
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let row = insert(
        conn,
        &NewApiToken {
            id: &id,
            name,
            token_hash: &hash,
            role,
            tenant_scope: scope.as_deref(),
            created_at: super::now(),
        },
    )?;
    Ok((row, token))
}

/// Stores the hash of a given `token` under `name` with `role`.
pub fn insert_secret(
    conn: &mut Conn,
    name: &str,
    role: Role,
    token: &SecretString,
) -> Result<ApiToken, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let hash = crate::crypto::hash_token(token.expose_secret());
    insert(
        conn,
        &NewApiToken {
            id: &id,
            name,
            token_hash: &hash,
            role,
            tenant_scope: None,
            created_at: super::now(),
        },
    )
}

/// Inserts a token row.
pub fn insert(conn: &mut Conn, new: &NewApiToken<'_>) -> Result<ApiToken, StoreError> {
    super::on_backend!(conn, |c| diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(ApiToken::as_returning())
        .get_result(c))
    .map_err(Into::into)
}

/// The live (not revoked) token with this hash, if any.
pub fn find_active_by_hash(conn: &mut Conn, hash: &str) -> Result<Option<ApiToken>, StoreError> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// The live token with this id; `NotFound` names it as an active token.
pub fn find_active(conn: &mut Conn, id: &str) -> Result<ApiToken, StoreError> {
    api_tokens::table
        .find(id)
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
        .found("active token", || id.to_owned())
}

/// How many admin tokens are not revoked.
pub fn count_active_admins(conn: &mut Conn) -> Result<i64, StoreError> {
    api_tokens::table
        .filter(api_tokens::role.eq(Role::Admin))
        .filter(api_tokens::revoked_at.is_null())
        .count()
        .get_result(conn)
        .map_err(Into::into)
}

/// Every token, newest first.
pub fn list(conn: &mut Conn) -> Result<Vec<ApiToken>, StoreError> {
    api_tokens::table
        .select(ApiToken::as_select())
        .order(api_tokens::created_at.desc())
        .load(conn)
        .map_err(Into::into)
}

/// How many tokens exist (revoked included).
pub fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    api_tokens::table
        .count()
        .get_result(conn)
        .map_err(Into::into)
}

/// Revokes a token; `NotFound` if it does not exist or is already revoked.
pub fn revoke(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    let n = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(super::now())))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found("active token", id));
    }
    Ok(())
}

/// Records a use. Callers first check [`ApiToken::use_is_stale`] on the row they read, so a
/// request writes at most once a minute per token; the filter keeps concurrent requests from
/// writing twice.
pub fn touch(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let stale = now - chrono::Duration::seconds(TOUCH_INTERVAL_SECS);
    diesel::update(
        api_tokens::table.find(id).filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(stale)),
        ),
    )
    .set(api_tokens::last_used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}
