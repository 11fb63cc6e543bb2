//! Why a local run did not succeed, and the one mapping from that to an [`Outcome`]: which
//! failures are worth retrying, and what the operator reads. Never inspects CLI text (the
//! driver's classifier did that).

use crate::cloud::{ProfileError, RoleCheckError};
use crate::executor::{ChangeSummary, Outcome};
use crate::program::{ProgramError, ProgramProblems, RenderError};
use crate::pulumi::{PulumiError, UpdateSummary};

/// Everything that can end a local run other than success.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The program could not be rendered from the stored config.
    #[error("the program could not be rendered: {}", chain(.0))]
    Render(#[from] RenderError),
    /// The rendered program failed validation against the provider schema.
    #[error("the rendered program is invalid")]
    Problems(#[from] ProgramProblems),
    /// The tenant role pre-flight (`sts:AssumeRole` with the external ID) failed.
    #[error("pre-flight check of the tenant role failed: {0}")]
    Role(#[from] RoleCheckError),
    /// The tenant AWS profile could not be written.
    #[error("the tenant AWS profile could not be prepared: {0}")]
    Profile(#[from] ProfileError),
    /// The CLI failed (the variant says how).
    #[error(transparent)]
    Pulumi(#[from] PulumiError),
    /// The run was cancelled before the engine started.
    #[error("cancelled before pulumi ran")]
    CancelledEarly,
}

impl From<ProgramError> for LocalError {
    fn from(e: ProgramError) -> Self {
        match e {
            ProgramError::Render(e) => Self::Render(e),
            ProgramError::Invalid(problems) => Self::Problems(problems),
        }
    }
}

impl LocalError {
    /// The outcome the worker records.
    pub fn into_outcome(self) -> Outcome {
        let failed = |message: String, retryable: bool| Outcome::Failed {
            message,
            summary: ChangeSummary::new(),
            retryable,
        };
        match self {
            Self::Problems(ProgramProblems(problems)) => {
                let list: Vec<String> = problems.iter().map(|p| format!("- {p}")).collect();
                failed(
                    format!("the rendered program is invalid:\n{}", list.join("\n")),
                    false,
                )
            }
            Self::Role(ref e) => {
                let retryable = e.is_transient();
                failed(self.to_string(), retryable)
            }
            e @ (Self::Render(_) | Self::Profile(_)) => failed(e.to_string(), false),
            Self::CancelledEarly => Outcome::Cancelled {
                reason: "cancelled before pulumi ran".into(),
                summary: ChangeSummary::new(),
            },
            Self::Pulumi(e) => pulumi_outcome(e),
        }
    }
}

/// Maps a driver error. Program failures carry the engine's own diagnostics.
pub(super) fn pulumi_outcome(e: PulumiError) -> Outcome {
    let failed = |message: String, summary: ChangeSummary, retryable: bool| Outcome::Failed {
        message,
        summary,
        retryable,
    };
    match e {
        PulumiError::ProgramFailed {
            diagnostics,
            summary,
            ..
        } => failed(diagnostics.join("\n"), changes(summary.as_ref()), false),
        PulumiError::Cancelled { summary } => Outcome::Cancelled {
            reason: "cancelled: pulumi was interrupted and stopped".into(),
            summary: changes(summary.as_ref()),
        },
        // Nobody asked for this stop: the operation failed, and says why.
        PulumiError::TimedOut { after } => failed(
            format!(
                "timed out: pulumi did not finish within {} s and was stopped",
                after.as_secs()
            ),
            ChangeSummary::new(),
            false,
        ),
        PulumiError::ConcurrentUpdate { stderr_tail } => failed(
            format!("the stack is still locked after clearing a stale lock once: {stderr_tail}"),
            ChangeSummary::new(),
            true,
        ),
        PulumiError::MissingPassphrase => failed(
            "the stack uses the passphrase secrets provider and no passphrase reached pulumi: \
             set PULUMI_CONFIG_PASSPHRASE"
                .into(),
            ChangeSummary::new(),
            false,
        ),
        PulumiError::WrongPassphrase => failed(
            "the passphrase does not decrypt this stack: set PULUMI_CONFIG_PASSPHRASE to the \
             passphrase the stack was created with (or restore <data dir>/pulumi.passphrase)"
                .into(),
            ChangeSummary::new(),
            false,
        ),
        // Spawning, the workspace or the event log: local trouble that may pass.
        e @ (PulumiError::Io { .. } | PulumiError::Spawn { .. }) => {
            failed(e.to_string(), ChangeSummary::new(), true)
        }
        // Killed by a signal we did not send (OOM killer, node shutdown): worth another try.
        e @ PulumiError::Failed { exit_code: -1, .. } => {
            failed(e.to_string(), ChangeSummary::new(), true)
        }
        e => failed(e.to_string(), ChangeSummary::new(), false),
    }
}

/// An error and its sources, `: `-joined (the renderer's cause names the template line).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The change counts of a summary (empty when the engine wrote none).
pub(super) fn changes(summary: Option<&UpdateSummary>) -> ChangeSummary {
    summary
        .map(|s| s.resource_changes.clone())
        .unwrap_or_default()
}

/// A short word for logs.
pub(super) fn label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded { .. } => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Cancelled { .. } => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::ProgramProblem;

    #[test]
    fn program_problems_are_listed_and_final() {
        let e = LocalError::Problems(ProgramProblems(vec![
            ProgramProblem {
                path: "resources.vpc".into(),
                message: "bad".into(),
            },
            ProgramProblem {
                path: "outputs.x".into(),
                message: "worse".into(),
            },
        ]));
        match e.into_outcome() {
            Outcome::Failed {
                message, retryable, ..
            } => {
                assert!(message.contains("- resources.vpc: bad"), "{message}");
                assert!(message.contains("- outputs.x: worse"), "{message}");
                assert!(!retryable);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn engine_diagnostics_become_the_message() {
        let o = pulumi_outcome(PulumiError::ProgramFailed {
            diagnostics: vec!["creating vpc failed: quota".into(), "second".into()],
            summary: None,
            exit_code: 255,
        });
        assert!(
            matches!(&o, Outcome::Failed { message, retryable: false, .. } if message == "creating vpc failed: quota\nsecond"),
            "{o:?}"
        );
    }

    #[test]
    fn passphrase_problems_name_the_setting() {
        for e in [PulumiError::MissingPassphrase, PulumiError::WrongPassphrase] {
            match pulumi_outcome(e) {
                Outcome::Failed { message, .. } => {
                    assert!(message.contains("PULUMI_CONFIG_PASSPHRASE"), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_timeout_fails_with_its_reason_and_a_cancel_is_cancelled() {
        let o = pulumi_outcome(PulumiError::TimedOut {
            after: std::time::Duration::from_secs(5),
        });
        assert!(
            matches!(&o, Outcome::Failed { message, retryable: false, .. } if message.contains("timed out")),
            "{o:?}"
        );
        let o = pulumi_outcome(PulumiError::Cancelled { summary: None });
        assert!(matches!(o, Outcome::Cancelled { .. }));
    }
}
