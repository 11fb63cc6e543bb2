//! `byoc approve`, `byoc reject` and `byoc plan`: change control of deploys held for approval
//! (issue 18), over HTTP.

use clap::Args;

use super::ClientArgs;
use super::ops::FollowArgs;

/// Help of `byoc approve`.
pub const APPROVE_HELP: &str = "The deploy is queued again to apply exactly the plan its \
preview saved. Refused (exit 5) when the plan expired, the environment's config has a newer \
version or the stack changed since the preview: the deploy then ends cancelled. Like deploy, \
the command follows the applying update on a terminal unless --no-follow.

Examples:
  byoc plan 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9
  byoc approve 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9
  byoc approve 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9 --no-follow -o json";

/// Help of `byoc reject`.
pub const REJECT_HELP: &str = "The deploy ends cancelled and nothing runs; its error records \
who rejected it, and why with --reason.

Examples:
  byoc reject 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9
  byoc reject 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9 --reason \"needs a maintenance window\"";

/// Help of `byoc plan`.
pub const PLAN_HELP: &str = "Per resource: the step (create, update, replace, delete, …), its \
type and name, and for updates the property paths that change (never values: inputs may be \
secret). Also why the approval policy holds the deploy, when the plan expires, and any \
decision.

Examples:
  byoc plan 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9
  byoc plan 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9 -o json | jq '.changes[].op'";

/// `byoc approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Operation id of the deploy awaiting approval.
    pub operation: String,
    /// Follow or not.
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// Operation id of the deploy awaiting approval.
    pub operation: String,
    /// Why (one line, up to 500 characters), recorded with the rejection.
    #[arg(long)]
    pub reason: Option<String>,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Operation id of a deploy run under an approval policy.
    pub operation: String,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}
