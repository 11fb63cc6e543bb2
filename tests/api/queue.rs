//! The queue through the HTTP API: one operation per stack at a time in queue order, stacks
//! in parallel up to the concurrency setting, cancellation, and what the stack shows while
//! work waits.

use std::time::Duration;

use crate::app::{TestApp, spawn_app};
use crate::poll::wait_until;
use crate::routes::{Action, Env, PROD};
use crate::scripted::{Call, Script};

const STAGE: Env = Env {
    slug: "acme",
    env: "stage",
};

/// Makes every run on `env` block after its first event until released or cancelled.
fn block(app: &TestApp, env: Env) {
    let script = Script {
        block: true,
        ..Script::default()
    };
    app.executor.script(&env.stack(), script);
}

/// Waits until exactly `stacks` are inside the executor (an operation shows `running` when
/// it is claimed, a moment before the executor starts it).
async fn wait_until_running(app: &TestApp, stacks: &[&str]) {
    let what = format!("exactly {stacks:?} to run");
    wait_until(&what, Duration::from_secs(20), || {
        let mut running = app.executor.running();
        running.sort();
        running == stacks
    })
    .await;
}

#[actix_web::test]
async fn cancelling_a_queued_operation_is_immediate_and_restores_the_status() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.start(PROD, Action::Deploy).await;
    let resp = app.cancel(&op.id).await;
    assert_eq!(resp.status(), 202);
    let cancelled: crate::routes::Operation = resp.json().await.unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(app.status(PROD).await.status, "not_deployed");
    assert_eq!(app.run_pending_operations().await, 0);
    assert!(app.executor.calls().is_empty(), "nothing ran");
    assert_eq!(app.cancel(&op.id).await.status(), 409);
    app.stop().await;
}

#[actix_web::test]
async fn cancelling_a_running_operation_interrupts_it() {
    let app = TestApp::builder().workers(2).spawn().await;
    app.with_config(PROD).await;
    block(&app, PROD);
    let op = app.start(PROD, Action::Deploy).await;
    app.wait_for(&op.id, "running").await;
    assert_eq!(app.cancel(&op.id).await.status(), 202);
    let done = app.wait_for(&op.id, "cancelled").await;
    assert_eq!(done.error(), "cancelled on request");
    assert_eq!(app.status(PROD).await.status, "failed");
    app.stop().await;
}

#[actix_web::test]
async fn one_stack_runs_one_operation_at_a_time_while_stacks_run_in_parallel() {
    let app = TestApp::builder().workers(4).spawn().await;
    app.with_config(PROD).await;
    app.with_config_of(STAGE).await;
    block(&app, PROD);
    block(&app, STAGE);
    let first = app.start(PROD, Action::Deploy).await;
    let second = app.start(PROD, Action::Deploy).await;
    let other = app.start(STAGE, Action::Deploy).await;
    app.wait_for(&first.id, "running").await;
    app.wait_for(&other.id, "running").await;
    // Two stacks run at once; the second deploy of acme-prod waits its turn.
    wait_until_running(&app, &["acme-prod", "acme-stage"]).await;
    assert_eq!(app.operation(&second.id).await.status, "queued");

    app.executor.release("acme-prod");
    app.wait_for(&first.id, "succeeded").await;
    app.wait_for(&second.id, "running").await;
    app.executor.release("acme-prod");
    app.executor.release("acme-stage");
    app.wait_for(&second.id, "succeeded").await;
    app.wait_for(&other.id, "succeeded").await;
    // Runs of one stack never overlapped, and ran in queue order.
    let prod: Vec<_> = app
        .executor
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Started(_, s, _) | Call::Ended(_, s) if s == "acme-prod"))
        .collect();
    let (a, b) = (&first.id, &second.id);
    assert!(
        matches!(&prod[..], [Call::Started(w, ..), Call::Ended(x, _), Call::Started(y, ..), Call::Ended(z, _)]
        if w == a && x == a && y == b && z == b),
        "{prod:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn parallel_stacks_are_limited_by_the_concurrency_setting() {
    let app = TestApp::builder().workers(1).spawn().await;
    app.with_config(PROD).await;
    app.with_config_of(STAGE).await;
    block(&app, PROD);
    block(&app, STAGE);
    let prod = app.start(PROD, Action::Deploy).await;
    let stage = app.start(STAGE, Action::Deploy).await;
    app.wait_for(&prod.id, "running").await;
    // One slot: the other stack waits although nothing else blocks it.
    wait_until_running(&app, &["acme-prod"]).await;
    assert_eq!(app.operation(&stage.id).await.status, "queued");
    app.executor.release("acme-prod");
    app.wait_for(&stage.id, "running").await;
    wait_until_running(&app, &["acme-stage"]).await;
    app.executor.release("acme-stage");
    app.wait_for(&stage.id, "succeeded").await;
    app.stop().await;
}

