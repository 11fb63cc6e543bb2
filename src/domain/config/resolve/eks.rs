//! The EKS cluster: version, service CIDR, endpoint access, access entries, logging,
//! encryption and addons. Node groups live in `node_groups`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use ipnet::Ipv4Net;

use super::access::access;
use super::checks::{check_tags, cidr_at, overlaps, parse_arn, ptr};
use super::node_groups::resolve_node_groups;
use super::versions::{DEFAULT_EKS_VERSION, Support, check_version, extended_support_warning};
use crate::domain::config::request::{AddonRequest, AddonsRequest};
use crate::domain::config::{
    AddonConfig, Addons, ConfigWarning, EksConfig, EksMode, EncryptionConfig,
    EnvironmentConfigRequest, LoggingConfig, VpcConfig,
};
use crate::domain::{AwsRegion, ValidationErrors};

/// Default service CIDR.
pub const DEFAULT_SERVICE_CIDR: &str = "172.20.0.0/16";
/// Control-plane log types EKS knows.
pub const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
/// Log types enabled when logging is on and no types are given.
pub const DEFAULT_LOG_TYPES: [&str; 3] = ["api", "audit", "authenticator"];
const SERVICE_RANGES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// What [`resolve_eks`] judges the request against.
pub struct EksContext<'a> {
    /// Compute mode.
    pub mode: EksMode,
    /// The tenant's region.
    pub region: &'a AwsRegion,
    /// The resolved VPC (the service CIDR must not overlap it).
    pub vpc: &'a VpcConfig,
    /// Tags left per resource after byoc's and the top-level ones.
    pub tag_budget: usize,
    /// The day the version's support status is judged on.
    pub today: NaiveDate,
}

/// Resolves `eks_config` (and the flat `eks_version`, `eks_mode`, `node_group_config`).
pub fn resolve_eks(
    request: &EnvironmentConfigRequest,
    cx: &EksContext<'_>,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<ConfigWarning>,
) -> EksConfig {
    let EksContext {
        mode,
        region,
        vpc,
        tag_budget,
        today,
    } = *cx;
    let req = request.eks_config.clone().unwrap_or_default();
    let (version_field, version) = match (&req.version, &request.eks_version) {
        (Some(v), _) => ("/eks_config/version", v.clone()),
        (None, Some(v)) => ("/eks_version", v.clone()),
        (None, None) => ("/eks_config/version", DEFAULT_EKS_VERSION.to_owned()),
    };
    if let Some(Support::Extended(row)) =
        errors.check(version_field, check_version(&version, today))
    {
        warnings.push(ConfigWarning::new(
            version_field,
            extended_support_warning(&version, &row),
        ));
    }
    let service_ipv4_cidr = service_cidr(req.service_ipv4_cidr.as_deref(), vpc, errors);
    let access = access(req.access.clone().unwrap_or_default(), mode, region, errors);
    let logging = logging(req.logging_enabled, req.logging_types.clone(), errors);
    let encryption = encryption(
        req.encryption_enabled,
        req.encryption_kms_key_arn.clone(),
        region,
        errors,
    );
    let addons = addons(req.addons.clone().unwrap_or_default(), mode, errors);
    let node_groups = resolve_node_groups(request, mode, tag_budget, errors);
    let tags = req.tags.clone().unwrap_or_default();
    check_tags(errors, "/eks_config/tags", &tags, tag_budget);
    EksConfig {
        version,
        mode,
        service_ipv4_cidr,
        access,
        logging,
        encryption,
        zonal_shift_enabled: req.zonal_shift_enabled.unwrap_or(false),
        deletion_protection: req.deletion_protection.unwrap_or(false),
        addons,
        node_groups,
        tags,
    }
}

fn service_cidr(raw: Option<&str>, vpc: &VpcConfig, errors: &mut ValidationErrors) -> Ipv4Net {
    let field = "/eks_config/service_ipv4_cidr";
    let fallback: Ipv4Net = DEFAULT_SERVICE_CIDR.parse().unwrap_or_default();
    let Some(net) = cidr_at(errors, field, raw.unwrap_or(DEFAULT_SERVICE_CIDR)) else {
        return fallback;
    };
    if !(12..=24).contains(&net.prefix_len()) {
        errors.push(
            field,
            format!(
                "the service CIDR must be /12 to /24, not /{}",
                net.prefix_len()
            ),
        );
    }
    let private = SERVICE_RANGES
        .iter()
        .filter_map(|r| r.parse::<Ipv4Net>().ok())
        .any(|r| r.contains(&net));
    if !private {
        errors.push(
            field,
            format!("the service CIDR must lie in {}", SERVICE_RANGES.join(", ")),
        );
    }
    let vpc_nets = std::iter::once(&vpc.cidr_block).chain(&vpc.secondary_cidr_blocks);
    for v in vpc_nets.filter(|v| overlaps(v, &net)) {
        errors.push(
            field,
            format!("`{net}` overlaps the VPC CIDR {v}; pick a range the VPC does not use"),
        );
    }
    net
}

