//! API integration tests: one binary, one module per resource (operations by concern).

#[path = "../support/app.rs"]
mod app;
mod approvals;
mod auth;
mod configs;
mod db_copy;
mod drift;
mod edge;
mod events;
#[path = "../support/files.rs"]
mod files;
mod forget;
mod labels;
#[path = "../support/moto.rs"]
mod moto;
mod onboarding;
mod operations;
#[path = "../support/poll.rs"]
mod poll;
mod queue;
mod recovery;
mod rollouts;
#[path = "../support/routes.rs"]
mod routes;
mod scope;
#[path = "../support/scripted_executor.rs"]
mod scripted;
mod system;
mod tenants;
mod webhook_targets;
mod webhooks;
