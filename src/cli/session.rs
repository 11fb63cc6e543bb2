//! `byoc login`, `byoc logout` and `byoc contexts`: which servers the client talks to, and
//! with which token. Tokens are read from stdin or a no-echo prompt, never from argv.

use clap::{Args, Subcommand};

use super::OutputFormat;

/// Help of `byoc login`.
pub const LOGIN_HELP: &str = "The token is read from stdin when stdin is not a terminal, else \
from a prompt that does not echo it. It is checked against the server, then stored in \
$XDG_CONFIG_HOME/byoc/config.toml (default ~/.config/byoc/config.toml, mode 0600) under the \
context's name, which becomes the current context.

Examples:
  byoc login --url https://byoc.example.com
  pass show byoc/prod | byoc login --url https://byoc.example.com --context prod";

/// `byoc login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Server URL (http or https), e.g. `https://byoc.example.com`.
    #[arg(long, env = "BYOC_URL", value_name = "URL")]
    pub url: String,
    /// Name of the context to store the token under (default: `default`).
    #[arg(long, env = "BYOC_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
}

/// `byoc logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Context to forget (default: the current one).
    #[arg(long, env = "BYOC_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
}

/// `byoc contexts`.
#[derive(Debug, Args)]
pub struct ContextsArgs {
    /// Contexts action.
    #[command(subcommand)]
    pub action: ContextsAction,
}

/// `byoc contexts …`.
#[derive(Debug, Subcommand)]
pub enum ContextsAction {
    /// List the stored contexts (names and URLs, never tokens).
    #[command(after_help = "Example:\n  byoc contexts list -o json")]
    List {
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Make a context the current one.
    #[command(after_help = "Example:\n  byoc contexts use staging")]
    Use {
        /// Context name.
        name: String,
    },
}
