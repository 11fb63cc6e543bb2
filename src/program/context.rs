//! Turns a [`RenderInput`] into the template context: every decision (which NAT a route
//! table uses, which subnets host endpoints, logical names) is made here in Rust, so the
//! templates only loop and quote. Logical names are built from fixed words and indexes,
//! never from config strings.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::names::{IAM_PATH, cluster_name, iam_prefix};
use super::{RenderError, RenderInput, TENANT_AWS_PROFILE};
use crate::domain::config::{
    AccessScope, AddonConfig, AuthenticationMode, EksMode, EnvironmentConfig, NatStrategy,
    SubnetSpec, VpcEndpoints,
};

mod components;

/// Builds the context every template renders with.
pub fn build(input: &RenderInput<'_>) -> Result<Value, RenderError> {
    let cfg = input.config;
    let cluster = cluster_name(input.stack);
    let prefix = iam_prefix(input.stack);
    let managed = cfg.eks.mode == EksMode::Managed;

    let mut tags = BTreeMap::new();
    tags.extend(cfg.tags.clone());
    // byoc's own tags win over config tags of the same key.
    tags.insert("ManagedBy".to_owned(), "byoc".to_owned());
    tags.insert("Tenant".to_owned(), input.slug.to_string());
    tags.insert("Environment".to_owned(), input.env.to_string());
    tags.insert("Stack".to_owned(), input.stack.to_string());

    let (nets, nats, private_rts) = networking(cfg)?;
    let eks = eks(cfg, managed)?;
    let components = components::build(input, cfg, managed)?;

    Ok(json!({
        "project": input.project,
        "stack": input.stack.as_str(),
        "slug": input.slug.as_str(),
        "env": input.env.as_str(),
        "account": input.account_id.as_str(),
        "region": input.region.as_str(),
        "partition": input.region.partition(),
        "role_arn": input.tenant_role_arn.as_str(),
        "session_name": prefix,
        "aws_profile": TENANT_AWS_PROFILE,
        "cluster_name": cluster,
        "iam_prefix": prefix,
        "iam_path": IAM_PATH,
        "managed": managed,
        "tags": tags,
        "az_names": cfg.availability_zones.names,
        "vpc": {
            "cidr": cfg.vpc.cidr_block.to_string(),
            "dns_hostnames": cfg.vpc.enable_dns_hostnames,
            "dns_support": cfg.vpc.enable_dns_support,
            "tags": cfg.vpc.tags,
            "secondary": cfg.vpc.secondary_cidr_blocks.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "all_cidrs": std::iter::once(&cfg.vpc.cidr_block).chain(&cfg.vpc.secondary_cidr_blocks)
                .map(ToString::to_string).collect::<Vec<_>>(),
        },
        "subnets": nets,
        "nats": nats,
        "private_rts": private_rts,
        "gateway_endpoints": gateway_endpoints(&cfg.vpc.endpoints),
        "interface_endpoints": interface_endpoints(&cfg.vpc.endpoints),
        "endpoint_subnets": endpoint_subnets(cfg),
        "eks": eks,
        "addons": addons(cfg, managed),
        "access_entries": access_entries(cfg)?,
        "components": components,
        "pod_identity_after": if managed && cfg.eks.addons.pod_identity_agent.enabled {
            vec!["addonPodIdentityAgent"]
        } else {
            Vec::new()
        },
        "cluster_policies": if managed {
            &["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"][..]
        } else {
            &[
                "AmazonEKSClusterPolicy",
                "AmazonEKSComputePolicy",
                "AmazonEKSBlockStoragePolicy",
                "AmazonEKSLoadBalancingPolicy",
                "AmazonEKSNetworkingPolicy",
            ][..]
        },
        "node_policies": if managed {
            &[
                "AmazonEKSWorkerNodePolicy",
                "AmazonEKS_CNI_Policy",
                "AmazonEC2ContainerRegistryReadOnly",
                "AmazonSSMManagedInstanceCore",
            ][..]
        } else {
            &["AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly"][..]
        },
        "lbc_policy": lbc_policy(input.region.partition())?,
    }))
}

