//! How the CLI is started: the parent-death signal (a CLI must not outlive the worker that
//! spawned it, or a SIGKILLed worker's stack lock could be taken over while its `up` still
//! runs) and the `setpriv` trampoline that sets it without forking the worker.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use byoc::pulumi::{
    DeathSignal, EnvSnapshot, Invocation, PulumiError, RunControl, RunOutput, Runner, RunnerConfig,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::poll::eventually;

const SETPRIV: &str = "/usr/bin/setpriv";
/// Set in the re-executed test binary: the directory of its fake CLI and its files.
const CHILD_DIR: &str = "BYOC_TEST_PDEATH_DIR";
/// Set in the re-executed test binary: `trampoline` or `pre-exec`.
const CHILD_MODE: &str = "BYOC_TEST_PDEATH_MODE";

fn executable(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn config(root: &Path, bin: PathBuf, setpriv: Option<PathBuf>) -> RunnerConfig {
    let mut c = RunnerConfig::new(
        EnvSnapshot::capture(std::env::vars()),
        root.join("home"),
        format!("file://{}", root.join("state").display()),
    );
    c.bin = Some(bin);
    c.setpriv = setpriv;
    c.timeout = Duration::from_secs(600);
    c
}

/// A fake CLI that records its pid and arguments, then sleeps (its `exec` keeps the pid).
fn sleeping_cli(dir: &Path) -> PathBuf {
    let bin = dir.join("pulumi");
    executable(
        &bin,
        "#!/bin/sh\necho \"$@\" > \"$0.args\"\necho $$ > \"$0.pid.tmp\"\n\
         mv \"$0.pid.tmp\" \"$0.pid\"\nexec sleep 600\n",
    );
    bin
}

/// Runs `pulumi <args…>` in `cwd` through `runner` with default control.
async fn run_in(runner: &Runner, cwd: &Path, args: &[&str]) -> Result<RunOutput, PulumiError> {
    let control = RunControl::default();
    runner
        .run(Invocation {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stack: None,
            cwd,
            stdin: None,
            control: &control,
        })
        .await
}

fn alive(pid: i32) -> bool {
    // A zombie (not yet reaped by whoever adopted it) is dead for our purpose.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Not a test on its own: the body of the process that `cli_dies_with_*` SIGKILLs. It spawns
/// the fake CLI through the runner and waits for it forever.
#[tokio::test]
#[ignore = "run by cli_dies_with_the_worker_* in a child process"]
async fn pdeath_child() {
    let (Ok(dir), Ok(mode)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_MODE)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let setpriv = (mode == "trampoline").then(|| PathBuf::from(SETPRIV));
    let runner = Runner::locate(config(&dir, sleeping_cli(&dir), setpriv)).unwrap();
    let expected = match mode.as_str() {
        "trampoline" => DeathSignal::Trampoline(PathBuf::from(SETPRIV)),
        _ => DeathSignal::PreExec,
    };
    assert_eq!(runner.death_signal().await, &expected);
    std::fs::write(dir.join("mode"), &mode).unwrap();
    let _ = run_in(&runner, &dir, &["up"]).await;
}

async fn cli_dies_with_the_worker(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "pulumi_driver::spawn::pdeath_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_MODE, mode)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("pulumi.pid");
    let cli: i32 = eventually(
        "the fake CLI to start",
        Duration::from_secs(60),
        async || {
            std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        },
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mode")).unwrap(),
        mode,
        "the child ran the path under test"
    );
    // Whatever the assertions below find, no CLI of this test outlives it.
    let _reap = KillOnDrop(cli);
    assert!(alive(cli), "the fake CLI runs while its worker lives");
    // No destructor, no kill_on_drop, no process-group guard runs: only the kernel's
    // parent-death signal can stop the CLI now.
    worker.kill().unwrap();
    worker.wait().unwrap();
    eventually(
        "the CLI to die with its worker",
        Duration::from_secs(30),
        async || (!alive(cli)).then_some(()),
    )
    .await;
}

/// SIGKILLs a pid when dropped (also while a failed assertion unwinds).
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Gone already is the expected case; a reused pid is left alone (only our fake CLI,
        // which exec'd `sleep 600`, is killed).
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.0)).unwrap_or_default();
        if alive(self.0) && cmdline == b"sleep\x00600\x00" {
            let _ = kill(Pid::from_raw(self.0), Signal::SIGKILL);
        }
    }
}

#[tokio::test]
async fn cli_dies_with_the_worker_through_the_setpriv_trampoline() {
    assert!(
        Path::new(SETPRIV).exists(),
        "util-linux setpriv is part of every Debian image (Essential)"
    );
    cli_dies_with_the_worker("trampoline").await;
}

#[tokio::test]
async fn cli_dies_with_the_worker_through_the_pre_exec_fallback() {
    cli_dies_with_the_worker("pre-exec").await;
}

/// The trampoline is used when `setpriv` answers the probe: the argv it receives is exactly
/// `--pdeathsig KILL -- <cli> <the CLI's argv>`, and the CLI gets its arguments untouched.
#[tokio::test]
async fn setpriv_trampoline_is_used_when_available() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("setpriv.log");
    let wrapper = dir.path().join("setpriv");
    executable(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec {SETPRIV} \"$@\"\n",
            log.display()
        ),
    );
    let bin = dir.path().join("pulumi");
    executable(&bin, "#!/bin/sh\necho \"$@\" > \"$0.args\"\n");
    let runner = Runner::locate(config(dir.path(), bin.clone(), Some(wrapper.clone()))).unwrap();
    let out = run_in(&runner, dir.path(), &["stack", "output", "--json"])
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(
        runner.death_signal().await,
        &DeathSignal::Trampoline(wrapper.clone())
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            // The probe, once: the wrapper runs itself through the options every run uses.
            format!("--pdeathsig KILL -- {} --version", wrapper.display()),
            "--version".to_owned(),
            format!(
                "--pdeathsig KILL -- {} --non-interactive stack output --json",
                bin.display()
            ),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pulumi.args")).unwrap(),
        "--non-interactive stack output --json\n"
    );
}

/// A `setpriv` that is missing or refuses `--pdeathsig` (busybox's, util-linux < 2.33) is
/// not used: the CLI still starts, with the signal set from the `pre_exec` hook.
#[tokio::test]
async fn unusable_setpriv_falls_back_to_the_pre_exec_hook() {
    let dir = tempfile::tempdir().unwrap();
    let refusing = dir.path().join("old-setpriv");
    executable(
        &refusing,
        "#!/bin/sh\necho \"setpriv: unrecognized option '--pdeathsig'\" >&2\nexit 1\n",
    );
    let bin = dir.path().join("pulumi");
    executable(&bin, "#!/bin/sh\necho \"$@\" > \"$0.args\"\n");
    for setpriv in [Some(refusing), Some(dir.path().join("missing")), None] {
        let _ = std::fs::remove_file(dir.path().join("pulumi.args"));
        let runner = Runner::locate(config(dir.path(), bin.clone(), setpriv)).unwrap();
        let out = run_in(&runner, dir.path(), &["version"]).await.unwrap();
        assert_eq!(out.exit_code, 0, "{}", out.stderr);
        assert_eq!(runner.death_signal().await, &DeathSignal::PreExec);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("pulumi.args")).unwrap(),
            "--non-interactive version\n"
        );
    }
}
