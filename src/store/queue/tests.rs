//! One test per rule of the queue, on a real database and no HTTP: SQLite in a temp dir, or a
//! fresh PostgreSQL database with `BYOC_TEST_DATABASE=postgres` (see `store::scratch`).

use chrono::Duration;

use super::*;
use crate::domain::{EnvName, OperationKind as Kind, OperationStatus as Status, Slug, StackStatus};
use crate::store::events::NewEvent;
use crate::store::{self, PooledConn, operations, stacks};

struct Db {
    // Field order is drop order: the connection goes before its database.
    conn: PooledConn,
    _scratch: store::scratch::ScratchDatabase,
    _dir: tempfile::TempDir,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let scratch = store::scratch::ScratchDatabase::from_env(dir.path()).unwrap();
    let pool = store::connect(scratch.url(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    store::migrate(&mut conn).unwrap();
    store::scratch::insert_acme(&mut conn).unwrap();
    Db {
        conn,
        _scratch: scratch,
        _dir: dir,
    }
}

fn queue(db: &mut Db, env: &str, kind: Kind) -> Result<Operation, QueueError> {
    let (slug, env) = (Slug::parse("acme").unwrap(), EnvName::parse(env).unwrap());
    enqueue(
        &mut db.conn,
        &Enqueue {
            slug: &slug,
            env: &env,
            kind,
            config_version: 1,
            requested_by: "test",
            if_idle: false,
        },
    )
}

fn claim_next(db: &mut Db, worker: &str) -> Option<Claimed> {
    claim(
        &mut db.conn,
        worker,
        "local",
        store::now() + Duration::seconds(60),
    )
    .unwrap()
}

fn stack(db: &mut Db, env: &str) -> stacks::Stack {
    stacks::find(&mut db.conn, &format!("acme-{env}")).unwrap()
}

fn op(db: &mut Db, id: &str) -> Operation {
    operations::find(&mut db.conn, id).unwrap()
}

fn ending(status: Status) -> Ending<'static> {
    Ending {
        status,
        error: None,
        summary: None,
        outputs: None,
    }
}

/// Makes the lease of `id` look expired, as when its worker stopped heartbeating.
fn expire(db: &mut Db, id: &str) {
    use crate::store::schema::operations as ops;
    diesel::update(ops::table.filter(ops::id.eq(id)))
        .set(ops::lease_expires_at.eq(Some(store::now() - Duration::seconds(30))))
        .execute(&mut db.conn)
        .unwrap();
}

/// The old attempt's lease after another worker took the operation over.
fn taken_over(db: &mut Db) -> (Lease, Lease) {
    queue(db, "prod", Kind::Update).unwrap();
    let old = claim_next(db, "w1").unwrap();
    expire(db, &old.op.id);
    let seen = op(db, &old.op.id);
    let new = take_over(
        &mut db.conn,
        &seen,
        "w2",
        store::now() + Duration::seconds(60),
    )
    .unwrap()
    .expect("the expired lease is taken over");
    (old.lease, new)
}

#[test]
fn enqueue_shows_a_deploy_as_pending_and_remembers_the_status_before() {
    let mut db = db();
    let op = queue(&mut db, "prod", Kind::Update).unwrap();
    assert_eq!(op.status, Status::Queued);
    assert_eq!(op.stack_status_before, Some(StackStatus::NotDeployed));
    assert_eq!(op.executor(), None, "no executor until a worker claims it");
    assert_eq!(stack(&mut db, "prod").status, StackStatus::Pending);
}

#[test]
fn enqueue_of_a_preview_keeps_the_stack_status() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Preview).unwrap();
    assert_eq!(stack(&mut db, "prod").status, StackStatus::NotDeployed);
}

#[test]
fn enqueue_behind_active_work_keeps_showing_that_work() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    claim_next(&mut db, "w1").unwrap();
    queue(&mut db, "prod", Kind::Destroy).unwrap();
    assert_eq!(stack(&mut db, "prod").status, StackStatus::InProgress);
}

