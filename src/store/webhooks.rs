//! Webhook subscriptions, their outbox (`webhook_deliveries`) and the delivery log
//! (`webhook_attempts`). [`record`] is called inside the transaction of the change an event
//! reports, so an event exists exactly when its change does; the delivery task
//! (`crate::webhooks`, in every `serve` and `worker` process) takes a due row with
//! [`claim_next`] and settles it with [`settle`].
//!
//! A claim is a lease: it moves the row's due time to the end of the lease and names the
//! process (`claimed_by`), in one statement (on PostgreSQL the row is picked with `FOR UPDATE
//! SKIP LOCKED`, so concurrent claimers pass over it). Only the holder of that exact lease
//! settles it. A process that dies mid-try leaves the row due at the lease's end, when any
//! process tries it again: at least once across crashes, exactly once by id otherwise.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};

use super::schema::{
    webhook_attempts as wa, webhook_deliveries as wd, webhook_subscriptions as ws,
};
use super::{Conn, Found, StoreError};

/// A subscription as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ws)]
pub struct Subscription {
    /// Id.
    pub id: String,
    /// Where deliveries are POSTed (validated when created).
    pub url: String,
    /// JSON array of event types.
    pub events: String,
    /// The signing secret (`whsec_…`), sealed with the master key, context = id.
    pub secret_sealed: Vec<u8>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Name of the token that created it.
    pub created_by: Option<String>,
}

impl Subscription {
    /// Its event types.
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

/// One event for one subscription, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = wd)]
pub struct Delivery {
    /// The `webhook-id` (the same on every try and redelivery).
    pub id: String,
    /// Its subscription.
    pub subscription_id: String,
    /// Event type.
    pub event_type: String,
    /// The exact body sent.
    pub payload: String,
    /// When the event was recorded.
    pub created_at: NaiveDateTime,
    /// Retries stop `retry_for` after this (the creation, or the last redelivery).
    pub retry_from: NaiveDateTime,
    /// Tries so far.
    pub attempts: i32,
    /// When it is next due; `None` once delivered or given up.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// When a try succeeded.
    pub delivered_at: Option<NaiveDateTime>,
    /// When retries stopped without success.
    pub gave_up_at: Option<NaiveDateTime>,
    /// The process that took the current (or last) try.
    pub claimed_by: Option<String>,
}

/// One try, as logged.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = wa)]
pub struct Attempt {
    /// The delivery.
    pub delivery_id: String,
    /// 1, 2, …
    pub attempt: i32,
    /// When it was made.
    pub at: NaiveDateTime,
    /// The receiver's status code, if it answered.
    pub status_code: Option<i32>,
    /// Why it failed without an answer (connection, timeout, a refused address).
    pub error: Option<String>,
    /// The process that made it.
    pub sent_by: Option<String>,
}

/// Stores a new subscription.
pub fn insert_subscription(conn: &mut Conn, sub: &Subscription) -> Result<(), StoreError> {
    super::on_backend!(conn, |c| diesel::insert_into(ws::table)
        .values(sub)
        .execute(c))?;
    Ok(())
}

/// Every subscription, oldest first.
pub fn subscriptions(conn: &mut Conn) -> Result<Vec<Subscription>, StoreError> {
    ws::table
        .order((ws::created_at.asc(), ws::id.asc()))
        .select(Subscription::as_select())
        .load(conn)
        .map_err(Into::into)
}

/// The subscription `id`; `NotFound` names it.
pub fn find_subscription(conn: &mut Conn, id: &str) -> Result<Subscription, StoreError> {
    ws::table
        .find(id)
        .select(Subscription::as_select())
        .first(conn)
        .optional()
        .found("webhook", || id.to_owned())
}

/// Deletes a subscription with its deliveries and log.
pub fn delete_subscription(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    let n = diesel::delete(ws::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found("webhook", id));
    }
    Ok(())
}

