//! Networking context: subnets with their route tables, NAT gateways per strategy, and the
//! VPC endpoints (interface endpoints take one private subnet per AZ).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::domain::config::{EnvironmentConfig, NatStrategy, SubnetSpec, VpcEndpoints};
use crate::program::RenderError;

fn subnet_json(tier: &str, i: usize, s: &SubnetSpec, rt: String) -> Value {
    json!({
        "id": format!("{tier}Subnet{i}"),
        "name": s.name,
        "cidr": s.cidr_block.to_string(),
        "az": s.az_index,
        "tags": s.tags,
        "rt": rt,
    })
}

/// Subnets with their route tables, NAT gateways, and the per-AZ private route tables.
pub(super) fn networking(
    cfg: &EnvironmentConfig,
) -> Result<(Value, Vec<Value>, Vec<Value>), RenderError> {
    let vpc = &cfg.vpc;
    let public_in = |az: u8| vpc.public_subnets.iter().position(|s| s.az_index == az);
    let mut nats = Vec::new();
    let mut nat_of_az = BTreeMap::new();
    match vpc.nat_gateway_strategy {
        NatStrategy::None => {}
        NatStrategy::Single => {
            if vpc.public_subnets.is_empty() {
                return Err(RenderError::NoPublicSubnetForNat { az_index: 0 });
            }
            nats.push(json!({"id": "natGateway0", "eip": "natEip0", "subnet": "publicSubnet0", "az": vpc.public_subnets[0].az_index}));
        }
        NatStrategy::OnePerAz => {
            for az in 0..cfg.availability_zones.count {
                if let Some(p) = public_in(az) {
                    nat_of_az.insert(az, format!("natGateway{az}"));
                    nats.push(
                        json!({"id": format!("natGateway{az}"), "eip": format!("natEip{az}"),
                        "subnet": format!("publicSubnet{p}"), "az": az}),
                    );
                }
            }
        }
    }
    let mut azs: Vec<u8> = vpc
        .private_subnets
        .iter()
        .chain(&vpc.pod_subnets)
        .map(|s| s.az_index)
        .collect();
    azs.sort_unstable();
    azs.dedup();
    let mut private_rts = Vec::new();
    for az in azs {
        let nat = match vpc.nat_gateway_strategy {
            NatStrategy::None => Value::Null,
            NatStrategy::Single => json!("natGateway0"),
            NatStrategy::OnePerAz => match nat_of_az.get(&az) {
                Some(n) => json!(n),
                None => {
                    return Err(RenderError::NoPublicSubnetForNat { az_index: az });
                }
            },
        };
        private_rts.push(json!({"id": format!("privateRouteTable{az}"), "az": az, "nat": nat}));
    }
    let private_rt = |s: &SubnetSpec| format!("privateRouteTable{}", s.az_index);
    let nets = json!({
        "public": vpc.public_subnets.iter().enumerate()
            .map(|(i, s)| subnet_json("public", i, s, "publicRouteTable".into())).collect::<Vec<_>>(),
        "private": vpc.private_subnets.iter().enumerate()
            .map(|(i, s)| subnet_json("private", i, s, private_rt(s))).collect::<Vec<_>>(),
        "pod": vpc.pod_subnets.iter().enumerate()
            .map(|(i, s)| subnet_json("pod", i, s, private_rt(s))).collect::<Vec<_>>(),
    });
    Ok((nets, nats, private_rts))
}

pub(super) fn gateway_endpoints(e: &VpcEndpoints) -> Vec<Value> {
    [("S3", "s3", e.s3), ("Dynamodb", "dynamodb", e.dynamodb)]
        .into_iter()
        .filter(|(_, _, on)| *on)
        .map(|(id, svc, _)| json!({"id": format!("endpoint{id}"), "service": svc}))
        .collect()
}

pub(super) fn interface_endpoints(e: &VpcEndpoints) -> Vec<Value> {
    [
        ("EcrApi", "ecr.api", e.ecr_api),
        ("EcrDkr", "ecr.dkr", e.ecr_dkr),
        ("Sts", "sts", e.sts),
        ("Logs", "logs", e.logs),
        ("Ec2", "ec2", e.ec2),
        ("Ssm", "ssm", e.ssm),
        ("Ssmmessages", "ssmmessages", e.ssmmessages),
        ("Ec2messages", "ec2messages", e.ec2messages),
        ("Elb", "elasticloadbalancing", e.elasticloadbalancing),
        ("Autoscaling", "autoscaling", e.autoscaling),
        ("Sqs", "sqs", e.sqs),
        ("Eks", "eks", e.eks),
        ("EksAuth", "eks-auth", e.eks_auth),
    ]
    .into_iter()
    .filter(|(_, _, on)| *on)
    .map(|(id, svc, _)| json!({"id": format!("endpoint{id}"), "service": svc}))
    .collect()
}

/// Interface endpoints take at most one subnet per AZ: the first private subnet of each.
pub(super) fn endpoint_subnets(cfg: &EnvironmentConfig) -> Vec<String> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, s) in cfg.vpc.private_subnets.iter().enumerate() {
        if !seen.contains(&s.az_index) {
            seen.push(s.az_index);
            out.push(format!("privateSubnet{i}"));
        }
    }
    out
}
