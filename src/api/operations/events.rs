//! `GET /api/v1/operations/{id}/events`: the operation's engine events after a sequence
//! number, as JSON, or — with `Accept: text/event-stream` — as a live SSE stream that resumes
//! from `Last-Event-ID` and ends when the operation has finished and every event was sent.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::problems::{Invalid, NotFound, Unauthorized};
use crate::api::{ApiResult, AppState, OperationPath, Viewer};
use crate::domain::{OperationStatus, ValidationErrors};
use crate::notify::Subscription;
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
    #[schema(value_type = Object)]
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
    #[schema(value_type = String)]
    pub operation_status: OperationStatus,
}

/// Query of `list_operation_events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with a larger sequence number (default 0).
    pub after: Option<i32>,
    /// Page size, 1–1000 (default 500; JSON only).
    pub limit: Option<u32>,
}

const SSE_POLL: Duration = Duration::from_millis(1000);
/// A comment line this often keeps proxies from cutting an idle stream.
const SSE_KEEPALIVE: Duration = Duration::from_secs(15);
/// What the client's `EventSource` waits before reconnecting (with `Last-Event-ID`).
const SSE_RETRY_MS: u64 = 3000;

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
    let last_event_id = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i32>().ok());
    let after = last_event_id.or(query.after).unwrap_or(0);
    if after < 0 {
        return Err(ValidationErrors::single("after", "must be 0 or more").into());
    }
    let limit = query.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(ValidationErrors::single("limit", "must be between 1 and 1000").into());
    }
    let wants_sse = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    // Subscribed before the first read: a change between the read and the wait is kept.
    let changes = wants_sse.then(|| state.hub.subscribe(&id));
    let (op_id, page) = state
        .db(move |conn| {
            let op = store::operations::find(conn, &id)?;
            let events = store::events::list_after(conn, &op.id, after, i64::from(limit))?;
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
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(sse_stream(
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
    /// The token the stream was opened with: re-checked at every poll, so a revoked
    /// token's stream ends within about [`SSE_POLL`].
    token_id: String,
    after: i32,
    changes: Subscription,
    started: bool,
    last_sent: std::time::Instant,
    done: bool,
}

/// What one poll of the stream found.
enum Poll {
    Read(crate::domain::OperationStatus, Vec<store::events::Event>),
    Revoked,
}

/// Streams events in order: read what is stored after `after`, send it, and when nothing new
/// is stored wait for a change notification (or poll, for workers in other processes).
fn sse_stream(
    state: std::sync::Arc<AppState>,
    op_id: String,
    token_id: String,
    after: i32,
    changes: Subscription,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    let init = SseState {
        state,
        op_id,
        token_id,
        after,
        changes,
        started: false,
        last_sent: std::time::Instant::now(),
        done: false,
    };
    futures_util::stream::unfold(init, |mut s| async move {
        if s.done {
            return None;
        }
        if !s.started {
            s.started = true;
            let retry = format!("retry: {SSE_RETRY_MS}\n\n");
            return Some((Ok(web::Bytes::from(retry)), s));
        }
        loop {
            // Read the status before the events: if it is final, no event can follow the
            // ones read next, so ending after sending them loses nothing.
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
                    let events = store::events::list_after(conn, &op_id, after, 500)?;
                    Ok::<_, store::StoreError>(Poll::Read(op.status, events))
                })
                .await;
            let (status, events) = match read {
                Ok(Poll::Read(status, events)) => (status, events),
                Ok(Poll::Revoked) => {
                    s.done = true;
                    return Some((
                        Ok(web::Bytes::from_static(
                            b"event: error\ndata: {\"detail\":\"the token has been revoked\"}\n\n",
                        )),
                        s,
                    ));
                }
                _ => {
                    s.done = true;
                    return Some((
                        Ok(web::Bytes::from_static(
                            b"event: error\ndata: {\"detail\":\"cannot read events\"}\n\n",
                        )),
                        s,
                    ));
                }
            };
            if !events.is_empty() {
                let mut frame = String::new();
                for e in &events {
                    frame.push_str(&format!(
                        "id: {}\nevent: {}\ndata: {}\n\n",
                        e.seq, e.kind, e.payload
                    ));
                }
                s.after = events.last().map_or(s.after, |e| e.seq);
                s.last_sent = std::time::Instant::now();
                return Some((Ok(web::Bytes::from(frame)), s));
            }
            if status.is_final() {
                s.done = true;
                let end = format!("event: end\ndata: {{\"status\":\"{status}\"}}\n\n");
                return Some((Ok(web::Bytes::from(end)), s));
            }
            if s.last_sent.elapsed() >= SSE_KEEPALIVE {
                s.last_sent = std::time::Instant::now();
                return Some((Ok(web::Bytes::from_static(b": keepalive\n\n")), s));
            }
            // Either a change in this process, or a poll for other processes' workers.
            let _ = tokio::time::timeout(SSE_POLL, s.changes.changed()).await;
        }
    })
}
