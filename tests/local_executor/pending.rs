//! Pending creates: a cancel that escalates past SIGINT leaves the step in flight pending in
//! the checkpoint, with its object already in the stand-in's fake cloud. The executor resolves
//! it right after the forced stop (import by the ID the program determines), so the next update
//! succeeds with every object once, and the one after changes nothing. Also issue 16's process
//! counts: a day-2 update runs `up` and one outputs read, a preview just `preview`.

use std::collections::BTreeMap;
use std::time::Duration;

use byoc::domain::OperationKind;
use byoc::executor::Outcome;
use serde_json::Value;

use super::support::{PROJECT, STACK, World, changes, kinds, run, start, wait_until};

/// Resource types whose pending create the executor imports (`pending_ids.rs`).
const IMPORTABLE: &[&str] = &[
    "aws:iam/role:Role",
    "aws:iam/instanceProfile:InstanceProfile",
];

fn checkpoint(w: &World) -> Value {
    let path = w
        .data_dir()
        .join("state/.pulumi/stacks")
        .join(PROJECT)
        .join(format!("{STACK}.json"));
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn pending_types(w: &World) -> Vec<String> {
    checkpoint(w)["checkpoint"]["latest"]["pending_operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|op| op["type"] == "creating")
        .map(|op| {
            op["resource"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// URN → number of objects in the fake cloud.
fn cloud_objects(w: &World) -> BTreeMap<String, usize> {
    let dir = w.data_dir().join("state/.standin-cloud/objects");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let record: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        *out.entry(record["urn"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

#[tokio::test]
async fn a_cancel_escalated_mid_create_leaves_nothing_pending_and_every_object_once() {
    // Only the cancelled run is slow; the runs after it must not wait 1.5 s per step.
    let Some(w) = World::start().await else {
        return;
    };
    let mut settings = w.settings.clone();
    settings.pulumi.cancel_grace = Duration::from_millis(200);
    let slow = super::support::executor(
        &settings,
        &w.aws,
        w.root.path(),
        &[("PULUMI_STANDIN_SLEEP_MS", "1500")],
    )
    .await;
    let running = start(&slow, w.job(OperationKind::Update));
    wait_until(
        "an importable create to be in flight",
        Duration::from_secs(120),
        || {
            pending_types(&w)
                .iter()
                .any(|t| IMPORTABLE.contains(&t.as_str()))
        },
    )
    .await;
    // SIGINT, 200 ms, SIGTERM: the stand-in terminates with the 1.5 s step still pending.
    running.cancel.cancel();
    let (outcome, events) = running.finish().await;
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    let k = kinds(&events);
    assert!(k.contains(&"byoc.pending-creates"), "{k:?}");
    let resolved = events
        .iter()
        .find(|e| e.kind == "byoc.pending-resolved")
        .expect("resolved at once");
    let imported = &resolved.payload["byoc.pending-resolved"]["imported"];
    assert!(!imported.as_array().unwrap().is_empty(), "{resolved:?}");
    assert!(pending_types(&w).is_empty(), "nothing pending is left");
    assert_eq!(w.lock_files(), 0);

    let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let objects = cloud_objects(&w);
    assert!(objects.values().all(|n| *n == 1), "{objects:#?}");
    let (outcome, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert_eq!(
        changes(&outcome).keys().collect::<Vec<_>>(),
        ["same"],
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_day_2_update_runs_up_and_one_outputs_read_and_a_preview_only_preview() {
    let Some(w) = World::start().await else {
        return;
    };
    let (first, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(first, Outcome::Succeeded { .. }), "{first:?}");
    let before = w.argvs().len();
    let (second, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    let Outcome::Succeeded { outputs, .. } = &second else {
        panic!("{second:?}");
    };
    assert!(!outputs.as_ref().unwrap().is_empty());
    let cmds: Vec<Vec<String>> = w.argvs()[before..].to_vec();
    let heads: Vec<&str> = cmds.iter().map(|a| a[1].as_str()).collect();
    // The unchanged config sets nothing; the settings file carried it.
    assert_eq!(heads, ["up", "stack"], "{cmds:#?}");
    assert!(cmds[1].contains(&"--show-secrets".to_owned()));
    let before = w.argvs().len();
    let (preview, _) = run(&w.exec, w.job(OperationKind::Preview)).await;
    assert!(matches!(preview, Outcome::Succeeded { .. }), "{preview:?}");
    let heads: Vec<String> = w.argvs()[before..].iter().map(|a| a[1].clone()).collect();
    assert_eq!(heads, ["preview"]);
}

/// Only a value that changed is set: a settings file whose secret was set from another
/// external ID gets exactly one `config set` (value on stdin), and the run after that none.
#[tokio::test]
async fn only_a_changed_secret_is_set_and_only_once() {
    let Some(w) = World::start().await else {
        return;
    };
    let (first, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(first, Outcome::Succeeded { .. }), "{first:?}");
    let mut job = w.job(OperationKind::Update);
    let stored = job
        .stack_settings
        .as_mut()
        .expect("the settings file was kept");
    stored.external_id_sha256 = Some("0".repeat(64));
    let before = w.argvs().len();
    let (second, _) = run(&w.exec, job).await;
    assert!(matches!(second, Outcome::Succeeded { .. }), "{second:?}");
    let cmds: Vec<Vec<String>> = w.argvs()[before..].to_vec();
    let heads: Vec<&str> = cmds.iter().map(|a| a[1].as_str()).collect();
    assert_eq!(heads, ["config", "up", "stack"], "{cmds:#?}");
    assert_eq!(cmds[0][2], "set", "{cmds:#?}");
    assert!(
        cmds[0].iter().any(|a| a.ends_with("externalId")),
        "{cmds:#?}"
    );
    assert!(
        !cmds[0]
            .iter()
            .any(|a| a.contains(super::support::EXTERNAL_ID))
    );
    let before = w.argvs().len();
    let (third, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(third, Outcome::Succeeded { .. }), "{third:?}");
    let heads: Vec<String> = w.argvs()[before..].iter().map(|a| a[1].clone()).collect();
    assert_eq!(heads, ["up", "stack"]);
}
