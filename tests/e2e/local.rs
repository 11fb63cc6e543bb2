//! The local executor end to end: HTTP API → queue → worker → pulumi (stand-in) with moto as
//! the tenant's AWS account.

use std::sync::Arc;

use byoc::executor::LocalExecutor;
use byoc::pulumi::EnvSnapshot;
use serde_json::{Value, json};

use crate::harness::{
    Aws, ENV, PASSPHRASE, Pulumi, SharedExecutor, events, onboard, run, start, status,
};
use crate::helpers::{TestApp, spawn_app_on};

/// An app whose worker runs the local executor with `pulumi` (the knob wrapper).
pub async fn local_app(aws: &Aws, pulumi: &Pulumi, concurrency: usize) -> TestApp {
    let platform = aws.platform().await;
    let for_executor = platform.clone();
    let bin = pulumi.bin();
    let endpoint = aws.moto.url.clone();
    spawn_app_on(
        move |s| {
            s.pulumi.bin = Some(bin);
            s.pulumi.passphrase = Some(PASSPHRASE.into());
            s.aws.endpoint_url = Some(endpoint);
            s.worker.concurrency = concurrency;
        },
        Some(platform),
        Some(Box::new(move |settings| {
            Box::pin(async move {
                // The stand-in needs python3 (PATH) and nothing else from this process.
                let env = EnvSnapshot::capture(
                    std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"),
                );
                let exec = LocalExecutor::new(&settings, for_executor, env)
                    .await
                    .expect("local executor");
                Arc::new(exec) as SharedExecutor
            })
        })),
    )
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

    let first = run(&app, "deploy").await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert!(first["summary"]["create"].as_u64().unwrap() > 10, "{first}");
    let st = status(&app).await;
    assert_eq!(st["status"], "succeeded");
    assert!(st["outputs"]["vpcId"]["value"].is_string(), "{st}");
    assert_eq!(st["outputs"]["kubeconfig"]["secret"], true);
    assert_eq!(st["outputs"]["kubeconfig"]["value"], Value::Null);
    let evs = events(&app, first["id"].as_str().unwrap()).await;
    assert_eq!(evs.first().unwrap()["kind"], "preludeEvent");
    assert_eq!(evs.last().unwrap()["kind"], "cancelEvent");

    let again = run(&app, "deploy").await;
    let changes = again["summary"].as_object().unwrap();
    assert!(
        changes.keys().all(|k| k == "same"),
        "a second deploy changes nothing: {again}"
    );

    assert_eq!(
        app.save_config("acme", "prod", json!({"tags": {"team": "platform"}}))
            .await
            .status(),
        201
    );
    let changed = run(&app, "deploy").await;
    assert_eq!(changed["config_version"], 2);
    assert!(
        changed["summary"]["update"].as_u64().unwrap_or(0) > 0,
        "{changed}"
    );

    let preview = run(&app, "preview").await;
    assert_eq!(preview["status"], "succeeded");
    assert_eq!(status(&app).await["status"], "succeeded");
    assert_eq!(run(&app, "refresh").await["status"], "succeeded");

    let destroyed = run(&app, "destroy").await;
    assert_eq!(destroyed["status"], "succeeded", "{destroyed}");
    assert!(destroyed["summary"]["delete"].as_u64().unwrap() > 10);
    let st = status(&app).await;
    assert_eq!(st["status"], "destroyed");
    assert_eq!(st["outputs"], json!({}));
    assert_eq!(
        run(&app, "deploy").await["status"],
        "succeeded",
        "deploy after destroy"
    );

    // The exact commands the contract prescribes, and the secret never on a command line.
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
    for (file, bytes) in app.data_files() {
        assert!(
            !bytes
                .windows(external_id.len())
                .any(|w| w == external_id.as_bytes()),
            "{file}"
        );
    }
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
    let failed = run(&app, "deploy").await;
    assert_eq!(failed["status"], "failed");
    let message = failed["error"].as_str().unwrap();
    assert!(
        !message.is_empty() && message != "failed",
        "the engine's own message: {message}"
    );
    let st = status(&app).await;
    assert_eq!(st["status"], "failed");
    assert_eq!(st["error"].as_str().unwrap(), message);

    pulumi.knobs(&[]);
    assert_eq!(run(&app, "deploy").await["status"], "succeeded");
    assert_eq!(status(&app).await["error"], Value::Null);
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

    let a = start(&app, "deploy").await;
    let b = start(&app, "deploy").await;
    let resp = app
        .post("/api/v1/tenants/acme/environments/stage/deploy", json!({}))
        .await;
    let c = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut done = Vec::new();
    for id in [&a, &b, &c] {
        done.push(
            app.wait_for_operation(id, |s| s == "succeeded" || s == "failed")
                .await,
        );
    }
    for op in &done {
        assert_eq!(op["status"], "succeeded", "{op}");
        // Had two runs overlapped, the stand-in's lock would have been found and cleared.
        let evs = events(&app, op["id"].as_str().unwrap()).await;
        assert!(evs.iter().all(|e| e["kind"] != "byoc.lock-cleared"), "{op}");
    }
    let time = |op: &Value, k: &str| {
        op[k]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let (first, second, other) = (&done[0], &done[1], &done[2]);
    assert!(
        time(first, "finished_at") <= time(second, "started_at"),
        "same stack, in order"
    );
    assert!(
        time(other, "started_at") < time(first, "finished_at")
            && time(first, "started_at") < time(other, "finished_at"),
        "different stacks overlap"
    );
    let _ = ENV;
    app.stop().await;
}
