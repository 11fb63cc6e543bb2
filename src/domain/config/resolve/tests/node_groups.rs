//! Managed node group rules.

use serde_json::json;

use super::*;

fn group(g: serde_json::Value) -> serde_json::Value {
    json!({"eks_config": {"node_groups": [g]}})
}

const AT: &str = "/eks_config/node_groups/0";

#[test]
fn managed_mode_needs_a_node_group() {
    assert_eq!(ok(json!({"eks_mode": "managed"})).eks.node_groups.len(), 1);
    rejects(
        json!({"eks_config": {"node_groups": []}}),
        "/eks_config/node_groups",
        "at least one node group",
    );
}

#[test]
fn auto_mode_refuses_node_groups() {
    assert!(ok(json!({"eks_mode": "auto"})).eks.node_groups.is_empty());
    rejects(
        json!({"eks_mode": "auto", "node_group_config": {"desired_size": 2}}),
        "/node_group_config",
        "Auto Mode",
    );
    rejects(
        json!({"eks_config": {"mode": "auto", "node_groups": [{}]}}),
        "/eks_config/node_groups",
        "Auto Mode",
    );
}

#[test]
fn node_group_names_are_unique_and_valid() {
    ok(json!({"eks_config": {"node_groups": [{"name": "a"}, {"name": "b-2"}]}}));
    rejects(
        json!({"eks_config": {"node_groups": [{"name": "a"}, {"name": "a"}]}}),
        "/eks_config/node_groups/1/name",
        "used twice",
    );
    rejects(
        group(json!({"name": "Big_Group"})),
        &format!("{AT}/name"),
        "1–40 lowercase",
    );
    rejects(
        group(json!({"name": "x".repeat(41)})),
        &format!("{AT}/name"),
        "1–40",
    );
}

#[test]
fn instance_types_look_like_family_dot_size() {
    ok(group(
        json!({"instance_types": ["m7g.2xlarge", "m7i.metal-48xl", "u-6tb1.112xlarge"]}),
    ));
    rejects(
        group(json!({"instance_types": ["t3medium"]})),
        &format!("{AT}/instance_types/0"),
        "family.size",
    );
    rejects(
        group(json!({"instance_types": ["t3.medium", "t3.medium"]})),
        &format!("{AT}/instance_types/1"),
        "twice",
    );
    rejects(
        group(json!({"instance_types": []})),
        &format!("{AT}/instance_types"),
        "1 to 20",
    );
    rejects(
        json!({"node_group_config": {"instance_types": ["$(reboot)"]}}),
        "/node_group_config/instance_types/0",
        "family.size",
    );
}

#[test]
fn disk_size_is_20_to_1000() {
    ok(group(json!({"disk_size": 20})));
    rejects(
        group(json!({"disk_size": 19})),
        &format!("{AT}/disk_size"),
        "20 to 1000",
    );
    rejects(
        json!({"node_group_config": {"disk_size": 1001}}),
        "/node_group_config/disk_size",
        "20 to 1000",
    );
}

#[test]
fn scaling_must_be_ordered_and_bounded() {
    ok(group(
        json!({"scaling": {"min_size": 0, "desired_size": 0, "max_size": 1}}),
    ));
    ok(json!({"node_group_config": {"min_size": 3, "desired_size": 3, "max_size": 450}}));
    rejects(
        group(json!({"scaling": {"min_size": 3, "desired_size": 2}})),
        &format!("{AT}/scaling/min_size"),
        "must not exceed desired_size",
    );
    rejects(
        json!({"node_group_config": {"desired_size": 10}}),
        "/node_group_config/desired_size",
        "5, the default",
    );
    rejects(
        group(json!({"scaling": {"min_size": 0, "desired_size": 0, "max_size": 0}})),
        &format!("{AT}/scaling/max_size"),
        "at least 1",
    );
    rejects(
        group(json!({"scaling": {"max_size": 451}})),
        &format!("{AT}/scaling/max_size"),
        "at most 450",
    );
}

#[test]
fn labels_and_taints_use_kubernetes_keys() {
    ok(group(
        json!({"labels": {"example.com/team": "a", "tier": ""},
                    "taints": [{"key": "dedicated", "value": "gpu", "effect": "NO_EXECUTE"}]}),
    ));
    rejects(
        group(json!({"labels": {"bad key": "x"}})),
        &format!("{AT}/labels/bad key"),
        "label key",
    );
    rejects(
        group(json!({"labels": {"team": "-x"}})),
        &format!("{AT}/labels/team"),
        "label value",
    );
    rejects(
        group(json!({"taints": [{"key": "/x", "effect": "NO_SCHEDULE"}]})),
        &format!("{AT}/taints/0/key"),
        "label key",
    );
    rejects(
        group(json!({"taints": [{"key": "x", "value": "a b", "effect": "NO_SCHEDULE"}]})),
        &format!("{AT}/taints/0/value"),
        "label value",
    );
}

#[test]
fn node_group_tags_are_checked() {
    ok(group(json!({"tags": {"Pool": "general"}})));
    rejects(
        group(json!({"tags": {"Stack": "x"}})),
        &format!("{AT}/tags/Stack"),
        "cannot be overridden",
    );
}
