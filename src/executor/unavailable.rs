//! The executor `byoc serve` uses when no real one can be built (e.g. no pulumi CLI on a
//! laptop): the API keeps serving, and each operation fails at once with the reason.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{EventSink, Executor, OperationJob, Outcome, RecoverError};

/// Fails every operation with `reason`.
#[derive(Debug, Clone)]
pub struct UnavailableExecutor {
    reason: String,
}

impl UnavailableExecutor {
    /// An executor that explains why operations cannot run here.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

#[async_trait]
impl Executor for UnavailableExecutor {
    fn name(&self) -> &'static str {
        "unavailable"
    }

    async fn run(
        &self,
        _job: OperationJob,
        _sink: EventSink,
        _cancel: CancellationToken,
    ) -> Outcome {
        Outcome::Failed {
            message: format!(
                "no executor can run operations on this server: {}",
                self.reason
            ),
            summary: BTreeMap::new(),
            retryable: false,
        }
    }

    async fn recover(
        &self,
        _job: &OperationJob,
    ) -> Result<Vec<super::EngineEventRecord>, RecoverError> {
        Ok(Vec::new())
    }
}
