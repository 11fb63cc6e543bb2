//! #12: resolving pending creates: `refresh --clear-pending-creates`, `refresh
//! --import-pending-creates <urn> --import-pending-creates <id>`, and the manual route
//! `stack export` / `stack import`.

use serde_json::Value;

use super::harness::{World, diagnostics, schema_errors, summary};
use super::pending::{ROLE_URN, kill_during_first_create, role_and_bucket};

fn crashed_world() -> World {
    let w = World::with_stack(&role_and_bucket());
    kill_during_first_create(&w);
    w.run(&["cancel", "--yes", "--stack", "dev"]).ok();
    w
}

fn refresh(w: &World, extra: &[&str]) -> super::harness::Out {
    let log = w.path("refresh.jsonl");
    let mut args = vec![
        "refresh",
        "--yes",
        "--skip-preview",
        "--stack",
        "dev",
        "--event-log",
    ];
    args.push(log.to_str().unwrap());
    args.extend_from_slice(extra);
    w.run(&args)
}

fn latest(w: &World) -> Value {
    w.checkpoint()["checkpoint"]["latest"].clone()
}

#[test]
fn clear_pending_creates_forgets_them_and_the_taken_name_still_fails_the_next_up() {
    let w = crashed_world();
    refresh(&w, &["--clear-pending-creates"]).ok();
    assert!(latest(&w).get("pending_operations").is_none());
    // Forgetting it does not delete it: the cloud still holds the name.
    let out = w.up("up.jsonl", &[]);
    assert_ne!(out.code, 0);
    assert!(diagnostics(&w.events("up.jsonl"), "warning").is_empty());
    assert!(diagnostics(&w.events("up.jsonl"), "error")[0].contains("EntityAlreadyExists"));
}

#[test]
fn import_pending_creates_adopts_the_cloud_object_and_the_next_updates_converge() {
    let w = crashed_world();
    let urn_flag = format!("--import-pending-creates={ROLE_URN}");
    refresh(&w, &[&urn_flag, "--import-pending-creates=proj-dev-node"]).ok();
    let latest = latest(&w);
    assert!(latest.get("pending_operations").is_none(), "{latest:#?}");
    let role = latest["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"] == ROLE_URN)
        .cloned()
        .unwrap();
    assert_eq!(role["id"], "proj-dev-node");

    let out = w.up("up.jsonl", &[]).ok();
    assert!(out.stderr.is_empty());
    let changes = &summary(&w.events("up.jsonl"))["resourceChanges"];
    assert_eq!(changes["create"], 2, "the bucket and the stack: {changes}");
    assert_eq!(changes["same"], 1, "the role: {changes}");
    w.up("again.jsonl", &[]).ok();
    let again = &summary(&w.events("again.jsonl"))["resourceChanges"];
    assert_eq!(
        again.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["same"]
    );
    assert_eq!(
        w.cloud().len(),
        2,
        "one role, one bucket: nothing created twice"
    );
}

#[test]
fn an_odd_number_of_import_values_is_refused_with_the_cli_text() {
    let w = crashed_world();
    let out = refresh(&w, &["--import-pending-creates", ROLE_URN]);
    assert_ne!(out.code, 0);
    assert_eq!(
        out.stderr,
        "error: each URN must be followed by an ID: found an odd number of entries\n"
    );
    assert_eq!(latest(&w)["pending_operations"][0]["type"], "creating");
}

#[test]
fn importing_an_id_the_cloud_does_not_have_fails_like_an_import() {
    let w = crashed_world();
    let urn_flag = format!("--import-pending-creates={ROLE_URN}");
    let out = refresh(&w, &[&urn_flag, "--import-pending-creates=proj-dev-nope"]);
    assert_ne!(out.code, 0);
    let errors = diagnostics(&w.events("refresh.jsonl"), "error");
    assert_eq!(
        errors,
        [
            "resource 'proj-dev-nope' does not exist\n",
            "update failed\n"
        ]
    );
}

#[test]
fn stack_export_shows_pending_operations_and_stack_import_drops_them_with_a_warning() {
    let w = crashed_world();
    let out = w.run(&["stack", "export", "--stack", "dev"]).ok();
    let export: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(export["version"], 3);
    let dep = &export["deployment"];
    for key in ["manifest", "secrets_providers", "resources"] {
        assert!(dep.get(key).is_some(), "{key} in {dep:#?}");
    }
    assert_eq!(dep["pending_operations"][0]["type"], "creating");
    assert_eq!(dep["pending_operations"][0]["resource"]["urn"], ROLE_URN);
    // The document is a valid deployment by pulumi's own JSON Schema.
    if let Some(errors) = schema_errors(&out.stdout) {
        assert_eq!(errors, "", "{}", out.stdout);
    }

    let file = w.path("export.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = w
        .run(&[
            "stack",
            "import",
            "--file",
            file.to_str().unwrap(),
            "--stack",
            "dev",
        ])
        .ok();
    assert_eq!(out.stdout, "Import complete.\n");
    assert_eq!(
        out.stderr,
        format!("warning: removing pending operation 'creating' on '{ROLE_URN}' from snapshot\n")
    );
    assert!(latest(&w).get("pending_operations").is_none());
}
