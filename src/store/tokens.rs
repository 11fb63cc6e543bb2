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
    /// Optional tenant slug the token is limited to.
    pub tenant_scope: Option<String>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Last successful use (updated at most once a minute).
    pub last_used_at: Option<NaiveDateTime>,
    /// Revocation time.
    pub revoked_at: Option<NaiveDateTime>,
}

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
    let token = crate::crypto::generate_token();
    let row = insert_secret(conn, name, role, &token)?;
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

/// Records a use, at most once a minute per token so reads do not turn into writes.
pub fn touch(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let stale = now - chrono::Duration::seconds(60);
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
