//! The command line itself: recorded argv, unknown flags, version-dependent exit codes.

use serde_json::Value;

use super::harness::{World, program};

#[test]
fn every_invocation_is_recorded_with_argv_stdin_and_pid() {
    let mut w = World::with_stack(&program(&[]));
    let record = w.path("record.jsonl");
    w.set("PULUMI_STANDIN_RECORD", record.to_str().unwrap());
    w.run(&[
        "config",
        "set",
        "region",
        "--plaintext",
        "--stack",
        "dev",
        "--",
        "eu-west-1",
    ])
    .ok();
    let lines: Vec<Value> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["argv"],
        serde_json::json!([
            "--non-interactive",
            "config",
            "set",
            "region",
            "--plaintext",
            "--stack",
            "dev",
            "--",
            "eu-west-1"
        ])
    );
    assert_eq!(lines[0]["stdin_read"], false);
    assert!(lines[0]["pid"].as_u64().unwrap() > 0);
    assert!(
        lines[0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "PULUMI_BACKEND_URL")
    );
}

#[test]
fn unknown_flags_fail_like_cobra_with_the_exit_code_of_the_cli_version() {
    let w = World::with_stack(&program(&[]));
    let out = w.run(&["up", "--yes", "--bogus"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (255, "error: unknown flag: --bogus\n")
    );
    let out = w.run_with(&["up", "-z"], &[("PULUMI_STANDIN_VERSION", "v3.230.0")]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "error: unknown shorthand flag: 'z' in -z\n")
    );
    // Hidden and short flags of the real CLI are accepted.
    w.run(&[
        "up",
        "-y",
        "-f",
        "-s",
        "dev",
        "--exec-kind=auto.local",
        "--color=never",
    ])
    .ok();
}

#[test]
fn stack_and_confirmation_errors_are_the_cli_texts() {
    let w = World::with_stack(&program(&[]));
    let new_cli = [("PULUMI_STANDIN_VERSION", "v3.230.0")];
    let out = w.run_with(&["up", "--yes"], &new_cli);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            6,
            "error: no stack selected; specify a stack name with --stack\n"
        )
    );
    let out = w.run_with(&["up", "--stack", "dev"], &new_cli);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: --yes or --skip-preview or --preview-only must be passed in to proceed when running \
         in non-interactive mode\n"
    );
    let out = w.run_with(&["stack", "select", "--stack", "nope"], &new_cli);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (6, "error: no stack named 'nope' found\n")
    );
    let out = w.run(&["stack", "init", "dev"]);
    assert_eq!(
        out.stderr,
        "error: stack 'organization/proj/dev' already exists\n"
    );
    assert_eq!(w.run(&["version"]).ok().stdout, "v3.205.0\n");
}
