//! `byoc tenants …` against a real server.

use crate::harness::{Client, Server, assert_fits};

#[test]
fn tenants_are_created_listed_shown_rotated_and_deleted() {
    let server = Server::start();
    let c = Client::admin(&server);
    let created = c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "Acme Corp",
        "--account",
        "123456789012",
        "--region",
        "eu-west-1",
    ]);
    assert!(created.contains("External ID:"), "{created}");
    assert!(
        created.contains("aws cloudformation create-stack"),
        "{created}"
    );
    let json = c
        .run(&[
            "tenants",
            "create",
            "globex",
            "--name",
            "Globex",
            "--account",
            "210987654321",
            "-o",
            "json",
        ])
        .json();
    // JSON is the API's own body.
    assert_eq!(json["tenant"]["slug"], "globex");
    assert!(json["external_id"].as_str().is_some_and(|s| s.len() > 10));
    assert_eq!(json["onboarding"]["account_id"], "210987654321");

    let table = c.ok(&["tenants", "list"]);
    assert_fits(&table, 80);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("acme") && l.contains("eu-west-1")),
        "{table}"
    );
    let page = c.run(&["tenants", "list", "-o", "json"]).json();
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);

    let shown: yaml_serde::Value =
        yaml_serde::from_str(c.run(&["tenants", "show", "acme", "-o", "yaml"]).ok()).unwrap();
    assert_eq!(shown["aws_region"].as_str(), Some("eu-west-1"));
    let onboarding = c.ok(&["tenants", "onboarding", "acme"]);
    assert_fits(onboarding.lines().next().unwrap(), 80);
    assert!(
        onboarding.contains("arn:aws:iam::123456789012:role/BYOCPlatformRole"),
        "{onboarding}"
    );
    assert!(!onboarding.contains(json["external_id"].as_str().unwrap()));

    let rotated = c
        .run(&["tenants", "rotate-external-id", "globex", "-o", "json"])
        .json();
    assert_ne!(rotated["external_id"], json["external_id"]);

    c.ok(&["tenants", "delete", "globex"]);
    assert_eq!(c.run(&["tenants", "show", "globex"]).code, 4);
}

#[test]
fn an_unknown_tenant_is_exit_4_and_a_duplicate_is_exit_5() {
    let server = Server::start();
    let c = Client::admin(&server);
    let out = c.run(&["tenants", "show", "nope"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("tenant 'nope' not found"),
        "{}",
        out.stderr
    );
    assert_eq!(c.run(&["status", "nope/prod"]).code, 4);
    c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "A",
        "--account",
        "123456789012",
    ]);
    let dup = c.run(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "A",
        "--account",
        "123456789012",
    ]);
    assert_eq!(dup.code, 5, "{dup:?}");
    let bad = c.run(&[
        "tenants",
        "create",
        "acme2",
        "--name",
        "A",
        "--account",
        "12",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("/aws_account_id"), "{}", bad.stderr);
}
