//! API integration tests: one binary, one module per resource.

mod auth;
mod configs;
mod events;
#[path = "../support/files.rs"]
#[expect(
    dead_code,
    reason = "this binary scans files but polls with its own helpers"
)]
mod files;
mod helpers;
#[path = "../support/moto.rs"]
mod moto;
mod onboarding;
mod operations;
#[path = "../support/scripted_executor.rs"]
mod scripted;
mod system;
mod tenants;
