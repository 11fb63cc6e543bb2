//! AZ, VPC CIDR, NAT and endpoint rules.

use serde_json::json;

use super::*;

#[test]
fn vpc_cidr_must_be_a_canonical_cidr() {
    ok(json!({"vpc_cidr": "192.168.0.0/20"}));
    rejects(
        json!({"vpc_cidr": "10.0.0/16"}),
        "/vpc_cidr",
        "not an IPv4 CIDR",
    );
    rejects(
        json!({"vpc_config": {"cidr_block": "10.0.1.0/16"}}),
        "/vpc_config/cidr_block",
        "did you mean 10.0.0.0/16",
    );
}

#[test]
fn vpc_prefix_must_be_16_to_24() {
    ok(json!({"vpc_cidr": "10.0.0.0/24"}));
    rejects(
        json!({"vpc_cidr": "10.0.0.0/15"}),
        "/vpc_cidr",
        "/16 to /24",
    );
    rejects(
        json!({"vpc_cidr": "10.0.0.0/25"}),
        "/vpc_cidr",
        "/16 to /24",
    );
}

#[test]
fn az_count_must_be_2_to_6() {
    assert_eq!(
        ok(json!({"availability_zone_count": 6}))
            .availability_zones
            .count,
        6
    );
    rejects(
        json!({"availability_zone_count": 1}),
        "/availability_zone_count",
        "2 to 6",
    );
    rejects(
        json!({"availability_zone_count": 7}),
        "/availability_zone_count",
        "2 to 6",
    );
}

#[test]
fn az_names_must_belong_to_the_region_and_be_unique() {
    let c = ok(json!({"availability_zones": ["us-east-1a", "us-east-1d"]}));
    assert_eq!(c.availability_zones.count, 2);
    rejects(
        json!({"availability_zones": ["us-east-1a", "eu-west-1b"]}),
        "/availability_zones/1",
        "region us-east-1",
    );
    rejects(
        json!({"availability_zones": ["us-east-1a", "us-east-1a"]}),
        "/availability_zones/1",
        "twice",
    );
    rejects(
        json!({"availability_zones": ["us-east-1a"]}),
        "/availability_zones",
        "2 to 6",
    );
    rejects(
        json!({"availability_zones": ["us-east-1a", "us-east-1b"], "availability_zone_count": 3}),
        "/availability_zone_count",
        "agree",
    );
    ok(json!({"availability_zones": ["us-east-1a", "us-east-1b"], "availability_zone_count": 2}));
}

#[test]
fn secondary_cidrs_must_be_valid_disjoint_and_in_allowed_ranges() {
    ok(json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16", "10.1.0.0/28"]}}));
    let base = "/vpc_config/secondary_cidr_blocks";
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["nope"]}}),
        &format!("{base}/0"),
        "not an IPv4 CIDR",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["10.0.128.0/17"]}}),
        &format!("{base}/0"),
        "overlaps the primary",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16", "100.64.1.0/24"]}}),
        &format!("{base}/1"),
        "overlaps the secondary",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["8.8.0.0/16"]}}),
        &format!("{base}/0"),
        "outside the ranges",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/29"]}}),
        &format!("{base}/0"),
        "/16 to /28",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16", "100.65.0.0/16", "100.66.0.0/16", "100.67.0.0/16", "100.68.0.0/16"]}}),
        base,
        "AWS allows 4",
    );
}

#[test]
fn pod_subnets_are_carved_from_the_first_secondary_cidr_whatever_its_size() {
    for (secondary, azs) in [
        ("100.64.0.0/16", 3),
        ("100.64.0.0/20", 2),
        ("100.64.0.0/26", 2),
    ] {
        let c = ok(
            json!({"availability_zone_count": azs, "vpc_config": {"secondary_cidr_blocks": [secondary]}}),
        );
        let net: ipnet::Ipv4Net = secondary.parse().expect("net");
        assert_eq!(c.vpc.pod_subnets.len(), azs);
        assert!(
            c.vpc
                .pod_subnets
                .iter()
                .all(|s| net.contains(&s.cidr_block))
        );
    }
    rejects(
        json!({"availability_zone_count": 3, "vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/27"]}}),
        "/vpc_config/secondary_cidr_blocks/0",
        "too small",
    );
    let c =
        ok(json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/27"], "pod_subnets": []}}));
    assert!(c.vpc.pod_subnets.is_empty());
}

#[test]
fn nat_none_needs_endpoints_for_image_pulls() {
    let endpoints = json!({"ecr_api": true, "ecr_dkr": true, "sts": true});
    let components_off = json!({"karpenter": {"enabled": false}, "argocd": {"enabled": false},
        "cert_manager": {"enabled": false}, "external_secrets": {"enabled": false}, "ingress": {"enabled": false}});
    ok(
        json!({"vpc_config": {"nat_gateway_strategy": "none", "vpc_endpoints": endpoints},
        "eks_config": {"access": {"endpoint_public_access": false}}, "components": components_off}),
    );
    rejects(
        json!({"vpc_config": {"nat_gateway_strategy": "none"},
            "eks_config": {"access": {"endpoint_public_access": false}}, "components": components_off}),
        "/vpc_config/vpc_endpoints",
        "enable ecr_api, ecr_dkr, sts",
    );
    rejects(
        json!({"vpc_config": {"nat_gateway_strategy": "none", "vpc_endpoints": {"ecr_api": true, "ecr_dkr": true, "sts": true, "s3": false}}}),
        "/vpc_config/vpc_endpoints",
        "enable s3",
    );
    rejects(
        json!({"vpc_config": {"nat_gateway_strategy": "none", "vpc_endpoints": endpoints},
            "eks_config": {"access": {"endpoint_private_access": false}}}),
        "/eks_config/access/endpoint_private_access",
        "without NAT",
    );
}

#[test]
fn private_endpoint_needs_vpc_dns() {
    ok(
        json!({"vpc_config": {"enable_dns_support": false}, "eks_config": {"access": {"endpoint_private_access": false}}}),
    );
    rejects(
        json!({"vpc_config": {"enable_dns_hostnames": false}}),
        "/vpc_config/enable_dns_hostnames",
        "DNS",
    );
}
