//! Cold start: `byoc serve` spawned → first 200 from `/ready` (polled every millisecond on a
//! fresh connection), on a new data directory (migrations, master key, first token) and again
//! on the existing one; then the idle RSS after two quiet seconds. The server probes
//! `pulumi version` once at start (here: wrapper + Python stand-in).
//!
//! The RSS is `VmRSS` of the server process alone (the probe is another process), split into
//! anonymous memory (heap, stacks, relocated data: the process's own) and file-backed pages
//! (the binary's and the libraries' code and read-only data, shared with the page cache: how
//! much of it a process maps depends on how the file sits in the page cache — a binary the
//! linker just wrote maps more than one read back from disk, BENCHMARKS.md, session 8).

use std::time::{Duration, Instant};

use crate::cluster::{Aws, Cluster, Pulumi, rss_kib, status_field};
use crate::report::{Report, ms, percentile};

pub async fn measure(aws: &Aws, runs: usize, report: &mut Report) {
    let pulumi = Pulumi::new();
    let cluster = Cluster::new(aws, &pulumi);
    let tunables = crate::concurrency::tunables();
    let env: Vec<(&str, &str)> = tunables.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The existing directory: initialised once before the measured restarts.
    let first = cluster.spawn(&["serve"], &[], "serve-init.log");
    cluster.wait_ready(Duration::from_secs(60)).await;
    drop(first);
    let (mut fresh, mut warm, mut rss) = (vec![], vec![], vec![]);
    let (mut anon, mut file, mut threads) = (vec![], vec![], vec![]);
    let mut fresh_dirs = Vec::new();
    for i in 0..runs {
        // A new data directory each time for the first measure.
        let c = Cluster::new(aws, &pulumi);
        let t = Instant::now();
        let p = c.spawn(&["serve"], &env, "serve.log");
        let ready = c.wait_ready(Duration::from_secs(60)).await;
        fresh.push((ready - t).as_micros() as i64);
        drop(p);
        fresh_dirs.push(c);
        let t = Instant::now();
        let p = cluster.spawn(&["serve"], &env, &format!("serve-{i}.log"));
        let ready = cluster.wait_ready(Duration::from_secs(60)).await;
        warm.push((ready - t).as_micros() as i64);
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss.push(rss_kib(p.pid()).unwrap_or(0) as i64);
        anon.push(status_field(p.pid(), "RssAnon:") as i64);
        file.push(status_field(p.pid(), "RssFile:") as i64);
        threads.push(status_field(p.pid(), "Threads:") as i64);
        drop(p);
    }
    let mut probe: Vec<i64> = pulumi
        .record()
        .runs
        .iter()
        .map(|r| r.end_us - r.start_us)
        .collect();
    let p50 = |v: &mut Vec<i64>| percentile(v, 50.0);
    let (f, w) = (p50(&mut fresh), p50(&mut warm));
    report.row(
        "cold start to ready",
        format!(
            "new data dir {} (max {}), existing {} (max {}); of which `pulumi version` {} (n={runs})",
            ms(f),
            ms(*fresh.iter().max().unwrap()),
            ms(w),
            ms(*warm.iter().max().unwrap()),
            ms(p50(&mut probe)),
        ),
        "≤ 100 ms",
        f <= 100_000 && w <= 100_000,
    );
    let idle = p50(&mut rss);
    report.row(
        "idle RSS (byoc serve, embedded workers)",
        format!(
            "{:.1} MB ({:.1} anonymous, {:.1} file-backed; {} threads; p50 of each, n={runs})",
            idle as f64 / 1024.0,
            p50(&mut anon) as f64 / 1024.0,
            p50(&mut file) as f64 / 1024.0,
            p50(&mut threads),
        ),
        "≤ 25 MB",
        idle <= 25 * 1024,
    );
}
