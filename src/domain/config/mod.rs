//! Environment configuration: the request shape operators send (`request`), the rules it must
//! satisfy and the defaults that fill it (`resolve`), and the fully resolved form stored per
//! version and rendered into a Pulumi program (this module).
//!
//! The resolved form has no optional knobs left: every default is filled and every subnet is
//! laid out, so rendering never guesses.

pub mod request;
pub mod reserved;
pub(crate) mod resolve;

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use request::{EnvironmentConfigRequest, parse_request, parse_request_all, parse_request_yaml};
pub use resolve::{CALENDAR, DEFAULT_EKS_VERSION, EksVersion, release, resolve};

/// A fully resolved environment configuration: what one stack deploys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Availability zones the environment spans.
    pub availability_zones: AvailabilityZones,
    /// Networking.
    pub vpc: VpcConfig,
    /// The EKS cluster.
    pub eks: EksConfig,
    /// Bootstrap components installed into the cluster.
    pub components: Components,
    /// Tags added to every AWS resource (after byoc's own tags).
    pub tags: BTreeMap<String, String>,
    /// Change control: when a deploy waits for a reviewer's approval (issue 18). Versions
    /// saved before it existed read as `never`.
    #[serde(default)]
    pub approval: crate::domain::approval::ApprovalConfig,
    /// Drift detection schedule; `None` (the default): no checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_check: Option<crate::domain::drift::DriftCheck>,
    /// What byoc advised when this version was saved (e.g. a Kubernetes version in extended
    /// support, a retired ingress controller). Advice only: it never changes the program.
    #[serde(default)]
    pub warnings: Vec<ConfigWarning>,
}

/// A choice that is valid but probably unwise, reported with the saved config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigWarning {
    /// JSON pointer (RFC 6901) into the request, e.g. `/eks_config/version`.
    pub field: String,
    /// What the choice costs or risks, and what to use instead.
    pub message: String,
}

impl ConfigWarning {
    /// Builds a warning.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Which AZs to use: explicit names, or the first `count` AZs the region reports at deploy
/// time (looked up with `aws:getAvailabilityZones`, never guessed from the region name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityZones {
    /// How many AZs (2–6).
    pub count: u8,
    /// Explicit AZ names, when given; `names.len() == count`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// NAT gateway layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NatStrategy {
    /// No NAT: private subnets have no default route.
    None,
    /// One NAT gateway in the first public subnet, shared by every private route table.
    Single,
    /// One NAT gateway per AZ; each AZ's private subnets route to their own.
    OnePerAz,
}

/// The kind of subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubnetTier {
    /// Routes to the internet gateway; hosts NAT gateways and public load balancers.
    Public,
    /// Nodes and internal load balancers; default route via NAT (if any).
    Private,
    /// Pod IPs (VPC CNI custom networking), usually carved from a secondary CIDR.
    Pod,
}

/// One subnet, laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// Logical name, unique in the environment, e.g. `private-0`.
    pub name: String,
    /// The subnet CIDR; inside the VPC's primary or a secondary CIDR.
    #[schema(value_type = String, example = "10.0.16.0/20")]
    pub cidr_block: Ipv4Net,
    /// Index into the environment's AZs (0-based, `< availability_zones.count`).
    pub az_index: u8,
    /// Extra tags for this subnet.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// Gateway and interface VPC endpoints to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcEndpoints {
    /// Gateway endpoint for S3.
    pub s3: bool,
    /// Gateway endpoint for DynamoDB.
    pub dynamodb: bool,
    /// Interface endpoint `ecr.api`.
    pub ecr_api: bool,
    /// Interface endpoint `ecr.dkr`.
    pub ecr_dkr: bool,
    /// Interface endpoint `sts`.
    pub sts: bool,
    /// Interface endpoint `logs`.
    pub logs: bool,
    /// Interface endpoint `ec2`.
    pub ec2: bool,
    /// Interface endpoint `ssm`.
    pub ssm: bool,
    /// Interface endpoint `ssmmessages`.
    pub ssmmessages: bool,
    /// Interface endpoint `ec2messages`.
    pub ec2messages: bool,
    /// Interface endpoint `elasticloadbalancing`.
    pub elasticloadbalancing: bool,
    /// Interface endpoint `autoscaling`.
    pub autoscaling: bool,
    /// Interface endpoint `sqs` (Karpenter interruption queue without NAT).
    pub sqs: bool,
    /// Interface endpoint `eks` (API access without NAT).
    pub eks: bool,
    /// Interface endpoint `eks-auth` (Pod Identity without NAT).
    pub eks_auth: bool,
}

