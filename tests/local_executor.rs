//! The local executor end to end: the real renderer and validator, the pre-flight role check
//! against a real moto server (IAM authorization on, role created from our CloudFormation
//! template), and the pulumi stand-in as the CLI. Tests needing moto print
//! `SKIPPED: moto_server not found` and pass when it is missing, unless
//! `BYOC_REQUIRE_ORACLES=1`.

#[path = "support/moto.rs"]
mod moto;

#[path = "support/files.rs"]
mod files;
#[path = "support/poll.rs"]
mod poll;
#[path = "local_executor/support.rs"]
mod support;

#[path = "local_executor/failures.rs"]
mod failures;
#[path = "local_executor/lifecycle.rs"]
mod lifecycle;
#[path = "local_executor/locks.rs"]
mod locks;
#[path = "local_executor/pending.rs"]
mod pending;
#[path = "local_executor/secrets.rs"]
mod secrets;
#[path = "local_executor/stack_state.rs"]
mod stack_state;
