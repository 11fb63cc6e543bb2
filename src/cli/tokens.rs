//! `byoc tokens …`: API tokens over HTTP (admin).

use clap::{Args, Subcommand};

use super::ClientArgs;
use crate::domain::Role;

/// `byoc tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Tokens action.
    #[command(subcommand)]
    pub action: TokensAction,
}

/// `byoc tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensAction {
    /// Create a token; it is printed once.
    #[command(
        after_help = "Examples:\n  byoc tokens create --name ci --role operator\n  \
                            byoc tokens create --name grafana --role viewer -o json | jq -r .token"
    )]
    Create {
        /// Who or what uses the token.
        #[arg(long)]
        name: String,
        /// Role: admin, operator or viewer.
        #[arg(long)]
        role: Role,
        /// Limit the token to this tenant (repeat for several); default: every tenant.
        #[arg(long = "tenant", value_name = "SLUG")]
        tenants: Vec<String>,
    },
    /// List every token (never the secret itself).
    #[command(after_help = "Example:\n  byoc tokens list")]
    List,
    /// Revoke a token; it stops working at once.
    #[command(after_help = "Example:\n  byoc tokens revoke 7c9e6679-7425-40de-944b-e07fc1f90ae7")]
    Revoke {
        /// Token id (see `byoc tokens list`).
        id: String,
    },
}
