//! Stack operations (`deploy`, `preview`, `refresh`, `destroy`), `status`, `outputs` and
//! `byoc ops …`.

use clap::{Args, Subcommand, ValueEnum};

use super::{ClientArgs, StackRef};

/// Help of `byoc deploy`.
pub const DEPLOY_HELP: &str = "On a terminal the command follows the operation (a progress bar \
of resources done out of the plan's total, one line per resource step, diagnostics, the \
summary) unless --no-follow; elsewhere it prints the queued operation unless --follow. Ctrl-C \
asks whether to cancel the operation or detach from it. A deploy the environment's approval \
policy holds stops following once its preview saved the plan, printing the commands to review, \
approve or reject it. Exit code: 0 succeeded, 1 failed, 6 cancelled, 7 awaits approval.

Examples:
  byoc deploy acme/prod
  byoc deploy acme/prod --follow > deploy.log
  byoc deploy acme/prod --follow -o json | jq .status";

/// Help of `byoc destroy`.
pub const DESTROY_HELP: &str = "On a terminal the command asks for the stack name \
(`<tenant>-<env>`) before destroying anything; elsewhere --yes is required.

Examples:
  byoc destroy acme/dev
  byoc destroy acme/dev --yes --no-follow";

/// Help of `byoc forget`.
pub const FORGET_HELP: &str = "byoc stops tracking the stack: it shows not_deployed again, so \
its config and tenant can be deleted. Resources, if any, stay in the tenant's AWS account (and \
the stack's Pulumi state in the backend); nothing is destroyed. Admin token only; refused while \
an operation is queued or running. On a terminal the command asks for the stack name; \
elsewhere --yes is required.

Examples:
  byoc forget acme/dev
  byoc forget acme/dev --yes";

/// Whether to follow an operation; unset means: follow when stdout is a terminal.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct FollowArgs {
    /// Follow the operation until it ends (default on a terminal).
    #[arg(long, overrides_with = "no_follow")]
    pub follow: bool,
    /// Return once the operation is queued (default when not on a terminal).
    #[arg(long)]
    pub no_follow: bool,
}

impl FollowArgs {
    /// The explicit choice, if any.
    pub fn choice(&self) -> Option<bool> {
        match (self.follow, self.no_follow) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// `byoc deploy|preview|refresh`.
#[derive(Debug, Args)]
pub struct OperationArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Fail (exit 5) when an operation is already queued or running on the stack, instead of
    /// queueing behind it.
    #[arg(long)]
    pub if_idle: bool,
    /// Follow or not.
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Do not ask for the stack name (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Follow or not.
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Do not ask for the stack name (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc status`.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc outputs`.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Reveal secret values (admin token).
    #[arg(long)]
    pub show_secrets: bool,
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `byoc ops`.
#[derive(Debug, Args)]
pub struct OpsArgs {
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Operations action.
    #[command(subcommand)]
    pub action: OpsAction,
}

/// `byoc ops …`.
#[derive(Debug, Subcommand)]
pub enum OpsAction {
    /// The environment's operations, newest first.
    #[command(after_help = "Example:\n  byoc ops list acme/prod --limit 10")]
    List {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
        /// How many (1–200).
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: u32,
    },
    /// Show one operation.
    #[command(after_help = "Example:\n  byoc ops show 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9")]
    Show {
        /// Operation id.
        id: String,
    },
    /// Print an operation's engine events as lines; --follow waits for its end.
    #[command(
        after_help = "Examples:\n  byoc ops logs 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9\n  \
                            byoc ops logs 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9 --follow\n  \
                            byoc ops logs 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9 -o json | jq .kind"
    )]
    Logs {
        /// Operation id.
        id: String,
        /// Keep following until the operation ends (resumes after a dropped connection).
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Cancel an operation: a queued one at once, a running one at its next step.
    #[command(after_help = "Example:\n  byoc ops cancel 0d1fbc36-4888-49ed-bd0a-3d7f88e236a9")]
    Cancel {
        /// Operation id.
        id: String,
    },
}

/// Shells `byoc completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}
