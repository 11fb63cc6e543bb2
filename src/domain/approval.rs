//! Change control (issue 18): an environment's approval policy, the per-resource change list a
//! deploy's preview shows, and the rule deciding whether that change list is held for a
//! reviewer. Pure: the worker applies it to a preview's events, the API shows its result.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ValidationErrors;

/// When a deploy waits for a reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// Deploys apply at once (no saved plan).
    #[default]
    Never,
    /// Every deploy's preview is held for approval.
    Always,
    /// Held when the preview deletes or replaces anything, or changes a resource of a
    /// protected type other than its tags.
    OnDestructive,
}

/// The resource types `on_destructive` protects by default: the VPC, its subnets, the EKS
/// cluster and IAM roles (the node roles among them). Type tokens as the program declares them.
pub const DEFAULT_PROTECTED_TYPES: &[&str] = &[
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:eks/cluster:Cluster",
    "aws:iam/role:Role",
];

/// An environment's approval settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// When a deploy waits for approval.
    pub policy: ApprovalPolicy,
    /// Pulumi type tokens (`aws:ec2/vpc:Vpc`) whose non-tag changes `on_destructive` holds.
    pub protected_types: Vec<String>,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            policy: ApprovalPolicy::Never,
            protected_types: DEFAULT_PROTECTED_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        }
    }
}

/// The `approval` section of a config request; absent fields take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// `never` (default), `always` or `on_destructive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<ApprovalPolicy>,
    /// Protected type tokens; default VPC, subnets, the EKS cluster and IAM roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected_types: Option<Vec<String>>,
}

/// At most this many protected types.
const MAX_PROTECTED_TYPES: usize = 100;

impl ApprovalRequest {
    /// Validates and fills the defaults; errors name `/approval/...`.
    pub fn resolve(self, errors: &mut ValidationErrors) -> ApprovalConfig {
        let mut config = ApprovalConfig::default();
        if let Some(policy) = self.policy {
            config.policy = policy;
        }
        if let Some(types) = self.protected_types {
            if types.len() > MAX_PROTECTED_TYPES {
                errors.push(
                    "/approval/protected_types",
                    format!("at most {MAX_PROTECTED_TYPES} protected types"),
                );
            }
            for (i, t) in types.iter().enumerate() {
                if !is_type_token(t) {
                    errors.push(
                        format!("/approval/protected_types/{i}"),
                        format!(
                            "'{t}' is not a Pulumi type token `<package>:<module>:<Type>` \
                             (e.g. `aws:ec2/vpc:Vpc`)"
                        ),
                    );
                }
            }
            config.protected_types = types;
        }
        config
    }
}

/// `<package>:<module>:<Type>` (module may be empty, as in `pulumi:providers:aws`).
fn is_type_token(t: &str) -> bool {
    let parts: Vec<&str> = t.split(':').collect();
    let ok = |s: &str, extra: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[2].is_empty()
        && ok(parts[0], "-_")
        && ok(parts[1], "-_./")
        && ok(parts[2], "_")
}

/// What a deploy's preview will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceChange {
    /// The engine's step op: `create`, `update`, `replace`, `delete`, … (an open set).
    pub op: String,
    /// The resource URN.
    pub urn: String,
    /// Its type token.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its logical name.
    pub name: String,
    /// For updates and replacements, the property paths that change (never their values:
    /// inputs may be secret).
    pub paths: Vec<String>,
}

/// Ops that remove or recreate a resource (pulumi/pulumi `sdk/go/common/display` step ops).
const DESTRUCTIVE_OPS: &[&str] = &[
    "delete",
    "replace",
    "create-replacement",
    "delete-replaced",
    "discard",
    "discard-replaced",
    "import-replacement",
    "read-replacement",
];

/// Ops that change nothing.
const NO_CHANGE_OPS: &[&str] = &["same", "read", "refresh"];

impl ResourceChange {
    /// Whether it removes or recreates the resource.
    pub fn is_destructive(&self) -> bool {
        DESTRUCTIVE_OPS.contains(&self.op.as_str())
    }

    /// Whether every changed path is a tag (`tags`, `tagsAll` and paths below them).
    pub fn tags_only(&self) -> bool {
        !self.paths.is_empty()
            && self.paths.iter().all(|p| {
                let root = p.split(['.', '[']).next().unwrap_or(p);
                root == "tags" || root == "tagsAll"
            })
    }
}

/// Folds a preview's engine events into its change list: one entry per resource with a
/// planned (`planning: true`) step other than `same`/`read`/`refresh`, in order, from the `resourcePreEvent`s
/// (`metadata.op`, `urn`, `type`; the paths from `detailedDiff`'s keys, else `diffs`). The
/// stack resource itself is left out: its "changes" are the stack outputs.
#[derive(Debug, Clone, Default)]
pub struct ChangeListBuilder {
    changes: Vec<ResourceChange>,
}

