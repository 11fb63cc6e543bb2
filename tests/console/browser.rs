//! The console walked in a real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from `tests/console-e2e/`) against a real `byoc serve` whose worker runs
//! the pulumi stand-in with moto as AWS. Ignored by a plain `cargo test` (it needs Chromium
//! and `npm ci` in `tests/console-e2e/`): `.ci/run` installs both and runs it with
//! `cargo test --test console -- --ignored`. Screenshots of each page go to
//! `target/console-screenshots/`.

use std::path::Path;
use std::process::Command;

use crate::harness::{Client, Server};
use crate::moto::{find_on_path, oracles_required};

const CHROMIUM: &str = "/usr/bin/chromium";

/// `Some(reason)` when something the walk needs is missing.
fn missing(e2e: &Path) -> Option<String> {
    if find_on_path("node").is_none() {
        return Some("node not found".into());
    }
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} not found (apt-get install chromium)"));
    }
    if !e2e.join("node_modules/playwright-core").exists() {
        return Some("playwright-core not installed (npm ci in tests/console-e2e)".into());
    }
    None
}

#[test]
#[ignore = "needs Chromium and playwright-core; .ci/run runs it"]
fn the_console_walkthrough_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e2e = root.join("tests/console-e2e");
    if let Some(reason) = missing(&e2e) {
        assert!(
            !oracles_required(),
            "the console walkthrough cannot run: {reason}"
        );
        eprintln!("SKIPPED: the console walkthrough: {reason}");
        return;
    }
    // Drift checks looked for every second: the walk makes one due and reads its report.
    let Some(server) = Server::with_aws_env(&[("BYOC_DRIFT_POLL_SECONDS", "1")]) else {
        return;
    };
    // Slow enough that the live log is watched while it grows, and a cut connection resumes.
    server.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "120")]);
    let admin = Client::admin(&server);
    let viewer: serde_json::Value = serde_json::from_str(&admin.ok(&[
        "tokens",
        "create",
        "--name",
        "console-viewer",
        "--role",
        "viewer",
        "-o",
        "json",
    ]))
    .unwrap();
    let shots = root.join("target/console-screenshots");
    // Only this run's screenshots (it may not exist yet).
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let status = Command::new("node")
        .arg(e2e.join("walkthrough.mjs"))
        .current_dir(&e2e)
        .env("BYOC_URL", &server.url)
        .env("BYOC_ADMIN_TOKEN", crate::harness::ADMIN_TOKEN)
        .env("BYOC_VIEWER_TOKEN", viewer["token"].as_str().unwrap())
        .env("CHROMIUM", CHROMIUM)
        .env("SCREENSHOT_DIR", &shots)
        // To change the fake cloud out of band (PULUMI_STANDIN_DRIFT) and make the drift
        // check due at once, as tests/support/app.rs make_drift_checks_due does.
        .env("STANDIN_KNOBS", server.knobs_file())
        .env("BYOC_DB", server.data.path().join("data/byoc.db"))
        .status()
        .expect("node runs");
    let log = server.log();
    let tail: Vec<&str> = log.lines().rev().take(40).collect();
    assert!(
        status.success(),
        "the console walkthrough failed ({status}); the server log ends with:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}