fn logging(
    enabled: Option<bool>,
    types: Option<Vec<String>>,
    errors: &mut ValidationErrors,
) -> LoggingConfig {
    let field = "/eks_config/logging_types";
    let types = match (enabled, types) {
        (Some(false), Some(t)) if !t.is_empty() => {
            errors.push(
                field,
                "has no effect with logging_enabled false; remove it or enable logging",
            );
            Vec::new()
        }
        (Some(true), Some(t)) if t.is_empty() => {
            errors.push(
                field,
                format!(
                    "list at least one of {}, or omit it for the defaults",
                    LOG_TYPES.join(", ")
                ),
            );
            Vec::new()
        }
        (_, Some(t)) => t,
        (Some(true), None) => DEFAULT_LOG_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        (_, None) => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for (i, t) in types.iter().enumerate() {
        if !LOG_TYPES.contains(&t.as_str()) {
            errors.push(
                ptr(field, i),
                format!("`{t}` is not a log type; use {}", LOG_TYPES.join(", ")),
            );
        } else if !seen.insert(t) {
            errors.push(ptr(field, i), format!("`{t}` is listed twice"));
        }
    }
    LoggingConfig { types }
}

fn encryption(
    enabled: Option<bool>,
    key: Option<String>,
    region: &AwsRegion,
    errors: &mut ValidationErrors,
) -> EncryptionConfig {
    let field = "/eks_config/encryption_kms_key_arn";
    let enabled = enabled.unwrap_or(true);
    if let Some(k) = &key {
        if !enabled {
            errors.push(
                field,
                "has no effect with encryption_enabled false; remove it or enable encryption",
            );
        }
        let ok = parse_arn(k).is_some_and(|a| {
            a.service == "kms"
                && a.partition == region.partition()
                && a.region == region.as_str()
                && a.resource.starts_with("key/")
                && a.resource.len() > 4
        });
        if !ok {
            errors.push(field, format!("`{k}` is not a KMS key ARN in {region} (arn:{}:kms:{region}:<account>:key/<id>)", region.partition()));
        }
    }
    EncryptionConfig {
        enabled,
        kms_key_arn: key,
    }
}

fn addons(req: AddonsRequest, mode: EksMode, errors: &mut ValidationErrors) -> Addons {
    let managed = mode == EksMode::Managed;
    let mut one = |name: &str, r: Option<AddonRequest>, default_on: bool, built_into_auto: bool| {
        let at = ptr("/eks_config/addons", name);
        let r = r.unwrap_or_default();
        if built_into_auto && !managed && r.enabled == Some(true) {
            errors.push(
                ptr(&at, "enabled"),
                format!("EKS Auto Mode brings {name} itself; remove it or use managed mode"),
            );
        }
        let enabled = r.enabled.unwrap_or(default_on) && (managed || !built_into_auto);
        let overrides = [
            ("version", r.version.is_some()),
            ("configuration", r.configuration.is_some()),
        ];
        for (field, _) in overrides.iter().filter(|(_, set)| !enabled && *set) {
            errors.push(
                ptr(&at, field),
                "has no effect on a disabled addon; remove it or enable the addon",
            );
        }
        if let Some(v) = &r.version {
            let ok =
                v.starts_with('v') && v.contains("-eksbuild.") && !v.contains(char::is_whitespace);
            if !ok {
                errors.push(
                    ptr(&at, "version"),
                    format!("`{v}` is not an EKS addon version like v1.19.0-eksbuild.1"),
                );
            }
        }
        if r.configuration.as_ref().is_some_and(|c| !c.is_object()) {
            errors.push(ptr(&at, "configuration"), "must be a JSON object");
        }
        AddonConfig {
            enabled,
            version: r.version,
            configuration: r.configuration,
        }
    };
    Addons {
        vpc_cni: one("vpc_cni", req.vpc_cni, true, true),
        coredns: one("coredns", req.coredns, true, true),
        kube_proxy: one("kube_proxy", req.kube_proxy, true, true),
        ebs_csi_driver: one("ebs_csi_driver", req.ebs_csi_driver, true, true),
        pod_identity_agent: one("pod_identity_agent", req.pod_identity_agent, true, true),
        efs_csi_driver: one("efs_csi_driver", req.efs_csi_driver, false, false),
        snapshot_controller: one("snapshot_controller", req.snapshot_controller, false, false),
    }
}
