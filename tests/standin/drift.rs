//! #18: a resource changed out of band in the fake cloud; `refresh --preview-only` and
//! `preview --refresh` report exactly it, with the changed property in `detailedDiff`.

use serde_json::{Value, json};

use super::harness::{World, payloads, program, summary};

const R1: &str = "urn:pulumi:dev::proj::aws:s3:Bucket::r1";

fn deployed() -> World {
    let w = World::with_stack(&program(&[
        ("r1", "aws:s3:Bucket", "value: 1\ntags:\n  team: a"),
        ("r2", "aws:s3:Bucket", "value: 1"),
    ]));
    w.up("up.jsonl", &[]).ok();
    w
}

/// (op, urn, diffs, detailedDiff) of every resOutputsEvent.
fn outputs(events: &[Value]) -> Vec<(String, String, Value, Value)> {
    payloads(events, "resOutputsEvent")
        .iter()
        .map(|p| {
            let m = &p["metadata"];
            (
                m["op"].as_str().unwrap().to_owned(),
                m["urn"].as_str().unwrap().to_owned(),
                m.get("diffs").cloned().unwrap_or(Value::Null),
                m["detailedDiff"].clone(),
            )
        })
        .collect()
}

fn r1_inputs(w: &World) -> Value {
    w.checkpoint()["checkpoint"]["latest"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"] == R1)
        .map(|r| r["inputs"].clone())
        .unwrap()
}

#[test]
fn a_refresh_preview_reports_exactly_the_drifted_resource_and_property() {
    let w = deployed();
    let out = w
        .run(&[
            "__standin",
            "cloud",
            "drift",
            "--stack",
            "dev",
            "r1",
            "tags.team=b",
        ])
        .ok();
    assert!(out.stdout.contains(R1));

    let log = w.path("refresh.jsonl");
    w.run(&[
        "refresh",
        "--preview-only",
        "--stack",
        "dev",
        "--event-log",
        log.to_str().unwrap(),
    ])
    .ok();
    let events = w.events("refresh.jsonl");
    let changed: Vec<_> = outputs(&events)
        .into_iter()
        .filter(|o| o.0 != "same")
        .collect();
    assert_eq!(
        changed,
        [(
            "update".to_owned(),
            R1.to_owned(),
            json!(["tags"]),
            json!({"tags": {"diffKind": "update", "inputDiff": false}})
        )]
    );
    let s = summary(&events);
    assert_eq!(s["isPreview"], true);
    assert_eq!(s["resourceChanges"], json!({"update": 1, "same": 1}));
    assert_eq!(
        r1_inputs(&w)["tags"]["team"],
        "a",
        "a preview changes no state"
    );

    let new_cli = [("PULUMI_STANDIN_VERSION", "v3.230.0")];
    let out = w.run_with(
        &[
            "refresh",
            "--preview-only",
            "--stack",
            "dev",
            "--expect-no-changes",
        ],
        &new_cli,
    );
    assert_eq!(out.code, 7);
    assert_eq!(
        out.stderr,
        "error: no changes were expected for refresh but changes were proposed\n"
    );
    let out = w.run_with(
        &[
            "preview",
            "--refresh",
            "--stack",
            "dev",
            "--expect-no-changes",
        ],
        &new_cli,
    );
    assert_eq!(out.code, 7);
    assert_eq!(
        out.stderr,
        "error: no changes were expected for preview but changes were proposed\n"
    );
}

#[test]
fn the_drift_knob_applies_once_and_refresh_then_up_converge() {
    let mut w = deployed();
    w.set("PULUMI_STANDIN_DRIFT", "r2:value=7");
    let log = w.path("preview.jsonl");
    w.run(&[
        "preview",
        "--refresh",
        "--stack",
        "dev",
        "--event-log",
        log.to_str().unwrap(),
    ])
    .ok();
    let events = w.events("preview.jsonl");
    // Refresh steps first (op "refresh", not counted), then the update that reverts the drift.
    let ops: Vec<(String, String)> = outputs(&events).into_iter().map(|o| (o.0, o.1)).collect();
    assert!(ops.contains(&(
        "refresh".to_owned(),
        "urn:pulumi:dev::proj::aws:s3:Bucket::r2".to_owned()
    )));
    assert_eq!(summary(&events)["resourceChanges"]["update"], 1);

    w.run(&["refresh", "--yes", "--skip-preview", "--stack", "dev"])
        .ok();
    w.up("revert.jsonl", &[]).ok();
    assert_eq!(
        summary(&w.events("revert.jsonl"))["resourceChanges"]["update"],
        1
    );
    // The knob is still set but already applied: no drift any more.
    w.run(&[
        "preview",
        "--refresh",
        "--stack",
        "dev",
        "--expect-no-changes",
    ])
    .ok();
    let cloud = w.cloud();
    assert!(
        cloud.iter().all(|r| r["properties"]["value"] == 1),
        "{cloud:#?}"
    );
}

#[test]
fn a_plain_refresh_takes_the_cloud_into_the_state_and_a_deleted_resource_out() {
    let w = deployed();
    w.run(&[
        "__standin",
        "cloud",
        "drift",
        "--stack",
        "dev",
        "r1",
        "value=9",
    ])
    .ok();
    w.run(&["__standin", "cloud", "delete", "--stack", "dev", "r2"])
        .ok();
    let log = w.path("refresh.jsonl");
    w.run(&[
        "refresh",
        "--yes",
        "--skip-preview",
        "--stack",
        "dev",
        "--event-log",
        log.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        summary(&w.events("refresh.jsonl"))["resourceChanges"],
        json!({"update": 1, "delete": 1})
    );
    assert_eq!(r1_inputs(&w)["value"], 9);
    let urns: Vec<Value> = w.checkpoint()["checkpoint"]["latest"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["urn"].clone())
        .collect();
    assert!(!urns.contains(&json!("urn:pulumi:dev::proj::aws:s3:Bucket::r2")));
}
