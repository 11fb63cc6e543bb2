//! Which pending creates byoc can adopt: the provider ID of a resource whose physical name is
//! fixed by the rendered program, and whose second create would fail. Rules per type, each as
//! the provider builds the ID (terraform-provider-aws resource ID formats, as bridged by
//! pulumi-aws; pulumi-kubernetes `<namespace>/<name>` for Helm releases):
//!
//! | type | ID | second create |
//! |---|---|---|
//! | `aws:iam/role:Role`, `aws:iam/instanceProfile:InstanceProfile` | `name` | `EntityAlreadyExists` |
//! | `aws:eks/cluster:Cluster` | `name` | `ResourceInUseException` |
//! | `aws:eks/nodeGroup:NodeGroup` | `clusterName:nodeGroupName` | `ResourceInUseException` |
//! | `aws:eks/addon:Addon` | `clusterName:addonName` | `ResourceInUseException` |
//! | `aws:eks/accessEntry:AccessEntry` | `clusterName:principalArn` | `ResourceInUseException` |
//! | `kubernetes:helm.sh/v3:Release` | `namespace/name` | name still in use |
//!
//! Everything else is cleared instead (`--clear-pending-creates`), for one of two reasons:
//! - its create is an upsert or adopts an identical object (`PutRolePolicy`, policy
//!   attachments, access policy associations, EventBridge `PutRule`, SQS `CreateQueue`,
//!   server-side-applied Kubernetes objects), so the next run's create is harmless;
//! - its ID is chosen by AWS (`vpc-…`, `subnet-…`, `lt-…`, `sg-…`, KMS key ids, pod identity
//!   association ids) or is an auto-name: it cannot be derived from the program. An object
//!   created before the crash is then no longer tracked (its tags say `ManagedBy=byoc` and
//!   the stack); for a fixed name (a launch template, a security group) the next run's create
//!   fails with "already exists" until it is deleted. The `byoc.pending-creates` event names
//!   each such resource so an operator can check it.

use yaml_serde::Value;

/// (type, identity properties, separator).
const RULES: &[(&str, &[&str], &str)] = &[
    ("aws:iam/role:Role", &["name"], ":"),
    ("aws:iam/instanceProfile:InstanceProfile", &["name"], ":"),
    ("aws:eks/cluster:Cluster", &["name"], ":"),
    (
        "aws:eks/nodeGroup:NodeGroup",
        &["clusterName", "nodeGroupName"],
        ":",
    ),
    ("aws:eks/addon:Addon", &["clusterName", "addonName"], ":"),
    (
        "aws:eks/accessEntry:AccessEntry",
        &["clusterName", "principalArn"],
        ":",
    ),
    ("kubernetes:helm.sh/v3:Release", &["namespace", "name"], "/"),
];

/// The rendered program's resources, to derive IDs from.
pub(super) struct ProgramIds {
    resources: yaml_serde::Mapping,
}

impl ProgramIds {
    /// Reads the program's `resources:` (an unreadable program derives nothing).
    pub(super) fn new(program_yaml: &str) -> Self {
        let doc: Value = yaml_serde::from_str(program_yaml).unwrap_or(Value::Null);
        let resources = match doc.get("resources") {
            Some(Value::Mapping(m)) => m.clone(),
            _ => yaml_serde::Mapping::new(),
        };
        Self { resources }
    }

    /// The provider ID of the resource `urn` (of type `type_`), when its rule applies and
    /// every identity property is a literal, or a `${resource.property}` reference to one.
    pub(super) fn derive(&self, urn: &str, type_: &str) -> Option<String> {
        let (_, props, sep) = RULES.iter().find(|(t, _, _)| *t == type_)?;
        let name = urn.rsplit("::").next()?;
        let res = self.resources.get(name)?;
        if res.get("type").and_then(Value::as_str) != Some(type_) {
            return None;
        }
        let properties = res.get("properties")?;
        let parts = props
            .iter()
            .map(|p| self.literal(lookup(properties, p)?, 0))
            .collect::<Option<Vec<String>>>()?;
        Some(parts.join(sep))
    }

    /// A scalar as a string; `${res.a.b}` follows the reference (a few levels deep).
    fn literal(&self, value: &Value, depth: usize) -> Option<String> {
        match value {
            Value::String(s) => match s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                Some(reference) if depth < 4 => {
                    let (head, path) = reference.split_once('.')?;
                    let props = self.resources.get(head)?.get("properties")?;
                    self.literal(lookup(props, path)?, depth + 1)
                }
                Some(_) => None,
                None if s.contains("${") => None,
                None => Some(s.clone()),
            },
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn lookup<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(value, |v, part| v.get(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = r#"
resources:
  cluster:
    type: aws:eks/cluster:Cluster
    properties:
      name: acme-prod
      roleArn: ${clusterRole.arn}
  general:
    type: aws:eks/nodeGroup:NodeGroup
    properties:
      clusterName: ${cluster.name}
      nodeGroupName: general
  nodes:
    type: aws:eks/accessEntry:AccessEntry
    properties:
      clusterName: ${cluster.name}
      principalArn: ${nodeRole.arn}
  vpc:
    type: aws:ec2/vpc:Vpc
    properties:
      cidrBlock: 10.0.0.0/16
"#;

    #[test]
    fn ids_follow_the_providers_formats_and_only_for_literal_names() {
        let ids = ProgramIds::new(PROGRAM);
        let urn = |n: &str, t: &str| format!("urn:pulumi:s::p::{t}::{n}");
        let cl = "aws:eks/cluster:Cluster";
        assert_eq!(
            ids.derive(&urn("cluster", cl), cl).as_deref(),
            Some("acme-prod")
        );
        let ng = "aws:eks/nodeGroup:NodeGroup";
        assert_eq!(
            ids.derive(&urn("general", ng), ng).as_deref(),
            Some("acme-prod:general")
        );
        // An ARN known only once the role exists: not derivable.
        let ae = "aws:eks/accessEntry:AccessEntry";
        assert_eq!(ids.derive(&urn("nodes", ae), ae), None);
        // AWS picks VPC ids.
        let vpc = "aws:ec2/vpc:Vpc";
        assert_eq!(ids.derive(&urn("vpc", vpc), vpc), None);
        // A type that does not match the program's resource.
        assert_eq!(ids.derive(&urn("cluster", ng), ng), None);
    }
}
