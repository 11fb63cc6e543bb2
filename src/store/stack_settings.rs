//! What byoc keeps about a stack's Pulumi workspace between runs (`stack_settings`): the stack
//! settings file `Pulumi.<stack>.yaml`, sealed with the master key (bound to the stack name),
//! and whether the next run must first resolve pending operations. A running attempt writes
//! both through the queue (`queue::record_stack_settings`, `queue::record_check_pending`), so
//! an attempt that lost its lease writes nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::stack_settings as table;
use super::{Conn, StoreError};
use crate::crypto::{CryptoError, MasterKey};

/// One stack's row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = table)]
pub struct StackSettingsRow {
    /// The stack.
    pub stack_name: String,
    /// The settings file, sealed ([`seal`]); `None` until a run reported one.
    pub settings_sealed: Option<Vec<u8>>,
    /// The checkpoint may hold pending operations (a run was killed or its worker died).
    pub check_pending: bool,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

fn context(stack: &str) -> Vec<u8> {
    format!("stack-settings:{stack}").into_bytes()
}

/// Seals a settings document for `stack`.
pub fn seal(key: &MasterKey, stack: &str, plaintext: &str) -> Vec<u8> {
    key.seal(plaintext.as_bytes(), &context(stack))
}

/// Opens what [`seal`] sealed (a different stack's row does not open).
pub fn open(key: &MasterKey, stack: &str, sealed: &[u8]) -> Result<String, CryptoError> {
    let bytes = key.open(sealed, &context(stack))?;
    String::from_utf8(bytes).map_err(|_| CryptoError::Decrypt)
}

/// The row of `stack`, if any run recorded one.
pub fn find(conn: &mut Conn, stack: &str) -> Result<Option<StackSettingsRow>, StoreError> {
    table::table
        .find(stack)
        .select(StackSettingsRow::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}

/// Stores the sealed settings file of `stack` (inside the caller's transaction).
pub(crate) fn put_settings(conn: &mut Conn, stack: &str, sealed: &[u8]) -> Result<(), StoreError> {
    let now = super::now();
    let row = (
        table::stack_name.eq(stack),
        table::settings_sealed.eq(Some(sealed)),
        table::updated_at.eq(now),
    );
    let change = (
        table::settings_sealed.eq(Some(sealed)),
        table::updated_at.eq(now),
    );
    // `ON CONFLICT` is per engine (diesel's `MultiConnection` does not offer it).
    super::on_backend!(conn, |c| diesel::insert_into(table::table)
        .values(row)
        .on_conflict(table::stack_name)
        .do_update()
        .set(change)
        .execute(c))?;
    Ok(())
}

/// Sets whether the next run of `stack` must resolve pending operations first.
pub(crate) fn put_check_pending(conn: &mut Conn, stack: &str, on: bool) -> Result<(), StoreError> {
    let now = super::now();
    let row = (
        table::stack_name.eq(stack),
        table::check_pending.eq(on),
        table::updated_at.eq(now),
    );
    let change = (table::check_pending.eq(on), table::updated_at.eq(now));
    super::on_backend!(conn, |c| diesel::insert_into(table::table)
        .values(row)
        .on_conflict(table::stack_name)
        .do_update()
        .set(change)
        .execute(c))?;
    Ok(())
}
