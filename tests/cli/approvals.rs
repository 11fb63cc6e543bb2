//! Change control from the command line (issue 18): a followed deploy that the approval
//! policy holds stops with exit code 7 and says what to run; `byoc plan` shows the change
//! list; `byoc approve` applies it; `byoc reject --reason` cancels it and records why.

use crate::harness::{Client, Server, onboard};

#[test]
fn a_held_deploy_stops_following_with_exit_7_and_is_planned_approved_or_rejected() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "approval:\n  policy: always\n");

    // Followed (not on a terminal: plain lines), it stops once the plan is saved.
    let out = c.run(&["deploy", "acme/prod", "--follow", "-o", "json"]);
    assert_eq!(
        out.code, 7,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let op: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(op["status"], "awaiting_approval");
    let id = op["id"].as_str().unwrap().to_owned();
    for hint in [
        format!("Operation {id} awaits approval: "),
        format!("byoc plan {id}"),
        format!("byoc approve {id}"),
        format!("byoc reject {id}"),
    ] {
        assert!(out.stderr.contains(&hint), "{hint}: {}", out.stderr);
    }
    // The reason the policy gave is printed too.
    let plan = c.run(&["plan", &id, "-o", "json"]).json();
    let reason = plan["hold_reason"].as_str().unwrap();
    assert!(out.stderr.contains(reason), "{}", out.stderr);

    // The change list, as a table: one row per resource the preview plans to create.
    let creates = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ch| ch["op"] == "create")
        .count();
    assert!(creates > 0, "{plan}");
    let table = c.ok(&["plan", &id]);
    assert!(table.contains("awaiting approval"), "{table}");
    assert!(table.contains("OP") && table.contains("TYPE"), "{table}");
    let rows = table.lines().filter(|l| l.starts_with("create ")).count();
    assert_eq!(rows, creates, "{table}");

    // Approved and followed: the planned update runs to its end.
    let out = c.run(&["approve", &id, "--follow", "-o", "json"]);
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let done: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["id"], id.as_str());
    let table = c.ok(&["plan", &id]);
    assert!(table.contains("approved by "), "{table}");

    // The next deploy is held too; rejected with a reason, it ends cancelled.
    let out = c.run(&["deploy", "acme/prod", "--no-follow", "-o", "json"]);
    let second = out.json()["id"].as_str().unwrap().to_owned();
    let waiting = crate::harness::eventually("the second deploy held", || {
        let op = c.run(&["ops", "show", &second, "-o", "json"]).json();
        (op["status"] == "awaiting_approval").then_some(op)
    });
    assert_eq!(waiting["id"], second.as_str());
    let out = c.ok(&["reject", &second, "--reason", "needs a maintenance window"]);
    assert!(out.contains("Rejected"), "{out}");
    let op = c.run(&["ops", "show", &second, "-o", "json"]).json();
    assert_eq!(op["status"], "cancelled");
    let error = op["error"].as_str().unwrap();
    assert!(
        error.starts_with("rejected by ") && error.ends_with(": needs a maintenance window"),
        "{error}"
    );
    // Decided already: a conflict (exit 5); not an operation id: a usage error (exit 2).
    assert_eq!(c.run(&["approve", &second, "--no-follow"]).code, 5);
    assert_eq!(c.run(&["reject", "../tenants"]).code, 2);
}
