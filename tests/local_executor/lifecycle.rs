//! Update, a second update, preview, refresh and destroy of the rendered program; events are
//! forwarded in order while the run goes on; destroy turns deletion protection off first.

use byoc::domain::OperationKind;
use byoc::executor::Outcome;

use super::support::{World, changes, kinds, run, start, start_with_sink_capacity, step_ops};

#[tokio::test]
async fn update_succeeds_with_outputs_and_forwards_events_in_order() {
    let Some(w) = World::start().await else {
        return;
    };
    let (outcome, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    let Outcome::Succeeded { summary, outputs } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(summary["create"] > 10, "{summary:?}");
    assert!(!summary.contains_key("same"), "{summary:?}");

    let outputs = outputs.as_ref().expect("an update reads outputs");
    assert!(outputs["kubeconfig"].secret, "{outputs:?}");
    assert!(outputs["kubeconfig"].value.is_string());
    assert!(!outputs["clusterName"].secret);
    assert_eq!(outputs["clusterName"].value, "standin:cluster.name");

    let k = kinds(&events);
    assert_eq!(k.first(), Some(&"preludeEvent"), "{k:?}");
    assert_eq!(k.last(), Some(&"cancelEvent"), "{k:?}");
    assert_eq!(k[k.len() - 2], "summaryEvent", "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "summaryEvent").count(), 1);
    let sequences: Vec<i64> = events
        .iter()
        .map(|e| e.payload["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    let summary_event = &events[k.len() - 2].payload["summaryEvent"];
    assert_eq!(
        summary_event["resourceChanges"]["create"],
        summary["create"]
    );
    assert_eq!(w.workspace_entries(), 0, "the workspace is removed");
}

/// The outputs read (`stack output --show-secrets`) starts once `up` has exited, without
/// waiting for the event log's tail to reach the sink: here the sink takes nothing after the
/// first event, so the events cannot all be forwarded, yet the read is recorded (before issue
/// 16's change it never was). The result is as when run one after the other: every event,
/// in order, and the outputs masked from them.
#[tokio::test]
async fn the_outputs_read_starts_before_the_event_log_is_drained() {
    let Some(w) = World::start().await else {
        return;
    };
    let mut running = start_with_sink_capacity(&w.exec, w.job(OperationKind::Update), 1);
    let first = running.next_event().await.expect("an event");
    assert_eq!(first.kind, "preludeEvent");
    let shows_secrets = |argv: &Vec<String>| argv.iter().any(|a| a == "--show-secrets");
    // Polls the stand-in's record (not a timing assumption: the bound only turns a hang into
    // a failure). Before the change this never happened while the sink was not read.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !w.argvs().iter().any(shows_secrets) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outputs read waited for the event log to drain: {:?}",
            w.argvs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!running.task.is_finished());
    let (outcome, rest) = running.finish().await;
    let Outcome::Succeeded { outputs, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    let outputs = outputs.as_ref().expect("an update reads outputs");
    assert!(outputs["kubeconfig"].secret, "{outputs:?}");
    assert!(!outputs["clusterName"].secret);
    assert_eq!(outputs["clusterName"].value, "standin:cluster.name");
    let k = kinds(&rest);
    assert_eq!(k.last(), Some(&"cancelEvent"), "{k:?}");
    assert_eq!(k.iter().filter(|k| **k == "summaryEvent").count(), 1);
    let sequences: Vec<i64> = std::iter::once(&first)
        .chain(&rest)
        .map(|e| e.payload["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}

#[tokio::test]
async fn events_reach_the_sink_while_the_engine_still_runs() {
    let Some(w) = World::with_knobs(&[("PULUMI_STANDIN_SLEEP_MS", "30")]).await else {
        return;
    };
    let mut running = start(&w.exec, w.job(OperationKind::Update));
    let first = running.next_event().await.expect("an event");
    assert_eq!(first.kind, "preludeEvent");
    assert!(
        !running.task.is_finished(),
        "the prelude arrived only after the run ended"
    );
    let (outcome, _) = running.finish().await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
}

#[tokio::test]
async fn second_update_is_all_same_preview_changes_nothing_and_destroy_deletes() {
    let Some(w) = World::start().await else {
        return;
    };
    let (first, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    let created = changes(&first)["create"];

    let (second, events) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert!(matches!(second, Outcome::Succeeded { .. }), "{second:?}");
    assert_eq!(changes(&second).keys().collect::<Vec<_>>(), ["same"]);
    assert_eq!(changes(&second)["same"], created);
    assert!(step_ops(&events).iter().all(|op| op == "same"));

    let (preview, events) = run(&w.exec, w.job(OperationKind::Preview)).await;
    let Outcome::Succeeded { summary, outputs } = &preview else {
        panic!("{preview:?}");
    };
    assert!(outputs.is_none());
    assert_eq!(summary.keys().collect::<Vec<_>>(), ["same"]);
    assert!(
        events
            .iter()
            .filter(|e| e.kind == "resourcePreEvent")
            .all(|e| e.payload["resourcePreEvent"]["planning"] == true)
    );

    let (refresh, _) = run(&w.exec, w.job(OperationKind::Refresh)).await;
    assert!(
        matches!(refresh, Outcome::Succeeded { outputs: None, .. }),
        "{refresh:?}"
    );

    let (destroy, events) = run(&w.exec, w.job(OperationKind::Destroy)).await;
    let Outcome::Succeeded { summary, outputs } = &destroy else {
        panic!("{destroy:?}");
    };
    assert!(outputs.is_none());
    assert_eq!(summary["delete"], created, "{summary:?}");
    assert!(step_ops(&events).iter().all(|op| op == "delete"));
    assert!(!kinds(&events).contains(&"byoc.deletion-protection-off"));

    // Nothing left: a new update creates everything again.
    let (again, _) = run(&w.exec, w.job(OperationKind::Update)).await;
    assert_eq!(changes(&again)["create"], created);
}

#[tokio::test]
async fn destroy_turns_deletion_protection_off_with_a_targeted_update_first() {
    let Some(w) = World::start().await else {
        return;
    };
    let protected = || {
        let mut job = w.job(OperationKind::Update);
        job.config.eks.deletion_protection = true;
        job
    };
    let (up, _) = run(&w.exec, protected()).await;
    assert!(matches!(up, Outcome::Succeeded { .. }), "{up:?}");

    let mut destroy = protected();
    destroy.kind = OperationKind::Destroy;
    let (outcome, events) = run(&w.exec, destroy).await;
    let Outcome::Succeeded { summary, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(summary["delete"] > 10, "{summary:?}");
    let k = kinds(&events);
    let off = k
        .iter()
        .position(|k| *k == "byoc.deletion-protection-off")
        .expect("protection turned off");
    let targets = &events[off].payload["targets"];
    assert_eq!(targets.as_array().unwrap().len(), 1, "{targets}");
    assert!(
        targets[0]
            .as_str()
            .unwrap()
            .ends_with("aws:eks/cluster:Cluster::cluster")
    );

    // The exact commands: preview, then up targeting the cluster, then destroy.
    let engine: Vec<Vec<String>> = w
        .argvs()
        .into_iter()
        .filter(|a| ["preview", "up", "destroy"].contains(&a[1].as_str()))
        .collect();
    let tail: Vec<&str> = engine[engine.len() - 3..]
        .iter()
        .map(|a| a[1].as_str())
        .collect();
    assert_eq!(tail, ["preview", "up", "destroy"]);
    let up = &engine[engine.len() - 2];
    assert!(
        up.contains(&format!("--target={}", targets[0].as_str().unwrap())),
        "{up:?}"
    );
    // The targeted update changed only the cluster.
    let updated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "resOutputsEvent")
        .filter(|e| e.payload["resOutputsEvent"]["metadata"]["op"] == "update")
        .collect();
    assert_eq!(updated.len(), 1);

    // A destroy of an empty stack has nothing to unprotect.
    let mut again = protected();
    again.kind = OperationKind::Destroy;
    let (outcome, events) = run(&w.exec, again).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(!kinds(&events).contains(&"byoc.deletion-protection-off"));
}
