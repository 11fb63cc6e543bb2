//! How the CLI is started (`byoc::pulumi::spawn`): the parent-death signal (a CLI must not
//! outlive the worker that spawned it, or a SIGKILLed worker's stack lock could be taken over
//! while its `up` still runs), on the vfork-style clone path and on the fork fallback; the
//! exact argv, environment and working directory; a clean signal state; typed exec failures;
//! and no process left behind by a dropped run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use byoc::pulumi::spawn::{self, Command, SpawnStep};
use byoc::pulumi::{
    DeathSignal, EnvSnapshot, Invocation, PulumiError, RunControl, RunOutput, Runner, RunnerConfig,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use crate::poll::eventually;

/// Set in the re-executed test binary: the directory of its fake CLI and its files.
const CHILD_DIR: &str = "BYOC_TEST_PDEATH_DIR";
/// Set in the re-executed test binary: `clone`, or `seccomp` (the clone path refused).
const CHILD_MODE: &str = "BYOC_TEST_PDEATH_MODE";

fn executable(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn config(root: &Path, bin: PathBuf) -> RunnerConfig {
    let mut c = RunnerConfig::new(
        EnvSnapshot::capture(std::env::vars()),
        root.join("home"),
        format!("file://{}", root.join("state").display()),
    );
    c.bin = Some(bin);
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

/// Makes this process's `clone` calls with `CLONE_PIDFD` fail with ENOSYS, as on a kernel
/// before 5.2 or under a seccomp profile that refuses the flag; plain forks still work.
/// Irreversible: only in a re-executed test binary.
fn refuse_clone_pidfd() {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    // struct seccomp_data: nr at 0, arch at 4, args[0] (clone's flags) from 16 (low word).
    let mut filter = [
        stmt(load, 4),
        jump(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, ARCH, 0, 5),
        stmt(load, 0),
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_clone as u32,
            0,
            3,
        ),
        stmt(load, 16),
        jump(
            libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K,
            libc::CLONE_PIDFD as u32,
            0,
            1,
        ),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: prctl(2) and seccomp(2) with a valid filter program; TSYNC applies it to every
    // thread of this (re-executed, single-purpose) process.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_TSYNC,
                &prog,
            ),
            0,
            "{}",
            std::io::Error::last_os_error()
        );
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
    let expected = if mode == "seccomp" {
        refuse_clone_pidfd();
        DeathSignal::PreExec
    } else {
        DeathSignal::Clone
    };
    let runner = Runner::locate(config(&dir, sleeping_cli(&dir))).unwrap();
    assert_eq!(runner.death_signal(), expected);
    std::fs::write(dir.join("mode"), &mode).unwrap();
    let _ = run_in(&runner, &dir, &["up"]).await;
}

/// Not a test on its own: with the clone path refused, the CLI still starts (through the
/// fork fallback) with exactly its argv. Run by `refused_clone_falls_back_to_a_fork`.
#[tokio::test]
#[ignore = "run by refused_clone_falls_back_to_a_fork in a child process"]
async fn fallback_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    refuse_clone_pidfd();
    let runner = Runner::locate(config(&dir, recording_cli(&dir))).unwrap();
    let out = run_in(&runner, &dir, &["stack", "output", "--json"])
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert_eq!(runner.death_signal(), DeathSignal::PreExec);
    assert_eq!(
        std::fs::read_to_string(dir.join("pulumi.args")).unwrap(),
        "--non-interactive\nstack\noutput\n--json\n"
    );
    std::fs::write(dir.join("done"), "").unwrap();
}

/// Runs one of the ignored bodies above in a fresh copy of this test binary.
fn reexec(test: &str, dir: &Path, mode: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--ignored", "--nocapture"])
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .stdout(std::process::Stdio::null());
    cmd
}