#[actix_web::test]
async fn work_queued_behind_a_running_deploy_does_not_change_the_status_until_it_starts() {
    let app = TestApp::builder().workers(1).spawn().await;
    app.with_config(PROD).await;
    let first = app.start(PROD, Action::Deploy).await;
    app.wait_for(&first.id, "succeeded").await;
    block(&app, PROD);
    let update = app.start(PROD, Action::Deploy).await;
    app.wait_for(&update.id, "running").await;
    assert_eq!(app.status(PROD).await.status, "in_progress");

    let destroy = app.start(PROD, Action::Destroy).await;
    let st = app.status(PROD).await;
    assert_eq!(st.status, "in_progress", "the deploy is still running");
    assert_eq!(app.cancel(&destroy.id).await.status(), 202);
    let st = app.status(PROD).await;
    assert_eq!(st.status, "in_progress", "nothing to restore yet");
    assert_eq!(st.current_operation.map(|o| o.id), Some(update.id.clone()));
    // Both operations come from one query (issue 16): each lands in its own field.
    let last = st.last_operation.expect("the first deploy");
    assert_eq!(
        (last.id, last.status),
        (first.id.clone(), "succeeded".into())
    );

    app.executor.release("acme-prod");
    app.wait_for(&update.id, "succeeded").await;
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded");
    assert!(st.current_operation.is_none(), "{:?}", st.current_operation);
    let last = st.last_operation.expect("the update, just finished");
    assert_eq!(
        (last.id, last.status),
        (update.id.clone(), "succeeded".into())
    );
    app.stop().await;
}

/// The fleet throughput of a worker rests on this (issue 16): with concurrency N, N stacks run
/// at once — not fewer, not more — and a freed slot is taken by the next queued stack.
#[actix_web::test]
async fn a_worker_runs_as_many_stacks_at_once_as_its_concurrency_allows() {
    const N: usize = 6;
    const ENVS: [&str; N + 2] = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
    let app = TestApp::builder().workers(N).spawn().await;
    let envs: Vec<Env> = ENVS.iter().map(|env| Env { slug: "acme", env }).collect();
    app.with_config(envs[0]).await;
    for env in &envs[1..] {
        app.with_config_of(*env).await;
    }
    let mut ops = Vec::new();
    for env in &envs {
        block(&app, *env);
        // In queue order: the worker claims the oldest runnable operation first.
        ops.push(app.start(*env, Action::Deploy).await);
    }
    let stacks: Vec<String> = envs.iter().map(|e| e.stack()).collect();
    let names: Vec<&str> = stacks.iter().map(String::as_str).collect();
    wait_until_running(&app, &names[..N]).await;
    for op in &ops[N..] {
        assert_eq!(app.operation(&op.id).await.status, "queued");
    }
    app.executor.release(names[0]);
    app.wait_for(&ops[0].id, "succeeded").await;
    wait_until_running(&app, &names[1..=N]).await;
    assert_eq!(app.operation(&ops[N + 1].id).await.status, "queued");
    for name in &names[1..] {
        app.executor.release(name);
    }
    for op in &ops {
        app.wait_for(&op.id, "succeeded").await;
    }
    app.stop().await;
}

