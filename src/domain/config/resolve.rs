//! Validation rules and defaults: `EnvironmentConfigRequest` -> `EnvironmentConfig`.

use super::{EnvironmentConfig, EnvironmentConfigRequest};
use crate::domain::{AwsRegion, ValidationErrors};

/// Validates `request` and fills every default, or lists every invalid field.
pub fn resolve(
    _request: EnvironmentConfigRequest,
    _region: &AwsRegion,
) -> Result<EnvironmentConfig, ValidationErrors> {
    Err(ValidationErrors::single("/", "not implemented yet"))
}
