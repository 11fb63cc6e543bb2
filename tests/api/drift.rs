//! Drift detection through the HTTP API (issue 18), with the scripted executor's drift checks:
//! the schedule follows the config, reports keep first/last seen, checks yield to operations
//! and never block one, and the fleet-wide cap holds. The check against the pulumi stand-in is
//! `tests/e2e/drift.rs`.

use std::time::Duration;

use byoc::domain::StackStatus;
use byoc::domain::drift::DriftedResource;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::poll::wait_until;
use crate::routes::{Action, PROD};

fn vpc_drift() -> Vec<DriftedResource> {
    vec![DriftedResource {
        urn: "urn:pulumi:acme-prod::byoc-platform::aws:ec2/vpc:Vpc::vpc".into(),
        type_: "aws:ec2/vpc:Vpc".into(),
        name: "vpc".into(),
        op: "update".into(),
        paths: vec!["enableDnsHostnames".into()],
    }]
}

/// `acme/prod` deployed, with checks every minute; its schedule exists and is due.
async fn deployed_with_checks(app: &TestApp) {
    app.create_tenant(PROD.slug).await;
    let body = json!({"drift_check": {"every": "1m"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await; // creates the schedule (its first time is random)
    app.make_drift_checks_due();
}

async fn drift(app: &TestApp) -> Value {
    app.get_json(&format!("{}/drift", PROD.path())).await
}

#[actix_web::test]
async fn a_due_check_reports_the_drifted_resource_with_first_and_last_seen() {
    let app = TestApp::builder().spawn().await;
    deployed_with_checks(&app).await;
    app.executor.set_drift(&PROD.stack(), vpc_drift());
    assert_eq!(app.run_drift_checks().await, 1);
    let report = drift(&app).await;
    assert_eq!(report["scheduled"], true);
    assert_eq!(report["error"], Value::Null);
    let resources = report["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{report}");
    assert_eq!(resources[0]["type"], "aws:ec2/vpc:Vpc");
    assert_eq!(resources[0]["name"], "vpc");
    assert_eq!(resources[0]["paths"], json!(["enableDnsHostnames"]));
    let first_seen = resources[0]["first_seen"].clone();
    assert_eq!(app.run_drift_checks().await, 0, "not due again yet");

    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let again = drift(&app).await;
    assert_eq!(again["resources"][0]["first_seen"], first_seen);
    assert!(again["resources"][0]["last_seen"].as_str() > first_seen.as_str());

    let fleet: Value = app.get_json("/api/v1/drift").await;
    assert_eq!(fleet["drifted_environments"], 1);
    assert_eq!(fleet["types"][0]["type"], "aws:ec2/vpc:Vpc");
    assert_eq!(fleet["types"][0]["resources"][0]["tenant_slug"], "acme");
    assert_eq!(fleet["types"][0]["resources"][0]["environment"], "prod");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("byoc_drifted_stacks 1") || metrics.contains("drifted_stacks 1"),
        "{metrics}"
    );
    assert!(metrics.contains("drifted_resources 1"), "{metrics}");

    // Fixed out of band: the next check clears the report.
    app.executor.set_drift(&PROD.stack(), vec![]);
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    assert_eq!(drift(&app).await["resources"], json!([]));
    app.stop().await;
}

#[actix_web::test]
async fn without_drift_check_in_the_config_nothing_is_scheduled() {
    let app = TestApp::builder().spawn().await;
    app.with_config(PROD).await;
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await;
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 0);
    assert_eq!(drift(&app).await["scheduled"], false);
    // A config that asks for checks schedules them; one that stops asking removes them.
    let body = json!({"drift_check": {"every": "1m"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );
    app.run_drift_checks().await;
    assert_eq!(drift(&app).await["scheduled"], true);
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, json!({}))
            .await
            .status(),
        201
    );
    app.run_drift_checks().await;
    assert_eq!(drift(&app).await["scheduled"], false);
    assert!(app.executor.drift_runs().2.len() <= 1);
    app.stop().await;
}

#[actix_web::test]
async fn a_check_yields_to_queued_work_and_a_deploy_queued_during_a_check_runs_at_once() {
    let app = TestApp::builder().spawn().await;
    deployed_with_checks(&app).await;
    app.executor.set_drift(&PROD.stack(), vpc_drift());

    // Queued work first: the due check is passed over.
    let queued = app.start(PROD, Action::Deploy).await;
    assert_eq!(app.run_drift_checks().await, 0);
    app.run_pending_operations().await;
    assert_eq!(app.operation(&queued.id).await.status, "succeeded");

    // A check in flight: a deploy queued now runs to its end while the check still waits.
    let checked_before = drift(&app).await["checked_at"].clone();
    app.executor.hold_drift_checks();
    let checks = {
        let app = &app;
        async move { app.run_drift_checks().await }
    };
    let deploy = async {
        wait_until("the drift check to start", Duration::from_secs(20), || {
            app.executor.drift_runs().0 == 1
        })
        .await;
        let op = app.start(PROD, Action::Deploy).await;
        app.run_pending_operations().await;
        let done = app.operation(&op.id).await;
        assert_eq!(app.executor.drift_runs().0, 1, "the check is still running");
        app.executor.release_drift();
        done
    };
    let (ran, done) = tokio::join!(checks, deploy);
    assert_eq!(ran, 1);
    assert_eq!(done.status, "succeeded", "{done:?}");
    // The check saw a stack in the middle of a change: its result is dropped.
    assert_eq!(drift(&app).await["resources"], json!([]));
    assert_eq!(drift(&app).await["checked_at"], checked_before);
    app.stop().await;
}

#[actix_web::test]
async fn a_hundred_due_checks_never_run_more_than_the_cap() {
    let app = TestApp::builder()
        .settings(|s| s.worker.drift_max_concurrent = 3)
        .spawn()
        .await;
    let tenant = app.create_tenant("acme").await;
    for i in 0..100 {
        let env = format!("e{i}");
        let body = json!({"drift_check": {"every": "1m"}});
        assert_eq!(app.save_config("acme", &env, body).await.status(), 201);
        app.force_stack_status(&tenant.tenant.id, &env, StackStatus::Succeeded);
    }
    app.run_drift_checks().await;
    app.make_drift_checks_due();
    // Several claimers at once, as several worker processes would be.
    let mut ran = 0;
    while app.executor.drift_runs().2.len() < 100 {
        let (a, b, c, d) = tokio::join!(
            app.run_drift_checks(),
            app.run_drift_checks(),
            app.run_drift_checks(),
            app.run_drift_checks()
        );
        ran += a + b + c + d;
        assert!(ran <= 200, "checks stopped making progress");
    }
    let (in_flight, most, checked) = app.executor.drift_runs();
    assert_eq!(in_flight, 0);
    assert!(most <= 3, "{most} checks ran at once");
    let mut unique = checked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 100);
    app.stop().await;
}

