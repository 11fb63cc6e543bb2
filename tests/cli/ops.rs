//! Stack operations from the command line, with the pulumi stand-in behind the server:
//! start, follow (plain lines without a terminal), status, outputs, history, cancel, destroy.

use serde_json::Value;

use crate::harness::{Client, Server, assert_fits, onboard};

/// Follows `id` to its end (plain lines, exit code = its status) and returns the output.
fn wait(c: &Client, id: &str) -> String {
    c.ok(&["ops", "logs", id, "--follow"])
}

#[test]
fn operations_are_started_followed_read_and_cancelled_from_the_command_line() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "{}\n");
    let verified = c.ok(&["tenants", "verify", "acme"]);
    assert!(verified.contains("Assumed as:"), "{verified}");

    // Not on a terminal: the operation is queued and printed, not followed.
    let queued = c.ok(&["deploy", "acme/prod"]);
    assert!(queued.starts_with("Queued update "), "{queued}");
    let id = queued.split_whitespace().nth(2).unwrap().to_owned();
    let log = wait(&c, &id);
    assert!(log.contains("+ created"), "{log}");
    assert!(log.contains(&format!("Operation {id} succeeded.")), "{log}");

    let list = c.ok(&["ops", "list", "acme/prod"]);
    assert_fits(&list, 80);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&id) && l.contains("succeeded")),
        "{list}"
    );
    let shown = c.run(&["ops", "show", &id, "-o", "json"]).json();
    assert_eq!(shown["status"], "succeeded");
    let lines: Vec<Value> = c
        .ok(&["ops", "logs", &id, "-o", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.first().unwrap()["kind"], "preludeEvent");
    assert_eq!(lines.last().unwrap()["kind"], "cancelEvent");
    assert!(
        lines
            .windows(2)
            .all(|w| w[1]["seq"].as_i64() == w[0]["seq"].as_i64().map(|s| s + 1))
    );

    let status = c.ok(&["status", "acme/prod"]);
    assert_fits(&status, 80);
    assert!(
        status.contains("Status:") && status.contains("succeeded"),
        "{status}"
    );
    let outputs = c.ok(&["outputs", "acme/prod"]);
    assert!(
        outputs
            .lines()
            .any(|l| l.starts_with("kubeconfig") && l.contains("[secret]")),
        "{outputs}"
    );
    let revealed = c
        .run(&["outputs", "acme/prod", "--show-secrets", "-o", "json"])
        .json();
    assert!(revealed["kubeconfig"]["value"].is_string(), "{revealed}");

    let preview = c.ok(&["preview", "acme/prod", "--follow"]);
    assert!(
        preview.contains("Resources: ") && preview.contains("unchanged"),
        "{preview}"
    );
    let refresh = c
        .run(&["refresh", "acme/prod", "--follow", "-o", "json"])
        .json();
    assert_eq!(refresh["kind"], "refresh");
    assert_eq!(refresh["status"], "succeeded");

    // Conflicts: the tenant still has a deployed stack; the operation already finished.
    assert_eq!(c.run(&["tenants", "delete", "acme"]).code, 5);
    assert_eq!(c.run(&["ops", "cancel", &id]).code, 5);

    // A queued operation is cancelled at once (the worker is held up by a slow update).
    server.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "100")]);
    let slow = c.run(&["deploy", "acme/prod", "-o", "json"]).json();
    let behind = c.run(&["refresh", "acme/prod", "-o", "json"]).json();
    let cancelled = c.ok(&["ops", "cancel", behind["id"].as_str().unwrap()]);
    assert!(
        cancelled.contains("cancelled before it started"),
        "{cancelled}"
    );
    let out = c.run(&["ops", "logs", behind["id"].as_str().unwrap(), "--follow"]);
    assert_eq!(out.code, 6, "{out:?}");
    wait(&c, slow["id"].as_str().unwrap());
    server.knobs(&[]);

    // Destroy: without a terminal it needs --yes.
    let refused = c.run(&["destroy", "acme/prod"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let destroyed = c.ok(&["destroy", "acme/prod", "--yes", "--follow"]);
    assert!(destroyed.contains("- deleted"), "{destroyed}");
    let status = c.run(&["status", "acme/prod", "-o", "json"]).json();
    assert_eq!(status["status"], "destroyed");
    c.ok(&["tenants", "delete", "acme"]);
}

#[test]
fn a_failed_operation_is_exit_1_and_shows_the_failed_step_and_the_engine_error() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "{}\n");
    server.knobs(&[("PULUMI_STANDIN_FAIL_AT", "3")]);
    let out = c.run(&["deploy", "acme/prod", "--follow"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("x create failed"), "{}", out.stdout);
    assert!(out.stdout.contains("error: "), "{}", out.stdout);
    assert!(
        out.stdout.contains("standin injected failure"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" failed."), "{}", out.stdout);
}

#[test]
fn the_plain_follow_output_of_a_deploy_is_stable() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "tags:\n  team: platform\n");
    let out = c.run(&["deploy", "acme/prod", "--follow"]);
    out.ok();
    // No terminal: no escape sequences (colours, bar), nothing but lines.
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
    insta::with_settings!({filters => vec![
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[id]"),
        (r"\b(\d+h)?(\d+m)?\d+s\b", "[duration]"),
    ]}, {
        insta::assert_snapshot!(out.stdout);
    });
}

#[test]
fn forget_asks_for_yes_off_a_terminal_and_then_stops_tracking_the_stack() {
    // No AWS: the deploy cannot create anything; what matters is that a stack row exists.
    let server = Server::start();
    let c = Client::admin(&server);
    onboard(&c, "{}\n");
    let queued = c.ok(&["deploy", "acme/prod", "--no-follow", "-o", "json"]);
    let id = serde_json::from_str::<Value>(&queued).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::harness::eventually("the deploy to end", || {
        let op = c.run(&["ops", "show", &id, "-o", "json"]).json();
        matches!(op["status"].as_str(), Some("failed" | "succeeded")).then_some(())
    });

    let refused = c.run(&["forget", "acme/prod"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");

    let forgot = c.ok(&["forget", "acme/prod", "--yes"]);
    assert!(forgot.contains("Forgot stack acme-prod"), "{forgot}");
    let status = c.run(&["status", "acme/prod", "-o", "json"]).json();
    assert_eq!(status["status"], "not_deployed");
    let list = c.ok(&["ops", "list", "acme/prod"]);
    assert!(
        list.lines()
            .any(|l| l.contains("forget") && l.contains("succeeded")),
        "{list}"
    );
    // Nothing holds the tenant any more.
    c.ok(&["tenants", "delete", "acme"]);
}