/// The VPC and its subnets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcConfig {
    /// Primary CIDR (/16–/24).
    #[schema(value_type = String, example = "10.0.0.0/16")]
    pub cidr_block: Ipv4Net,
    /// Secondary CIDRs associated with the VPC (e.g. a 100.64.0.0/16 for pods).
    #[schema(value_type = Vec<String>)]
    pub secondary_cidr_blocks: Vec<Ipv4Net>,
    /// NAT gateway layout.
    pub nat_gateway_strategy: NatStrategy,
    /// `enableDnsHostnames` on the VPC (EKS needs it).
    pub enable_dns_hostnames: bool,
    /// `enableDnsSupport` on the VPC (EKS needs it).
    pub enable_dns_support: bool,
    /// One public subnet per AZ (at least where private subnets are).
    pub public_subnets: Vec<SubnetSpec>,
    /// Private subnets (nodes).
    pub private_subnets: Vec<SubnetSpec>,
    /// Pod subnets (may be empty).
    pub pod_subnets: Vec<SubnetSpec>,
    /// VPC endpoints.
    pub endpoints: VpcEndpoints,
    /// Extra VPC tags.
    pub tags: BTreeMap<String, String>,
}

/// EKS compute mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EksMode {
    /// EKS Auto Mode: AWS-managed compute, storage and load balancing.
    Auto,
    /// Managed node groups plus core addons (and optionally Karpenter).
    Managed,
}

/// EKS authentication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthenticationMode {
    /// Access entries only.
    Api,
    /// Access entries and the aws-auth ConfigMap.
    ApiAndConfigMap,
    /// aws-auth ConfigMap only (not allowed with Auto Mode).
    ConfigMap,
}

/// Cluster endpoint access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointAccess {
    /// Private endpoint inside the VPC.
    pub endpoint_private_access: bool,
    /// Public endpoint. The worker applying the bootstrap must reach one of the two.
    pub endpoint_public_access: bool,
    /// CIDRs allowed to reach the public endpoint (empty with public access off).
    #[schema(value_type = Vec<String>)]
    pub public_access_cidrs: Vec<Ipv4Net>,
    /// Authentication mode.
    pub authentication_mode: AuthenticationMode,
    /// Whether the identity creating the cluster (the tenant role) gets cluster admin.
    pub bootstrap_cluster_creator_admin_permissions: bool,
    /// Access entries to create.
    pub access_entries: Vec<AccessEntry>,
}

/// Scope of an access policy association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessScope {
    /// The whole cluster.
    Cluster,
    /// Only the listed namespaces.
    Namespace,
}

/// An EKS access entry for an IAM principal, with one access policy association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// IAM role or user ARN.
    pub principal_arn: String,
    /// EKS access policy name, e.g. `AmazonEKSClusterAdminPolicy`.
    pub policy: String,
    /// Association scope.
    pub access_scope: AccessScope,
    /// Namespaces, for namespace scope.
    pub namespaces: Vec<String>,
}

/// Control-plane logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// Log types sent to CloudWatch (`api`, `audit`, `authenticator`, `controllerManager`,
    /// `scheduler`); empty means logging is off.
    pub types: Vec<String>,
}

/// Envelope encryption of Kubernetes secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Encrypt secrets with KMS.
    pub enabled: bool,
    /// Existing KMS key ARN; when absent and enabled, the program creates a key with rotation.
    pub kms_key_arn: Option<String>,
}

/// One EKS managed addon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonConfig {
    /// Install it.
    pub enabled: bool,
    /// Pinned addon version (e.g. `v1.19.0-eksbuild.1`); absent means EKS's default for the
    /// cluster version.
    pub version: Option<String>,
    /// Addon configuration values (JSON object), passed as `configurationValues`.
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<serde_json::Value>,
}

/// EKS managed addons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Addons {
    /// `vpc-cni` (managed mode only).
    pub vpc_cni: AddonConfig,
    /// `coredns` (managed mode only).
    pub coredns: AddonConfig,
    /// `kube-proxy` (managed mode only).
    pub kube_proxy: AddonConfig,
    /// `aws-ebs-csi-driver` (managed mode only; Auto Mode has block storage built in).
    pub ebs_csi_driver: AddonConfig,
    /// `eks-pod-identity-agent` (managed mode only; built into Auto Mode).
    pub pod_identity_agent: AddonConfig,
    /// `aws-efs-csi-driver`.
    pub efs_csi_driver: AddonConfig,
    /// `snapshot-controller`.
    pub snapshot_controller: AddonConfig,
}

/// Capacity type of a node group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityType {
    /// On-demand instances.
    OnDemand,
    /// Spot instances.
    Spot,
}

/// AMI family of a node group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[expect(
    non_camel_case_types,
    reason = "variants are the EKS API's own AMI type names"
)]
pub enum AmiType {
    /// Amazon Linux 2023, x86_64.
    AL2023_x86_64_STANDARD,
    /// Amazon Linux 2023, arm64.
    AL2023_ARM_64_STANDARD,
    /// Amazon Linux 2023, x86_64 with NVIDIA drivers.
    AL2023_x86_64_NVIDIA,
    /// Bottlerocket, x86_64.
    BOTTLEROCKET_x86_64,
    /// Bottlerocket, arm64.
    BOTTLEROCKET_ARM_64,
}

