//! Change control through the HTTP API (issue 18), with the scripted executor: a deploy under
//! an approval policy saves a plan and waits; approve, reject, cancel; stale plans are refused
//! with 409 and nothing runs. The same flow against the pulumi stand-in is
//! `tests/e2e/approvals.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, spawn_app};
use crate::routes::{Action, Operation, PROD, Problem};
use crate::scripted::{Call, scripted_plan};

/// Tenant `acme` with `prod` under approval policy `policy`.
async fn with_policy(app: &TestApp, policy: &str) {
    app.create_tenant(PROD.slug).await;
    let body = json!({"approval": {"policy": policy}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );
}

/// Queues a deploy and runs its preview: it must end awaiting approval.
async fn awaiting(app: &TestApp) -> Operation {
    let op = app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    let op = app.operation(&op.id).await;
    assert_eq!(op.status, "awaiting_approval", "{op:?}");
    op
}

async fn decide(app: &TestApp, id: &str, what: &str, token: &str) -> reqwest::Response {
    let path = format!("/api/v1/operations/{id}/{what}");
    app.request(Method::POST, &path, Some(token), Some(json!({})))
        .await
}

async fn plan(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/operations/{id}/plan")).await
}

fn started(app: &TestApp) -> Vec<String> {
    app.executor
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Started(_, _, kind) => Some(kind),
            _ => None,
        })
        .collect()
}

#[actix_web::test]
async fn an_approved_deploy_applies_exactly_the_plan_its_preview_saved() {
    let app = spawn_app().await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;
    assert_eq!(started(&app), ["plan"], "only the preview ran");
    assert_eq!(app.status(PROD).await.status, "pending");

    let p = plan(&app, &op.id).await;
    assert_eq!(p["changes"].as_array().unwrap().len(), 3, "{p}");
    assert_eq!(p["changes"][0]["op"], "create");
    assert_eq!(p["changes"][0]["type"], "aws:ec2/vpc:Vpc");
    assert!(p["hold_reason"].as_str().unwrap().contains("always"));
    assert_eq!(p["decision"], Value::Null);
    assert!(p.get("plan").is_none(), "the plan file is never shown");
    // Sealed at rest: the plan's text is nowhere in the database files.
    if !app.on_postgres() {
        assert_eq!(app.data_files_contain(b"plan-secret-value"), None);
    }

    // A viewer reads the plan but may not decide.
    let viewer = app.token("viewer").await;
    assert_eq!(decide(&app, &op.id, "approve", &viewer).await.status(), 403);

    let operator = app.token("operator").await;
    let resp = decide(&app, &op.id, "approve", &operator).await;
    assert_eq!(resp.status(), 202);
    let queued: Operation = resp.json().await.unwrap();
    assert_eq!(queued.status, "queued");
    app.run_pending_operations().await;
    let done = app.operation(&op.id).await;
    assert_eq!(done.status, "succeeded", "{done:?}");
    assert_eq!(started(&app), ["plan", "apply-plan"]);
    assert_eq!(
        app.executor.applied_plans(),
        [(op.id.clone(), scripted_plan(&op.id))],
        "the update applied the plan its own preview saved"
    );
    let p = plan(&app, &op.id).await;
    assert_eq!(p["decision"], "approved");
    assert_eq!(p["decided_by"], "operator-test");
    assert!(p["decided_at"].is_string());
    assert_eq!(app.status(PROD).await.status, "succeeded");
    // Decided once: a second approval is a conflict.
    let again = Problem::of(decide(&app, &op.id, "approve", &operator).await, 409).await;
    assert_eq!(again.kind, "/problems/not-awaiting-approval");
    app.stop().await;
}

