//! Event ingestion: decode + persist + fan-out to 100 SSE subscribers, in one `byoc serve`
//! built in this process from the library (`commands::serve::start_with_aws`) with a replay
//! executor: it decodes a recorded engine event log (repeated to N events) with byoc's own
//! streaming decoder and hands every event to the worker's sink, exactly as the local executor
//! forwards the CLI's events. The worker batches them into SQLite and hands each stored batch
//! to the SSE streams; 100 subscribers (reqwest and a minimal SSE frame reader, on their own
//! 2-thread runtime) check that every event arrives once, in order, with the right kind.
//!
//! Beside the whole pipeline, each stage alone, so the figure can be read against what the
//! machine allows at all:
//! - *decode alone*: the streaming decoder over the log, nothing else;
//! - *persist alone*: events decoded beforehand, handed to the sink; the worker stores them
//!   (and renders each batch for streams, which have no subscriber here);
//! - *fan-out alone*: the stored batches (as the persist run stored them), rendered by byoc,
//!   handed to the hub of a server whose operation is running, 100 SSE subscribers;
//! - *ceiling*: the same rendered frames, in the same batches, written by a plain actix-web
//!   handler (no byoc code) to 100 loopback subscribers with the same reader. What 100
//!   streams of these bytes cost on this machine whatever byoc does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::AwsRegion;
use byoc::executor::{EngineEventRecord, EventSink, Executor, OperationJob, Outcome, RecoverError};
use byoc::pulumi::EventDecoder;
use byoc::settings::Settings;
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cluster::TOKEN;
use crate::report::Report;

pub const SUBSCRIBERS: usize = 100;
const TARGET: f64 = 50_000.0;
const TARGET_TEXT: &str = "≥ 50,000 events/s, none lost or reordered";

/// What the replay executor does once released.
#[derive(Debug)]
enum Feed {
    /// Decode the log and forward every event (the whole pipeline).
    Decode(Arc<Vec<u8>>),
    /// Forward events decoded beforehand (persist alone).
    Decoded(Mutex<Vec<EngineEventRecord>>),
    /// Never end (fan-out alone: the bench feeds the hub itself).
    Hold,
}

