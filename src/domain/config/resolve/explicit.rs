//! Subnets: the default layout, or explicit lists checked against the VPC CIDRs, the AZs and
//! each other.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use super::checks::{check_tags, cidr_at, dns_label, overlaps, ptr};
use super::subnets::{MIN_SUBNET_PREFIX, layout, split_per_az};
use crate::domain::ValidationErrors;
use crate::domain::config::request::{SubnetRequest, VpcConfigRequest};
use crate::domain::config::{AvailabilityZones, NatStrategy, SubnetSpec, SubnetTier};

/// A subnet and where it came from in the request (`None` for laid-out ones).
struct Placed {
    spec: SubnetSpec,
    field: Option<String>,
}

fn tier_name(tier: SubnetTier) -> &'static str {
    match tier {
        SubnetTier::Public => "public",
        SubnetTier::Private => "private",
        SubnetTier::Pod => "pod",
    }
}

fn laid_out(tier: SubnetTier, nets: Vec<Ipv4Net>) -> Vec<Placed> {
    nets.into_iter()
        .zip(0u8..)
        .map(|(cidr_block, az_index)| Placed {
            spec: SubnetSpec {
                name: format!("{}-{az_index}", tier_name(tier)),
                cidr_block,
                az_index,
                tags: BTreeMap::new(),
            },
            field: None,
        })
        .collect()
}

/// Public, private and pod subnets, laid out or explicit, after every subnet rule.
pub fn resolve_subnets(
    req: &VpcConfigRequest,
    primary: Option<Ipv4Net>,
    secondaries: &[Ipv4Net],
    azs: &AvailabilityZones,
    tag_budget: usize,
    errors: &mut ValidationErrors,
) -> (Vec<SubnetSpec>, Vec<SubnetSpec>, Vec<SubnetSpec>) {
    let ctx = Ctx {
        primary,
        secondaries,
        azs,
        tag_budget,
    };
    let (public, private) = match (&req.public_subnets, &req.private_subnets) {
        (None, None) => match primary.and_then(|p| layout(p, azs.count)) {
            Some((public, private)) => (
                laid_out(SubnetTier::Public, public),
                laid_out(SubnetTier::Private, private),
            ),
            None => (Vec::new(), Vec::new()),
        },
        (public, private) => {
            for (given, missing) in [
                (public.is_some(), "public_subnets"),
                (private.is_some(), "private_subnets"),
            ] {
                if !given {
                    errors.push(
                        ptr("/vpc_config", missing),
                        "give public_subnets and private_subnets together (byoc lays out both \
                         or neither)",
                    );
                }
            }
            let public = ctx.explicit(SubnetTier::Public, public.as_deref(), errors);
            let private = ctx.explicit(SubnetTier::Private, private.as_deref(), errors);
            (public, private)
        }
    };
    let pod = match (&req.pod_subnets, secondaries.first()) {
        (Some(list), _) => ctx.explicit(SubnetTier::Pod, Some(list), errors),
        (None, None) => Vec::new(),
        (None, Some(first)) => match split_per_az(*first, azs.count) {
            Some(nets) => laid_out(SubnetTier::Pod, nets),
            None => {
                errors.push(
                    "/vpc_config/secondary_cidr_blocks/0",
                    format!(
                        "`{first}` is too small for one pod subnet (≥ /{MIN_SUBNET_PREFIX}) per AZ \
                         across {} AZs; use a larger block or list pod_subnets explicitly",
                        azs.count
                    ),
                );
                Vec::new()
            }
        },
    };
    if req.private_subnets.as_ref().is_some_and(Vec::is_empty) {
        errors.push(
            "/vpc_config/private_subnets",
            "list at least one private subnet: nodes run there",
        );
    }
    coverage(
        &public,
        &private,
        req.nat_gateway_strategy.unwrap_or(NatStrategy::Single),
        errors,
    );
    disjoint_and_unique(public.iter().chain(&private).chain(&pod), errors);
    let specs = |v: Vec<Placed>| v.into_iter().map(|p| p.spec).collect();
    (specs(public), specs(private), specs(pod))
}

struct Ctx<'a> {
    primary: Option<Ipv4Net>,
    secondaries: &'a [Ipv4Net],
    azs: &'a AvailabilityZones,
    tag_budget: usize,
}

