//! API integration tests: one binary, one module per resource.

mod auth;
mod configs;
mod events;
mod helpers;
#[path = "../support/moto.rs"]
mod moto;
mod onboarding;
mod operations;
#[path = "../support/scripted_executor.rs"]
mod scripted;
mod system;
mod tenants;
