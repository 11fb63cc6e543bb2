//! Parsing, defaults, round trips and the shapes of whole configs.

use serde_json::json;

use super::*;
use crate::domain::config::{
    AmiType, CapacityType, EksMode, IngressController, NatStrategy, parse_request_yaml,
};

#[test]
fn minimal_spec_body_means_managed_mode_with_one_general_group_of_two() {
    let c = ok(json!({"eks_mode": "managed", "node_group_config": {"desired_size": 2}}));
    assert_eq!(c.eks.mode, EksMode::Managed);
    assert_eq!(c.eks.node_groups.len(), 1);
    let g = &c.eks.node_groups[0];
    assert_eq!(g.name, "general");
    assert_eq!(g.instance_types, vec!["t3.medium".to_owned()]);
    assert_eq!(
        (
            g.scaling.min_size,
            g.scaling.desired_size,
            g.scaling.max_size
        ),
        (1, 2, 5)
    );
    assert_eq!(g.disk_size, 50);
    assert_eq!(g.capacity_type, CapacityType::OnDemand);
    assert_eq!(g.ami_type, AmiType::AL2023_x86_64_STANDARD);
    assert!(c.components.karpenter.enabled);
    assert!(c.eks.access.endpoint_public_access);
    assert_eq!(c.eks.access.public_access_cidrs[0].to_string(), "0.0.0.0/0");
}

#[test]
fn empty_body_fills_every_default() {
    let c = ok(json!({}));
    assert_eq!(c.availability_zones.count, 3);
    assert!(c.availability_zones.names.is_empty());
    assert_eq!(c.vpc.cidr_block.to_string(), "10.0.0.0/16");
    assert_eq!(c.vpc.nat_gateway_strategy, NatStrategy::Single);
    assert!(c.vpc.enable_dns_hostnames && c.vpc.enable_dns_support);
    assert!(c.vpc.endpoints.s3 && !c.vpc.endpoints.ecr_api);
    assert_eq!(c.vpc.public_subnets.len(), 3);
    assert_eq!(c.vpc.private_subnets.len(), 3);
    assert!(c.vpc.pod_subnets.is_empty());
    assert_eq!(c.eks.version, crate::domain::config::DEFAULT_EKS_VERSION);
    assert_eq!(c.eks.service_ipv4_cidr.to_string(), "172.20.0.0/16");
    assert!(c.eks.encryption.enabled);
    assert!(c.eks.logging.types.is_empty());
    assert!(c.eks.addons.vpc_cni.enabled && !c.eks.addons.efs_csi_driver.enabled);
    assert!(c.components.argocd.component.enabled);
    assert_eq!(
        c.components.ingress.controller,
        IngressController::AwsLoadBalancerController
    );
    assert_eq!(c.components.cert_manager.chart.version, "v1.20.3");
    assert!(
        c.warnings.is_empty(),
        "defaults need no advice: {:?}",
        c.warnings
    );
}

#[test]
fn resolution_is_deterministic() {
    let body = json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16"]}});
    assert_eq!(ok(body.clone()), ok(body));
}

#[test]
fn round_trip_of_defaults_is_stable() {
    assert_round_trip(&ok(json!({})));
    assert_round_trip(&ok(
        json!({"eks_mode": "auto", "availability_zones": ["us-east-1a", "us-east-1b"]}),
    ));
}

