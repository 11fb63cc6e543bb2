//! Control-plane benchmarks of issue 16: every row of its table, measured on this machine
//! against the pulumi stand-in, each figure printed next to its target. Real processes on
//! loopback (`byoc serve`, `byoc worker`, moto, the stand-in) except the event-ingestion row,
//! which runs the server from the library in this process with a replay executor.
//!
//! Run: `scripts/bench` (or `cargo bench --bench control_plane`). Knobs (environment):
//! `BENCH_ONLY=ops,api,inflight,ingest,cold,db` (sections; `db`: issue 15, `database.rs`, needs
//! the PostgreSQL server of `BYOC_TEST_POSTGRES_URL`; `BENCH_DB_OPS` 1000, `BENCH_DB_API_SECS` 5), `BENCH_OPS` (day-2 updates timed, 30),
//! `BENCH_API_SECS` (per endpoint and mode, 5), `BENCH_API_MODES` (`closed,open`, see
//! `api_load.rs`), `BENCH_API_RATE` (the open loop's req/s, 15000), `BENCH_API_BATCH_US` (its
//! pacer's batching, 0), `BENCH_API_ONLY` (`floor,tenant,config,status`), `BENCH_INFLIGHT`
//! (operations, 1000),
//! `BENCH_INFLIGHT_SECS` (ramp-up patience, 600), `BENCH_EVENTS` (20000), `BENCH_COLD_RUNS` (5),
//! `BENCH_API_ADDR` (only the API rows, against a server already running there),
//! `BENCH_WRAPPER=bench` (the bench binary as the ops section's timing wrapper, not the small
//! one), `BENCH_BYOC_BIN` (another byoc build to run, e.g. to compare two commits).
//!
//! Also the timing wrapper around the stand-in: see `wrap.rs`.

#[path = "../../tests/support/moto.rs"]
mod moto;
#[path = "../../tests/support/poll.rs"]
mod poll;

mod api_load;
mod cluster;
mod coldstart;
mod concurrency;
mod database;
mod http;
mod ingest;
mod loadgen;
mod operations;
mod report;
mod wrap;

use std::time::Duration;

use cluster::{Aws, Cluster, Pulumi};
use report::Report;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wanted(section: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) => only.split(',').any(|s| s.trim() == section),
        Err(_) => true,
    }
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} CPUs ({cpu}), {}, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem.split_whitespace().skip(1).collect::<Vec<_>>().join(" "),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    if let Some(code) = wrap::maybe_run() {
        std::process::exit(code);
    }
    machine();
    let mut report = Report::default();
    if let Ok(addr) = std::env::var("BENCH_API_ADDR") {
        // Only the API rows, against a server already running (e.g. the same server `wrk`
        // loads, to compare the two generators): outside the bench's own cluster there is no
        // tenant `acme` and no bench token, so only the floor (`BENCH_API_ONLY=floor`) is 200.
        let addr = addr.parse().expect("BENCH_API_ADDR: host:port");
        api_load::measure(addr, knob("BENCH_API_SECS", 5) as u64, &mut report);
        report.print();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // moto only for the sections that call AWS (event ingestion does not: its Python would
    // only compete for the two cores).
    let needs_aws = ["ops", "api", "inflight", "db", "cold"]
        .iter()
        .any(|s| wanted(s));
    let moto = needs_aws.then(|| rt.block_on(Aws::start()));
    let aws = || moto.as_ref().expect("moto started for this section");
    if wanted("ops") || wanted("api") {
        // `BENCH_WRAPPER=bench`: the bench binary as the timing wrapper (before session 6).
        let pulumi = match std::env::var("BENCH_WRAPPER").as_deref() {
            Ok("bench") => Pulumi::new(),
            _ => Pulumi::small(),
        };
        let cluster = Cluster::new(aws(), &pulumi);
        // The `byoc::timing` marks give the operations section its step-by-step breakdown.
        let env = [
            ("BYOC_WORKER_CONCURRENCY", "1"),
            ("RUST_LOG", "warn,byoc::timing=debug"),
        ];
        let _serve = cluster.spawn(&["serve"], &env, "serve.log");
        rt.block_on(cluster.wait_ready(Duration::from_secs(60)));
        if wanted("ops") {
            println!("CLI processes and control-plane time per operation…");
            rt.block_on(operations::measure(
                &cluster,
                &pulumi,
                knob("BENCH_OPS", 30),
                &mut report,
            ));
        } else {
            rt.block_on(cluster.onboard("acme"));
        }
        if wanted("api") {
            println!("API GETs…");
            api_load::measure(cluster.addr, knob("BENCH_API_SECS", 5) as u64, &mut report);
        }
    }
    if wanted("inflight") {
        let n = knob("BENCH_INFLIGHT", 1000);
        println!("operations in flight on one worker (N={n})…");
        let patience = Duration::from_secs(knob("BENCH_INFLIGHT_SECS", 600) as u64);
        rt.block_on(concurrency::measure(aws(), n, patience, &mut report));
    }
    if wanted("ingest") {
        println!("event ingestion…");
        ingest::measure(knob("BENCH_EVENTS", 20_000), &mut report);
    }
    if wanted("db") {
        println!("the queue on PostgreSQL and SQLite, API GETs on both (issue 15)…");
        database::measure(
            aws(),
            knob("BENCH_DB_OPS", 1000),
            knob("BENCH_DB_API_SECS", 5) as u64,
            &mut report,
        );
    }
    if wanted("cold") {
        println!("cold start…");
        rt.block_on(coldstart::measure(
            aws(),
            knob("BENCH_COLD_RUNS", 5),
            &mut report,
        ));
    }
    drop(moto);
    report.print();
}
