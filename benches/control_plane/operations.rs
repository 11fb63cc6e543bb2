//! CLI processes per operation and the control plane's own time around them, on `byoc serve`
//! with one embedded worker driving the stand-in through the timing wrapper.
//!
//! Per operation, from the server's own timestamps (`created_at` at enqueue, `finished_at`
//! when the outcome is recorded) and the wrapper's record of each CLI process:
//! enqueue → first CLI start, the gaps between one CLI exit and the next start, and last exit
//! → recorded. Their sum is the control plane's time; the CLI's own time is excluded.
//!
//! Then, step by step: the server logs a `byoc::timing` mark at each step of an operation's
//! path (`RUST_LOG=byoc::timing=debug`: woken, claimed (with the job read), task started, rendered, workspace ready,
//! each CLI's spawn / spawned / exited / captured, log read, settings read, outputs read, run
//! returned, events stored, recorded); with the wrapper's marks (its `main` entered, the
//! stand-in started and ended) they give each interval's p50 and p99 over the day-2 updates.

use std::collections::BTreeMap;

use crate::cluster::{Cluster, Operation, Pulumi};
use crate::report::{Report, ms, percentile};
use crate::wrap::CliRun;

/// One `byoc::timing` mark of the server's log: (realtime µs, step).
type Mark = (i64, String);

/// The server's timing marks, in log order.
fn server_marks(log: &str) -> Vec<Mark> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "byoc::timing")
        .filter_map(|v| {
            let t = chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str()?).ok()?;
            Some((t.timestamp_micros(), v["step"].as_str()?.to_owned()))
        })
        .collect()
}

/// The ordered marks of one operation: enqueue, the server's steps and the wrapper's until
/// `until` (the next operation's enqueue: the `recorded` mark follows the commit, after the
/// `finished_at` stamped inside it), `finished_at` among them. CLI marks are numbered
/// (`spawn 1`, `CLI start 1`, …, `spawn 2`, …) so the same step of each operation lines up.
fn timeline(op: &Operation, runs: &[CliRun], marks: &[Mark], until: i64) -> Vec<(String, i64)> {
    let created = op.created_at.timestamp_micros();
    let finished = op.finished_at.unwrap().timestamp_micros();
    let mut all: Vec<(i64, String)> = marks
        .iter()
        .filter(|(t, _)| *t >= created && *t < until)
        .cloned()
        .collect();
    all.push((finished, "finished_at".into()));
    for r in runs {
        if let Some(e) = r.entered_us {
            all.push((e, "wrapper main".into()));
        }
        all.push((r.start_us, "CLI start".into()));
        all.push((r.end_us, "CLI end".into()));
    }
    // Stable: a server mark and a wrapper mark with the same µs keep the log's order.
    all.sort_by_key(|(t, _)| *t);
    let mut cli = 0;
    let mut out = vec![("enqueued".to_owned(), created)];
    for (t, step) in all {
        if step == "spawn" {
            cli += 1;
        }
        let numbered = [
            "spawn",
            "spawned",
            "wrapper main",
            "CLI start",
            "CLI end",
            "exited",
            "captured",
        ];
        let label = match numbered.contains(&step.as_str()) {
            true => format!("{step} {cli}"),
            false => step,
        };
        out.push((label, t));
    }
    out
}

/// p50 / p99 of each interval between consecutive steps, in the order the first update went
/// through them (each step's first mark after the enqueue). The parent's `spawned` and the
/// child's first marks race, so an interval may be negative for some updates; a step an update
/// lacks leaves out only the intervals next to it.
fn breakdown(timelines: &[Vec<(String, i64)>], report: &mut Report) {
    let Some(first) = timelines.first() else {
        return;
    };
    let mut order: Vec<&str> = Vec::new();
    for (label, _) in first {
        if !order.contains(&label.as_str()) {
            order.push(label);
        }
    }
    let firsts: Vec<BTreeMap<&str, i64>> = timelines
        .iter()
        .map(|t| {
            let mut m = BTreeMap::new();
            for (label, at) in t {
                m.entry(label.as_str()).or_insert(*at);
            }
            m
        })
        .collect();
    report.detail(format!(
        "  step by step over {} updates (p50 / p99 since the previous step):",
        timelines.len()
    ));
    for w in order.windows(2) {
        let mut gaps: Vec<i64> = firsts
            .iter()
            .filter_map(|m| Some(m.get(w[1])? - m.get(w[0])?))
            .collect();
        report.detail(format!(
            "    {:>20} → {:<20} p50 {:>8}  p99 {:>8}  (n={})",
            w[0],
            w[1],
            ms(percentile(&mut gaps, 50.0)),
            ms(percentile(&mut gaps, 99.0)),
            gaps.len()
        ));
    }
}

