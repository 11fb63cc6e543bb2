//! The platform identity's policy template: the parameters keep the scope (state bucket and
//! prefix, one secrets key, the tenant role name), nothing but the three jobs is granted, and
//! every statement stays within what byoc does (see the template's header comment).

use serde_json::Value as Json;

use super::{PLATFORM, load, managed_policies, read, statements, strings};

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
