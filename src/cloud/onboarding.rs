//! The onboarding block as pure data: what the tenant must create (role ARN to expect, template,
//! parameter values), a console quick-create link and the exact `aws cloudformation create-stack`
//! command. The API returns it; the external ID is only in it when the caller reveals it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::domain::aws::{AwsAccountId, AwsRegion, RoleArn, RoleName};

/// The customer role template, served by the API and linted in CI.
pub const TEMPLATE: &str = include_str!("../../templates/customer-iam-role.yaml");
/// File name the CLI command expects next to it.
pub const TEMPLATE_FILE: &str = "customer-iam-role.yaml";
/// Where the API serves [`TEMPLATE`].
pub const TEMPLATE_API_PATH: &str = "/api/v1/templates/customer-iam-role.yaml";
/// The CloudFormation stack name we suggest to tenants.
pub const STACK_NAME: &str = "byoc-platform-role";
/// Stands in for the external ID after it was shown once.
pub const EXTERNAL_ID_PLACEHOLDER: &str = "<external-id-shown-at-creation>";

/// Whether the external ID is shown (tenant creation, rotation) or replaced by a placeholder.
#[derive(Debug, Clone, Copy)]
pub enum ExternalIdShown<'a> {
    /// Show the value (only in the response that creates or rotates it).
    Revealed(&'a SecretString),
    /// Show [`EXTERNAL_ID_PLACEHOLDER`].
    Placeholder,
}

/// The tenant facts the block is built from.
#[derive(Debug, Clone, Copy)]
pub struct OnboardingTenant<'a> {
    /// The tenant's account.
    pub account: &'a AwsAccountId,
    /// The tenant's region (stack region and console link).
    pub region: &'a AwsRegion,
    /// The role name the tenant creates (CloudFormation `RoleName`).
    pub role_name: &'a RoleName,
    /// The external ID, or a placeholder.
    pub external_id: ExternalIdShown<'a>,
}

/// The platform settings the block needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnboardingSettings<'a> {
    /// `BYOC_TRUSTED_PRINCIPAL_ARN`: the principal the role must trust.
    pub trusted_principal_arn: Option<&'a str>,
    /// `BYOC_ROLE_TEMPLATE_URL`: where the template is hosted (enables the quick-create link).
    pub template_url: Option<&'a str>,
    /// The local AWS endpoint of a server on the simulated engine (`BYOC_EXECUTOR=simulated`):
    /// the block then warns that nothing is deployed and where the role checks go.
    pub simulated_endpoint: Option<&'a str>,
}

/// One CloudFormation parameter value.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OnboardingParameter {
    /// Parameter name in the template.
    pub key: String,
    /// Value to give it.
    pub value: String,
}

/// What a tenant does to connect its account.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Onboarding {
    /// The role ARN byoc will assume once the stack exists.
    pub role_arn: String,
    /// The role name (CloudFormation `RoleName`).
    pub role_name: String,
    /// The tenant's account.
    pub account_id: String,
    /// Region to create the stack in.
    pub region: String,
    /// Suggested stack name.
    pub stack_name: String,
    /// Hosted template URL, when configured.
    pub template_url: Option<String>,
    /// API path serving the template.
    pub template_path: String,
    /// CloudFormation parameters and their values.
    pub parameters: Vec<OnboardingParameter>,
    /// Whether `parameters`, the link and the command carry the real external ID.
    pub external_id_included: bool,
    /// AWS console quick-create link (only with a hosted template).
    pub quick_create_url: Option<String>,
    /// The exact AWS CLI command (run next to the downloaded template).
    pub cli_command: String,
    /// What is wrong with this block and who must fix it (e.g. the server has no
    /// `BYOC_TRUSTED_PRINCIPAL_ARN`, so the parameters hold a placeholder). Empty when the
    /// block can be used as is.
    pub warnings: Vec<String>,
}

/// The warning of a server without `BYOC_TRUSTED_PRINCIPAL_ARN` (in every onboarding block,
/// and logged at startup).
pub const NO_TRUSTED_PRINCIPAL_WARNING: &str = "BYOC_TRUSTED_PRINCIPAL_ARN is not configured \
on this server: TrustedPrincipalArn holds a placeholder and the tenant's stack cannot be \
created until the operator sets it (the ARN of the platform's worker role or user) and restarts \
byoc";

