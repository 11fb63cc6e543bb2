//! `GET /api/v1/rollouts/{id}/events`: the rollout's events after a sequence number, as JSON,
//! or — with `Accept: text/event-stream` — a live SSE stream with the conventions of
//! operation events: event ids are sequence numbers, `Last-Event-ID` resumes, a `retry:` line
//! first, an `end` event once the rollout has ended and no deploy of it is in flight. The
//! stream polls the database (rollout events are few and a driver in another process writes
//! them).

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{RolloutPath, unscoped};
use crate::api::problems::{Forbidden, Invalid, NotFound, Unauthorized};
use crate::api::sse::{self, Cursor, EventsQuery};
use crate::api::{ApiResult, AppState, Viewer};
use crate::domain::rollout::RolloutStatus;
use crate::store::{self, StoreError};

/// One rollout event.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolloutEventView {
    /// Position in the rollout's stream (1, 2, … without gaps).
    pub seq: i32,
    /// When.
    pub created_at: DateTime<Utc>,
    /// `rollout.created`, `target.queued`, `target.attached`, `target.running`,
    /// `target.succeeded`, `target.failed`, `target.cancelled`, `target.superseded`,
    /// `wave.baking`, `wave.started`, `rollout.paused`, `rollout.running`, `rollout.halted`,
    /// `rollout.finished`, `rollout.aborted`.
    pub kind: String,
    /// Details (stack, operation, error, wave …).
    pub payload: serde_json::Value,
}

impl From<store::rollouts::Event> for RolloutEventView {
    fn from(e: store::rollouts::Event) -> Self {
        Self {
            seq: e.seq,
            created_at: e.created_at.and_utc(),
            kind: e.kind,
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A page of rollout events.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolloutEventPage {
    /// Events after `after`, in order.
    pub events: Vec<RolloutEventView>,
    /// Pass as `after` to get the next page.
    pub next_after: i32,
    /// The rollout's status when this page was read.
    pub rollout_status: RolloutStatus,
}

/// The database is read this often while the stream is idle.
const SSE_POLL: Duration = Duration::from_millis(500);

/// The rollout's events (JSON), or a live stream (SSE).
#[utoipa::path(
    tag = "rollouts",
    params(RolloutPath, EventsQuery),
    responses(
        (status = 200, body = RolloutEventPage, description = "JSON page; with `Accept: text/event-stream` an SSE stream whose event ids are sequence numbers"),
        Unauthorized, Forbidden, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/rollouts/{id}/events")]
pub async fn list_rollout_events(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    path: web::Path<RolloutPath>,
    query: crate::api::body::Query<EventsQuery>,
    req: HttpRequest,
) -> ApiResult {
    unscoped(&caller)?;
    let id = path.into_inner().id;
    let Cursor { after, limit, live } = Cursor::of(&req, &query)?;
    let read_id = id.clone();
    let (status, events) = state
        .db(move |conn| {
            let r = store::rollouts::find(conn, &read_id)?;
            let events = store::rollouts::events_after(conn, &read_id, after, limit)?;
            Ok::<_, StoreError>((r.status, events))
        })
        .await?;
    if !live {
        let next_after = events.last().map_or(after, |e| e.seq);
        return Ok(HttpResponse::Ok().json(RolloutEventPage {
            events: events.into_iter().map(Into::into).collect(),
            next_after,
            rollout_status: status,
        }));
    }
    let stream = Sse {
        state: state.into_inner(),
        id,
        token_id: caller.token_id,
        after,
        started: false,
        last_sent: Instant::now(),
        done: false,
    };
    Ok(sse::response(futures_util::stream::unfold(
        stream, next_frame,
    )))
}

struct Sse {
    state: std::sync::Arc<AppState>,
    id: String,
    token_id: String,
    after: i32,
    started: bool,
    last_sent: Instant,
    done: bool,
}

enum Read {
    Events(bool, Vec<store::rollouts::Event>),
    Revoked,
}

async fn next_frame(mut s: Sse) -> Option<(Result<web::Bytes, actix_web::Error>, Sse)> {
    if s.done {
        return None;
    }
    if !s.started {
        s.started = true;
        return Some((Ok(sse::retry_frame()), s));
    }
    loop {
        let (id, token, after) = (s.id.clone(), s.token_id.clone(), s.after);
        let read = s
            .state
            .db(move |conn| {
                match store::tokens::find_active(conn, &token) {
                    Ok(_) => {}
                    Err(StoreError::NotFound { .. }) => return Ok(Read::Revoked),
                    Err(e) => return Err(e),
                }
                // Whether it has ended is read before the events: none can follow those then.
                let ended = store::rollouts::is_settled(conn, &id)?;
                let events = store::rollouts::events_after(conn, &id, after, sse::PAGE)?;
                Ok::<_, StoreError>(Read::Events(ended, events))
            })
            .await;
        let (ended, events) = match read {
            Ok(Read::Events(ended, events)) => (ended, events),
            Ok(Read::Revoked) => {
                s.done = true;
                return Some((Ok(sse::REVOKED), s));
            }
            Err(_) => {
                s.done = true;
                return Some((Ok(sse::CANNOT_READ), s));
            }
        };
        if let Some(last) = events.last() {
            s.after = last.seq;
            let mut out = String::new();
            for e in &events {
                out.push_str(&format!(
                    "id: {}\nevent: {}\ndata: {}\n\n",
                    e.seq, e.kind, e.payload
                ));
            }
            s.last_sent = Instant::now();
            return Some((Ok(web::Bytes::from(out)), s));
        }
        if ended {
            s.done = true;
            return Some((Ok(web::Bytes::from_static(b"event: end\ndata: {}\n\n")), s));
        }
        // A rollout can bake for hours without an event: without a frame now and then, a
        // proxy's idle timeout would cut the stream.
        if s.last_sent.elapsed() >= sse::KEEPALIVE {
            s.last_sent = Instant::now();
            return Some((Ok(sse::KEEPALIVE_FRAME), s));
        }
        tokio::time::sleep(SSE_POLL).await;
    }
}
