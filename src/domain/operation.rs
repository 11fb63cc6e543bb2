//! Stack operations: their kinds, their status machine, and what they do to a stack's status.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::stored::stored_enum;

stored_enum! {
    /// What an operation does to a stack.
    pub enum OperationKind ("operation kind") {
        /// `pulumi preview`: shows changes, changes nothing.
        Preview = "preview",
        /// `pulumi up`: first deploy and every later change.
        Update = "update",
        /// `pulumi refresh`: reconciles state with the cloud.
        Refresh = "refresh",
        /// `pulumi destroy`: removes every resource.
        Destroy = "destroy",
        /// byoc stops tracking the stack (an admin's `forget`); resources, if any, stay in
        /// the account. Recorded already finished: never queued, never run by an executor.
        Forget = "forget",
    }
}

stored_enum! {
    /// Where an operation is in its life.
    pub enum OperationStatus ("operation status") {
        /// Waiting for a worker (or for an earlier operation on the same stack).
        Queued = "queued",
        /// A worker holds its lease and runs it.
        Running = "running",
        /// A deploy's preview saved its update plan and the environment's approval policy
        /// holds it: it waits for `approve` (queued again to apply exactly that plan) or
        /// `reject`. Holds nothing: the stack is free for other work meanwhile.
        AwaitingApproval = "awaiting_approval",
        /// Finished successfully.
        Succeeded = "succeeded",
        /// Finished with an error.
        Failed = "failed",
        /// Cancelled before or while running.
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// The stack status the original API exposes.
    pub enum StackStatus ("stack status") {
        /// A deploy is queued.
        Pending = "pending",
        /// A deploy is running.
        InProgress = "in_progress",
        /// The last deploy succeeded.
        Succeeded = "succeeded",
        /// The last deploy or destroy failed.
        Failed = "failed",
        /// A destroy is queued or running.
        Destroying = "destroying",
        /// Every resource was removed.
        Destroyed = "destroyed",
        /// Only previews ran: nothing was ever deployed.
        NotDeployed = "not_deployed",
    }
}

/// One stack output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputValue {
    /// The value; `null` when secret and redacted.
    pub value: serde_json::Value,
    /// Whether Pulumi marks it secret.
    pub secret: bool,
}

impl StackStatus {
    /// True when the stack may still hold cloud resources (blocks tenant/config deletion).
    pub fn may_hold_resources(self) -> bool {
        !matches!(self, Self::Destroyed | Self::NotDeployed)
    }
}

impl OperationStatus {
    /// True once the operation can no longer change.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl OperationKind {
    /// Stack status when an operation of this kind is queued; `None` keeps the current one
    /// (previews and refreshes do not change what is deployed).
    pub fn status_when_queued(self) -> Option<StackStatus> {
        match self {
            Self::Update => Some(StackStatus::Pending),
            Self::Destroy => Some(StackStatus::Destroying),
            Self::Preview | Self::Refresh | Self::Forget => None,
        }
    }

    /// Whether it needs a stack that may hold resources (nothing to destroy or refresh
    /// otherwise).
    pub fn needs_deployed_stack(self) -> bool {
        matches!(self, Self::Destroy | Self::Refresh)
    }

    /// Stack status when it starts running.
    pub fn status_when_running(self) -> Option<StackStatus> {
        match self {
            Self::Update => Some(StackStatus::InProgress),
            Self::Destroy => Some(StackStatus::Destroying),
            Self::Preview | Self::Refresh | Self::Forget => None,
        }
    }

    /// Stack status after the operation ended with `outcome`; `before` is the stack's status
    /// before this operation was queued (restored when a deploy or destroy is cancelled
    /// before it changed anything).
    pub fn status_after(
        self,
        outcome: OperationStatus,
        before: Option<StackStatus>,
    ) -> Option<StackStatus> {
        match (self, outcome) {
            (Self::Update, OperationStatus::Succeeded) => Some(StackStatus::Succeeded),
            (Self::Destroy, OperationStatus::Succeeded) => Some(StackStatus::Destroyed),
            (Self::Update | Self::Destroy, OperationStatus::Failed) => Some(StackStatus::Failed),
            // A cancelled deploy or destroy may have changed part of the stack: mark it failed
            // unless nothing had run yet, then go back to where it was.
            (Self::Update | Self::Destroy, OperationStatus::Cancelled) => {
                Some(before.unwrap_or(StackStatus::Failed))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in [
            OperationKind::Preview,
            OperationKind::Update,
            OperationKind::Refresh,
            OperationKind::Destroy,
        ] {
            assert_eq!(k.as_str().parse::<OperationKind>().unwrap(), k);
        }
        assert_eq!(
            "in_progress".parse::<StackStatus>().unwrap(),
            StackStatus::InProgress
        );
        assert!("bogus".parse::<OperationStatus>().is_err());
    }

    #[test]
    fn previews_never_change_the_stack_status() {
        let k = OperationKind::Preview;
        assert_eq!(k.status_when_queued(), None);
        assert_eq!(k.status_when_running(), None);
        assert_eq!(k.status_after(OperationStatus::Failed, None), None);
    }

    #[test]
    fn deploy_and_destroy_drive_the_stack_status() {
        let u = OperationKind::Update;
        assert_eq!(u.status_when_queued(), Some(StackStatus::Pending));
        assert_eq!(
            u.status_after(OperationStatus::Succeeded, None),
            Some(StackStatus::Succeeded)
        );
        let d = OperationKind::Destroy;
        assert_eq!(
            d.status_after(OperationStatus::Succeeded, None),
            Some(StackStatus::Destroyed)
        );
        assert_eq!(
            d.status_after(OperationStatus::Failed, None),
            Some(StackStatus::Failed)
        );
    }
}