#[test]
fn enqueue_refuses_to_destroy_or_refresh_a_stack_that_holds_nothing() {
    let mut db = db();
    for kind in [Kind::Destroy, Kind::Refresh] {
        let err = queue(&mut db, "prod", kind).unwrap_err();
        assert!(matches!(err, QueueError::NotDeployed { .. }), "{err:?}");
    }
}

#[test]
fn enqueue_for_an_unknown_tenant_is_not_found_naming_it() {
    let mut db = db();
    let tenant = store::tenants::find_by_slug(&mut db.conn, "acme").unwrap();
    store::tenants::delete(&mut db.conn, &tenant).unwrap();
    let err = queue(&mut db, "prod", Kind::Update).unwrap_err();
    assert!(
        matches!(&err, QueueError::Store(StoreError::NotFound { kind: "tenant", name }) if name == "acme"),
        "{err:?}"
    );
}

#[test]
fn claim_takes_the_oldest_operation_of_a_stack_with_nothing_running() {
    let mut db = db();
    let first = queue(&mut db, "prod", Kind::Update).unwrap();
    let second = queue(&mut db, "prod", Kind::Update).unwrap();
    let other = queue(&mut db, "stage", Kind::Update).unwrap();
    let a = claim_next(&mut db, "w1").unwrap();
    assert_eq!(a.op.id, first.id);
    // prod is busy: the next claim skips its second operation and takes stage's.
    let b = claim_next(&mut db, "w2").unwrap();
    assert_eq!(b.op.id, other.id);
    assert!(claim_next(&mut db, "w3").is_none(), "{:?}", second.id);
    finish(&mut db.conn, &a.lease, &ending(Status::Succeeded)).unwrap();
    assert_eq!(claim_next(&mut db, "w3").unwrap().op.id, second.id);
}

#[test]
fn claim_records_the_executor_the_attempt_and_shows_the_stack_running() {
    let mut db = db();
    let queued = queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    assert_eq!(c.op.status, Status::Running);
    assert_eq!(c.op.executor(), Some("local"));
    assert_eq!(c.op.attempt, 1);
    assert_eq!(c.lease.attempt(), 1);
    assert!(c.op.started_at.is_some());
    let s = stack(&mut db, "prod");
    assert_eq!(s.status, StackStatus::InProgress);
    assert_eq!(s.current_operation_id.as_deref(), Some(queued.id.as_str()));
}

#[test]
fn heartbeat_renews_the_lease_and_reports_a_cancel_request() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let until = store::now() + Duration::seconds(600);
    let beat = heartbeat(&mut db.conn, &c.lease, until).unwrap();
    assert!(!beat.cancel_requested);
    assert_eq!(op(&mut db, &c.op.id).lease_expires_at, Some(until));
    cancel(&mut db.conn, &c.op.id).unwrap();
    assert!(
        heartbeat(&mut db.conn, &c.lease, until)
            .unwrap()
            .cancel_requested
    );
}

#[test]
fn cancelling_a_queued_operation_ends_it_and_restores_the_stack_status() {
    let mut db = db();
    let op = queue(&mut db, "prod", Kind::Update).unwrap();
    let done = cancel(&mut db.conn, &op.id).unwrap();
    assert_eq!(done.status, Status::Cancelled);
    assert_eq!(done.error.as_deref(), Some("cancelled before it started"));
    assert_eq!(stack(&mut db, "prod").status, StackStatus::NotDeployed);
    assert!(claim_next(&mut db, "w1").is_none());
}

#[test]
fn cancelling_queued_work_behind_a_run_keeps_the_runs_status() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    claim_next(&mut db, "w1").unwrap();
    let destroy = queue(&mut db, "prod", Kind::Destroy).unwrap();
    cancel(&mut db.conn, &destroy.id).unwrap();
    let s = stack(&mut db, "prod");
    assert_eq!(s.status, StackStatus::InProgress);
    assert!(s.current_operation_id.is_some(), "the run is still current");
}

