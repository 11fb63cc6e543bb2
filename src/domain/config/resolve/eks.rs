//! The EKS cluster: version, service CIDR, endpoint access, access entries, logging,
//! encryption and addons. Node groups live in `node_groups`.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::checks::{check_tags, cidr_at, dns_label, overlaps, parse_arn, ptr};
use super::node_groups::resolve_node_groups;
use crate::domain::config::request::{AddonRequest, AddonsRequest, EndpointAccessRequest};
use crate::domain::config::{
    AccessEntry, AccessScope, AddonConfig, Addons, AuthenticationMode, EksConfig, EksMode,
    EncryptionConfig, EndpointAccess, EnvironmentConfigRequest, LoggingConfig, VpcConfig,
};
use crate::domain::{AwsRegion, ValidationErrors};

/// Oldest supported Kubernetes minor version (`1.NN`).
pub const MIN_EKS_MINOR: u32 = 29;
/// Newest supported Kubernetes minor version (`1.NN`).
pub const MAX_EKS_MINOR: u32 = 34;
/// Default Kubernetes version: a recent one in EKS standard support.
pub const DEFAULT_EKS_VERSION: &str = "1.33";
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
/// EKS access policies an access entry may associate.
pub const ACCESS_POLICIES: [&str; 5] = [
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
];
const SERVICE_RANGES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// Resolves `eks_config` (and the flat `eks_version`, `eks_mode`, `node_group_config`).
pub fn resolve_eks(
    request: &EnvironmentConfigRequest,
    mode: EksMode,
    region: &AwsRegion,
    vpc: &VpcConfig,
    tag_budget: usize,
    errors: &mut ValidationErrors,
) -> EksConfig {
    let req = request.eks_config.clone().unwrap_or_default();
    let (version_field, version) = match (&req.version, &request.eks_version) {
        (Some(v), _) => ("/eks_config/version", v.clone()),
        (None, Some(v)) => ("/eks_version", v.clone()),
        (None, None) => ("/eks_config/version", DEFAULT_EKS_VERSION.to_owned()),
    };
    errors.check(version_field, check_version(&version));
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

/// `1.NN` within the supported window.
pub fn check_version(v: &str) -> Result<(), String> {
    let minor = v.strip_prefix("1.").and_then(|m| {
        (!m.is_empty() && m.len() <= 2 && m.bytes().all(|b| b.is_ascii_digit()))
            .then(|| m.parse::<u32>().ok())
            .flatten()
    });
    match minor {
        Some(m) if (MIN_EKS_MINOR..=MAX_EKS_MINOR).contains(&m) => Ok(()),
        _ => Err(format!(
            "`{v}` is not a supported EKS version; use 1.{MIN_EKS_MINOR} to 1.{MAX_EKS_MINOR} (e.g. {DEFAULT_EKS_VERSION})"
        )),
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

fn access(
    req: EndpointAccessRequest,
    mode: EksMode,
    region: &AwsRegion,
    errors: &mut ValidationErrors,
) -> EndpointAccess {
    let base = "/eks_config/access";
    let private = req.endpoint_private_access.unwrap_or(true);
    let public = req.endpoint_public_access.unwrap_or(true);
    if !private && !public {
        errors.push(
            ptr(base, "endpoint_public_access"),
            "enable at least one of endpoint_private_access and endpoint_public_access",
        );
    }
    let public_access_cidrs = match (&req.public_access_cidrs, public) {
        (Some(list), false) if !list.is_empty() => {
            errors.push(ptr(base, "public_access_cidrs"), "has no effect with endpoint_public_access false; remove it or enable public access");
            Vec::new()
        }
        (Some(list), true) if list.is_empty() => {
            errors.push(
                ptr(base, "public_access_cidrs"),
                "list at least one CIDR, or omit it to allow 0.0.0.0/0",
            );
            Vec::new()
        }
        (Some(list), _) => list
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| cidr_at(errors, &ptr(&ptr(base, "public_access_cidrs"), i), raw))
            .collect(),
        (None, true) => vec![Ipv4Net::default()],
        (None, false) => Vec::new(),
    };
    let authentication_mode = req
        .authentication_mode
        .unwrap_or(AuthenticationMode::ApiAndConfigMap);
    if mode == EksMode::Auto && authentication_mode == AuthenticationMode::ConfigMap {
        errors.push(
            ptr(base, "authentication_mode"),
            "EKS Auto Mode needs access entries; use API or API_AND_CONFIG_MAP",
        );
    }
    let entries = req.access_entries.unwrap_or_default();
    if authentication_mode == AuthenticationMode::ConfigMap && !entries.is_empty() {
        errors.push(
            ptr(base, "access_entries"),
            "access entries need authentication_mode API or API_AND_CONFIG_MAP",
        );
    }
    let mut principals = BTreeSet::new();
    let mut access_entries = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = ptr(&ptr(base, "access_entries"), i);
        let arn_ok = parse_arn(&e.principal_arn).is_some_and(|a| {
            a.service == "iam"
                && a.partition == region.partition()
                && a.region.is_empty()
                && (a.resource.starts_with("role/") || a.resource.starts_with("user/"))
        });
        if !arn_ok {
            errors.push(
                ptr(&at, "principal_arn"),
                format!(
                    "`{}` is not an IAM role or user ARN (arn:{}:iam::<account>:role/<name>)",
                    e.principal_arn,
                    region.partition()
                ),
            );
        } else if !principals.insert(e.principal_arn.clone()) {
            errors.push(
                ptr(&at, "principal_arn"),
                "this principal already has an access entry; EKS allows one per principal",
            );
        }
        let policy = e.policy.unwrap_or_else(|| ACCESS_POLICIES[0].to_owned());
        if !ACCESS_POLICIES.contains(&policy.as_str()) {
            errors.push(
                ptr(&at, "policy"),
                format!(
                    "`{policy}` is not an EKS access policy; use one of {}",
                    ACCESS_POLICIES.join(", ")
                ),
            );
        }
        let access_scope = e.access_scope.unwrap_or(AccessScope::Cluster);
        let namespaces = e.namespaces.unwrap_or_default();
        match access_scope {
            AccessScope::Namespace if namespaces.is_empty() => {
                errors.push(
                    ptr(&at, "namespaces"),
                    "namespace scope needs at least one namespace",
                );
            }
            AccessScope::Cluster if !namespaces.is_empty() => {
                errors.push(
                    ptr(&at, "namespaces"),
                    "has no effect with cluster scope; remove it or use access_scope namespace",
                );
            }
            _ => {}
        }
        for (j, ns) in namespaces.iter().enumerate() {
            errors.check(&ptr(&ptr(&at, "namespaces"), j), dns_label(ns, 63));
        }
        access_entries.push(AccessEntry {
            principal_arn: e.principal_arn,
            policy,
            access_scope,
            namespaces,
        });
    }
    EndpointAccess {
        endpoint_private_access: private,
        endpoint_public_access: public,
        public_access_cidrs,
        authentication_mode,
        bootstrap_cluster_creator_admin_permissions: req
            .bootstrap_cluster_creator_admin_permissions
            .unwrap_or(true),
        access_entries,
    }
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
        if !enabled && (r.version.is_some() || r.configuration.is_some()) {
            errors.push(&at, "version/configuration have no effect on a disabled addon; remove them or enable it");
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
