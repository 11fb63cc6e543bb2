//! Operation events through the API: JSON pages, the live SSE stream with resume, and the
//! metrics the engine exposes (scripted executor standing in for pulumi).

use reqwest::Method;

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};
use crate::routes::{Action, EventPage, PROD};
use crate::scripted::Script;

#[actix_web::test]
async fn events_are_stored_in_order_and_paged_by_sequence() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.run(PROD, Action::Deploy).await;
    let page: EventPage = app
        .get_json(&format!("/api/v1/operations/{}/events", op.id))
        .await;
    let seqs: Vec<i64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=page.events.len() as i64).collect::<Vec<_>>());
    assert_eq!(page.events.first().unwrap().kind, "preludeEvent");
    assert_eq!(page.events.last().unwrap().kind, "cancelEvent");
    assert_eq!(page.operation_status, "succeeded");
    let rest = app.events_page(&op.id, 3, 2).await;
    let rest_seqs: Vec<i64> = rest.events.iter().map(|e| e.seq).collect();
    assert_eq!(rest_seqs, [4, 5]);
    assert_eq!(rest.next_after, 5);
    app.stop().await;
}

/// Reads an SSE body into (id, event) pairs until the `end` event.
fn parse_sse(text: &str) -> Vec<(Option<i64>, String)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|frame| {
            let mut id = None;
            let mut event = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_owned();
                }
            }
            (id, event)
        })
        .collect()
}

#[actix_web::test]
async fn sse_streams_every_event_in_order_and_resumes_from_last_event_id() {
    let app = TestApp::builder().workers(1).spawn().await;
    app.with_config(PROD).await;
    let blocked = Script {
        block: true,
        ..Script::default()
    };
    app.executor.script(&PROD.stack(), blocked);
    let id = app.start(PROD, Action::Deploy).await.id;
    app.wait_for(&id, "running").await;

    // A live client connects while the operation runs, and reads until it ends.
    let url = format!("{}/api/v1/operations/{id}/events", app.base);
    // `send` resolves once the stream's headers arrived: the client is connected before the
    // operation is released, so the events below were received live.
    let resp = app
        .client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    app.executor.release("acme-prod");
    let frames = parse_sse(&resp.text().await.unwrap());
    let ids: Vec<i64> = frames.iter().filter_map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert_eq!(frames.last().unwrap().1, "end");
    assert!(ids.len() >= 8);

    // A reconnect with Last-Event-ID gets exactly the rest.
    let resumed = app
        .client
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", "4")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resumed_ids: Vec<i64> = parse_sse(&resumed)
        .iter()
        .filter_map(|(id, _)| *id)
        .collect();
    assert_eq!(resumed_ids, (5..=ids.len() as i64).collect::<Vec<_>>());
    app.stop().await;
}

#[actix_web::test]
async fn metrics_count_operations_and_requests() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    app.run(PROD, Action::Deploy).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"byoc_operations_finished_total{kind="update",status="succeeded"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"byoc_operations{kind="update",status="succeeded"} 1"#),
        "{text}"
    );
    assert!(text.contains("byoc_queue_depth 0"));
    assert!(text.contains(r#"route="/api/v1/tenants/{slug}/environments/{env}/deploy""#));
    let anonymous = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

/// Opens a live stream of operation `id` (resuming after `last_event_id` when given).
async fn open_stream(app: &TestApp, id: &str, last_event_id: Option<i64>) -> reqwest::Response {
    let mut req = app
        .client
        .get(format!("{}/api/v1/operations/{id}/events", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("Accept", "text/event-stream");
    if let Some(last) = last_event_id {
        req = req.header("Last-Event-ID", last.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

/// Twenty live streams of one long operation (over a page of the database and many stored
/// batches), with `buffer` batches of slack each (`BYOC_SSE_BUFFER`): every stream gets every
/// event once, in order, then `end`; one opened with `Last-Event-ID` mid-way gets exactly the
/// rest. Returns how many events there were.
async fn every_stream_gets_every_event_once(buffer: usize) -> i64 {
    const STREAMS: usize = 20;
    let app = TestApp::builder()
        .workers(1)
        .settings(move |s| s.http.sse_buffer = buffer)
        .spawn()
        .await;
    app.with_config(PROD).await;
    let long = Script {
        block: true,
        diagnostics: 1200,
        ..Script::default()
    };
    app.executor.script(&PROD.stack(), long);
    let id = app.start(PROD, Action::Deploy).await.id;
    app.wait_for(&id, "running").await;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        streams.push(open_stream(&app, &id, None).await);
    }
    let resumed = open_stream(&app, &id, Some(1)).await;
    // Every stream is connected (its headers arrived) before the events below are stored.
    app.executor.release("acme-prod");
    let read = |resp: reqwest::Response| async move { parse_sse(&resp.text().await.unwrap()) };
    let all = futures_util::future::join_all(streams.into_iter().map(read)).await;
    let n = all[0].iter().filter(|(id, _)| id.is_some()).count() as i64;
    assert!(n > 1200, "the whole operation: {n} events");
    for frames in &all {
        let ids: Vec<i64> = frames.iter().filter_map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            (1..=n).collect::<Vec<_>>(),
            "every event once, in order"
        );
        assert_eq!(frames.last().unwrap().1, "end");
    }
    let rest: Vec<i64> = read(resumed)
        .await
        .iter()
        .filter_map(|(id, _)| *id)
        .collect();
    assert_eq!(rest, (2..=n).collect::<Vec<_>>(), "resumed after event 1");
    app.stop().await;
    n
}

#[actix_web::test]
async fn many_live_streams_get_every_event_once_in_order() {
    every_stream_gets_every_event_once(1024).await;
}

/// With one batch of slack, streams fall behind the worker constantly and catch up from the
/// database: still every event once, in order.
#[actix_web::test]
async fn streams_that_fall_behind_the_buffer_catch_up_without_loss_or_repeats() {
    every_stream_gets_every_event_once(1).await;
}
