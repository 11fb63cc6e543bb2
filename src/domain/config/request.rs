//! The environment config request body: partial, every field optional, defaults filled by
//! `resolve`. Accepts the original spec's flat fields (`vpc_cidr`, `eks_mode`,
//! `node_group_config`, …) as well as the rich nested sections. This module only describes the
//! shape and parses it; the rules live in `resolve`.

mod components;
mod eks;
mod from_resolved;
mod parse;
mod vpc;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use components::IngressRequest;
pub use components::{ArgoCdRequest, ArgoRepositoryRequest, ComponentRequest, ComponentsRequest};
pub use eks::{
    AccessEntryRequest, AddonRequest, AddonsRequest, EksConfigRequest, EndpointAccessRequest,
    NodeGroupRequest, ScalingRequest, TaintRequest,
};
pub use parse::{parse_request, parse_request_all, parse_request_yaml};
pub use vpc::{SubnetRequest, VpcConfigRequest, VpcEndpointsRequest};

use super::{CapacityType, EksMode};

/// Body of `POST …/environments/{env}/config`: every field is optional and defaults are filled
/// when the config is resolved. The spec's flat fields (`vpc_cidr`, `availability_zones`,
/// `eks_version`, `eks_mode`, `node_group_config`) keep their meaning; each has a richer
/// counterpart in the nested sections, and setting both is an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfigRequest {
    /// Primary VPC CIDR (/16–/24), default `10.0.0.0/16`. Same as `vpc_config.cidr_block`.
    #[schema(example = "10.0.0.0/16")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_cidr: Option<String>,
    /// Explicit AZ names of the tenant's region (2–6, e.g. `["us-east-1a","us-east-1b"]`).
    /// When absent, the first `availability_zone_count` AZs are looked up at deploy time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zones: Option<Vec<String>>,
    /// Number of AZs (2–6), default 3; must equal the number of names when both are given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone_count: Option<u8>,
    /// Kubernetes version `1.NN`. Same as `eks_config.version`.
    #[schema(example = "1.35")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks_version: Option<String>,
    /// `auto` (EKS Auto Mode) or `managed` (node groups), default `managed`. Same as
    /// `eks_config.mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks_mode: Option<EksMode>,
    /// The spec's single node group, named `general` (managed mode only). Same as
    /// `eks_config.node_groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_group_config: Option<NodeGroupConfigRequest>,
    /// Networking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfigRequest>,
    /// The EKS cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks_config: Option<EksConfigRequest>,
    /// Bootstrap components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<ComponentsRequest>,
    /// Tags added to every AWS resource (at most 46 here: byoc adds `ManagedBy`, `Tenant`,
    /// `Environment` and `Stack`, which may not be overridden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Change control: `{policy: never | always | on_destructive, protected_types: [...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::domain::approval::ApprovalRequest>,
    /// Drift detection: `{every: "6h"}` runs a refresh preview about that often (jittered).
    /// Absent: no checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_check: Option<crate::domain::drift::DriftCheck>,
}

/// The spec's flat node group settings; they describe one node group named `general`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGroupConfigRequest {
    /// Instance types (`family.size`), default `["t3.medium"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_types: Option<Vec<String>>,
    /// Desired nodes, default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_size: Option<u32>,
    /// Minimum nodes, default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u32>,
    /// Maximum nodes, default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u32>,
    /// Root volume size in GiB (20–1000), default 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<u32>,
    /// `ON_DEMAND` (default) or `SPOT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_type: Option<CapacityType>,
}
