//! Every statement of both templates checked against AWS's Service Authorization Reference, as
//! bundled by parliament (`parliament/iam_definition.json`: per action its resource types, each
//! with the condition keys the action supports for it, and per service the resource types' ARN
//! formats and keys):
//!
//! - every action exists;
//! - an action that takes no resource type is granted on `"*"` (AWS matches it only there);
//! - otherwise some resource of the statement matches one of the action's resource types;
//! - every condition key is available for the action on *each* resource type the statement
//!   matches (the action's row for that type, or the type's own keys when the row lists none,
//!   plus the action-wide row and the truly global `aws:` keys). A key that is not available is
//!   absent from the request context, and the statement silently stops applying. The tag keys
//!   `aws:RequestTag/*`, `aws:ResourceTag/*` and `aws:TagKeys` are *not* treated as global:
//!   `aws:RequestTag` belongs to the resource being created, not to the existing ones a create
//!   call also uses (the `subnet*` vs the `vpc*` row of `ec2:CreateSubnet`);
//! - across the statements of a role, every required resource type (`type*`) of every granted
//!   action is granted by some statement;
//! - every dependent action the reference lists is granted, or documented as not needed;
//! - writes of the services the programs tag are granted only under the ManagedBy tag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value as Json;

use super::{
    CUSTOMER, PLATFORM, load, managed_policies, python, python_has, read, statements, strings,
};