/// The CLI runs inside an operation's lifetime (the server's clock and the wrapper's agree:
/// both are the realtime clock of this machine).
fn runs_of(op: &Operation, pulumi: &Pulumi) -> Vec<CliRun> {
    let (from, to) = (
        op.created_at.timestamp_micros(),
        op.finished_at.expect("finished").timestamp_micros(),
    );
    let mut runs: Vec<CliRun> = pulumi
        .record()
        .runs
        .into_iter()
        .filter(|r| r.start_us >= from && r.end_us <= to)
        .collect();
    runs.sort_by_key(|r| r.start_us);
    runs
}

fn names(runs: &[CliRun]) -> String {
    runs.iter()
        .map(|r| {
            r.argv
                .iter()
                .filter(|a| !a.starts_with('-'))
                .take(2)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Control-plane time of one operation, in µs: (before first CLI, between CLIs, after last).
fn overhead(op: &Operation, runs: &[CliRun]) -> (i64, i64, i64) {
    let created = op.created_at.timestamp_micros();
    let finished = op.finished_at.unwrap().timestamp_micros();
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return (finished - created, 0, 0);
    };
    let between: i64 = runs
        .windows(2)
        .map(|w| (w[1].start_us - w[0].end_us).max(0))
        .sum();
    (first.start_us - created, between, finished - last.end_us)
}

async fn run_one(
    cluster: &Cluster,
    pulumi: &Pulumi,
    slug: &str,
    action: &str,
) -> (Operation, Vec<CliRun>) {
    let id = cluster.queue(slug, action).await;
    let op = cluster.finished(&id).await;
    assert_eq!(op.status, "succeeded", "{action} failed: {:?}", op.error);
    let runs = runs_of(&op, pulumi);
    (op, runs)
}

/// Measures, then leaves the cluster running (the API load reuses it).
pub async fn measure(cluster: &Cluster, pulumi: &Pulumi, n: usize, report: &mut Report) {
    cluster.onboard("acme").await;
    let (_, first) = run_one(cluster, pulumi, "acme", "deploy").await;
    report.row(
        "CLI processes: first deploy",
        format!("{} ({})", first.len(), names(&first)),
        "≤ 4",
        first.len() <= 4,
    );
    let (_, preview) = run_one(cluster, pulumi, "acme", "preview").await;
    report.row(
        "CLI processes: preview",
        format!("{} ({})", preview.len(), names(&preview)),
        "≤ 2",
        preview.len() <= 2,
    );
    let mut counts = Vec::new();
    let (mut totals, mut befores, mut betweens, mut afters) = (vec![], vec![], vec![], vec![]);
    let mut sample = String::new();
    let mut ended = Vec::new();
    for _ in 0..n {
        let (op, runs) = run_one(cluster, pulumi, "acme", "deploy").await;
        let (b, m, a) = overhead(&op, &runs);
        ended.push((op, runs.clone()));
        counts.push(runs.len());
        sample = names(&runs);
        befores.push(b);
        betweens.push(m);
        afters.push(a);
        totals.push(b + m + a);
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    report.row(
        "CLI processes: day-2 update",
        format!("{max} ({sample}), max over {n}"),
        "≤ 2",
        max <= 2,
    );
    let p = |v: &mut Vec<i64>, q: f64| percentile(v, q);
    let (p50, p99) = (p(&mut totals, 50.0), p(&mut totals, 99.0));
    report.row(
        "control-plane time per day-2 update (total)",
        format!("p50 {} / p99 {} (n={n})", ms(p50), ms(p99)),
        "p50 ≤ 5 ms, p99 ≤ 20 ms",
        p50 <= 5_000 && p99 <= 20_000,
    );
    report.detail(format!(
        "  enqueue → first CLI start: p50 {} p99 {}; between CLI calls (sum): p50 {} p99 {}; last exit → recorded: p50 {} p99 {}",
        ms(p(&mut befores, 50.0)),
        ms(p(&mut befores, 99.0)),
        ms(p(&mut betweens, 50.0)),
        ms(p(&mut betweens, 99.0)),
        ms(p(&mut afters, 50.0)),
        ms(p(&mut afters, 99.0)),
    ));
    let marks = server_marks(&cluster.log("serve.log"));
    let timelines: Vec<_> = ended
        .iter()
        .enumerate()
        .map(|(i, (op, runs))| {
            let until = ended
                .get(i + 1)
                .map_or(i64::MAX, |(next, _)| next.created_at.timestamp_micros());
            timeline(op, runs, &marks, until)
        })
        .collect();
    breakdown(&timelines, report);
}