#[test]
fn cancelling_a_running_operation_flags_it_and_a_finished_one_is_refused() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let flagged = cancel(&mut db.conn, &c.op.id).unwrap();
    assert_eq!(flagged.status, Status::Running);
    assert!(flagged.cancel_requested);
    finish(&mut db.conn, &c.lease, &ending(Status::Cancelled)).unwrap();
    let err = cancel(&mut db.conn, &c.op.id).unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Finished {
                status: Status::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn requeue_puts_the_operation_first_again_and_shows_the_stack_queued() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    requeue(&mut db.conn, &c.lease).unwrap();
    let s = stack(&mut db, "prod");
    assert_eq!(s.status, StackStatus::Pending);
    assert_eq!(s.current_operation_id, None);
    let again = claim_next(&mut db, "w2").unwrap();
    assert_eq!(again.op.id, c.op.id, "it keeps its place");
    assert_eq!(again.op.attempt, 2);
}

#[test]
fn finishing_an_update_records_status_outputs_and_last_operation() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let end = Ending {
        outputs: Some(r#"{"vpcId":{"secret":false,"value":"vpc-1"}}"#),
        summary: Some(r#"{"create":3}"#),
        ..ending(Status::Succeeded)
    };
    finish(&mut db.conn, &c.lease, &end).unwrap();
    let done = op(&mut db, &c.op.id);
    assert_eq!(done.status, Status::Succeeded);
    assert!(done.finished_at.is_some() && done.lease_expires_at.is_none());
    let s = stack(&mut db, "prod");
    assert_eq!(s.status, StackStatus::Succeeded);
    assert_eq!(s.outputs.as_deref(), end.outputs);
    assert_eq!(s.last_operation_id.as_deref(), Some(c.op.id.as_str()));
    assert_eq!(s.current_operation_id, None);
}

#[test]
fn a_failed_deploy_marks_the_stack_failed_and_a_destroy_clears_outputs() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let end = Ending {
        outputs: Some("{}"),
        ..ending(Status::Succeeded)
    };
    finish(&mut db.conn, &c.lease, &end).unwrap();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let failed = Ending {
        error: Some("boom"),
        ..ending(Status::Failed)
    };
    finish(&mut db.conn, &c.lease, &failed).unwrap();
    let s = stack(&mut db, "prod");
    assert_eq!(
        (s.status, s.error.as_deref()),
        (StackStatus::Failed, Some("boom"))
    );
    assert_eq!(
        s.outputs.as_deref(),
        Some("{}"),
        "a failure keeps the outputs"
    );
    queue(&mut db, "prod", Kind::Destroy).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    assert_eq!(stack(&mut db, "prod").status, StackStatus::Destroying);
    finish(&mut db.conn, &c.lease, &ending(Status::Succeeded)).unwrap();
    let s = stack(&mut db, "prod");
    assert_eq!(
        (s.status, s.outputs, s.error),
        (StackStatus::Destroyed, None, None)
    );
}

#[test]
fn only_one_reaper_takes_over_an_expired_lease() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    assert!(expired(&mut db.conn, store::now()).unwrap().is_empty());
    expire(&mut db, &c.op.id);
    let seen = expired(&mut db.conn, store::now()).unwrap();
    assert_eq!(seen.len(), 1);
    let until = store::now() + Duration::seconds(60);
    assert!(
        take_over(&mut db.conn, &seen[0], "w2", until)
            .unwrap()
            .is_some()
    );
    assert!(
        take_over(&mut db.conn, &seen[0], "w3", until)
            .unwrap()
            .is_none()
    );
}

#[test]
fn requeue_after_recovery_shows_the_stack_queued_again() {
    let mut db = db();
    let (_, recovery) = taken_over(&mut db);
    assert_eq!(stack(&mut db, "prod").status, StackStatus::InProgress);
    requeue(&mut db.conn, &recovery).unwrap();
    let s = stack(&mut db, "prod");
    assert_eq!(s.status, StackStatus::Pending);
    assert_eq!(s.current_operation_id, None);
}

