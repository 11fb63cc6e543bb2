//! CLI processes per operation and the control plane's own time around them, on `byoc serve`
//! with one embedded worker driving the stand-in through the timing wrapper.
//!
//! Per operation, from the server's own timestamps (`created_at` at enqueue, `finished_at`
//! when the outcome is recorded) and the wrapper's record of each CLI process:
//! enqueue → first CLI start, the gaps between one CLI exit and the next start, and last exit
//! → recorded. Their sum is the control plane's time; the CLI's own time is excluded.

use crate::cluster::{Cluster, Operation, Pulumi};
use crate::report::{Report, ms, percentile};
use crate::wrap::CliRun;

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
    for _ in 0..n {
        let (op, runs) = run_one(cluster, pulumi, "acme", "deploy").await;
        let (b, m, a) = overhead(&op, &runs);
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
}