async fn cli_dies_with_the_worker(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = reexec("pulumi_driver::spawn::pdeath_child", dir.path(), mode)
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
async fn cli_dies_with_the_worker_through_the_clone_path() {
    cli_dies_with_the_worker("clone").await;
}

#[tokio::test]
async fn cli_dies_with_the_worker_through_the_fork_fallback() {
    cli_dies_with_the_worker("seccomp").await;
}

/// Where `clone` with `CLONE_PIDFD` is refused (ENOSYS, as a seccomp profile or an old
/// kernel would), the probe says so and the CLI starts through std's fork instead.
#[test]
fn refused_clone_falls_back_to_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let status = reexec(
        "pulumi_driver::spawn::fallback_child",
        dir.path(),
        "seccomp",
    )
    .status()
    .unwrap();
    assert!(status.success(), "{status}");
    assert!(dir.path().join("done").exists(), "the body ran");
}

/// A fake CLI that writes its arguments one per line to `pulumi.args`.
fn recording_cli(dir: &Path) -> PathBuf {
    let bin = dir.join("pulumi");
    executable(&bin, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\n");
    bin
}

/// On this machine (Linux 6.x, no seccomp filter) the clone path is the one in use, and the
/// CLI gets exactly the argv the runner built: spaces and empty arguments intact.
#[tokio::test]
async fn the_clone_path_is_used_and_passes_the_argv_verbatim() {
    assert_eq!(spawn::death_signal(), DeathSignal::Clone);
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::locate(config(dir.path(), recording_cli(dir.path()))).unwrap();
    let out = run_in(
        &runner,
        dir.path(),
        &["config", "set", "k", "--plaintext", "--", "a b", ""],
    )
    .await
    .unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pulumi.args")).unwrap(),
        "--non-interactive\nconfig\nset\nk\n--plaintext\n--\na b\n\n"
    );
}

/// Reads a child's stdout to its end and waits for it.
async fn output_of(mut child: spawn::Child) -> (String, std::process::ExitStatus) {
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let status = child.wait().await.unwrap();
    (out, status)
}

/// The program gets exactly the variables given (none inherited, a later value replacing
/// an earlier one) and runs in the directory given.
#[tokio::test]
async fn the_environment_and_working_directory_are_exactly_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("/usr/bin/env", dir.path());
    cmd.env("B", "two words")
        .env("A", "1")
        .env("A", "2")
        .env("EMPTY", "");
    let (out, status) = output_of(cmd.spawn().unwrap()).await;
    assert!(status.success());
    assert_eq!(out, "A=2\nB=two words\nEMPTY=\n");

    let mut cmd = Command::new("/bin/pwd", dir.path());
    cmd.args(["-P"]);
    let (out, status) = output_of(cmd.spawn().unwrap()).await;
    assert!(status.success());
    assert_eq!(
        out.trim_end(),
        dir.path().canonicalize().unwrap().to_str().unwrap()
    );
}

/// One `SigXxx:` mask of a `/proc/…/status` text.
fn sig_mask(status: &str, field: &str) -> u64 {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

fn bit(signal: Signal) -> u64 {
    1 << (signal as u32 - 1)
}

/// The CLI starts with every signal at its default disposition and none blocked, although
/// the spawning thread blocks some, the worker catches some (tokio's handler) and ignores
/// SIGPIPE (Rust's runtime does): exec keeps ignored dispositions and the mask (execve(2)).
#[tokio::test]
async fn the_child_starts_with_default_signal_dispositions_and_an_empty_mask() {
    let _caught =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined2()).unwrap();
    let mut blocked = nix::sys::signal::SigSet::empty();
    blocked.add(Signal::SIGUSR1);
    blocked.add(Signal::SIGHUP);
    let mut old = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&blocked),
        Some(&mut old),
    )
    .unwrap();
    // The worker's state, as the kernel sees it from this (the spawning) thread.
    let mine = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    assert_eq!(
        sig_mask(&mine, "SigBlk:") & bit(Signal::SIGUSR1),
        bit(Signal::SIGUSR1)
    );
    assert_eq!(
        sig_mask(&mine, "SigIgn:") & bit(Signal::SIGPIPE),
        bit(Signal::SIGPIPE)
    );
    assert_eq!(
        sig_mask(&mine, "SigCgt:") & bit(Signal::SIGUSR2),
        bit(Signal::SIGUSR2)
    );

    // coreutils `cat` installs no handler of its own (checked: all zero from a clean shell).
    let mut cmd = Command::new("/bin/cat", "/");
    cmd.args(["/proc/self/status"]);
    let (child, status) = output_of(cmd.spawn().unwrap()).await;
    nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&old), None)
        .unwrap();
    assert!(status.success());
    for field in ["SigBlk:", "SigIgn:", "SigCgt:"] {
        assert_eq!(sig_mask(&child, field), 0, "{field} in the child:\n{child}");
    }
}

