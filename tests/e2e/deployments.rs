//! The Deployments executor end to end: the same lifecycle through the HTTP API, with the
//! Pulumi Cloud double standing in for api.pulumi.com.

use serde_json::{Value, json};

use crate::deployments_double::{Double, Scenario};
use crate::harness::{onboard, run, status};
use crate::helpers::spawn_app_on;

#[actix_web::test]
async fn deploy_preview_destroy_and_redeploy_on_pulumi_deployments() {
    let double = Double::start(Scenario::default());
    let configure = |s: &mut byoc::settings::Settings| double.configure(s);
    let app = spawn_app_on(
        configure,
        None,
        Some(Box::new(|settings| {
            Box::pin(async move {
                byoc::executor::build(&settings, &byoc::pulumi::EnvSnapshot::default())
                    .await
                    .expect("deployments executor")
            })
        })),
    )
    .await;
    onboard(&app, json!({})).await;

    let deployed = run(&app, "deploy").await;
    assert_eq!(deployed["status"], "succeeded", "{deployed}");
    assert_eq!(deployed["executor"], "deployments");
    let st = status(&app).await;
    assert_eq!(st["status"], "succeeded");
    assert_eq!(st["outputs"]["vpcId"]["value"], "vpc-0abc");
    assert_eq!(st["outputs"]["kubeconfig"]["value"], Value::Null);
    // The engine events reached our event log, as with the local executor.
    let page: Value = app
        .get(&format!(
            "/api/v1/operations/{}/events",
            deployed["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "summaryEvent")
    );

    assert_eq!(run(&app, "preview").await["status"], "succeeded");
    assert_eq!(run(&app, "destroy").await["status"], "succeeded");
    assert_eq!(status(&app).await["status"], "destroyed");
    assert_eq!(run(&app, "deploy").await["status"], "succeeded");

    double.set_scenario(Scenario {
        final_status: "failed",
        events: vec![],
        ..Scenario::default()
    });
    let failed = run(&app, "deploy").await;
    assert_eq!(failed["status"], "failed");
    assert!(!failed["error"].as_str().unwrap().is_empty());
    assert_eq!(status(&app).await["status"], "failed");

    let creates = double.requests_to("POST", "/deployments").len();
    assert_eq!(creates, 5, "one deployment per operation");
    app.stop().await;
    double.stop().await;
}