/// Condition keys every action supports (IAM User Guide, "AWS global condition context keys"),
/// without the tag keys, which are per action (see the module comment).
const GLOBAL_KEYS: &[&str] = &[
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:currenttime",
    "aws:epochtime",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principaltag/*",
    "aws:principaltype",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:securetransport",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
];

/// Dependent actions (reference column) the roles deliberately do not grant, and why.
const DEPENDENT_NOT_GRANTED: &[(&str, &str, &str)] = &[
    (
        "ec2:createlaunchtemplate",
        "ssm:getparameters",
        "only for an AMI named by an SSM parameter; the programs' launch templates name no AMI",
    ),
    (
        "ec2:createlaunchtemplateversion",
        "ssm:getparameters",
        "only for an AMI named by an SSM parameter; the programs' launch templates name no AMI",
    ),
    (
        "ec2:describelaunchtemplateversions",
        "ssm:getparameters",
        "only to resolve an AMI named by an SSM parameter; the programs' launch templates name none",
    ),
    (
        "kms:createkey",
        "kms:putkeypolicy",
        "only when CreateKey is given a key policy; the programs create keys with the default one",
    ),
];

/// Statements that grant writes without the ManagedBy tag, and why.
const UNTAGGED_WRITES: &[(&str, &str)] = &[
    (
        "EksAddonPodIdentityAssociations",
        "the optional association resource of addon calls; the addon and cluster are tag-checked",
    ),
    (
        "KmsGrantsForAwsServicesOnly",
        "EKS creates a grant on a key the config may name; only grants for AWS services",
    ),
];

/// Services whose resources the programs create with `defaultTags` (ManagedBy=byoc).
const TAGGED_SERVICES: &[&str] = &["ec2", "eks", "kms", "sqs", "events"];

/// The reference data: service prefix (lower case) → service object.
pub struct Sar(HashMap<String, Json>);

impl Sar {
    /// parliament's bundled data, located through the installed package.
    pub fn load() -> Option<Self> {
        if !python_has(&["parliament"], "pip install -r .ci/requirements.txt") {
            return None;
        }
        let out = Command::new(python())
            .args([
                "-c",
                "import os, parliament; print(os.path.join(os.path.dirname(parliament.__file__), 'iam_definition.json'))",
            ])
            .output()
            .expect("python runs");
        let path = String::from_utf8(out.stdout).unwrap();
        let data: Json = serde_json::from_str(&std::fs::read_to_string(path.trim()).unwrap())
            .expect("iam_definition.json");
        let services = data
            .as_array()
            .expect("a list of services")
            .iter()
            .map(|s| (s["prefix"].as_str().unwrap().to_lowercase(), s.clone()))
            .collect();
        Some(Self(services))
    }

    /// Privileges of `service:pattern` (wildcards allowed), lower-case names.
    fn privileges(&self, action: &str) -> Vec<(String, &Json)> {
        let (svc, pattern) = action.split_once(':').expect("service:action");
        let Some(service) = self.0.get(&svc.to_lowercase()) else {
            return Vec::new();
        };
        service["privileges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                glob(
                    &pattern.to_lowercase(),
                    &p["privilege"].as_str().unwrap().to_lowercase(),
                )
            })
            .map(|p| {
                (
                    format!(
                        "{}:{}",
                        svc.to_lowercase(),
                        p["privilege"].as_str().unwrap().to_lowercase()
                    ),
                    p,
                )
            })
            .collect()
    }

    /// The access level (Read, List, Write, Tagging, Permissions management) of an action.
    pub fn access_level(&self, action: &str) -> Option<String> {
        let (_, p) = self.privileges(action).into_iter().next()?;
        p["access_level"].as_str().map(str::to_owned)
    }

    fn resource_type(&self, service: &str, rt: &str) -> Option<&Json> {
        self.0.get(service)?["resources"]
            .as_array()?
            .iter()
            .find(|r| r["resource"] == rt)
    }
}

/// One resource type row of an action, resolved.
struct Row {
    name: String,
    required: bool,
    /// ARN format (see `arn_format`).
    arn: Vec<u8>,
    keys: Vec<String>,
}

fn rows(sar: &Sar, action: &str, privilege: &Json) -> (Vec<Row>, Vec<String>) {
    let service = action.split(':').next().unwrap();
    let mut typed = Vec::new();
    let mut action_wide = Vec::new();
    for r in privilege["resource_types"].as_array().unwrap() {
        let keys: Vec<String> = strings(&r["condition_keys"])
            .iter()
            .map(|k| k.to_lowercase())
            .collect();
        let rt = r["resource_type"].as_str().unwrap();
        if rt.is_empty() {
            action_wide = keys;
            continue;
        }
        let name = rt.trim_end_matches('*').to_owned();
        let def = sar.resource_type(service, &name);
        let arn = def
            .and_then(|d| d["arn"].as_str())
            .map(arn_format)
            .unwrap_or_else(|| vec![PLACEHOLDER]);
        // The row's own keys; when it lists none, the resource type's keys apply.
        let keys = if keys.is_empty() {
            def.map(|d| {
                strings(&d["condition_keys"])
                    .iter()
                    .map(|k| k.to_lowercase())
                    .collect()
            })
            .unwrap_or_default()
        } else {
            keys
        };
        typed.push(Row {
            name,
            required: rt.ends_with('*'),
            arn,
            keys,
        });
    }
    (typed, action_wide)
}

/// `${Partition}`, `<key>` and the like → `*`.
fn placeholders_to_glob(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek() == Some(&'{') => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push('*');
            }
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
                out.push('*');
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` matches the IAM glob `pattern` (`*` any run, `?` one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    matches(pattern.as_bytes(), text.as_bytes())
}

/// Stands for one placeholder of an ARN format (`${VpcId}`): any run of characters but `:`.
const PLACEHOLDER: u8 = 0x01;

/// An ARN format (`${…}` placeholders, or parliament's `*`) as the bytes `matches` takes.
pub fn arn_format(format: &str) -> Vec<u8> {
    placeholders_to_glob(format)
        .bytes()
        .map(|b| if b == b'*' { PLACEHOLDER } else { b })
        .collect()
}

/// Whether some string matches both the IAM glob `a` and `b` (a literal, or an ARN format from
/// `arn_format`, whose placeholders never span a `:`, so `vpc/*` cannot reach a subnet ARN).
pub fn matches(a: &[u8], b: &[u8]) -> bool {
    fn go(
        a: &[u8],
        b: &[u8],
        i: usize,
        j: usize,
        memo: &mut HashMap<(usize, usize), bool>,
    ) -> bool {
        if let Some(&r) = memo.get(&(i, j)) {
            return r;
        }
        let r = match (a.get(i), b.get(j)) {
            (None, None) => true,
            (Some(b'*'), _) => {
                go(a, b, i + 1, j, memo) || (j < b.len() && go(a, b, i, j + 1, memo))
            }
            (_, Some(&PLACEHOLDER)) => {
                go(a, b, i, j + 1, memo)
                    || (i < a.len() && a[i] != b':' && go(a, b, i + 1, j, memo))
            }
            (Some(x), Some(y)) => (x == y || *x == b'?') && go(a, b, i + 1, j + 1, memo),
            _ => false,
        };
        memo.insert((i, j), r);
        r
    }
    go(a, b, 0, 0, &mut HashMap::new())
}

/// Condition keys of a statement: `(operator, key lower-case)`.
fn condition_keys(st: &Json) -> Vec<(String, String)> {
    st["Condition"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(op, block)| {
            block
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(k, _)| (op.clone(), k.to_lowercase()))
        })
        .collect()
}

fn key_allowed(key: &str, available: &[String]) -> bool {
    GLOBAL_KEYS.iter().any(|g| glob(g, key))
        || available
            .iter()
            .any(|a| glob(&placeholders_to_glob(a), key))
}

fn grants_under_managed_by(st: &Json) -> bool {
    condition_keys(st).iter().any(|(op, k)| {
        op == "StringEquals"
            && (k == "aws:requesttag/managedby" || k == "aws:resourcetag/managedby")
    }) && ["aws:RequestTag/ManagedBy", "aws:ResourceTag/ManagedBy"]
        .iter()
        .all(|k| {
            st["Condition"]["StringEquals"]
                .get(*k)
                .is_none_or(|v| v == "byoc")
        })
}

/// Every problem of a role's policies; empty = fine. `tag_scoped`: the role works on resources
/// the programs tag (the customer role), so its writes there need the ManagedBy tag.
pub fn problems(sar: &Sar, policies: &[(String, Json)], tag_scoped: bool) -> Vec<String> {
    let mut problems = Vec::new();
    // action → resource types granted (with valid keys) by some statement.
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut required: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (policy, st) in statements(policies) {
        if st["Effect"] != "Allow" {
            continue;
        }
        let sid = format!("{policy}/{}", st["Sid"].as_str().unwrap_or("?"));
        let resources = strings(&st["Resource"]);
        let keys = condition_keys(&st);
        for action in strings(&st["Action"]) {
            let privileges = sar.privileges(&action);
            if privileges.is_empty() {
                problems.push(format!("{sid}: unknown action {action}"));
            }
            for (name, p) in privileges {
                let access = p["access_level"].as_str().unwrap_or_default();
                let service = name.split(':').next().unwrap();
                if tag_scoped
                    && TAGGED_SERVICES.contains(&service)
                    && !matches!(access, "Read" | "List")
                    && !grants_under_managed_by(&st)
                    && !UNTAGGED_WRITES
                        .iter()
                        .any(|(s, _)| sid.ends_with(&format!("/{s}")))
                {
                    problems.push(format!(
                        "{sid}: {access} action {name} without ManagedBy=byoc"
                    ));
                }
                for r in p["resource_types"].as_array().unwrap() {
                    for d in strings(&r["dependent_actions"]) {
                        dependents
                            .entry(name.clone())
                            .or_default()
                            .push(d.to_lowercase());
                    }
                }
                let (typed, action_wide) = rows(sar, &name, p);
                required
                    .entry(name.clone())
                    .or_default()
                    .extend(typed.iter().filter(|r| r.required).map(|r| r.name.clone()));
                if typed.is_empty() {
                    if !resources.iter().any(|r| r == "*") {
                        problems.push(format!(
                            "{sid}: {name} takes no resource type, so only Resource \"*\" matches it; got {resources:?}"
                        ));
                    }
                    for (_, k) in &keys {
                        if !key_allowed(k, &action_wide) {
                            problems.push(format!(
                                "{sid}: condition key {k} is not available for {name}"
                            ));
                        }
                    }
                    continue;
                }
                let matched: Vec<&Row> = typed
                    .iter()
                    .filter(|row| {
                        resources
                            .iter()
                            .any(|res| matches(res.as_bytes(), &row.arn))
                    })
                    .collect();
                if matched.is_empty() {
                    problems.push(format!(
                        "{sid}: no resource of {resources:?} is a resource type of {name}"
                    ));
                }
                for row in matched {
                    let available: Vec<String> =
                        row.keys.iter().chain(&action_wide).cloned().collect();
                    let bad: Vec<&String> = keys
                        .iter()
                        .map(|(_, k)| k)
                        .filter(|k| !key_allowed(k, &available))
                        .collect();
                    if bad.is_empty() {
                        granted
                            .entry(name.clone())
                            .or_default()
                            .insert(row.name.clone());
                    } else {
                        problems.push(format!(
                            "{sid}: condition key(s) {bad:?} not available for {name} on {} (the statement never applies there)",
                            row.name
                        ));
                    }
                }
            }
        }
    }
    for (action, types) in &required {
        for t in types {
            if !granted.get(action).is_some_and(|g| g.contains(t)) {
                problems.push(format!(
                    "{action} needs resource type {t}, and no statement grants it"
                ));
            }
        }
    }
    for (action, deps) in &dependents {
        for d in deps {
            let documented = DEPENDENT_NOT_GRANTED
                .iter()
                .any(|(a, x, _)| a == action && x == d);
            if !documented && !granted.contains_key(d) && !required.contains_key(d) {
                problems.push(format!(
                    "{action} depends on {d}, which is neither granted nor documented"
                ));
            }
        }
    }
    problems
}

/// `(logical name, policy document)` of a template's managed policies.
type Policies = Vec<(String, Json)>;

/// Both templates: name, whether the role is tag-scoped, its policies.
fn both_templates() -> Vec<(&'static str, bool, Policies)> {
    vec![
        (
            "customer",
            true,
            managed_policies(&load(&read(CUSTOMER), &[])),
        ),
        (
            "platform",
            false,
            managed_policies(&load(
                &read(PLATFORM),
                &[
                    ("StateBucketName", "byoc-state"),
                    (
                        "SecretsKmsKeyArn",
                        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    ),
                ],
            )),
        ),
    ]
}

#[test]
fn every_action_resource_and_condition_key_is_valid_per_the_authorization_reference() {
    let Some(sar) = Sar::load() else { return };
    for (name, tag_scoped, policies) in both_templates() {
        assert!(!policies.is_empty(), "{name}: no managed policies");
        let p = problems(&sar, &policies, tag_scoped);
        assert!(p.is_empty(), "{name}:\n{}", p.join("\n"));
    }
}

#[test]
fn the_reference_checker_catches_what_aws_would_silently_ignore() {
    let Some(sar) = Sar::load() else { return };
    let good = read(CUSTOMER);
    let cases: &[(&str, &str, &str)] = &[
        // The original defect: CreateCluster granted on a cluster ARN is never granted.
        (
            "            Action: eks:CreateCluster\n            Resource: \"*\"",
            "            Action: eks:CreateCluster\n            Resource: !Sub \"arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/*-*\"",
            "only Resource \"*\" matches it",
        ),
        // aws:RequestTag on an existing VPC: never present there.
        (
            "vpc/*\"\n            Condition:\n              StringEquals:\n                aws:ResourceTag/ManagedBy: byoc",
            "vpc/*\"\n            Condition:\n              StringEquals:\n                aws:RequestTag/ManagedBy: byoc",
            "not available for ec2:modifyvpcattribute on vpc",
        ),
        (
            "                aws:ResourceTag/ManagedBy: byoc\n                aws:RequestTag/ManagedBy: byoc",
            "                aws:ResourceTag/ManagedBy: byoc\n                eks:policyArn: x",
            "not available for eks:createnodegroup",
        ),
        (
            "          - Sid: CreateTaggedSubnets\n            Effect: Allow\n            Action: ec2:CreateSubnet",
            "          - Sid: CreateTaggedSubnets\n            Effect: Allow\n            Action: ec2:CreateSubnetz",
            "unknown action ec2:CreateSubnetz",
        ),
        (
            "              - ec2:CreateSubnet\n              - ec2:CreateRouteTable",
            "              - ec2:CreateRouteTable",
            "ec2:createsubnet needs resource type vpc",
        ),
        (
            "          - Sid: KmsDeleteByocKeysAfter30Days\n            Effect: Allow\n            Action: kms:ScheduleKeyDeletion\n            Resource: !Sub \"arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*\"\n            Condition:\n              StringEquals:\n                aws:ResourceTag/ManagedBy: byoc",
            "          - Sid: KmsDeleteByocKeysAfter30Days\n            Effect: Allow\n            Action: kms:ScheduleKeyDeletion\n            Resource: !Sub \"arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*\"\n            Condition:\n              StringEquals:\n                aws:ResourceTag/Owner: anyone",
            "kms:schedulekeydeletion without ManagedBy=byoc",
        ),
        (
            "              - sqs:DeleteQueue\n            Resource: !Sub \"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*-*\"",
            "              - sqs:DeleteQueue\n            Resource: !Sub \"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*-*\"",
            "is a resource type of sqs:deletequeue",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(good.contains(from), "fixture text not found: {from}");
        let broken = good.replacen(from, to, 1);
        let p = problems(&sar, &managed_policies(&load(&broken, &[])), true);
        assert!(
            p.iter().any(|v| v.contains(expected)),
            "breaking `{from}` should report `{expected}`, got {p:#?}"
        );
    }
}

#[test]
fn resources_match_arn_formats() {
    let vpc = arn_format("arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}");
    let subnet = arn_format("arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}");
    assert!(matches(b"arn:aws:ec2:r:1:vpc/*", &vpc));
    assert!(!matches(b"arn:aws:ec2:r:1:vpc/*", &subnet));
    assert!(matches(b"*", &subnet));
    let cluster = arn_format("arn:*:eks:*:*:cluster/*");
    assert!(matches(b"arn:aws:eks:r:1:cluster/*-*", &cluster));
    assert!(!matches(
        b"arn:aws:eks:r:1:cluster/*-*",
        &arn_format("arn:*:eks:*:*:nodegroup/*/*/*")
    ));
    assert!(glob("describe*", "describevpcs"));
    assert!(!glob("describe*", "createvpc"));
    assert!(glob("aws:requesttag/*", "aws:requesttag/managedby"));
}
