//! What becomes of an operation once its run ended: a pure function of why the worker stopped
//! the run (if it did), how the run ended, and how many runs the operation had.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::OperationStatus;
use crate::executor::{ChangeSummary, Outcome, OutputValue};

/// Why the worker stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A cancel came through the API.
    Requested,
    /// The run passed `BYOC_OPERATION_TIMEOUT_SECONDS`.
    Timeout(Duration),
    /// The worker is shutting down.
    Shutdown,
    /// Another worker took the operation over: this attempt may write nothing more.
    LeaseLost,
}

impl Stop {
    /// What the operation's error says when the stop cancelled it.
    fn reason(self) -> String {
        match self {
            Self::Requested => "cancelled on request".to_owned(),
            Self::Timeout(after) => format!(
                "timed out after {} s (BYOC_OPERATION_TIMEOUT_SECONDS)",
                after.as_secs()
            ),
            Self::Shutdown => "stopped because the worker shut down".to_owned(),
            Self::LeaseLost => "the worker lost its lease".to_owned(),
        }
    }
}

/// What to record for a run that ends the operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: OperationStatus,
    /// The engine's message, or why the run was stopped.
    pub error: Option<String>,
    /// Resource changes.
    pub summary: ChangeSummary,
    /// Outputs of a successful run (sealed when stored).
    pub outputs: Option<BTreeMap<String, OutputValue>>,
}

impl Verdict {
    /// A failure that no run produced (the operation could not be prepared or recovered).
    pub fn failed(message: String) -> Self {
        Self {
            status: OperationStatus::Failed,
            error: Some(message),
            summary: ChangeSummary::new(),
            outputs: None,
        }
    }
}

/// What the worker does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// The operation ends.
    Finish(Verdict),
    /// A transient failure: note why in the event log and run it again.
    Retry {
        /// The failure.
        message: String,
    },
    /// Stopped for a shutdown: back in the queue for the next worker.
    Requeue,
    /// The lease is gone: write nothing, the new holder decides.
    Abandon,
}

/// Decides the fate of a run of the `attempt`-th run of an operation allowed `max_attempts`.
pub fn decide(
    stop: Option<Stop>,
    outcome: Outcome,
    attempt: i32,
    max_attempts: i32,
) -> Disposition {
    match (stop, outcome) {
        (Some(Stop::LeaseLost), _) => Disposition::Abandon,
        (Some(Stop::Shutdown), Outcome::Cancelled { .. }) => Disposition::Requeue,
        // A transient failure (AWS unreachable, a lock still held…) runs again, up to the
        // attempt limit; a stop asked for by someone is never retried.
        (
            None,
            Outcome::Failed {
                retryable: true,
                message,
                ..
            },
        ) if attempt < max_attempts => Disposition::Retry { message },
        (stop, outcome) => Disposition::Finish(verdict(stop, outcome)),
    }
}

fn verdict(stop: Option<Stop>, outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Succeeded { summary, outputs } => Verdict {
            status: OperationStatus::Succeeded,
            error: None,
            summary,
            outputs,
        },
        Outcome::Failed {
            message, summary, ..
        } => Verdict {
            status: OperationStatus::Failed,
            error: Some(message),
            summary,
            outputs: None,
        },
        // A timeout is a failure nobody asked for, not a cancel.
        Outcome::Cancelled { summary, .. } if matches!(stop, Some(Stop::Timeout(_))) => Verdict {
            status: OperationStatus::Failed,
            error: stop.map(Stop::reason),
            summary,
            outputs: None,
        },
        Outcome::Cancelled { reason, summary } => Verdict {
            status: OperationStatus::Cancelled,
            error: Some(stop.map_or(reason, Stop::reason)),
            summary,
            outputs: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(retryable: bool) -> Outcome {
        Outcome::Failed {
            message: "AWS STS unreachable".into(),
            summary: ChangeSummary::new(),
            retryable,
        }
    }

    fn cancelled() -> Outcome {
        Outcome::Cancelled {
            reason: "update canceled".into(),
            summary: ChangeSummary::new(),
        }
    }

    fn status(d: &Disposition) -> Option<OperationStatus> {
        match d {
            Disposition::Finish(v) => Some(v.status),
            _ => None,
        }
    }

    #[test]
    fn a_transient_failure_is_retried_until_the_last_attempt() {
        assert_eq!(
            decide(None, failed(true), 1, 3),
            Disposition::Retry {
                message: "AWS STS unreachable".into()
            }
        );
        let last = decide(None, failed(true), 3, 3);
        assert_eq!(status(&last), Some(OperationStatus::Failed));
    }

    #[test]
    fn a_final_failure_is_never_retried() {
        let d = decide(None, failed(false), 1, 3);
        assert_eq!(status(&d), Some(OperationStatus::Failed));
    }

    #[test]
    fn a_stopped_run_is_not_retried_even_if_its_failure_is_transient() {
        let d = decide(Some(Stop::Requested), failed(true), 1, 3);
        assert_eq!(status(&d), Some(OperationStatus::Failed));
    }

    #[test]
    fn a_run_cancelled_for_shutdown_goes_back_to_the_queue() {
        assert_eq!(
            decide(Some(Stop::Shutdown), cancelled(), 1, 3),
            Disposition::Requeue
        );
    }

    #[test]
    fn a_run_that_ended_on_its_own_during_shutdown_is_recorded() {
        let ok = Outcome::Succeeded {
            summary: ChangeSummary::new(),
            outputs: None,
        };
        let d = decide(Some(Stop::Shutdown), ok, 1, 3);
        assert_eq!(status(&d), Some(OperationStatus::Succeeded));
    }

    #[test]
    fn a_lost_lease_writes_nothing_whatever_the_outcome() {
        for outcome in [failed(true), cancelled()] {
            assert_eq!(
                decide(Some(Stop::LeaseLost), outcome, 1, 3),
                Disposition::Abandon
            );
        }
    }

    #[test]
    fn a_timed_out_run_fails_with_the_timeout_as_its_reason() {
        let stop = Stop::Timeout(Duration::from_secs(300));
        let Disposition::Finish(v) = decide(Some(stop), cancelled(), 1, 3) else {
            panic!("a timeout must finish the operation");
        };
        assert_eq!(v.status, OperationStatus::Failed);
        assert_eq!(
            v.error.as_deref(),
            Some("timed out after 300 s (BYOC_OPERATION_TIMEOUT_SECONDS)")
        );
    }

    #[test]
    fn a_stop_names_its_reason_on_the_cancelled_operation() {
        let Disposition::Finish(v) = decide(Some(Stop::Requested), cancelled(), 1, 3) else {
            panic!("a requested stop must finish the operation");
        };
        assert_eq!(v.status, OperationStatus::Cancelled);
        assert_eq!(v.error.as_deref(), Some("cancelled on request"));
        let Disposition::Finish(v) = decide(None, cancelled(), 1, 3) else {
            panic!("a cancelled run finishes the operation");
        };
        assert_eq!(
            v.error.as_deref(),
            Some("update canceled"),
            "the engine's own reason"
        );
    }
}
