//! The live view on a terminal: progress bar, one line per resource step, resumption after
//! a cut connection, Ctrl-C, and the destroy confirmation.

use std::collections::HashMap;

use crate::harness::{ADMIN_TOKEN, Client, Server, onboard};
use crate::proxy::Proxy;
use crate::pty::Pty;

/// Resources a deploy of acme/prod steps through: the program's, plus the stack itself.
fn planned(c: &Client) -> usize {
    let program = c.run(&["program", "acme/prod", "-o", "json"]).json();
    program["resources"].as_object().unwrap().len() + 1
}

/// Lines of the screen that report a completed resource step.
fn step_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| l.starts_with("+ created ") || l.starts_with("~ updated "))
        .collect()
}

#[test]
fn the_live_view_reaches_100_percent_and_resumes_a_cut_connection_without_repeating_a_line() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let proxy = Proxy::start(&server.url);
    let c = Client::new();
    c.run_with_stdin(&["login", "--url", &proxy.url], &format!("{ADMIN_TOKEN}\n"))
        .ok();
    onboard(&c, "{}\n");
    let total = planned(&c);
    server.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "40")]);

    let pty = Pty::spawn(&c.command(&["deploy", "acme/prod"]));
    pty.wait_for("+ created ");
    // The token is in neither the argv nor the environment of the running client (`ps`).
    let pid = pty.pid();
    for file in ["cmdline", "environ"] {
        let text = std::fs::read(format!("/proc/{pid}/{file}")).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(ADMIN_TOKEN),
            "/proc/{pid}/{file}"
        );
    }
    let before = proxy.connections();
    proxy.cut();
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(proxy.connections() > before, "the client never reconnected");

    let lines = step_lines(&screen);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for l in &lines {
        *seen.entry(l).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "repeated lines: {repeated:?}\n{screen}"
    );
    assert_eq!(lines.len(), total, "one line per resource:\n{screen}");
    let bar = format!("{total}/{total} resources (100%)");
    assert!(
        screen.contains(&bar),
        "the bar did not reach {bar}:\n{screen}"
    );
    assert!(screen.contains("Resources: "), "{screen}");
    assert!(screen.contains(" succeeded."), "{screen}");
    assert!(
        !server.log().contains(ADMIN_TOKEN),
        "the server logged the token"
    );
    assert!(!screen.contains(ADMIN_TOKEN));
}

#[test]
fn ctrl_c_asks_and_can_cancel_the_operation_or_detach_from_it() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "{}\n");
    server.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "200")]);

    let mut pty = Pty::spawn(&c.command(&["deploy", "acme/prod"]));
    pty.wait_for("+ created ");
    pty.send("\x03");
    pty.wait_for("[c]ancel the operation");
    pty.wait_for_raw_mode();
    pty.send("c");
    let (code, screen) = pty.finish();
    assert_eq!(code, 6, "{screen}");
    assert!(screen.contains("cancelled."), "{screen}");

    let mut pty = Pty::spawn(&c.command(&["deploy", "acme/prod"]));
    pty.wait_for("+ created ");
    pty.send("\x03");
    pty.wait_for("[d]etach");
    pty.wait_for_raw_mode();
    pty.send("d");
    let (code, screen) = pty.finish();
    assert_eq!(code, 130, "{screen}");
    // Detached, not cancelled: the operation runs on to success.
    let id = screen
        .lines()
        .find_map(|l| l.split("operation ").nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap();
    server.knobs(&[]);
    assert!(
        c.ok(&["ops", "logs", &id, "--follow"])
            .contains(" succeeded.")
    );
}

#[test]
fn destroy_asks_for_the_stack_name_on_a_terminal() {
    let Some(server) = Server::with_aws() else {
        return;
    };
    let c = Client::admin(&server);
    onboard(&c, "{}\n");
    c.ok(&["deploy", "acme/prod", "--follow"]);

    let mut pty = Pty::spawn(&c.command(&["destroy", "acme/prod"]));
    pty.wait_for("Type the stack name (acme-prod)");
    pty.send("acme-dev\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("nothing was destroyed"), "{screen}");

    let mut pty = Pty::spawn(&c.command(&["destroy", "acme/prod"]));
    pty.wait_for("Type the stack name (acme-prod)");
    pty.send("acme-prod\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("- deleted "), "{screen}");
    let status = c.run(&["status", "acme/prod", "-o", "json"]).json();
    assert_eq!(status["status"], "destroyed");
}