impl Ctx<'_> {
    fn explicit(
        &self,
        tier: SubnetTier,
        list: Option<&[SubnetRequest]>,
        errors: &mut ValidationErrors,
    ) -> Vec<Placed> {
        let base = format!("/vpc_config/{}_subnets", tier_name(tier));
        let mut out = Vec::new();
        for (i, s) in list.unwrap_or_default().iter().enumerate() {
            let at = ptr(&base, i);
            let cidr = cidr_at(errors, &ptr(&at, "cidr_block"), &s.cidr_block);
            if let Some(net) = cidr {
                self.check_cidr(net, &ptr(&at, "cidr_block"), errors);
            }
            let az_index = self.az_index(s, &at, errors);
            let name = s
                .name
                .clone()
                .unwrap_or_else(|| format!("{}-{i}", tier_name(tier)));
            if s.name.is_some() {
                errors.check(&ptr(&at, "name"), dns_label(&name, 63));
            }
            let tags = s.tags.clone().unwrap_or_default();
            check_tags(errors, &ptr(&at, "tags"), &tags, self.tag_budget);
            if let (Some(cidr_block), Some(az_index)) = (cidr, az_index) {
                out.push(Placed {
                    spec: SubnetSpec {
                        name,
                        cidr_block,
                        az_index,
                        tags,
                    },
                    field: Some(at),
                });
            }
        }
        out
    }

    fn check_cidr(&self, net: Ipv4Net, at: &str, errors: &mut ValidationErrors) {
        if !(16..=MIN_SUBNET_PREFIX).contains(&net.prefix_len()) {
            errors.push(
                at,
                format!("a subnet must be /16 to /28, not /{}", net.prefix_len()),
            );
        }
        let inside = self
            .primary
            .iter()
            .chain(self.secondaries)
            .any(|v| v.contains(&net));
        if !inside && self.primary.is_some() {
            errors.push(
                at,
                format!("`{net}` is not inside the VPC CIDR or any secondary CIDR; add a secondary CIDR that contains it"),
            );
        }
    }

    fn az_index(&self, s: &SubnetRequest, at: &str, errors: &mut ValidationErrors) -> Option<u8> {
        match (&s.availability_zone, s.az_index) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push(
                    at,
                    "give exactly one of availability_zone (name) or az_index",
                );
                None
            }
            (None, Some(i)) if i < self.azs.count => Some(i),
            (None, Some(i)) => {
                errors.push(
                    ptr(at, "az_index"),
                    format!(
                        "AZ index {i} is out of range: the environment has {} AZs (0–{})",
                        self.azs.count,
                        self.azs.count - 1
                    ),
                );
                None
            }
            (Some(name), None) => {
                let found = self.azs.names.iter().position(|n| n == name);
                let found = found.and_then(|p| u8::try_from(p).ok());
                if found.is_none() {
                    let msg = if self.azs.names.is_empty() {
                        format!(
                            "`{name}` cannot be matched: AZ names are only known when availability_zones lists them; use az_index instead"
                        )
                    } else {
                        format!(
                            "`{name}` is not one of the environment's AZs ({})",
                            self.azs.names.join(", ")
                        )
                    };
                    errors.push(ptr(at, "availability_zone"), msg);
                }
                found
            }
        }
    }
}

/// NAT gateways live in public subnets, so every private AZ needs one; EKS needs 2 AZs.
fn coverage(
    public: &[Placed],
    private: &[Placed],
    nat: NatStrategy,
    errors: &mut ValidationErrors,
) {
    let private_azs: std::collections::BTreeSet<u8> =
        private.iter().map(|p| p.spec.az_index).collect();
    if !private.is_empty() && private_azs.len() < 2 {
        errors.push(
            "/vpc_config/private_subnets",
            "private subnets must span at least 2 AZs (EKS requires it)",
        );
    }
    if nat == NatStrategy::None {
        return;
    }
    for p in private {
        if !public.iter().any(|q| q.spec.az_index == p.spec.az_index) {
            let field = p
                .field
                .clone()
                .unwrap_or_else(|| "/vpc_config/public_subnets".into());
            errors.push(
                field,
                format!(
                    "AZ {} has a private subnet but no public subnet, so NAT ({}) cannot serve it; add a public subnet in that AZ",
                    p.spec.az_index,
                    if nat == NatStrategy::Single { "single" } else { "one_per_az" }
                ),
            );
        }
    }
}

fn disjoint_and_unique<'a>(all: impl Iterator<Item = &'a Placed>, errors: &mut ValidationErrors) {
    let all: Vec<&Placed> = all.collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[..i] {
            let field = a
                .field
                .clone()
                .or_else(|| b.field.clone())
                .unwrap_or_else(|| "/vpc_config".into());
            if overlaps(&a.spec.cidr_block, &b.spec.cidr_block) {
                errors.push(
                    ptr(&field, "cidr_block"),
                    format!(
                        "`{}` overlaps subnet `{}` ({})",
                        a.spec.cidr_block, b.spec.name, b.spec.cidr_block
                    ),
                );
            }
            if a.spec.name == b.spec.name {
                errors.push(
                    ptr(&field, "name"),
                    format!("subnet name `{}` is used twice", a.spec.name),
                );
            }
        }
    }
}
