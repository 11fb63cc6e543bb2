//! The operations engine through the HTTP API, with the scripted executor standing in for
//! pulumi (end-to-end tests with the pulumi stand-in live in `tests/e2e.rs`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Call, Script, TestApp, spawn_app, spawn_app_with};

pub const ENV: &str = "/api/v1/tenants/acme/environments/prod";

pub async fn with_config(app: &TestApp) {
    app.create_tenant("acme").await;
    let resp = app.save_config("acme", "prod", json!({})).await;
    assert_eq!(resp.status(), 201);
}

pub async fn start(app: &TestApp, action: &str) -> Value {
    let resp = app.post(&format!("{ENV}/{action}"), json!({})).await;
    assert_eq!(resp.status(), 202, "{action}");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let op: Value = resp.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/operations/{}", op["id"].as_str().unwrap())
    );
    assert_eq!(op["status"], "queued");
    op
}

async fn destroy(app: &TestApp) -> reqwest::Response {
    app.request(
        Method::DELETE,
        &format!("{ENV}?confirm=true"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await
}

pub async fn status(app: &TestApp) -> Value {
    app.get(&format!("{ENV}/status"))
        .await
        .json()
        .await
        .unwrap()
}

pub async fn operation(app: &TestApp, op: &Value) -> Value {
    app.get(&format!(
        "/api/v1/operations/{}",
        op["id"].as_str().unwrap()
    ))
    .await
    .json()
    .await
    .unwrap()
}

#[actix_web::test]
async fn deploy_without_a_config_is_409_naming_what_is_missing() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let resp = app.post(&format!("{ENV}/deploy"), json!({})).await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "/problems/config-missing");
    assert!(body["detail"].as_str().unwrap().contains("acme/prod"));
    app.stop().await;
}

#[actix_web::test]
async fn destroy_needs_confirmation_and_a_deployed_stack() {
    let app = spawn_app().await;
    with_config(&app).await;
    let unconfirmed = app.delete(ENV).await;
    assert_eq!(unconfirmed.status(), 422);
    let never = destroy(&app).await;
    assert_eq!(never.status(), 409);
    let body: Value = never.json().await.unwrap();
    assert_eq!(body["type"], "/problems/not-deployed");
    let refresh = app.post(&format!("{ENV}/refresh"), json!({})).await;
    assert_eq!(refresh.status(), 409);
    app.stop().await;
}

