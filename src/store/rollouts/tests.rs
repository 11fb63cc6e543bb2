//! The rollout store's rules on a real database, no HTTP: SQLite in a temp dir, or a fresh
//! PostgreSQL database with `BYOC_TEST_DATABASE=postgres` (see `store::scratch`). Deploys are
//! run by claiming and finishing them through the queue, as a worker would.

use chrono::Duration;
use diesel::prelude::*;

use super::*;
use crate::domain::rollout::{RolloutStatus as RS, TargetStatus as TS};
use crate::domain::{EnvName, OperationKind, OperationStatus, Slug};
use crate::store::queue::{self, Ending};
use crate::store::{self, PooledConn, operations};

struct Db {
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

/// A running rollout over `acme-<env>` for each of `envs`, in `waves` (one per target).
fn rollout(db: &mut Db, id: &str, envs: &[&str], waves: &[i32], budget: i32, parallel: i32) {
    let now = store::now();
    let row = Rollout {
        id: id.into(),
        status: RS::Running,
        spec: "{}".into(),
        max_parallel: parallel,
        failure_budget: budget,
        bake_seconds: 0,
        wave_count: waves.iter().max().map_or(0, |w| w + 1),
        current_wave: 0,
        wave_done_at: None,
        halt_reason: None,
        created_by: Some("test".into()),
        created_at: now,
        updated_at: now,
        finished_at: None,
        driver_id: None,
        driver_until: None,
        event_seq: 0,
    };
    let targets: Vec<Target> = envs
        .iter()
        .zip(waves)
        .enumerate()
        .map(|(i, (env, wave))| Target {
            rollout_id: id.into(),
            position: i as i32,
            wave: *wave,
            tenant_id: "t1".into(),
            tenant_slug: "acme".into(),
            environment: (*env).into(),
            stack_name: format!("acme-{env}"),
            status: TS::Pending,
            config_version: Some(1),
            operation_id: None,
            error: None,
            field_errors: None,
            updated_at: now,
        })
        .collect();
    store::transaction(&mut db.conn, |c| insert(c, &row, &targets)).unwrap();
}

/// One driver step by driver `d1`.
fn drive(db: &mut Db, id: &str) -> Stepped {
    let now = store::now();
    assert!(acquire(&mut db.conn, id, "d1", now, now + Duration::seconds(60)).unwrap());
    step(&mut db.conn, id, "d1", store::now()).unwrap()
}

fn statuses(db: &mut Db, id: &str) -> Vec<TS> {
    targets(&mut db.conn, id)
        .unwrap()
        .into_iter()
        .map(|t| t.status)
        .collect()
}

/// Claims every runnable operation and ends it: failed when its stack is in `failing`.
fn run_all(db: &mut Db, failing: &[&str]) -> usize {
    let mut n = 0;
    while let Some(c) = queue::claim(
        &mut db.conn,
        "w1",
        "local",
        store::now() + Duration::seconds(60),
    )
    .unwrap()
    {
        let fail = failing
            .iter()
            .any(|s| c.op.stack_name == format!("acme-{s}"));
        let ending = Ending {
            status: if fail {
                OperationStatus::Failed
            } else {
                OperationStatus::Succeeded
            },
            error: fail.then_some("engine says no"),
            summary: None,
            outputs: None,
        };
        queue::finish(&mut db.conn, &c.lease, &ending).unwrap();
        n += 1;
    }
    n
}

fn ops_on(db: &mut Db, stack: &str) -> i64 {
    use crate::store::schema::operations as ops;
    ops::table
        .filter(ops::stack_name.eq(stack))
        .count()
        .get_result(&mut db.conn)
        .unwrap()
}

fn deploy(db: &mut Db, env: &str, version: i32) -> operations::Operation {
    let (slug, env) = (Slug::parse("acme").unwrap(), EnvName::parse(env).unwrap());
    queue::enqueue(
        &mut db.conn,
        &queue::Enqueue {
            slug: &slug,
            env: &env,
            kind: OperationKind::Update,
            config_version: version,
            requested_by: "someone",
            if_idle: false,
        },
    )
    .unwrap()
}

#[test]
fn a_rollout_runs_wave_by_wave_within_max_parallel_and_finishes() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b", "c", "d"], &[0, 1, 1, 1], 1, 2);
    drive(&mut db, "r1");
    assert_eq!(
        statuses(&mut db, "r1"),
        [TS::Queued, TS::Pending, TS::Pending, TS::Pending]
    );
    // Nothing of wave 1 starts while the canary is in flight.
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1")[1], TS::Pending);
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(
        statuses(&mut db, "r1"),
        [TS::Succeeded, TS::Queued, TS::Queued, TS::Pending]
    );
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1"), [TS::Succeeded; 4]);
    assert_eq!(find(&mut db.conn, "r1").unwrap().status, RS::Finished);
    for env in ["a", "b", "c", "d"] {
        assert_eq!(
            ops_on(&mut db, &format!("acme-{env}")),
            1,
            "{env} deployed once"
        );
    }
}

