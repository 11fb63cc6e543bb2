//! Tests of the pulumi stand-in itself (`tests/support/pulumi-standin`): each behaviour it
//! copies from the real CLI or AWS, run as a real child process, asserting the real texts and
//! shapes (docs/test-doubles.md says where each comes from).

#[path = "support/moto.rs"]
mod moto;
#[path = "support/poll.rs"]
mod poll;

mod standin {
    pub mod cli;
    pub mod cloud;
    pub mod drift;
    pub mod harness;
    pub mod kubeauth;
    pub mod locks;
    pub mod pending;
    pub mod plans;
    pub mod recovery;
    pub mod s3;
    pub mod secrets;
}
