//! Managed node groups: the spec's flat `node_group_config` or `eks_config.node_groups`.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{check_tags, label_key, label_value, ptr};
use crate::domain::ValidationErrors;
use crate::domain::config::request::{NodeGroupRequest, ScalingRequest, TaintRequest};
use crate::domain::config::{
    AmiType, CapacityType, EksMode, EnvironmentConfigRequest, NodeGroup, Scaling, Taint,
};

/// EKS quota: nodes per managed node group.
pub const MAX_NODES_PER_GROUP: u32 = 450;
/// EKS quota: managed node groups per cluster.
pub const MAX_NODE_GROUPS: usize = 30;
/// Name of the default (and the spec's flat) node group.
pub const DEFAULT_NODE_GROUP: &str = "general";
/// Default instance type.
pub const DEFAULT_INSTANCE_TYPE: &str = "t3.medium";

/// Where a node group's fields live in the request.
struct Paths {
    base: String,
    flat: bool,
}

impl Paths {
    fn field(&self, name: &str) -> String {
        ptr(&self.base, name)
    }
    fn scaling(&self, name: &str) -> String {
        if self.flat {
            ptr(&self.base, name)
        } else {
            ptr(&ptr(&self.base, "scaling"), name)
        }
    }
}

/// The node groups of the environment after every node-group rule.
pub fn resolve_node_groups(
    request: &EnvironmentConfigRequest,
    mode: EksMode,
    tag_budget: usize,
    errors: &mut ValidationErrors,
) -> Vec<NodeGroup> {
    let nested = request
        .eks_config
        .as_ref()
        .and_then(|e| e.node_groups.clone());
    let (groups, flat) = match (nested, &request.node_group_config) {
        (Some(list), _) => (list, false),
        (None, Some(f)) => {
            let group = NodeGroupRequest {
                name: None,
                instance_types: f.instance_types.clone(),
                capacity_type: f.capacity_type,
                disk_size: f.disk_size,
                scaling: Some(ScalingRequest {
                    min_size: f.min_size,
                    desired_size: f.desired_size,
                    max_size: f.max_size,
                }),
                ..NodeGroupRequest::default()
            };
            (vec![group], true)
        }
        (None, None) if mode == EksMode::Managed => (vec![NodeGroupRequest::default()], false),
        (None, None) => return Vec::new(),
    };
    let list_field = if flat {
        "/node_group_config"
    } else {
        "/eks_config/node_groups"
    };
    if mode == EksMode::Auto {
        if !groups.is_empty() {
            errors.push(list_field, "EKS Auto Mode manages compute itself and takes no node groups; remove them or use managed mode");
        }
        return Vec::new();
    }
    if groups.is_empty() {
        errors.push(list_field, "managed mode needs at least one node group");
    } else if groups.len() > MAX_NODE_GROUPS {
        errors.push(
            list_field,
            format!(
                "{} node groups; EKS allows {MAX_NODE_GROUPS} per cluster",
                groups.len()
            ),
        );
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        let paths = Paths {
            base: if flat {
                list_field.to_owned()
            } else {
                ptr(list_field, i)
            },
            flat,
        };
        let group = node_group(g, &paths, tag_budget, errors);
        if !names.insert(group.name.clone()) {
            errors.push(
                paths.field("name"),
                format!("node group name `{}` is used twice", group.name),
            );
        }
        out.push(group);
    }
    out
}

