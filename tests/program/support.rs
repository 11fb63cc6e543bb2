//! Test builders: a resolved `EnvironmentConfig` built directly (the resolver is written
//! elsewhere), and a `RenderInput` around it.

use std::collections::BTreeMap;

use byoc::domain::config::{
    AccessEntry, AccessScope, AddonConfig, Addons, AmiType, ArgoCdComponent, ArgoRepository,
    AuthenticationMode, AvailabilityZones, CapacityType, ChartRef, ComponentConfig, Components,
    EksConfig, EksMode, EncryptionConfig, EndpointAccess, EnvironmentConfig, IngressComponent,
    IngressController, LoggingConfig, NatStrategy, NodeGroup, Scaling, SubnetSpec, Taint,
    TaintEffect, VpcConfig, VpcEndpoints,
};
use byoc::domain::{AwsAccountId, AwsRegion, EnvName, RoleArn, Slug, StackName};
use byoc::program::{Program, ProgramError, RenderError, RenderInput, render, render_checked};

/// The external ID a test deliberately knows, to prove it never reaches the program.
pub const EXTERNAL_ID: &str = "ext-7f3c9a1e-secret-value";

/// Which bootstrap components a case enables.
#[derive(Debug, Clone, Copy)]
pub struct Toggles {
    pub karpenter: bool,
    pub argocd: bool,
    pub cert_manager: bool,
    pub external_secrets: bool,
    pub ingress: Option<IngressController>,
}

impl Toggles {
    pub fn all(ingress: IngressController) -> Self {
        Self {
            karpenter: true,
            argocd: true,
            cert_manager: true,
            external_secrets: true,
            ingress: Some(ingress),
        }
    }
    pub fn none() -> Self {
        Self {
            karpenter: false,
            argocd: false,
            cert_manager: false,
            external_secrets: false,
            ingress: None,
        }
    }
}

/// One matrix case.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub mode: EksMode,
    pub nat: NatStrategy,
    pub az_count: u8,
    pub secondary: bool,
    pub components: Toggles,
}

fn addon(enabled: bool) -> AddonConfig {
    AddonConfig {
        enabled,
        version: None,
        configuration: None,
    }
}

fn component(
    enabled: bool,
    repo: &str,
    chart: &str,
    version: &str,
    ns: &str,
    sa: &str,
) -> ComponentConfig {
    ComponentConfig {
        enabled,
        chart: ChartRef {
            repository: repo.into(),
            chart: chart.into(),
            version: version.into(),
        },
        namespace: ns.into(),
        release_name: chart.into(),
        service_account: sa.into(),
        values: serde_json::json!({}),
    }
}

fn subnet(name: String, cidr: String, az: u8) -> SubnetSpec {
    SubnetSpec {
        name,
        cidr_block: cidr.parse().unwrap(),
        az_index: az,
        tags: BTreeMap::new(),
    }
}

