//! Turns a [`RenderInput`] into the template context: every decision (which NAT a route
//! table uses, which subnets host endpoints, logical names) is made here in Rust, so the
//! templates only loop and quote. Logical names are built from fixed words and indexes,
//! never from config strings.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::names::{IAM_PATH, cluster_name, iam_prefix};
use super::{
    AWS_PLUGIN_VERSION, KUBERNETES_PLUGIN_VERSION, RenderError, RenderInput, TENANT_AWS_PROFILE,
};
use crate::domain::config::EksMode;

mod cluster;
mod components;
mod networking;

use cluster::{access_entries, addons, eks, eni_configs};
use networking::{endpoint_subnets, gateway_endpoints, interface_endpoints, networking};

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
        "aws_plugin_version": AWS_PLUGIN_VERSION,
        "k8s_plugin_version": KUBERNETES_PLUGIN_VERSION,
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
        "eni_configs": eni_configs(cfg, managed),
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
        // Pull-only ECR access, as the Karpenter v1.14 reference node role
        // (getting-started-with-karpenter/cloudformation.yaml, KarpenterNodeRole) and the EKS
        // user guide's node IAM role: ReadOnly adds image listing nothing on a node needs.
        "node_policies": if managed {
            &[
                "AmazonEKSWorkerNodePolicy",
                "AmazonEKS_CNI_Policy",
                "AmazonEC2ContainerRegistryPullOnly",
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
    serde_json::from_str(&text).map_err(|source| RenderError::EmbeddedPolicy {
        name: "aws-load-balancer-controller.json",
        source,
    })
}
