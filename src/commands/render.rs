//! `byoc render`: the Pulumi YAML program of a config file, without a server.

use std::path::Path;

use crate::domain::config::{self, EnvironmentConfigRequest};
use crate::domain::{AwsAccountId, AwsRegion, EnvName, RoleArn, RoleName, Slug, StackName};
use crate::program::{self, ProgramError, RenderInput};

/// What `byoc render` needs.
#[derive(Debug)]
pub struct RenderArgs<'a> {
    /// Config file (JSON, or YAML when the extension is `.yaml`/`.yml`).
    pub config: &'a Path,
    /// Tenant slug.
    pub tenant: &'a str,
    /// Environment name.
    pub env: &'a str,
    /// Tenant account.
    pub account: &'a str,
    /// Tenant region.
    pub region: &'a str,
    /// Pulumi project name.
    pub project: &'a str,
    /// Validate against the provider schema.
    pub check: bool,
}

/// Prints the program on stdout; with `check`, fails listing every schema problem.
pub fn render(args: &RenderArgs<'_>) -> anyhow::Result<()> {
    let slug = Slug::parse(args.tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let env = EnvName::parse(args.env).map_err(|e| anyhow::anyhow!("--env: {e}"))?;
    let account =
        AwsAccountId::parse(args.account).map_err(|e| anyhow::anyhow!("--account: {e}"))?;
    let region = AwsRegion::parse(args.region).map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    let text = std::fs::read_to_string(args.config)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.config.display()))?;
    let is_yaml = matches!(
        args.config.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let request: Result<EnvironmentConfigRequest, _> = if is_yaml {
        config::parse_request_yaml(&text)
    } else {
        serde_json::from_str(&text)
            .map_err(|e| crate::domain::ValidationErrors::single("/", e.to_string()))
            .and_then(config::parse_request)
    };
    let resolved = request
        .and_then(|r| config::resolve(r, &region, chrono::Utc::now().date_naive()))
        .map_err(|e| anyhow::anyhow!("{}: invalid config: {e}", args.config.display()))?;
    for w in &resolved.warnings {
        eprintln!("warning: {}: {}", w.field, w.message);
    }
    let stack = StackName::new(&slug, &env);
    let role_arn = RoleArn::new(&account, &region, &RoleName::default());
    let input = RenderInput {
        stack: &stack,
        slug: &slug,
        env: &env,
        account_id: &account,
        region: &region,
        tenant_role_arn: &role_arn,
        project: args.project,
        config: &resolved,
    };
    let rendered = if args.check {
        program::render_checked(&input).map_err(|e| {
            if let ProgramError::Invalid(problems) = &e {
                for p in &problems.0 {
                    eprintln!("{p}");
                }
            }
            anyhow::Error::new(e)
        })?
    } else {
        program::render(&input)?
    };
    print!("{}", rendered.yaml());
    Ok(())
}