#[test]
fn an_attempt_whose_lease_was_taken_over_can_write_nothing() {
    let mut db = db();
    let (old, recovery) = taken_over(&mut db);
    let id = old.operation_id().to_owned();
    let lost = |r: Result<(), QueueError>| matches!(r, Err(QueueError::LeaseLost(_)));
    let event = NewEvent {
        kind: "diagnosticEvent".into(),
        payload: serde_json::json!({"late": true}),
    };
    assert!(lost(
        record_events(&mut db.conn, &old, std::slice::from_ref(&event)).map(|_| ())
    ));
    assert!(lost(record_external_ref(&mut db.conn, &old, "dep-1")));
    assert!(lost(
        heartbeat(&mut db.conn, &old, store::now()).map(|_| ())
    ));
    assert!(lost(requeue(&mut db.conn, &old)));
    assert!(lost(finish(&mut db.conn, &old, &ending(Status::Succeeded))));
    assert_eq!(store::events::last_seq(&mut db.conn, &id).unwrap(), 0);
    let row = op(&mut db, &id);
    assert_eq!((row.status, row.external_ref), (Status::Running, None));
    // The recovering worker's lease still writes.
    record_events(&mut db.conn, &recovery, &[event]).unwrap();
    assert_eq!(store::events::last_seq(&mut db.conn, &id).unwrap(), 1);
}

#[test]
fn events_are_numbered_after_the_last_stored_one() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let batch = |n: usize| -> Vec<NewEvent> {
        (0..n)
            .map(|i| NewEvent {
                kind: "stdoutEvent".into(),
                payload: serde_json::json!({ "i": i }),
            })
            .collect()
    };
    record_events(&mut db.conn, &c.lease, &batch(2)).unwrap();
    record_events(&mut db.conn, &c.lease, &batch(3)).unwrap();
    let stored = store::events::list_after(&mut db.conn, &c.op.id, 0, 10).unwrap();
    let seqs: Vec<i32> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

