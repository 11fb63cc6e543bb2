//! The `tenants` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tenants;
use super::{Conn, Found, StoreError};
use crate::domain::Labels;

/// A tenant row as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// UUID.
    pub id: String,
    /// Unique slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// 12-digit AWS account id.
    pub aws_account_id: String,
    /// Region the tenant deploys to.
    pub aws_region: String,
    /// IAM role name the tenant creates.
    pub role_name: String,
    /// ARN of that role.
    pub role_arn: String,
    /// Encrypted external ID (see `crypto::MasterKey::seal`, context = tenant id).
    pub external_id_sealed: Vec<u8>,
    /// When `verify` last succeeded.
    pub role_verified_at: Option<NaiveDateTime>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// Labels, a JSON object (`domain::Labels`).
    pub labels: String,
}

/// A tenant to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = tenants)]
pub struct NewTenant<'a> {
    /// UUID.
    pub id: &'a str,
    /// Unique slug.
    pub slug: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Account id.
    pub aws_account_id: &'a str,
    /// Region.
    pub aws_region: &'a str,
    /// Role name.
    pub role_name: &'a str,
    /// Role ARN.
    pub role_arn: &'a str,
    /// Encrypted external ID.
    pub external_id_sealed: &'a [u8],
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Inserts a tenant; `StoreError::Conflict` when the slug is taken.
pub fn insert(conn: &mut Conn, new: &NewTenant<'_>) -> Result<Tenant, StoreError> {
    super::on_backend!(conn, |c| diesel::insert_into(tenants::table)
        .values(new)
        .returning(Tenant::as_returning())
        .get_result(c))
    .map_err(Into::into)
}

/// The tenant with `slug`; `NotFound` names it.
///
/// The first row of the result rather than `.first()`: SQLite re-prepares a statement whose
/// `LIMIT ?` parameter is bound again (it counts as a value the plan may depend on), so a
/// `.first()` query is parsed and planned on every call despite diesel's statement cache
/// (see [`super::first_row`]).
pub fn find_by_slug(conn: &mut Conn, slug: &str) -> Result<Tenant, StoreError> {
    // On the engine's own connection: see `super::first_row`.
    super::on_backend!(conn, |c| super::first_row(
        tenants::table
            .filter(tenants::slug.eq(slug))
            .select(Tenant::as_select())
            .load_iter::<Tenant, diesel::connection::DefaultLoadingMode>(c),
    ))
    .found("tenant", || slug.to_owned())
}

/// Up to `limit` tenants ordered by slug, starting after `after` (keyset pagination).
pub fn list(conn: &mut Conn, after: Option<&str>, limit: i64) -> Result<Vec<Tenant>, StoreError> {
    let mut q = tenants::table
        .select(Tenant::as_select())
        .order(tenants::slug.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(tenants::slug.gt(after.to_owned()));
    }
    q.load(conn).map_err(Into::into)
}

/// Deletes a tenant; its configs and stack rows go with it (foreign-key cascade).
pub fn delete(conn: &mut Conn, tenant: &Tenant) -> Result<(), StoreError> {
    let n = diesel::delete(tenants::table.find(&tenant.id)).execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found("tenant", &tenant.slug));
    }
    Ok(())
}

/// Replaces the encrypted external ID (rotation) and clears the verification mark.
pub fn set_external_id(conn: &mut Conn, id: &str, sealed: &[u8]) -> Result<(), StoreError> {
    diesel::update(tenants::table.find(id))
        .set((
            tenants::external_id_sealed.eq(sealed),
            tenants::role_verified_at.eq(None::<NaiveDateTime>),
            tenants::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a successful role verification.
pub fn mark_verified(conn: &mut Conn, id: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(tenants::table.find(id))
        .set((
            tenants::role_verified_at.eq(Some(at)),
            tenants::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the tenant's labels.
pub fn set_labels(conn: &mut Conn, id: &str, labels: &Labels) -> Result<(), StoreError> {
    diesel::update(tenants::table.find(id))
        .set((
            tenants::labels.eq(labels.to_stored()),
            tenants::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The tenant with `id`.
pub fn find(conn: &mut Conn, id: &str) -> Result<Tenant, StoreError> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
        .optional()
        .found("tenant", || id.to_owned())
}

/// The validated identifiers of a stored tenant.
#[derive(Debug, Clone)]
pub struct TenantIds {
    /// Slug.
    pub slug: crate::domain::Slug,
    /// AWS account.
    pub account: crate::domain::AwsAccountId,
    /// Region.
    pub region: crate::domain::AwsRegion,
    /// Role name.
    pub role_name: crate::domain::RoleName,
    /// Role ARN.
    pub role_arn: crate::domain::RoleArn,
}

impl Tenant {
    /// Its labels; stored ones that no longer parse are corrupt data.
    pub fn labels(&self) -> Result<Labels, StoreError> {
        Labels::from_stored(&self.labels)
            .map_err(|e| StoreError::Corrupt(format!("tenant {} labels: {e}", self.id)))
    }

    /// Parses the stored identifiers once; a value that no longer parses is corrupt data.
    pub fn ids(&self) -> Result<TenantIds, StoreError> {
        use crate::domain::{AwsAccountId, AwsRegion, RoleArn, RoleName, Slug};
        let corrupt = |field: &str, e: crate::domain::names::NameError| {
            StoreError::Corrupt(format!("tenant {} {field}: {e}", self.id))
        };
        Ok(TenantIds {
            slug: Slug::parse(&self.slug).map_err(|e| corrupt("slug", e))?,
            account: AwsAccountId::parse(&self.aws_account_id)
                .map_err(|e| corrupt("account", e))?,
            region: AwsRegion::parse(&self.aws_region).map_err(|e| corrupt("region", e))?,
            role_name: RoleName::parse(&self.role_name).map_err(|e| corrupt("role name", e))?,
            role_arn: RoleArn::parse(&self.role_arn).map_err(|e| corrupt("role ARN", e))?,
        })
    }
}