/// The warning of a server on the simulated engine: the command is for a real account, which
/// this server never touches.
fn simulated_warning(endpoint: &str) -> String {
    format!(
        "SIMULATED ENGINE: this server deploys nothing and checks roles against the local AWS \
         endpoint {endpoint}, which accepts any role, so `verify` passes without this stack. Run \
         the command only against that endpoint (add --endpoint-url), never against a real account"
    )
}

/// Never prints the external ID, which the parameters may hold.
impl fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Onboarding")
            .field("role_arn", &self.role_arn)
            .field("region", &self.region)
            .field("external_id_included", &self.external_id_included)
            .finish_non_exhaustive()
    }
}

/// Builds the onboarding block. A missing trusted principal yields a visible placeholder, so
/// the block still explains what to do while the operator fixes the setting.
pub fn onboarding(tenant: &OnboardingTenant<'_>, settings: &OnboardingSettings<'_>) -> Onboarding {
    let role_arn = RoleArn::new(tenant.account, tenant.region, tenant.role_name);
    let (external_id, included) = match tenant.external_id {
        ExternalIdShown::Revealed(id) => (id.expose_secret().to_owned(), true),
        ExternalIdShown::Placeholder => (EXTERNAL_ID_PLACEHOLDER.to_owned(), false),
    };
    let principal = settings
        .trusted_principal_arn
        .unwrap_or("<BYOC_TRUSTED_PRINCIPAL_ARN not configured>");
    let parameters = vec![
        param("TrustedPrincipalArn", principal),
        param("ExternalId", &external_id),
        param("RoleName", tenant.role_name.as_str()),
    ];
    let quick_create_url = settings.template_url.map(|url| {
        let mut link = format!(
            "https://{}/cloudformation/home?region={}#/stacks/quickcreate?templateURL={}&stackName={}",
            console_host(tenant.region),
            encode(tenant.region.as_str()),
            encode(url),
            encode(STACK_NAME),
        );
        for p in &parameters {
            // A placeholder would fail the template's pattern; leave the field empty instead.
            if p.key == "ExternalId" && !included {
                continue;
            }
            link.push_str(&format!("&param_{}={}", p.key, encode(&p.value)));
        }
        link
    });
    let mut cli = format!(
        "aws cloudformation create-stack --stack-name {STACK_NAME} --template-body file://{TEMPLATE_FILE} \
         --capabilities CAPABILITY_NAMED_IAM --parameters"
    );
    for p in &parameters {
        cli.push(' ');
        cli.push_str(&shell_word(&format!(
            "ParameterKey={},ParameterValue={}",
            p.key,
            shorthand_value(&p.value)
        )));
    }
    cli.push_str(&format!(" --region {}", tenant.region));
    Onboarding {
        role_arn: role_arn.to_string(),
        role_name: tenant.role_name.to_string(),
        account_id: tenant.account.to_string(),
        region: tenant.region.to_string(),
        stack_name: STACK_NAME.to_owned(),
        template_url: settings.template_url.map(str::to_owned),
        template_path: TEMPLATE_API_PATH.to_owned(),
        parameters,
        external_id_included: included,
        quick_create_url,
        cli_command: cli,
        warnings: settings
            .simulated_endpoint
            .map(simulated_warning)
            .into_iter()
            .chain(
                settings
                    .trusted_principal_arn
                    .is_none()
                    .then(|| NO_TRUSTED_PRINCIPAL_WARNING.to_owned()),
            )
            .collect(),
    }
}

fn param(key: &str, value: &str) -> OnboardingParameter {
    OnboardingParameter {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn console_host(region: &AwsRegion) -> &'static str {
    match region.partition() {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// AWS CLI shorthand splits on `,`: such values are double-quoted.
fn shorthand_value(v: &str) -> String {
    if v.contains(',') {
        format!("\"{v}\"")
    } else {
        v.to_owned()
    }
}

/// Single-quotes a word for POSIX shells unless it only holds characters shells leave alone.
fn shell_word(w: &str) -> String {
    let plain = w
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:/@+=,%".contains(c));
    if plain {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
