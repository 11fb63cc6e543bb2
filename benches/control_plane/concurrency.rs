//! Operations in flight on one `byoc worker` process: N tenants, N deploys queued, a worker
//! with `BYOC_WORKER_CONCURRENCY=N`, the stand-in sleeping in every step so each `up` stays
//! running. Counts the `up` processes alive at once (from the wrapper's record) and samples
//! the worker's own RSS from /proc (child processes are separate processes: not included).

use std::time::{Duration, Instant};

use crate::cluster::{Aws, Cluster, Pulumi, rss_kib, status_field};
use crate::report::Report;

/// The bench's own `GLIBC_TUNABLES` (malloc experiments: `glibc.malloc.arena_max=…`), passed
/// to the worker, whose environment is otherwise the cluster's.
pub fn tunables() -> Vec<(&'static str, String)> {
    std::env::var("GLIBC_TUNABLES")
        .ok()
        .map(|t| ("GLIBC_TUNABLES", t))
        .into_iter()
        .collect()
}

/// Whether a recorded CLI run is `pulumi up` (byoc puts global flags such as
/// `--non-interactive` before the command).
fn is_up(argv: &[String]) -> bool {
    argv.iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        == Some("up")
}

pub async fn measure(aws: &Aws, n: usize, patience: Duration, report: &mut Report) {
    let pulumi = Pulumi::new();
    // Every `up` is the wrapper itself, sleeping (see `wrap::sleeping_up`): the section
    // measures the worker, and 1,000 Python stand-ins (~19 MB each) do not fit. It sleeps
    // longer than the ramp-up can take; the bench kills what is left.
    let sleep_ms = (patience.as_millis() as u64 + 60_000).to_string();
    // At most 64 Python stand-ins (`stack init`, `config set`) at once, see
    // `wrap::standin_slot`.
    pulumi.knobs(&[
        ("BENCH_SLEEPING_UP_MS", sleep_ms.as_str()),
        ("BENCH_STANDIN_SLOTS", "64"),
    ]);
    let cluster = Cluster::new(aws, &pulumi);
    let _api = cluster.spawn(&["serve"], &[("BYOC_WORKER_CONCURRENCY", "0")], "serve.log");
    cluster.wait_ready(Duration::from_secs(60)).await;
    let slugs: Vec<String> = (0..n).map(|i| format!("t{i:04}")).collect();
    for s in &slugs {
        cluster.onboard(s).await;
    }
    for s in &slugs {
        cluster.queue(s, "deploy").await;
    }
    let started = Instant::now();
    let concurrency = n.to_string();
    let tunables = tunables();
    let mut env = vec![
        ("BYOC_WORKER_CONCURRENCY", concurrency.as_str()),
        ("BYOC_POLL_MILLIS", "200"),
        // Leases are renewed by the worker; a long operation timeout keeps every run alive.
        ("BYOC_LEASE_SECONDS", "120"),
    ];
    env.extend(tunables.iter().map(|(k, v)| (*k, v.as_str())));
    let worker = cluster.spawn(&["worker"], &env, "worker.log");
    let pid = worker.pid();
    let (mut peak, mut peak_at, mut rss_at_peak, mut rss_max, mut threads_max) =
        (0usize, Duration::ZERO, 0u64, 0u64, 0u64);
    // The RSS at the peak split: anonymous (heap, stacks) and file-backed (the binary).
    let (mut anon_at_peak, mut file_at_peak) = (0u64, 0u64);
    let mut last_rise = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let record = pulumi.record();
        let ups = record
            .running
            .iter()
            .filter(|(argv, _)| is_up(argv))
            .count();
        let rss = rss_kib(pid).unwrap_or(0);
        rss_max = rss_max.max(rss);
        threads_max = threads_max.max(status_field(pid, "Threads:"));
        if ups > peak {
            (peak, peak_at, rss_at_peak) = (ups, started.elapsed(), rss);
            anon_at_peak = status_field(pid, "RssAnon:");
            file_at_peak = status_field(pid, "RssFile:");
            last_rise = Instant::now();
        }
        let failed = record.runs.iter().filter(|r| is_up(&r.argv)).count();
        // No rise for 30 s ends the ramp-up, once one has begun: before the first `up`, every
        // operation is still in its first CLI calls (`stack init`, `config set`), N Python
        // start-ups at once on two cores.
        let stalled = peak > 0 && last_rise.elapsed() > Duration::from_secs(30);
        if ups >= n || stalled || started.elapsed() > patience {
            if failed > 0 {
                report.detail(format!(
                    "  {failed} `up` processes ended early (see worker.log)"
                ));
            }
            break;
        }
    }
    let errors = cluster
        .log("worker.log")
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .count();
    report.row(
        &format!("operations in flight on one worker (N={n})"),
        format!(
            "{peak} `up` processes at once after {:.0} s; worker RSS {:.1} MB then ({:.1} anonymous, {:.1} file-backed), {:.1} MB max, {threads_max} threads, {errors} error log lines",
            peak_at.as_secs_f64(),
            rss_at_peak as f64 / 1024.0,
            anon_at_peak as f64 / 1024.0,
            file_at_peak as f64 / 1024.0,
            rss_max as f64 / 1024.0
        ),
        "≥ 1,000, RSS ≤ 150 MB",
        peak >= 1000 && rss_max <= 150 * 1024,
    );
    drop(worker);
    pulumi.kill_running();
    // Wrappers whose stand-in was killed exit; a second sweep catches late starters.
    tokio::time::sleep(Duration::from_millis(500)).await;
    pulumi.kill_running();
}
