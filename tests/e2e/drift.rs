//! Drift detection end to end (issue 18): the worker's scheduled check runs `pulumi refresh
//! --preview-only` on the stand-in, whose fake cloud was changed out of band
//! (`PULUMI_STANDIN_DRIFT`, tests/support/pulumi_standin/cloud.py).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Aws, Pulumi, onboard};
use crate::local::local_app;
use crate::poll::wait_until;
use crate::routes::{Action, PROD};

fn argvs(pulumi: &Pulumi) -> Vec<Vec<String>> {
    pulumi
        .invocations()
        .iter()
        .map(|i| serde_json::from_value(i["argv"].clone()).unwrap())
        .collect()
}

/// The check on a CLI of `version` (the stand-in's default, 3.205.0, when `None`) runs
/// `command` (the argv words after `--non-interactive`).
async fn reports_exactly_the_drifted_resource(version: Option<&str>, command: [&str; 2]) {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let version_knob: Vec<(&str, &str)> = version
        .map(|v| vec![("PULUMI_STANDIN_VERSION", v)])
        .unwrap_or_default();
    pulumi.knobs(&version_knob);
    let app = local_app(&aws, &pulumi, 0).await;
    onboard(&app, json!({"drift_check": {"every": "1m"}})).await;
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await;
    let report: Value = app.get_json(&format!("{}/drift", PROD.path())).await;
    assert_eq!(report["resources"], json!([]), "nothing drifted yet");

    let mut knobs = version_knob.clone();
    knobs.push(("PULUMI_STANDIN_DRIFT", "vpc:enableDnsHostnames=false"));
    pulumi.knobs(&knobs);
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let report: Value = app.get_json(&format!("{}/drift", PROD.path())).await;
    assert_eq!(report["error"], Value::Null, "{report}");
    let resources = report["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "exactly the drifted resource: {report}");
    assert_eq!(resources[0]["type"], "aws:ec2/vpc:Vpc");
    assert_eq!(resources[0]["name"], "vpc");
    assert_eq!(resources[0]["paths"], json!(["enableDnsHostnames"]));
    let first_seen = resources[0]["first_seen"].clone();

    // The check is a refresh preview: no `--yes`, nothing written — a second check still
    // sees the same drift (a real refresh would have taken it into the state).
    let check = argvs(&pulumi).pop().unwrap();
    assert_eq!(check[1], command[0], "{check:?}");
    assert!(check.iter().any(|a| a == command[1]), "{check:?}");
    assert!(!check.iter().any(|a| a == "--yes"), "{check:?}");
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let again: Value = app.get_json(&format!("{}/drift", PROD.path())).await;
    assert_eq!(again["resources"][0]["first_seen"], first_seen);
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn a_scheduled_check_reports_exactly_the_resource_and_property_changed_out_of_band() {
    // CLIs from 3.229.0: `refresh --preview-only` takes no lock on a DIY backend.
    reports_exactly_the_drifted_resource(Some("v3.230.0"), ["refresh", "--preview-only"]).await;
}

#[actix_web::test]
async fn on_older_clis_the_check_is_a_preview_with_refresh() {
    // Before 3.229.0 `refresh --preview-only` held the stack's lock.
    reports_exactly_the_drifted_resource(None, ["preview", "--refresh"]).await;
}

#[actix_web::test]
async fn a_deploy_queued_during_a_check_runs_without_waiting_for_it() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    onboard(&app, json!({"drift_check": {"every": "1m"}})).await;
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await;
    app.make_drift_checks_due();

    // Every refresh step of the check takes a while; the deploy changes nothing (all `same`
    // steps, which do not wait).
    let started = pulumi.dir.path().join("started");
    let started_knob = started.display().to_string();
    pulumi.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "300"),
        ("PULUMI_STANDIN_STARTED", &started_knob),
    ]);
    let check_done = AtomicBool::new(false);
    let check = async {
        let ran = app.run_drift_checks().await;
        check_done.store(true, Ordering::SeqCst);
        ran
    };
    let deploy = async {
        wait_until(
            "the drift check's CLI to start",
            Duration::from_secs(30),
            || started.exists(),
        )
        .await;
        let op = app.run(PROD, Action::Deploy).await;
        (op, check_done.load(Ordering::SeqCst))
    };
    let (ran, (op, check_had_ended)) = tokio::join!(check, deploy);
    assert_eq!(ran, 1);
    assert_eq!(op.status, "succeeded", "{op:?}");
    assert!(!check_had_ended, "the deploy did not wait for the check");
    // The check overlapped a deploy: its result is dropped and it runs again later.
    let report: Value = app.get_json(&format!("{}/drift", PROD.path())).await;
    assert_eq!(report["resources"], json!([]));
    app.stop().await;
}
