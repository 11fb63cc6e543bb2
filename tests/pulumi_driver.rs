//! Integration tests of the pulumi driver (`byoc::pulumi`) against recorded CLI event logs and
//! the pulumi stand-in (`tests/support/pulumi-standin`, Python 3 + PyYAML).

#[path = "support/files.rs"]
mod files;
#[path = "support/poll.rs"]
mod poll;

mod pulumi_driver {
    pub mod argv;
    pub mod faults;
    pub mod fixtures;
    pub mod lifecycle;
    pub mod spawn;
    pub mod support;
}