#[test]
fn rich_full_example_resolves_and_round_trips() {
    let c = ok(json!({
        "availability_zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "vpc_config": {
            "cidr_block": "10.20.0.0/20",
            "secondary_cidr_blocks": ["100.64.0.0/18"],
            "nat_gateway_strategy": "one_per_az",
            "vpc_endpoints": {"ecr_api": true, "ecr_dkr": true, "sts": true, "logs": true},
            "tags": {"CostCenter": "platform"}
        },
        "eks_config": {
            "version": "1.32",
            "mode": "managed",
            "service_ipv4_cidr": "172.21.0.0/16",
            "access": {
                "endpoint_private_access": true,
                "endpoint_public_access": true,
                "public_access_cidrs": ["203.0.113.0/24"],
                "authentication_mode": "API",
                "access_entries": [
                    {"principal_arn": "arn:aws:iam::123456789012:role/admins"},
                    {"principal_arn": "arn:aws:iam::123456789012:user/dev", "policy": "AmazonEKSEditPolicy",
                     "access_scope": "namespace", "namespaces": ["team-a"]}
                ]
            },
            "logging_enabled": true,
            "encryption_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/abcd-1234",
            "zonal_shift_enabled": true,
            "deletion_protection": true,
            "addons": {"vpc_cni": {"version": "v1.19.0-eksbuild.1", "configuration": {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}},
                       "efs_csi_driver": {"enabled": true}},
            "node_groups": [
                {"name": "general", "scaling": {"min_size": 2, "desired_size": 3, "max_size": 10}},
                {"name": "gpu", "instance_types": ["g5.xlarge"], "ami_type": "AL2023_x86_64_NVIDIA",
                 "capacity_type": "SPOT", "disk_size": 200,
                 "labels": {"nvidia.com/gpu": "true"},
                 "taints": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]}
            ],
            "tags": {"Team": "infra"}
        },
        "components": {
            "argocd": {"version": "8.0.1", "values": {"server": {"replicas": 2}},
                       "repository": {"url": "https://github.com/acme/gitops", "root_app_path": "apps/root"}},
            "ingress": {"controller": "aws-load-balancer-controller"},
            "external_secrets": {"enabled": false}
        },
        "tags": {"Owner": "acme"}
    }));
    assert_eq!(c.vpc.pod_subnets.len(), 3);
    assert_eq!(c.eks.logging.types, vec!["api", "audit", "authenticator"]);
    assert_eq!(c.eks.node_groups.len(), 2);
    assert_eq!(c.components.ingress.component.namespace, "kube-system");
    assert_eq!(
        c.components
            .argocd
            .repository
            .as_ref()
            .map(|r| r.target_revision.as_str()),
        Some("HEAD")
    );
    assert_round_trip(&c);
}

#[test]
fn several_errors_are_reported_at_once() {
    let errs = errors(json!({
        "vpc_cidr": "10.0.0.0/8",
        "eks_version": "1.20",
        "node_group_config": {"min_size": 3, "desired_size": 2},
        "tags": {"aws:foo": "x"}
    }));
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "/vpc_cidr",
        "/eks_version",
        "/node_group_config/min_size",
        "/tags/aws:foo",
    ] {
        assert!(fields.contains(&f), "missing {f} in {fields:?}");
    }
}

#[test]
fn flat_and_nested_forms_of_the_same_setting_conflict() {
    ok(json!({"vpc_cidr": "10.1.0.0/16"}));
    ok(json!({"vpc_config": {"cidr_block": "10.1.0.0/16"}}));
    rejects(
        json!({"vpc_cidr": "10.1.0.0/16", "vpc_config": {"cidr_block": "10.1.0.0/16"}}),
        "/vpc_cidr",
        "/vpc_config/cidr_block",
    );
    rejects(
        json!({"eks_mode": "auto", "eks_config": {"mode": "auto"}}),
        "/eks_mode",
        "/eks_config/mode",
    );
    rejects(
        json!({"eks_version": "1.31", "eks_config": {"version": "1.31"}}),
        "/eks_version",
        "/eks_config/version",
    );
    rejects(
        json!({"node_group_config": {}, "eks_config": {"node_groups": [{}]}}),
        "/node_group_config",
        "/eks_config/node_groups",
    );
}

#[test]
fn type_errors_and_unknown_fields_point_at_the_value() {
    let e = parse_request(json!({"eks_config": {"node_groups": [{"scaling": {"min_size": "x"}}]}}))
        .expect_err("type error");
    assert_eq!(e.0[0].field, "/eks_config/node_groups/0/scaling/min_size");
    let e = parse_request(json!({"vpc_config": {"cidr": "10.0.0.0/16"}})).expect_err("unknown");
    assert_eq!(e.0[0].field, "/vpc_config/cidr");
    assert!(e.0[0].message.contains("unknown field"));
    let e = parse_request(json!({"eks_mode": "serverless"})).expect_err("enum");
    assert_eq!(e.0[0].field, "/eks_mode");
}

