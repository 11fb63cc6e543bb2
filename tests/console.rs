//! The web console against a real server: its session cookie (attributes, expiry, revocation),
//! the cross-site request defences, the headers of its pages, `BYOC_CONSOLE=off`, its two
//! read models — and, with `--ignored` (run by `.ci/run` once Chromium and playwright-core are
//! installed), the whole console walked in headless Chromium (`tests/console-e2e/`).

#[path = "support/app.rs"]
mod app;
#[path = "support/files.rs"]
mod files;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/routes.rs"]
mod routes;
#[path = "support/scripted_executor.rs"]
mod scripted;

#[path = "console/browser.rs"]
mod browser;
#[path = "console/csrf.rs"]
mod csrf;
#[path = "cli/harness.rs"]
#[expect(
    dead_code,
    reason = "shared with the CLI suite; the browser walk uses only the server"
)]
mod harness;
#[path = "console/pages.rs"]
mod pages;
#[path = "console/readmodel.rs"]
mod readmodel;
#[path = "console/session.rs"]
mod session;
#[path = "console/support.rs"]
mod support;
