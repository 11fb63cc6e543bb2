//! Validation rules and defaults: `EnvironmentConfigRequest` -> `EnvironmentConfig`.
//!
//! Every rule runs and every failure is collected, each with a JSON pointer into the *request*
//! (so the flat spec fields and their nested counterparts are reported where the user wrote
//! them) and a message that says how to fix it; choices that are valid but unwise become
//! warnings on the resolved config. Resolution is pure and deterministic: the day support
//! windows are judged on is an argument.

mod access;
mod catalog;
pub(crate) mod checks;
mod compat;
mod components;
mod cross;
mod eks;
mod explicit;
mod network;
mod node_groups;
mod subnets;
mod versions;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;

use super::{EksMode, EnvironmentConfig, EnvironmentConfigRequest, reserved};
use crate::domain::{AwsRegion, ValidationErrors};
use catalog::catalog;
pub use catalog::release;
pub use versions::{CALENDAR, DEFAULT_EKS_VERSION, EksVersion};

/// Validates `request` and fills every default, or lists every invalid field. `today` (UTC)
/// decides which Kubernetes versions are still offered and which are in extended support.
pub fn resolve(
    request: EnvironmentConfigRequest,
    region: &AwsRegion,
    today: NaiveDate,
) -> Result<EnvironmentConfig, ValidationErrors> {
    let catalog = catalog().map_err(|e| {
        ValidationErrors::single(
            "/components",
            format!("byoc's component catalog is broken: {e}"),
        )
    })?;
    let mut errors = ValidationErrors::new();
    let mut warnings = Vec::new();
    conflicts(&request, &mut errors);
    builtin_keys(&request, &mut errors);

    let tags = request.tags.clone().unwrap_or_default();
    let byoc_tags = checks::RESERVED_TAG_KEYS.len();
    checks::check_tags(
        &mut errors,
        "/tags",
        &tags,
        checks::MAX_TAGS_PER_RESOURCE - byoc_tags,
    );
    // Resource-level tags share the 50-tag budget with byoc's and the top-level tags.
    let tag_budget = checks::MAX_TAGS_PER_RESOURCE
        .saturating_sub(byoc_tags)
        .saturating_sub(tags.len());

    let mode = request
        .eks_config
        .as_ref()
        .and_then(|e| e.mode)
        .or(request.eks_mode)
        .unwrap_or(EksMode::Managed);
    let availability_zones = network::resolve_azs(&request, region, &mut errors);
    let vpc = network::resolve_vpc(&request, &availability_zones, tag_budget, &mut errors);
    let eks_context = eks::EksContext {
        mode,
        region,
        vpc: &vpc,
        tag_budget,
        today,
    };
    let eks = eks::resolve_eks(&request, &eks_context, &mut errors, &mut warnings);
    // Chart versions are judged only against a Kubernetes version byoc offers.
    let kube = versions::check_version(&eks.version, today)
        .ok()
        .and(catalog::kube_minor(&eks.version))
        .map(|minor| compat::Kube {
            version: &eks.version,
            minor,
        });
    let components = components::resolve_components(
        request.components.clone().unwrap_or_default(),
        mode,
        kube,
        catalog,
        &mut errors,
        &mut warnings,
    );
    let approval = request
        .approval
        .clone()
        .unwrap_or_default()
        .resolve(&mut errors);
    let drift_check = request.drift_check.clone();
    if let Some(d) = &drift_check {
        d.check(&mut errors);
    }
    let config = EnvironmentConfig {
        availability_zones,
        vpc,
        eks,
        components,
        tags,
        approval,
        drift_check,
        warnings,
    };
    cross::check(&config, &mut errors);
    errors.into_result(config)
}

/// No user-supplied key may be one Pulumi YAML reads as a builtin (see `reserved`). The request
/// serializes with the keys the user wrote, so the pointers name the request's fields.
fn builtin_keys(request: &EnvironmentConfigRequest, errors: &mut ValidationErrors) {
    let Ok(value) = serde_json::to_value(request) else {
        return; // a request always serializes: it was deserialized from JSON
    };
    for pointer in reserved::builtin_key_pointers(&value, "") {
        let message = reserved::builtin_key_message(&pointer);
        errors.push(pointer, message);
    }
}

/// The spec's flat fields and their nested counterparts must not both be set.
fn conflicts(request: &EnvironmentConfigRequest, errors: &mut ValidationErrors) {
    let vpc = request.vpc_config.as_ref();
    let eks = request.eks_config.as_ref();
    let pairs = [
        (
            request.vpc_cidr.is_some() && vpc.is_some_and(|v| v.cidr_block.is_some()),
            "/vpc_cidr",
            "/vpc_config/cidr_block",
        ),
        (
            request.eks_version.is_some() && eks.is_some_and(|e| e.version.is_some()),
            "/eks_version",
            "/eks_config/version",
        ),
        (
            request.eks_mode.is_some() && eks.is_some_and(|e| e.mode.is_some()),
            "/eks_mode",
            "/eks_config/mode",
        ),
        (
            request.node_group_config.is_some() && eks.is_some_and(|e| e.node_groups.is_some()),
            "/node_group_config",
            "/eks_config/node_groups",
        ),
    ];
    for (both, flat, nested) in pairs {
        if both {
            errors.push(
                flat,
                format!(
                    "`{flat}` and `{nested}` set the same thing; keep only one of them \
                     (the nested form is preferred)"
                ),
            );
        }
    }
}
