//! Stack lifecycle against the stand-in: create on first use, same/update/delete, outputs,
//! history, destroy.

use byoc::pulumi::{
    ConfigValue, DestroyOptions, EventPayload, OpType, PreviewOptions, PulumiError, RunControl,
    UpOptions,
};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::support::{Harness, program, stack};

fn ops_of(r: &byoc::pulumi::OperationResult) -> Vec<(String, OpType)> {
    r.resources
        .iter()
        .filter(|p| !p.urn.contains("pulumi:pulumi:Stack"))
        .map(|p| {
            (
                p.urn.rsplit("::").next().unwrap().to_owned(),
                p.ops[0].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn stack_is_created_on_first_use_and_selected_later() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ctl = RunControl::default();
    let ws = h.workspace(&program(&[], ""));
    assert!(
        h.runner
            .select_or_create_stack(&ws, &s, "passphrase", &ctl)
            .await
            .unwrap()
    );
    drop(ws);
    let ws = h.workspace(&program(&[], ""));
    assert!(
        !h.runner
            .select_or_create_stack(&ws, &s, "passphrase", &ctl)
            .await
            .unwrap()
    );
    let inits = h
        .argvs()
        .iter()
        .filter(|a| a[1] == "stack" && a[2] == "init")
        .count();
    assert_eq!(inits, 1);
}

#[tokio::test]
async fn updates_report_create_same_update_delete_and_destroy_deletes_all() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ctl = RunControl::default();
    let run = |resources: &[(&str, &str, &str)]| program(resources, "  name: fixed\n");

    let ws = h.workspace(&run(&[
        ("a", "aws:s3:Bucket", "1"),
        ("b", "aws:s3:Bucket", "1"),
    ]));
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(1000);
    let first = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, Some(&tx))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(first.summary.resource_changes.get("create"), Some(&3));
    assert_eq!(first.summary.result.as_deref(), Some("succeeded"));
    assert_eq!(first.summary.is_preview, Some(false));
    let mut streamed = Vec::new();
    while let Some(item) = rx.recv().await {
        streamed.push(item.unwrap());
    }
    assert!(
        streamed.len() >= 2 + 2 * 3,
        "prelude, a pre/outputs pair per resource, summary: {}",
        streamed.len()
    );
    assert!(matches!(
        streamed.last().unwrap().payload,
        EventPayload::Cancel
    ));
    let urn = &first.resources[1].urn;
    assert_eq!(urn, "urn:pulumi:acme-dev::byoc-test::aws:s3:Bucket::a");
    drop(ws);

    let ws = h.workspace(&run(&[
        ("a", "aws:s3:Bucket", "1"),
        ("b", "aws:s3:Bucket", "1"),
    ]));
    let second = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    assert_eq!(second.summary.resource_changes.get("same"), Some(&3));
    drop(ws);

    let ws = h.workspace(&run(&[
        ("a", "aws:s3:Bucket", "2"),
        ("c", "aws:s3:Bucket", "1"),
    ]));
    let preview = h
        .runner
        .preview(&ws, &s, &PreviewOptions::default(), &ctl, None)
        .await
        .unwrap();
    assert_eq!(preview.summary.is_preview, Some(true));
    let third = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    assert_eq!(
        ops_of(&third),
        [
            ("a".into(), OpType::Update),
            ("c".into(), OpType::Create),
            ("b".into(), OpType::Delete)
        ]
    );
    assert_eq!(ops_of(&preview), ops_of(&third));

    let outputs = h.runner.stack_outputs(&ws, &s, &ctl).await.unwrap();
    assert_eq!(outputs["name"].value, "fixed");
    assert!(!outputs["name"].secret);
    let last = h.runner.last_update(&ws, &s, &ctl).await.unwrap().unwrap();
    assert_eq!(last.kind, "update");
    assert_eq!(last.result.as_deref(), Some("succeeded"));

    let gone = h
        .runner
        .destroy(&ws, &s, &DestroyOptions::default(), &ctl, None)
        .await
        .unwrap();
    assert_eq!(gone.summary.resource_changes.get("delete"), Some(&3));
    drop(ws);
    let ws = h.workspace(&run(&[]));
    let after = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    assert_eq!(
        after.summary.resource_changes.get("create"),
        Some(&1),
        "only the stack itself"
    );
}

#[tokio::test]
async fn secret_outputs_are_detected_and_revealed() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ctl = RunControl::default();
    let ws = h.workspace(&program(
        &[],
        "  plain: p\n  token:\n    fn::secret: t0ken\n",
    ));
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    h.runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    let out = h.runner.stack_outputs(&ws, &s, &ctl).await.unwrap();
    assert_eq!(out["token"].value, "t0ken");
    assert!(out["token"].secret);
    assert!(!out["plain"].secret);
}

