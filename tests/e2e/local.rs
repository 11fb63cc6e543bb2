//! The local executor end to end: HTTP API → queue → worker → pulumi (stand-in) with moto as
//! the tenant's AWS account.

use std::sync::Arc;

use byoc::executor::LocalExecutor;
use byoc::pulumi::EnvSnapshot;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::harness::{Aws, PASSPHRASE, Pulumi, SharedExecutor, onboard};
use crate::routes::{Action, Env, Operation, PROD};

/// An app whose worker runs the local executor with `pulumi` (the knob wrapper).
pub async fn local_app(aws: &Aws, pulumi: &Pulumi, concurrency: usize) -> TestApp {
    let platform = aws.platform().await;
    let for_executor = platform.clone();
    let bin = pulumi.bin();
    let endpoint = aws.moto.url.clone();
    TestApp::builder()
        .workers(concurrency)
        .settings(move |s| {
            s.pulumi.bin = Some(bin);
            s.pulumi.passphrase = Some(PASSPHRASE.into());
            s.aws.endpoint_url = Some(endpoint);
        })
        .aws(platform)
        .executor(move |settings| async move {
            // The stand-in needs python3 (PATH) and nothing else from this process.
            let env =
                EnvSnapshot::capture(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"));
            let exec = LocalExecutor::new(&settings, for_executor, env)
                .await
                .expect("local executor");
            Arc::new(exec) as SharedExecutor
        })
        .spawn()
        .await
}

#[actix_web::test]
async fn deploy_update_preview_refresh_destroy_and_redeploy_through_the_api() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    let external_id = onboard(&app, json!({})).await;

    let first = app.run(PROD, Action::Deploy).await;
    assert_eq!(first.status, "succeeded", "{first:?}");
    assert_eq!(first.executor.as_deref(), Some("local"));
    assert!(first.changed("create") > 10, "{first:?}");
    let st = app.status(PROD).await;
    assert_eq!(st.status, "succeeded");
    assert!(st.outputs["vpcId"]["value"].is_string(), "{st:?}");
    assert_eq!(st.outputs["kubeconfig"]["secret"], true);
    assert_eq!(st.outputs["kubeconfig"]["value"], Value::Null);
    let evs = app.events(&first.id).await;
    assert_eq!(evs.first().unwrap().kind, "preludeEvent");
    assert_eq!(evs.last().unwrap().kind, "cancelEvent");

    let again = app.run(PROD, Action::Deploy).await;
    let changes = again.summary.clone().unwrap_or_default();
    assert!(
        changes.keys().all(|k| k == "same"),
        "a second deploy changes nothing: {again:?}"
    );

    assert_eq!(
        app.save_config("acme", "prod", json!({"tags": {"team": "platform"}}))
            .await
            .status(),
        201
    );
    let changed = app.run(PROD, Action::Deploy).await;
    assert_eq!(changed.config_version, Some(2));
    assert!(changed.changed("update") > 0, "{changed:?}");

    let preview = app.run(PROD, Action::Preview).await;
    assert_eq!(preview.status, "succeeded");
    assert_eq!(app.status(PROD).await.status, "succeeded");
    assert_eq!(app.run(PROD, Action::Refresh).await.status, "succeeded");

    let destroyed = app.run(PROD, Action::Destroy).await;
    assert_eq!(destroyed.status, "succeeded", "{destroyed:?}");
    assert!(destroyed.changed("delete") > 10);
    let st = app.status(PROD).await;
    assert_eq!(st.status, "destroyed");
    assert_eq!(st.outputs, json!({}));
    let redeployed = app.run(PROD, Action::Deploy).await;
    assert_eq!(redeployed.status, "succeeded", "deploy after destroy");

    // The exact commands of `docs/pulumi-contract.md` §1, and the secret never on a command line.
    let argvs: Vec<Vec<String>> = pulumi
        .invocations()
        .iter()
        .map(|i| serde_json::from_value(i["argv"].clone()).unwrap())
        .collect();
    assert!(
        argvs.iter().all(
            |a| a.first().map(String::as_str) == Some("--non-interactive") || a == &["version"]
        ),
        "{argvs:?}"
    );
    let up = argvs
        .iter()
        .find(|a| a.get(1).map(String::as_str) == Some("up"))
        .unwrap();
    for flag in ["--yes", "--skip-preview", "--stack"] {
        assert!(up.iter().any(|x| x == flag), "{up:?}");
    }
    assert!(up.iter().any(|x| x.starts_with("--event-log")), "{up:?}");
    for argv in &argvs {
        assert!(
            !argv.join(" ").contains(&external_id),
            "external id in argv {argv:?}"
        );
        assert!(!argv.join(" ").contains(PASSPHRASE));
    }
    let found = app.data_files_contain(external_id.as_bytes());
    assert_eq!(found, None, "external id on disk");
    app.stop().await;
}

#[actix_web::test]
async fn a_failed_deploy_keeps_the_engine_message_and_the_next_deploy_works() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    onboard(&app, json!({})).await;
    pulumi.knobs(&[("PULUMI_STANDIN_FAIL_AT", "3")]);
    let failed = app.run(PROD, Action::Deploy).await;
    assert_eq!(failed.status, "failed");
    let message = failed.error();
    assert!(
        !message.is_empty() && message != "failed",
        "the engine's own message: {message}"
    );
    let st = app.status(PROD).await;
    assert_eq!(st.status, "failed");
    assert_eq!(st.error.as_deref(), Some(message));

    pulumi.knobs(&[]);
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    assert_eq!(app.status(PROD).await.error, None);
    app.stop().await;
}

#[actix_web::test]
async fn one_stack_never_runs_two_operations_while_two_stacks_run_in_parallel() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    // Long enough runs that overlaps would show.
    pulumi.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "15")]);
    let app = local_app(&aws, &pulumi, 4).await;
    onboard(&app, json!({})).await;
    assert_eq!(
        app.save_config("acme", "stage", json!({})).await.status(),
        201
    );

    let stage = Env {
        slug: "acme",
        env: "stage",
    };
    let a = app.start(PROD, Action::Deploy).await;
    let b = app.start(PROD, Action::Deploy).await;
    let c = app.start(stage, Action::Deploy).await;
    let mut done = Vec::new();
    for op in [&a, &b, &c] {
        done.push(app.wait_for_end(&op.id).await);
    }
    for op in &done {
        assert_eq!(op.status, "succeeded", "{op:?}");
        // Had two runs overlapped, the stand-in's lock would have been found and cleared.
        let evs = app.events(&op.id).await;
        assert!(evs.iter().all(|e| e.kind != "byoc.lock-cleared"), "{op:?}");
    }
    let span = |op: &Operation| (op.started_at.unwrap(), op.finished_at.unwrap());
    let (first, second, other) = (span(&done[0]), span(&done[1]), span(&done[2]));
    assert!(first.1 <= second.0, "same stack, in order");
    assert!(
        other.0 < first.1 && first.0 < other.1,
        "different stacks overlap"
    );
    app.stop().await;
}
