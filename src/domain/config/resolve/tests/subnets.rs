//! Subnet layout and explicit subnet rules.

use serde_json::json;

use super::*;

fn explicit(public: serde_json::Value, private: serde_json::Value) -> serde_json::Value {
    json!({"availability_zones": ["us-east-1a", "us-east-1b"],
           "vpc_config": {"cidr_block": "10.0.0.0/16", "secondary_cidr_blocks": ["100.64.0.0/16"],
                          "public_subnets": public, "private_subnets": private, "pod_subnets": []}})
}

fn pair() -> (serde_json::Value, serde_json::Value) {
    (
        json!([{"cidr_block": "10.0.0.0/24", "availability_zone": "us-east-1a"},
               {"cidr_block": "10.0.1.0/24", "az_index": 1}]),
        json!([{"cidr_block": "10.0.16.0/20", "az_index": 0, "name": "nodes-a"},
               {"cidr_block": "100.64.0.0/20", "availability_zone": "us-east-1b", "tags": {"Tier": "nodes"}}]),
    )
}

#[test]
fn default_layout_has_one_public_and_one_private_subnet_per_az() {
    for (cidr, azs) in [("10.0.0.0/16", 2), ("10.0.0.0/20", 3), ("10.0.0.0/24", 6)] {
        let c = ok(json!({"vpc_cidr": cidr, "availability_zone_count": azs}));
        for tier in [&c.vpc.public_subnets, &c.vpc.private_subnets] {
            let idx: Vec<u8> = tier.iter().map(|s| s.az_index).collect();
            assert_eq!(idx, (0..azs).collect::<Vec<u8>>());
            assert!(
                tier.iter()
                    .all(|s| c.vpc.cidr_block.contains(&s.cidr_block))
            );
        }
    }
}

#[test]
fn explicit_subnets_resolve_with_names_and_indexes() {
    let (public, private) = pair();
    let c = ok(explicit(public, private));
    assert_eq!(c.vpc.public_subnets[0].name, "public-0");
    assert_eq!(c.vpc.private_subnets[0].name, "nodes-a");
    assert_eq!(c.vpc.private_subnets[1].az_index, 1);
    assert_round_trip(&c);
}

#[test]
fn explicit_subnets_must_be_inside_a_vpc_cidr() {
    let (public, _) = pair();
    let private = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0}, {"cidr_block": "10.9.0.0/20", "az_index": 1}]);
    rejects(
        explicit(public, private),
        "/vpc_config/private_subnets/1/cidr_block",
        "not inside the VPC CIDR",
    );
}

#[test]
fn explicit_subnets_must_not_overlap() {
    let (public, _) = pair();
    let private = json!([{"cidr_block": "10.0.0.0/20", "az_index": 0}, {"cidr_block": "10.0.16.0/20", "az_index": 1}]);
    rejects(
        explicit(public, private),
        "/vpc_config/private_subnets/0/cidr_block",
        "overlaps subnet `public-0`",
    );
}

#[test]
fn explicit_subnet_sizes_are_16_to_28() {
    let (public, _) = pair();
    let private = json!([{"cidr_block": "10.0.16.0/29", "az_index": 0}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public, private),
        "/vpc_config/private_subnets/0/cidr_block",
        "/16 to /28",
    );
}

#[test]
fn explicit_subnet_az_must_be_an_environment_az() {
    let (public, _) = pair();
    let bad_name = json!([{"cidr_block": "10.0.16.0/20", "availability_zone": "us-east-1f"}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public.clone(), bad_name),
        "/vpc_config/private_subnets/0/availability_zone",
        "not one of the environment's AZs",
    );
    let bad_index = json!([{"cidr_block": "10.0.16.0/20", "az_index": 2}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public.clone(), bad_index),
        "/vpc_config/private_subnets/0/az_index",
        "out of range",
    );
    let both = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0, "availability_zone": "us-east-1a"}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public, both),
        "/vpc_config/private_subnets/0",
        "exactly one",
    );
}

#[test]
fn az_names_in_subnets_need_listed_availability_zones() {
    let body = json!({"vpc_config": {
        "public_subnets": [{"cidr_block": "10.0.0.0/24", "az_index": 0}, {"cidr_block": "10.0.1.0/24", "az_index": 1}],
        "private_subnets": [{"cidr_block": "10.0.16.0/20", "availability_zone": "us-east-1a"}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]}});
    rejects(
        body,
        "/vpc_config/private_subnets/0/availability_zone",
        "use az_index",
    );
}

#[test]
fn every_private_az_needs_a_public_subnet_with_nat() {
    let public = json!([{"cidr_block": "10.0.0.0/24", "az_index": 0}]);
    let private = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    let mut body = explicit(public.clone(), private.clone());
    rejects(
        body.clone(),
        "/vpc_config/private_subnets/1",
        "no public subnet",
    );
    body["vpc_config"]["nat_gateway_strategy"] = json!("one_per_az");
    rejects(body.clone(), "/vpc_config/private_subnets/1", "one_per_az");
    body["vpc_config"]["nat_gateway_strategy"] = json!("none");
    body["vpc_config"]["vpc_endpoints"] = json!({"ecr_api": true, "ecr_dkr": true, "sts": true});
    ok(body);
}

#[test]
fn public_and_private_lists_go_together() {
    let (public, _) = pair();
    rejects(
        json!({"vpc_config": {"public_subnets": public}}),
        "/vpc_config/private_subnets",
        "together",
    );
}

#[test]
fn private_subnets_must_span_two_azs() {
    let (public, _) = pair();
    let private = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0}]);
    rejects(
        explicit(public.clone(), private),
        "/vpc_config/private_subnets",
        "at least 2 AZs",
    );
    rejects(
        explicit(public, json!([])),
        "/vpc_config/private_subnets",
        "at least one private subnet",
    );
}

#[test]
fn subnet_names_must_be_unique_and_valid() {
    let (public, _) = pair();
    let dup = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0, "name": "public-0"}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public.clone(), dup),
        "/vpc_config/private_subnets/0/name",
        "used twice",
    );
    let bad = json!([{"cidr_block": "10.0.16.0/20", "az_index": 0, "name": "Nodes_A"}, {"cidr_block": "10.0.32.0/20", "az_index": 1}]);
    rejects(
        explicit(public, bad),
        "/vpc_config/private_subnets/0/name",
        "lowercase",
    );
}

#[test]
fn explicit_pod_subnets_may_sit_in_a_secondary_cidr() {
    let (public, private) = pair();
    let mut body = explicit(public, private);
    body["vpc_config"]["pod_subnets"] = json!([{"cidr_block": "100.64.128.0/18", "az_index": 0}, {"cidr_block": "100.64.192.0/18", "az_index": 1}]);
    assert_eq!(ok(body.clone()).vpc.pod_subnets.len(), 2);
    body["vpc_config"]["pod_subnets"] = json!([{"cidr_block": "100.64.0.0/18", "az_index": 0}]);
    rejects(
        body,
        "/vpc_config/pod_subnets/0/cidr_block",
        "overlaps subnet",
    );
}
