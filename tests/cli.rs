//! `byoc` as the operator's command line, end to end: the real `byoc` binary as the client,
//! talking to the real `byoc serve` on loopback (its worker running the pulumi stand-in, with
//! moto as the tenant's AWS account) — no mocked HTTP. Terminal behaviour (live progress,
//! prompts, Ctrl-C) is driven through a pseudo-terminal.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/poll.rs"]
mod poll;

#[path = "cli/approvals.rs"]
mod approvals;
#[path = "cli/config.rs"]
mod config;
#[path = "cli/follow.rs"]
mod follow;
#[path = "cli/harness.rs"]
mod harness;
#[path = "cli/misc.rs"]
mod misc;
#[path = "cli/ops.rs"]
mod ops;
#[path = "cli/proxy.rs"]
mod proxy;
#[path = "cli/pty.rs"]
mod pty;
#[path = "cli/session.rs"]
mod session;
#[path = "cli/tenants.rs"]
mod tenants;
#[path = "cli/tokens.rs"]
mod tokens;