/// The worker's event writer numbers its batches from memory after the first one (no
/// `MAX(seq)` per batch): the numbers continue the stored stream, a stale number stores
/// nothing (the primary key refuses it; the writer then asks the database again), and after a
/// takeover only the new holder writes, continuing after the last stored event.
#[test]
fn events_numbered_from_memory_continue_the_stream_and_a_stale_number_stores_nothing() {
    let mut db = db();
    let (old, new) = taken_over(&mut db);
    let id = new.operation_id().to_owned();
    let lost = |r: Result<(), QueueError>| matches!(r, Err(QueueError::LeaseLost(_)));
    let batch = |from: usize, n: usize| -> Vec<NewEvent> {
        (from..from + n)
            .map(|i| NewEvent {
                kind: "stdoutEvent".into(),
                payload: serde_json::json!({ "i": i }),
            })
            .collect()
    };
    // The old holder's number is refused with its lease, before any insert.
    assert!(lost(
        record_events_at(&mut db.conn, &old, Some(1), &batch(0, 2)).map(|_| ())
    ));
    let first = record_events_at(&mut db.conn, &new, None, &batch(0, 2)).unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    let next = first.last().unwrap().seq + 1;
    let second = record_events_at(&mut db.conn, &new, Some(next), &batch(2, 3)).unwrap();
    assert_eq!(second.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    // A number already taken: refused, nothing overwritten, the transaction rolled back.
    assert!(record_events_at(&mut db.conn, &new, Some(4), &batch(99, 2)).is_err());
    // Asking the database again continues the stream.
    record_events_at(&mut db.conn, &new, None, &batch(5, 1)).unwrap();
    let stored = store::events::list_after(&mut db.conn, &id, 0, 100).unwrap();
    let seen: Vec<(i32, i64)> = stored
        .iter()
        .map(|e| {
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            (e.seq, payload["i"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(seen, [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]);
}

#[test]
fn the_database_refuses_two_running_operations_on_one_stack() {
    use crate::store::schema::operations as ops;
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let second = queue(&mut db, "prod", Kind::Update).unwrap();
    claim_next(&mut db, "w1").unwrap();
    let forced = diesel::update(ops::table.filter(ops::id.eq(&second.id)))
        .set(ops::status.eq(Status::Running))
        .execute(&mut db.conn);
    assert!(
        forced.is_err(),
        "the unique index must refuse a second running operation"
    );
}

#[test]
fn a_deploy_that_never_reached_the_engine_leaves_a_new_stack_not_deployed() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    queue(&mut db, "prod", Kind::Update).unwrap();
    for _ in 0..2 {
        let c = claim_next(&mut db, "w1").unwrap();
        let failed = Ending {
            error: Some("no executor"),
            ..ending(Status::Failed)
        };
        finish(&mut db.conn, &c.lease, &failed).unwrap();
        assert_eq!(stack(&mut db, "prod").status, StackStatus::NotDeployed);
    }
}

#[test]
fn a_failure_after_an_engine_event_or_a_lost_attempt_marks_the_stack_failed() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    let prelude = NewEvent {
        kind: "preludeEvent".into(),
        payload: serde_json::json!({"preludeEvent": {"config": {}}}),
    };
    record_events(&mut db.conn, &c.lease, &[prelude]).unwrap();
    finish(&mut db.conn, &c.lease, &ending(Status::Failed)).unwrap();
    assert_eq!(stack(&mut db, "prod").status, StackStatus::Failed);

    // A second attempt after a lost (taken over) first one: the first may have run the engine.
    let mut db = self::db();
    let (_, new) = taken_over(&mut db);
    finish(&mut db.conn, &new, &ending(Status::Failed)).unwrap();
    assert_eq!(stack(&mut db, "prod").status, StackStatus::Failed);
}

#[test]
fn a_cancel_that_arrives_after_the_engine_finished_is_noted_on_the_operation() {
    let mut db = db();
    queue(&mut db, "prod", Kind::Update).unwrap();
    let c = claim_next(&mut db, "w1").unwrap();
    cancel(&mut db.conn, &c.op.id).unwrap();
    finish(&mut db.conn, &c.lease, &ending(Status::Succeeded)).unwrap();
    let stored = store::events::list_after(&mut db.conn, &c.op.id, 0, 10).unwrap();
    let kinds: Vec<&str> = stored.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [CANCEL_TOO_LATE]);
    assert!(stored[0].payload.contains("after the engine had finished"));
    assert!(stored[0].payload.contains("succeeded"));
}

/// Concurrent claims from separate connections (as workers on different hosts make them):
/// every queued operation is claimed exactly once and no stack ever has two running. On
/// PostgreSQL the claims overlap for real (`FOR UPDATE SKIP LOCKED`); on SQLite they take
/// turns on the write lock.
#[test]
fn concurrent_claims_take_each_operation_once_and_one_per_stack() {
    let mut db = db();
    let envs: Vec<String> = (0..6).map(|i| format!("env{i}")).collect();
    for env in &envs {
        for _ in 0..3 {
            queue(&mut db, env, Kind::Preview).unwrap();
        }
    }
    let pool = store::connect(db._scratch.url(), 4).unwrap();
    let claimed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..4 {
            let (pool, claimed) = (&pool, &claimed);
            s.spawn(move || {
                let mut conn = pool.get().unwrap();
                let worker = format!("w{w}");
                let mut idle = 0;
                while idle < 20 {
                    let until = store::now() + Duration::seconds(60);
                    match claim(&mut conn, &worker, "local", until).unwrap() {
                        Some(c) => {
                            idle = 0;
                            let running: i64 = ops::table
                                .filter(ops::stack_name.eq(&c.op.stack_name))
                                .filter(ops::status.eq(Status::Running))
                                .count()
                                .get_result(&mut *conn)
                                .unwrap();
                            assert_eq!(running, 1, "two running on {}", c.op.stack_name);
                            claimed.lock().unwrap().push(c.op.id.clone());
                            let ending = Ending {
                                status: Status::Succeeded,
                                error: None,
                                summary: None,
                                outputs: None,
                            };
                            finish(&mut conn, &c.lease, &ending).unwrap();
                        }
                        None => {
                            idle += 1;
                            std::thread::yield_now();
                        }
                    }
                }
            });
        }
    });
    let mut ids = claimed.into_inner().unwrap();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (n, ids.len()),
        (18, 18),
        "each operation claimed exactly once"
    );
}