/// No zombie (nor live child) of this thread: the current-thread runtime spawns from it.
fn children_of_this_thread() -> String {
    std::fs::read_to_string("/proc/thread-self/children").unwrap()
}

/// A CLI that vanished or lost its execute bit after it was located is a typed error
/// naming it (and its errno), and the child that failed to exec is reaped.
#[tokio::test]
async fn exec_failure_is_a_typed_error_naming_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let bin = recording_cli(dir.path());
    let runner = Runner::locate(config(dir.path(), bin.clone())).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let denied = run_in(&runner, dir.path(), &["version"]).await.unwrap_err();
    std::fs::remove_file(&bin).unwrap();
    let missing = run_in(&runner, dir.path(), &["version"]).await.unwrap_err();
    for (e, kind) in [
        (denied, std::io::ErrorKind::PermissionDenied),
        (missing, std::io::ErrorKind::NotFound),
    ] {
        assert!(e.to_string().contains(bin.to_str().unwrap()), "{e}");
        match e {
            PulumiError::Spawn {
                program,
                step: SpawnStep::Exec,
                source,
            } => {
                assert_eq!(program, bin);
                assert_eq!(source.kind(), kind);
            }
            other => panic!("{other:?}"),
        }
    }
    // A working directory that is gone fails in the child too, before the exec.
    let e = Command::new("/bin/true", dir.path().join("gone"))
        .spawn()
        .unwrap_err();
    assert_eq!(e.step, SpawnStep::Chdir);
    assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(children_of_this_thread(), "", "no zombie left");
}

/// A fake CLI that starts a grandchild (a plugin), records both pids, then sleeps.
fn cli_with_a_plugin(dir: &Path) -> PathBuf {
    let bin = dir.join("pulumi");
    executable(
        &bin,
        "#!/bin/sh\nsleep 600 &\necho $! > \"$0.plugin\"\necho $$ > \"$0.pid.tmp\"\n\
         mv \"$0.pid.tmp\" \"$0.pid\"\nexec sleep 600\n",
    );
    bin
}

async fn pid_in(file: PathBuf) -> i32 {
    eventually("a pid file", Duration::from_secs(30), async || {
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
    .await
}

/// Dropping a run kills the CLI and its whole process group (the plugins it started), and
/// reaps the CLI: nothing of the run is left, not even a zombie.
#[tokio::test]
async fn dropping_a_run_kills_its_process_group_and_reaps_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::locate(config(dir.path(), cli_with_a_plugin(dir.path()))).unwrap();
    let root = dir.path().to_owned();
    let run = tokio::spawn(async move { run_in(&runner, &root, &["up"]).await });
    let cli = pid_in(dir.path().join("pulumi.pid")).await;
    let plugin = pid_in(dir.path().join("pulumi.plugin")).await;
    let _reap = (KillOnDrop(cli), KillOnDrop(plugin));
    assert!(alive(cli) && alive(plugin));
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    eventually(
        "the CLI to be killed and reaped",
        Duration::from_secs(30),
        async || (!Path::new(&format!("/proc/{cli}")).exists()).then_some(()),
    )
    .await;
    eventually(
        "the plugin to die with its group",
        Duration::from_secs(30),
        async || (!alive(plugin)).then_some(()),
    )
    .await;
}

/// Dropping a spawned child (no runner) kills and reaps it too.
#[tokio::test]
async fn dropping_a_child_kills_and_reaps_it() {
    let mut cmd = Command::new("/bin/sleep", "/");
    cmd.args(["600"]);
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    assert!(alive(pid));
    drop(child);
    eventually(
        "the child to be killed and reaped",
        Duration::from_secs(30),
        async || (!Path::new(&format!("/proc/{pid}")).exists()).then_some(()),
    )
    .await;
    assert_eq!(children_of_this_thread(), "");
}
