//! Cluster endpoint access, authentication mode and access entries.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::checks::{cidr_at, dns_label, parse_arn, ptr};
use crate::domain::config::request::EndpointAccessRequest;
use crate::domain::config::{
    AccessEntry, AccessScope, AuthenticationMode, EksMode, EndpointAccess,
};
use crate::domain::{AwsRegion, ValidationErrors};

/// EKS access policies an access entry may associate.
pub const ACCESS_POLICIES: [&str; 5] = [
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
];
/// Resolves `eks_config.access` after every access rule.
pub fn access(
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
        (Some(list), _) => public_cidrs(list, errors),
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

/// EKS quota: CIDR blocks allowed for the public endpoint.
pub const MAX_PUBLIC_ACCESS_CIDRS: usize = 40;
/// Ranges that are not routable on the internet; EKS refuses them as public access CIDRs.
const NON_PUBLIC_RANGES: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
];

fn public_cidrs(list: &[String], errors: &mut ValidationErrors) -> Vec<Ipv4Net> {
    let base = "/eks_config/access/public_access_cidrs";
    if list.len() > MAX_PUBLIC_ACCESS_CIDRS {
        errors.push(
            base,
            format!("{} CIDRs; EKS allows {MAX_PUBLIC_ACCESS_CIDRS}", list.len()),
        );
    }
    let private: Vec<Ipv4Net> = NON_PUBLIC_RANGES
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    let mut out = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let at = ptr(base, i);
        let Some(net) = cidr_at(errors, &at, raw) else {
            continue;
        };
        if let Some(p) = private.iter().find(|p| p.contains(&net)) {
            errors.push(
                &at,
                format!(
                    "`{net}` is inside {p}, which is not reachable from the internet; the \
                     private endpoint already serves the VPC, so list public egress CIDRs here"
                ),
            );
        }
        out.push(net);
    }
    out
}
