//! Event ingestion: decode + persist + fan-out to 100 SSE subscribers, in one `byoc serve`
//! built in this process from the library (`commands::serve::start_with_aws`) with a replay
//! executor: it decodes a recorded engine event log (repeated to N events) with byoc's own
//! streaming decoder and hands every event to the worker's sink, exactly as the local executor
//! forwards the CLI's events. The worker batches them into SQLite and wakes the SSE streams;
//! 100 subscribers (reqwest and a minimal SSE frame reader, on their own 2-thread runtime)
//! check that every event arrives once, in order, with the right kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::AwsRegion;
use byoc::executor::{EngineEventRecord, EventSink, Executor, OperationJob, Outcome, RecoverError};
use byoc::pulumi::EventDecoder;
use byoc::settings::Settings;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cluster::TOKEN;
use crate::report::Report;

pub const SUBSCRIBERS: usize = 100;

#[derive(Debug)]
struct Replay {
    log: Arc<Vec<u8>>,
    go: Arc<Notify>,
}

#[async_trait]
impl Executor for Replay {
    fn name(&self) -> &'static str {
        "replay"
    }

    async fn run(
        &self,
        _job: OperationJob,
        sink: EventSink,
        _cancel: CancellationToken,
    ) -> Outcome {
        self.go.notified().await;
        let mut decoder = EventDecoder::new();
        for chunk in self.log.chunks(64 * 1024) {
            for item in decoder.push(chunk) {
                let ev = item.expect("the recorded log decodes");
                sink.event(ev.kind().to_owned(), ev.raw).await;
            }
        }
        assert!(decoder.finish().is_empty());
        Outcome::Succeeded {
            summary: Default::default(),
            outputs: None,
        }
    }

    async fn recover(&self, _job: &OperationJob) -> Result<Vec<EngineEventRecord>, RecoverError> {
        Ok(vec![])
    }
}

/// The recorded EKS update log, repeated to at least `n` events; with the expected kinds.
fn log_of(n: usize) -> (Vec<u8>, Vec<String>) {
    let one = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/pulumi/events/display/up-2-eks.jsonl"
    ))
    .or_else(|_| std::fs::read("/work/shared/fixtures/pulumi/events/display/up-2-eks.jsonl"))
    .expect("the recorded EKS event log");
    let kinds_one: Vec<String> = byoc::pulumi::decode_all(&one)
        .into_iter()
        .map(|e| e.expect("decodes").kind().to_owned())
        .collect();
    let (mut log, mut kinds) = (Vec::new(), Vec::new());
    while kinds.len() < n {
        log.extend_from_slice(&one);
        if !one.ends_with(b"\n") {
            log.push(b'\n');
        }
        kinds.extend(kinds_one.iter().cloned());
    }
    (log, kinds)
}

struct Seen {
    count: usize,
    in_order: bool,
    done: Instant,
}

async fn subscribe(url: String, kinds: Arc<Vec<String>>, connected: Arc<AtomicUsize>) -> Seen {
    let client = reqwest::Client::new();
    let mut resp = client
        .get(url)
        .bearer_auth(TOKEN)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 200);
    connected.fetch_add(1, Ordering::SeqCst);
    let (mut count, mut in_order) = (0usize, true);
    let mut buf: Vec<u8> = Vec::new();
    // Where the search for the next frame's end resumes: a frame split across chunks is not
    // scanned again from its start (that rescanning made the load generator quadratic).
    let mut scanned = 0;
    let finder = memchr::memmem::Finder::new(b"\n\n");
    'read: while let Some(chunk) = resp.chunk().await.expect("a readable stream") {
        buf.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = finder.find(&buf[scanned..]).map(|at| scanned + at) {
            let frame = &buf[start..end];
            start = end + 2;
            scanned = start;
            match read_frame(frame) {
                Frame::End => break 'read,
                Frame::Other => {}
                Frame::Event { id, kind } => {
                    count += 1;
                    if id != count || kinds.get(count - 1).map(String::as_bytes) != Some(kind) {
                        in_order = false;
                    }
                }
            }
        }
        buf.drain(..start);
        // All of what is left was searched but its last byte (a frame end's first half).
        scanned = buf.len().saturating_sub(1);
    }
    Seen {
        count,
        in_order,
        done: Instant::now(),
    }
}

/// Where the frame at the start of `buf` ends (its blank line), if it is complete.
enum Frame<'a> {
    Event { id: usize, kind: &'a [u8] },
    End,
    Other,
}

