//! The Deployments executor end to end: the same lifecycle through the HTTP API, with the
//! Pulumi Cloud double standing in for api.pulumi.com.

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::deployments_double::{Double, Scenario};
use byoc::executor::{DeploymentsConfig, DeploymentsExecutor};

use crate::harness::{Aws, SharedExecutor, onboard};
use crate::routes::{Action, PROD};

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
