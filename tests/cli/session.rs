//! `byoc login`, contexts and where the client takes its server and token from.

use std::os::unix::fs::MetadataExt;

use crate::harness::{ADMIN_TOKEN, Client, Server};
use crate::pty::Pty;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o777
}

#[test]
fn login_reads_the_token_from_stdin_checks_it_and_stores_it_privately() {
    let server = Server::start();
    let c = Client::new();
    let out = c.login(&server, ADMIN_TOKEN, None);
    out.ok();
    assert!(out.stderr.contains("Logged in"), "{}", out.stderr);
    assert_eq!(mode(&c.config_file()), 0o600);
    assert_eq!(mode(c.config_file().parent().unwrap()), 0o700);
    assert!(c.run(&["tenants", "list"]).ok().contains("SLUG"));

    let list = c.run(&["contexts", "list"]);
    assert!(list.ok().contains(&server.url), "{}", list.stdout);
    assert!(!list.stdout.contains(ADMIN_TOKEN));
    let json = c.run(&["contexts", "list", "-o", "json"]).json();
    assert_eq!(json["current_context"], "default");
    assert_eq!(json["contexts"][0]["url"], server.url.as_str());
    assert!(
        !server.log().contains(ADMIN_TOKEN),
        "the server logged the token"
    );

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(c.config_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let warned = c.run(&["tenants", "list"]);
    assert!(
        warned.stderr.contains("readable by others"),
        "{}",
        warned.stderr
    );
}

#[test]
fn login_refuses_a_token_the_server_does_not_know_and_stores_nothing() {
    let server = Server::start();
    let c = Client::new();
    let out = c.login(&server, "byoc_not-a-token-the-server-issued-0000", None);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(!c.config_file().exists());
    let empty = c.run_with_stdin(&["login", "--url", &server.url], "\n");
    assert_eq!(empty.code, 2, "{empty:?}");
}

#[test]
fn the_token_prompt_does_not_echo_the_token() {
    let server = Server::start();
    let c = Client::new();
    let mut pty = Pty::spawn(&c.command(&["login", "--url", &server.url, "--context", "lab"]));
    pty.wait_for("Token:");
    pty.wait_for_no_echo();
    pty.send(&format!("{ADMIN_TOKEN}\r"));
    let raw_before_exit = pty.raw();
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains(ADMIN_TOKEN),
        "the token was echoed: {screen}"
    );
    assert!(!raw_before_exit.contains(ADMIN_TOKEN));
    assert!(c.ok(&["contexts", "list"]).contains("lab"));
}

#[test]
fn byoc_url_and_byoc_token_work_without_a_config_file() {
    let server = Server::start();
    let c = Client::new()
        .env("BYOC_URL", &server.url)
        .env("BYOC_TOKEN", ADMIN_TOKEN);
    assert!(c.ok(&["tenants", "list"]).contains("SLUG"));
    assert!(!c.config_file().exists());

    // A URL without a token stored for it: the stored token of another server is not sent.
    let other = Client::admin(&server);
    let out = other.run(&["tenants", "list", "--url", "http://127.0.0.1:9"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("no token for http://127.0.0.1:9"),
        "{}",
        out.stderr
    );

    // No HOME and no XDG_CONFIG_HOME at all: the environment alone is enough.
    let mut bare = c.command(&["tenants", "list"]);
    bare.env_remove("HOME").env_remove("XDG_CONFIG_HOME");
    let out = bare.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let nobody = Client::new();
    let out = nobody.run(&["tenants", "list"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("byoc login"), "{}", out.stderr);
}

#[test]
fn contexts_are_named_switched_and_forgotten() {
    let a = Server::start();
    let b = Server::start();
    let c = Client::new();
    c.login(&a, ADMIN_TOKEN, Some("a")).ok();
    c.login(&b, ADMIN_TOKEN, Some("b")).ok();
    c.ok(&[
        "tenants",
        "create",
        "only-on-a",
        "--name",
        "A",
        "--account",
        "123456789012",
        "--context",
        "a",
    ]);
    assert!(
        !c.ok(&["tenants", "list"]).contains("only-on-a"),
        "b is current"
    );
    c.ok(&["contexts", "use", "a"]);
    assert!(c.ok(&["tenants", "list"]).contains("only-on-a"));
    assert!(c.ok(&["tenants", "list", "--context", "b"]).lines().count() == 1);
    c.ok(&["logout", "--context", "b"]);
    assert_eq!(c.run(&["tenants", "list", "--context", "b"]).code, 2);
    assert_eq!(c.run(&["contexts", "use", "nope"]).code, 2);
}

#[test]
fn server_settings_neither_break_nor_change_client_commands() {
    let server = Server::start();
    let c = Client::admin(&server)
        .env("BYOC_DATA_DIR", "/proc/not-writable")
        .env("BYOC_BIND", "not an address")
        .env("BYOC_MASTER_KEY", "too-short")
        .env("BYOC_EXECUTOR", "bogus")
        .env("BYOC_LOG_FORMAT", "nonsense");
    // A server's .env in the working directory is not read by client commands either.
    std::fs::write(c.home.path().join(".env"), "BYOC_WORKER_CONCURRENCY=lots\n").unwrap();
    assert!(c.ok(&["tenants", "list"]).contains("SLUG"));
    // The same environment does break a server command: the settings above are really bad.
    let migrate = c.run(&["migrate"]);
    assert_ne!(migrate.code, 0, "{migrate:?}");
}