impl ChangeListBuilder {
    /// Folds one raw engine event in.
    pub fn observe(&mut self, event: &Value) {
        // Only a preview's steps (`planning: true`): an operation's log may also hold the
        // steps of a pending-operations repair or of the update that applied the plan.
        if event.pointer("/resourcePreEvent/planning") != Some(&Value::Bool(true)) {
            return;
        }
        let Some(meta) = event.pointer("/resourcePreEvent/metadata") else {
            return;
        };
        let s = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default();
        let (op, urn, type_) = (s("op"), s("urn"), s("type"));
        if NO_CHANGE_OPS.contains(&op) || type_ == "pulumi:pulumi:Stack" || urn.is_empty() {
            return;
        }
        let mut paths: Vec<String> = match meta.get("detailedDiff") {
            Some(Value::Object(d)) if !d.is_empty() => d.keys().cloned().collect(),
            _ => meta
                .get("diffs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        };
        paths.sort();
        paths.dedup();
        let name = urn.rsplit("::").next().unwrap_or(urn).to_owned();
        // A replacement shows as a chain of steps for one URN: keep the first (the `replace`
        // or `create-replacement` that names it) and add later paths.
        if let Some(existing) = self.changes.iter_mut().find(|c| c.urn == urn) {
            if existing.op != "replace" && op == "replace" {
                existing.op = op.to_owned();
            }
            existing.paths.extend(paths);
            existing.paths.sort();
            existing.paths.dedup();
            return;
        }
        self.changes.push(ResourceChange {
            op: op.to_owned(),
            urn: urn.to_owned(),
            type_: type_.to_owned(),
            name,
            paths,
        });
    }

    /// The change list.
    pub fn finish(self) -> Vec<ResourceChange> {
        self.changes
    }
}

/// Why `config`'s policy holds `changes` for approval, or `None` when it lets them through.
pub fn hold_reason(config: &ApprovalConfig, changes: &[ResourceChange]) -> Option<String> {
    match config.policy {
        ApprovalPolicy::Never => None,
        ApprovalPolicy::Always => Some("the environment's approval policy is `always`".into()),
        ApprovalPolicy::OnDestructive => changes.iter().find_map(|c| {
            if c.is_destructive() {
                return Some(format!("{} of {} '{}'", c.op, c.type_, c.name));
            }
            let protected = config.protected_types.contains(&c.type_);
            (protected && c.op != "create" && !c.tags_only()).then(|| {
                format!(
                    "{} of protected {} '{}' ({})",
                    c.op,
                    c.type_,
                    c.name,
                    c.paths.join(", ")
                )
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pre(op: &str, ty: &str, name: &str, diffs: &[&str]) -> Value {
        json!({"sequence": 1, "resourcePreEvent": {"planning": true, "metadata": {
            "op": op, "urn": format!("urn:pulumi:s::p::{ty}::{name}"), "type": ty,
            "diffs": diffs, "detailedDiff": null}}})
    }

    fn changes(events: &[Value]) -> Vec<ResourceChange> {
        let mut b = ChangeListBuilder::default();
        events.iter().for_each(|e| b.observe(e));
        b.finish()
    }

    #[test]
    fn change_list_keeps_changes_and_their_paths_only() {
        let list = changes(&[
            pre("same", "aws:ec2/vpc:Vpc", "vpc", &[]),
            pre("update", "aws:ec2/vpc:Vpc", "vpc", &["tags", "cidrBlock"]),
            pre("update", "pulumi:pulumi:Stack", "p-s", &[]),
            json!({"diagnosticEvent": {"message": "x"}}),
        ]);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "vpc");
        assert_eq!(list[0].paths, ["cidrBlock", "tags"]);
    }

    #[test]
    fn on_destructive_lets_tags_through_and_holds_a_protected_change() {
        let config = ApprovalConfig {
            policy: ApprovalPolicy::OnDestructive,
            ..ApprovalConfig::default()
        };
        let tags = changes(&[pre(
            "update",
            "aws:ec2/vpc:Vpc",
            "vpc",
            &["tags", "tagsAll.team"],
        )]);
        assert_eq!(hold_reason(&config, &tags), None);
        let cidr = changes(&[pre("update", "aws:ec2/vpc:Vpc", "vpc", &["cidrBlock"])]);
        assert!(hold_reason(&config, &cidr).unwrap().contains("cidrBlock"));
        let unprotected = changes(&[pre("update", "aws:sqs/queue:Queue", "q", &["name"])]);
        assert_eq!(hold_reason(&config, &unprotected), None);
        let replaced = changes(&[pre("replace", "aws:sqs/queue:Queue", "q", &["name"])]);
        assert!(hold_reason(&config, &replaced).is_some());
        let created = changes(&[pre("create", "aws:ec2/subnet:Subnet", "s", &[])]);
        assert_eq!(hold_reason(&config, &created), None);
    }

    #[test]
    fn always_holds_and_never_does_not() {
        let mut config = ApprovalConfig::default();
        assert_eq!(hold_reason(&config, &[]), None);
        config.policy = ApprovalPolicy::Always;
        assert!(hold_reason(&config, &[]).is_some());
    }

    #[test]
    fn protected_types_must_be_type_tokens() {
        let mut errors = ValidationErrors::new();
        let req = ApprovalRequest {
            policy: Some(ApprovalPolicy::OnDestructive),
            protected_types: Some(vec!["aws:ec2/vpc:Vpc".into(), "Vpc".into()]),
        };
        req.resolve(&mut errors);
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "/approval/protected_types/1");
    }
}