/// The claim path's cost (issue 16, BENCHMARKS.md session 9): a claim and the reads the
/// worker does with it are one transaction (one `BEGIN`, one `COMMIT`) of exactly the
/// claim's two writes and the reads. (diesel prepares every `UPDATE` again on each call,
/// `UpdateStatement::walk_ast` marks it unsafe to cache: only the read is prepared once.)
#[test]
fn a_claim_with_its_reads_is_one_transaction() {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, InstrumentationEvent};

    #[derive(Default, Debug)]
    struct Seen {
        begins: usize,
        commits: usize,
        started: Vec<String>,
    }
    let db = db();
    // A connection of its own, watched from its first statement.
    let mut conn = db._scratch.url().establish().unwrap();
    for env in ["prod", "staging"] {
        let (slug, env) = (Slug::parse("acme").unwrap(), EnvName::parse(env).unwrap());
        let e = Enqueue {
            slug: &slug,
            env: &env,
            kind: Kind::Update,
            config_version: 1,
            requested_by: "test",
            if_idle: false,
        };
        enqueue(&mut conn, &e).unwrap();
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        let mut s = s.lock().unwrap();
        match event {
            InstrumentationEvent::BeginTransaction { .. } => s.begins += 1,
            InstrumentationEvent::CommitTransaction { .. } => s.commits += 1,
            InstrumentationEvent::StartQuery { query, .. } => {
                let q = query.to_string();
                if !q.starts_with("BEGIN") && !q.starts_with("COMMIT") {
                    s.started.push(q)
                }
            }
            _ => {}
        }
    });
    let until = store::now() + Duration::seconds(60);
    let read = |c: &mut Conn, claimed: &Claimed| stacks::find(c, &claimed.op.stack_name);
    for round in 1..=2 {
        let (claimed, stack) = claim_then(&mut conn, "w1", "local", until, read)
            .unwrap()
            .unwrap();
        assert_eq!(
            stack.current_operation_id.as_deref(),
            Some(claimed.op.id.as_str()),
            "the read sees the claim"
        );
        let s = seen.lock().unwrap();
        assert_eq!((s.begins, s.commits), (round, round), "{s:#?}");
        // The claim's UPDATE, the stack's UPDATE, the read.
        assert_eq!(s.started.len(), 3 * round, "{s:#?}");
    }
}

/// A read after the claim that fails rolls the claim back: the operation stays queued, the
/// stack shows nothing running, and the next claim takes it.
#[test]
fn a_failed_read_after_the_claim_leaves_the_operation_queued() {
    let mut db = db();
    let queued = queue(&mut db, "prod", Kind::Update).unwrap();
    let until = store::now() + Duration::seconds(60);
    let failed = claim_then(&mut db.conn, "w1", "local", until, |_, _| {
        Err::<(), _>(StoreError::Unavailable("test".into()))
    });
    assert!(matches!(failed, Err(StoreError::Unavailable(_))));
    let still = op(&mut db, &queued.id);
    assert_eq!(still.status, Status::Queued);
    assert_eq!(still.attempt, 0);
    assert_eq!(stack(&mut db, "prod").current_operation_id, None);
    assert_eq!(claim_next(&mut db, "w2").unwrap().op.id, queued.id);
}
