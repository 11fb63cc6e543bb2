//! Recovery of a stack whose worker died (or lost its lease): wipe what dead processes left in
//! the workspace folder (the tenant AWS profile holds the external ID in plaintext), read the
//! stack's DIY lock files, wait while a holder is provably still running on this host, then
//! clear the lock with `pulumi cancel` (or, for a stack a killed `stack init` locked but never
//! wrote, which `pulumi cancel` refuses, delete its lock files: `pulumi/diy_locks.rs`).
//! Pending operations are resolved by the next run (the worker marks the stack for it), which
//! holds the lease and records its events.
//!
//! The worker has already waited until the dead attempt's lease expired longer ago than that
//! attempt needs to kill its CLI (`worker/recovery.rs`); the lock file is the second check:
//! it names the pid, host and time of the engine holding it (`pkg/backend/diy/lock.go`).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::{LocalExecutor, RECOVER_TIMEOUT};
use crate::executor::{EngineEventRecord, OperationJob, RecoverError};
use crate::pulumi::{PulumiError, RunControl, Workspace, diy_locks};

/// Event kind: what recovery found and did.
pub const RECOVERY_LOCK_EVENT: &str = "byoc.recovery-lock";

/// How often a live lock holder is looked at again.
const POLL: Duration = Duration::from_millis(200);

/// A DIY lock file: `{"pid","username","hostname","timestamp"}` (`lock.go`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct LockInfo {
    #[serde(default)]
    pid: i32,
    #[serde(default)]
    username: String,
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    timestamp: String,
}

pub(super) async fn recover(
    exec: &LocalExecutor,
    job: &OperationJob,
) -> Result<Vec<EngineEventRecord>, RecoverError> {
    let swept = exec
        .workspaces
        .sweep_dead()
        .map_err(RecoverError::Workspaces)?;
    if swept > 0 {
        tracing::warn!(
            count = swept,
            "removed the workspaces of processes that died"
        );
    }
    let dir = diy_locks::file_lock_dir(
        &exec.runner.config().backend_url,
        &exec.project,
        job.stack.as_str(),
    );
    let locks = dir.as_ref().map(|d| read_locks(d)).unwrap_or_default();
    let started = Instant::now();
    // The engine's graceful stop and terminate window, plus a margin: past that, a holder
    // still alive on this host is not going away by itself.
    let patience = exec.runner.config().cancel_grace * 2 + Duration::from_secs(10);
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    for lock in &locks {
        if lock.hostname != host {
            continue;
        }
        if pulumi_alive(lock.pid) {
            tracing::warn!(
                pid = lock.pid,
                "the stack lock's holder is still running; waiting for it to stop"
            );
        }
        while pulumi_alive(lock.pid) {
            if started.elapsed() > patience {
                return Err(RecoverError::HolderAlive {
                    pid: lock.pid,
                    host: lock.hostname.clone(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
    let project = format!("name: {}\nruntime: yaml\n", exec.project);
    let ws = Workspace::create(exec.workspaces.dir(), &project)?;
    let ctl = RunControl {
        timeout: Some(RECOVER_TIMEOUT),
        ..Default::default()
    };
    let mut removed = Vec::new();
    match exec.runner.cancel_update(&ws, &job.stack, &ctl).await {
        Ok(()) => tracing::info!(locks = locks.len(), "stack lock cleared (pulumi cancel)"),
        // No stack, yet maybe a lock: `stack init` locks the name before it writes the stack
        // (pkg/backend/diy/backend.go CreateStack), and `pulumi cancel` refuses a stack that
        // does not exist (pkg/cmd/pulumi/cancel/cancel.go, RequireStack LoadOnly). A CLI
        // killed between the two leaves a lock nothing in the CLI removes, and every later
        // `stack init` fails "currently locked": the lock files are deleted here instead.
        Err(PulumiError::StackNotFound { .. }) => {
            let cfg = exec.runner.config();
            match diy_locks::remove_stack_locks(
                &cfg.backend_url,
                &cfg.env,
                &exec.project,
                job.stack.as_str(),
            )
            .await
            {
                Ok(keys) => removed = keys,
                Err(diy_locks::LockClearError::Unsupported { .. }) => {}
                Err(e) => return Err(RecoverError::RemoveLocks(e)),
            }
            if !removed.is_empty() {
                tracing::warn!(
                    locks = removed.len(),
                    "removed the lock files a killed `stack init` left on a stack that does not exist"
                );
            }
        }
        Err(PulumiError::NothingToCancel { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let note = json!({ RECOVERY_LOCK_EVENT: {
        "locks": locks,
        "removedWithoutStack": removed,
        "waitedMs": started.elapsed().as_millis() as u64,
        "workspacesRemoved": swept,
    }});
    Ok(vec![EngineEventRecord {
        kind: RECOVERY_LOCK_EVENT.into(),
        payload: note,
    }])
}

fn read_locks(dir: &std::path::Path) -> Vec<LockInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect()
}

/// Whether `pid` is a live process that looks like the CLI (not a recycled pid).
fn pulumi_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("pulumi"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_not_a_pulumi_holder_but_a_dead_pid_is_neither() {
        assert!(!pulumi_alive(0));
        assert!(!pulumi_alive(i32::MAX));
    }
}