#[derive(Debug)]
struct Replay {
    feed: Feed,
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
        match &self.feed {
            Feed::Decode(log) => {
                let mut decoder = EventDecoder::new();
                for chunk in log.chunks(64 * 1024) {
                    for item in decoder.push(chunk) {
                        let ev = item.expect("the recorded log decodes");
                        sink.event(ev.kind().to_owned(), ev.raw).await;
                    }
                }
                assert!(decoder.finish().is_empty());
            }
            Feed::Decoded(events) => {
                let events = std::mem::take(&mut *events.lock().unwrap());
                for e in events {
                    sink.event(e.kind, e.payload).await;
                }
            }
            Feed::Hold => std::future::pending().await,
        }
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

/// Reads one SSE stream until `end` (or, with `stop_at`, until that many events arrived).
async fn subscribe(
    url: String,
    kinds: Arc<Vec<String>>,
    connected: Arc<AtomicUsize>,
    stop_at: Option<usize>,
) -> Seen {
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
                    if stop_at == Some(count) {
                        break 'read;
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

/// `SUBSCRIBERS` subscribers of `url` on their own 2-thread runtime (a thread of its own);
/// `connected` counts those whose response headers arrived.
fn subscribers(
    url: String,
    kinds: Arc<Vec<String>>,
    connected: Arc<AtomicUsize>,
    stop_at: Option<usize>,
) -> std::thread::JoinHandle<Vec<Seen>> {
    std::thread::spawn(move || {
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
                        kinds.clone(),
                        connected.clone(),
                        stop_at,
                    ))
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    })
}

async fn all_connected(connected: &AtomicUsize) {
    while connected.load(Ordering::SeqCst) < SUBSCRIBERS {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Events/s from `t0` to the last subscriber's end, and whether every subscriber saw every
/// event once, in order (with the fewest any saw).
fn delivered(n: usize, t0: Instant, seen: &[Seen]) -> (f64, Duration, bool, usize) {
    let last = seen.iter().map(|s| s.done).max().unwrap();
    let took = last - t0;
    let complete = seen.iter().all(|s| s.count == n && s.in_order);
    let worst = seen.iter().map(|s| s.count).min().unwrap_or(0);
    (n as f64 / took.as_secs_f64(), took, complete, worst)
}

fn verdict(complete: bool, worst: usize) -> String {
    if complete {
        "none lost or reordered".to_owned()
    } else {
        format!("LOST/REORDERED (fewest seen: {worst})")
    }
}

/// CPU time (user + system) of this whole process so far: server, worker and subscribers all
/// run in it, so CPU per event is a figure the other load on the machine disturbs far less than
/// the wall-clock rate.
/// This process's CPU time so far (user + system).
pub fn cpu() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

/// The process's CPU time since `c0`, in µs per event.
fn per_event(c0: Duration, n: usize) -> f64 {
    (cpu() - c0).as_secs_f64() * 1e6 / n as f64
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A byoc server (in this process) with tenant `acme` and one deploy queued, which the replay
/// executor takes; with the deploy's id.
struct Bench {
    server: byoc::commands::Server,
    base: String,
    client: reqwest::Client,
    id: String,
    _dir: tempfile::TempDir,
}

async fn start(feed: Feed, go: Arc<Notify>) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let executor = Arc::new(Replay { feed, go });
    let mut settings = Settings::for_data_dir(dir.path().join("data"));
    settings.http.bind = "127.0.0.1:0".parse().unwrap();
    settings.auth.bootstrap_token = Some(SecretString::from(TOKEN));
    settings.worker.concurrency = 1;
    let mut options = AwsClientOptions::new(AwsRegion::parse("us-east-1").unwrap());
    // Never called: the replay executor does no pre-flight.
    options.endpoint_url = Some("http://127.0.0.1:9".to_owned());
    let creds = aws_credential_types::Credentials::new("AKIDBENCH", "bench", None, None, "bench");
    let aws = PlatformAws::with_credentials(options, creds).await;
    let server = byoc::commands::start_with_aws(settings, executor, aws).expect("server starts");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let r = post(
        "/api/v1/tenants",
        json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = post("/api/v1/tenants/acme/environments/prod/config", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = post("/api/v1/tenants/acme/environments/prod/deploy", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Bench {
        server,
        base,
        client,
        id,
        _dir: dir,
    }
}

impl Bench {
    async fn operation(&self) -> serde_json::Value {
        self.client
            .get(format!("{}/api/v1/operations/{}", self.base, self.id))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits for the operation to end (polling every 20 ms); when it did, by its own clock.
    async fn finished(&self) -> chrono::DateTime<chrono::Utc> {
        let op = loop {
            let op = self.operation().await;
            if op["status"] != "queued" && op["status"] != "running" {
                break op;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(op["status"], "succeeded", "{op}");
        serde_json::from_value(op["finished_at"].clone()).unwrap()
    }

    async fn running(&self) {
        while self.operation().await["status"] != "running" {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn events_url(&self) -> String {
        format!("{}/api/v1/operations/{}/events", self.base, self.id)
    }

    async fn stop(self) {
        self.server.handle.stop(true).await;
        self.server.shutdown.cancel();
    }
}

/// Decode alone: the streaming decoder over the log in 64 KiB chunks, as the replay does.
fn decode_alone(log: &[u8], n: usize) -> (f64, f64) {
    let (t0, c0) = (Instant::now(), cpu());
    let mut decoder = EventDecoder::new();
    let mut count = 0;
    for chunk in log.chunks(64 * 1024) {
        for item in decoder.push(chunk) {
            let ev = item.expect("decodes");
            std::hint::black_box(ev.kind());
            count += 1;
        }
    }
    assert_eq!(count, n);
    let took = t0.elapsed();
    (n as f64 / took.as_secs_f64(), per_event(c0, n))
}

/// Persist alone: pre-decoded events through the sink into the worker's writer, no
/// subscriber. Returns the rate and the events as stored, in batches of the writer's size
/// (what the fan-out stages send).
async fn persist_alone(log: &[u8], n: usize) -> (f64, f64, Vec<Vec<byoc::store::events::Event>>) {
    let decoded: Vec<EngineEventRecord> = byoc::pulumi::decode_all(log)
        .into_iter()
        .map(|e| {
            let e = e.expect("decodes");
            EngineEventRecord {
                kind: e.kind().to_owned(),
                payload: e.raw,
            }
        })
        .collect();
    assert_eq!(decoded.len(), n);
    let go = Arc::new(Notify::new());
    let bench = start(Feed::Decoded(Mutex::new(decoded)), go.clone()).await;
    bench.running().await;
    let (t0, c0) = (chrono::Utc::now(), cpu());
    go.notify_one();
    let finished = bench.finished().await;
    let cpu_us = per_event(c0, n);
    let took = (finished - t0).to_std().unwrap_or_default();
    let mut conn = bench.server.pool.get().expect("a connection");
    let mut batches = Vec::new();
    let mut after = 0;
    loop {
        let events = byoc::store::events::list_after(&mut conn, &bench.id, after, 1024).unwrap();
        let Some(last) = events.last() else { break };
        after = last.seq;
        batches.push(events);
    }
    drop(conn);
    assert_eq!(after as usize, n, "every event stored");
    bench.stop().await;
    (n as f64 / took.as_secs_f64(), cpu_us, batches)
}

/// Fan-out alone: the stored batches, rendered by byoc, handed to the hub of a server whose
/// operation is running (nothing decoded or stored), 100 SSE subscribers.
async fn fan_out_alone(
    stored: &[Vec<byoc::store::events::Event>],
    kinds: Arc<Vec<String>>,
) -> (f64, f64, bool, usize) {
    let n = kinds.len();
    let go = Arc::new(Notify::new());
    let bench = start(Feed::Hold, go.clone()).await;
    bench.running().await;
    go.notify_one();
    let batches: Vec<_> = stored
        .iter()
        .map(|events| Arc::new(byoc::notify::EventBatch::render(events).unwrap()))
        .collect();
    let connected = Arc::new(AtomicUsize::new(0));
    let subs = subscribers(bench.events_url(), kinds, connected.clone(), Some(n));
    all_connected(&connected).await;
    // Let every stream finish its first (empty) read of the database.
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let (t0, c0) = (Instant::now(), cpu());
    for b in batches {
        bench.server.hub.stored(&bench.id, b);
    }
    let seen = actix_web::rt::task::spawn_blocking(move || subs.join().unwrap())
        .await
        .unwrap();
    let cpu_us = per_event(c0, n);
    bench.stop().await;
    let (rate, _, complete, worst) = delivered(n, t0, &seen);
    (rate, cpu_us, complete, worst)
}

/// Each batch's SSE frames, as byoc writes them.
fn frames(stored: &[Vec<byoc::store::events::Event>]) -> Vec<Bytes> {
    stored
        .iter()
        .map(|events| {
            let mut frames = bytes::BytesMut::new();
            for e in events {
                byoc::notify::batch::write_frame(e, &mut frames);
            }
            frames.freeze()
        })
        .collect()
}

/// `batches` cut into slices of at most `piece` bytes (no copy).
fn sliced(batches: &[Bytes], piece: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    for b in batches {
        let mut b = b.clone();
        while !b.is_empty() {
            out.push(b.split_to(b.len().min(piece)));
        }
    }
    out
}

/// A two-thread tokio runtime (what each side gets in the other stages).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The floor under every ceiling: the same bytes over `SUBSCRIBERS` plain TCP connections on
/// loopback, no HTTP at all, the readers only counting bytes (a 64 KiB read buffer each).
/// Writers and readers each on a 2-thread runtime, as in the other stages. Returns events/s.
fn raw_tcp(batches: &[Bytes], n: usize) -> (f64, f64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let total: usize = batches.iter().map(Bytes::len).sum();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let readers = std::thread::spawn(move || {
        runtime().block_on(async move {
            let mut conns = Vec::new();
            for _ in 0..SUBSCRIBERS {
                conns.push(tokio::net::TcpStream::connect(addr).await.unwrap());
            }
            let tasks: Vec<_> = conns
                .into_iter()
                .map(|mut c| {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut got = 0;
                        while got < total {
                            let r = c.read(&mut buf).await.unwrap();
                            assert!(r > 0, "the writer ended early");
                            got += r;
                        }
                        Instant::now()
                    })
                })
                .collect();
            let mut last = None;
            for t in tasks {
                let done = t.await.unwrap();
                last = Some(last.map_or(done, |l: Instant| l.max(done)));
            }
            last.unwrap()
        })
    });
    let batches = Arc::new(batches.to_vec());
    // Kept alive until the readers are done: its workers run the writing tasks.
    let writers = runtime();
    let (t0, tasks) = writers.block_on(async move {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let mut conns = Vec::new();
        for _ in 0..SUBSCRIBERS {
            conns.push(listener.accept().await.unwrap().0);
        }
        let t0 = (Instant::now(), cpu());
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                let batches = batches.clone();
                tokio::spawn(async move {
                    for b in batches.iter() {
                        c.write_all(b).await.unwrap();
                    }
                    // Kept open until the reader has it all.
                    let mut end = [0u8; 1];
                    let _ = c.read(&mut end).await;
                })
            })
            .collect();
        (t0, tasks)
    });
    let last = readers.join().unwrap();
    let cpu_us = per_event(t0.1, n);
    drop(tasks);
    writers.shutdown_background();
    (n as f64 / (last - t0.0).as_secs_f64(), cpu_us)
}

/// The ceiling: the same frames in the same batches from a plain actix-web handler, no byoc.
async fn ceiling(batches: Vec<Bytes>, kinds: Arc<Vec<String>>) -> (f64, f64, bool, usize) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let n = kinds.len();
    let go = Arc::new(tokio::sync::watch::channel(false));
    let batches = Arc::new(batches);
    let (g, b) = (go.clone(), batches.clone());
    let server = HttpServer::new(move || {
        let (g, b) = (g.clone(), b.clone());
        App::new().route(
            "/events",
            web::get().to(move || {
                let (mut go, b) = (g.0.subscribe(), b.clone());
                async move {
                    let head = futures_util::stream::once(async move {
                        Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 3000\n\n"))
                    });
                    let body = futures_util::stream::once(async move {
                        let _ = go.wait_for(|g| *g).await;
                        futures_util::stream::iter(
                            b.iter()
                                .cloned()
                                .chain([Bytes::from_static(
                                    b"event: end\ndata: {\"status\":\"succeeded\"}\n\n",
                                )])
                                .map(Ok::<_, actix_web::Error>)
                                .collect::<Vec<_>>(),
                        )
                    });
                    use futures_util::StreamExt;
                    HttpResponse::Ok()
                        .insert_header(("Content-Type", "text/event-stream"))
                        .streaming(head.chain(body.flatten()))
                }
            }),
        )
    })
    // As many HTTP workers as `byoc serve` starts (actix's default: one per core).
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let connected = Arc::new(AtomicUsize::new(0));
    let subs = subscribers(
        format!("http://{addr}/events"),
        kinds,
        connected.clone(),
        None,
    );
    all_connected(&connected).await;
    let (t0, c0) = (Instant::now(), cpu());
    let _ = go.0.send(true);
    let seen = actix_web::rt::task::spawn_blocking(move || subs.join().unwrap())
        .await
        .unwrap();
    let cpu_us = per_event(c0, n);
    handle.stop(true).await;
    let (rate, _, complete, worst) = delivered(n, t0, &seen);
    (rate, cpu_us, complete, worst)
}

/// The whole pipeline: decode (in the replay executor), persist, fan out to 100 subscribers.
async fn whole(log: Vec<u8>, kinds: Arc<Vec<String>>) -> (f64, f64, Duration, f64, bool, usize) {
    let n = kinds.len();
    let go = Arc::new(Notify::new());
    let bench = start(Feed::Decode(Arc::new(log)), go.clone()).await;
    let connected = Arc::new(AtomicUsize::new(0));
    let subs = subscribers(bench.events_url(), kinds, connected.clone(), None);
    all_connected(&connected).await;
    let (t0, c0) = (Instant::now(), cpu());
    let t0_wall = chrono::Utc::now();
    go.notify_one();
    let finished = bench.finished().await;
    let persisted = (finished - t0_wall).to_std().unwrap_or_default();
    let seen = actix_web::rt::task::spawn_blocking(move || subs.join().unwrap())
        .await
        .unwrap();
    let cpu_us = per_event(c0, n);
    bench.stop().await;
    let (rate, took, complete, worst) = delivered(n, t0, &seen);
    (
        rate,
        cpu_us,
        took,
        n as f64 / persisted.as_secs_f64(),
        complete,
        worst,
    )
}

fn stage(report: &mut Report, what: &str, rate: f64, cpu_us: f64, extra: &str) {
    report.detail(format!(
        "  ingestion stage — {what}: {rate:.0} events/s, {cpu_us:.0} µs CPU/event{extra} (target {TARGET:.0}: {}; load {})",
        if rate >= TARGET { "met" } else { "MISSED" },
        load()
    ));
}

/// Whether stage `name` runs (`BENCH_INGEST_STAGES=decode,persist,ceiling,fanout,whole`, all
/// by default; the fan-out stages store the events first, as the persist stage does).
fn stage_wanted(name: &str) -> bool {
    std::env::var("BENCH_INGEST_STAGES")
        .map_or(true, |only| only.split(',').any(|s| s.trim() == name))
}

pub fn measure(n: usize, report: &mut Report) {
    let (log, kinds) = log_of(n);
    let n = kinds.len();
    let kinds = Arc::new(kinds);
    let per_event = log.len() as f64 / n as f64;
    report.detail(format!(
        "  ingestion: {n} events, {per_event:.0} bytes each on average in the log"
    ));
    if stage_wanted("decode") {
        let (rate, cpu_us) = decode_alone(&log, n);
        stage(report, "decode alone", rate, cpu_us, "");
    }
    actix_web::rt::System::new().block_on(async move {
        if ["persist", "ceiling", "fanout"].iter().any(|s| stage_wanted(s)) {
            let (rate, cpu_us, stored) = persist_alone(&log, n).await;
            stage(report, "persist alone (pre-decoded, no subscriber)", rate, cpu_us, "");
            if stage_wanted("ceiling") {
                let batches = frames(&stored);
                let bytes: usize = batches.iter().map(Bytes::len).sum();
                // Each batch handed to the HTTP encoder whole, then in 16 KiB slices (what
                // byoc does since session 6; see `SSE_PIECE`).
                // Its own runtimes, off this (actix) one.
                let (rate, cpu_us) =
                    std::thread::scope(|s| s.spawn(|| raw_tcp(&batches, n)).join().unwrap());
                stage(
                    report,
                    &format!("floor of the ceiling: raw TCP, same bytes, {SUBSCRIBERS} readers counting bytes"),
                    rate,
                    cpu_us,
                    &format!(
                        ", {:.2} GB/s",
                        rate * bytes as f64 * SUBSCRIBERS as f64 / n as f64 / 1e9
                    ),
                );
                for (how, piece) in [("whole batches", usize::MAX), ("16 KiB slices", 16 * 1024)] {
                    let (rate, cpu_us, complete, worst) =
                        ceiling(sliced(&batches, piece), kinds.clone()).await;
                    stage(
                        report,
                        &format!(
                            "ceiling: plain actix-web, same frames in {how}, {SUBSCRIBERS} subscribers"
                        ),
                        rate,
                        cpu_us,
                        &format!(
                            ", {:.2} GB/s of SSE ({:.0} bytes a frame); {}",
                            rate * bytes as f64 * SUBSCRIBERS as f64 / n as f64 / 1e9,
                            bytes as f64 / n as f64,
                            verdict(complete, worst)
                        ),
                    );
                }
            }
            if stage_wanted("fanout") {
                let (rate, cpu_us, complete, worst) = fan_out_alone(&stored, kinds.clone()).await;
                stage(
                    report,
                    &format!("fan-out alone (hub → {SUBSCRIBERS} byoc SSE streams)"),
                    rate,
                    cpu_us,
                    &format!("; {}", verdict(complete, worst)),
                );
            }
        }
        if !stage_wanted("whole") {
            return;
        }
        let (rate, cpu_us, took, persisted, complete, worst) = whole(log, kinds).await;
        report.row(
            &format!("event ingestion, {SUBSCRIBERS} SSE subscribers"),
            format!(
                "{rate:.0} events/s to all subscribers, {cpu_us:.0} µs CPU/event ({n} events in {:.2} s; persisted {persisted:.0} events/s meanwhile; load {}); {}",
                took.as_secs_f64(),
                load(),
                verdict(complete, worst)
            ),
            TARGET_TEXT,
            rate >= TARGET && complete,
        );
    });
}
