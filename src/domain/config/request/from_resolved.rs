//! A resolved config back into a request, so a stored config can be edited and re-saved.
//! Everything is written out explicitly (nested form, laid-out subnets listed), so resolving
//! the result gives back the same config even if byoc's defaults change later.

use super::{
    AccessEntryRequest, AddonRequest, AddonsRequest, ArgoCdRequest, ArgoRepositoryRequest,
    ComponentRequest, ComponentsRequest, EksConfigRequest, EndpointAccessRequest,
    EnvironmentConfigRequest, IngressRequest, NodeGroupRequest, ScalingRequest, SubnetRequest,
    TaintRequest, VpcConfigRequest, VpcEndpointsRequest,
};
use crate::domain::config::{
    AddonConfig, ComponentConfig, EksConfig, EnvironmentConfig, NodeGroup, SubnetSpec, VpcConfig,
};

impl From<&EnvironmentConfig> for EnvironmentConfigRequest {
    fn from(c: &EnvironmentConfig) -> Self {
        let azs = &c.availability_zones;
        Self {
            availability_zones: (!azs.names.is_empty()).then(|| azs.names.clone()),
            availability_zone_count: azs.names.is_empty().then_some(azs.count),
            vpc_config: Some(vpc(&c.vpc)),
            eks_config: Some(eks(&c.eks)),
            components: Some(components(c)),
            tags: Some(c.tags.clone()),
            approval: Some(crate::domain::approval::ApprovalRequest {
                policy: Some(c.approval.policy),
                protected_types: Some(c.approval.protected_types.clone()),
            }),
            drift_check: c.drift_check.clone(),
            ..Self::default()
        }
    }
}

fn subnets(list: &[SubnetSpec]) -> Option<Vec<SubnetRequest>> {
    Some(
        list.iter()
            .map(|s| SubnetRequest {
                cidr_block: s.cidr_block.to_string(),
                availability_zone: None,
                az_index: Some(s.az_index),
                name: Some(s.name.clone()),
                tags: (!s.tags.is_empty()).then(|| s.tags.clone()),
            })
            .collect(),
    )
}

fn vpc(v: &VpcConfig) -> VpcConfigRequest {
    let e = &v.endpoints;
    VpcConfigRequest {
        cidr_block: Some(v.cidr_block.to_string()),
        secondary_cidr_blocks: Some(
            v.secondary_cidr_blocks
                .iter()
                .map(|n| n.to_string())
                .collect(),
        ),
        nat_gateway_strategy: Some(v.nat_gateway_strategy),
        public_subnets: subnets(&v.public_subnets),
        private_subnets: subnets(&v.private_subnets),
        pod_subnets: subnets(&v.pod_subnets),
        vpc_endpoints: Some(VpcEndpointsRequest {
            s3: Some(e.s3),
            dynamodb: Some(e.dynamodb),
            ecr_api: Some(e.ecr_api),
            ecr_dkr: Some(e.ecr_dkr),
            sts: Some(e.sts),
            logs: Some(e.logs),
            ec2: Some(e.ec2),
            ssm: Some(e.ssm),
            ssmmessages: Some(e.ssmmessages),
            ec2messages: Some(e.ec2messages),
            elasticloadbalancing: Some(e.elasticloadbalancing),
            autoscaling: Some(e.autoscaling),
            sqs: Some(e.sqs),
            eks: Some(e.eks),
            eks_auth: Some(e.eks_auth),
        }),
        enable_dns_hostnames: Some(v.enable_dns_hostnames),
        enable_dns_support: Some(v.enable_dns_support),
        tags: Some(v.tags.clone()),
    }
}

fn addon(a: &AddonConfig) -> Option<AddonRequest> {
    Some(AddonRequest {
        enabled: Some(a.enabled),
        version: a.version.clone(),
        configuration: a.configuration.clone(),
    })
}

fn node_group(g: &NodeGroup) -> NodeGroupRequest {
    NodeGroupRequest {
        name: Some(g.name.clone()),
        instance_types: Some(g.instance_types.clone()),
        capacity_type: Some(g.capacity_type),
        ami_type: Some(g.ami_type),
        disk_size: Some(g.disk_size),
        scaling: Some(ScalingRequest {
            min_size: Some(g.scaling.min_size),
            desired_size: Some(g.scaling.desired_size),
            max_size: Some(g.scaling.max_size),
        }),
        labels: Some(g.labels.clone()),
        taints: Some(
            g.taints
                .iter()
                .map(|t| TaintRequest {
                    key: t.key.clone(),
                    value: Some(t.value.clone()),
                    effect: t.effect,
                })
                .collect(),
        ),
        tags: Some(g.tags.clone()),
    }
}

