//! #12: DIY lock files with the real content and error text, `cancel` deleting every one, and
//! the test-only detector of two engines on one stack (PULUMI_STANDIN_VIOLATIONS).

use std::process::Child;
use std::time::Duration;

use serde_json::Value;

use super::harness::{World, program, wait_until};

fn slow_world() -> World {
    World::with_stack(&program(&[("bucket", "aws:s3:Bucket", "value: 1")]))
}

/// A slow `up` holding the lock (its create waits 30 s).
fn hold_lock(w: &World, extra: &[(&str, &str)]) -> Child {
    let mut env = vec![("PULUMI_STANDIN_SLEEP_MS", "30000")];
    env.extend_from_slice(extra);
    let n = w.lock_files().len();
    let child = w.spawn(&["up", "--yes", "--skip-preview", "--stack", "dev"], &env);
    wait_until("the lock", Duration::from_secs(20), || {
        w.lock_files().len() > n
    });
    child
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_lock_file_names_pid_user_host_and_time_and_the_locked_error_lists_it() {
    let w = slow_world();
    let child = hold_lock(&w, &[("PULUMI_STANDIN_HOSTNAME", "host-a")]);
    let files = w.lock_files();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.ends_with(".json") && name.len() == 41,
        "a uuid file name: {name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lock: Value = serde_json::from_str(&text).unwrap();
    // lock.go lockContent, compact encoding/json in field order.
    let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
    assert!(
        at("pid") < at("username")
            && at("username") < at("hostname")
            && at("hostname") < at("timestamp")
    );
    assert_eq!(lock.as_object().unwrap().len(), 4, "{text}");
    assert!(
        text.starts_with(&format!("{{\"pid\":{},", child.id())),
        "{text}"
    );
    assert_eq!(lock["hostname"], "host-a");
    let user = lock["username"].as_str().unwrap().to_owned();
    assert!(!user.is_empty());
    let stamp = lock["timestamp"].as_str().unwrap();
    assert!(stamp.len() >= 20 && stamp.as_bytes()[10] == b'T', "{stamp}");

    let out = w.up("second.jsonl", &[]);
    assert_ne!(out.code, 0);
    let when = format!(
        "{}{}",
        &stamp[..19],
        if stamp.ends_with('Z') {
            "Z"
        } else {
            &stamp[stamp.len() - 6..]
        }
    );
    assert_eq!(
        out.stderr,
        format!(
            "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) \
             to end or delete the lock file with `pulumi cancel`.\n  {}/{name}?no_tmp_dir=true: \
             created by {user}@host-a (pid {}) at {when}\n",
            format_args!("file://{}", w.lock_dir().display()),
            child.id()
        )
    );
    // A preview takes no DIY lock, so it runs beside the update.
    w.run(&["preview", "--stack", "dev"]).ok();
    stop(child);
}

#[test]
fn cancel_deletes_every_lock_file_of_the_stack() {
    let w = slow_world();
    let child = hold_lock(&w, &[]);
    std::fs::write(w.lock_dir().join("someone-else.json"), "{}").unwrap();
    assert_eq!(w.lock_files().len(), 2);
    let out = w.run(&["cancel", "--yes", "--stack", "dev"]).ok();
    assert_eq!(
        out.stdout,
        "The currently running update for 'dev' has been canceled!\n"
    );
    assert!(w.lock_files().is_empty());
    stop(child);
}

#[test]
fn a_second_engine_let_in_by_cancel_is_recorded_as_a_violation() {
    let mut w = slow_world();
    let violations = w.path("violations.jsonl");
    w.set("PULUMI_STANDIN_VIOLATIONS", violations.to_str().unwrap());
    let first = hold_lock(&w, &[]);
    // A preview beside it is allowed (no lock) and is no violation.
    w.run(&["preview", "--stack", "dev"]).ok();
    w.run(&["cancel", "--yes", "--stack", "dev"]).ok();
    let second = hold_lock(&w, &[]);
    // The engine registers right after taking its lock.
    wait_until("the violation record", Duration::from_secs(20), || {
        violations.exists()
    });

    let text = std::fs::read_to_string(&violations).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["stack"], "organization/proj/dev");
    assert_eq!(lines[0]["pid"], second.id());
    assert_eq!(lines[0]["op"], "up");
    assert_eq!(lines[0]["running"][0]["pid"], first.id());
    stop(first);
    stop(second);

    // An engine that starts after the others are gone (killed: their entries remain) is fine.
    w.run(&["cancel", "--yes", "--stack", "dev"]).ok();
    w.up("after.jsonl", &[]).ok();
    assert_eq!(
        std::fs::read_to_string(&violations)
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[test]
fn refresh_preview_only_takes_the_lock_before_3_229_and_not_after() {
    // pulumi/pulumi#22385, changelog/v3.229.0.md: "[backend/diy] Remove state lock for
    // refresh --preview-only for diy backend".
    let w = slow_world();
    let holder = hold_lock(&w, &[]);
    let preview = ["refresh", "--preview-only", "--stack", "dev"];
    let old = w.run_with(&preview, &[("PULUMI_STANDIN_VERSION", "v3.228.0")]);
    assert_ne!(old.code, 0);
    assert!(
        old.stderr.contains("the stack is currently locked"),
        "{}",
        old.stderr
    );
    let new = w.run_with(&preview, &[("PULUMI_STANDIN_VERSION", "v3.229.0")]);
    assert_eq!(new.code, 0, "{}", new.stderr);
    // A plain preview never locks.
    let plain = w.run_with(&["preview", "--refresh", "--stack", "dev"], &[]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    stop(holder);
}
