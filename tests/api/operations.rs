//! Operations through the HTTP API, start to end, with the scripted executor standing in for
//! pulumi (end-to-end tests with the pulumi stand-in live in `tests/e2e.rs`). Queue order and
//! cancellation are in `queue.rs`, leases and recovery in `recovery.rs`.

use byoc::domain::StackStatus;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::spawn_app;
use crate::routes::{Action, PROD, Problem};
use crate::scripted::Script;

#[actix_web::test]
async fn deploy_without_a_config_is_409_naming_what_is_missing() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let problem = Problem::of(app.queue(PROD, Action::Deploy).await, 409).await;
    assert_eq!(problem.kind, "/problems/config-missing");
    assert!(problem.detail.contains("acme/prod"), "{problem:?}");
    app.stop().await;
}

#[actix_web::test]
async fn destroy_needs_confirmation_and_a_deployed_stack() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    assert_eq!(app.delete(&PROD.path()).await.status(), 422);
    let never = Problem::of(app.queue(PROD, Action::Destroy).await, 409).await;
    assert_eq!(never.kind, "/problems/not-deployed");
    assert_eq!(app.queue(PROD, Action::Refresh).await.status(), 409);
    app.stop().await;
}

#[actix_web::test]
async fn deploy_succeeds_with_outputs_and_redacts_secrets() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let op = app.start(PROD, Action::Deploy).await;
    assert_eq!(op.executor, None, "no worker has claimed it yet");
    assert_eq!(app.status(PROD).await.status, "pending");
    assert_eq!(app.run_pending_operations().await, 1);

    let done = app.operation(&op.id).await;
    assert_eq!(done.status, "succeeded");
    assert_eq!(done.changed("create"), 3);
    assert_eq!(done.config_version, Some(1));
    assert_eq!(
        done.executor.as_deref(),
        Some("scripted"),
        "the executor of the worker that ran it"
    );
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded");
    assert_eq!(st.stack_name, "acme-prod");
    assert_eq!(st.last_operation.unwrap().id, op.id);
    assert_eq!(st.outputs["vpcId"]["value"], "vpc-0abc");
    assert_eq!(st.outputs["kubeconfig"]["secret"], true);
    assert_eq!(st.outputs["kubeconfig"]["value"], Value::Null);

    let viewer = app.token("viewer").await;
    let outputs = format!("{}/outputs", PROD.path());
    let redacted: Value = app
        .request(Method::GET, &outputs, Some(&viewer), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(redacted["kubeconfig"]["value"], Value::Null);
    let reveal = format!("{outputs}?show_secrets=true");
    let denied = app.request(Method::GET, &reveal, Some(&viewer), None).await;
    assert_eq!(denied.status(), 403);
    let revealed: Value = app.get_json(&reveal).await;
    assert_eq!(revealed["kubeconfig"]["value"], "kubeconfig-of-acme-prod");
    // The secret output is not stored in plaintext.
    let found = app.data_files_contain(b"kubeconfig-of-acme-prod");
    assert_eq!(found, None, "secret output on disk");
    app.stop().await;
}

#[actix_web::test]
async fn redeploy_reports_no_changes_preview_changes_nothing_and_destroy_ends_destroyed() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    app.run(PROD, Action::Deploy).await;
    let again = app.run(PROD, Action::Deploy).await;
    assert_eq!(again.summary, Some([("same".to_owned(), 3)].into()));

    let preview = app.run(PROD, Action::Preview).await;
    assert_eq!(preview.status, "succeeded");
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded", "a preview keeps the status");
    assert_eq!(app.run(PROD, Action::Refresh).await.status, "succeeded");

    let destroy = app.start(PROD, Action::Destroy).await;
    assert_eq!(app.status(PROD).await.status, "destroying");
    app.run_pending_operations().await;
    assert_eq!(app.operation(&destroy.id).await.status, "succeeded");
    let st = app.status(PROD).await;
    assert_eq!(st.status, "destroyed");
    assert_eq!(st.outputs, json!({}));

    let kinds: Vec<String> = app
        .history(PROD)
        .await
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(kinds, ["destroy", "refresh", "preview", "update", "update"]);
    // After a destroy, a new deploy works, and then the config and the tenant can go.
    app.run(PROD, Action::Deploy).await;
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.run(PROD, Action::Destroy).await;
    let config = format!("{}/config", PROD.path());
    assert_eq!(app.delete(&config).await.status(), 204);
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    app.stop().await;
}

#[actix_web::test]
async fn a_failed_deploy_records_the_engine_message_and_the_next_deploy_works() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    let message = "error: creating EKS Cluster: InvalidParameterException";
    app.executor.script(
        &PROD.stack(),
        Script {
            fail: Some(message.into()),
            ..Script::default()
        },
    );
    let failed = app.run(PROD, Action::Deploy).await;
    assert_eq!(failed.status, "failed");
    assert!(failed.error().contains("InvalidParameterException"));
    let st = app.status(PROD).await;
    assert_eq!(st.status, "failed");
    assert_eq!(st.error.as_deref(), Some(message));
    // Deleting the tenant is refused: the failed stack may hold resources.
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 409);

    app.executor.script(&PROD.stack(), Script::default());
    app.run(PROD, Action::Deploy).await;
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded");
    assert_eq!(st.error, None);
    app.stop().await;
}