#[test]
fn yaml_input_is_accepted() {
    let r = parse_request_yaml("eks_mode: managed\nnode_group_config:\n  desired_size: 2\n")
        .expect("yaml");
    assert_eq!(r.eks_mode, Some(EksMode::Managed));
    let e = parse_request_yaml("eks_mode: [").expect_err("bad yaml");
    assert_eq!(e.0[0].field, "/");
    let e = parse_request_yaml("vpc_config:\n  nat_gateway_strategy: two\n").expect_err("bad enum");
    assert_eq!(e.0[0].field, "/vpc_config/nat_gateway_strategy");
}

#[test]
fn tags_are_checked() {
    ok(json!({"tags": {"Owner": "acme", "cost:center": "a b"}}));
    rejects(
        json!({"tags": {"aws:x": "1"}}),
        "/tags/aws:x",
        "reserved by AWS",
    );
    rejects(
        json!({"tags": {"ManagedBy": "me"}}),
        "/tags/ManagedBy",
        "cannot be overridden",
    );
    rejects(json!({"tags": {"k": "v".repeat(257)}}), "/tags/k", "256");
    rejects(
        json!({"tags": {"k".repeat(129): "v"}}),
        &format!("/tags/{}", "k".repeat(129)),
        "1–128",
    );
    let many: serde_json::Map<String, Value> =
        (0..47).map(|i| (format!("k{i}"), json!("v"))).collect();
    rejects(json!({"tags": many}), "/tags", "at most 46");
    let some: serde_json::Map<String, Value> =
        (0..40).map(|i| (format!("k{i}"), json!("v"))).collect();
    let more: serde_json::Map<String, Value> =
        (0..7).map(|i| (format!("x{i}"), json!("v"))).collect();
    rejects(
        json!({"tags": some, "eks_config": {"tags": more}}),
        "/eks_config/tags",
        "at most 6",
    );
    rejects(
        json!({"vpc_config": {"tags": {"a/b~c": "é\u{0}"}}}),
        "/vpc_config/tags/a~1b~0c",
        "tag values",
    );
}

#[test]
fn openapi_schema_documents_request_fields() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(EnvironmentConfigRequest::schema()).expect("schema");
    let props = &schema["properties"];
    for field in [
        "vpc_cidr",
        "eks_mode",
        "node_group_config",
        "vpc_config",
        "eks_config",
        "components",
        "tags",
    ] {
        assert!(
            props.get(field).is_some(),
            "{field} missing from {schema:#}"
        );
    }
    assert!(
        props["vpc_cidr"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("/16"))
    );
}

#[test]
fn serialized_requests_omit_unset_fields() {
    let r = parse_request(json!({"eks_mode": "managed"})).expect("parse");
    assert_eq!(
        serde_json::to_value(&r).expect("json"),
        json!({"eks_mode": "managed"})
    );
}

proptest::proptest! {
    #[test]
    fn any_vpc_16_to_24_with_2_to_6_azs_resolves_and_round_trips(
        second in 0u8..=255, third in 0u8..=255, prefix in 16u8..=24, azs in 2u8..=6,
    ) {
        let vpc = ipnet::Ipv4Net::new([10, second, third, 0].into(), prefix).expect("net").trunc();
        let c = ok(json!({"vpc_cidr": vpc.to_string(), "availability_zone_count": azs}));
        let all: Vec<_> = c.vpc.public_subnets.iter().chain(&c.vpc.private_subnets).collect();
        for (i, s) in all.iter().enumerate() {
            proptest::prop_assert!(vpc.contains(&s.cidr_block));
            proptest::prop_assert!(s.cidr_block.prefix_len() <= 28);
            for t in &all[..i] {
                proptest::prop_assert!(!s.cidr_block.contains(&t.cidr_block) && !t.cidr_block.contains(&s.cidr_block));
            }
        }
        assert_round_trip(&c);
    }
}

#[test]
fn minimal_spec_body_resolves_to_the_reviewed_shape() {
    let c = ok(json!({"eks_mode": "managed", "node_group_config": {"desired_size": 2}}));
    insta::assert_yaml_snapshot!(c);
}

#[test]
fn resolved_config_survives_json_storage() {
    let c =
        ok(json!({"components": {"argocd": {"repository": {"url": "https://github.com/a/b"}}}}));
    let stored = serde_json::to_string(&c).expect("serialize");
    let back: EnvironmentConfig = serde_json::from_str(&stored).expect("deserialize");
    assert_eq!(back, c);
}