fn eks(e: &EksConfig) -> EksConfigRequest {
    let a = &e.access;
    let logging = !e.logging.types.is_empty();
    EksConfigRequest {
        version: Some(e.version.clone()),
        mode: Some(e.mode),
        service_ipv4_cidr: Some(e.service_ipv4_cidr.to_string()),
        access: Some(EndpointAccessRequest {
            endpoint_private_access: Some(a.endpoint_private_access),
            endpoint_public_access: Some(a.endpoint_public_access),
            public_access_cidrs: a.endpoint_public_access.then(|| {
                a.public_access_cidrs
                    .iter()
                    .map(|n| n.to_string())
                    .collect()
            }),
            authentication_mode: Some(a.authentication_mode),
            bootstrap_cluster_creator_admin_permissions: Some(
                a.bootstrap_cluster_creator_admin_permissions,
            ),
            access_entries: Some(
                a.access_entries
                    .iter()
                    .map(|x| AccessEntryRequest {
                        principal_arn: x.principal_arn.clone(),
                        policy: Some(x.policy.clone()),
                        access_scope: Some(x.access_scope),
                        namespaces: (!x.namespaces.is_empty()).then(|| x.namespaces.clone()),
                    })
                    .collect(),
            ),
        }),
        logging_enabled: Some(logging),
        logging_types: logging.then(|| e.logging.types.clone()),
        encryption_enabled: Some(e.encryption.enabled),
        encryption_kms_key_arn: e.encryption.kms_key_arn.clone(),
        zonal_shift_enabled: Some(e.zonal_shift_enabled),
        deletion_protection: Some(e.deletion_protection),
        addons: Some(AddonsRequest {
            vpc_cni: addon(&e.addons.vpc_cni),
            coredns: addon(&e.addons.coredns),
            kube_proxy: addon(&e.addons.kube_proxy),
            ebs_csi_driver: addon(&e.addons.ebs_csi_driver),
            pod_identity_agent: addon(&e.addons.pod_identity_agent),
            efs_csi_driver: addon(&e.addons.efs_csi_driver),
            snapshot_controller: addon(&e.addons.snapshot_controller),
        }),
        // Auto Mode takes no node groups at all, not even an empty list.
        node_groups: (e.mode == crate::domain::config::EksMode::Managed)
            .then(|| e.node_groups.iter().map(node_group).collect()),
        tags: Some(e.tags.clone()),
    }
}

/// A disabled component is written as `{enabled: false}`: overrides on it are refused.
fn component(c: &ComponentConfig) -> ComponentRequest {
    if !c.enabled {
        return ComponentRequest {
            enabled: Some(false),
            ..ComponentRequest::default()
        };
    }
    ComponentRequest {
        enabled: Some(true),
        version: Some(c.chart.version.clone()),
        values: Some(c.values.clone()),
        chart_repository: Some(c.chart.repository.clone()),
        chart: Some(c.chart.chart.clone()),
        namespace: Some(c.namespace.clone()),
        release_name: Some(c.release_name.clone()),
        service_account: Some(c.service_account.clone()),
    }
}

fn components(c: &EnvironmentConfig) -> ComponentsRequest {
    let c = &c.components;
    let argo = component(&c.argocd.component);
    let ingress = component(&c.ingress.component);
    ComponentsRequest {
        karpenter: Some(component(&c.karpenter)),
        argocd: Some(ArgoCdRequest {
            enabled: argo.enabled,
            version: argo.version,
            values: argo.values,
            chart_repository: argo.chart_repository,
            chart: argo.chart,
            namespace: argo.namespace,
            release_name: argo.release_name,
            service_account: argo.service_account,
            repository: c.argocd.repository.as_ref().map(|r| ArgoRepositoryRequest {
                url: Some(r.url.clone()),
                root_app_path: r.root_app_path.clone(),
                target_revision: Some(r.target_revision.clone()),
            }),
        }),
        cert_manager: Some(component(&c.cert_manager)),
        external_secrets: Some(component(&c.external_secrets)),
        ingress: Some(IngressRequest {
            enabled: ingress.enabled,
            controller: c.ingress.component.enabled.then_some(c.ingress.controller),
            version: ingress.version,
            values: ingress.values,
            chart_repository: ingress.chart_repository,
            chart: ingress.chart,
            namespace: ingress.namespace,
            release_name: ingress.release_name,
            service_account: ingress.service_account,
        }),
    }
}
