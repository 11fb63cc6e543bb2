//! Following a deployment: status mapping, outputs, engine events, retries, cancel, destroy,
//! and resuming after a worker crash.

use std::time::Duration;

use byoc::domain::OperationKind;
use byoc::executor::{LOG_EVENT, Outcome, OutputValue};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::double::{Scenario, sample_events};
use super::{ACME, double, executor, executor_with, job, run, run_with};
use crate::poll::wait_until;

#[actix_web::test]
async fn deploy_succeeds_with_summary_and_redacted_secret_outputs() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, sent) = run(&exec, job(&ACME, OperationKind::Update)).await;
    let Outcome::Succeeded { summary, outputs } = outcome else {
        panic!("expected success, got {outcome:?}");
    };
    assert_eq!(summary.get("create"), Some(&1));
    let outputs = outputs.expect("an update reads outputs");
    assert_eq!(
        outputs["vpcId"],
        OutputValue {
            value: json!("vpc-0abc"),
            secret: false
        }
    );
    assert_eq!(
        outputs["kubeconfig"],
        OutputValue {
            value: Value::Null,
            secret: true
        }
    );
    assert_eq!(
        sent.external_refs,
        ["byoc-creating-after-version:0", "dep-1"],
        "the creating note first (flushed), then the id, once, at once"
    );
    assert_eq!(sent.flushes, 1);
    assert!(
        double.requests_to("GET", "/export").is_empty(),
        "never downloads the state"
    );
    assert_eq!(double.requests_to("GET", "/acme-prod/outputs").len(), 1);
    let logs: Vec<_> = sent.events.iter().filter(|e| e.kind == LOG_EVENT).collect();
    assert_eq!(logs.len(), 3, "every runner log line is forwarded once");
    double.stop().await;
}

