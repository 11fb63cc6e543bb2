//! The `byoc` command line: clap definitions. `main` parses and dispatches to one library
//! function per subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::domain::Role;

/// byoc: Bring Your Own Cloud control plane.
#[derive(Debug, Parser)]
#[command(name = "byoc", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (and its embedded workers).
    Serve,
    /// Run operation workers only (no API), sharing the database with `serve`.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API tokens.
    Token {
        /// Token action.
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Render the Pulumi YAML program of an environment config without a server.
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

/// `byoc token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
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
}
