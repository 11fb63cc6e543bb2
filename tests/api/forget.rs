//! Stacks that never reached the engine, `forget`, and `?if_idle=true` (issue 14.2, API
//! additions): the ways out of a stack byoc should no longer hold on to.

use std::sync::Arc;

use byoc::executor::{Executor, UnavailableExecutor};
use serde_json::json;

use crate::app::TestApp;
use crate::routes::{Action, Operation, PROD, Problem};
use crate::scripted::Script;

async fn app_without_executor() -> TestApp {
    TestApp::builder()
        .executor(|_| async {
            Arc::new(UnavailableExecutor::new("no pulumi CLI found on PATH")) as Arc<dyn Executor>
        })
        .spawn()
        .await
}

#[actix_web::test]
async fn a_deploy_that_never_reached_the_engine_leaves_the_stack_not_deployed() {
    let app = app_without_executor().await;
    app.with_config(PROD).await;
    let failed = app.run(PROD, Action::Deploy).await;
    assert_eq!(failed.status, "failed");
    assert!(failed.error().contains("no pulumi CLI"), "{failed:?}");
    let st = app.status(PROD).await;
    assert_eq!(st.status, "not_deployed", "nothing can have been created");
    // So the config and the tenant can go, without any data directory surgery.
    let config = format!("{}/config", PROD.path());
    assert_eq!(app.delete(&config).await.status(), 204);
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    app.stop().await;
}

#[actix_web::test]
async fn a_failure_after_the_engine_started_still_marks_the_stack_failed() {
    let app = crate::app::spawn_app().await;
    app.with_config(PROD).await;
    app.executor.script(
        &PROD.stack(),
        Script {
            fail: Some("error: creating VPC".into()),
            ..Script::default()
        },
    );
    app.run(PROD, Action::Deploy).await;
    assert_eq!(app.status(PROD).await.status, "failed");
    app.stop().await;
}

#[actix_web::test]
async fn an_admin_forgets_a_failed_stack_and_the_history_says_so() {
    let app = crate::app::spawn_app().await;
    app.with_config(PROD).await;
    app.executor.script(
        &PROD.stack(),
        Script {
            fail: Some("error: creating VPC".into()),
            ..Script::default()
        },
    );
    app.run(PROD, Action::Deploy).await;
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 409);

    let forget = format!("{}/forget", PROD.path());
    // Operators may not.
    let operator = app.token("operator").await;
    let resp = app
        .request(
            reqwest::Method::POST,
            &forget,
            Some(&operator),
            Some(json!({})),
        )
        .await;
    assert_eq!(resp.status(), 403);

    let resp = app.post(&forget, json!({})).await;
    assert_eq!(resp.status(), 200);
    let op: Operation = resp.json().await.unwrap();
    assert_eq!(
        (op.kind.as_str(), op.status.as_str()),
        ("forget", "succeeded")
    );
    assert_eq!(
        (op.tenant_slug.as_str(), op.environment.as_str()),
        ("acme", "prod")
    );
    assert!(op.finished_at.is_some());
    let st = app.status(PROD).await;
    assert_eq!(st.status, "not_deployed");
    let kinds: Vec<String> = app
        .history(PROD)
        .await
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(kinds, ["forget", "update"]);
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    app.stop().await;
}

#[actix_web::test]
async fn forget_is_refused_while_an_operation_is_queued_and_unknown_stacks_are_404() {
    let app = crate::app::spawn_app().await;
    app.with_config(PROD).await;
    let forget = format!("{}/forget", PROD.path());
    Problem::of(app.post(&forget, json!({})).await, 404).await;
    let queued = app.start(PROD, Action::Deploy).await;
    let problem = Problem::of(app.post(&forget, json!({})).await, 409).await;
    assert_eq!(problem.kind, "/problems/operation-in-progress");
    assert!(problem.detail.contains(&queued.id), "{problem:?}");
    app.run_pending_operations().await;
    app.stop().await;
}

#[actix_web::test]
async fn if_idle_refuses_instead_of_queueing_behind_work() {
    let app = crate::app::spawn_app().await;
    app.with_config(PROD).await;
    let first = app.start(PROD, Action::Deploy).await;
    assert_eq!(
        (first.tenant_slug.as_str(), first.environment.as_str()),
        ("acme", "prod")
    );
    let path = PROD.path();
    let problem = Problem::of(
        app.post(&format!("{path}/preview?if_idle=true"), json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/operation-in-progress");
    // Without it, the preview queues behind the deploy as before.
    assert_eq!(
        app.post(&format!("{path}/preview"), json!({}))
            .await
            .status(),
        202
    );
    app.run_pending_operations().await;
    let idle = app
        .post(&format!("{path}/preview?if_idle=true"), json!({}))
        .await;
    assert_eq!(idle.status(), 202);
    app.run_pending_operations().await;
    app.stop().await;
}
