//! Claims queued operations with a lease, heartbeats, recovers expired leases, runs executors
//! and records events.
