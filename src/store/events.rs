//! The `operation_events` table: each operation's engine events, in order, raw. A running
//! attempt appends through `store::queue::record_events`, which holds its lease.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::operation_events as ev;
use super::{Conn, StoreError};

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ev)]
pub struct Event {
    /// Owning operation.
    pub operation_id: String,
    /// Position in the operation's stream, from 1, without gaps.
    pub seq: i32,
    /// When byoc received it.
    pub created_at: NaiveDateTime,
    /// Payload key (`resourcePreEvent`, `summaryEvent`, …) or a byoc kind (`byoc.log`).
    pub kind: String,
    /// The engine event JSON, as received.
    pub payload: String,
}

/// An event to append: its sequence number is given when it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Payload key or byoc kind.
    pub kind: String,
    /// The event JSON.
    pub payload: serde_json::Value,
}

/// Appends `batch` after the operation's last event (one insert) and returns the rows as
/// stored. Run it in a transaction that holds the operation's lease, so sequence numbers never
/// collide.
pub(super) fn append(
    conn: &mut Conn,
    operation_id: &str,
    batch: &[NewEvent],
) -> Result<Vec<Event>, StoreError> {
    append_at(conn, operation_id, None, batch)
}

/// [`append`], numbering from `first` when the caller knows the next sequence number (the
/// lease holder's writer keeps it in memory: no `MAX(seq)` per batch). A stale `first` cannot
/// overwrite anything: `(operation_id, seq)` is the table's primary key, so a number already
/// taken fails the insert (and the writer then asks the database again).
pub(super) fn append_at(
    conn: &mut Conn,
    operation_id: &str,
    first: Option<i32>,
    batch: &[NewEvent],
) -> Result<Vec<Event>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let first = match first {
        Some(first) => first,
        None => last_seq(conn, operation_id)? + 1,
    };
    let now = super::now();
    let rows: Vec<Event> = (first..)
        .zip(batch)
        .map(|(seq, e)| Event {
            operation_id: operation_id.to_owned(),
            seq,
            created_at: now,
            kind: e.kind.clone(),
            payload: e.payload.to_string(),
        })
        .collect();
    // A multi-row insert is per engine: diesel's `MultiBackend` does not batch inserts.
    super::on_backend!(conn, |c| diesel::insert_into(ev::table)
        .values(&rows)
        .execute(c))?;
    Ok(rows)
}

/// Up to `limit` events after `after`, in order.
pub fn list_after(
    conn: &mut Conn,
    operation_id: &str,
    after: i32,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    ev::table
        .filter(ev::operation_id.eq(operation_id))
        .filter(ev::seq.gt(after))
        .order(ev::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The highest engine event `sequence` stored for an operation (`None` when none has one).
pub fn max_engine_sequence(conn: &mut Conn, operation_id: &str) -> Result<Option<i64>, StoreError> {
    use diesel::sql_types::{BigInt, Nullable};
    // JSON is read with each engine's own functions.
    let max = match conn {
        super::Conn::Sqlite(_) => "MAX(json_extract(payload, '$.sequence'))",
        super::Conn::Pg(_) => {
            "MAX(CASE WHEN jsonb_typeof(payload::jsonb -> 'sequence') = 'number' \
                 THEN (payload::jsonb ->> 'sequence')::numeric::bigint END)"
        }
    };
    ev::table
        .filter(ev::operation_id.eq(operation_id))
        .select(diesel::dsl::sql::<Nullable<BigInt>>(max))
        .first(conn)
        .map_err(Into::into)
}

/// The last sequence number stored (0 when none), so a retried run continues the stream.
pub fn last_seq(conn: &mut Conn, operation_id: &str) -> Result<i32, StoreError> {
    ev::table
        .filter(ev::operation_id.eq(operation_id))
        .select(diesel::dsl::max(ev::seq))
        .first::<Option<i32>>(conn)
        .map(|v| v.unwrap_or(0))
        .map_err(Into::into)
}
