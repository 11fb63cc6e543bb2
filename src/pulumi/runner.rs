//! The one place that spawns `pulumi`: argument vector, allowlisted environment, bounded
//! capture, timeout and signal escalation. Knows nothing of what the commands mean.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::capture::{DEFAULT_CAPTURE_BYTES, OutputLine, Stream, capture};
use super::env::EnvSnapshot;
use super::error::PulumiError;
use super::spawn::{Child, Command, DeathSignal, death_signal};
use super::version::{Version, check_version, locate};
use crate::domain::names::StackName;
use crate::telemetry::TIMING;

/// How the driver runs the CLI; built once by the app from `Settings`.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// `BYOC_PULUMI_BIN`; when `None`, `pulumi` is searched in the snapshot's `PATH`.
    pub bin: Option<PathBuf>,
    /// The allowlisted parent environment.
    pub env: EnvSnapshot,
    /// `PULUMI_HOME` for every child (per worker; shares the plugin cache).
    pub pulumi_home: PathBuf,
    /// `PULUMI_BACKEND_URL`, e.g. `file:///var/lib/byoc/state` or `s3://bucket`.
    pub backend_url: String,
    /// `PULUMI_CONFIG_PASSPHRASE` for passphrase stacks.
    pub passphrase: Option<SecretString>,
    /// Deadline of one CLI run (operations may override it).
    pub timeout: Duration,
    /// Wait between SIGINT, SIGTERM and SIGKILL when stopping a run.
    pub cancel_grace: Duration,
    /// Bytes of stdout and of stderr kept in memory per run.
    pub capture_bytes: usize,
    /// Extra variables for every child, including the version probe (tests pass stand-in knobs).
    pub extra_env: Vec<(String, String)>,
}

impl RunnerConfig {
    /// A config with the defaults (1 h timeout, 120 s grace, 1 MiB capture).
    pub fn new(env: EnvSnapshot, pulumi_home: PathBuf, backend_url: String) -> Self {
        Self {
            bin: None,
            env,
            pulumi_home,
            backend_url,
            passphrase: None,
            timeout: Duration::from_secs(3600),
            // Generous: after SIGINT the engine waits for in-flight steps (an EKS cluster can
            // take many minutes), and SIGTERM then means "terminate now" with pending ops.
            cancel_grace: Duration::from_secs(120),
            capture_bytes: DEFAULT_CAPTURE_BYTES,
            extra_env: Vec::new(),
        }
    }
}

/// Per-run controls supplied by the caller.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    /// Cancels the run gracefully (SIGINT, grace, SIGTERM, grace, SIGKILL). To stop it at
    /// once instead, drop the run: the whole process group is killed.
    pub cancel: Option<CancellationToken>,
    /// Overrides [`RunnerConfig::timeout`].
    pub timeout: Option<Duration>,
    /// Receives each stdout/stderr line as it is printed. Drain it: a full channel
    /// back-pressures the child's pipe (nothing is dropped silently).
    pub output: Option<mpsc::Sender<OutputLine>>,
    /// Extra variables for the child (e.g. `AWS_CONFIG_FILE` in the workspace; test knobs).
    pub extra_env: Vec<(String, String)>,
    /// Engine commands only (preview, up, refresh, destroy): notified (`notify_one`) when
    /// the CLI has exited with status 0, before the rest of its event log has been read, so
    /// the caller can start its next CLI call while the tail drains.
    pub exited_ok: Option<Arc<Notify>>,
}

/// One CLI invocation.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// Arguments after `pulumi --non-interactive`.
    pub args: Vec<String>,
    /// Appended as `--stack <name>` for stack-scoped commands.
    pub stack: Option<&'a StackName>,
    /// Working directory (the workspace).
    pub cwd: &'a Path,
    /// Written to stdin, then stdin is closed (secret config values).
    pub stdin: Option<&'a SecretString>,
    /// Caller controls.
    pub control: &'a RunControl,
}

/// Why the driver stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The caller cancelled.
    Cancelled,
    /// The deadline passed.
    TimedOut(Duration),
}

/// What a finished run produced, whatever its exit code.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Exit code; -1 when the child died from a signal.
    pub exit_code: i32,
    /// Bounded stdout.
    pub stdout: String,
    /// Bounded stderr.
    pub stderr: String,
    /// Set when the driver stopped the child.
    pub stopped: Option<StopReason>,
}

/// A located, version-checked `pulumi` plus how to run it.
#[derive(Debug, Clone)]
pub struct Runner {
    bin: PathBuf,
    version: Version,
    config: RunnerConfig,
}

impl Runner {
    /// Locates the CLI and runs `pulumi version` once; refuses a missing or too old CLI.
    pub async fn new(config: RunnerConfig) -> Result<Self, PulumiError> {
        let mut runner = Self::locate(config)?;
        runner.version = runner.probe().await?;
        Ok(runner)
    }

