//! `byoc tokens …`: creation, roles, and a revoked token being refused.

use crate::harness::{Client, Server, assert_fits};

#[test]
fn a_revoked_token_is_exit_3_and_a_too_weak_role_too() {
    let server = Server::start();
    let admin = Client::admin(&server);
    let created = admin
        .run(&[
            "tokens", "create", "--name", "grafana", "--role", "viewer", "-o", "json",
        ])
        .json();
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();

    let viewer = Client::new();
    viewer.login(&server, token, None).ok();
    assert!(viewer.ok(&["tenants", "list"]).contains("SLUG"));
    let denied = viewer.run(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "A",
        "--account",
        "123456789012",
    ]);
    assert_eq!(denied.code, 3, "{denied:?}");
    assert!(denied.stderr.contains("operator role"), "{}", denied.stderr);

    let list = admin.ok(&["tokens", "list"]);
    assert_fits(&list, 80);
    assert!(
        list.lines()
            .any(|l| l.contains("grafana") && l.contains("viewer")),
        "{list}"
    );
    admin.ok(&["tokens", "revoke", id]);
    let revoked = viewer.run(&["tenants", "list"]);
    assert_eq!(revoked.code, 3, "{revoked:?}");
    assert!(revoked.stderr.contains("hint:"), "{}", revoked.stderr);
    assert!(admin.ok(&["tokens", "list"]).contains("revoked"));
    assert_eq!(admin.run(&["tokens", "revoke", id]).code, 4);
    let human = admin.ok(&["tokens", "create", "--name", "ci", "--role", "operator"]);
    assert!(human.contains("shown only now"), "{human}");
}
