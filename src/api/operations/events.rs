//! `GET /api/v1/operations/{id}/events`: the operation's engine events after a sequence
//! number, as JSON, or — with `Accept: text/event-stream` — as a live SSE stream that resumes
//! from `Last-Event-ID` and ends when the operation has finished and every event was sent.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::problems::{Invalid, NotFound, Unauthorized};
use crate::api::sse::{self, Cursor, EventsQuery};
use crate::api::{ApiResult, AppState, OperationPath, Viewer};
use crate::domain::OperationStatus;
use crate::notify::{Subscription, Take, Update};
use crate::store;

/// One stored engine event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Position in the operation's stream (1, 2, … without gaps).
    pub seq: i32,
    /// When byoc received it.
    pub created_at: DateTime<Utc>,
    /// Payload kind (`resourcePreEvent`, `summaryEvent`, …, or `byoc.*`).
    pub kind: String,
    /// The event as the engine wrote it.
    pub payload: serde_json::Value,
}

impl From<store::events::Event> for EventView {
    fn from(e: store::events::Event) -> Self {
        Self {
            seq: e.seq,
            created_at: e.created_at.and_utc(),
            kind: e.kind,
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Events after `after`, in order.
    pub events: Vec<EventView>,
    /// Pass as `after` to get the next page.
    pub next_after: i32,
    /// The operation's status when this page was read.
    pub operation_status: OperationStatus,
}

/// The database is read at least this often (see [`sse_stream`]).
const SSE_POLL: Duration = Duration::from_millis(1000);

/// The operation's events (JSON), or a live stream (SSE).
#[utoipa::path(
    tag = "operations",
    params(OperationPath, EventsQuery),
    responses(
        (status = 200, body = EventPage, description = "JSON page; with `Accept: text/event-stream` an SSE stream whose event ids are sequence numbers"),
        Unauthorized, NotFound, Invalid
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/operations/{id}/events")]
pub async fn list_operation_events(
    state: web::Data<AppState>,
    Viewer(caller): Viewer,
    path: OperationPath,
    query: crate::api::body::Query<EventsQuery>,
    req: HttpRequest,
) -> ApiResult {
    let id = path.id;
    let Cursor { after, limit, live } = Cursor::of(&req, &query)?;
    // Subscribed before the first read: a change between the read and the wait is kept.
    let changes = live.then(|| state.hub.subscribe(&id));
    // A stream reads its first page itself: here only whether the operation exists.
    let page_size = if live { 0 } else { limit };
    let (op_id, page) = state
        .db(move |conn| {
            let op = store::operations::find(conn, &id)?;
            let events = match page_size {
                0 => Vec::new(),
                n => store::events::list_after(conn, &op.id, after, n)?,
            };
            Ok::<_, store::StoreError>((op.id, (op.status, events)))
        })
        .await?;
    let Some(changes) = changes else {
        let (status, events) = page;
        let next_after = events.last().map_or(after, |e| e.seq);
        return Ok(HttpResponse::Ok().json(EventPage {
            events: events.into_iter().map(Into::into).collect(),
            next_after,
            operation_status: status,
        }));
    };
    Ok(sse::response(sse_stream(
        state.into_inner(),
        op_id,
        caller.token_id,
        after,
        changes,
    )))
}

struct SseState {
    state: std::sync::Arc<AppState>,
    op_id: String,
    /// The token the stream was opened with: re-checked at every database read, at least
    /// every [`SSE_POLL`], so a revoked token's stream ends within about that.
    token_id: String,
    /// Every event up to this sequence number was sent.
    after: i32,
    updates: Subscription,
    started: bool,
    /// The next step reads the database (catching up, a change the hub cannot carry, a gap).
    read: bool,
    last_read: Instant,
    last_sent: Instant,
    /// The operation ended and every event was sent: `end` follows.
    ending: Option<OperationStatus>,
    done: bool,
}

/// What one read of the database found.
enum Poll {
    Read(OperationStatus, Vec<store::events::Event>),
    Revoked,
}

/// Streams events in order, each once: what is stored after `after` from the database, then
/// the batches the hub hands over as the worker stores them. Back to the database when the
/// hub says something changed that it does not carry, when a batch leaves a gap (the stream
/// fell behind), and at least every [`SSE_POLL`] (workers in other processes on SQLite, the
/// token's revocation).
fn sse_stream(
    state: std::sync::Arc<AppState>,
    op_id: String,
    token_id: String,
    after: i32,
    updates: Subscription,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    let init = SseState {
        state,
        op_id,
        token_id,
        after,
        updates,
        started: false,
        read: true,
        last_read: Instant::now(),
        last_sent: Instant::now(),
        ending: None,
        done: false,
    };
    futures_util::stream::unfold(init, |mut s| async move {
        if s.done {
            return None;
        }
        if !s.started {
            s.started = true;
            return Some((Ok(sse::retry_frame()), s));
        }
        if let Some(status) = s.ending {
            s.done = true;
            let end = format!("event: end\ndata: {{\"status\":\"{status}\"}}\n\n");
            return Some((Ok(web::Bytes::from(end)), s));
        }
        loop {
            let due = s.last_read.elapsed() >= SSE_POLL;
            if due && !s.read && s.updates.has_waiting() {
                // Stored batches are waiting in memory: they carry the events, so the poll
                // only checks the token. Reading the events too would send a stream that is
                // behind in its queue to the database for pages it is about to get from memory
                // (session 6: with 100 busy streams that re-reading was most of the CPU).
                if let Err(error) = check_token(&mut s).await {
                    s.done = true;
                    return Some((Ok(error), s));
                }
            } else if s.read || due {
                match read(&mut s).await {
                    Ok(Some(frames)) => return Some((Ok(frames), s)),
                    Ok(None) if s.ending.is_some() => {
                        let status = s.ending.take().unwrap_or(OperationStatus::Succeeded);
                        s.done = true;
                        let end = format!("event: end\ndata: {{\"status\":\"{status}\"}}\n\n");
                        return Some((Ok(web::Bytes::from(end)), s));
                    }
                    Ok(None) => {}
                    Err(error) => {
                        s.done = true;
                        return Some((Ok(error), s));
                    }
                }
            }
            if s.last_sent.elapsed() >= sse::KEEPALIVE {
                s.last_sent = Instant::now();
                return Some((Ok(sse::KEEPALIVE_FRAME), s));
            }
            let wait = SSE_POLL.saturating_sub(s.last_read.elapsed());
            let Ok(update) = tokio::time::timeout(wait, s.updates.next()).await else {
                s.read = true;
                continue;
            };
            if let Some(frames) = take(&mut s, update) {
                s.last_sent = Instant::now();
                return Some((Ok(frames), s));
            }
        }
    })
}

/// The token's revocation check alone (see [`read`]); `Err(frame)` ends the stream.
async fn check_token(s: &mut SseState) -> Result<(), web::Bytes> {
    let token_id = s.token_id.clone();
    let found = s
        .state
        .db(
            move |conn| match store::tokens::find_active(conn, &token_id) {
                Ok(_) => Ok(true),
                Err(store::StoreError::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            },
        )
        .await;
    s.last_read = Instant::now();
    match found {
        Ok(true) => Ok(()),
        Ok(false) => Err(sse::REVOKED),
        Err(_) => Err(sse::CANNOT_READ),
    }
}

/// Reads the status and the next page of events; `Some(frames)` when there were events,
/// `Err(frame)` with the error event that ends the stream.
async fn read(s: &mut SseState) -> Result<Option<web::Bytes>, web::Bytes> {
    // Read the status before the events: if it is final, no event can follow the ones read
    // next, so ending after sending them loses nothing.
    let (op_id, token_id, after) = (s.op_id.clone(), s.token_id.clone(), s.after);
    let read = s
        .state
        .db(move |conn| {
            match store::tokens::find_active(conn, &token_id) {
                Ok(_) => {}
                Err(store::StoreError::NotFound { .. }) => return Ok(Poll::Revoked),
                Err(e) => return Err(e),
            }
            let op = store::operations::find(conn, &op_id)?;
            let events = store::events::list_after(conn, &op_id, after, sse::PAGE)?;
            Ok::<_, store::StoreError>(Poll::Read(op.status, events))
        })
        .await;
    s.last_read = Instant::now();
    let (status, events) = match read {
        Ok(Poll::Read(status, events)) => (status, events),
        Ok(Poll::Revoked) => return Err(sse::REVOKED),
        Err(_) => return Err(sse::CANNOT_READ),
    };
    // A full page may have more behind it: read again next.
    s.read = events.len() as i64 == sse::PAGE;
    if status.is_final() && !s.read {
        s.ending = Some(status);
    }
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(None);
    };
    let mut frames = web::BytesMut::new();
    for e in &events {
        crate::notify::batch::write_frame(e, &mut frames);
    }
    s.after = last;
    s.last_sent = Instant::now();
    Ok(Some(frames.freeze()))
}

/// What the stream sends of `update`; `None` when nothing (and maybe a read is due,
/// `s.read`). One batch's frames as they are, a slice of the buffer every stream shares: the
/// HTTP encoder copies each into the connection's write buffer anyway (and takes more items
/// until that buffer holds 32 KiB), so joining the batches waiting behind it into one buffer
/// (as before) only added a copy per stream. Not cut smaller either: handing a batch over in
/// 16 KiB slices cost more CPU per event (more encoder rounds and socket writes; the bench's
/// ceiling stage measures both).
fn take(s: &mut SseState, update: Update) -> Option<web::Bytes> {
    match update {
        Update::Changed => {
            s.read = true;
            None
        }
        Update::Stored(batch) => match batch.after(s.after) {
            Take::Frames(frames, last) => {
                s.after = last;
                Some(frames)
            }
            Take::Nothing => None,
            Take::Gap => {
                s.read = true;
                None
            }
        },
    }
}
