//! Engine failures, cancellation, a bad role, passphrase trouble and a missing CLI.

use std::time::Duration;

use byoc::domain::OperationKind;
use byoc::executor::{LocalExecutor, Outcome};
use byoc::settings::Settings;

use super::support::{World, changes, env, executor, job, run, settings, start, wait_until};

#[tokio::test]
async fn an_engine_failure_carries_the_engines_diagnostic() {
    let Some(w) = World::with_knobs(&[("PULUMI_STANDIN_FAIL_AT", "3")]).await else {
        return;
    };
    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    let Outcome::Failed {
        message,
        summary,
        retryable,
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("standin injected failure"), "{message}");
    assert!(
        message.contains("creating urn:pulumi:acme-dev::byoc-platform::"),
        "{message}"
    );
    assert!(!retryable);
    assert_eq!(summary["create"], 2, "{summary:?}");
    assert!(events.iter().any(|e| e.kind == "resOpFailedEvent"));
    assert_eq!(events.last().unwrap().kind, "cancelEvent");
    assert_eq!(w.workspace_entries(), 0);
}

#[tokio::test]
async fn cancelling_the_token_interrupts_pulumi_and_keeps_its_summary() {
    let Some(w) = World::with_knobs(&[("PULUMI_STANDIN_SLEEP_MS", "150")]).await else {
        return;
    };
    let mut running = start(&w.exec, w.job(OperationKind::Update));
    // Cancel once the engine is working on real resources.
    loop {
        let e = running.next_event().await.expect("events before the end");
        if e.kind == "resOutputsEvent"
            && e.payload["resOutputsEvent"]["metadata"]["type"] != "pulumi:pulumi:Stack"
        {
            break;
        }
    }
    running.cancel.cancel();
    let (outcome, events) = running.finish().await;
    let Outcome::Cancelled { summary, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(summary["create"] >= 1, "{summary:?}");
    let k: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(k.contains(&"summaryEvent"), "{k:?}");
    // The engine's log ends with its cancelEvent; byoc's repair notes may follow.
    let engine_last = k.iter().rev().find(|k| !k.starts_with("byoc."));
    assert_eq!(engine_last, Some(&"cancelEvent"), "{k:?}");
    // Graceful: the stand-in got SIGINT only and released its lock.
    assert_eq!(w.lock_files(), 0);
    assert_eq!(w.workspace_entries(), 0);
}

#[tokio::test]
async fn a_wrong_external_id_fails_preflight_before_any_pulumi_command() {
    let Some(w) = World::start().await else {
        return;
    };
    let bad = job(OperationKind::Update, &w.role_arn, "ext-wrong-00000000000");
    let (outcome, events) = run(&w.exec, bad).await;
    let Outcome::Failed {
        message, retryable, ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("trust policy"), "{message}");
    assert!(message.contains("external ID"), "{message}");
    assert!(!retryable);
    assert!(events.is_empty());
    // Only the version probe of the executor's construction ran.
    let argvs = w.argvs();
    assert!(
        argvs.iter().all(|a| a == &["--non-interactive", "version"]),
        "{argvs:?}"
    );
}

/// A passed pre-flight is remembered per role *and* external ID (`cloud::preflight_cache`): an
/// external ID that changed since (rotated, or wrong) is checked again at once, even right
/// after the old one passed, and fails before any CLI process.
#[tokio::test]
async fn a_changed_external_id_is_checked_again_right_after_the_old_one_passed() {
    let Some(w) = World::start().await else {
        return;
    };
    let (first, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(first, Outcome::Succeeded { .. }), "{first:?}");
    let cli_runs = w.argvs().len();
    let bad = job(OperationKind::Update, &w.role_arn, "ext-wrong-00000000000");
    let (outcome, events) = run(&w.exec, bad).await;
    let Outcome::Failed { message, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("external ID"), "{message}");
    assert!(events.is_empty());
    assert_eq!(
        w.argvs().len(),
        cli_runs,
        "no CLI process for the failed check"
    );
}

#[tokio::test]
async fn a_wrong_passphrase_names_pulumi_config_passphrase() {
    let Some(w) = World::start().await else {
        return;
    };
    let (first, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(first, Outcome::Succeeded { .. }), "{first:?}");
    let mut other = w.settings.clone();
    other.pulumi.passphrase = Some("not-the-passphrase".to_owned().into());
    let exec = executor(&other, &w.aws, w.root.path(), &[]).await;
    let (outcome, _) = run(&exec, w.job(OperationKind::Update)).await;
    let Outcome::Failed {
        message, retryable, ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("PULUMI_CONFIG_PASSPHRASE"), "{message}");
    assert!(!retryable);
}

#[tokio::test]
async fn a_generated_passphrase_is_kept_private_and_reused_across_restarts() {
    let Some(w) = World::start().await else {
        return;
    };
    let mut generated = w.settings.clone();
    generated.data.dir = w.root.path().join("data-generated");
    generated.pulumi.passphrase = None;
    let exec = executor(&generated, &w.aws, w.root.path(), &[]).await;
    let (first, _) = run(&exec, w.job(OperationKind::Update)).await;
    assert!(matches!(first, Outcome::Succeeded { .. }), "{first:?}");
    let file = generated.data.dir.join(byoc::executor::PASSPHRASE_FILE);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // A restarted worker reads the same passphrase and can decrypt the stack.
    let restarted = executor(&generated, &w.aws, w.root.path(), &[]).await;
    let (second, _) = run(&restarted, w.job(OperationKind::Update)).await;
    assert!(matches!(second, Outcome::Succeeded { .. }), "{second:?}");
    assert_eq!(changes(&second).keys().collect::<Vec<_>>(), ["same"]);
}

#[tokio::test]
async fn the_job_timeout_stops_a_hung_cli_and_fails_with_the_timeout() {
    let Some(w) = World::start().await else {
        return;
    };
    let hung = w.hanging_executor(&[]).await;
    let mut j = w.job(OperationKind::Update);
    j.timeout = Duration::from_secs(8);
    let (outcome, _) = run(&hung, j).await;
    let Outcome::Failed { message, .. } = &outcome else {
        panic!("a timeout is a failure, not a cancel: {outcome:?}");
    };
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains("did not finish within"), "{message}");
    assert_eq!(w.lock_files(), 0, "the hung engine's lock is cleared then");
    wait_until(
        "the workspace to be removed",
        Duration::from_secs(5),
        || w.workspace_entries() == 0,
    )
    .await;
}

#[tokio::test]
async fn a_missing_cli_is_a_clear_error_naming_byoc_pulumi_bin() {
    let root = tempfile::tempdir().unwrap();
    let mut s: Settings = settings(root.path());
    s.pulumi.bin = Some(root.path().join("no-such-pulumi"));
    let aws = byoc::cloud::PlatformAws::with_credentials(
        byoc::cloud::AwsClientOptions::new(super::support::region()),
        aws_credential_types::Credentials::new("k", "s", None, None, "test"),
    )
    .await;
    let err = LocalExecutor::new(&s, aws, env()).await.unwrap_err();
    assert!(err.to_string().contains("BYOC_PULUMI_BIN"), "{err}");
}
