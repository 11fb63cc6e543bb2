//! The `vpc_config` section of the request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::config::NatStrategy;

/// Networking settings; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcConfigRequest {
    /// Primary CIDR (/16–/24), default `10.0.0.0/16`.
    #[schema(example = "10.0.0.0/16")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<String>,
    /// Secondary CIDRs (at most 4; RFC 1918 or 100.64.0.0/10, /16–/28). When present and
    /// `pod_subnets` is absent, one pod subnet per AZ is carved from the first one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_cidr_blocks: Option<Vec<String>>,
    /// `none`, `single` (default) or `one_per_az`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway_strategy: Option<NatStrategy>,
    /// Explicit public subnets; when absent, laid out from the VPC CIDR. Give together with
    /// `private_subnets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_subnets: Option<Vec<SubnetRequest>>,
    /// Explicit private subnets; when absent, laid out from the VPC CIDR. Give together with
    /// `public_subnets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_subnets: Option<Vec<SubnetRequest>>,
    /// Explicit pod subnets; when absent, one per AZ from the first secondary CIDR (if any).
    /// An empty list means no pod subnets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_subnets: Option<Vec<SubnetRequest>>,
    /// VPC endpoints to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoints: Option<VpcEndpointsRequest>,
    /// `enableDnsHostnames`, default true (EKS needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns_hostnames: Option<bool>,
    /// `enableDnsSupport`, default true (EKS needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns_support: Option<bool>,
    /// Extra VPC tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// One explicit subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetRequest {
    /// Subnet CIDR (≥ /28), inside the primary or a secondary VPC CIDR.
    #[schema(example = "10.0.0.0/24")]
    pub cidr_block: String,
    /// AZ name (one of `availability_zones`); give this or `az_index`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// 0-based index into the environment's AZs; give this or `availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub az_index: Option<u8>,
    /// Logical name (lowercase letters, digits, hyphens), default `<tier>-<position>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Extra tags for this subnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// VPC endpoint flags; `s3` defaults to true, every other to false.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcEndpointsRequest {
    /// Gateway endpoint for S3 (default true; free).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<bool>,
    /// Gateway endpoint for DynamoDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<bool>,
    /// Interface endpoint `ecr.api`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_api: Option<bool>,
    /// Interface endpoint `ecr.dkr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_dkr: Option<bool>,
    /// Interface endpoint `sts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts: Option<bool>,
    /// Interface endpoint `logs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<bool>,
    /// Interface endpoint `ec2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2: Option<bool>,
    /// Interface endpoint `ssm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm: Option<bool>,
    /// Interface endpoint `ssmmessages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssmmessages: Option<bool>,
    /// Interface endpoint `ec2messages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2messages: Option<bool>,
    /// Interface endpoint `elasticloadbalancing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elasticloadbalancing: Option<bool>,
    /// Interface endpoint `autoscaling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<bool>,
    /// Interface endpoint `sqs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs: Option<bool>,
    /// Interface endpoint `eks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks: Option<bool>,
    /// Interface endpoint `eks-auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks_auth: Option<bool>,
}