/// The control plane's time per operation rests on this (issue 16): an idle worker is woken by
/// the enqueue itself, and work queued behind a running operation by that operation's end —
/// never by the poll interval, here an hour: a run that waited for it would not end in time.
#[actix_web::test]
async fn an_idle_worker_starts_work_at_once_without_waiting_for_its_poll_interval() {
    let app = TestApp::builder()
        .workers(1)
        .settings(|s| s.worker.poll = Duration::from_secs(3600))
        .spawn()
        .await;
    app.with_config(PROD).await;
    for _ in 0..3 {
        let op = app.start(PROD, Action::Deploy).await;
        app.wait_for(&op.id, "succeeded").await;
    }
    block(&app, PROD);
    let running = app.start(PROD, Action::Deploy).await;
    wait_until_running(&app, &[PROD.stack().as_str()]).await;
    app.executor.script(&PROD.stack(), Script::default());
    let queued = app.start(PROD, Action::Deploy).await;
    app.executor.release(&PROD.stack());
    app.wait_for(&running.id, "succeeded").await;
    app.wait_for(&queued.id, "succeeded").await;
    app.stop().await;
}

/// The scripted executor behind a `ready` that resolves only when the test releases it, as
/// the local executor's does once `pulumi version` answered (it runs on the worker's first
/// `ready` call, after the server is up). Counts the runs that started before the release.
#[derive(Debug)]
struct NotReadyYet {
    inner: std::sync::Arc<crate::scripted::ScriptedExecutor>,
    asked: tokio::sync::Notify,
    released: tokio::sync::watch::Sender<bool>,
    early_runs: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl byoc::executor::Executor for NotReadyYet {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn ready(&self) -> Result<(), String> {
        self.asked.notify_one();
        let mut released = self.released.subscribe();
        let _ = released.wait_for(|r| *r).await;
        Ok(())
    }

    async fn run(
        &self,
        job: byoc::executor::OperationJob,
        sink: byoc::executor::EventSink,
        cancel: tokio_util::sync::CancellationToken,
    ) -> byoc::executor::Outcome {
        if !*self.released.borrow() {
            self.early_runs
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.run(job, sink, cancel).await
    }

    async fn recover(
        &self,
        job: &byoc::executor::OperationJob,
    ) -> Result<Vec<byoc::executor::EngineEventRecord>, byoc::executor::RecoverError> {
        self.inner.recover(job).await
    }
}

/// Issue 16 (cold start): `byoc serve` answers before the CLI's version is known, and its
/// worker claims nothing until then — a queued operation stays queued, then runs.
#[actix_web::test]
async fn the_worker_claims_nothing_until_the_executor_is_ready() {
    let gated = std::sync::Arc::new(NotReadyYet {
        inner: crate::scripted::ScriptedExecutor::new(),
        asked: tokio::sync::Notify::new(),
        released: tokio::sync::watch::channel(false).0,
        early_runs: std::sync::atomic::AtomicUsize::new(0),
    });
    let executor = gated.clone();
    let app = TestApp::builder()
        .workers(1)
        .executor(move |_| async move { executor as std::sync::Arc<dyn byoc::executor::Executor> })
        .spawn()
        .await;
    // The server answers while the worker waits for the executor.
    assert_eq!(app.get("/ready").await.status(), 200);
    tokio::time::timeout(Duration::from_secs(20), gated.asked.notified())
        .await
        .expect("the worker asks the executor whether it is ready");
    app.with_config(PROD).await;
    let op = app.start(PROD, Action::Deploy).await;
    assert_eq!(app.operation(&op.id).await.status, "queued");
    gated.released.send_replace(true);
    app.wait_for(&op.id, "succeeded").await;
    assert_eq!(
        gated.early_runs.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no operation ran before the executor was ready"
    );
    app.stop().await;
}
