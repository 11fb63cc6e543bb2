//! Stack locks: a forced stop (a cancel the CLI does not answer, escalated to SIGKILL) clears
//! the lock it leaves at once, not at the next operation; a lock a crashed process left is
//! cleared once by the next run; `recover` clears it too, idempotently, and never while its
//! holder still runs on this host.

use std::time::Duration;

use byoc::domain::OperationKind;
use byoc::executor::{Executor, Outcome};

use super::support::{PROJECT, STACK, World, kinds, run, start, wait_until};

/// The stand-in holds its lock, then hangs deaf to SIGINT/SIGTERM; the run is cancelled.
async fn cancel_a_hung_engine(w: &World) -> (Outcome, Vec<byoc::executor::EngineEventRecord>) {
    let started = w.root.path().join("started");
    let started_knob = started.display().to_string();
    let hung = w
        .hanging_executor(&[("PULUMI_STANDIN_STARTED", started_knob.as_str())])
        .await;
    let running = start(&hung, w.job(OperationKind::Update));
    wait_until(
        "the stand-in to hold its lock",
        Duration::from_secs(30),
        || started.exists(),
    )
    .await;
    assert_eq!(w.lock_files(), 1);
    running.cancel.cancel();
    let result = running.finish().await;
    std::fs::remove_file(&started).unwrap();
    result
}

/// A lock file as a crashed CLI leaves it (`pkg/backend/diy/lock.go`): `pid` names a process
/// that no longer exists.
fn plant_stale_lock(w: &World) {
    let dir = w
        .data_dir()
        .join("state/.pulumi/locks/organization")
        .join(PROJECT)
        .join(STACK);
    std::fs::create_dir_all(&dir).unwrap();
    let host = nix::unistd::gethostname().unwrap();
    let lock = serde_json::json!({
        "pid": i32::MAX, "username": "byoc", "hostname": host.to_string_lossy(),
        "timestamp": "2026-01-01T00:00:00.000000000Z",
    });
    std::fs::write(dir.join("0b1a5e2c-dead.json"), lock.to_string()).unwrap();
}

#[tokio::test]
async fn a_forced_stop_clears_the_stack_lock_then() {
    let Some(w) = World::start().await else {
        return;
    };
    let (outcome, events) = cancel_a_hung_engine(&w).await;
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    assert_eq!(w.lock_files(), 0, "the lock is cleared before the run ends");
    assert!(
        kinds(&events).contains(&"byoc.lock-cleared"),
        "{:?}",
        kinds(&events)
    );
    // The next operation needs no lock clearing of its own.
    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(!kinds(&events).contains(&"byoc.lock-cleared"));
}

#[tokio::test]
async fn a_stale_lock_is_cleared_once_and_the_update_goes_on() {
    let Some(w) = World::start().await else {
        return;
    };
    let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    plant_stale_lock(&w);
    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let k = kinds(&events);
    assert_eq!(k.first(), Some(&"byoc.lock-cleared"), "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "byoc.lock-cleared").count(), 1);
    assert!(
        events[0].payload["lock"]
            .as_str()
            .unwrap()
            .contains("currently locked by 1 lock(s)")
    );
    assert_eq!(k.last(), Some(&"cancelEvent"));
    assert_eq!(w.lock_files(), 0);
    // The exact recovery sequence: the locked up, cancel, the up again, the outputs.
    let argvs = w.argvs();
    let cmds: Vec<&str> = argvs.iter().map(|a| a[1].as_str()).collect();
    let n = cmds.len();
    assert_eq!(cmds[n - 4..], ["up", "cancel", "up", "stack"], "{cmds:?}");
    assert_eq!(
        argvs[n - 3],
        [
            "--non-interactive",
            "cancel",
            "--yes",
            "--stack",
            "acme-dev"
        ]
    );
}

#[tokio::test]
async fn recover_clears_a_stale_lock_and_is_idempotent() {
    let Some(w) = World::start().await else {
        return;
    };
    // A stack that never existed has nothing to clear.
    w.exec.recover(&w.job(OperationKind::Update)).await.unwrap();
    let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");

    plant_stale_lock(&w);
    let job = w.job(OperationKind::Update);
    let notes = w.exec.recover(&job).await.unwrap();
    assert_eq!(w.lock_files(), 0);
    // The note names the lock's holder as the lock file does.
    let locks = &notes[0].payload["byoc.recovery-lock"]["locks"];
    assert_eq!(locks[0]["pid"], i32::MAX, "{notes:?}");
    w.exec.recover(&job).await.unwrap();
    assert_eq!(w.workspace_entries(), 0);

    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(!kinds(&events).contains(&"byoc.lock-cleared"));
}
