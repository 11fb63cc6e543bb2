//! Renders a resolved environment config into one Pulumi YAML program, and validates
//! programs against the provider schema. Pure: no I/O beyond embedded templates, and no
//! secret ever reaches the program text (the external ID is secret stack config).
//!
//! Stack config the executor must set on every stack: `externalId` (secret) and optionally
//! `sessionName` (defaults to a `byoc-…` name derived from the stack).

mod context;
mod emit;
mod escape;
mod names;
mod render;
mod validate;

use crate::domain::config::EnvironmentConfig;
use crate::domain::{AwsAccountId, AwsRegion, EnvName, RoleArn, Slug, StackName};

pub use render::{render, render_checked};
pub use validate::{ProgramProblem, ProgramProblems, TEMPLATE_BUILTINS, check, validate};

/// The Pulumi project name used when the caller does not choose one.
pub const DEFAULT_PROJECT: &str = "byoc-platform";

/// The AWS shared-config profile the workspace writes (tenant role + external ID); the
/// kubeconfig's `aws eks get-token` uses it so tokens refresh during long runs.
pub const TENANT_AWS_PROFILE: &str = "byoc-tenant";

/// The `aws` provider plugin version programs pin (`options.version`): the version the
/// vendored schema was extracted from, so what is validated is what runs. Workers must have
/// this plugin installed (`pulumi plugin install resource aws 7.48.0`).
pub const AWS_PLUGIN_VERSION: &str = "7.48.0";

/// The `kubernetes` provider plugin version programs pin (see [`AWS_PLUGIN_VERSION`]).
pub const KUBERNETES_PLUGIN_VERSION: &str = "4.34.2";

/// Stack config key holding the tenant external ID (set as a secret by the executor).
pub const CONFIG_EXTERNAL_ID: &str = "externalId";

/// Stack config key holding the STS session name (plain; has a default in the program).
pub const CONFIG_SESSION_NAME: &str = "sessionName";

/// Everything rendering needs: who the tenant is, where, and what to deploy.
#[derive(Debug, Clone)]
pub struct RenderInput<'a> {
    /// Pulumi stack name (`<slug>-<env>`).
    pub stack: &'a StackName,
    /// Tenant slug.
    pub slug: &'a Slug,
    /// Environment name.
    pub env: &'a EnvName,
    /// The tenant's AWS account.
    pub account_id: &'a AwsAccountId,
    /// The region the environment lives in.
    pub region: &'a AwsRegion,
    /// The tenant role the AWS provider assumes (with the external ID from stack config).
    pub tenant_role_arn: &'a RoleArn,
    /// Pulumi project name (usually [`DEFAULT_PROJECT`]).
    pub project: &'a str,
    /// The resolved environment configuration.
    pub config: &'a EnvironmentConfig,
}

/// A rendered Pulumi YAML program (`Pulumi.yaml` content: project + program).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    yaml: String,
}

impl Program {
    /// Wraps program text (e.g. one read back from a file, to validate it).
    pub fn from_yaml(yaml: impl Into<String>) -> Self {
        Self { yaml: yaml.into() }
    }

    /// The program text, deterministic for a given input.
    pub fn yaml(&self) -> &str {
        &self.yaml
    }

    fn from_document(doc: &serde_json::Value) -> Self {
        Self {
            yaml: emit::to_yaml(doc),
        }
    }
}

/// Why [`render_checked`] produced no program.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The program could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The rendered program failed validation against the provider schema.
    #[error(transparent)]
    Invalid(#[from] ProgramProblems),
}

/// Why a program could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed to render (a bug in `infra-yaml/`, or a value it cannot handle).
    #[error("template {template} failed to render")]
    Template {
        /// Template file name.
        template: &'static str,
        /// The template engine's error.
        #[source]
        source: minijinja::Error,
    },
    /// A rendered template is not valid YAML of the expected shape.
    #[error("template {template} produced invalid YAML")]
    Yaml {
        /// Template file name.
        template: &'static str,
        /// The YAML parser's error.
        #[source]
        source: yaml_serde::Error,
    },
    /// Two templates declare the same resource, variable, output or config key.
    #[error("duplicate {section} entry `{name}` (from template {template})")]
    Duplicate {
        /// Top-level section (`resources`, `variables`, …).
        section: String,
        /// The duplicated logical name.
        name: String,
        /// Template that declared it second.
        template: &'static str,
    },
    /// A template has a top-level key other than `config`, `variables`, `resources`, `outputs`.
    #[error("template {template} has unexpected top-level key `{section}`")]
    UnexpectedSection {
        /// Template file name.
        template: &'static str,
        /// The key.
        section: String,
    },
    /// A NAT gateway is wanted where there is no public subnet to host it (the config
    /// should have been refused by validation).
    #[error("NAT gateways need a public subnet (in AZ index {az_index})")]
    NoPublicSubnetForNat {
        /// The AZ lacking a public subnet.
        az_index: u8,
    },
    /// Auto Mode and access entries need authentication mode `API` or `API_AND_CONFIG_MAP`.
    #[error("Auto Mode and access entries need authentication mode API or API_AND_CONFIG_MAP")]
    ConfigMapAuthentication,
    /// A user-supplied key is one Pulumi YAML reads as a builtin call (`fn::…`); the config
    /// should have been refused when it was saved.
    #[error("{path}: keys starting with `fn::` are Pulumi YAML builtins and cannot be data")]
    BuiltinKey {
        /// JSON pointer into the resolved config.
        path: String,
    },
    /// A component's Helm values are not a JSON object.
    #[error("components.{component}.values must be an object")]
    ValuesNotAnObject {
        /// Component key.
        component: &'static str,
    },
    /// An IAM policy embedded in `infra-yaml/policies/` does not parse (a build defect).
    #[error("embedded IAM policy {name} is invalid")]
    EmbeddedPolicy {
        /// File name.
        name: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}
