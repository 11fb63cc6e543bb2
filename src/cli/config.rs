//! `byoc config …` and `byoc program`: an environment's configuration versions and the program
//! they render to.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ClientArgs, StackRef};

/// `byoc config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Config action.
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// `byoc config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate a config file (YAML or JSON) and save it as the environment's next version.
    ///
    /// Invalid fields are listed with their path and their line in the file.
    #[command(after_help = "Examples:\n  byoc config set acme/prod -f prod.yaml\n  \
                            byoc config set acme/dev -f - < dev.json")]
    Set {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
        /// Config file (YAML or JSON); `-` reads stdin.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
    },
    /// Show the latest (or a given) config version, with every default filled in.
    #[command(after_help = "Examples:\n  byoc config show acme/prod\n  \
                            byoc config show acme/prod --version 3 -o yaml\n  \
                            byoc config show acme/prod --request > prod.yaml  # edit, then config set")]
    Show {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
        /// Version to show (default: the latest).
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// Print the request document as it was posted (YAML, or JSON with `-o json`), ready
        /// to be edited and saved again with `byoc config set -f`.
        #[arg(long)]
        request: bool,
    },
    /// List the saved versions, newest first.
    #[command(after_help = "Example:\n  byoc config history acme/prod --limit 5")]
    History {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
        /// How many versions to list.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: u32,
    },
    /// Compare two versions (default: the latest with the one before it).
    #[command(after_help = "Examples:\n  byoc config diff acme/prod\n  \
                            byoc config diff acme/prod --from 2 --to 5")]
    Diff {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
        /// Older version (default: the one before --to).
        #[arg(long, value_name = "N")]
        from: Option<u32>,
        /// Newer version (default: the latest).
        #[arg(long, value_name = "M")]
        to: Option<u32>,
    },
    /// Delete every version (refused while the stack is not destroyed).
    #[command(after_help = "Example:\n  byoc config delete acme/dev")]
    Delete {
        /// Environment, as TENANT/ENV.
        stack: StackRef,
    },
}

/// `byoc program`.
#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// Environment, as TENANT/ENV.
    pub stack: StackRef,
    /// Config version to render (default: the latest).
    #[arg(long, value_name = "N")]
    pub version: Option<u32>,
    /// Server, context and output format (`table` and `yaml` print the YAML as rendered).
    #[command(flatten)]
    pub client: ClientArgs,
}
