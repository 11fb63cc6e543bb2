//! Runs one stack operation: the `Executor` trait and its local (pulumi CLI) and Pulumi
//! Deployments implementations.
