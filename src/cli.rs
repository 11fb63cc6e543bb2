//! The `byoc` command line: clap definitions. `main` parses and dispatches: server commands
//! (`serve`, `worker`, `migrate`, `token`, `render`) to `commands`, the operator's client
//! commands (talking to a byoc server over HTTP) to `client`.

mod approvals;
mod client;
mod config;
mod ops;
mod session;
mod tenants;
mod tokens;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use approvals::{ApproveArgs, PlanArgs, RejectArgs};
pub use client::{ClientArgs, ClientCommand, OutputFormat, StackRef};
pub use config::{ConfigAction, ConfigArgs, ProgramArgs};
pub use ops::{
    DestroyArgs, FollowArgs, ForgetArgs, OperationArgs, OpsAction, OpsArgs, OutputsArgs, ShellArg,
    StackArgs,
};
pub use session::{ContextsAction, ContextsArgs, LoginArgs, LogoutArgs};
pub use tenants::{TenantsAction, TenantsArgs};
pub use tokens::{TokensAction, TokensArgs};

use crate::domain::Role;

const ABOUT: &str = "byoc: Bring Your Own Cloud control plane.

The same binary runs the server (serve, worker, migrate, token, render; dev: a simulated one \
to try it without AWS) and is the operator's \
command line for a running server (login, tenants, config, deploy, ops, …).";

const AFTER_HELP: &str = "Examples:
  byoc dev                                      try it without AWS (SIMULATED, nothing deployed)
  byoc serve                                    run the API server
  echo \"$TOKEN\" | byoc login --url https://byoc.example.com
  byoc tenants list
  byoc deploy acme/prod                         deploy and follow the progress

Exit codes of client commands: 0 succeeded, 1 operation failed (or the server could not be \
reached), 2 usage or validation error, 3 authentication or permission error, 4 not found, \
5 conflict, 6 cancelled, 7 a followed deploy awaits approval (byoc approve|reject it), 130 \
detached from a running operation (Ctrl-C).";

/// byoc: Bring Your Own Cloud control plane.
#[derive(Debug, Parser)]
#[command(name = "byoc", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand: the server's, then the client's.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Commands that run the server side (they read the BYOC_* server settings).
    #[command(flatten)]
    Server(ServerCommand),
    /// Commands that talk to a running server over HTTP.
    #[command(flatten)]
    Client(ClientCommand),
    /// Try byoc without AWS: a SIMULATED server where nothing is deployed. Starts a local AWS
    /// endpoint (moto) and `serve` with the pulumi stand-in of byoc's tests as the engine, in a
    /// temporary data directory, and prints an admin token and the console's URL. Reads no
    /// `.env` and no server settings.
    #[command(after_help = DEV_HELP)]
    Dev(DevArgs),
}

/// Server-side subcommands.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run the API server (and its embedded workers).
    #[command(after_help = "Example:\n  BYOC_DATA_DIR=/var/lib/byoc byoc serve")]
    Serve,
    /// Run operation workers only (no API), sharing the database with `serve`.
    #[command(after_help = "Example:\n  BYOC_WORKER_CONCURRENCY=2 byoc worker")]
    Worker,
    /// Apply pending database migrations and exit.
    #[command(after_help = "Example:\n  byoc migrate")]
    Migrate,
    /// Manage API tokens directly in the database (on the server host; see `tokens` for the
    /// same over HTTP).
    #[command(after_help = "Example:\n  byoc token create --name ci --role operator")]
    Token {
        /// Token action.
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Database tools: `db copy` moves every row to another (empty) database.
    #[command(
        after_help = "Example:\n  BYOC_COPY_TO=postgres://byoc@db/byoc byoc db copy --from sqlite:///var/lib/byoc/byoc.db"
    )]
    Db {
        /// Database action.
        #[command(subcommand)]
        action: DbCommand,
    },
    /// Render the Pulumi YAML program of an environment config without a server.
    #[command(
        after_help = "Example:\n  byoc render --config prod.json --tenant acme --env prod --check"
    )]
    Render {
        /// Environment config (JSON or YAML request body).
        #[arg(long)]
        config: PathBuf,
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Environment name.
        #[arg(long)]
        env: String,
        /// Tenant AWS account id.
        #[arg(long, default_value = "123456789012")]
        account: String,
        /// Tenant AWS region.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Also validate the program against the provider schema; exit non-zero on problems.
        #[arg(long)]
        check: bool,
    },
}

const DEV_HELP: &str = "Needs python3 with PyYAML (the stand-in) and moto (`pip install \
'moto[server]'`), or --aws-endpoint of a running moto. Run it from the repository root, or pass \
--standin.

Examples:
  byoc dev                                      temporary data, moto started and stopped
  byoc dev --data-dir ./dev-data --bind 127.0.0.1:8080
  byoc dev --aws-endpoint http://127.0.0.1:5000 --step-delay-ms 0";

/// `byoc dev`: the simulated control plane.
#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// Address of the API and the console.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: std::net::SocketAddr,
    /// Keep the data (database, simulated state and fake cloud) in this directory; default: a
    /// temporary directory removed on exit.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// URL of a running local AWS endpoint (moto) to use instead of starting one.
    #[arg(long, env = "BYOC_DEV_AWS_ENDPOINT")]
    pub aws_endpoint: Option<String>,
    /// The moto server program to start.
    #[arg(long, default_value = "moto_server")]
    pub moto: PathBuf,
    /// The pulumi stand-in (default: tests/support/pulumi-standin of this checkout).
    #[arg(long)]
    pub standin: Option<PathBuf>,
    /// How long each simulated resource step takes, in milliseconds (to watch a deploy).
    #[arg(long, default_value_t = 250)]
    pub step_delay_ms: u64,
}

/// `byoc db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every row (tenants, sealed secrets, configs, stacks, operations, events, tokens)
    /// into an empty database, e.g. a SQLite install into PostgreSQL; both are migrated first.
    /// Stop `serve` and `worker` first. The URLs may come from the environment, so a password
    /// need not appear on the command line.
    #[command(
        after_help = "Example:\n  byoc db copy --from sqlite:///var/lib/byoc/byoc.db --to postgres://byoc@db/byoc"
    )]
    Copy {
        /// Source: `sqlite:///path/byoc.db` or `postgres://…`.
        #[arg(long, env = "BYOC_COPY_FROM", hide_env_values = true)]
        from: String,
        /// Target, which must be empty: `postgres://…` or `sqlite:///path`.
        #[arg(long, env = "BYOC_COPY_TO", hide_env_values = true)]
        to: String,
    },
}

/// `byoc token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    #[command(after_help = "Example:\n  byoc token create --name ci --role operator")]
    Create {
        /// Name of the token (who or what uses it).
        #[arg(long)]
        name: String,
        /// Role: admin, operator or viewer.
        #[arg(long)]
        role: Role,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every command, at every depth, shows at least one example in its help.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            let help = cmd.get_after_help().map(|h| h.to_string());
            if !help.is_some_and(|h| h.contains("byoc ")) && cmd.get_name() != "help" {
                missing.push(path.clone());
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }
}
