//! The driver's error type and the one function that turns a failed CLI run into it.
//! Nothing else in byoc inspects pulumi's output text: callers match on [`PulumiError`].

use std::path::PathBuf;
use std::time::Duration;

use super::events::UpdateSummary;
use super::version::Version;

/// Everything that can go wrong while driving the `pulumi` CLI.
#[derive(Debug, thiserror::Error)]
pub enum PulumiError {
    /// No `pulumi` executable was found.
    #[error("pulumi CLI not found: set BYOC_PULUMI_BIN or put pulumi on PATH ({detail})")]
    NotFound {
        /// Where we looked.
        detail: String,
    },
    /// The CLI is older than [`super::version::MIN_VERSION`].
    #[error(
        "pulumi CLI {found} at {bin} is too old: install pulumi {required} or newer \
         (https://www.pulumi.com/docs/install/) and point BYOC_PULUMI_BIN at it"
    )]
    VersionTooOld {
        /// The binary that was probed.
        bin: PathBuf,
        /// Its version.
        found: Version,
        /// The minimum we need.
        required: Version,
    },
    /// `pulumi version` printed something that is not a version.
    #[error("cannot parse the output of `pulumi version`: {output:?}")]
    BadVersion {
        /// What it printed (trimmed).
        output: String,
    },
    /// `no stack named '<name>' found`.
    #[error("stack not found: {stderr_tail}")]
    StackNotFound {
        /// The CLI's stderr (tail).
        stderr_tail: String,
    },
    /// `pulumi cancel` found no update to cancel (Pulumi Cloud: the stack `has never been
    /// updated`, or `[400] Bad Request: the update has already completed`). Nothing is locked.
    #[error("nothing to cancel: {stderr_tail}")]
    NothingToCancel {
        /// The CLI's stderr (tail).
        stderr_tail: String,
    },
    /// `stack '<name>' already exists`.
    #[error("stack already exists: {stderr_tail}")]
    StackAlreadyExists {
        /// The CLI's stderr (tail).
        stderr_tail: String,
    },
    /// Another update holds the stack (DIY lock file or Pulumi Cloud 409).
    #[error("another update is in progress on this stack: {stderr_tail}")]
    ConcurrentUpdate {
        /// The CLI's stderr (tail), naming the lock holder.
        stderr_tail: String,
    },
    /// The stack uses a passphrase and none was supplied.
    #[error("the stack needs PULUMI_CONFIG_PASSPHRASE and none was configured")]
    MissingPassphrase,
    /// The supplied passphrase does not decrypt the stack.
    #[error("incorrect passphrase for this stack")]
    WrongPassphrase,
    /// The run was cancelled by the caller; `summary` is the engine's last word if it got one.
    #[error("pulumi run cancelled")]
    Cancelled {
        /// The final summary event, when the engine shut down gracefully.
        summary: Option<UpdateSummary>,
    },
    /// The run exceeded its deadline and was stopped.
    #[error("pulumi run timed out after {after:?}")]
    TimedOut {
        /// The deadline.
        after: Duration,
    },
    /// The program or a resource operation failed; `diagnostics` are the engine's error
    /// diagnostics (color directives stripped).
    #[error("pulumi program failed: {}", diagnostics.join("; "))]
    ProgramFailed {
        /// Error diagnostics from the event stream.
        diagnostics: Vec<String>,
        /// The final summary, if any.
        summary: Option<UpdateSummary>,
        /// Exit code of the CLI.
        exit_code: i32,
    },
    /// Any other non-zero exit.
    #[error("pulumi exited with {exit_code}: {stderr_tail}")]
    Failed {
        /// Exit code (-1 when killed by a signal).
        exit_code: i32,
        /// The last lines of stderr.
        stderr_tail: String,
    },
    /// The CLI succeeded but printed something we cannot decode.
    #[error("unexpected output from pulumi {command}: {reason}")]
    BadOutput {
        /// The subcommand.
        command: String,
        /// What was wrong.
        reason: String,
    },
    /// The CLI could not be started (e.g. its binary was removed or lost its execute bit
    /// since it was located, or the workspace directory is gone).
    #[error("cannot start {}: {step}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The step that failed.
        step: super::spawn::SpawnStep,
        /// The errno.
        #[source]
        source: std::io::Error,
    },
    /// Local I/O around the CLI (workspace, event log, waiting for the process).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl PulumiError {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// What a finished CLI run looked like, as far as classification is concerned.
#[derive(Debug, Default)]
pub struct FailedRun<'a> {
    /// Exit code (-1 when killed by a signal).
    pub exit_code: i32,
    /// Captured stdout.
    pub stdout: &'a str,
    /// Captured stderr.
    pub stderr: &'a str,
    /// Error diagnostics from the event log, if one was written.
    pub diagnostics: Vec<String>,
    /// The summary event, if one was written.
    pub summary: Option<UpdateSummary>,
    /// The driver stopped the run on the caller's request.
    pub cancelled: bool,
    /// The driver stopped the run because of its deadline.
    pub timed_out: Option<Duration>,
}

/// How much of stderr an error keeps.
const TAIL_BYTES: usize = 4096;

