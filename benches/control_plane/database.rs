//! Issue 15's figures (`BENCH_ONLY=db`): the queue on PostgreSQL with 3 workers and 1,000
//! queued operations, and API GET latency on SQLite and on PostgreSQL.
//!
//! The queue is measured at the store, without an engine: 3 threads, each with a connection of
//! its own (as 3 `byoc worker` processes have), run byoc's own transitions — `claim` (one
//! `UPDATE … FOR UPDATE SKIP LOCKED` on PostgreSQL), then `finish` — on operations of distinct
//! stacks. So the figures are the queue's overhead per operation, not a deploy's duration.
//! - drain: 1,000 operations queued first, then the 3 workers start: claims (+ finishes) per
//!   second.
//! - burst: the 3 workers idle (polling the queue, as a worker does between NOTIFY wake-ups),
//!   then 1,000 operations are enqueued one after the other from a 4th connection (the API):
//!   enqueue → start latency of each (`started_at − created_at`, both stamped by byoc).
//!
//! API GETs: a real `byoc serve` per backend (32 keep-alive connections, like `api_load.rs`).
//! PostgreSQL databases are scratch ones (`byoc_t_<random>`) on `BYOC_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use byoc::domain::{EnvName, OperationKind, OperationStatus, Slug};
use byoc::store::queue::{self, Ending, Enqueue};
use byoc::store::scratch::ScratchDatabase;
use byoc::store::{self, DatabaseUrl, DbPool, schema::operations as ops};
use diesel::prelude::*;

use crate::cluster::{Aws, Cluster, Pulumi, TOKEN};
use crate::http::get_request;
use crate::loadgen::{self, Mode};
use crate::report::{Report, percentile};

