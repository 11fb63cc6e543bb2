//! byoc: a self-hostable control plane for Bring Your Own Cloud deployments.
//!
//! `client` is the operator's command line: it talks to a server over HTTP only.
//!
//! Dependencies flow one way: `api`/`worker` → `executor` → `program`, `pulumi`, `cloud` →
//! `domain`; `store` is used by `api` and `worker` only.

pub mod api;
pub mod cli;
pub mod client;
pub mod cloud;
pub mod commands;
pub mod console;
pub mod crypto;
pub mod domain;
pub mod executor;
pub mod metrics;
pub mod notify;
pub mod program;
pub mod pulumi;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod worker;