/// Records event `event_type` with body `payload` for every subscription to it, due now.
/// Call it inside the transaction of the change it reports.
pub fn record(conn: &mut Conn, event_type: &str, payload: &str) -> Result<usize, StoreError> {
    let now = super::now();
    let rows: Vec<Delivery> = subscriptions(conn)?
        .into_iter()
        .filter(|s| s.event_types().iter().any(|t| t == event_type))
        .map(|s| Delivery {
            id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            subscription_id: s.id,
            event_type: event_type.to_owned(),
            payload: payload.to_owned(),
            created_at: now,
            retry_from: now,
            attempts: 0,
            next_attempt_at: Some(now),
            delivered_at: None,
            gave_up_at: None,
            claimed_by: None,
        })
        .collect();
    if !rows.is_empty() {
        super::on_backend!(conn, |c| diesel::insert_into(wd::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(rows.len())
}

/// The lease of one try: the process that holds it and the due time it set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claiming process.
    pub by: String,
    /// The end of the lease (the row's due time while the try runs).
    pub until: NaiveDateTime,
}

/// Takes the oldest delivery due at `now` for one try by `claim.by`: its due time becomes
/// `claim.until`, so no other process takes it before then. One statement; `None` when
/// nothing is due.
pub fn claim_next(
    conn: &mut Conn,
    now: NaiveDateTime,
    claim: &Claim,
) -> Result<Option<Delivery>, StoreError> {
    // On PostgreSQL claimers on other hosts skip a row another claim is taking instead of
    // queueing behind it; the row's due time is checked again once locked. SQLite runs one
    // writer at a time, so the statement alone is enough there.
    let lock = if matches!(conn, Conn::Pg(_)) {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let next =
        sql::<Nullable<Text>>("(SELECT d.id FROM webhook_deliveries d WHERE d.next_attempt_at <= ")
            .bind::<Timestamp, _>(now)
            .sql(&format!(" ORDER BY d.next_attempt_at, d.id LIMIT 1{lock})"));
    let row = super::on_backend!(conn, |c| diesel::update(
        wd::table.filter(wd::id.nullable().eq(next))
    )
    .set((
        wd::next_attempt_at.eq(Some(claim.until)),
        wd::claimed_by.eq(Some(&claim.by)),
    ))
    .returning(Delivery::as_returning())
    .get_result(c))
    .optional()?;
    Ok(row)
}

/// How a try ended, and what comes next.
#[derive(Debug, Clone, Copy)]
pub enum Next {
    /// Delivered.
    Done,
    /// Try again at this time.
    RetryAt(NaiveDateTime),
    /// Retries are over.
    GiveUp,
}

/// Logs try `attempt` of its delivery and moves it on, in one transaction, if `claim` still
/// holds it. `false` (nothing written) when the lease was lost: it expired and another
/// process took the delivery, or a redelivery made it due again.
pub fn settle(
    conn: &mut Conn,
    attempt: &Attempt,
    next: Next,
    claim: &Claim,
) -> Result<bool, StoreError> {
    super::transaction(conn, |conn| {
        let (next_at, delivered, gave_up) = match next {
            Next::Done => (None, Some(attempt.at), None),
            Next::RetryAt(t) => (Some(t), None, None),
            Next::GiveUp => (None, None, Some(attempt.at)),
        };
        let held = diesel::update(
            wd::table
                .filter(wd::id.eq(&attempt.delivery_id))
                .filter(wd::claimed_by.eq(&claim.by))
                .filter(wd::next_attempt_at.eq(claim.until)),
        )
        .set((
            wd::attempts.eq(attempt.attempt),
            wd::next_attempt_at.eq(next_at),
            wd::delivered_at.eq(delivered),
            wd::gave_up_at.eq(gave_up),
        ))
        .execute(conn)?;
        if held == 0 {
            return Ok(false);
        }
        super::on_backend!(conn, |c| diesel::insert_into(wa::table)
            .values(attempt)
            .execute(c))?;
        Ok(true)
    })
}

/// Makes delivery `id` of subscription `sub` due again now, with a fresh retry window.
pub fn redeliver(conn: &mut Conn, sub: &str, id: &str) -> Result<(), StoreError> {
    let now = super::now();
    let n = diesel::update(
        wd::table
            .filter(wd::id.eq(id))
            .filter(wd::subscription_id.eq(sub)),
    )
    .set((
        wd::next_attempt_at.eq(Some(now)),
        wd::retry_from.eq(now),
        wd::delivered_at.eq(None::<NaiveDateTime>),
        wd::gave_up_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::not_found("webhook delivery", id));
    }
    Ok(())
}

/// The latest `limit` deliveries of a subscription with their tries, newest first.
pub fn log(
    conn: &mut Conn,
    sub: &str,
    limit: i64,
) -> Result<Vec<(Delivery, Vec<Attempt>)>, StoreError> {
    let deliveries: Vec<Delivery> = wd::table
        .filter(wd::subscription_id.eq(sub))
        .order((wd::created_at.desc(), wd::id.desc()))
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)?;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    let mut attempts: Vec<Attempt> = wa::table
        .filter(wa::delivery_id.eq_any(&ids))
        .order((wa::delivery_id.asc(), wa::attempt.asc()))
        .select(Attempt::as_select())
        .load(conn)?;
    Ok(deliveries
        .into_iter()
        .map(|d| {
            let mine = attempts.extract_if(.., |a| a.delivery_id == d.id).collect();
            (d, mine)
        })
        .collect())
}

/// `now + d`, for due times.
pub fn after(now: NaiveDateTime, d: std::time::Duration) -> NaiveDateTime {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(NaiveDateTime::MAX)
}

/// Every row of the three tables.
pub type AllRows = (Vec<Subscription>, Vec<Delivery>, Vec<Attempt>);

/// Every row of the three tables, for `db copy`.
pub fn all(conn: &mut Conn) -> Result<AllRows, StoreError> {
    Ok((
        ws::table.select(Subscription::as_select()).load(conn)?,
        wd::table.select(Delivery::as_select()).load(conn)?,
        wa::table.select(Attempt::as_select()).load(conn)?,
    ))
}