#[actix_web::test]
async fn a_config_saved_after_the_preview_makes_the_approval_a_409_and_nothing_runs() {
    let app = spawn_app().await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;
    let body = json!({"approval": {"policy": "always"}, "tags": {"team": "sre"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );

    let problem = Problem::of(
        app.post(&format!("/api/v1/operations/{}/approve", op.id), json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/config-changed");
    assert!(problem.detail.contains("version 2"), "{problem:?}");
    assert_eq!(app.run_pending_operations().await, 0, "nothing runs");
    assert_eq!(started(&app), ["plan"]);
    let op = app.operation(&op.id).await;
    assert_eq!(op.status, "cancelled");
    assert!(op.error().contains("approval refused"), "{op:?}");
    assert_eq!(plan(&app, &op.id).await["decision"], "refused");
    assert_eq!(app.status(PROD).await.status, "not_deployed");
    app.stop().await;
}

#[actix_web::test]
async fn another_update_of_the_stack_since_the_preview_makes_the_approval_a_409() {
    let app = spawn_app().await;
    with_policy(&app, "always").await;
    let first = awaiting(&app).await;
    // A second deploy of the same config is previewed, approved and applied meanwhile: the
    // deploy awaiting approval holds nothing.
    let second = awaiting(&app).await;
    assert_eq!(
        app.post(
            &format!("/api/v1/operations/{}/approve", second.id),
            json!({})
        )
        .await
        .status(),
        202
    );
    app.run_pending_operations().await;
    assert_eq!(app.operation(&second.id).await.status, "succeeded");

    let problem = Problem::of(
        app.post(
            &format!("/api/v1/operations/{}/approve", first.id),
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/stack-changed");
    assert!(problem.detail.contains(&second.id), "{problem:?}");
    assert_eq!(app.run_pending_operations().await, 0);
    assert_eq!(app.operation(&first.id).await.status, "cancelled");
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn an_expired_plan_is_refused() {
    let app = TestApp::builder()
        .settings(|s| s.worker.plan_ttl = std::time::Duration::ZERO)
        .spawn()
        .await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;
    let problem = Problem::of(
        app.post(&format!("/api/v1/operations/{}/approve", op.id), json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/plan-expired");
    assert_eq!(app.run_pending_operations().await, 0);
    app.stop().await;
}

#[actix_web::test]
async fn a_plan_left_to_expire_ends_its_deploy_cancelled_with_an_operation_finished_event() {
    use crate::webhooks::{Receiver, all_delivered, subscribe_to, webhook_settings};
    let receiver = Receiver::start(&[]);
    let app = TestApp::builder()
        .settings(|s| {
            webhook_settings(s);
            s.worker.plan_ttl = std::time::Duration::ZERO;
        })
        .spawn()
        .await;
    let (sub, _) = subscribe_to(&app, &receiver.url, &["operation.finished"]).await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;

    assert_eq!(app.expire_plans().await, 1);
    let ended = app.operation(&op.id).await;
    assert_eq!(ended.status, "cancelled");
    assert!(ended.error().starts_with("plan expired at "), "{ended:?}");
    let decided = plan(&app, &op.id).await;
    assert_eq!(decided["decision"], "expired");
    assert_eq!(decided["decided_by"], "byoc");
    assert_eq!(app.status(PROD).await.status, "not_deployed");
    // Ended once: a second sweep finds nothing, and the deploy can no longer be approved.
    assert_eq!(app.expire_plans().await, 0);
    let problem = Problem::of(
        decide(&app, &op.id, "approve", crate::app::ADMIN_TOKEN).await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/not-awaiting-approval");

    let items = all_delivered(&app, &sub, 1).await;
    let data = &items[0]["payload"]["data"];
    assert_eq!(data["operation_id"], op.id.as_str());
    assert_eq!(data["status"], "cancelled");
    assert_eq!(data["error"], ended.error());
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(app.run_pending_operations().await, 0);
    assert_eq!(started(&app), ["plan"], "nothing but the preview ran");
    app.stop().await;
    receiver.stop().await;
}

#[actix_web::test]
async fn rejecting_or_cancelling_a_deploy_awaiting_approval_ends_it_unrun() {
    let app = spawn_app().await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;
    let reject = format!("/api/v1/operations/{}/reject", op.id);
    // A reason must be one line of at most 500 characters; a refused one decides nothing.
    for bad in ["two\nlines", &"x".repeat(501)] {
        let problem = Problem::of(app.post(&reject, json!({"reason": bad})).await, 422).await;
        assert_eq!(problem.errors[0].field, "reason");
    }
    // `null` is the optional body's "none" (as the document's `oneOf` says): not an object.
    let problem = Problem::of(app.post(&reject, json!([])).await, 422).await;
    assert_eq!(problem.errors[0].field, "/");
    let resp = app
        .post(&reject, json!({"reason": "needs a maintenance window"}))
        .await;
    assert_eq!(resp.status(), 200);
    let rejected: Operation = resp.json().await.unwrap();
    assert_eq!(rejected.status, "cancelled");
    assert!(rejected.error().starts_with("rejected by"), "{rejected:?}");
    assert!(
        rejected.error().ends_with(": needs a maintenance window"),
        "{rejected:?}"
    );
    assert_eq!(plan(&app, &op.id).await["decision"], "rejected");
    assert_eq!(app.status(PROD).await.status, "not_deployed");

    let op = awaiting(&app).await;
    assert_eq!(app.cancel(&op.id).await.status(), 202);
    assert_eq!(app.operation(&op.id).await.status, "cancelled");
    let problem = Problem::of(
        app.post(&format!("/api/v1/operations/{}/approve", op.id), json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(problem.kind, "/problems/not-awaiting-approval");

    // A `null` body rejects without a reason.
    let op = awaiting(&app).await;
    let resp = app
        .post(
            &format!("/api/v1/operations/{}/reject", op.id),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let rejected: Operation = resp.json().await.unwrap();
    assert!(!rejected.error().contains(": "), "{rejected:?}");
    assert_eq!(app.run_pending_operations().await, 0);
    assert_eq!(started(&app), ["plan", "plan", "plan"]);
    app.stop().await;
}

#[actix_web::test]
async fn with_separate_requesters_the_requester_may_not_approve_its_own_deploy() {
    let app = TestApp::builder()
        .settings(|s| s.approvals.separate_requester = true)
        .spawn()
        .await;
    with_policy(&app, "always").await;
    let op = awaiting(&app).await;
    let problem = Problem::of(
        app.post(&format!("/api/v1/operations/{}/approve", op.id), json!({}))
            .await,
        403,
    )
    .await;
    assert_eq!(problem.kind, "/problems/self-approval");
    let operator = app.token("operator").await;
    assert_eq!(
        decide(&app, &op.id, "approve", &operator).await.status(),
        202
    );
    app.run_pending_operations().await;
    assert_eq!(app.operation(&op.id).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn without_a_policy_a_deploy_saves_no_plan() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.run(PROD, Action::Deploy).await;
    assert_eq!(op.status, "succeeded");
    assert_eq!(started(&app), ["update"]);
    Problem::of(
        app.get(&format!("/api/v1/operations/{}/plan", op.id)).await,
        404,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn an_invalid_approval_policy_names_the_field() {
    let app = spawn_app().await;
    app.create_tenant(PROD.slug).await;
    let body = json!({"approval": {"policy": "sometimes"}});
    let problem = Problem::of(app.save_config(PROD.slug, PROD.env, body).await, 422).await;
    assert_eq!(problem.errors[0].field, "/approval/policy", "{problem:?}");
    let body = json!({"approval": {"policy": "on_destructive", "protected_types": ["Vpc"]}});
    let problem = Problem::of(app.save_config(PROD.slug, PROD.env, body).await, 422).await;
    assert_eq!(
        problem.errors[0].field, "/approval/protected_types/0",
        "{problem:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_history_lists_only_the_deploys_awaiting_approval_when_asked() {
    let app = spawn_app().await;
    with_policy(&app, "always").await;
    let held = awaiting(&app).await;
    let preview = app.start(PROD, Action::Preview).await;
    let history = "/api/v1/tenants/acme/environments/prod/operations";
    let all: Vec<Operation> = app.get_json(history).await;
    assert_eq!(all.len(), 2, "{all:?}");

    let waiting: Vec<Operation> = app
        .get_json(&format!("{history}?status=awaiting_approval"))
        .await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].id, held.id);
    let queued: Vec<Operation> = app.get_json(&format!("{history}?status=queued")).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].id, preview.id);

    // Once decided, it no longer waits.
    let operator = app.token("operator").await;
    assert_eq!(
        decide(&app, &held.id, "reject", &operator).await.status(),
        200
    );
    let waiting: Vec<Operation> = app
        .get_json(&format!("{history}?status=awaiting_approval"))
        .await;
    assert!(waiting.is_empty(), "{waiting:?}");

    // A status that does not exist is a field error (the query extractor's 422).
    let resp = app.get(&format!("{history}?status=pending_forever")).await;
    assert_eq!(resp.status(), 422);
    app.run_pending_operations().await;
    app.stop().await;
}
