//! Leases through the HTTP API: operations whose worker died are recovered (the lock cleared,
//! the run repeated or failed with the reason), a run that lost its lease stops at once and
//! records nothing, transient failures are retried, hung runs time out.

use std::time::Duration;

use byoc::domain::OperationStatus;
use byoc::store::schema::operations::dsl as ops;
use diesel::prelude::*;

use crate::app::{TestApp, spawn_app};
use crate::poll::wait_until;
use crate::routes::{Action, PROD};
use crate::scripted::{Call, Script};

/// Marks an operation as claimed by a worker that died on its `runs`-th run: running, with a
/// lease that expired 30 s ago.
fn claimed_by_a_dead_worker(app: &TestApp, op_id: &str, runs: i32) {
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(30);
    diesel::update(ops::operations.filter(ops::id.eq(op_id)))
        .set((
            ops::status.eq(OperationStatus::Running),
            ops::worker_id.eq("dead-worker"),
            ops::lease_expires_at.eq(Some(past)),
            ops::attempt.eq(runs),
        ))
        .execute(&mut *app.db())
        .unwrap();
}

#[actix_web::test]
async fn an_operation_whose_worker_died_is_recovered_and_rerun() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.start(PROD, Action::Deploy).await;
    claimed_by_a_dead_worker(&app, &op.id, 1);
    app.run_pending_operations().await;
    let done = app.operation(&op.id).await;
    assert_eq!(done.status, "succeeded");
    assert_eq!(done.attempt, 2);
    assert_eq!(app.executor.calls()[0], Call::Recovered(op.id.clone()));
    let events = app.events(&op.id).await;
    assert!(events.iter().any(|e| e.kind == "byoc.recovery"));
    app.stop().await;
}

#[actix_web::test]
async fn an_operation_that_keeps_losing_its_worker_fails_with_the_reason() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.start(PROD, Action::Deploy).await;
    claimed_by_a_dead_worker(&app, &op.id, 3);
    app.run_pending_operations().await;
    let done = app.operation(&op.id).await;
    assert_eq!(done.status, "failed");
    assert!(done.error().contains("stopped responding"), "{done:?}");
    assert_eq!(app.status(PROD).await.status, "failed");
    // The lock was still cleared, so the next deploy just works.
    assert_eq!(app.executor.calls(), [Call::Recovered(op.id)]);
    app.run(PROD, Action::Deploy).await;
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn a_run_whose_lease_was_taken_over_stops_at_once_and_records_nothing() {
    let app = TestApp::builder().workers(1).spawn().await;
    app.with_config(PROD).await;
    let blocked = Script {
        block: true,
        ..Script::default()
    };
    app.executor.script(&PROD.stack(), blocked);
    let op = app.start(PROD, Action::Deploy).await;
    app.wait_for(&op.id, "running").await;
    // Another worker takes the operation over, as recovery does: a new holder, a new token.
    let until = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(60);
    diesel::update(ops::operations.filter(ops::id.eq(&op.id)))
        .set((
            ops::worker_id.eq("recovering-worker"),
            ops::lease_token.eq(ops::lease_token + 1),
            ops::lease_expires_at.eq(Some(until)),
        ))
        .execute(&mut *app.db())
        .unwrap();
    // Its next heartbeat finds the lease gone: the run is dropped, not cancelled gracefully.
    let dropped = Call::Dropped(op.id.clone());
    wait_until("the run to be dropped", Duration::from_secs(20), || {
        app.executor.calls().contains(&dropped)
    })
    .await;
    let stored = app.events(&op.id).await.len();
    let row = app.operation(&op.id).await;
    assert_eq!(row.status, "running", "the old attempt recorded no result");
    assert_eq!(row.error, None);

    // The new holder's lease expires too; this worker recovers and finishes it.
    diesel::update(ops::operations.filter(ops::id.eq(&op.id)))
        .set(ops::lease_expires_at.eq(Some(until - chrono::Duration::seconds(120))))
        .execute(&mut *app.db())
        .unwrap();
    app.executor.release("acme-prod");
    let done = app.wait_for(&op.id, "succeeded").await;
    assert_eq!(done.attempt, 2);
    let events = app.events(&op.id).await;
    let recovery = events.iter().position(|e| e.kind == "byoc.recovery");
    assert_eq!(
        recovery,
        Some(stored),
        "nothing was stored between the loss and recovery"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_hung_operation_is_stopped_by_the_timeout_and_fails() {
    let app = TestApp::builder()
        .workers(1)
        .settings(|s| s.worker.operation_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    app.with_config(PROD).await;
    let blocked = Script {
        block: true,
        ..Script::default()
    };
    app.executor.script(&PROD.stack(), blocked);
    let op = app.start(PROD, Action::Deploy).await;
    let done = app.wait_for(&op.id, "failed").await;
    assert!(done.error().contains("timed out"), "{done:?}");
    app.stop().await;
}

#[actix_web::test]
async fn a_transient_failure_is_retried_up_to_the_attempt_limit() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let transient = Script {
        fail: Some("AWS STS unreachable".into()),
        retryable: true,
        ..Script::default()
    };
    app.executor.script(&PROD.stack(), transient);
    let done = app.run(PROD, Action::Deploy).await;
    assert_eq!(done.status, "failed");
    assert_eq!(
        done.attempt, 3,
        "BYOC_MAX_ATTEMPTS runs, then the failure is final"
    );
    let events = app.events(&done.id).await;
    let retries = events.iter().filter(|e| e.kind == "byoc.retry").count();
    assert_eq!(retries, 2);
    app.stop().await;
}
