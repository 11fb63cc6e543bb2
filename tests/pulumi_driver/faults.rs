//! Failures, locks, cancellation, timeouts, missing or old CLIs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use byoc::pulumi::{EnvSnapshot, PulumiError, RunControl, Runner, RunnerConfig, UpOptions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;

use super::support::{Harness, program, stack, wait_until};

const FIVE: [(&str, &str, &str); 5] = [
    ("r1", "aws:s3:Bucket", "1"),
    ("r2", "aws:s3:Bucket", "1"),
    ("r3", "aws:s3:Bucket", "1"),
    ("r4", "aws:s3:Bucket", "1"),
    ("r5", "aws:s3:Bucket", "1"),
];

#[tokio::test]
async fn failed_program_is_typed_and_its_workspace_removed() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&FIVE, ""));
    let path = ws.path().to_path_buf();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let ctl = h.knobs(&[("PULUMI_STANDIN_FAIL_AT", "2")]);
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    match &e {
        PulumiError::ProgramFailed {
            diagnostics,
            summary,
            ..
        } => {
            // The resource's own error, then the engine's closing "update failed" (as in the
            // recorded destroy-delete-fails event log).
            assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
            assert!(
                diagnostics[0].contains("standin injected failure"),
                "{diagnostics:?}"
            );
            assert_eq!(summary.as_ref().unwrap().result.as_deref(), Some("failed"));
        }
        other => panic!("{other:?}"),
    }
    drop(ws);
    assert!(!path.exists());
    assert_eq!(
        h.lock_files("acme-dev"),
        0,
        "a failed run releases its lock"
    );
}

#[tokio::test]
async fn early_cli_failure_ends_an_empty_event_stream() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&FIVE, ""));
    let ctl = h.knobs(&[("PULUMI_STANDIN_EXIT_CODE", "3")]);
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &RunControl::default())
        .await
        .unwrap();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PulumiError::Failed { exit_code: 3, stderr_tail } if stderr_tail.contains("forced")),
        "{e:?}"
    );
}

#[tokio::test]
async fn killed_cli_leaves_its_lock_until_cancel() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&FIVE, ""));
    let started = h.root.path().join("started");
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &RunControl::default())
        .await
        .unwrap();

    let started_s = started.display().to_string();
    let slow = h.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "2000"),
        ("PULUMI_STANDIN_STARTED", &started_s),
    ]);
    let opts = UpOptions::default();
    let up = h.runner.up(&ws, &s, &opts, &slow, None);
    let killer = async {
        wait_until(
            "the update to hold its lock",
            Duration::from_secs(20),
            || started.exists(),
        )
        .await;
        // While it runs, a second update is refused as concurrent.
        let ws2 = h.workspace(&program(&FIVE, ""));
        let e = h
            .runner
            .up(
                &ws2,
                &s,
                &UpOptions::default(),
                &RunControl::default(),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, PulumiError::ConcurrentUpdate { .. }), "{e:?}");
        let pid = h
            .invocations()
            .iter()
            .find(|i| i["argv"][1] == "up")
            .map(|i| i["pid"].as_i64().unwrap())
            .unwrap();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    };
    let (result, ()) = tokio::join!(up, killer);
    assert!(
        matches!(result, Err(PulumiError::Failed { exit_code: -1, .. })),
        "{result:?}"
    );
    assert_eq!(
        h.lock_files("acme-dev"),
        1,
        "SIGKILL leaves the lock behind"
    );

    let ctl = RunControl::default();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    match e {
        PulumiError::ConcurrentUpdate { stderr_tail } => {
            assert!(stderr_tail.contains("the stack is currently locked by 1 lock(s)"));
        }
        other => panic!("{other:?}"),
    }
    h.runner.cancel_update(&ws, &s, &ctl).await.unwrap();
    assert_eq!(h.lock_files("acme-dev"), 0);
    h.runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn sigint_cancellation_ends_with_the_engines_summary() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&FIVE, ""));
    let started = h.root.path().join("started");
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &RunControl::default())
        .await
        .unwrap();
    let token = CancellationToken::new();
    let started_s = started.display().to_string();
    let mut ctl = h.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "400"),
        ("PULUMI_STANDIN_STARTED", &started_s),
    ]);
    ctl.cancel = Some(token.clone());
    let opts = UpOptions::default();
    let up = h.runner.up(&ws, &s, &opts, &ctl, None);
    let canceller = async {
        wait_until("the update to start", Duration::from_secs(20), || {
            started.exists()
        })
        .await;
        token.cancel();
    };
    let (result, ()) = tokio::join!(up, canceller);
    match result {
        Err(PulumiError::Cancelled {
            summary: Some(summary),
        }) => {
            assert_eq!(summary.result.as_deref(), Some("failed"));
            let created = summary.resource_changes.get("create").copied().unwrap_or(0);
            assert!(created < 5, "stopped early, yet {created} created");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.lock_files("acme-dev"),
        0,
        "a graceful cancel releases the lock"
    );
}