#[actix_web::test]
async fn an_operation_whose_program_does_not_render_or_validate_is_refused_with_422() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await.tenant;
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
    let config = config.to_string();
    let new = byoc::store::configs::NewConfig {
        config: &config,
        request: None,
        created_by: None,
    };
    byoc::store::configs::insert_next(&mut app.db(), &tenant.id, "prod", new).unwrap();
    let problem = Problem::of(app.queue(PROD, Action::Deploy).await, 422).await;
    assert_eq!(problem.kind, "/problems/validation-failed");
    assert!(!problem.errors.is_empty(), "{problem:?}");
    assert!(app.history(PROD).await.is_empty(), "nothing was queued");
    app.stop().await;
}

#[actix_web::test]
async fn the_environments_list_shows_each_stack_with_its_status_and_operations() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    app.create_tenant("beta").await;
    app.save_config("beta", "dev", json!({})).await;
    let op = app.run(PROD, Action::Deploy).await;
    let list: Value = app.get_json("/api/v1/environments").await;
    let items = list["items"].as_array().unwrap();
    let names: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["tenant_slug"].as_str().unwrap(),
                i["environment"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("acme", "prod"), ("beta", "dev")]);
    assert_eq!(items[0]["status"], "succeeded");
    assert_eq!(items[0]["last_operation"]["id"], op.id.as_str());
    assert_eq!(items[0]["config_version"], 1);
    assert_eq!(items[1]["status"], "not_deployed");
    let one: Value = app.get_json("/api/v1/environments?tenant=beta").await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let unauthenticated = app
        .request(Method::GET, "/api/v1/environments", None, None)
        .await;
    assert_eq!(unauthenticated.status(), 401);
    app.stop().await;
}

/// GET status answers from a body remembered with the rows it was rendered from (issue 16,
/// `api::status_cache`). Each change the status shows — an operation queued, finished, a
/// config changed and deployed, a write by another process straight to the database, a
/// destroy — must be what the very next read answers, though the read before it was
/// answered twice (the second time from the cache).
#[actix_web::test]
async fn a_remembered_status_never_outlives_a_change() {
    use byoc::store::schema::operations::dsl as ops;
    use diesel::prelude::*;

    let app = spawn_app().await;
    let tenant_id = app.with_config(PROD).await.tenant.id;
    let path = format!("{}/status", PROD.path());
    // Twice, the same answer: the first renders it, the second may come from the cache.
    let read = || async {
        let first: Value = app.get_json(&path).await;
        let second: Value = app.get_json(&path).await;
        assert_eq!(first, second);
        second
    };
    let op = app.start(PROD, Action::Deploy).await;
    assert_eq!(read().await["status"], "pending");

    app.run_pending_operations().await;
    let st = read().await;
    assert_eq!(st["status"], "succeeded");
    assert_eq!(st["current_operation"], Value::Null);
    assert_eq!(st["last_operation"]["id"], json!(op.id));
    assert_eq!(st["last_operation"]["status"], "succeeded");
    assert_eq!(st["last_operation"]["config_version"], 1);
    assert_eq!(st["outputs"]["vpcId"]["value"], "vpc-0abc");

    // Another process (a worker elsewhere) writes the operation row, then the stack row.
    diesel::update(ops::operations.filter(ops::id.eq(&op.id)))
        .set(ops::error.eq("written by another process"))
        .execute(&mut *app.db())
        .unwrap();
    assert_eq!(
        read().await["last_operation"]["error"],
        "written by another process"
    );
    app.force_stack_status(&tenant_id, PROD.env, StackStatus::Failed);
    assert_eq!(read().await["status"], "failed");

    // A new config, deployed: the last operation is the new one, at version 2.
    app.save_config(PROD.slug, PROD.env, json!({"vpc_cidr": "10.2.0.0/16"}))
        .await;
    let again = app.run(PROD, Action::Deploy).await;
    let st = read().await;
    assert_eq!(st["status"], "succeeded");
    assert_eq!(st["last_operation"]["id"], json!(again.id));
    assert_eq!(st["last_operation"]["config_version"], 2);

    let destroy = app.start(PROD, Action::Destroy).await;
    assert_eq!(read().await["status"], "destroying");
    app.run_pending_operations().await;
    let st = read().await;
    assert_eq!(st["status"], "destroyed");
    assert_eq!(st["outputs"], json!({}));
    assert_eq!(st["last_operation"]["id"], json!(destroy.id));
    app.stop().await;
}
