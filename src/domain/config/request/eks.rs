//! The `eks_config` section of the request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::config::{
    AccessScope, AmiType, AuthenticationMode, CapacityType, EksMode, TaintEffect,
};

/// EKS cluster settings; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EksConfigRequest {
    /// Kubernetes version `1.NN`, default `1.35`; one in EKS extended support is saved with a
    /// warning, one EKS no longer creates is refused.
    #[schema(example = "1.35")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `auto` or `managed` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<EksMode>,
    /// Service CIDR (/12–/24, RFC 1918), default `172.20.0.0/16`; must not overlap the VPC.
    #[schema(example = "172.20.0.0/16")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_ipv4_cidr: Option<String>,
    /// Endpoint access and authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<EndpointAccessRequest>,
    /// Send control-plane logs to CloudWatch, default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_enabled: Option<bool>,
    /// Log types (`api`, `audit`, `authenticator`, `controllerManager`, `scheduler`); default
    /// `api`, `audit`, `authenticator` when logging is enabled. Implies `logging_enabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_types: Option<Vec<String>>,
    /// Envelope-encrypt Kubernetes secrets with KMS, default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_enabled: Option<bool>,
    /// Existing KMS key ARN (same region); absent means byoc creates a key with rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_kms_key_arn: Option<String>,
    /// ARC zonal shift, default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zonal_shift_enabled: Option<bool>,
    /// EKS deletion protection, default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    /// Managed addons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addons: Option<AddonsRequest>,
    /// Managed node groups (managed mode only); default one group `general`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_groups: Option<Vec<NodeGroupRequest>>,
    /// Extra cluster tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// Cluster endpoint access and authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointAccessRequest {
    /// Private endpoint inside the VPC, default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_private_access: Option<bool>,
    /// Public endpoint, default true. The deploy worker must reach the API for the bootstrap
    /// step, so a private-only endpoint requires every bootstrap component to be disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_public_access: Option<bool>,
    /// CIDRs allowed to reach the public endpoint; default `["0.0.0.0/0"]` when public access
    /// is on. Restrict them to your operators' and the deploy worker's egress CIDRs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_access_cidrs: Option<Vec<String>>,
    /// `API`, `API_AND_CONFIG_MAP` (default) or `CONFIG_MAP` (not with Auto Mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<AuthenticationMode>,
    /// Give the cluster creator (the tenant role) cluster admin, default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_cluster_creator_admin_permissions: Option<bool>,
    /// Access entries for IAM principals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_entries: Option<Vec<AccessEntryRequest>>,
}

/// An access entry with one policy association.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEntryRequest {
    /// IAM role or user ARN, e.g. `arn:aws:iam::123456789012:role/platform-admins`.
    pub principal_arn: String,
    /// EKS access policy name, default `AmazonEKSClusterAdminPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `cluster` (default) or `namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_scope: Option<AccessScope>,
    /// Namespaces (namespace scope only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
}

/// One managed addon.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonRequest {
    /// Install it (defaults depend on the addon and the mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Pinned addon version, e.g. `v1.19.0-eksbuild.1`; absent means EKS's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `configurationValues` (a JSON object).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<serde_json::Value>,
}

/// Managed addons. In managed mode `vpc_cni`, `coredns`, `kube_proxy`, `ebs_csi_driver` and
/// `pod_identity_agent` default to on; Auto Mode brings them itself, so they cannot be enabled
/// there. `efs_csi_driver` and `snapshot_controller` default to off.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonsRequest {
    /// `vpc-cni`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_cni: Option<AddonRequest>,
    /// `coredns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coredns: Option<AddonRequest>,
    /// `kube-proxy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_proxy: Option<AddonRequest>,
    /// `aws-ebs-csi-driver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_csi_driver: Option<AddonRequest>,
    /// `eks-pod-identity-agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_identity_agent: Option<AddonRequest>,
    /// `aws-efs-csi-driver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efs_csi_driver: Option<AddonRequest>,
    /// `snapshot-controller`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_controller: Option<AddonRequest>,
}

/// One managed node group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGroupRequest {
    /// Name (1–40 lowercase letters, digits, hyphens), default `general`; unique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Instance types (`family.size`), default `["t3.medium"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_types: Option<Vec<String>>,
    /// `ON_DEMAND` (default) or `SPOT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_type: Option<CapacityType>,
    /// AMI family, default `AL2023_x86_64_STANDARD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ami_type: Option<AmiType>,
    /// Root (or Bottlerocket data) volume in GiB (20–1000), default 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<u32>,
    /// Scaling, default min 1, desired 2, max 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingRequest>,
    /// Kubernetes labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Kubernetes taints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<TaintRequest>>,
    /// Extra tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// Node group scaling; `min_size ≤ desired_size ≤ max_size ≤ 450`, `max_size ≥ 1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRequest {
    /// Minimum nodes, default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u32>,
    /// Desired nodes, default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_size: Option<u32>,
    /// Maximum nodes, default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u32>,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaintRequest {
    /// Key (a Kubernetes label key).
    pub key: String,
    /// Value (a Kubernetes label value), default empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.
    pub effect: TaintEffect,
}
