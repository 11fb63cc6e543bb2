//! Rules that span sections: what the deploy worker and the nodes must be able to reach.

use crate::domain::ValidationErrors;
use crate::domain::config::{EnvironmentConfig, NatStrategy};

/// Checks the resolved config as a whole; fields point into the request.
pub fn check(config: &EnvironmentConfig, errors: &mut ValidationErrors) {
    let access = &config.eks.access;
    let c = &config.components;
    let enabled: Vec<&str> = [
        ("karpenter", c.karpenter.enabled),
        ("argocd", c.argocd.component.enabled),
        ("cert_manager", c.cert_manager.enabled),
        ("external_secrets", c.external_secrets.enabled),
        ("ingress", c.ingress.component.enabled),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    if access.endpoint_private_access && !access.endpoint_public_access && !enabled.is_empty() {
        errors.push(
            "/eks_config/access/endpoint_public_access",
            format!(
                "a private-only cluster endpoint cannot be reached by the deploy worker, which \
                 installs the bootstrap components ({}) through the cluster API; enable public \
                 access restricted to the worker's egress CIDRs (public_access_cidrs), or \
                 disable every component",
                enabled.join(", ")
            ),
        );
    }
    let vpc = &config.vpc;
    if vpc.nat_gateway_strategy == NatStrategy::None {
        let e = &vpc.endpoints;
        let missing: Vec<&str> = [
            ("ecr_api", e.ecr_api),
            ("ecr_dkr", e.ecr_dkr),
            ("sts", e.sts),
            ("s3", e.s3),
        ]
        .into_iter()
        .filter_map(|(name, on)| (!on).then_some(name))
        .collect();
        if !missing.is_empty() {
            errors.push(
                "/vpc_config/vpc_endpoints",
                format!(
                    "without NAT, nodes can pull images and get credentials only through VPC \
                     endpoints; enable {} (or choose a NAT strategy)",
                    missing.join(", ")
                ),
            );
        }
        if !access.endpoint_private_access {
            errors.push(
                "/eks_config/access/endpoint_private_access",
                "without NAT, nodes reach the cluster API only through the private endpoint; \
                 enable it (or choose a NAT strategy)",
            );
        }
    }
    if access.endpoint_private_access {
        for (name, on) in [
            ("enable_dns_hostnames", vpc.enable_dns_hostnames),
            ("enable_dns_support", vpc.enable_dns_support),
        ] {
            if !on {
                errors.push(
                    format!("/vpc_config/{name}"),
                    "the private cluster endpoint needs VPC DNS support and hostnames; leave it on",
                );
            }
        }
    }
}
