//! Completions, man pages, help, usage errors, and the server commands still working as
//! before next to the client ones.

use crate::harness::Client;

#[test]
fn completions_and_man_pages_are_generated_for_every_shell() {
    let c = Client::new();
    assert!(c.ok(&["completions", "bash"]).contains("_byoc()"));
    assert!(c.ok(&["completions", "zsh"]).starts_with("#compdef byoc"));
    assert!(c.ok(&["completions", "fish"]).contains("complete -c byoc"));
    assert!(c.ok(&["man"]).contains(".TH byoc"));
    assert!(
        c.ok(&["man", "tenants", "create"])
            .contains(".TH byoc-tenants-create")
    );
    assert_eq!(c.run(&["man", "nope"]).code, 2);
}

#[test]
fn help_shows_examples_and_usage_errors_are_exit_2() {
    let c = Client::new();
    let help = c.ok(&["deploy", "--help"]);
    assert!(
        help.contains("Examples:") && help.contains("byoc deploy acme/prod"),
        "{help}"
    );
    assert!(c.ok(&["--help"]).contains("Exit codes"));
    for bad in [
        &["deploy"][..],
        &["deploy", "acme"],
        &["deploy", "Acme/prod"],
        &["tenants", "create", "x"],
        &["tenants", "list", "-o", "xml"],
    ] {
        let out = c.run(bad);
        assert_eq!(out.code, 2, "{bad:?}: {out:?}");
    }
    assert_eq!(c.run(&["tenants", "list"]).code, 3, "not logged in");
    let nowhere = format!("http://127.0.0.1:{}", crate::moto::free_port());
    let down = Client::new()
        .env("BYOC_URL", &nowhere)
        .env("BYOC_TOKEN", "byoc_any");
    let out = down.run(&["tenants", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
}

#[test]
fn server_commands_work_as_before() {
    let c = Client::new();
    let config = c.home.path().join("prod.json");
    std::fs::write(&config, "{}").unwrap();
    let program = c.ok(&[
        "render",
        "--config",
        config.to_str().unwrap(),
        "--tenant",
        "acme",
        "--env",
        "prod",
    ]);
    assert!(program.contains("resources:"), "{program}");

    let data = tempfile::tempdir().unwrap();
    let c = c.env("BYOC_DATA_DIR", data.path().to_str().unwrap());
    c.ok(&["migrate"]);
    let token = c.ok(&["token", "create", "--name", "ci", "--role", "viewer"]);
    assert!(token.contains("byoc_"), "{token}");
}
