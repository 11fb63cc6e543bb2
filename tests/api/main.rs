//! API integration tests: one binary, one module per resource.

mod auth;
mod helpers;
mod system;
mod tenants;
