//! Client subcommands (the operator's command line) and the options they share: which server
//! (`--url`, `--context`), which output format, and the `TENANT/ENV` address.

use std::fmt;
use std::str::FromStr;

use clap::{Args, Subcommand, ValueEnum};

use super::approvals::{ApproveArgs, PlanArgs, RejectArgs};
use super::config::{ConfigArgs, ProgramArgs};
use super::ops::{
    DestroyArgs, ForgetArgs, OperationArgs, OpsArgs, OutputsArgs, ShellArg, StackArgs,
};
use super::session::{ContextsArgs, LoginArgs, LogoutArgs};
use super::tenants::TenantsArgs;
use super::tokens::TokensArgs;
use crate::domain::{EnvName, Slug};

/// Options of every client command that talks to a server.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// Server URL; overrides the context's. The token then comes from BYOC_TOKEN or from a
    /// context logged in to this URL.
    #[arg(long, global = true, env = "BYOC_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Named context of the config file to use (default: the current one).
    #[arg(long, global = true, env = "BYOC_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    /// Output format of what the command reads: a table for people, or the API's JSON
    /// (or the same as YAML) for scripts.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table
    )]
    pub output: OutputFormat,
}

/// How a command prints what it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns that fit 80 columns.
    #[default]
    Table,
    /// The API's own JSON body.
    Json,
    /// The API's body as YAML.
    Yaml,
}

/// A tenant environment, written `TENANT/ENV` (e.g. `acme/prod`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    /// Tenant slug.
    pub tenant: Slug,
    /// Environment name.
    pub env: EnvName,
}

impl StackRef {
    /// `/api/v1/tenants/{tenant}/environments/{env}`.
    pub fn api_path(&self) -> String {
        format!("/api/v1/tenants/{}/environments/{}", self.tenant, self.env)
    }

    /// The stack name `<tenant>-<env>`.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.tenant, self.env)
    }
}

impl fmt::Display for StackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.env)
    }
}

impl FromStr for StackRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (tenant, env) = s
            .split_once('/')
            .ok_or_else(|| format!("expected TENANT/ENV (e.g. acme/prod), got '{s}'"))?;
        Ok(Self {
            tenant: Slug::parse(tenant).map_err(|e| format!("tenant '{tenant}': {e}"))?,
            env: EnvName::parse(env).map_err(|e| format!("environment '{env}': {e}"))?,
        })
    }
}

/// Client subcommands: each calls the HTTP API of a byoc server.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Store a token for a server (read from stdin or a prompt, never from the command line).
    #[command(after_help = super::session::LOGIN_HELP)]
    Login(LoginArgs),
    /// Forget the token of a context.
    #[command(after_help = "Example:\n  byoc logout --context staging")]
    Logout(LogoutArgs),
    /// List the contexts of the config file, or choose the current one.
    #[command(after_help = "Examples:\n  byoc contexts list\n  byoc contexts use staging")]
    Contexts(ContextsArgs),
    /// Register, list, show, delete and onboard tenants.
    #[command(after_help = "Examples:\n  byoc tenants list\n  byoc tenants show acme")]
    Tenants(TenantsArgs),
    /// Save, show and compare the configuration versions of an environment.
    #[command(
        after_help = "Examples:\n  byoc config set acme/prod -f prod.yaml\n  byoc config diff acme/prod"
    )]
    Config(ConfigArgs),
    /// Print the Pulumi YAML program a deploy of the saved config runs.
    #[command(after_help = "Example:\n  byoc program acme/prod > acme-prod.yaml")]
    Program(ProgramArgs),
    /// Deploy the latest config (the first deploy and every later change).
    #[command(after_help = super::ops::DEPLOY_HELP)]
    Deploy(OperationArgs),
    /// Preview what a deploy of the latest config would change.
    #[command(after_help = "Example:\n  byoc preview acme/prod")]
    Preview(OperationArgs),
    /// Reconcile the stack's state with what exists in the cloud.
    #[command(after_help = "Example:\n  byoc refresh acme/prod --no-follow")]
    Refresh(OperationArgs),
    /// Destroy every resource of the environment's stack.
    #[command(after_help = super::ops::DESTROY_HELP)]
    Destroy(DestroyArgs),
    /// Stop tracking the environment's stack (admin); resources, if any, stay in the account.
    #[command(after_help = super::ops::FORGET_HELP)]
    Forget(ForgetArgs),
    /// Show the plan a deploy's preview saved: its change list and decision.
    #[command(after_help = super::approvals::PLAN_HELP)]
    Plan(PlanArgs),
    /// Approve a deploy awaiting approval: it applies exactly its saved plan.
    #[command(after_help = super::approvals::APPROVE_HELP)]
    Approve(ApproveArgs),
    /// Reject a deploy awaiting approval: it ends cancelled, nothing runs.
    #[command(after_help = super::approvals::REJECT_HELP)]
    Reject(RejectArgs),
    /// Show the deployment status of an environment.
    #[command(after_help = "Examples:\n  byoc status acme/prod\n  byoc status acme/prod -o json")]
    Status(StackArgs),
    /// Show the stack outputs (secret values hidden unless --show-secrets).
    #[command(
        after_help = "Examples:\n  byoc outputs acme/prod\n  byoc outputs acme/prod --show-secrets -o json"
    )]
    Outputs(OutputsArgs),
    /// List, follow and cancel operations.
    #[command(after_help = "Examples:\n  byoc ops list acme/prod\n  byoc ops logs 0d1f… --follow")]
    Ops(OpsArgs),
    /// Create, list and revoke API tokens (admin).
    #[command(
        after_help = "Examples:\n  byoc tokens list\n  byoc tokens create --name ci --role operator"
    )]
    Tokens(TokensArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  byoc completions bash > /etc/bash_completion.d/byoc\n  \
                           byoc completions zsh > \"${fpath[1]}/_byoc\"\n  \
                           byoc completions fish > ~/.config/fish/completions/byoc.fish"
    )]
    Completions {
        /// Shell to complete for.
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Print a man page (roff) for byoc or one of its commands.
    #[command(after_help = "Examples:\n  byoc man | man -l -\n  byoc man deploy > byoc-deploy.1")]
    Man {
        /// The command whose page to print, e.g. `tenants create` (default: byoc itself).
        command: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_refs_parse_tenant_and_env() {
        let r: StackRef = "acme/prod".parse().unwrap();
        assert_eq!(r.api_path(), "/api/v1/tenants/acme/environments/prod");
        assert_eq!(r.stack_name(), "acme-prod");
        assert_eq!(r.to_string(), "acme/prod");
    }

    #[test]
    fn malformed_stack_refs_name_the_rule() {
        assert!(
            "acme"
                .parse::<StackRef>()
                .unwrap_err()
                .contains("TENANT/ENV")
        );
        assert!(
            "A!/prod"
                .parse::<StackRef>()
                .unwrap_err()
                .contains("tenant")
        );
        assert!(
            "acme/Prod"
                .parse::<StackRef>()
                .unwrap_err()
                .contains("environment")
        );
        assert!("acme/prod/x".parse::<StackRef>().is_err());
    }
}
