//! What the live event streams (operation events, rollout events) share: how a request asks
//! for a stream and where it resumes, the response and its headers, and the fixed frames.
//! Each stream's own loop (what it reads, when it wakes) stays with its handler.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::ValidationErrors;

/// What the client's `EventSource` waits before reconnecting (with `Last-Event-ID`).
pub const RETRY_MS: u64 = 3000;
/// A comment line this often keeps proxies from cutting an idle stream.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// At most this many events per read of the database.
pub const PAGE: i64 = 500;

/// The first frame of every stream: how long to wait before reconnecting.
pub fn retry_frame() -> web::Bytes {
    web::Bytes::from(format!("retry: {RETRY_MS}\n\n"))
}
/// Sent after [`KEEPALIVE`] without a frame.
pub const KEEPALIVE_FRAME: web::Bytes = web::Bytes::from_static(b": keepalive\n\n");
/// Ends a stream whose token was revoked while it ran.
pub const REVOKED: web::Bytes =
    web::Bytes::from_static(b"event: error\ndata: {\"detail\":\"the token has been revoked\"}\n\n");
/// Ends a stream whose database read failed (the cause is the server's to log, not the
/// client's to see; the client resumes with `Last-Event-ID`).
pub const CANNOT_READ: web::Bytes =
    web::Bytes::from_static(b"event: error\ndata: {\"detail\":\"cannot read events\"}\n\n");

/// Query of the event listings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with a larger sequence number (default 0).
    #[param(minimum = 0)]
    pub after: Option<i32>,
    /// Page size, 1–1000 (default 500; JSON only).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Where a listing starts and whether it is a live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Events with a larger sequence number: `Last-Event-ID` (a reconnecting `EventSource`)
    /// over `?after=`, else 0.
    pub after: i32,
    /// Page size of a JSON listing.
    pub limit: i64,
    /// `Accept: text/event-stream`.
    pub live: bool,
}

impl Cursor {
    /// Reads the cursor of `req`; a negative `after` or a `limit` outside 1–1000 is a 422
    /// naming the field.
    pub fn of(req: &HttpRequest, query: &EventsQuery) -> Result<Self, ValidationErrors> {
        let last_event_id = req
            .headers()
            .get("Last-Event-ID")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i32>().ok());
        let after = last_event_id.or(query.after).unwrap_or(0);
        if after < 0 {
            return Err(ValidationErrors::single("after", "must be 0 or more"));
        }
        let limit = query.limit.unwrap_or(500);
        if !(1..=1000).contains(&limit) {
            return Err(ValidationErrors::single(
                "limit",
                "must be between 1 and 1000",
            ));
        }
        let live = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        Ok(Self {
            after,
            limit: i64::from(limit),
            live,
        })
    }
}

/// The streaming response: not cached, and not buffered by a proxy (nginx honours
/// `X-Accel-Buffering`).
pub fn response<S>(stream: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> + 'static,
{
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn query(after: Option<i32>, limit: Option<u32>) -> EventsQuery {
        EventsQuery { after, limit }
    }

    #[test]
    fn last_event_id_wins_over_after_and_accept_asks_for_a_stream() {
        let req = TestRequest::default()
            .insert_header(("Last-Event-ID", " 42 "))
            .insert_header((header::ACCEPT, "text/event-stream"))
            .to_http_request();
        let cursor = Cursor::of(&req, &query(Some(7), None)).unwrap();
        assert_eq!(
            cursor,
            Cursor {
                after: 42,
                limit: 500,
                live: true
            }
        );
        let plain = TestRequest::default().to_http_request();
        let cursor = Cursor::of(&plain, &query(Some(7), Some(3))).unwrap();
        assert_eq!(
            cursor,
            Cursor {
                after: 7,
                limit: 3,
                live: false
            }
        );
    }

    #[test]
    fn a_negative_after_or_a_limit_out_of_range_names_its_field() {
        let req = TestRequest::default().to_http_request();
        for (q, field) in [
            (query(Some(-1), None), "after"),
            (query(None, Some(0)), "limit"),
            (query(None, Some(1001)), "limit"),
        ] {
            let err = Cursor::of(&req, &q).unwrap_err();
            assert_eq!(err.0.len(), 1);
            assert_eq!(err.0[0].field, field);
        }
    }
}
