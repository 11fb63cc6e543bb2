//! #12: a create cut short by SIGKILL or by the second signal stays in `pending_operations`;
//! the next `up` warns with the engine's text and creates it again, which a fixed physical
//! name turns into the cloud's "already exists" failure.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use super::harness::{
    World, diagnostics, fixture, payloads, program, strip_colors, summary, wait_until,
};

pub const ROLE_URN: &str = "urn:pulumi:dev::proj::aws:iam/role:Role::role";

/// A role with a fixed name, then an auto-named bucket.
pub fn role_and_bucket() -> String {
    program(&[
        ("role", "aws:iam/role:Role", "name: proj-dev-node"),
        ("bucket", "aws:s3:Bucket", "value: 1"),
    ])
}

fn pending_ops(w: &World) -> Vec<Value> {
    w.checkpoint()["checkpoint"]["latest"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Starts a slow `up` and SIGKILLs it while its first create is in flight: recorded as
/// pending and already made in the cloud (the provider is waiting for it to be ready).
pub fn kill_during_first_create(w: &World) {
    let mut child = w.spawn(
        &["up", "--yes", "--skip-preview", "--stack", "dev"],
        &[("PULUMI_STANDIN_SLEEP_MS", "30000")],
    );
    wait_until(
        "a pending create made in the cloud",
        Duration::from_secs(20),
        || !pending_ops(w).is_empty() && !w.cloud().is_empty(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigkill_during_a_create_leaves_it_pending_in_the_checkpoint_and_real_in_the_cloud() {
    let w = World::with_stack(&role_and_bucket());
    kill_during_first_create(&w);

    let ops = pending_ops(&w);
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert_eq!(ops[0]["type"], "creating");
    let res = &ops[0]["resource"];
    assert_eq!(res["urn"], ROLE_URN);
    assert_eq!(res["type"], "aws:iam/role:Role");
    assert_eq!(res["inputs"], json!({"name": "proj-dev-node"}));
    assert!(res.get("id").is_none(), "a create in flight has no ID yet");
    assert!(
        w.checkpoint()["checkpoint"]["latest"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["urn"] != ROLE_URN)
    );
    // The cloud has it although the state does not; the lock stays behind.
    let cloud = w.cloud();
    assert_eq!(cloud.len(), 1, "{cloud:#?}");
    assert_eq!(cloud[0]["id"], "proj-dev-node");
    assert_eq!(cloud[0]["urn"], ROLE_URN);
    assert_eq!(w.lock_files().len(), 1);
}

#[test]
fn the_next_up_warns_like_the_engine_then_fails_on_the_taken_name() {
    let w = World::with_stack(&role_and_bucket());
    kill_during_first_create(&w);
    w.run(&["cancel", "--yes", "--stack", "dev"]).ok();

    let out = w.up("up.jsonl", &[]);
    assert_ne!(out.code, 0, "{out:#?}");
    assert_eq!(
        out.stderr, "",
        "an engine failure is reported as diagnostics only"
    );
    let events = w.events("up.jsonl");

    // The warning is the recorded engine text with our one pending operation.
    let recorded = payloads(
        &fixture("events/engine/pending-operations-warning.jsonl"),
        "diagnosticEvent",
    )[0]["message"]
        .as_str()
        .map(strip_colors)
        .unwrap();
    let (_, tail) = recorded
        .split_once("These resources are in an unknown state")
        .unwrap();
    let expected = format!(
        "Attempting to deploy or update resources with 1 pending operations from previous deployment.\n  \
         * {ROLE_URN}, interrupted while creating\nThese resources are in an unknown state{tail}"
    );
    assert_eq!(diagnostics(&events, "warning"), [expected]);

    let errors = diagnostics(&events, "error");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "creating IAM Role (proj-dev-node): operation error IAM: CreateRole, https response error \
             StatusCode: 409, RequestID: "
        ),
        "{errors:#?}"
    );
    assert!(
        errors[0]
            .ends_with(", EntityAlreadyExists: Role with name proj-dev-node already exists.\n")
    );
    assert_eq!(errors[1], "update failed\n");
    let failed = payloads(&events, "resOpFailedEvent");
    assert_eq!(failed[0]["metadata"]["urn"], ROLE_URN);
    assert_eq!(summary(&events)["result"], "failed");
    // Still pending: only a refresh decision clears a pending create.
    assert_eq!(pending_ops(&w).len(), 1);
    assert_eq!(w.cloud().len(), 1);
}

#[test]
fn an_auto_named_create_is_made_again_and_its_pending_entry_is_carried_on() {
    let w = World::with_stack(&program(&[("bucket", "aws:s3:Bucket", "value: 1")]));
    kill_during_first_create(&w);
    w.run(&["cancel", "--yes", "--stack", "dev"]).ok();

    w.up("up.jsonl", &[]).ok();
    assert_eq!(diagnostics(&w.events("up.jsonl"), "warning").len(), 1);
    // Two physical buckets now (the first is an orphan), and the pending create stays.
    let ids: Vec<Value> = w.cloud().iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert_eq!(
        pending_ops(&w).len(),
        1,
        "pending creates are carried into every checkpoint"
    );
}

#[test]
fn a_second_signal_terminates_leaving_the_create_pending_and_releases_the_lock() {
    let w = World::with_stack(&role_and_bucket());
    let log = w.path("up.jsonl");
    let child = w.spawn(
        &[
            "up",
            "--yes",
            "--skip-preview",
            "--stack",
            "dev",
            "--event-log",
            log.to_str().unwrap(),
        ],
        &[
            ("PULUMI_STANDIN_SLEEP_MS", "30000"),
            ("PULUMI_STANDIN_VERSION", "v3.230.0"),
        ],
    );
    let pid = Pid::from_raw(child.id() as i32);
    wait_until("a pending create", Duration::from_secs(20), || {
        !pending_ops(&w).is_empty()
    });
    kill(pid, Signal::SIGINT).unwrap();
    wait_until("the cancel notice", Duration::from_secs(20), || {
        !payloads(&w.events("up.jsonl"), "stdoutEvent").is_empty()
    });
    kill(pid, Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();

    // backenderr.CancelledError: exit code 8 on CLIs with the exit-code taxonomy.
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: update cancelled\n"
    );
    let events = w.events("up.jsonl");
    let stdout: Vec<&str> = payloads(&events, "stdoutEvent")
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        stdout,
        [
            "^C received; cancelling. If you would like to terminate immediately, press ^C again.\n\
             Note that terminating immediately may lead to orphaned resources and other inconsistencies.\n",
            "^C received; terminating",
        ]
    );
    assert_eq!(summary(&events)["result"], "failed");
    assert!(events.last().unwrap().get("cancelEvent").is_some());
    assert_eq!(pending_ops(&w).len(), 1);
    assert_eq!(pending_ops(&w)[0]["resource"]["urn"], ROLE_URN);
    assert!(
        w.lock_files().is_empty(),
        "the CLI still runs its deferred unlock"
    );
}