impl AmiType {
    /// The device the root (OS data) volume is mapped to in a launch template.
    /// Bottlerocket keeps its data on the second volume.
    pub fn data_volume_device(self) -> &'static str {
        match self {
            AmiType::BOTTLEROCKET_x86_64 | AmiType::BOTTLEROCKET_ARM_64 => "/dev/xvdb",
            _ => "/dev/xvda",
        }
    }
}

/// Node group scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Minimum nodes.
    pub min_size: u32,
    /// Desired nodes (`min_size ≤ desired_size ≤ max_size`).
    pub desired_size: u32,
    /// Maximum nodes (≥ 1).
    pub max_size: u32,
}

/// Taint effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaintEffect {
    /// `NO_SCHEDULE`.
    NoSchedule,
    /// `NO_EXECUTE`.
    NoExecute,
    /// `PREFER_NO_SCHEDULE`.
    PreferNoSchedule,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value (may be empty).
    pub value: String,
    /// Effect.
    pub effect: TaintEffect,
}

/// A managed node group (managed mode only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// Name, unique in the environment (1–40 chars, lowercase letters, digits, hyphens).
    pub name: String,
    /// Instance types, e.g. `["t3.medium"]`.
    pub instance_types: Vec<String>,
    /// On-demand or spot.
    pub capacity_type: CapacityType,
    /// AMI family.
    pub ami_type: AmiType,
    /// Root (or Bottlerocket data) volume size in GiB (20–1000), encrypted gp3.
    pub disk_size: u32,
    /// Scaling.
    pub scaling: Scaling,
    /// Kubernetes labels.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints.
    pub taints: Vec<Taint>,
    /// Extra tags.
    pub tags: BTreeMap<String, String>,
}

/// The EKS cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EksConfig {
    /// Kubernetes version, `1.NN` (a version EKS supports).
    pub version: String,
    /// Auto Mode or managed node groups.
    pub mode: EksMode,
    /// Service CIDR; must not overlap the VPC.
    #[schema(value_type = String, example = "172.20.0.0/16")]
    pub service_ipv4_cidr: Ipv4Net,
    /// Endpoint access and authentication.
    pub access: EndpointAccess,
    /// Control-plane logging.
    pub logging: LoggingConfig,
    /// Secrets encryption.
    pub encryption: EncryptionConfig,
    /// ARC zonal shift.
    pub zonal_shift_enabled: bool,
    /// EKS deletion protection.
    pub deletion_protection: bool,
    /// Managed addons.
    pub addons: Addons,
    /// Managed node groups (managed mode: at least one; Auto Mode: none).
    pub node_groups: Vec<NodeGroup>,
    /// Extra cluster tags.
    pub tags: BTreeMap<String, String>,
}

/// A Helm chart pinned for one component; defaults come from the catalog in `infra-yaml/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRef {
    /// Chart repository URL (`https://…` or `oci://…`).
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Exact chart version (no ranges).
    pub version: String,
}

/// Common settings of every bootstrap component.
///
/// No `deny_unknown_fields` here: it is flattened into `ArgoCdComponent` and
/// `IngressComponent`, where it would reject their own fields (and the OpenAPI `allOf` would
/// forbid them). Requests are checked by the request types, not by this stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentConfig {
    /// Install it.
    pub enabled: bool,
    /// The chart (catalog default unless overridden).
    pub chart: ChartRef,
    /// Namespace.
    pub namespace: String,
    /// Helm release name (explicit, so service account names are predictable).
    pub release_name: String,
    /// Service account the chart creates (matches its IAM role's trust).
    pub service_account: String,
    /// Extra Helm values merged over byoc's (JSON object).
    #[schema(value_type = Object)]
    pub values: serde_json::Value,
}

/// Ingress controller choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IngressController {
    /// ingress-nginx (retired upstream in March 2026; kept for compatibility).
    IngressNginx,
    /// AWS Load Balancer Controller (with its IAM role).
    AwsLoadBalancerController,
}

/// The ingress component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressComponent {
    /// Which controller.
    pub controller: IngressController,
    /// Chart and release settings for that controller.
    #[serde(flatten)]
    pub component: ComponentConfig,
}

/// Argo CD's optional Git repository and root application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoRepository {
    /// Git URL (`https://…` or `ssh://…`/`git@…`).
    pub url: String,
    /// Path of the root app-of-apps inside the repository; absent means no root application.
    pub root_app_path: Option<String>,
    /// Git revision the root application tracks.
    pub target_revision: String,
}

/// The Argo CD component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdComponent {
    /// Chart and release settings.
    #[serde(flatten)]
    pub component: ComponentConfig,
    /// Optional repository (credentials, if any, are not stored here).
    pub repository: Option<ArgoRepository>,
}

/// Bootstrap components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Components {
    /// Karpenter (managed mode only: Auto Mode brings its own).
    pub karpenter: ComponentConfig,
    /// Argo CD.
    pub argocd: ArgoCdComponent,
    /// cert-manager.
    pub cert_manager: ComponentConfig,
    /// External Secrets Operator.
    pub external_secrets: ComponentConfig,
    /// Ingress controller.
    pub ingress: IngressComponent,
}