/// The AWS Load Balancer Controller's IAM policy (the upstream reference, condensed).
fn lbc_policy(partition: &str) -> Result<Value, RenderError> {
    let text = include_str!("../../infra-yaml/policies/aws-load-balancer-controller.json")
        .replace("arn:PARTITION:", &format!("arn:{partition}:"));
    serde_json::from_str(&text)
        .map_err(|e| RenderError::Unsupported(format!("embedded LBC policy is invalid: {e}")))
}

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
fn networking(cfg: &EnvironmentConfig) -> Result<(Value, Vec<Value>, Vec<Value>), RenderError> {
    let vpc = &cfg.vpc;
    let public_in = |az: u8| vpc.public_subnets.iter().position(|s| s.az_index == az);
    let mut nats = Vec::new();
    let mut nat_of_az = BTreeMap::new();
    match vpc.nat_gateway_strategy {
        NatStrategy::None => {}
        NatStrategy::Single => {
            if vpc.public_subnets.is_empty() {
                return Err(RenderError::Unsupported(
                    "a NAT gateway needs a public subnet".into(),
                ));
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
                    return Err(RenderError::Unsupported(format!(
                        "one_per_az NAT needs a public subnet in AZ index {az}"
                    )));
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

fn gateway_endpoints(e: &VpcEndpoints) -> Vec<Value> {
    [("S3", "s3", e.s3), ("Dynamodb", "dynamodb", e.dynamodb)]
        .into_iter()
        .filter(|(_, _, on)| *on)
        .map(|(id, svc, _)| json!({"id": format!("endpoint{id}"), "service": svc}))
        .collect()
}

fn interface_endpoints(e: &VpcEndpoints) -> Vec<Value> {
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
fn endpoint_subnets(cfg: &EnvironmentConfig) -> Vec<String> {
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

fn eks(cfg: &EnvironmentConfig, managed: bool) -> Result<Value, RenderError> {
    let e = &cfg.eks;
    let auth = match e.access.authentication_mode {
        AuthenticationMode::Api => "API",
        AuthenticationMode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
        AuthenticationMode::ConfigMap => "CONFIG_MAP",
    };
    if auth == "CONFIG_MAP" && (!managed || !e.access.access_entries.is_empty()) {
        return Err(RenderError::Unsupported(
            "access entries and Auto Mode need authentication mode API or API_AND_CONFIG_MAP"
                .into(),
        ));
    }
    let a = &e.addons;
    // With all three networking addons managed by EKS we skip the self-managed copies.
    let self_managed = managed && !(a.vpc_cni.enabled && a.coredns.enabled && a.kube_proxy.enabled);
    let node_groups: Vec<Value> = if managed {
        e.node_groups
            .iter()
            .enumerate()
            .map(|(i, ng)| {
                json!({
                    "id": format!("nodeGroup{i}"),
                    "lt": format!("launchTemplate{i}"),
                    "name": ng.name,
                    "instance_types": ng.instance_types,
                    "capacity_type": ng.capacity_type,
                    "ami_type": ng.ami_type,
                    "device": ng.ami_type.data_volume_device(),
                    "disk_size": ng.disk_size,
                    "scaling": ng.scaling,
                    "labels": ng.labels,
                    "taints": ng.taints,
                    "tags": ng.tags,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(json!({
        "version": e.version,
        "service_cidr": e.service_ipv4_cidr.to_string(),
        "private_access": e.access.endpoint_private_access,
        "public_access": e.access.endpoint_public_access,
        "public_cidrs": e.access.public_access_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "auth_mode": auth,
        "bootstrap_admin": e.access.bootstrap_cluster_creator_admin_permissions,
        "log_types": e.logging.types,
        "encryption": e.encryption.enabled,
        "kms_key_arn": e.encryption.kms_key_arn,
        "zonal_shift": e.zonal_shift_enabled,
        "deletion_protection": e.deletion_protection,
        "bootstrap_self_managed_addons": self_managed,
        "tags": e.tags,
        "node_groups": node_groups,
    }))
}

/// An addon's Pod Identity role: logical name, IAM name suffix, managed policy, service account.
type AddonRole = (&'static str, &'static str, &'static str, &'static str);

fn addon(
    id: &str,
    name: &str,
    c: &AddonConfig,
    after_nodes: bool,
    role: Option<AddonRole>,
) -> Value {
    json!({
        "id": id,
        "name": name,
        "version": c.version,
        "config_json": c.configuration.as_ref().map(ToString::to_string),
        "after_nodes": after_nodes,
        "role": role.map(|(r, _, _, _)| r),
        "role_suffix": role.map(|(_, s, _, _)| s),
        "role_policy": role.map(|(_, _, p, _)| p),
        "service_account": role.map(|(_, _, _, sa)| sa),
    })
}

/// EKS managed addons to install; the core ones only in managed mode.
fn addons(cfg: &EnvironmentConfig, managed: bool) -> Vec<Value> {
    let a = &cfg.eks.addons;
    let mut out = Vec::new();
    if managed {
        let core = [
            ("addonVpcCni", "vpc-cni", &a.vpc_cni, false, None),
            ("addonKubeProxy", "kube-proxy", &a.kube_proxy, false, None),
            (
                "addonPodIdentityAgent",
                "eks-pod-identity-agent",
                &a.pod_identity_agent,
                false,
                None,
            ),
            ("addonCoredns", "coredns", &a.coredns, true, None),
            (
                "addonEbsCsi",
                "aws-ebs-csi-driver",
                &a.ebs_csi_driver,
                true,
                Some((
                    "ebsCsiRole",
                    "-ebs-csi",
                    "service-role/AmazonEBSCSIDriverPolicy",
                    "ebs-csi-controller-sa",
                )),
            ),
        ];
        for (id, name, c, after, role) in core {
            if c.enabled {
                out.push(addon(id, name, c, after, role));
            }
        }
    }
    if a.efs_csi_driver.enabled {
        out.push(addon(
            "addonEfsCsi",
            "aws-efs-csi-driver",
            &a.efs_csi_driver,
            true,
            Some((
                "efsCsiRole",
                "-efs-csi",
                "service-role/AmazonEFSCSIDriverPolicy",
                "efs-csi-controller-sa",
            )),
        ));
    }
    if a.snapshot_controller.enabled {
        out.push(addon(
            "addonSnapshotController",
            "snapshot-controller",
            &a.snapshot_controller,
            true,
            None,
        ));
    }
    out
}

fn access_entries(cfg: &EnvironmentConfig) -> Result<Vec<Value>, RenderError> {
    Ok(cfg
        .eks
        .access
        .access_entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "id": format!("accessEntry{i}"),
                "assoc": format!("accessPolicy{i}"),
                "principal": e.principal_arn,
                "policy": e.policy,
                "scope": match e.access_scope { AccessScope::Cluster => "cluster", AccessScope::Namespace => "namespace" },
                "namespaces": e.namespaces,
            })
        })
        .collect())
}