#[actix_web::test]
async fn deploy_succeeds_with_outputs_and_redacts_secrets() {
    let app = spawn_app().await;
    with_config(&app).await;
    let op = start(&app, "deploy").await;
    assert_eq!(status(&app).await["status"], "pending");
    assert_eq!(app.run_pending_operations().await, 1);

    let done = operation(&app, &op).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["summary"]["create"], 3);
    assert_eq!(done["config_version"], 1);
    let st = status(&app).await;
    assert_eq!(st["status"], "succeeded");
    assert_eq!(st["stack_name"], "acme-prod");
    assert_eq!(st["last_operation"]["id"], op["id"]);
    assert_eq!(st["outputs"]["vpcId"]["value"], "vpc-0abc");
    assert_eq!(st["outputs"]["kubeconfig"]["secret"], true);
    assert_eq!(st["outputs"]["kubeconfig"]["value"], Value::Null);

    let viewer = app.token("viewer").await;
    let outputs = app
        .request(Method::GET, &format!("{ENV}/outputs"), Some(&viewer), None)
        .await;
    let outputs: Value = outputs.json().await.unwrap();
    assert_eq!(outputs["kubeconfig"]["value"], Value::Null);
    let denied = app
        .request(
            Method::GET,
            &format!("{ENV}/outputs?show_secrets=true"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(denied.status(), 403);
    let revealed: Value = app
        .get(&format!("{ENV}/outputs?show_secrets=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["kubeconfig"]["value"], "kubeconfig-of-acme-prod");
    // The secret output is not stored in plaintext.
    for (file, bytes) in app.data_files() {
        let needle = b"kubeconfig-of-acme-prod";
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{file}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn redeploy_reports_no_changes_preview_changes_nothing_and_destroy_ends_destroyed() {
    let app = spawn_app().await;
    with_config(&app).await;
    start(&app, "deploy").await;
    app.run_pending_operations().await;

    let again = start(&app, "deploy").await;
    app.run_pending_operations().await;
    let again = operation(&app, &again).await;
    assert_eq!(again["summary"], json!({"same": 3}));

    let preview = start(&app, "preview").await;
    app.run_pending_operations().await;
    assert_eq!(operation(&app, &preview).await["status"], "succeeded");
    assert_eq!(
        status(&app).await["status"],
        "succeeded",
        "a preview keeps the status"
    );

    let refresh = start(&app, "refresh").await;
    app.run_pending_operations().await;
    assert_eq!(operation(&app, &refresh).await["status"], "succeeded");

    let resp = destroy(&app).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(status(&app).await["status"], "destroying");
    app.run_pending_operations().await;
    let st = status(&app).await;
    assert_eq!(st["status"], "destroyed");
    assert_eq!(st["outputs"], json!({}));

    // After a destroy, the config and the tenant can go, and a new deploy works.
    let history: Value = app
        .get(&format!("{ENV}/operations"))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].clone())
        .collect();
    assert_eq!(kinds, ["destroy", "refresh", "preview", "update", "update"]);
    start(&app, "deploy").await;
    app.run_pending_operations().await;
    assert_eq!(status(&app).await["status"], "succeeded");
    destroy(&app).await;
    app.run_pending_operations().await;
    assert_eq!(app.delete(&format!("{ENV}/config")).await.status(), 204);
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    app.stop().await;
}

#[actix_web::test]
async fn a_failed_deploy_records_the_engine_message_and_the_next_deploy_works() {
    let app = spawn_app().await;
    with_config(&app).await;
    app.executor.script(
        "acme-prod",
        Script {
            fail: Some("error: creating EKS Cluster: InvalidParameterException".into()),
            block: false,
            ..Script::default()
        },
    );
    let op = start(&app, "deploy").await;
    app.run_pending_operations().await;
    let failed = operation(&app, &op).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("InvalidParameterException")
    );
    let st = status(&app).await;
    assert_eq!(st["status"], "failed");
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("InvalidParameterException")
    );
    // Deleting the tenant is refused: the failed stack may hold resources.
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 409);

    app.executor.script("acme-prod", Script::default());
    start(&app, "deploy").await;
    app.run_pending_operations().await;
    let st = status(&app).await;
    assert_eq!(st["status"], "succeeded");
    assert_eq!(st["error"], Value::Null);
    app.stop().await;
}

