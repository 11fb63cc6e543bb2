//! A stand-in killed mid-update leaves its DIY lock behind (as the real CLI does); the next run
//! clears it once and goes on, and `recover` clears it too, idempotently.

use std::time::Duration;

use byoc::domain::OperationKind;
use byoc::executor::{Executor, Outcome};

use super::support::{World, kinds, run, start, wait_until};

/// Leaves a stale lock: a hung stand-in (deaf to SIGINT/SIGTERM) is cancelled and SIGKILLed.
async fn leave_stale_lock(w: &World) {
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
    running.cancel.cancel();
    let (outcome, _) = running.finish().await;
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    assert_eq!(w.lock_files(), 1, "a killed stand-in keeps its lock");
    std::fs::remove_file(&started).unwrap();
}

#[tokio::test]
async fn a_stale_lock_is_cleared_once_and_the_update_goes_on() {
    let Some(w) = World::start().await else {
        return;
    };
    leave_stale_lock(&w).await;
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
    // The exact recovery sequence: the locked up, cancel, the up again.
    let argvs = w.argvs();
    let cmds: Vec<&str> = argvs.iter().map(|a| a[1].as_str()).collect();
    let n = cmds.len();
    assert_eq!(
        cmds[n - 5..],
        ["up", "cancel", "up", "stack", "stack"],
        "{cmds:?}"
    );
    assert_eq!(
        argvs[n - 4],
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

    leave_stale_lock(&w).await;
    let job = w.job(OperationKind::Update);
    w.exec.recover(&job).await.unwrap();
    assert_eq!(w.lock_files(), 0);
    w.exec.recover(&job).await.unwrap();
    assert_eq!(w.workspace_entries(), 0);

    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(!kinds(&events).contains(&"byoc.lock-cleared"));
}