#[test]
fn spending_the_failure_budget_halts_and_cancels_what_has_not_started() {
    let mut db = db();
    rollout(
        &mut db,
        "r1",
        &["a", "b", "c", "d", "e"],
        &[0, 0, 0, 0, 1],
        2,
        2,
    );
    drive(&mut db, "r1");
    run_all(&mut db, &["a", "b"]);
    drive(&mut db, "r1");
    let r = find(&mut db.conn, "r1").unwrap();
    assert_eq!(r.status, RS::Halted);
    assert!(r.halt_reason.unwrap().contains("acme-a, acme-b"));
    let list = targets(&mut db.conn, "r1").unwrap();
    assert_eq!(list[0].error.as_deref(), Some("engine says no"));
    assert_eq!(
        list.iter().map(|t| t.status).collect::<Vec<_>>(),
        [
            TS::Failed,
            TS::Failed,
            TS::Cancelled,
            TS::Cancelled,
            TS::Cancelled
        ]
    );
    // Nothing was started after the halt.
    for env in ["c", "d", "e"] {
        assert_eq!(ops_on(&mut db, &format!("acme-{env}")), 0);
    }
    // The halt went to the webhook outbox with the state change.
    let halted: Vec<String> = {
        use crate::store::schema::rollout_events as re;
        re::table
            .filter(re::rollout_id.eq("r1"))
            .select(re::kind)
            .load(&mut db.conn)
            .unwrap()
    };
    assert!(halted.contains(&"rollout.halted".to_owned()));
}

#[test]
fn a_later_failed_deploy_of_an_updated_target_counts_against_the_budget() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b"], &[0, 1], 1, 1);
    {
        use crate::store::schema::rollouts as ro;
        diesel::update(ro::table.find("r1"))
            .set(ro::bake_seconds.eq(3600))
            .execute(&mut db.conn)
            .unwrap();
    }
    drive(&mut db, "r1");
    run_all(&mut db, &[]);
    drive(&mut db, "r1"); // wave 0 done: baking
    assert_eq!(statuses(&mut db, "r1"), [TS::Succeeded, TS::Pending]);
    deploy(&mut db, "a", 1);
    run_all(&mut db, &["a"]);
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1"), [TS::Failed, TS::Cancelled]);
    assert_eq!(find(&mut db.conn, "r1").unwrap().status, RS::Halted);
}

#[test]
fn a_target_with_a_deploy_already_queued_attaches_to_it() {
    let mut db = db();
    let queued = deploy(&mut db, "a", 5);
    rollout(&mut db, "r1", &["a"], &[0], 1, 1);
    drive(&mut db, "r1");
    let t = &targets(&mut db.conn, "r1").unwrap()[0];
    assert_eq!(t.operation_id.as_deref(), Some(queued.id.as_str()));
    assert_eq!(ops_on(&mut db, "acme-a"), 1, "no second deploy");
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(find(&mut db.conn, "r1").unwrap().status, RS::Finished);
}

#[test]
fn a_queued_deploy_of_an_older_config_version_is_not_reused() {
    let mut db = db();
    deploy(&mut db, "a", 0);
    rollout(&mut db, "r1", &["a"], &[0], 1, 1);
    drive(&mut db, "r1");
    assert_eq!(ops_on(&mut db, "acme-a"), 2);
}

#[test]
fn a_newer_rollout_supersedes_the_older_ones_unstarted_targets() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b"], &[0, 1], 1, 1);
    drive(&mut db, "r1");
    rollout(&mut db, "r2", &["b"], &[0], 1, 1);
    let old = targets(&mut db.conn, "r1").unwrap();
    assert_eq!(old[0].status, TS::Queued, "started work is kept");
    assert_eq!(old[1].status, TS::Superseded);
    assert!(old[1].error.as_deref().unwrap().contains("r2"));
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(find(&mut db.conn, "r1").unwrap().status, RS::Finished);
}