fn node_group(
    g: NodeGroupRequest,
    paths: &Paths,
    tag_budget: usize,
    errors: &mut ValidationErrors,
) -> NodeGroup {
    let name = g.name.unwrap_or_else(|| DEFAULT_NODE_GROUP.to_owned());
    errors.check(&paths.field("name"), check_name(&name));
    let instance_types = g
        .instance_types
        .unwrap_or_else(|| vec![DEFAULT_INSTANCE_TYPE.to_owned()]);
    if instance_types.is_empty() || instance_types.len() > 20 {
        errors.push(paths.field("instance_types"), "list 1 to 20 instance types");
    }
    let mut seen = BTreeSet::new();
    for (i, t) in instance_types.iter().enumerate() {
        let at = ptr(&paths.field("instance_types"), i);
        if !instance_type_ok(t) {
            errors.push(
                at,
                format!("`{t}` is not an EC2 instance type like t3.medium (family.size)"),
            );
        } else if !seen.insert(t) {
            errors.push(at, format!("`{t}` is listed twice"));
        }
    }
    let disk_size = g.disk_size.unwrap_or(50);
    if !(20..=1000).contains(&disk_size) {
        errors.push(
            paths.field("disk_size"),
            format!("{disk_size} GiB; use 20 to 1000"),
        );
    }
    let scaling = scaling(g.scaling.unwrap_or_default(), paths, errors);
    let labels = g.labels.unwrap_or_default();
    for (k, v) in &labels {
        let at = ptr(&paths.field("labels"), k);
        errors.check(&at, label_key(k));
        errors.check(&at, label_value(v));
    }
    let taints = taints(g.taints.unwrap_or_default(), paths, errors);
    let tags: BTreeMap<String, String> = g.tags.unwrap_or_default();
    check_tags(errors, &paths.field("tags"), &tags, tag_budget);
    NodeGroup {
        name,
        instance_types,
        capacity_type: g.capacity_type.unwrap_or(CapacityType::OnDemand),
        ami_type: g.ami_type.unwrap_or(AmiType::AL2023_x86_64_STANDARD),
        disk_size,
        scaling,
        labels,
        taints,
        tags,
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be 1–40 lowercase letters, digits or hyphens, starting with a letter"
        ))
    }
}

/// `family.size`, e.g. `t3.medium`, `m7g.2xlarge`, `m7i.metal-48xl`.
pub fn instance_type_ok(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let part = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    family.starts_with(|c: char| c.is_ascii_lowercase()) && part(family) && part(size)
}

fn scaling(s: ScalingRequest, paths: &Paths, errors: &mut ValidationErrors) -> Scaling {
    let min_size = s.min_size.unwrap_or(1);
    let desired_size = s.desired_size.unwrap_or(2);
    let max_size = s.max_size.unwrap_or(5);
    let shown = |v: Option<u32>, value: u32| {
        if v.is_some() {
            value.to_string()
        } else {
            format!("{value}, the default")
        }
    };
    for (name, v) in [
        ("min_size", min_size),
        ("desired_size", desired_size),
        ("max_size", max_size),
    ] {
        if v > MAX_NODES_PER_GROUP {
            errors.push(
                paths.scaling(name),
                format!("{v} nodes; EKS allows at most {MAX_NODES_PER_GROUP} per node group"),
            );
        }
    }
    if max_size < 1 {
        errors.push(paths.scaling("max_size"), "must be at least 1");
    }
    if min_size > desired_size {
        errors.push(
            paths.scaling("min_size"),
            format!(
                "min_size ({}) must not exceed desired_size ({})",
                shown(s.min_size, min_size),
                shown(s.desired_size, desired_size)
            ),
        );
    }
    if desired_size > max_size {
        errors.push(
            paths.scaling("desired_size"),
            format!(
                "desired_size ({}) must not exceed max_size ({}); raise max_size",
                shown(s.desired_size, desired_size),
                shown(s.max_size, max_size)
            ),
        );
    }
    Scaling {
        min_size,
        desired_size,
        max_size,
    }
}

fn taints(list: Vec<TaintRequest>, paths: &Paths, errors: &mut ValidationErrors) -> Vec<Taint> {
    if list.len() > 50 {
        errors.push(
            paths.field("taints"),
            "EKS allows at most 50 taints per node group",
        );
    }
    list.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let at = ptr(&paths.field("taints"), i);
            errors.check(&ptr(&at, "key"), label_key(&t.key));
            let value = t.value.unwrap_or_default();
            errors.check(&ptr(&at, "value"), label_value(&value));
            Taint {
                key: t.key,
                value,
                effect: t.effect,
            }
        })
        .collect()
}
