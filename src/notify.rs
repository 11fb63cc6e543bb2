//! Notifications: wakes idle workers when an operation is queued (or a stack freed up), and
//! the live event streams of one operation when its events or status change — only that
//! operation's. In one process through the hub itself; across processes and hosts, on
//! PostgreSQL, through LISTEN/NOTIFY ([`postgres::bridge`]). On SQLite, another process (a
//! `byoc worker` beside `byoc serve`) is covered by polling the database; on PostgreSQL
//! polling stays only as the slow fallback.

pub mod postgres;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, watch};

/// Cheap to clone; shared by the API and the workers of one process.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    queued: Notify,
    operations: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Where wake-ups go to reach other processes (set by [`postgres::bridge`]).
    remote: std::sync::OnceLock<std::sync::mpsc::Sender<Wake>>,
}

/// A wake-up as it travels between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wake {
    /// [`Hub::operation_queued`].
    Queued,
    /// [`Hub::changed`] of this operation.
    Changed(String),
}

impl Hub {
    /// A new hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// An operation was queued (or a stack freed up): wake the idle workers, here and in
    /// every process sharing the database.
    pub fn operation_queued(&self) {
        self.wake_local(&Wake::Queued);
        self.publish(Wake::Queued);
    }

    /// Operation `operation_id` stored events or changed status: wake its live streams, here
    /// and in every process sharing the database.
    pub fn changed(&self, operation_id: &str) {
        self.wake_local(&Wake::Changed(operation_id.to_owned()));
        self.publish(Wake::Changed(operation_id.to_owned()));
    }

    /// Wakes this process only (what arrives from other processes).
    pub(crate) fn wake_local(&self, wake: &Wake) {
        match wake {
            Wake::Queued => self.queued_local(),
            Wake::Changed(id) => self.changed_local(id),
        }
    }

    /// Wakes everything of this process: after the link to other processes was down, any of
    /// their wake-ups may have been missed.
    pub(crate) fn wake_all_local(&self) {
        self.queued_local();
        let ids: Vec<String> = self.operations().keys().cloned().collect();
        for id in ids {
            self.changed_local(&id);
        }
    }

    fn publish(&self, wake: Wake) {
        if let Some(remote) = self.inner.remote.get() {
            // The bridge gone (shutdown) leaves the local wake-up, which already happened.
            let _ = remote.send(wake);
        }
    }

    fn queued_local(&self) {
        self.inner.queued.notify_waiters();
        // A worker between its query and its wait is not a waiter yet: leave it a permit.
        self.inner.queued.notify_one();
    }

    /// Resolves at the next [`Hub::operation_queued`]. Armed when called: create it *before*
    /// looking for work, so a wake-up that lands between the query and the wait is not lost.
    pub fn queued(&self) -> impl Future<Output = ()> + Send + Unpin + '_ {
        let mut notified = Box::pin(self.inner.queued.notified());
        notified.as_mut().enable();
        notified
    }

    fn changed_local(&self, operation_id: &str) {
        let mut operations = self.operations();
        if let Some(tx) = operations.get(operation_id) {
            if tx.receiver_count() == 0 {
                operations.remove(operation_id);
            } else {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// A subscription to the changes of `operation_id`.
    pub fn subscribe(&self, operation_id: &str) -> Subscription {
        let rx = self
            .operations()
            .entry(operation_id.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Subscription {
            rx,
            hub: self.clone(),
            operation_id: operation_id.to_owned(),
        }
    }

    fn operations(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<u64>>> {
        // The map holds no invariant a panicking holder could break.
        self.inner
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sees every [`Hub::changed`] of one operation after it was created; the last one dropped
/// removes the operation's entry.
#[derive(Debug)]
pub struct Subscription {
    rx: watch::Receiver<u64>,
    hub: Hub,
    operation_id: String,
}

impl Subscription {
    /// Resolves at the next change (at once if one happened since the last call).
    pub async fn changed(&mut self) {
        // The sender lives in the hub's map while a subscription exists.
        let _ = self.rx.changed().await;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut operations = self.hub.operations();
        // This subscription's receiver still counts while it is being dropped.
        if operations
            .get(&self.operation_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            operations.remove(&self.operation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_only_that_operations_streams() {
        let hub = Hub::new();
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.changed("a");
        tokio::time::timeout(std::time::Duration::from_secs(5), a.changed())
            .await
            .expect("a is woken");
        let woke_b = tokio::time::timeout(std::time::Duration::from_millis(50), b.changed()).await;
        assert!(woke_b.is_err(), "b must not be woken by a's change");
        drop((a, b));
        assert!(
            hub.operations().is_empty(),
            "dropped subscriptions leave nothing behind"
        );
    }

    #[tokio::test]
    async fn a_queue_wake_between_looking_and_waiting_is_not_lost() {
        let hub = Hub::new();
        let wake = hub.queued();
        hub.operation_queued();
        tokio::time::timeout(std::time::Duration::from_secs(5), wake)
            .await
            .expect("the armed wake-up fires");
    }
}