#[tokio::test]
async fn passphrase_problems_are_typed() {
    let good = Harness::new().await;
    let s = stack("acme-dev");
    let ctl = RunControl::default();
    // The state must hold a secret for a wrong passphrase to matter: the real CLI decrypts
    // the snapshot's secrets when it loads it (pkg/resource/stack/deployment.go), and a fresh
    // workspace without a settings file otherwise just starts a new salt.
    let ws = good.workspace(&program(&[], "  echoed: ${externalId}\n"));
    good.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    good.runner
        .set_config(
            &ws,
            &s,
            "externalId",
            &ConfigValue::Secret("a-secret-value".to_owned().into()),
            false,
            &ctl,
        )
        .await
        .unwrap();
    good.runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    let state = good.root.path().join("state");

    let backend = format!("file://{}", state.display());
    let missing = Harness::with(|c| {
        c.passphrase = None;
        c.backend_url = backend.clone();
    })
    .await;
    let ws = missing.workspace(&program(&[], ""));
    let e = missing
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    assert!(matches!(e, PulumiError::MissingPassphrase), "{e:?}");

    let wrong = Harness::with(|c| {
        c.passphrase = Some("nope".into());
        c.backend_url = backend.clone();
    })
    .await;
    let ws = wrong.workspace(&program(&[], ""));
    let e = wrong
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    assert!(matches!(e, PulumiError::WrongPassphrase), "{e:?}");
}

#[tokio::test]
async fn secret_config_travels_through_stdin_intact() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ctl = RunControl::default();
    let ws = h.workspace(&program(
        &[],
        "  echoed: ${externalId}\n  region: ${aws:region}\n",
    ));
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    // Leading dash and a trailing newline: both must survive argv/stdin handling.
    let value = "-starts-with-dash and ends with newline\n";
    h.runner
        .set_config(
            &ws,
            &s,
            "externalId",
            &ConfigValue::Secret(value.to_owned().into()),
            false,
            &ctl,
        )
        .await
        .unwrap();
    h.runner
        .set_config(
            &ws,
            &s,
            "aws:region",
            &ConfigValue::Plain("-eu-west-1".into()),
            false,
            &ctl,
        )
        .await
        .unwrap();
    h.runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
    let out = h.runner.stack_outputs(&ws, &s, &ctl).await.unwrap();
    assert_eq!(out["echoed"].value, value);
    assert!(out["echoed"].secret);
    assert_eq!(out["region"].value, "-eu-west-1");
    assert!(!out["region"].secret);
}

/// `exited_ok` is notified once `up` has exited 0, before its event log has been read to the
/// end: the sink holds one event and is not read until the notification, so the log cannot
/// have drained by then (issue 16: the executor starts the outputs read on it). A failed run
/// does not notify.
#[tokio::test]
async fn exited_ok_is_notified_before_the_event_log_is_drained_and_only_on_success() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let resources = [("a", "aws:s3:Bucket", "a"), ("r", "aws:iam:Role", "r1")];
    let ws = h.workspace(&program(&resources, ""));
    let exited = Arc::new(Notify::new());
    let ctl = RunControl {
        exited_ok: Some(exited.clone()),
        ..Default::default()
    };
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(1);
    let opts = UpOptions::default();
    let mut events = Vec::new();
    let result = {
        let up = h.runner.up(&ws, &s, &opts, &ctl, Some(&tx));
        tokio::pin!(up);
        // The bound only turns a missing notification into a failure instead of a hang.
        tokio::select! {
            r = &mut up => panic!("up returned with its events unread: {r:?}"),
            n = tokio::time::timeout(Duration::from_secs(60), exited.notified()) => {
                n.expect("notified within 60 s");
            }
        }
        loop {
            tokio::select! {
                r = &mut up => break r,
                Some(item) = rx.recv() => events.push(item.unwrap()),
            }
        }
    };
    drop(tx);
    while let Some(item) = rx.recv().await {
        events.push(item.unwrap());
    }
    let result = result.unwrap();
    assert!(
        events.len() > 2,
        "more events than the sink holds were still to drain: {}",
        events.len()
    );
    assert_eq!(result.summary.result.as_deref(), Some("succeeded"));
    assert!(matches!(
        events.last().unwrap().payload,
        EventPayload::Cancel
    ));

    let ctl = RunControl {
        exited_ok: Some(exited.clone()),
        ..h.knobs(&[("PULUMI_STANDIN_FAIL_AT", "1")])
    };
    let ws = h.workspace(&program(&[("b", "aws:s3:Bucket", "b")], ""));
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await;
    assert!(e.is_err(), "{e:?}");
    // A permit left by a notification would complete this on its first poll.
    let notified = tokio::time::timeout(Duration::ZERO, exited.notified()).await;
    assert!(notified.is_err(), "a failed run notified exited_ok");
}
