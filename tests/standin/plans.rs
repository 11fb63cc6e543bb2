//! #18: update plans (`preview --save-plan`, `up --plan`) with the engine's violation texts, and
//! `--expect-no-changes` with its exit code.

use serde_json::Value;

use super::harness::{World, diagnostics, program, summary};

const R1: &str = "urn:pulumi:dev::proj::aws:s3:Bucket::r1";
const R2: &str = "urn:pulumi:dev::proj::aws:s3:Bucket::r2";

fn one(value: u32) -> String {
    program(&[("r1", "aws:s3:Bucket", &format!("value: {value}"))])
}

fn save_plan(w: &World) -> std::path::PathBuf {
    let plan = w.path("plan.json");
    let out = w
        .run(&[
            "preview",
            "--stack",
            "dev",
            "--save-plan",
            plan.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stdout.contains(&format!(
            "Update plan written to '{0}'\nRun `pulumi up --plan='{0}'` to constrain the update to the \
             operations planned by this preview\n",
            plan.display()
        )),
        "{}",
        out.stdout
    );
    plan
}

fn up_with_plan(w: &World, plan: &std::path::Path) -> super::harness::Out {
    let log = w.path("plan-up.jsonl");
    w.run(&[
        "up",
        "--yes",
        "--skip-preview",
        "--stack",
        "dev",
        "--plan",
        plan.to_str().unwrap(),
        "--event-log",
        log.to_str().unwrap(),
    ])
}

#[test]
fn a_saved_plan_is_a_deployment_plan_and_up_applies_it() {
    let w = World::with_stack(&one(1));
    let plan = save_plan(&w);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    for key in ["time", "magic", "version"] {
        assert!(doc["manifest"].get(key).is_some(), "{doc:#}");
    }
    let r1 = &doc["resourcePlans"][R1];
    assert_eq!(r1["steps"], serde_json::json!(["create"]));
    assert_eq!(r1["goal"]["type"], "aws:s3:Bucket");
    assert_eq!(r1["goal"]["name"], "r1");
    assert_eq!(r1["goal"]["custom"], true);
    assert_eq!(r1["goal"]["inputDiff"]["adds"]["value"], 1);
    let stack = &doc["resourcePlans"]["urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev"];
    assert_eq!(stack["steps"], serde_json::json!(["create"]));

    up_with_plan(&w, &plan).ok();
    assert_eq!(
        summary(&w.events("plan-up.jsonl"))["resourceChanges"]["create"],
        2
    );
    let history = w
        .run(&["stack", "history", "--json", "--stack", "dev"])
        .ok();
    let history: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(history[0]["environment"]["updatePlan"], "true");
}

#[test]
fn a_program_changed_since_the_plan_fails_with_the_engines_text() {
    let w = World::with_stack(&one(1));
    w.up("up.jsonl", &[]).ok();
    w.write_program(&one(2));
    let plan = save_plan(&w);
    w.write_program(&one(3));
    let out = up_with_plan(&w, &plan);
    assert_ne!(out.code, 0);
    assert_eq!(out.stderr, "");
    assert_eq!(
        diagnostics(&w.events("plan-up.jsonl"), "error"),
        [
            format!("resource {R1} violates plan: properties changed: ~~value[{{2}}!={{3}}]\n"),
            "update failed\n".to_owned(),
        ]
    );
    let r1 = &w.checkpoint()["checkpoint"]["latest"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"] == R1)
        .cloned()
        .unwrap();
    assert_eq!(
        r1["inputs"]["value"], 1,
        "nothing outside the plan was applied"
    );
}

#[test]
fn a_state_that_moved_on_since_the_plan_fails_with_the_engines_text() {
    let w = World::with_stack(&one(1));
    let plan = save_plan(&w);
    // Someone else's update created r1 meanwhile, differently.
    w.write_program(&one(5));
    w.up("other.jsonl", &[]).ok();
    w.write_program(&one(1));
    assert_ne!(up_with_plan(&w, &plan).code, 0);
    assert_eq!(
        diagnostics(&w.events("plan-up.jsonl"), "error"),
        [
            "update is not allowed by the plan: this resource is constrained to create\n",
            "update failed\n"
        ]
    );
}

#[test]
fn a_planned_operation_that_never_happens_fails_the_update() {
    let w = World::with_stack(&program(&[
        ("r1", "aws:s3:Bucket", "value: 1"),
        ("r2", "aws:s3:Bucket", "value: 1"),
    ]));
    let plan = save_plan(&w);
    w.write_program(&one(1));
    assert_ne!(up_with_plan(&w, &plan).code, 0);
    assert_eq!(
        diagnostics(&w.events("plan-up.jsonl"), "error"),
        [
            format!("expected resource operations for {R2} but none were seen\n"),
            "update failed\n".to_owned()
        ]
    );
}

#[test]
fn expect_no_changes_fails_with_exit_code_7_on_new_clis_and_255_on_old_ones() {
    let w = World::with_stack(&one(1));
    let new_cli = [("PULUMI_STANDIN_VERSION", "v3.230.0")];
    let out = w.run_with(
        &["preview", "--stack", "dev", "--expect-no-changes"],
        &new_cli,
    );
    assert_eq!(out.code, 7);
    assert_eq!(
        out.stderr,
        "error: no changes were expected for preview but changes were proposed\n"
    );
    assert_eq!(
        w.run(&["preview", "--stack", "dev", "--expect-no-changes"])
            .code,
        255
    );

    // `up` checks after applying: the changes are made, then it fails.
    let out = w.run_with(
        &[
            "up",
            "--yes",
            "--skip-preview",
            "--stack",
            "dev",
            "--expect-no-changes",
        ],
        &new_cli,
    );
    assert_eq!(out.code, 7);
    assert_eq!(
        out.stderr,
        "error: no changes were expected for update but changes were proposed\n"
    );
    let out = w.run_with(
        &[
            "up",
            "--yes",
            "--skip-preview",
            "--stack",
            "dev",
            "--expect-no-changes",
        ],
        &new_cli,
    );
    assert_eq!(out.code, 0, "{out:?}");
}