#[actix_web::test]
async fn engine_events_are_forwarded_in_order_without_duplicates() {
    let double = double(Scenario {
        page_size: 2,
        overlap_pages: true,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (_, sent) = run(&exec, job(&ACME, OperationKind::Update)).await;
    let engine: Vec<_> = sent
        .events
        .iter()
        .filter(|e| !e.kind.starts_with("byoc."))
        .collect();
    let sequences: Vec<i64> = engine
        .iter()
        .map(|e| e.payload["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, vec![0, 1, 2, 3, 4]);
    let kinds: Vec<&str> = engine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "preludeEvent",
            "resourcePreEvent",
            "resOutputsEvent",
            "summaryEvent",
            "cancelEvent"
        ]
    );
    assert_eq!(
        engine[3].payload,
        sample_events()[3],
        "payload is the engine event as sent"
    );
    double.stop().await;
}

#[actix_web::test]
async fn failed_deployment_fails_with_the_engine_error() {
    let mut events = sample_events();
    events.insert(
        3,
        json!({"sequence": 9, "timestamp": 4, "diagnosticEvent": {
        "urn": "", "message": "error: creating EC2 VPC: UnauthorizedOperation: not authorized\n",
        "color": "never", "severity": "error"}}),
    );
    events[4]["summaryEvent"]["result"] = json!("failed");
    let double = double(Scenario {
        final_status: "failed",
        failed_step: Some("pulumi update"),
        events,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    let Outcome::Failed {
        message, retryable, ..
    } = outcome
    else {
        panic!("expected failure, got {outcome:?}");
    };
    assert!(
        message.contains("UnauthorizedOperation: not authorized"),
        "{message}"
    );
    assert!(message.contains("pulumi update"), "{message}");
    assert!(!retryable);
    assert!(double.requests_to("GET", "/outputs").is_empty());
    double.stop().await;
}

#[actix_web::test]
async fn failure_before_the_update_reports_the_step_and_runner_log() {
    let double = double(Scenario {
        final_status: "failed",
        failed_step: Some("Pre-run command 1"),
        events: Vec::new(),
        logs: vec![
            json!({"header": "Pre-run command 1", "timestamp": "t"}),
            json!({"timestamp": "t", "line": "base64: invalid input\n"}),
        ],
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    let Outcome::Failed { message, .. } = outcome else {
        panic!("expected failure, got {outcome:?}");
    };
    assert!(message.contains("Pre-run command 1"), "{message}");
    assert!(message.contains("base64: invalid input"), "{message}");
    double.stop().await;
}

#[actix_web::test]
async fn skipped_deployment_fails_with_a_clear_message() {
    let double = double(Scenario {
        final_status: "skipped",
        events: Vec::new(),
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    let Outcome::Failed {
        message, retryable, ..
    } = outcome
    else {
        panic!("expected failure, got {outcome:?}");
    };
    assert!(message.contains("skipped"), "{message}");
    assert!(!retryable);
    double.stop().await;
}

#[actix_web::test]
async fn rate_limited_status_poll_waits_for_retry_after() {
    let double = double(Scenario {
        rate_limit_first_get: Some(1),
        server_error_first_logs: true,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let polls = double.requests_to("GET", "/deployments/dep-1");
    assert!(polls.len() >= 2);
    let waited = polls[1].at.duration_since(polls[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, not Retry-After"
    );
    assert!(
        double.requests_to("GET", "/logs").len() >= 2,
        "a 5xx on a GET is retried"
    );
    assert_eq!(double.deployments().len(), 1);
    double.stop().await;
}

#[actix_web::test]
async fn cancel_goes_through_the_api_and_ends_cancelled() {
    let double = double(Scenario {
        running_polls: usize::MAX,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let cancel = CancellationToken::new();
    let run = run_with(&exec, job(&ACME, OperationKind::Update), cancel.clone());
    let trigger = async {
        wait_until(
            "the deployment to be polled",
            Duration::from_secs(10),
            || !double.requests_to("GET", "/deployments/dep-1").is_empty(),
        )
        .await;
        cancel.cancel();
    };
    let ((outcome, _), ()) = tokio::join!(run, trigger);
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    assert_eq!(
        double
            .requests_to("POST", "/deployments/dep-1/cancel")
            .len(),
        1
    );
    double.stop().await;
}

#[actix_web::test]
async fn a_cancel_the_service_ignores_ends_cancelled_after_the_grace() {
    let double = double(Scenario {
        running_polls: usize::MAX,
        ignore_cancel: true,
        ..Scenario::default()
    });
    let mut cfg = super::config(&double);
    cfg.cancel_grace = Duration::from_millis(50);
    let Some(exec) = executor_with(cfg).await else {
        return;
    };
    let cancel = CancellationToken::new();
    cancel.cancel();
    let mut resumed = job(&ACME, OperationKind::Update);
    let seeded = double.seed_deployment("update");
    resumed.external_ref = Some(seeded.clone());
    let (outcome, _) = run_with(&exec, resumed, cancel).await;
    let Outcome::Cancelled { reason, .. } = outcome else {
        panic!("expected cancelled, got {outcome:?}");
    };
    assert!(reason.contains("has not stopped yet"), "{reason}");
    assert_eq!(
        double
            .requests_to("POST", &format!("/deployments/{seeded}/cancel"))
            .len(),
        1
    );
    double.stop().await;
}

#[actix_web::test]
async fn unreadable_outputs_leave_a_successful_deploy_successful() {
    let double = double(Scenario {
        outputs_missing: true,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, sent) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(
        matches!(outcome, Outcome::Succeeded { outputs: None, .. }),
        "{outcome:?}"
    );
    assert!(sent.events.iter().any(|e| e.kind == "byoc.warning"));
    double.stop().await;
}

#[actix_web::test]
async fn destroy_succeeds_without_reading_outputs() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Destroy)).await;
    assert!(
        matches!(outcome, Outcome::Succeeded { outputs: None, .. }),
        "{outcome:?}"
    );
    let create = double.requests_to("POST", "/deployments");
    assert_eq!(create[0].body.as_ref().unwrap()["operation"], "destroy");
    assert!(double.requests_to("GET", "/outputs").is_empty());
    double.stop().await;
}

#[actix_web::test]
async fn a_recovered_operation_follows_the_recorded_deployment() {
    let double = double(Scenario::default());
    let seeded = double.seed_deployment("update");
    let mut resumed = job(&ACME, OperationKind::Update);
    resumed.attempt = 2;
    resumed.external_ref = Some(seeded.clone());
    let Some(exec) = executor(&double).await else {
        return;
    };
    exec_recover(&exec, &resumed).await;
    let (outcome, sent) = run(&exec, resumed).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(
        double.requests_to("POST", "/deployments").is_empty(),
        "no second deployment"
    );
    assert!(
        double
            .requests_to("POST", "/api/stacks/acme-org/byoc-platform")
            .is_empty()
    );
    assert_eq!(double.deployments(), vec![seeded.clone()]);
    assert!(
        !double
            .requests_to("GET", &format!("/deployments/{seeded}"))
            .is_empty()
    );
    assert!(sent.external_refs.is_empty());
    double.stop().await;
}

async fn exec_recover(
    exec: &byoc::executor::DeploymentsExecutor,
    job: &byoc::executor::OperationJob,
) {
    use byoc::executor::Executor as _;
    exec.recover(job)
        .await
        .expect("nothing to unlock on Pulumi Cloud");
}

#[actix_web::test]
async fn auto_without_a_cli_or_deployments_settings_fails_naming_them() {
    let mut settings = byoc::settings::Settings::for_data_dir("/nonexistent");
    settings.pulumi.executor = byoc::settings::ExecutorKind::Auto;
    settings.pulumi.bin = Some("/nonexistent/pulumi".into());
    let exec = byoc::executor::build(&settings, &no_pulumi_on_path())
        .await
        .expect("auto always builds");
    let (sink, _rx) = byoc::executor::EventSink::channel(8);
    let outcome = exec
        .run(
            job(&ACME, OperationKind::Update),
            sink,
            CancellationToken::new(),
        )
        .await;
    let Outcome::Failed { message, .. } = outcome else {
        panic!("expected failure, got {outcome:?}");
    };
    assert!(
        message.contains("PULUMI_ACCESS_TOKEN") && message.contains("BYOC_PULUMI_ORG"),
        "{message}"
    );
}

#[actix_web::test]
async fn auto_picks_deployments_when_no_cli_is_found() {
    let mut settings = byoc::settings::Settings::for_data_dir("/nonexistent");
    settings.pulumi.executor = byoc::settings::ExecutorKind::Auto;
    settings.pulumi.bin = Some("/nonexistent/pulumi".into());
    settings.deployments.token = Some("t".to_owned().into());
    settings.deployments.org = Some("acme-org".into());
    let exec = byoc::executor::build(&settings, &no_pulumi_on_path())
        .await
        .expect("builds");
    assert_eq!(exec.name(), "deployments");
}

#[actix_web::test]
async fn settings_select_the_double_and_each_operation_gets_its_own_deployment() {
    let double = double(Scenario::default());
    let mut settings = byoc::settings::Settings::for_data_dir("/nonexistent");
    double.configure(&mut settings);
    let built = byoc::executor::build(&settings, &no_pulumi_on_path())
        .await
        .expect("deployments executor builds");
    assert_eq!(built.name(), "deployments");
    // The same settings, with the pre-flight's AWS at moto.
    let cfg = byoc::executor::DeploymentsConfig::from_settings(&settings).expect("config");
    let Some(exec) = super::executor_with(cfg).await else {
        return;
    };
    for kind in [OperationKind::Update, OperationKind::Destroy] {
        let (outcome, _) = run(&exec, job(&ACME, kind)).await;
        assert!(
            matches!(outcome, Outcome::Succeeded { .. }),
            "{kind:?}: {outcome:?}"
        );
    }
    assert_eq!(
        double.deployments(),
        vec!["dep-1".to_owned(), "dep-2".to_owned()]
    );
    double.stop().await;
}

#[actix_web::test]
async fn a_resumed_follow_forwards_only_events_newer_than_those_stored() {
    let double = double(Scenario::default());
    let seeded = double.seed_deployment("update");
    let mut resumed = job(&ACME, OperationKind::Update);
    resumed.attempt = 2;
    resumed.external_ref = Some(seeded.clone());
    // The first attempt stored events up to sequence 1 before its worker died.
    resumed.resume_after_sequence = Some(1);
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, sent) = run(&exec, resumed).await;
    let Outcome::Succeeded { summary, .. } = outcome else {
        panic!("{outcome:?}")
    };
    // The summary event (sequence 3) still counts; events 0 and 1 are not sent again.
    assert_eq!(summary.get("create"), Some(&1));
    let seqs: Vec<i64> = sent
        .events
        .iter()
        .filter_map(|e| {
            e.payload
                .get("sequence")
                .and_then(serde_json::Value::as_i64)
        })
        .collect();
    assert_eq!(seqs, [2, 3, 4]);
    double.stop().await;
}

/// An environment whose PATH holds no `pulumi`, whatever this machine has installed.
fn no_pulumi_on_path() -> byoc::pulumi::EnvSnapshot {
    byoc::pulumi::EnvSnapshot::capture([("PATH".to_owned(), "/nonexistent".to_owned())])
}
