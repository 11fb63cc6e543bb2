//! API integration tests: one binary, one module per resource.

mod auth;
mod configs;
mod helpers;
mod system;
mod tenants;
