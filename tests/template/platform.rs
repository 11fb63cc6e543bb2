//! The platform identity's policy template: the parameters keep the scope (state bucket and
//! prefix, one secrets key, the tenant role name), nothing but the three jobs is granted, and
//! every statement stays within what byoc does (see the template's header comment).

use serde_json::{Map, Value as Json, json};

use super::simulator::{Call, NONE, Res, call, existing, wrong_decisions};
use super::{
    ACCOUNT, PARTITION, PLATFORM, REGION, load, managed_policies, python_has, read, statements,
    strings,
};

fn actions(policies: &[(String, Json)]) -> Vec<String> {
    statements(policies)
        .iter()
        .flat_map(|(_, st)| strings(&st["Action"]))
        .collect()
}

#[test]
fn the_platform_policy_grants_only_the_three_jobs() {
    let t = load(&read(PLATFORM), &[("StateBucketName", "byoc-state")]);
    let policies = managed_policies(&t);
    assert_eq!(policies.len(), 1, "one managed policy");
    let mut got = actions(&policies);
    got.sort();
    assert_eq!(
        got,
        [
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject",
            "sts:AssumeRole"
        ],
        "without a secrets key: assume + state only"
    );
    let with_key = load(
        &read(PLATFORM),
        &[
            ("StateBucketName", "b"),
            (
                "SecretsKmsKeyArn",
                "arn:aws:kms:eu-west-1:123456789012:key/k",
            ),
        ],
    );
    let mut got = actions(&managed_policies(&with_key));
    got.sort();
    assert!(got.contains(&"kms:Decrypt".to_owned()) && got.contains(&"kms:Encrypt".to_owned()));
    assert_eq!(got.len(), 7, "{got:?}");
    for (_, st) in statements(&managed_policies(&with_key)) {
        assert_eq!(st["Effect"], "Allow");
        for r in strings(&st["Resource"]) {
            assert_ne!(r, "*", "{st}");
        }
    }
}

#[test]
fn every_assume_requires_an_external_id_and_a_byoc_session() {
    let t = load(&read(PLATFORM), &[("StateBucketName", "byoc-state")]);
    let stmts = statements(&managed_policies(&t));
    let assume: Vec<&Json> = stmts
        .iter()
        .map(|(_, s)| s)
        .filter(|s| strings(&s["Action"]).iter().any(|a| a.starts_with("sts:")))
        .collect();
    assert_eq!(assume.len(), 1);
    let c = &assume[0]["Condition"];
    assert_eq!(c["Null"]["sts:ExternalId"], "false", "{c}");
    assert_eq!(c["StringLike"]["sts:RoleSessionName"], "byoc-*", "{c}");
    assert_eq!(
        strings(&assume[0]["Resource"]),
        ["arn:aws-us-gov:iam::*:role/BYOCPlatformRole"]
    );
}

#[test]
fn the_served_session_names_match_the_policy() {
    // The session names byoc uses start with `byoc-` (src/cloud/session.rs), as the policy
    // requires; a rename there must fail here.
    let session = read(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cloud/session.rs"));
    assert!(
        session.contains("format!(\"byoc-{action}-{subject}\")"),
        "session name format changed"
    );
    assert!(
        session.contains("byoc-verify-"),
        "verify session name changed"
    );
}

/// Calls of the platform identity: its three jobs, and what it must not do.
fn platform_calls(with_key: bool) -> Vec<Call> {
    let tenant_role = format!("arn:{PARTITION}:iam::999999999999:role/BYOCPlatformRole");
    let s3 = |k: &str| format!("arn:{PARTITION}:s3:::{k}");
    let key =
        format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    vec![
        call(
            "assume a tenant role",
            "sts:AssumeRole",
            vec![existing(&tenant_role, NONE)],
            true,
        )
        .with("sts:ExternalId", json!("ext-0123456789"))
        .with("sts:RoleSessionName", json!("byoc-up-acme-prod")),
        call(
            "assume without an external ID",
            "sts:AssumeRole",
            vec![existing(&tenant_role, NONE)],
            false,
        )
        .with("sts:RoleSessionName", json!("byoc-up-acme-prod")),
        call(
            "assume under another session name",
            "sts:AssumeRole",
            vec![existing(&tenant_role, NONE)],
            false,
        )
        .with("sts:ExternalId", json!("ext-0123456789"))
        .with("sts:RoleSessionName", json!("admin")),
        call(
            "assume another role",
            "sts:AssumeRole",
            vec![existing(
                &format!("arn:{PARTITION}:iam::999999999999:role/OrganizationAccountAccessRole"),
                NONE,
            )],
            false,
        )
        .with("sts:ExternalId", json!("ext-0123456789"))
        .with("sts:RoleSessionName", json!("byoc-up-acme-prod")),
        call(
            "read a checkpoint",
            "s3:GetObject",
            vec![existing(
                &s3("byoc-state/byoc/.pulumi/stacks/p/acme-prod.json"),
                NONE,
            )],
            true,
        ),
        call(
            "write a lock",
            "s3:PutObject",
            vec![existing(
                &s3("byoc-state/byoc/.pulumi/locks/p/acme-prod/x.json"),
                NONE,
            )],
            true,
        ),
        call(
            "read outside the prefix",
            "s3:GetObject",
            vec![existing(&s3("byoc-state/other/x"), NONE)],
            false,
        ),
        call(
            "read another bucket",
            "s3:GetObject",
            vec![existing(&s3("payroll/byoc/x"), NONE)],
            false,
        ),
        call(
            "list the prefix",
            "s3:ListBucket",
            vec![existing(&s3("byoc-state"), NONE)],
            true,
        )
        .with("s3:prefix", json!("byoc/.pulumi/stacks/")),
        call(
            "list the whole bucket",
            "s3:ListBucket",
            vec![existing(&s3("byoc-state"), NONE)],
            false,
        )
        .with("s3:prefix", json!("")),
        call(
            "decrypt a stack key",
            "kms:Decrypt",
            vec![existing(&key, NONE)],
            with_key,
        ),
        call(
            "decrypt with another key",
            "kms:Decrypt",
            vec![existing(&key.replace("1234abcd", "9999abcd"), NONE)],
            false,
        ),
        call(
            "anything else",
            "ec2:DescribeVpcs",
            vec![Res("*".into(), Map::new())],
            false,
        ),
    ]
}

#[test]
fn the_platform_policy_allows_its_jobs_and_nothing_else() {
    if !python_has(&["principalmapper"], "pip install -r .ci/requirements.txt") {
        return;
    }
    let key =
        format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    for with_key in [true, false] {
        let mut params = vec![("StateBucketName", "byoc-state")];
        if with_key {
            params.push(("SecretsKmsKeyArn", key.as_str()));
        }
        let policies = managed_policies(&load(&read(PLATFORM), &params));
        let wrong = wrong_decisions(&policies, &platform_calls(with_key));
        assert!(
            wrong.is_empty(),
            "with key {with_key}:\n{}",
            wrong.join("\n")
        );
    }
}