#[actix_web::test]
async fn remediation_queues_a_deploy_subject_to_the_approval_policy() {
    let app = TestApp::builder().spawn().await;
    app.create_tenant(PROD.slug).await;
    let body = json!({"drift_check": {"every": "1m", "remediate": true}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await;
    // Held for approval from now on.
    let body = json!({"drift_check": {"every": "1m", "remediate": true}, "approval": {"policy": "always"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, body).await.status(),
        201
    );
    app.executor.set_drift(&PROD.stack(), vpc_drift());
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let queued = app.history(PROD).await.into_iter().next().unwrap();
    assert_eq!(queued.kind, "update");
    assert_eq!(queued.status, "queued");
    assert_eq!(queued.requested_by.as_deref(), Some("drift-remediation"));
    assert_eq!(queued.config_version, Some(2));
    app.run_pending_operations().await;
    assert_eq!(app.operation(&queued.id).await.status, "awaiting_approval");
    app.stop().await;
}

#[actix_web::test]
async fn without_remediation_a_check_queues_nothing() {
    let app = TestApp::builder().spawn().await;
    deployed_with_checks(&app).await;
    app.executor.set_drift(&PROD.stack(), vpc_drift());
    assert_eq!(app.run_drift_checks().await, 1);
    let ops = app.history(PROD).await;
    assert_eq!(ops.len(), 1, "only the first deploy: {ops:?}");
    app.stop().await;
}
