//! The customer role template: cfn-lint (AWS's linter) reports nothing, and the IAM and trust
//! rules of issue 3 hold, checked statically on the parsed YAML. The checker is itself tested on
//! broken copies of the template, so it cannot pass vacuously.

use std::process::Command;

use serde_json::{Value as Json, json};

use super::{ACCOUNT, CUSTOMER, PARTITION, PLATFORM, find_on_path, load, read, strings};

/// AWS's limit for one managed policy document, whitespace excluded.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

const PASSABLE_SERVICES: &[&str] = &[
    "eks.amazonaws.com",
    "ec2.amazonaws.com",
    "pods.eks.amazonaws.com",
];
const LINKABLE_SERVICES: &[&str] = &[
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "spot.amazonaws.com",
];

// ---------------------------------------------------------------- cfn-lint

#[test]
fn cfn_lint_reports_no_errors_or_warnings() {
    for path in [CUSTOMER, PLATFORM] {
        cfn_lint(path);
    }
}

fn cfn_lint(path: &str) {
    let Some(cfn_lint) = find_on_path("cfn-lint") else {
        assert!(
            std::env::var("BYOC_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "cfn-lint not found on PATH and BYOC_REQUIRE_ORACLES=1: pip install cfn-lint"
        );
        crate::skipped::record("cfn-lint not found", "pip install cfn-lint");
        return;
    };
    let out = Command::new(cfn_lint)
        .arg(path)
        .output()
        .expect("cfn-lint runs");
    // cfn-lint's exit code is a bit set: 2 = error, 4 = warning, 8 = informational. Warnings
    // (unused parameters, risky patterns) are real defects in a template this small, so they
    // fail too; informational notes do not.
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code >= 0 && code & (1 | 2 | 4) == 0,
        "cfn-lint {path} exit {code}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- static rules

#[test]
fn template_follows_the_least_privilege_rules() {
    let violations = check(&load(byoc::cloud::onboarding::TEMPLATE, &[]));
    assert!(
        violations.is_empty(),
        "violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn served_template_is_the_file_in_templates() {
    let file = read(CUSTOMER);
    assert_eq!(file, byoc::cloud::onboarding::TEMPLATE);
}

#[test]
fn checker_catches_each_broken_rule() {
    let cases: &[(&str, &str, &str)] = &[
        ("Action: ec2:Describe*", "Action: \"*\"", "wildcard action"),
        ("Action: ec2:Describe*", "Action: iam:*", "wildcard action"),
        (
            ":role/byoc-*\"\n            Condition:\n              StringEquals:\n                iam:PassedToService:",
            ":role/byoc-*\"\n            Condition:\n              StringLike:\n                iam:PassedToService:",
            "PassRole",
        ),
        (
            "              - iam:DetachRolePolicy\n            Resource: !Sub \"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/byoc-*\"",
            "              - iam:DetachRolePolicy\n            Resource: \"*\"",
            "iam:CreateRole",
        ),
        (
            ":instance-profile/byoc-*\"\n          - Sid: PassByocRolesToEksAndEc2Only",
            ":instance-profile/*\"\n          - Sid: PassByocRolesToEksAndEc2Only",
            "iam:CreateInstanceProfile",
        ),
        (
            "                iam:AWSServiceName:",
            "                iam:NotTheServiceName:",
            "CreateServiceLinkedRole",
        ),
        (
            "              ArnLike:\n                iam:PolicyARN:",
            "              ArnLike:\n                aws:SourceArn:",
            "AttachRolePolicy",
        ),
        (
            "                sts:ExternalId: !Ref ExternalId",
            "                sts:SourceIdentity: !Ref ExternalId",
            "trust",
        ),
        (
            "              AWS: !Ref TrustedPrincipalArn",
            "              AWS: \"*\"",
            "trust",
        ),
        (
            "  RoleName:\n    Description: Name of the role.",
            "  Leak:\n    Value: !Ref ExternalId\n  RoleName:\n    Description: Name of the role.",
            "output",
        ),
        ("    NoEcho: true\n", "", "NoEcho"),
        (
            "MaxSessionDuration: 14400",
            "MaxSessionDuration: 3600",
            "MaxSessionDuration",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(
            byoc::cloud::onboarding::TEMPLATE.contains(from),
            "fixture text not found: {from}"
        );
        let broken = byoc::cloud::onboarding::TEMPLATE.replacen(from, to, 1);
        let violations = check(&load(&broken, &[]));
        assert!(
            violations.iter().any(|v| v.contains(expected)),
            "breaking `{from}` -> `{to}` should report `{expected}`, got {violations:#?}"
        );
    }
}

fn arn(resource: &str) -> String {
    format!("arn:{PARTITION}:iam::{ACCOUNT}:{resource}")
}

/// The IAM and trust rules (issue 3); returns one line per violation. The tag and name scoping
/// of the other services is checked against the authorization reference (sar.rs).
fn check(t: &Json) -> Vec<String> {
    let mut v = Vec::new();
    let resources = t["Resources"].as_object().expect("Resources");
    let mut policies = 0;
    for (name, res) in resources {
        let props = &res["Properties"];
        match res["Type"].as_str() {
            Some("AWS::IAM::Role") => check_role(name, props, &mut v),
            Some("AWS::IAM::ManagedPolicy") => {
                policies += 1;
                let doc = &props["PolicyDocument"];
                let size = serde_json::to_string(doc).unwrap().len();
                if size > MANAGED_POLICY_LIMIT {
                    v.push(format!(
                        "{name}: policy is {size} chars, over {MANAGED_POLICY_LIMIT}"
                    ));
                }
                for st in doc["Statement"].as_array().into_iter().flatten() {
                    check_statement(name, st, &mut v);
                }
            }
            Some("AWS::IAM::Policy") => v.push(format!("{name}: use managed policies")),
            _ => {}
        }
    }
    if policies == 0 {
        v.push("no managed policies found".into());
    }
    check_parameters_and_outputs(t, &mut v);
    v
}

fn check_role(name: &str, props: &Json, v: &mut Vec<String>) {
    if props["MaxSessionDuration"].as_u64().unwrap_or(0) < 14_400 {
        v.push(format!("{name}: MaxSessionDuration must be at least 4 h"));
    }
    if props["Tags"].as_array().is_none_or(Vec::is_empty) {
        v.push(format!("{name}: role must be tagged"));
    }
    let trust = props["AssumeRolePolicyDocument"]["Statement"].as_array();
    let expected = json!([{
        "Sid": "TrustByocControlPlaneWithExternalId",
        "Effect": "Allow",
        "Principal": { "AWS": { "Ref": "TrustedPrincipalArn" } },
        "Action": "sts:AssumeRole",
        "Condition": { "StringEquals": { "sts:ExternalId": { "Ref": "ExternalId" } } }
    }]);
    if trust.map(|s| Json::Array(s.clone())) != Some(expected) {
        v.push(format!(
            "{name}: trust must be exactly one statement: TrustedPrincipalArn, sts:AssumeRole, StringEquals sts:ExternalId"
        ));
    }
}

fn check_statement(policy: &str, st: &Json, v: &mut Vec<String>) {
    let sid = st["Sid"].as_str().unwrap_or("?");
    let at = format!("{policy}/{sid}");
    for forbidden in ["NotAction", "NotResource", "NotPrincipal"] {
        if st.get(forbidden).is_some() {
            v.push(format!("{at}: {forbidden} is not allowed"));
        }
    }
    if st["Effect"] != "Allow" {
        v.push(format!("{at}: only Allow statements are expected"));
    }
    let actions = strings(&st["Action"]);
    let resources = strings(&st["Resource"]);
    for a in &actions {
        if a == "*" || a.ends_with(":*") {
            v.push(format!("{at}: wildcard action {a}"));
        }
    }
    let iam_writes: Vec<&String> = actions
        .iter()
        .filter(|a| {
            a.starts_with("iam:") && !a.starts_with("iam:Get") && !a.starts_with("iam:List")
        })
        .collect();
    for a in &iam_writes {
        check_iam_write(&at, a, &resources, &st["Condition"], v);
    }
    if !iam_writes.is_empty() && iam_writes.len() != actions.len() {
        v.push(format!(
            "{at}: IAM writes must not share a statement with other actions"
        ));
    }
}

fn check_iam_write(at: &str, action: &str, resources: &[String], cond: &Json, v: &mut Vec<String>) {
    let oidc = [
        "iam:CreateOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UntagOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
    ];
    let allowed: Vec<String> = match action {
        "iam:CreateServiceLinkedRole" => {
            let names = strings(&cond["StringEquals"]["iam:AWSServiceName"]);
            if names.is_empty()
                || names
                    .iter()
                    .any(|n| !LINKABLE_SERVICES.contains(&n.as_str()))
            {
                v.push(format!("{at}: iam:CreateServiceLinkedRole needs StringEquals iam:AWSServiceName within {LINKABLE_SERVICES:?}"));
            }
            vec![arn("role/aws-service-role/*")]
        }
        a if oidc.contains(&a) => vec![arn("oidc-provider/oidc.eks.*")],
        a if a.contains("Policy") && !a.contains("Role") => vec![arn("policy/byoc-*")],
        a if a.contains("InstanceProfile") => vec![arn("instance-profile/byoc-*")],
        _ => vec![arn("role/byoc-*")],
    };
    if resources.is_empty() || resources.iter().any(|r| !allowed.contains(r)) {
        v.push(format!(
            "{at}: {action} must be limited to {allowed:?}, got {resources:?}"
        ));
    }
    if action == "iam:PassRole" {
        let services = strings(&cond["StringEquals"]["iam:PassedToService"]);
        if services.is_empty()
            || services
                .iter()
                .any(|s| !PASSABLE_SERVICES.contains(&s.as_str()))
        {
            v.push(format!("{at}: iam:PassRole needs StringEquals iam:PassedToService within {PASSABLE_SERVICES:?}"));
        }
    }
    if action == "iam:AttachRolePolicy" {
        let policies = strings(&cond["ArnLike"]["iam:PolicyARN"]);
        if policies.is_empty() || policies.iter().any(|p| p == "*") {
            v.push(format!(
                "{at}: iam:AttachRolePolicy needs an ArnLike iam:PolicyARN allow-list"
            ));
        }
    }
}

fn check_parameters_and_outputs(t: &Json, v: &mut Vec<String>) {
    let ext = &t["Parameters"]["ExternalId"];
    if ext["NoEcho"] != json!(true) {
        v.push("ExternalId parameter must be NoEcho".into());
    }
    if ext["MinLength"] != json!(10)
        || ext["MaxLength"] != json!(128)
        || ext["AllowedPattern"] != "^[A-Za-z0-9_-]+$"
    {
        v.push("ExternalId parameter must be 10-128 chars of [A-Za-z0-9_-]".into());
    }
    let pb = &t["Parameters"]["PermissionsBoundaryArn"];
    if pb["Default"] != "" || t["Conditions"]["HasPermissionsBoundary"].is_null() {
        v.push("PermissionsBoundaryArn must be optional and applied through a Condition".into());
    }
    let outputs = t["Outputs"].as_object().expect("Outputs");
    let keys: Vec<&str> = outputs.keys().map(String::as_str).collect();
    if keys != ["RoleArn", "RoleName"] {
        v.push(format!(
            "output keys must be exactly RoleArn, RoleName; got {keys:?}"
        ));
    }
    if serde_json::to_string(outputs)
        .unwrap()
        .contains("ExternalId")
    {
        v.push("an output references the ExternalId".into());
    }
}

#[test]
fn the_key_deletion_window_the_role_requires_is_the_programs_window() {
    // KmsDeleteByocKeysAfter30Days allows ScheduleKeyDeletion only with a pending window of at
    // least 30 days; the programs' key asks for exactly that (infra-yaml/eks.yaml). A shorter
    // window there would make every destroy fail on the key.
    let template = read(CUSTOMER);
    assert!(template.contains("kms:ScheduleKeyDeletionPendingWindowInDays: \"30\""));
    let eks = read(concat!(env!("CARGO_MANIFEST_DIR"), "/infra-yaml/eks.yaml"));
    assert!(
        eks.contains("deletionWindowInDays: 30"),
        "infra-yaml/eks.yaml key window changed"
    );
}
