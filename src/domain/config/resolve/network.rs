//! Availability zones and the VPC: CIDRs, NAT, endpoints, DNS flags and subnets.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::checks::{check_tags, cidr_at, overlaps, ptr};
use super::explicit::resolve_subnets;
use crate::domain::config::request::{VpcConfigRequest, VpcEndpointsRequest};
use crate::domain::config::{
    AvailabilityZones, EnvironmentConfigRequest, NatStrategy, VpcConfig, VpcEndpoints,
};
use crate::domain::{AwsRegion, ValidationErrors};

/// Default primary VPC CIDR.
pub const DEFAULT_VPC_CIDR: &str = "10.0.0.0/16";
/// Default AZ count when neither names nor a count are given.
pub const DEFAULT_AZ_COUNT: u8 = 3;
/// Allowed AZ counts.
pub const AZ_COUNT_RANGE: std::ops::RangeInclusive<usize> = 2..=6;
/// AWS's default quota is 5 IPv4 CIDR blocks per VPC: the primary and 4 secondaries.
pub const MAX_SECONDARY_CIDRS: usize = 4;
/// Ranges AWS accepts for secondary blocks of an RFC 1918 / CGNAT VPC.
const SECONDARY_RANGES: [&str; 4] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
];

/// AZ names (checked against the region) or a count looked up at deploy time.
pub fn resolve_azs(
    request: &EnvironmentConfigRequest,
    region: &AwsRegion,
    errors: &mut ValidationErrors,
) -> AvailabilityZones {
    let count = request.availability_zone_count;
    if let Some(c) = count.filter(|c| !AZ_COUNT_RANGE.contains(&usize::from(*c))) {
        errors.push(
            "/availability_zone_count",
            format!("{c} AZs requested; use 2 to 6 (EKS needs at least 2)"),
        );
    }
    let Some(names) = &request.availability_zones else {
        let count = count.unwrap_or(DEFAULT_AZ_COUNT).clamp(2, 6);
        return AvailabilityZones {
            count,
            names: Vec::new(),
        };
    };
    if !AZ_COUNT_RANGE.contains(&names.len()) {
        errors.push(
            "/availability_zones",
            format!(
                "{} AZs listed; list 2 to 6 (EKS needs at least 2)",
                names.len()
            ),
        );
    }
    if let Some(c) = count.filter(|c| usize::from(*c) != names.len()) {
        errors.push(
            "/availability_zone_count",
            format!(
                "is {c} but availability_zones lists {} names; drop the count or make them agree",
                names.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let at = ptr("/availability_zones", i);
        let suffix = name.strip_prefix(region.as_str());
        let looks_right =
            suffix.is_some_and(|s| s.len() == 1 && s.bytes().all(|b| b.is_ascii_lowercase()));
        if !looks_right {
            errors.push(
                &at,
                format!("`{name}` is not an AZ of the tenant's region {region} (e.g. {region}a)"),
            );
        } else if !seen.insert(name.as_str()) {
            errors.push(&at, format!("`{name}` is listed twice"));
        }
    }
    let count = u8::try_from(names.len().clamp(2, 6)).unwrap_or(DEFAULT_AZ_COUNT);
    AvailabilityZones {
        count,
        names: names.clone(),
    }
}

/// Resolves the `vpc_config` section (and the flat `vpc_cidr`).
pub fn resolve_vpc(
    request: &EnvironmentConfigRequest,
    azs: &AvailabilityZones,
    tag_budget: usize,
    errors: &mut ValidationErrors,
) -> VpcConfig {
    let req = request.vpc_config.clone().unwrap_or_default();
    let (cidr_field, raw) = match (&req.cidr_block, &request.vpc_cidr) {
        (Some(c), _) => ("/vpc_config/cidr_block", c.as_str()),
        (None, Some(c)) => ("/vpc_cidr", c.as_str()),
        (None, None) => ("/vpc_config/cidr_block", DEFAULT_VPC_CIDR),
    };
    let primary = cidr_at(errors, cidr_field, raw).filter(|net| {
        let ok = (16..=24).contains(&net.prefix_len());
        if !ok {
            errors.push(
                cidr_field,
                format!("a VPC CIDR must be /16 to /24, not /{}", net.prefix_len()),
            );
        }
        ok
    });
    let secondaries = resolve_secondaries(&req, primary, errors);
    let tags = req.tags.clone().unwrap_or_default();
    check_tags(errors, "/vpc_config/tags", &tags, tag_budget);
    let fallback = Ipv4Net::new([10, 0, 0, 0].into(), 16).unwrap_or_default();
    let (public_subnets, private_subnets, pod_subnets) =
        resolve_subnets(&req, primary, &secondaries, azs, tag_budget, errors);
    VpcConfig {
        cidr_block: primary.unwrap_or(fallback),
        secondary_cidr_blocks: secondaries,
        nat_gateway_strategy: req.nat_gateway_strategy.unwrap_or(NatStrategy::Single),
        enable_dns_hostnames: req.enable_dns_hostnames.unwrap_or(true),
        enable_dns_support: req.enable_dns_support.unwrap_or(true),
        public_subnets,
        private_subnets,
        pod_subnets,
        endpoints: endpoints(req.vpc_endpoints.unwrap_or_default()),
        tags,
    }
}

fn resolve_secondaries(
    req: &VpcConfigRequest,
    primary: Option<Ipv4Net>,
    errors: &mut ValidationErrors,
) -> Vec<Ipv4Net> {
    let base = "/vpc_config/secondary_cidr_blocks";
    let raws = req.secondary_cidr_blocks.as_deref().unwrap_or_default();
    if raws.len() > MAX_SECONDARY_CIDRS {
        errors.push(
            base,
            format!(
                "{} secondary CIDRs; AWS allows {MAX_SECONDARY_CIDRS} by default (5 blocks per VPC)",
                raws.len()
            ),
        );
    }
    let allowed: Vec<Ipv4Net> = SECONDARY_RANGES
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    let mut accepted: Vec<Ipv4Net> = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let at = ptr(base, i);
        let Some(net) = cidr_at(errors, &at, raw) else {
            continue;
        };
        if !(16..=28).contains(&net.prefix_len()) {
            errors.push(
                &at,
                format!(
                    "a secondary CIDR must be /16 to /28, not /{}",
                    net.prefix_len()
                ),
            );
        } else if !allowed.iter().any(|r| r.contains(&net)) {
            errors.push(
                &at,
                format!(
                    "`{net}` is outside the ranges AWS allows for secondary blocks: {}",
                    SECONDARY_RANGES.join(", ")
                ),
            );
        } else if let Some(p) = primary.filter(|p| overlaps(p, &net)) {
            errors.push(&at, format!("`{net}` overlaps the primary VPC CIDR {p}"));
        } else if let Some(other) = accepted.iter().find(|o| overlaps(o, &net)) {
            errors.push(
                &at,
                format!("`{net}` overlaps the secondary CIDR {other} listed before it"),
            );
        } else {
            accepted.push(net);
        }
    }
    accepted
}

fn endpoints(r: VpcEndpointsRequest) -> VpcEndpoints {
    let off = |v: Option<bool>| v.unwrap_or(false);
    VpcEndpoints {
        s3: r.s3.unwrap_or(true),
        dynamodb: off(r.dynamodb),
        ecr_api: off(r.ecr_api),
        ecr_dkr: off(r.ecr_dkr),
        sts: off(r.sts),
        logs: off(r.logs),
        ec2: off(r.ec2),
        ssm: off(r.ssm),
        ssmmessages: off(r.ssmmessages),
        ec2messages: off(r.ec2messages),
        elasticloadbalancing: off(r.elasticloadbalancing),
        autoscaling: off(r.autoscaling),
        sqs: off(r.sqs),
        eks: off(r.eks),
        eks_auth: off(r.eks_auth),
    }
}
