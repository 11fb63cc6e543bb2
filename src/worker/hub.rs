//! In-process notifications: wakes idle workers when an operation is queued, and live event
//! subscribers when events or statuses change. Other processes (a `byoc worker` beside
//! `byoc serve`) are covered by polling the database on a short interval.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

/// Cheap to clone; shared by the API and the workers of one process.
#[derive(Debug, Clone)]
pub struct Hub {
    queued: Arc<Notify>,
    changed: watch::Sender<u64>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// A new hub.
    pub fn new() -> Self {
        Self {
            queued: Arc::new(Notify::new()),
            changed: watch::channel(0).0,
        }
    }

    /// An operation was queued (or a stack freed up): wake one idle worker.
    pub fn operation_queued(&self) {
        self.queued.notify_waiters();
        self.queued.notify_one();
    }

    /// Resolves when an operation is queued in this process.
    pub async fn wait_queued(&self) {
        self.queued.notified().await;
    }

    /// Events were stored or an operation changed status.
    pub fn changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later `changed()`.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