#[actix_web::test]
async fn cancelling_a_queued_operation_is_immediate_and_restores_the_status() {
    let app = spawn_app().await;
    with_config(&app).await;
    let op = start(&app, "deploy").await;
    let resp = app
        .post(
            &format!("/api/v1/operations/{}/cancel", op["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "cancelled");
    assert_eq!(status(&app).await["status"], "not_deployed");
    assert_eq!(app.run_pending_operations().await, 0);
    assert!(app.executor.calls().is_empty(), "nothing ran");
    let again = app
        .post(
            &format!("/api/v1/operations/{}/cancel", op["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(again.status(), 409);
    app.stop().await;
}

#[actix_web::test]
async fn cancelling_a_running_operation_interrupts_it() {
    let app = spawn_app_with(|s| s.worker.concurrency = 2).await;
    with_config(&app).await;
    app.executor.script(
        "acme-prod",
        Script {
            fail: None,
            block: true,
            ..Script::default()
        },
    );
    let op = start(&app, "deploy").await;
    let id = op["id"].as_str().unwrap().to_owned();
    app.wait_for_operation(&id, |s| s == "running").await;
    let resp = app
        .post(&format!("/api/v1/operations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(resp.status(), 202);
    let done = app.wait_for_operation(&id, |s| s == "cancelled").await;
    assert_eq!(done["error"], "cancelled on request");
    assert_eq!(status(&app).await["status"], "failed");
    app.stop().await;
}

#[actix_web::test]
async fn one_stack_runs_one_operation_at_a_time_while_stacks_run_in_parallel() {
    let app = spawn_app_with(|s| s.worker.concurrency = 4).await;
    with_config(&app).await;
    assert_eq!(
        app.save_config("acme", "stage", json!({})).await.status(),
        201
    );
    for stack in ["acme-prod", "acme-stage"] {
        app.executor.script(
            stack,
            Script {
                fail: None,
                block: true,
                ..Script::default()
            },
        );
    }
    let first = start(&app, "deploy").await;
    let second = start(&app, "deploy").await;
    let other = app
        .post("/api/v1/tenants/acme/environments/stage/deploy", json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (first_id, second_id) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    app.wait_for_operation(first_id, |s| s == "running").await;
    app.wait_for_operation(other["id"].as_str().unwrap(), |s| s == "running")
        .await;
    // Two stacks run at once; the second deploy of acme-prod waits its turn.
    wait_until_running(&app, &["acme-prod", "acme-stage"]).await;
    assert_eq!(operation(&app, &second).await["status"], "queued");

    app.executor.release("acme-prod");
    app.wait_for_operation(first_id, |s| s == "succeeded").await;
    app.wait_for_operation(second_id, |s| s == "running").await;
    app.executor.release("acme-prod");
    app.executor.release("acme-stage");
    app.wait_for_operation(second_id, |s| s == "succeeded")
        .await;
    app.wait_for_operation(other["id"].as_str().unwrap(), |s| s == "succeeded")
        .await;
    // Runs of one stack never overlapped, and ran in queue order.
    let prod: Vec<_> = app
        .executor
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Started(_, s, _) | Call::Ended(_, s) if s == "acme-prod"))
        .collect();
    assert!(
        matches!(&prod[..], [Call::Started(a, ..), Call::Ended(b, _), Call::Started(c, ..), Call::Ended(d, _)]
        if a == first_id && b == first_id && c == second_id && d == second_id),
        "{prod:?}"
    );
    app.stop().await;
}

/// Marks an operation as claimed by a worker that died on its `runs`-th run: running, with a
/// lease that expired 30 s ago.
fn claimed_by_a_dead_worker(app: &TestApp, op_id: &str, runs: i32) {
    use byoc::store::schema::operations::dsl::*;
    use diesel::prelude::*;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(30);
    diesel::update(operations.filter(id.eq(op_id)))
        .set((
            status.eq("running"),
            worker_id.eq("dead-worker"),
            lease_expires_at.eq(Some(past)),
            attempt.eq(runs),
        ))
        .execute(&mut *app.db())
        .unwrap();
}

#[actix_web::test]
async fn an_operation_whose_worker_died_is_recovered_and_rerun() {
    let app = spawn_app().await;
    with_config(&app).await;
    let op = start(&app, "deploy").await;
    let id = op["id"].as_str().unwrap().to_owned();
    // A worker claimed it and died: running, with a lease that has expired.
    claimed_by_a_dead_worker(&app, &id, 1);
    app.run_pending_operations().await;
    let done = operation(&app, &op).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["attempt"], 2);
    assert_eq!(app.executor.calls()[0], Call::Recovered(id.clone()));
    let events: Value = app
        .get(&format!("/api/v1/operations/{id}/events"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "byoc.recovery")
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_operation_that_keeps_losing_its_worker_fails_with_the_reason() {
    let app = spawn_app().await;
    with_config(&app).await;
    let op = start(&app, "deploy").await;
    let id = op["id"].as_str().unwrap().to_owned();
    claimed_by_a_dead_worker(&app, &id, 3);
    app.run_pending_operations().await;
    let done = operation(&app, &op).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("stopped responding"),
        "{done}"
    );
    assert_eq!(status(&app).await["status"], "failed");
    // The lock was still cleared, so the next deploy just works.
    assert_eq!(app.executor.calls(), [Call::Recovered(id)]);
    start(&app, "deploy").await;
    app.run_pending_operations().await;
    assert_eq!(status(&app).await["status"], "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn a_hung_operation_is_stopped_by_the_timeout() {
    let app = spawn_app_with(|s| {
        s.worker.concurrency = 1;
        s.worker.operation_timeout = Duration::from_millis(300);
    })
    .await;
    with_config(&app).await;
    app.executor.script(
        "acme-prod",
        Script {
            fail: None,
            block: true,
            ..Script::default()
        },
    );
    let op = start(&app, "deploy").await;
    let done = app
        .wait_for_operation(op["id"].as_str().unwrap(), |s| s == "cancelled")
        .await;
    assert!(
        done["error"].as_str().unwrap().contains("timed out"),
        "{done}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_operation_whose_program_does_not_render_or_validate_is_refused_with_422() {
    let app = spawn_app().await;
    let created = app.create_tenant("acme").await;
    let saved: Value = app
        .save_config("acme", "prod", json!({}))
        .await
        .json()
        .await
        .unwrap();
    // A stored config the resolver would have refused (NAT per AZ with no public subnets),
    // as an older byoc or a manual edit might have left it.
    let mut config = saved["config"].clone();
    config["vpc"]["nat_gateway_strategy"] = json!("one_per_az");
    config["vpc"]["public_subnets"] = json!([]);
    let tenant_id = created["tenant"]["id"].as_str().unwrap();
    byoc::store::configs::insert_next(&mut app.db(), tenant_id, "prod", &config.to_string())
        .unwrap();
    let resp = app.post(&format!("{ENV}/deploy"), json!({})).await;
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/validation-failed");
    assert!(
        !problem["errors"].as_array().unwrap().is_empty(),
        "{problem}"
    );
    // Nothing was queued.
    let history: Value = app
        .get(&format!("{ENV}/operations"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history, json!([]));
    app.stop().await;
}

#[actix_web::test]
async fn parallel_stacks_are_limited_by_the_concurrency_setting() {
    let app = spawn_app_with(|s| s.worker.concurrency = 1).await;
    with_config(&app).await;
    assert_eq!(
        app.save_config("acme", "stage", json!({})).await.status(),
        201
    );
    for stack in ["acme-prod", "acme-stage"] {
        app.executor.script(
            stack,
            Script {
                fail: None,
                block: true,
                ..Script::default()
            },
        );
    }
    let prod = start(&app, "deploy").await;
    let stage: Value = app
        .post("/api/v1/tenants/acme/environments/stage/deploy", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let (prod_id, stage_id) = (prod["id"].as_str().unwrap(), stage["id"].as_str().unwrap());
    app.wait_for_operation(prod_id, |s| s == "running").await;
    // One slot: the other stack waits although nothing else blocks it.
    wait_until_running(&app, &["acme-prod"]).await;
    assert_eq!(operation(&app, &stage).await["status"], "queued");
    app.executor.release("acme-prod");
    app.wait_for_operation(stage_id, |s| s == "running").await;
    wait_until_running(&app, &["acme-stage"]).await;
    app.executor.release("acme-stage");
    app.wait_for_operation(stage_id, |s| s == "succeeded").await;
    app.stop().await;
}

/// Polls until exactly `stacks` are inside the executor (an operation shows `running` when it
/// is claimed, a moment before the executor starts it).
async fn wait_until_running(app: &TestApp, stacks: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut running = app.executor.running();
        running.sort();
        if running == stacks {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "running: {running:?}, want {stacks:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_transient_failure_is_retried_up_to_the_attempt_limit() {
    let app = spawn_app().await;
    with_config(&app).await;
    app.executor.script(
        "acme-prod",
        Script {
            fail: Some("AWS STS unreachable".into()),
            retryable: true,
            ..Script::default()
        },
    );
    let op = start(&app, "deploy").await;
    app.run_pending_operations().await;
    let done = operation(&app, &op).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(
        done["attempt"], 3,
        "BYOC_MAX_ATTEMPTS runs, then the failure is final"
    );
    let events: Value = app
        .get(&format!(
            "/api/v1/operations/{}/events?limit=1000",
            op["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let retries = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "byoc.retry")
        .count();
    assert_eq!(retries, 2);
    app.stop().await;
}

#[actix_web::test]
async fn work_queued_behind_a_running_deploy_does_not_change_the_status_until_it_starts() {
    let app = spawn_app_with(|s| s.worker.concurrency = 1).await;
    with_config(&app).await;
    let first = start(&app, "deploy").await;
    app.wait_for_operation(first["id"].as_str().unwrap(), |s| s == "succeeded")
        .await;
    app.executor.script(
        "acme-prod",
        Script {
            block: true,
            ..Script::default()
        },
    );
    let update = start(&app, "deploy").await;
    let update_id = update["id"].as_str().unwrap();
    app.wait_for_operation(update_id, |s| s == "running").await;
    assert_eq!(status(&app).await["status"], "in_progress");

    let resp = app
        .request(
            Method::DELETE,
            &format!("{ENV}?confirm=true"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    let destroy: Value = resp.json().await.unwrap();
    assert_eq!(
        status(&app).await["status"],
        "in_progress",
        "the deploy is still running"
    );
    let cancel = app
        .post(
            &format!(
                "/api/v1/operations/{}/cancel",
                destroy["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(cancel.status(), 202);
    assert_eq!(
        status(&app).await["status"],
        "in_progress",
        "nothing to restore yet"
    );

    app.executor.release("acme-prod");
    app.wait_for_operation(update_id, |s| s == "succeeded")
        .await;
    assert_eq!(status(&app).await["status"], "succeeded");
    app.stop().await;
}
