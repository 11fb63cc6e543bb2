//! A lease lost while the CLI still runs (12.4), with real processes: worker A's update is
//! frozen (SIGSTOP) past its lease while its `pulumi` keeps running; worker B takes the
//! operation over; then A is thawed (SIGCONT). A must notice the loss by its own clock, kill
//! its CLI and store nothing more; B must not clear the stack lock while A's CLI lives. The
//! stand-in records any second engine on the stack (`PULUMI_STANDIN_VIOLATIONS`).

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::crash::{Cluster, PATIENCE, api_with_a_slow_stack};
use crate::harness::{Aws, Pulumi};
use crate::poll::eventually;
use crate::routes::{Event, EventPage};

/// Every stored event of operation `id`, in order.
async fn events(cluster: &Cluster, id: &str) -> Vec<Event> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page: EventPage = cluster
            .get(&format!(
                "/api/v1/operations/{id}/events?after={after}&limit=1000"
            ))
            .await;
        if page.events.is_empty() {
            return all;
        }
        after = page.next_after;
        all.extend(page.events);
    }
}

/// JSON log lines of `log` whose message is `message`.
fn logged(cluster: &Cluster, log: &str, message: &str) -> usize {
    cluster
        .log(log)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == message || l["message"] == message)
        .count()
}

#[actix_web::test]
async fn a_lost_lease_stores_nothing_more_and_never_lets_two_engines_run_on_the_stack() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let (cluster, _api, started) = api_with_a_slow_stack(&aws, &pulumi).await;
    let violations = pulumi.dir.path().join("violations.jsonl");
    // Slow enough that A's CLI is still mid-update when B takes over (lease: 2 s).
    pulumi.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "400"),
        ("PULUMI_STANDIN_STARTED", started.to_str().unwrap()),
        ("PULUMI_STANDIN_VIOLATIONS", violations.to_str().unwrap()),
    ]);

    let a = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let id = cluster.deploy().await;
    eventually("A's update to hold the stack lock", PATIENCE, async || {
        started.exists().then_some(())
    })
    .await;
    // B starts only now, so A is the one running the operation.
    let _b = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-b.log",
    );
    let a_pid = Pid::from_raw(a.0.id() as i32);
    kill(a_pid, Signal::SIGSTOP).unwrap();
    // B takes the expired lease over and waits the time a live worker needs to kill its CLI;
    // A is frozen past that, so only the lock file (its holder's pid still alive) holds B off.
    eventually(
        "B to wait for the lock's live holder",
        PATIENCE,
        async || {
            let waiting = "the stack lock's holder is still running; waiting for it to stop";
            (logged(&cluster, "worker-b.log", waiting) > 0).then_some(())
        },
    )
    .await;
    // What A stored while it held the lease; A is frozen, so nothing more can be its.
    let before = events(&cluster, &id).await;
    let last_before = before.last().map_or(0, |e| e.seq);
    assert!(
        !cluster.locks().is_empty(),
        "A's CLI still runs and holds the lock when A wakes up"
    );
    kill(a_pid, Signal::SIGCONT).unwrap();
    // Attempt 2 need not be slow; the detector stays on.
    pulumi.knobs(&[("PULUMI_STANDIN_VIOLATIONS", violations.to_str().unwrap())]);

    let op = cluster.finished(&id).await;
    let logs = format!(
        "A:\n{}\nB:\n{}",
        cluster.log("worker-a.log"),
        cluster.log("worker-b.log")
    );
    assert_eq!(op.status, "succeeded", "{op:?}\n{logs}");
    assert_eq!(op.attempt, 2, "{op:?}");

    // Never two engines on the stack.
    let seen = std::fs::read_to_string(&violations).unwrap_or_default();
    assert!(
        seen.is_empty(),
        "two engines ran on the stack: {seen}\n{logs}"
    );

    // Nothing of A's attempt after the loss: every event after the snapshot is B's recovery
    // note, then the runs of attempt 2, each an engine stream numbered 0, 1, 2… (an event of
    // A's run, which was past 0, would break a run's numbering).
    let all = events(&cluster, &id).await;
    let after: Vec<&Event> = all.iter().filter(|e| e.seq > last_before).collect();
    let first = after.first().expect("events after the takeover");
    assert!(
        first.kind.starts_with("byoc.recovery"),
        "the first event after the loss is the recovery's: {first:?}"
    );
    let mut next: Option<i64> = None;
    for e in after.iter().filter(|e| !e.kind.starts_with("byoc.")) {
        let sequence = e.payload["sequence"].as_i64().expect("an engine sequence");
        match next {
            _ if sequence == 0 => {}
            Some(n) => assert_eq!(sequence, n, "an event out of its run: {e:?}"),
            None => panic!("an engine event before any run of attempt 2 started: {e:?}"),
        }
        next = Some(sequence + 1);
    }
    assert!(
        after.iter().any(|e| e.kind == "summaryEvent"),
        "attempt 2's update ran"
    );

    // The operation ended once, by attempt 2: A stopped at once and recorded no result.
    assert_eq!(
        logged(
            &cluster,
            "worker-a.log",
            "lease lost: the operation belongs to its new holder; nothing recorded"
        ),
        1,
        "{logs}"
    );
    // (Attempt 2 may run on either worker; attempt 1 is A's.)
    let first_attempt: Vec<Value> = cluster
        .log("worker-a.log")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["span"]["attempt"] == 1)
        .collect();
    assert!(
        !first_attempt.iter().any(|l| {
            let target = l["target"].as_str().unwrap_or_default();
            target == "byoc::worker::job" && l["message"] == "operation finished"
                || l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("cannot record"))
        }),
        "attempt 1 recorded nothing after the loss: {logs}"
    );
    assert!(cluster.locks().is_empty(), "no lock left");
}