    /// Locates the CLI without running it (its version reads 0.0.0 until [`Runner::probe`]
    /// is awaited): lets a server be ready before the CLI's start-up cost is paid.
    pub fn locate(config: RunnerConfig) -> Result<Self, PulumiError> {
        let path_var = config.env.get("PATH").map(std::ffi::OsStr::new);
        let bin = locate(config.bin.as_deref(), path_var)?;
        Ok(Self {
            bin,
            version: Version {
                major: 0,
                minor: 0,
                patch: 0,
            },
            config,
        })
    }

    /// Creates `PULUMI_HOME` and runs `pulumi version`; refuses a too old CLI.
    pub async fn probe(&self) -> Result<Version, PulumiError> {
        let cwd = self.config.pulumi_home.clone();
        tokio::fs::create_dir_all(&cwd)
            .await
            .map_err(|e| PulumiError::io(format!("creating PULUMI_HOME {}", cwd.display()), e))?;
        let control = RunControl {
            timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let out = self
            .run(Invocation {
                args: vec!["version".into()],
                stack: None,
                cwd: &cwd,
                stdin: None,
                control: &control,
            })
            .await?;
        if out.exit_code != 0 {
            return Err(PulumiError::Failed {
                exit_code: out.exit_code,
                stderr_tail: out.stderr,
            });
        }
        check_version(&self.bin, &out.stdout)
    }

    /// The executable in use.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Its version (0.0.0 from [`Runner::locate`]: see [`Runner::probe`]).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// How children are started and get their parent-death signal (probed once per process,
    /// `pulumi/spawn`).
    pub fn death_signal(&self) -> DeathSignal {
        death_signal()
    }

    /// Spawns `pulumi --non-interactive <args…> [--stack s]` and waits for it. This is the
    /// only function in byoc that starts the CLI. Non-zero exits are returned, not raised.
    /// Stop a run gracefully through [`RunControl::cancel`]; dropping this future SIGKILLs the
    /// child's whole process group at once (the CLI and its plugins), which leaves DIY lock
    /// files behind — for when the run must stop *now* (its lease was lost).
    pub async fn run(&self, inv: Invocation<'_>) -> Result<RunOutput, PulumiError> {
        let command = inv.args.first().cloned().unwrap_or_default();
        let stack = inv.stack.map(|s| s.to_string()).unwrap_or_default();
        let span = tracing::info_span!("pulumi", command = %command, stack = %stack);
        self.run_inner(inv).instrument(span).await
    }

    async fn run_inner(&self, inv: Invocation<'_>) -> Result<RunOutput, PulumiError> {
        let started = Instant::now();
        let mut argv: Vec<String> = Vec::with_capacity(inv.args.len() + 3);
        argv.push("--non-interactive".into());
        // `--stack` goes after the flags but before a `--` positional tail
        // (`docs/pulumi-contract.md` §1.1).
        let tail_at = inv.args.iter().position(|a| a == "--");
        let (flags, positional) = inv.args.split_at(tail_at.unwrap_or(inv.args.len()));
        argv.extend(flags.iter().cloned());
        if let Some(stack) = inv.stack {
            argv.push("--stack".into());
            argv.push(stack.to_string());
        }
        argv.extend(positional.iter().cloned());
        let mut cmd = Command::new(&self.bin, inv.cwd);
        cmd.args(&argv)
            // Exactly this environment, nothing inherited; a later entry wins.
            .envs(self.config.env.vars().iter().map(|(k, v)| (k, v)))
            .env("PULUMI_SKIP_UPDATE_CHECK", "true")
            .env("PULUMI_AUTOMATION_API", "true")
            // A stack whose settings file was lost (byoc restores it into every workspace, but
            // not before its first run was recorded) keeps the secrets manager its checkpoint
            // names instead of getting a new passphrase one (sdk/go/common/env/env.go
            // `FallbackToStateSecretsManager`, pkg/cmd/pulumi/stack/secrets.go).
            .env("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "true")
            .env("PULUMI_HOME", &self.config.pulumi_home)
            .env("PULUMI_BACKEND_URL", &self.config.backend_url)
            .envs(self.config.extra_env.iter().map(|(k, v)| (k, v)))
            .envs(inv.control.extra_env.iter().map(|(k, v)| (k, v)));
        if inv.stdin.is_some() {
            cmd.piped_stdin();
        }
        if let Some(p) = &self.config.passphrase {
            cmd.env("PULUMI_CONFIG_PASSPHRASE", p.expose_secret());
        }
        // The child runs in its own process group (a terminal ^C aimed at byoc must not reach
        // the CLI: we decide when it is interrupted; SIGKILL of the group takes its plugins
        // down with it) and dies with the worker: PDEATHSIG kills the CLI if the worker dies
        // without running destructors (SIGKILL, OOM), and the stack lock's recovery after a
        // dead worker relies on no CLI outliving it. It fires when the spawning *thread*
        // exits: tokio worker threads live as long as the runtime, so `run` must not be
        // called from a short-lived `spawn_blocking` thread. How: `pulumi/spawn`.
        tracing::debug!(argv = ?argv, "spawning pulumi");
        tracing::debug!(target: TIMING, step = "spawn", command = argv.get(1).map_or("", String::as_str));
        let spawned = cmd.spawn();
        // The command keeps its own copies of the argv and the environment (secrets among
        // them): not needed once the child runs (issue 16: memory per operation in flight).
        drop(cmd);
        let mut child = spawned.map_err(|e| PulumiError::Spawn {
            program: self.bin.clone(),
            step: e.step,
            source: e.source,
        })?;
        tracing::debug!(target: TIMING, step = "spawned");
        let mut group = GroupGuard(Some(child.id()));

        let cap = self.config.capture_bytes;
        let out_task = child
            .stdout
            .take()
            .map(|r| tokio::spawn(capture(r, Stream::Stdout, cap, inv.control.output.clone())));
        let err_task = child
            .stderr
            .take()
            .map(|r| tokio::spawn(capture(r, Stream::Stderr, cap, inv.control.output.clone())));
        // Written from its own task, after the readers started, so neither a child that fills
        // its stdout first nor one that never reads stdin can wedge us outside the deadline.
        let stdin_task = match (inv.stdin, child.stdin.take()) {
            (Some(secret), Some(mut stdin)) => {
                // `config set` reads stdin to EOF and removes one trailing newline; the newline
                // we add keeps a value that itself ends in "\n" intact.
                let mut bytes = secret.expose_secret().as_bytes().to_vec();
                bytes.push(b'\n');
                Some(tokio::spawn(async move {
                    if let Err(e) = stdin.write_all(&bytes).await {
                        // A child that exits before reading stdin reports its own error.
                        tracing::debug!(error = %e, "pulumi closed stdin early");
                    }
                    // Don't leave a copy of the secret in freed memory.
                    bytes.fill(0);
                }))
            }
            _ => None,
        };

        let timeout = inv.control.timeout.unwrap_or(self.config.timeout);
        let stopped = wait_or_stop(&mut child, timeout, inv.control.cancel.as_ref()).await;
        let status = match stopped {
            None => child.wait().await,
            Some(_) => self.escalate(&mut child).await,
        }
        .map_err(|e| PulumiError::io("waiting for pulumi", e))?;
        tracing::debug!(target: TIMING, step = "exited");
        // Reaped: its pid (and group id) may be reused from now on.
        group.disarm();
        let stop_reason = stopped;
        if let Some(task) = stdin_task {
            // The child is gone, so a write still pending can only fail; don't wait for it.
            task.abort();
        }

        // Plugins that outlive the CLI could hold the pipes open; don't wait on them forever.
        let stdout = join_capture(out_task).await;
        let stderr = join_capture(err_task).await;
        tracing::debug!(target: TIMING, step = "captured");
        let exit_code = status.code().unwrap_or(-1);
        tracing::info!(
            exit_code,
            duration_ms = started.elapsed().as_millis() as u64,
            stopped = ?stop_reason,
            "pulumi finished"
        );
        Ok(RunOutput {
            exit_code,
            stdout,
            stderr,
            stopped: stop_reason,
        })
    }

    /// SIGINT (graceful cancel: the engine finishes in-flight steps and writes its summary),
    /// then SIGTERM (the CLI's "terminate now"), then SIGKILL of the whole group.
    async fn escalate(&self, child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
        let grace = self.config.cancel_grace;
        for signal in [Signal::SIGINT, Signal::SIGTERM] {
            if let Err(e) = child.signal(signal) {
                tracing::debug!(error = %e, ?signal, "signalling pulumi failed (already gone?)");
            }
            if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
                return status;
            }
            tracing::warn!(?signal, "pulumi did not exit within the grace period");
        }
        // Not reaped yet, so the group id (the CLI's pid) cannot have been reused.
        if let Err(e) = killpg(Pid::from_raw(child.id()), Signal::SIGKILL) {
            tracing::debug!(error = %e, "killing pulumi's process group failed");
        }
        child.wait().await
    }
}

/// Kills the child's process group when a run is dropped before its child was reaped
/// (dropping the [`Child`] kills only the CLI itself, not the plugins it started).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // Already gone is fine: the point is that nothing of the run survives it.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Waits for exit, cancellation or the deadline; returns why we must stop it, if we must.
async fn wait_or_stop(
    child: &mut Child,
    timeout: Duration,
    cancel: Option<&CancellationToken>,
) -> Option<StopReason> {
    let cancelled = async {
        match cancel {
            Some(c) => c.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        // `wait` is cancel-safe; the status is read again by the caller.
        _ = child.wait() => None,
        () = cancelled => Some(StopReason::Cancelled),
        () = tokio::time::sleep(timeout) => Some(StopReason::TimedOut(timeout)),
    }
}

async fn join_capture(task: Option<tokio::task::JoinHandle<String>>) -> String {
    let Some(mut task) = task else {
        return String::new();
    };
    match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "output capture task failed");
            String::new()
        }
        Err(_) => {
            task.abort();
            tracing::warn!("pulumi output still open 5 s after exit; capture abandoned");
            String::new()
        }
    }
}
