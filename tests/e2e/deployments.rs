//! The Deployments executor end to end: the same lifecycle through the HTTP API, with the
//! Pulumi Cloud double standing in for api.pulumi.com.

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::crash::{Cluster, PATIENCE, api_with_tenant};
use crate::deployments_double::{Double, Scenario, TOKEN};
use byoc::executor::{DeploymentsConfig, DeploymentsExecutor};

use crate::harness::{Aws, Pulumi, SharedExecutor, onboard};
use crate::poll::eventually;
use crate::routes::{Action, EventPage, PROD};

#[actix_web::test]
async fn deploy_preview_destroy_and_redeploy_on_pulumi_deployments() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let double = Double::start(Scenario::default());
    let platform = aws.platform().await;
    let app = TestApp::builder()
        .settings(double.configurer())
        .executor(move |settings| async move {
            // As `byoc::executor::build` makes it, with the pre-flight's AWS at moto.
            let config = DeploymentsConfig::from_settings(&settings).expect("config");
            let exec = DeploymentsExecutor::new(config, platform).expect("executor");
            std::sync::Arc::new(exec) as SharedExecutor
        })
        .spawn()
        .await;
    onboard(&app, json!({})).await;

    let deployed = app.run(PROD, Action::Deploy).await;
    assert_eq!(deployed.status, "succeeded", "{deployed:?}");
    assert_eq!(deployed.executor.as_deref(), Some("deployments"));
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded");
    assert_eq!(st.outputs["vpcId"]["value"], "vpc-0abc");
    assert_eq!(st.outputs["kubeconfig"]["value"], Value::Null);
    // The engine events reached our event log, as with the local executor.
    let events = app.events(&deployed.id).await;
    assert!(events.iter().any(|e| e.kind == "summaryEvent"));

    assert_eq!(app.run(PROD, Action::Preview).await.status, "succeeded");
    assert_eq!(app.run(PROD, Action::Destroy).await.status, "succeeded");
    assert_eq!(app.status(PROD).await.status, "destroyed");
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");

    double.set_scenario(Scenario {
        final_status: "failed",
        events: vec![],
        ..Scenario::default()
    });
    let failed = app.run(PROD, Action::Deploy).await;
    assert_eq!(failed.status, "failed");
    assert!(!failed.error().is_empty());
    assert_eq!(app.status(PROD).await.status, "failed");

    let creates = double.requests_to("POST", "/deployments").len();
    assert_eq!(creates, 5, "one deployment per operation");
    app.stop().await;
    double.stop().await;
}

/// A real `byoc worker` is killed (SIGKILL) right after its create request reached Pulumi
/// Cloud, before it could record the deployment's id (the double holds the answer). Another
/// worker recovers the operation: it finds the note the first one stored before creating,
/// adopts that deployment instead of creating another, and follows it to its result.
#[actix_web::test]
async fn a_worker_killed_right_after_the_create_call_leaves_exactly_one_deployment() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let double = Double::start(Scenario {
        hold_create: true,
        running_polls: 3,
        ..Scenario::default()
    });
    let pulumi = Pulumi::new();
    let mut cluster = Cluster::new(&aws, &pulumi);
    for (k, v) in [
        ("BYOC_EXECUTOR", "deployments"),
        ("BYOC_PULUMI_API_URL", double.url.as_str()),
        ("PULUMI_ACCESS_TOKEN", TOKEN),
        ("BYOC_PULUMI_ORG", "acme-org"),
        (
            "BYOC_DEPLOYMENTS_OIDC_ROLE_ARN",
            "arn:aws:iam::999999999999:role/byoc-deployments",
        ),
        ("BYOC_DEPLOYMENTS_POLL_MILLIS", "20"),
        ("BYOC_DEPLOYMENTS_MAX_POLL_MILLIS", "100"),
    ] {
        cluster.env.push((k.to_owned(), v.to_owned()));
    }
    let _api = api_with_tenant(&cluster).await;
    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let id = cluster.deploy().await;
    eventually("the create to reach Pulumi Cloud", PATIENCE, async || {
        (!double.deployments().is_empty()).then_some(())
    })
    .await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let before = cluster.operation(&id).await;
    assert_eq!(before.status, "running", "{before:?}");

    double.set_scenario(Scenario {
        running_polls: 3,
        ..Scenario::default()
    });
    let _second = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-b.log",
    );
    let op = cluster.finished(&id).await;
    assert_eq!(
        op.status,
        "succeeded",
        "{op:?}\n{}",
        cluster.log("worker-b.log")
    );
    assert_eq!(op.attempt, 2);
    assert_eq!(double.deployments(), ["dep-1"], "exactly one deployment");
    assert_eq!(
        double.requests_to("POST", "/acme-prod/deployments").len(),
        1
    );
    // The operation ends with the adopted deployment's result.
    assert_eq!(
        op.summary.as_ref().unwrap().get("create"),
        Some(&1),
        "{op:?}"
    );
    let page: EventPage = cluster
        .get(&format!("/api/v1/operations/{id}/events?limit=1000"))
        .await;
    let adopted = page
        .events
        .iter()
        .find(|e| e.kind == byoc::executor::DEPLOYMENT_ADOPTED_EVENT)
        .expect("the adoption is in the event log");
    assert_eq!(adopted.payload["deployment"], "dep-1", "{adopted:?}");
    assert!(page.events.iter().any(|e| e.kind == "summaryEvent"));
    double.stop().await;
}
