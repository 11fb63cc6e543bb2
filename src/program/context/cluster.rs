//! EKS context: the cluster settings, managed node groups, managed addons (with their Pod
//! Identity roles) and access entries.

use serde_json::{Value, json};

use crate::domain::config::{AccessScope, AddonConfig, AuthenticationMode, EnvironmentConfig};
use crate::program::RenderError;

pub(super) fn eks(cfg: &EnvironmentConfig, managed: bool) -> Result<Value, RenderError> {
    let e = &cfg.eks;
    let auth = match e.access.authentication_mode {
        AuthenticationMode::Api => "API",
        AuthenticationMode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
        AuthenticationMode::ConfigMap => "CONFIG_MAP",
    };
    if auth == "CONFIG_MAP" && (!managed || !e.access.access_entries.is_empty()) {
        return Err(RenderError::ConfigMapAuthentication);
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
pub(super) fn addons(cfg: &EnvironmentConfig, managed: bool) -> Vec<Value> {
    let a = &cfg.eks.addons;
    let mut out = Vec::new();
    if managed {
        let vpc_cni = vpc_cni_config(cfg);
        let core = [
            ("addonVpcCni", "vpc-cni", &vpc_cni, false, None),
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

/// The vpc-cni addon config; with pod subnets, VPC CNI custom networking is switched on
/// (one `ENIConfig` per AZ, named after the zone) on top of the user's configuration.
fn vpc_cni_config(cfg: &EnvironmentConfig) -> AddonConfig {
    let mut c = cfg.eks.addons.vpc_cni.clone();
    if cfg.vpc.pod_subnets.is_empty() {
        return c;
    }
    let mut conf = match c.configuration.take() {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let env = conf
        .entry("env")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !env.is_object() {
        *env = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(env) = env {
        env.insert("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG".into(), json!("true"));
        env.insert(
            "ENI_CONFIG_LABEL_DEF".into(),
            json!("topology.kubernetes.io/zone"),
        );
    }
    c.configuration = Some(Value::Object(conf));
    c
}

/// One `ENIConfig` per AZ that has a pod subnet (the first one there), managed mode only.
pub(super) fn eni_configs(cfg: &EnvironmentConfig, managed: bool) -> Vec<Value> {
    if !managed || !cfg.eks.addons.vpc_cni.enabled {
        return Vec::new();
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, s) in cfg.vpc.pod_subnets.iter().enumerate() {
        if !seen.contains(&s.az_index) {
            seen.push(s.az_index);
            out.push(json!({"az": s.az_index, "subnet": format!("podSubnet{i}")}));
        }
    }
    out
}

/// Access entries (with one policy association each) from the config.
pub(super) fn access_entries(cfg: &EnvironmentConfig) -> Result<Vec<Value>, RenderError> {
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