/// The `id` and `event` lines of one SSE frame as byoc writes them (`id: `, `event: `,
/// `data: `, one line each). A minimal reader on purpose: a general SSE parser in the
/// subscribers costs more CPU than the server's fan-out it is meant to measure, on the same
/// two cores.
fn read_frame(frame: &[u8]) -> Frame<'_> {
    let (mut id, mut kind) = (None, None);
    // byoc writes `id:` and `event:` before `data:` (one line of JSON): stop there, the data is
    // not scanned.
    let mut rest = frame;
    while !rest.is_empty() && !rest.starts_with(b"data:") {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        if let Some(v) = line.strip_prefix(b"id: ") {
            id = std::str::from_utf8(v).ok().and_then(|v| v.parse().ok());
        } else if let Some(v) = line.strip_prefix(b"event: ") {
            kind = Some(v);
        }
        rest = next;
    }
    match (id, kind) {
        (Some(id), Some(kind)) => Frame::Event { id, kind },
        (None, Some(b"end")) => Frame::End,
        _ => Frame::Other,
    }
}

pub fn measure(n: usize, report: &mut Report) {
    let (log, kinds) = log_of(n);
    let n = kinds.len();
    let kinds = Arc::new(kinds);
    let dir = tempfile::tempdir().unwrap();
    let go = Arc::new(Notify::new());
    let executor = Arc::new(Replay {
        log: Arc::new(log),
        go: go.clone(),
    });
    let mut settings = Settings::for_data_dir(dir.path().join("data"));
    settings.http.bind = "127.0.0.1:0".parse().unwrap();
    settings.auth.bootstrap_token = Some(SecretString::from(TOKEN));
    settings.worker.concurrency = 1;
    let result = actix_web::rt::System::new().block_on(async move {
        let mut options = AwsClientOptions::new(AwsRegion::parse("us-east-1").unwrap());
        // Never called: the replay executor does no pre-flight.
        options.endpoint_url = Some("http://127.0.0.1:9".to_owned());
        let creds =
            aws_credential_types::Credentials::new("AKIDBENCH", "bench", None, None, "bench");
        let aws = PlatformAws::with_credentials(options, creds).await;
        let server =
            byoc::commands::start_with_aws(settings, executor, aws).expect("server starts");
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::new();
        let post = |path: String, body: serde_json::Value| {
            client
                .post(format!("{base}{path}"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
        };
        let r = post(
            "/api/v1/tenants".into(),
            json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let r = post(
            "/api/v1/tenants/acme/environments/prod/config".into(),
            json!({}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let r = post(
            "/api/v1/tenants/acme/environments/prod/deploy".into(),
            json!({}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 202);
        let id = r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();

        let connected = Arc::new(AtomicUsize::new(0));
        let url = format!("{base}/api/v1/operations/{id}/events");
        let (subs_conn, subs_kinds) = (connected.clone(), kinds.clone());
        let subscribers = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let tasks: Vec<_> = (0..SUBSCRIBERS)
                    .map(|_| {
                        tokio::spawn(subscribe(
                            url.clone(),
                            subs_kinds.clone(),
                            subs_conn.clone(),
                        ))
                    })
                    .collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.unwrap());
                }
                out
            })
        });
        while connected.load(Ordering::SeqCst) < SUBSCRIBERS {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        let t0 = Instant::now();
        let t0_wall = chrono::Utc::now();
        go.notify_one();
        let op = loop {
            let op: serde_json::Value = client
                .get(format!("{base}/api/v1/operations/{id}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if op["status"] != "queued" && op["status"] != "running" {
                break op;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(op["status"], "succeeded", "{op}");
        let finished: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(op["finished_at"].clone()).unwrap();
        let persisted = (finished - t0_wall).to_std().unwrap_or_default();
        let seen = subscribers.join().unwrap();
        server.handle.stop(true).await;
        server.shutdown.cancel();
        (t0, persisted, seen)
    });
    let (t0, persisted, seen) = result;
    let last = seen.iter().map(|s| s.done).max().unwrap();
    let delivered = last - t0;
    let complete = seen.iter().all(|s| s.count == n && s.in_order);
    let worst = seen.iter().map(|s| s.count).min().unwrap_or(0);
    let rate = n as f64 / delivered.as_secs_f64();
    report.row(
        &format!("event ingestion, {SUBSCRIBERS} SSE subscribers"),
        format!(
            "{rate:.0} events/s to all subscribers ({n} events in {:.2} s; persisted alone {:.0} events/s); {}",
            delivered.as_secs_f64(),
            n as f64 / persisted.as_secs_f64(),
            if complete { "none lost or reordered".to_owned() } else { format!("LOST/REORDERED (fewest seen: {worst})") }
        ),
        "≥ 50,000 events/s, none lost or reordered",
        rate >= 50_000.0 && complete,
    );
}
