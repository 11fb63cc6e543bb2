//! `byoc tenants …`: register, list, show, delete and onboard tenants.

use clap::{Args, Subcommand};

use super::ClientArgs;
use crate::domain::Slug;

/// `byoc tenants`.
#[derive(Debug, Args)]
pub struct TenantsArgs {
    /// Server, context and output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Tenants action.
    #[command(subcommand)]
    pub action: TenantsAction,
}

/// `byoc tenants …`.
#[derive(Debug, Subcommand)]
pub enum TenantsAction {
    /// Register a tenant; prints its external ID once, with the onboarding instructions.
    #[command(
        after_help = "Example:\n  byoc tenants create acme --name 'Acme Corp' \
                            --account 123456789012 --region eu-west-1"
    )]
    Create {
        /// Unique slug: 3–50 lowercase letters, digits and inner hyphens.
        slug: Slug,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The tenant's 12-digit AWS account id.
        #[arg(long, value_name = "ID")]
        account: String,
        /// Region to deploy to (server default: us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// Name of the IAM role the tenant creates (server default: BYOCPlatformRole).
        #[arg(long)]
        role_name: Option<String>,
    },
    /// List every tenant.
    #[command(
        after_help = "Examples:\n  byoc tenants list\n  byoc tenants list -o json | jq -r '.items[].slug'"
    )]
    List,
    /// Show one tenant.
    #[command(after_help = "Example:\n  byoc tenants show acme")]
    Show {
        /// Tenant slug.
        slug: Slug,
    },
    /// Remove a tenant and its configs (refused while one of its stacks is not destroyed).
    #[command(after_help = "Example:\n  byoc tenants delete acme")]
    Delete {
        /// Tenant slug.
        slug: Slug,
    },
    /// Show what the tenant must create in its account (the external ID stays hidden).
    #[command(after_help = "Example:\n  byoc tenants onboarding acme")]
    Onboarding {
        /// Tenant slug.
        slug: Slug,
    },
    /// Check the tenant's role: AssumeRole with the external ID, then GetCallerIdentity.
    #[command(after_help = "Example:\n  byoc tenants verify acme")]
    Verify {
        /// Tenant slug.
        slug: Slug,
    },
    /// Replace the tenant's external ID (admin); prints the new one once.
    #[command(after_help = "Example:\n  byoc tenants rotate-external-id acme")]
    RotateExternalId {
        /// Tenant slug.
        slug: Slug,
    },
}