#[tokio::test]
async fn hung_cli_is_stopped_by_the_timeout() {
    let h = Harness::with(|c| c.cancel_grace = Duration::from_millis(200)).await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&FIVE, ""));
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &RunControl::default())
        .await
        .unwrap();
    let mut ctl = h.knobs(&[("PULUMI_STANDIN_HANG", "1")]);
    ctl.timeout = Some(Duration::from_secs(1));
    let start = Instant::now();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, PulumiError::TimedOut { after } if after == Duration::from_secs(1)),
        "{e:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
}

fn bare_config(root: &Path) -> RunnerConfig {
    RunnerConfig::new(
        EnvSnapshot::capture([(
            "PATH".to_owned(),
            root.join("empty-bin").display().to_string(),
        )]),
        root.join("home"),
        format!("file://{}", root.join("state").display()),
    )
}

#[tokio::test]
async fn missing_cli_names_the_setting() {
    let root = tempfile::tempdir().unwrap();
    let e = Runner::new(bare_config(root.path())).await.unwrap_err();
    assert!(matches!(e, PulumiError::NotFound { .. }));
    assert!(
        e.to_string()
            .contains("set BYOC_PULUMI_BIN or put pulumi on PATH"),
        "{e}"
    );

    let mut c = bare_config(root.path());
    c.bin = Some(root.path().join("nope/pulumi"));
    let e = Runner::new(c).await.unwrap_err();
    assert!(e.to_string().contains("BYOC_PULUMI_BIN"), "{e}");
}

#[tokio::test]
async fn too_old_cli_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut c = Harness::config(root.path());
    c.extra_env
        .push(("PULUMI_STANDIN_VERSION".into(), "v3.99.1".into()));
    let e = Runner::new(c).await.unwrap_err();
    match &e {
        PulumiError::VersionTooOld { found, .. } => assert_eq!(found.to_string(), "3.99.1"),
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("install pulumi 3.100.0 or newer"),
        "{e}"
    );
}

#[tokio::test]
async fn stack_errors_are_typed() {
    let h = Harness::new().await;
    let s = stack("acme-dev");
    let ws = h.workspace(&program(&[], ""));
    let ctl = RunControl::default();
    let e = h
        .runner
        .up(&ws, &s, &UpOptions::default(), &ctl, None)
        .await
        .unwrap_err();
    assert!(matches!(e, PulumiError::StackNotFound { .. }), "{e:?}");
    h.runner
        .select_or_create_stack(&ws, &s, "passphrase", &ctl)
        .await
        .unwrap();
    let e = h.runner.remove_stack(&ws, &s, &ctl).await;
    assert!(e.is_ok(), "an empty stack can be removed: {e:?}");
}

#[tokio::test]
async fn cli_is_found_on_path_when_no_explicit_binary_is_set() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(super::support::standin(), bin.join("pulumi")).unwrap();
    let mut c = Harness::config(root.path());
    c.bin = None;
    // Our directory first, then the real PATH so the stand-in's python3 is found.
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.env = EnvSnapshot::capture([("PATH".to_owned(), path)]);
    let runner = Runner::new(c).await.unwrap();
    assert_eq!(runner.bin(), bin.join("pulumi"));
    assert_eq!(runner.version().to_string(), "3.205.0");
}
