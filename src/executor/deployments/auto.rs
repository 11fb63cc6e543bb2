//! The executor `BYOC_EXECUTOR=auto` falls back to when neither a pulumi CLI nor Pulumi
//! Deployments settings are available: the service still starts, and every operation fails at
//! start with a message naming the settings to provide.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::executor::{EventSink, Executor, OperationJob, Outcome};

/// Fails every operation with a message naming what to configure.
#[derive(Debug, Clone)]
pub struct Unavailable {
    message: String,
}

impl Unavailable {
    /// The executor for `BYOC_EXECUTOR=auto` with nothing usable; `cli_error` says why no CLI
    /// was found.
    pub fn for_auto(cli_error: &str) -> Self {
        Self {
            message: format!(
                "no executor is available (BYOC_EXECUTOR=auto): no pulumi CLI ({cli_error}; set \
                 BYOC_PULUMI_BIN or install pulumi) and Pulumi Deployments is not configured \
                 (set PULUMI_ACCESS_TOKEN and BYOC_PULUMI_ORG)"
            ),
        }
    }
}

#[async_trait]
impl Executor for Unavailable {
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
            message: self.message.clone(),
            summary: Default::default(),
            retryable: false,
        }
    }

    async fn recover(&self, _job: &OperationJob) -> Result<(), String> {
        Ok(())
    }
}