/// Classifies a failed run. The substrings are the ones the official SDKs test
/// (`docs/pulumi-contract.md` §3.1, §4.2); exit codes are not used because older CLIs return
/// 255 for almost everything. Our own stop reasons (cancel, timeout) win over the text.
pub fn classify(run: FailedRun<'_>) -> PulumiError {
    if let Some(after) = run.timed_out {
        return PulumiError::TimedOut { after };
    }
    if run.cancelled {
        return PulumiError::Cancelled {
            summary: run.summary,
        };
    }
    // Only stderr: stdout carries the program's own prints, which must not steer this.
    let err = run.stderr;
    let stderr_tail = tail(err, TAIL_BYTES);
    if contains_in_order(err, "no stack named", "found") {
        return PulumiError::StackNotFound { stderr_tail };
    }
    if err.contains("has never been updated") || err.contains("the update has already completed") {
        return PulumiError::NothingToCancel { stderr_tail };
    }
    if contains_in_order(err, "stack", "already exists") {
        return PulumiError::StackAlreadyExists { stderr_tail };
    }
    if err.contains("[409] Conflict: Another update is currently in progress.")
        || err.contains("the stack is currently locked by")
    {
        return PulumiError::ConcurrentUpdate { stderr_tail };
    }
    if err.contains("passphrase must be set with PULUMI_CONFIG_PASSPHRASE") {
        return PulumiError::MissingPassphrase;
    }
    if err.contains("incorrect passphrase") {
        return PulumiError::WrongPassphrase;
    }
    if !run.diagnostics.is_empty() {
        return PulumiError::ProgramFailed {
            diagnostics: run.diagnostics,
            summary: run.summary,
            exit_code: run.exit_code,
        };
    }
    PulumiError::Failed {
        exit_code: run.exit_code,
        stderr_tail,
    }
}

/// `regex a.*b` on one line, without a regex engine: the SDK's patterns are line-local.
fn contains_in_order(text: &str, a: &str, b: &str) -> bool {
    text.lines().any(|line| {
        line.find(a)
            .is_some_and(|i| line[i + a.len()..].contains(b))
    })
}

/// The last `max` bytes of `s`, cut at a char boundary.
pub(crate) fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.trim_end().to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", s[start..].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_stderr(stderr: &str) -> PulumiError {
        classify(FailedRun {
            exit_code: 255,
            stderr,
            ..Default::default()
        })
    }

    #[test]
    fn stack_not_found_text_is_classified() {
        let e = with_stderr("error: no stack named 'acme-dev' found\n");
        assert!(matches!(e, PulumiError::StackNotFound { .. }), "{e:?}");
    }

    #[test]
    fn cloud_cancel_without_an_active_update_is_nothing_to_cancel() {
        for text in [
            "error: stack 'org/byoc-platform/acme-dev' has never been updated\n",
            "error: [400] Bad Request: the update has already completed\n",
        ] {
            let e = with_stderr(text);
            assert!(matches!(e, PulumiError::NothingToCancel { .. }), "{e:?}");
        }
    }

    #[test]
    fn stack_already_exists_text_is_classified() {
        let e = with_stderr("error: stack 'acme-dev' already exists\n");
        assert!(matches!(e, PulumiError::StackAlreadyExists { .. }), "{e:?}");
    }

    #[test]
    fn diy_lock_text_is_concurrent_update() {
        let e = with_stderr(
            "error: the stack is currently locked by 1 lock(s). Either wait for the other \
             process(es) to end or delete the lock file with `pulumi cancel`.\n  \
             file:///s/.pulumi/locks/organization/p/s/x.json: created by u@h (pid 1) at t\n",
        );
        assert!(matches!(e, PulumiError::ConcurrentUpdate { .. }), "{e:?}");
    }

    #[test]
    fn cloud_409_text_is_concurrent_update() {
        let e = with_stderr(
            "error: [409] Conflict: Another update is currently in progress.\nTo learn more …\n",
        );
        assert!(matches!(e, PulumiError::ConcurrentUpdate { .. }), "{e:?}");
    }

    #[test]
    fn missing_passphrase_text_is_classified() {
        let e = with_stderr(
            "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or \
             PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n",
        );
        assert!(matches!(e, PulumiError::MissingPassphrase), "{e:?}");
    }

    #[test]
    fn wrong_passphrase_text_is_classified() {
        let e = with_stderr(
            "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE \
             to the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing \
             the passphrase\n",
        );
        assert!(matches!(e, PulumiError::WrongPassphrase), "{e:?}");
    }

    #[test]
    fn error_diagnostics_make_program_failed() {
        let e = classify(FailedRun {
            exit_code: 255,
            stderr: "error: update failed\n",
            diagnostics: vec!["boom".into()],
            ..Default::default()
        });
        assert!(
            matches!(&e, PulumiError::ProgramFailed { diagnostics, .. } if diagnostics == &["boom"])
        );
    }

    #[test]
    fn cancellation_wins_over_text() {
        let e = classify(FailedRun {
            exit_code: 255,
            stderr: "error: update canceled",
            diagnostics: vec!["update canceled".into()],
            cancelled: true,
            ..Default::default()
        });
        assert!(matches!(e, PulumiError::Cancelled { .. }));
        let e = classify(FailedRun {
            timed_out: Some(Duration::from_secs(3)),
            cancelled: true,
            ..Default::default()
        });
        assert!(matches!(e, PulumiError::TimedOut { .. }));
    }

    #[test]
    fn other_failures_keep_exit_code_and_tail() {
        let long = "x".repeat(10_000) + "\nthe end\n";
        match with_stderr(&long) {
            PulumiError::Failed {
                exit_code,
                stderr_tail,
            } => {
                assert_eq!(exit_code, 255);
                assert!(stderr_tail.ends_with("the end"));
                assert!(stderr_tail.len() <= TAIL_BYTES + 4);
            }
            other => panic!("{other:?}"),
        }
    }
}