#[test]
fn paused_rollouts_start_nothing_and_resume_where_they_were() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b"], &[0, 1], 1, 1);
    drive(&mut db, "r1");
    assert_eq!(pause(&mut db.conn, "r1").unwrap().status, RS::Paused);
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1"), [TS::Succeeded, TS::Pending]);
    assert_eq!(resume(&mut db.conn, "r1").unwrap().status, RS::Running);
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1"), [TS::Succeeded, TS::Queued]);
}

#[test]
fn abort_cancels_queued_deploys_but_not_running_ones() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b", "c"], &[0, 0, 0], 1, 2);
    drive(&mut db, "r1");
    let running = queue::claim(
        &mut db.conn,
        "w1",
        "local",
        store::now() + Duration::seconds(60),
    )
    .unwrap()
    .unwrap();
    drive(&mut db, "r1");
    let r = abort(&mut db.conn, "r1").unwrap();
    assert_eq!(r.status, RS::Aborted);
    let list = targets(&mut db.conn, "r1").unwrap();
    assert_eq!(
        list.iter().map(|t| t.status).collect::<Vec<_>>(),
        [TS::Running, TS::Cancelled, TS::Cancelled]
    );
    let op = operations::find(&mut db.conn, &running.op.id).unwrap();
    assert_eq!(op.status, OperationStatus::Running);
    assert!(!op.cancel_requested);
    let other = operations::find(&mut db.conn, list[1].operation_id.as_deref().unwrap()).unwrap();
    assert_eq!(other.status, OperationStatus::Cancelled);
    // The running one is still followed to its end.
    queue::finish(
        &mut db.conn,
        &running.lease,
        &Ending {
            status: OperationStatus::Succeeded,
            error: None,
            summary: None,
            outputs: None,
        },
    )
    .unwrap();
    assert!(active(&mut db.conn).unwrap().contains(&"r1".to_owned()));
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1")[0], TS::Succeeded);
    assert!(is_settled(&mut db.conn, "r1").unwrap());
    assert!(matches!(
        abort(&mut db.conn, "r1"),
        Err(ControlError::Ended { .. })
    ));
}

#[test]
fn one_driver_at_a_time_and_a_dead_drivers_lease_is_taken_over() {
    let mut db = db();
    rollout(&mut db, "r1", &["a"], &[0], 1, 1);
    let now = store::now();
    assert!(acquire(&mut db.conn, "r1", "d1", now, now + Duration::seconds(60)).unwrap());
    assert!(!acquire(&mut db.conn, "r1", "d2", now, now + Duration::seconds(60)).unwrap());
    assert_eq!(
        step(&mut db.conn, "r1", "d2", now).unwrap(),
        Stepped::NotHeld
    );
    // d1 died: its lease runs out and d2 takes over.
    let later = now + Duration::seconds(61);
    assert!(
        acquire(
            &mut db.conn,
            "r1",
            "d2",
            later,
            later + Duration::seconds(60)
        )
        .unwrap()
    );
    assert_eq!(
        step(&mut db.conn, "r1", "d1", now).unwrap(),
        Stepped::NotHeld
    );
    assert!(matches!(
        step(&mut db.conn, "r1", "d2", later).unwrap(),
        Stepped::Changed { queued: 1 }
    ));
    // Steps again start nothing twice.
    step(&mut db.conn, "r1", "d2", later).unwrap();
    assert_eq!(ops_on(&mut db, "acme-a"), 1);
}

#[test]
fn a_target_whose_tenant_was_deleted_is_skipped_and_the_rollout_goes_on() {
    let mut db = db();
    rollout(&mut db, "r1", &["a", "b"], &[0, 0], 1, 2);
    {
        use crate::store::schema::rollout_targets as rt;
        diesel::update(rt::table.filter(rt::position.eq(0)))
            .set(rt::tenant_slug.eq("gone"))
            .execute(&mut db.conn)
            .unwrap();
    }
    drive(&mut db, "r1");
    assert_eq!(statuses(&mut db, "r1"), [TS::Skipped, TS::Queued]);
    run_all(&mut db, &[]);
    drive(&mut db, "r1");
    assert_eq!(find(&mut db.conn, "r1").unwrap().status, RS::Finished);
}