/// A resolved config for a case: 10.0.0.0/16 with /24 public and /20 private subnets per AZ,
/// and /18 pod subnets from 100.64.0.0/16 when `secondary` is set. Three-AZ cases name their
/// AZs explicitly; two-AZ cases look them up at deploy time.
pub fn sample_config(case: &Case) -> EnvironmentConfig {
    let managed = case.mode == EksMode::Managed;
    let n = case.az_count;
    let t = case.components;
    let ingress = t.ingress.unwrap_or(IngressController::IngressNginx);
    let ingress_component = match ingress {
        IngressController::IngressNginx => component(
            t.ingress.is_some(),
            "https://kubernetes.github.io/ingress-nginx",
            "ingress-nginx",
            "4.15.1",
            "ingress-nginx",
            "ingress-nginx",
        ),
        IngressController::AwsLoadBalancerController => component(
            t.ingress.is_some(),
            "https://aws.github.io/eks-charts",
            "aws-load-balancer-controller",
            "3.5.0",
            "kube-system",
            "aws-load-balancer-controller",
        ),
    };
    EnvironmentConfig {
        availability_zones: AvailabilityZones {
            count: n,
            names: if n == 3 {
                (0..n)
                    .map(|i| format!("eu-west-1{}", (b'a' + i) as char))
                    .collect()
            } else {
                vec![]
            },
        },
        vpc: VpcConfig {
            cidr_block: "10.0.0.0/16".parse().unwrap(),
            secondary_cidr_blocks: if case.secondary {
                vec!["100.64.0.0/16".parse().unwrap()]
            } else {
                vec![]
            },
            nat_gateway_strategy: case.nat,
            enable_dns_hostnames: true,
            enable_dns_support: true,
            public_subnets: (0..n)
                .map(|i| subnet(format!("public-{i}"), format!("10.0.{i}.0/24"), i))
                .collect(),
            private_subnets: (0..n)
                .map(|i| {
                    subnet(
                        format!("private-{i}"),
                        format!("10.0.{}.0/20", 16 * (u32::from(i) + 1)),
                        i,
                    )
                })
                .collect(),
            pod_subnets: if case.secondary {
                (0..n)
                    .map(|i| {
                        subnet(
                            format!("pod-{i}"),
                            format!("100.64.{}.0/18", 64 * u32::from(i)),
                            i,
                        )
                    })
                    .collect()
            } else {
                vec![]
            },
            endpoints: VpcEndpoints {
                s3: true,
                dynamodb: case.secondary,
                ecr_api: true,
                ecr_dkr: true,
                sts: true,
                logs: false,
                ec2: false,
                ssm: false,
                ssmmessages: false,
                ec2messages: false,
                elasticloadbalancing: false,
                autoscaling: false,
                sqs: managed,
                eks: false,
                eks_auth: true,
            },
            tags: BTreeMap::from([("CostCenter".into(), "platform".into())]),
        },
        eks: EksConfig {
            version: "1.35".into(),
            mode: case.mode,
            service_ipv4_cidr: "172.20.0.0/16".parse().unwrap(),
            access: EndpointAccess {
                endpoint_private_access: true,
                endpoint_public_access: true,
                public_access_cidrs: vec!["203.0.113.0/24".parse().unwrap()],
                authentication_mode: AuthenticationMode::Api,
                bootstrap_cluster_creator_admin_permissions: true,
                access_entries: vec![
                    AccessEntry {
                        principal_arn: "arn:aws:iam::123456789012:role/Admins".into(),
                        policy: "AmazonEKSClusterAdminPolicy".into(),
                        access_scope: AccessScope::Cluster,
                        namespaces: vec![],
                    },
                    AccessEntry {
                        principal_arn: "arn:aws:iam::123456789012:role/Devs".into(),
                        policy: "AmazonEKSEditPolicy".into(),
                        access_scope: AccessScope::Namespace,
                        namespaces: vec!["apps".into()],
                    },
                ],
            },
            logging: LoggingConfig {
                types: vec!["api".into(), "audit".into(), "authenticator".into()],
            },
            encryption: EncryptionConfig {
                enabled: true,
                kms_key_arn: None,
            },
            zonal_shift_enabled: true,
            deletion_protection: true,
            addons: Addons {
                vpc_cni: AddonConfig {
                    enabled: managed,
                    version: Some("v1.19.5-eksbuild.1".into()),
                    configuration: Some(
                        serde_json::json!({"env": {"ENABLE_PREFIX_DELEGATION": "true"}}),
                    ),
                },
                coredns: addon(managed),
                kube_proxy: addon(managed),
                ebs_csi_driver: addon(managed),
                pod_identity_agent: addon(managed),
                efs_csi_driver: addon(false),
                snapshot_controller: addon(false),
            },
            node_groups: if managed {
                vec![
                    NodeGroup {
                        name: "general".into(),
                        instance_types: vec!["m6i.large".into()],
                        capacity_type: CapacityType::OnDemand,
                        ami_type: AmiType::AL2023_x86_64_STANDARD,
                        disk_size: 50,
                        scaling: Scaling {
                            min_size: 2,
                            desired_size: 2,
                            max_size: 5,
                        },
                        labels: BTreeMap::from([("workload".into(), "general".into())]),
                        taints: vec![],
                        tags: BTreeMap::new(),
                    },
                    NodeGroup {
                        name: "system".into(),
                        instance_types: vec!["m7g.large".into()],
                        capacity_type: CapacityType::Spot,
                        ami_type: AmiType::BOTTLEROCKET_ARM_64,
                        disk_size: 40,
                        scaling: Scaling {
                            min_size: 1,
                            desired_size: 1,
                            max_size: 3,
                        },
                        labels: BTreeMap::new(),
                        taints: vec![Taint {
                            key: "CriticalAddonsOnly".into(),
                            value: "true".into(),
                            effect: TaintEffect::NoSchedule,
                        }],
                        tags: BTreeMap::from([("Team".into(), "sre".into())]),
                    },
                ]
            } else {
                vec![]
            },
            tags: BTreeMap::new(),
        },
        components: Components {
            karpenter: component(
                t.karpenter,
                "oci://public.ecr.aws/karpenter",
                "karpenter",
                "1.14.1",
                "karpenter",
                "karpenter",
            ),
            argocd: ArgoCdComponent {
                component: component(
                    t.argocd,
                    "https://argoproj.github.io/argo-helm",
                    "argo-cd",
                    "10.1.1",
                    "argocd",
                    "argocd-server",
                ),
                repository: Some(ArgoRepository {
                    url: "https://github.com/acme/gitops.git".into(),
                    root_app_path: Some("apps/".into()),
                    target_revision: "main".into(),
                }),
            },
            cert_manager: component(
                t.cert_manager,
                "https://charts.jetstack.io",
                "cert-manager",
                "v1.20.3",
                "cert-manager",
                "cert-manager",
            ),
            external_secrets: component(
                t.external_secrets,
                "https://charts.external-secrets.io",
                "external-secrets",
                "2.8.0",
                "external-secrets",
                "external-secrets",
            ),
            ingress: IngressComponent {
                controller: ingress,
                component: ingress_component,
            },
        },
        tags: BTreeMap::from([("Owner".into(), "acme-platform".into())]),
        approval: Default::default(),
        drift_check: None,
        warnings: vec![],
    }
}