const WORKERS: usize = 3;
const CONNECTIONS: usize = 32;
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn measure(aws: &Aws, operations: usize, api_secs: u64, report: &mut Report) {
    for backend in ["PostgreSQL", "SQLite"] {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch(backend, dir.path());
        let pool = setup(db.url());
        let drain = drain(db.url(), &pool, operations);
        report.detail(format!(
            "- queue, {backend}, {WORKERS} workers, {operations} operations queued first: \
             {:.0} claims/s (claim + finish each; drained in {:.2} s)",
            operations as f64 / drain.as_secs_f64(),
            drain.as_secs_f64()
        ));
        let (elapsed, mut latencies) = burst(db.url(), &pool, operations);
        report.detail(format!(
            "- queue, {backend}, {WORKERS} idle workers, {operations} operations enqueued in a \
             burst: enqueue → start p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
             all started and finished in {:.2} s",
            ms(percentile(&mut latencies, 50.0)),
            ms(percentile(&mut latencies, 95.0)),
            ms(percentile(&mut latencies, 99.0)),
            ms(percentile(&mut latencies, 100.0)),
            elapsed.as_secs_f64()
        ));
    }
    for backend in ["SQLite", "PostgreSQL"] {
        api_gets(aws, backend, api_secs, report);
    }
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

fn scratch(backend: &str, dir: &std::path::Path) -> ScratchDatabase {
    if backend == "PostgreSQL" {
        ScratchDatabase::postgres().expect("a PostgreSQL server (BYOC_TEST_POSTGRES_URL)")
    } else {
        ScratchDatabase::sqlite(dir)
    }
}

/// Migrates the database and adds tenant `acme`.
fn setup(url: &DatabaseUrl) -> DbPool {
    let pool = store::connect(url, 2).unwrap();
    let mut conn = pool.get().unwrap();
    store::migrate(&mut conn).unwrap();
    store::scratch::insert_acme(&mut conn).unwrap();
    drop(conn);
    pool
}

/// Queues a deploy of `acme/<env>`.
fn enqueue(conn: &mut store::Conn, env: &str) {
    let (slug, env) = (Slug::parse("acme").unwrap(), EnvName::parse(env).unwrap());
    queue::enqueue(
        conn,
        &Enqueue {
            slug: &slug,
            env: &env,
            kind: OperationKind::Update,
            config_version: 1,
            requested_by: "bench",
            if_idle: false,
        },
    )
    .unwrap();
}

/// Runs `WORKERS` threads claiming and finishing until `stop` is set and nothing is left;
/// returns how many each finished.
fn run_workers(url: &DatabaseUrl, stop: &AtomicBool) -> usize {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                s.spawn(move || {
                    // A connection of its own, as a worker process has.
                    let pool = store::connect(url, 1).unwrap();
                    let mut conn = pool.get().unwrap();
                    let worker = format!("bench-{w}");
                    let mut done = 0;
                    loop {
                        let until = store::now() + chrono::Duration::seconds(60);
                        match queue::claim(&mut conn, &worker, "bench", until).unwrap() {
                            Some(c) => {
                                let ending = Ending {
                                    status: OperationStatus::Succeeded,
                                    error: None,
                                    summary: None,
                                    outputs: None,
                                };
                                queue::finish(&mut conn, &c.lease, &ending).unwrap();
                                done += 1;
                            }
                            None if stop.load(Ordering::Acquire) => return done,
                            // Idle: what a worker does between wake-ups, at a 1 ms poll.
                            None => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// Queues `n` deploys of distinct stacks, then times 3 workers draining them.
fn drain(url: &DatabaseUrl, pool: &DbPool, n: usize) -> Duration {
    let mut conn = pool.get().unwrap();
    for i in 0..n {
        enqueue(&mut conn, &format!("drain{i}"));
    }
    drop(conn);
    let stop = AtomicBool::new(true);
    let start = Instant::now();
    let done = run_workers(url, &stop);
    assert_eq!(done, n, "every queued operation claimed once");
    start.elapsed()
}

/// Starts idle workers, enqueues `n` deploys one after the other, and reads each one's
/// enqueue → start latency from the rows.
fn burst(url: &DatabaseUrl, pool: &DbPool, n: usize) -> (Duration, Vec<i64>) {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers = s.spawn(|| run_workers(url, &stop));
        let mut conn = pool.get().unwrap();
        for i in 0..n {
            enqueue(&mut conn, &format!("burst{i}"));
        }
        stop.store(true, Ordering::Release);
        workers.join().unwrap();
    });
    let elapsed = start.elapsed();
    let mut conn = pool.get().unwrap();
    let rows: Vec<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = ops::table
        .filter(ops::stack_name.like("acme-burst%"))
        .select((ops::created_at, ops::started_at))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(rows.len(), n);
    let latencies = rows
        .into_iter()
        .map(|(created, started)| {
            (started.expect("every operation started") - created)
                .num_microseconds()
                .unwrap()
        })
        .collect();
    (elapsed, latencies)
}

/// `byoc serve` on `backend`, tenant `acme` with a `prod` config, then GET tenant / config /
/// the environments list for `secs` each after a one-second warm-up.
fn api_gets(aws: &Aws, backend: &str, secs: u64, report: &mut Report) {
    let dir = tempfile::tempdir().unwrap();
    let db = scratch(backend, dir.path());
    let pulumi = Pulumi::new();
    let cluster = Cluster::new(aws, &pulumi);
    let mut extra = vec![("BYOC_WORKER_CONCURRENCY", "0"), ("RUST_LOG", "warn")];
    let url = match db.url() {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(_) => String::new(),
    };
    if !url.is_empty() {
        extra.push(("BYOC_DATABASE_URL", &url));
        extra.push(("BYOC_MASTER_KEY", MASTER_KEY));
    }
    let _serve = cluster.spawn(&["serve"], &extra, "serve.log");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        cluster.wait_ready(Duration::from_secs(60)).await;
        cluster.onboard("acme").await;
    });
    for (name, path) in [
        ("tenant", "/api/v1/tenants/acme"),
        ("config", "/api/v1/tenants/acme/environments/prod/config"),
        ("environments", "/api/v1/environments"),
    ] {
        let request = get_request(cluster.addr, path, TOKEN);
        let run = |secs| {
            let mode = Mode::Closed {
                duration: Duration::from_secs(secs),
            };
            loadgen::run(cluster.addr, &request, CONNECTIONS, mode).expect("load")
        };
        run(1);
        let mut l = run(secs);
        report.detail(format!(
            "- API GET {name}, {backend}, {CONNECTIONS} connections: {:.0} req/s, p50 {:.2} ms, \
             p99 {:.2} ms, {} errors",
            l.rate(),
            ms(percentile(&mut l.latencies_us, 50.0)),
            ms(percentile(&mut l.latencies_us, 99.0)),
            l.errors,
        ));
    }
}
