//! parliament (PyPI, duo-labs' IAM linter, default and community auditors) on every managed
//! policy of both templates. Its findings must be empty except for these, each checked to be
//! what the exception says, not just waved through:
//!
//! - `RESOURCE_STAR` (low): only for Read/List actions (`ec2:Describe*` and the like).
//! - `RESOURCE_MISMATCH` (medium): parliament wants every required resource type of an action
//!   in *one* statement. We split on purpose by resource type (a created resource is checked
//!   with aws:RequestTag, the existing ones it uses with aws:ResourceTag; see the template's
//!   header), so each mismatch must be granted by another statement of the same role.
//! - `PERMISSIONS_MANAGEMENT_ACTIONS` (medium, community): the actions below, which deploying
//!   an EKS platform needs; each is scoped by name or tag (customer.rs, sar.rs).
//! - `CREDENTIALS_EXPOSURE` (community): `sts:AssumeRole` in the platform policy, whose job is
//!   exactly that (tenant roles only, with an external ID: platform.rs).

use serde_json::{Map, Value as Json};

use super::sar::{Sar, arn_format, glob, matches};
use super::{
    CUSTOMER, PLATFORM, load, managed_policies, python_has, read, run_script, statements, strings,
};

/// Permissions-management actions the roles may hold, lower case as parliament reports them.
const PERMISSIONS_MANAGEMENT: &[&str] = &[
    // IAM roles and instance profiles named byoc-* (cluster, node, addon and component roles).
    "iam:createrole",
    "iam:deleterole",
    "iam:updaterole",
    "iam:updateroledescription",
    "iam:updateassumerolepolicy",
    "iam:putrolepolicy",
    "iam:deleterolepolicy",
    "iam:attachrolepolicy",
    "iam:detachrolepolicy",
    "iam:passrole",
    "iam:createservicelinkedrole",
    "iam:createinstanceprofile",
    "iam:deleteinstanceprofile",
    "iam:addroletoinstanceprofile",
    "iam:removerolefrominstanceprofile",
    "iam:tagrole",
    "iam:untagrole",
    "iam:taginstanceprofile",
    "iam:untaginstanceprofile",
    // The EKS secrets key (default key policy) and EKS's grant on it.
    "kms:createkey",
    "kms:creategrant",
    // Karpenter's interruption queue and its queue policy (events.amazonaws.com may send).
    "sqs:createqueue",
    "sqs:setqueueattributes",
];

fn check(sar: &Sar, role: &str, policies: &[(String, Json)]) -> Vec<String> {
    let docs: Map<String, Json> = policies.iter().cloned().collect();
    let out = run_script("parliament_findings.py", &Json::Object(docs));
    let all = statements(policies);
    let mut problems = Vec::new();
    for (policy, findings) in out["findings"].as_object().unwrap() {
        for f in findings.as_array().unwrap() {
            let issue = f["issue"].as_str().unwrap();
            let ok = match issue {
                "RESOURCE_STAR" => strings(&f["detail"]).iter().all(|a| read_only(sar, a)),
                "RESOURCE_MISMATCH" => f["detail"].as_array().unwrap().iter().all(|d| {
                    let action = d["action"].as_str().unwrap();
                    let format = d["required_format"].as_str().unwrap();
                    all.iter().any(|(_, st)| {
                        st["Effect"] == "Allow"
                            && strings(&st["Action"])
                                .iter()
                                .any(|a| glob(&a.to_lowercase(), &action.to_lowercase()))
                            && strings(&st["Resource"])
                                .iter()
                                .any(|r| matches(r.as_bytes(), &arn_format(format)))
                    })
                }),
                "PERMISSIONS_MANAGEMENT_ACTIONS" => strings(&f["location"]["actions"])
                    .iter()
                    .all(|a| PERMISSIONS_MANAGEMENT.contains(&a.as_str())),
                "CREDENTIALS_EXPOSURE" => {
                    role == "platform" && strings(&f["location"]["actions"]) == ["sts:assumerole"]
                }
                _ => false,
            };
            if !ok {
                problems.push(format!(
                    "{role}/{policy}: {issue}: {} {}",
                    f["detail"], f["location"]
                ));
            }
        }
    }
    problems
}

fn read_only(sar: &Sar, action: &str) -> bool {
    sar.access_level(action)
        .is_some_and(|l| l == "Read" || l == "List")
}

#[test]
fn parliament_finds_nothing_but_the_documented_exceptions() {
    if !python_has(&["parliament"], "pip install -r .ci/requirements.txt") {
        return;
    }
    let Some(sar) = Sar::load() else { return };
    let customer = managed_policies(&load(&read(CUSTOMER), &[]));
    let platform = managed_policies(&load(
        &read(PLATFORM),
        &[
            ("StateBucketName", "byoc-state"),
            (
                "SecretsKmsKeyArn",
                "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
        ],
    ));
    let mut problems = check(&sar, "customer", &customer);
    problems.extend(check(&sar, "platform", &platform));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn parliament_reports_a_broken_statement() {
    if !python_has(&["parliament"], "pip install -r .ci/requirements.txt") {
        return;
    }
    let Some(sar) = Sar::load() else { return };
    // A resource no statement of the role covers for ec2:CreateSubnet's vpc, and a write on "*".
    let broken = read(CUSTOMER)
        .replacen(
            "              - ec2:CreateSubnet\n              - ec2:CreateRouteTable",
            "              - ec2:CreateRouteTable",
            1,
        )
        .replacen(
            "            Action: ec2:Describe*",
            "            Action: ec2:DeleteVpc",
            1,
        );
    let problems = check(&sar, "customer", &managed_policies(&load(&broken, &[])));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("RESOURCE_MISMATCH") && p.contains("ec2:CreateSubnet")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("RESOURCE_STAR") && p.contains("ec2:DeleteVpc")),
        "{problems:#?}"
    );
}
