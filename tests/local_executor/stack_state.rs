//! What outlives a run's workspace: the stack settings file (a KMS secrets provider stays the
//! stack's provider on every later run), and the workspace folder of a live process (another
//! process starting on the same data dir leaves it alone). Also a relative `BYOC_PULUMI_BIN`.

use byoc::domain::OperationKind;
use byoc::executor::Outcome;
use serde_json::Value;

use super::support::{PROJECT, STACK, World, executor, run, start, wait_until};

const KMS: &str = "awskms://alias/byoc-state?region=us-east-1";

fn secrets_provider(w: &World) -> Value {
    let path = w
        .data_dir()
        .join("state/.pulumi/stacks")
        .join(PROJECT)
        .join(format!("{STACK}.json"));
    let cp: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    cp["checkpoint"]["latest"]["secrets_providers"].clone()
}

#[tokio::test]
async fn a_kms_secrets_provider_is_kept_on_the_second_and_third_runs() {
    let Some(mut w) = World::start().await else {
        return;
    };
    w.settings.pulumi.secrets_provider = KMS.to_owned();
    w.exec = executor(&w.settings, &w.aws, w.root.path(), &[]).await;
    for run_no in 1..=3 {
        let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
        assert!(
            matches!(outcome, Outcome::Succeeded { .. }),
            "run {run_no}: {outcome:?}"
        );
        let provider = secrets_provider(&w);
        assert_eq!(provider["type"], "cloud", "run {run_no}: {provider}");
        assert_eq!(provider["state"]["url"], KMS, "run {run_no}: {provider}");
    }
}

#[tokio::test]
async fn a_starting_process_leaves_a_live_processs_workspace_alone() {
    let Some(w) = World::with_knobs(&[("PULUMI_STANDIN_SLEEP_MS", "300")]).await else {
        return;
    };
    let running = start(&w.exec, w.job(OperationKind::Update));
    wait_until(
        "the run's workspace",
        std::time::Duration::from_secs(30),
        || w.workspace_entries() == 1,
    )
    .await;
    // A second process on the same data dir (here: a second executor) starts meanwhile.
    let _other = executor(&w.settings, &w.aws, w.root.path(), &[]).await;
    assert_eq!(w.workspace_entries(), 1, "the live run's workspace is kept");
    let (outcome, _) = running.finish().await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let Outcome::Succeeded { outputs, .. } = &outcome else {
        unreachable!()
    };
    assert!(outputs.as_ref().is_some_and(|o| !o.is_empty()));
}

#[tokio::test]
async fn a_relative_pulumi_bin_is_resolved_once_against_the_starting_directory() {
    let Some(mut w) = World::start().await else {
        return;
    };
    let cwd = std::env::current_dir().unwrap();
    let bin = w.settings.pulumi.bin.clone().unwrap();
    let relative = bin
        .strip_prefix(&cwd)
        .expect("the stand-in is under the crate dir");
    w.settings.pulumi.bin = Some(relative.to_owned());
    w.exec = executor(&w.settings, &w.aws, w.root.path(), &[]).await;
    assert!(w.exec.runner().bin().is_absolute());
    let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
}
