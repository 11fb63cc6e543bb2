//! End-to-end: the HTTP API, the worker and a real executor together — the local executor
//! driving the pulumi stand-in with moto as AWS, and the Deployments executor against its
//! HTTP double — plus crash recovery with real `byoc serve` / `byoc worker` processes, and
//! two APIs and three workers on PostgreSQL and S3 state losing one of each (`fleet`), and
//! webhook deliveries by worker processes sharing a database (`webhooks`).

#[path = "support/app.rs"]
mod app;
#[path = "support/deployments_double.rs"]
pub mod deployments_double;
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

#[path = "e2e/approvals.rs"]
mod approvals;
#[path = "e2e/crash.rs"]
mod crash;
#[path = "e2e/deployments.rs"]
mod deployments;
#[path = "e2e/drift.rs"]
mod drift;
#[path = "e2e/fleet.rs"]
mod fleet;
#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/lease.rs"]
mod lease;
#[path = "e2e/local.rs"]
mod local;
#[path = "e2e/rollouts.rs"]
mod rollouts;
#[path = "e2e/webhooks.rs"]
mod webhooks;
