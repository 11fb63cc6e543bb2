//! Stack operations: their kinds, their status machine, and what they do to a stack's status.
//!
//! The enums are stored as their lowercase names in text columns; the derives below only say
//! so (the reading and writing lives in `store::mapping`), nothing here touches a database.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an operation does to a stack.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// `pulumi preview`: shows changes, changes nothing.
    Preview,
    /// `pulumi up`: first deploy and every later change.
    Update,
    /// `pulumi refresh`: reconciles state with the cloud.
    Refresh,
    /// `pulumi destroy`: removes every resource.
    Destroy,
}

/// Where an operation is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "lowercase")]
pub enum OperationStatus {
    /// Waiting for a worker (or for an earlier operation on the same stack).
    Queued,
    /// A worker holds its lease and runs it.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled before or while running.
    Cancelled,
}

/// The stack status the original API exposes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum StackStatus {
    /// A deploy is queued.
    Pending,
    /// A deploy is running.
    InProgress,
    /// The last deploy succeeded.
    Succeeded,
    /// The last deploy or destroy failed.
    Failed,
    /// A destroy is queued or running.
    Destroying,
    /// Every resource was removed.
    Destroyed,
    /// Only previews ran: nothing was ever deployed.
    NotDeployed,
}

/// A stored name that is not one of the enum's variants (corrupt data or a newer byoc).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}'")]
pub struct UnknownName {
    /// The enum.
    pub what: &'static str,
    /// The name found.
    pub name: String,
}

/// One stack output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputValue {
    /// The value; `null` when secret and redacted.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// Whether Pulumi marks it secret.
    pub secret: bool,
}

macro_rules! str_enum {
    ($ty:ty { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            /// Stable lowercase name, as stored.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok(Self::$variant),)+
                    other => Err(UnknownName { what: stringify!($ty), name: other.to_owned() }),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(OperationKind { Preview => "preview", Update => "update", Refresh => "refresh", Destroy => "destroy" });
str_enum!(OperationStatus { Queued => "queued", Running => "running", Succeeded => "succeeded", Failed => "failed", Cancelled => "cancelled" });
str_enum!(StackStatus { Pending => "pending", InProgress => "in_progress", Succeeded => "succeeded", Failed => "failed", Destroying => "destroying", Destroyed => "destroyed", NotDeployed => "not_deployed" });

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
            Self::Preview | Self::Refresh => None,
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
            Self::Preview | Self::Refresh => None,
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
