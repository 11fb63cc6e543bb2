//! The environment config request body: partial, every field optional, defaults filled by
//! `resolve`. Accepts the original spec's flat fields (`eks_mode`, `node_group_config`, …)
//! as well as the rich nested sections.

use serde::Deserialize;
use utoipa::ToSchema;

/// PLACEHOLDER: replaced by the full request schema.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EnvironmentConfigRequest {}

/// PLACEHOLDER: decodes a request body, naming the offending field.
pub fn parse_request(
    value: serde_json::Value,
) -> Result<EnvironmentConfigRequest, crate::domain::ValidationErrors> {
    serde_json::from_value(value)
        .map_err(|e| crate::domain::ValidationErrors::single("/", e.to_string()))
}