/// Renders a config for tenant `acme`, environment `prod`, in eu-west-1.
pub fn render_config(config: &EnvironmentConfig) -> Program {
    render_named("acme", "prod", config)
}

/// Renders a config for the given tenant and environment, in eu-west-1.
pub fn render_named(slug: &str, env: &str, config: &EnvironmentConfig) -> Program {
    try_render_named(slug, env, config).unwrap_or_else(|e| panic!("render failed: {e:?}"))
}

/// Renders a config for tenant `acme`, environment `prod`, keeping the error.
pub fn try_render(config: &EnvironmentConfig) -> Result<Program, RenderError> {
    try_render_named("acme", "prod", config)
}

/// Renders and validates a config for tenant `acme`, environment `prod` in one step.
pub fn render_checked_config(config: &EnvironmentConfig) -> Result<Program, ProgramError> {
    with_input("acme", "prod", config, render_checked)
}

fn try_render_named(
    slug: &str,
    env: &str,
    config: &EnvironmentConfig,
) -> Result<Program, RenderError> {
    with_input(slug, env, config, render)
}

fn with_input<T>(
    slug: &str,
    env: &str,
    config: &EnvironmentConfig,
    f: impl FnOnce(&RenderInput<'_>) -> T,
) -> T {
    let slug = Slug::parse(slug).unwrap();
    let env = EnvName::parse(env).unwrap();
    let stack = StackName::new(&slug, &env);
    let account = AwsAccountId::parse("123456789012").unwrap();
    let region = AwsRegion::parse("eu-west-1").unwrap();
    let role = RoleArn::parse("arn:aws:iam::123456789012:role/BYOCPlatformRole").unwrap();
    let input = RenderInput {
        stack: &stack,
        slug: &slug,
        env: &env,
        account_id: &account,
        region: &region,
        tenant_role_arn: &role,
        project: byoc::program::DEFAULT_PROJECT,
        config,
    };
    f(&input)
}
