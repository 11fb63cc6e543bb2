//! Notifications: wakes idle workers when an operation is queued (or a stack freed up), and
//! feeds the live event streams of one operation when its events or status change — only that
//! operation's. In one process through the hub itself: the events a worker just stored are
//! handed to the streams in memory ([`Update::Stored`], rendered once), and only catching up,
//! a stream that fell behind, or a change the hub cannot carry (a status) sends a stream to the
//! database. Across processes and hosts, on PostgreSQL, through LISTEN/NOTIFY
//! ([`postgres::bridge`]): there the streams of another process are only woken, and read
//! from the database. On SQLite, another process (a `byoc worker` beside `byoc serve`) is
//! covered by polling the database; on PostgreSQL polling stays only as the slow fallback.

pub mod batch;
pub mod postgres;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, broadcast};

pub use batch::{EventBatch, Take};

/// How many updates an operation's streams may fall behind before they miss some (they then
/// read from the database: nothing is lost, see [`Update::Changed`]). Updates are batches of
/// up to a worker's write batch (1,024 events). `BYOC_SSE_BUFFER` sets it for `byoc serve`.
pub const FEED_CAPACITY: usize = 1024;

/// Cheap to clone; shared by the API and the workers of one process.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queued: Notify,
    operations: Mutex<HashMap<String, broadcast::Sender<Update>>>,
    /// Where wake-ups go to reach other processes (set by [`postgres::bridge`]).
    remote: std::sync::OnceLock<std::sync::mpsc::Sender<Wake>>,
    /// [`FEED_CAPACITY`] (smaller in tests).
    capacity: usize,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            queued: Notify::new(),
            operations: Mutex::default(),
            remote: std::sync::OnceLock::new(),
            capacity: FEED_CAPACITY,
        }
    }
}

/// What the live streams of one operation learn from the hub.
#[derive(Debug, Clone)]
pub enum Update {
    /// These events were just stored (the insert committed), in order.
    Stored(Arc<EventBatch>),
    /// Something changed that only the database tells: the status, events stored by another
    /// process, or updates this stream fell too far behind to receive.
    Changed,
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

    /// A hub whose streams fall behind after `capacity` updates (`BYOC_SSE_BUFFER`).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                ..Inner::default()
            }),
        }
    }

    /// An operation was queued (or a stack freed up): wake the idle workers, here and in
    /// every process sharing the database.
    pub fn operation_queued(&self) {
        self.wake_local(&Wake::Queued);
        self.publish(Wake::Queued);
    }

    /// Operation `operation_id` stored events or changed status: wake its live streams, here
    /// and in every process sharing the database (they read what changed from it).
    pub fn changed(&self, operation_id: &str) {
        self.wake_local(&Wake::Changed(operation_id.to_owned()));
        self.publish(Wake::Changed(operation_id.to_owned()));
    }

    /// Operation `operation_id` stored `batch` (call after the insert committed): this
    /// process's streams get it in memory, other processes' are woken to read it.
    pub fn stored(&self, operation_id: &str, batch: Arc<EventBatch>) {
        self.send_local(operation_id, Update::Stored(batch));
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
        self.send_local(operation_id, Update::Changed);
    }

    fn send_local(&self, operation_id: &str, update: Update) {
        let mut operations = self.operations();
        if let Some(tx) = operations.get(operation_id)
            && tx.send(update).is_err()
        {
            // No receiver left.
            operations.remove(operation_id);
        }
    }

    /// A subscription to the updates of `operation_id`.
    pub fn subscribe(&self, operation_id: &str) -> Subscription {
        let capacity = self.inner.capacity;
        let rx = self
            .operations()
            .entry(operation_id.to_owned())
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe();
        Subscription {
            rx,
            hub: self.clone(),
            operation_id: operation_id.to_owned(),
        }
    }

    fn operations(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Update>>> {
        // The map holds no invariant a panicking holder could break.
        self.inner
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sees every update of one operation made after it was created, in order; the last one
/// dropped removes the operation's entry.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Update>,
    hub: Hub,
    operation_id: String,
}

impl Subscription {
    /// The next update. One that fell more than the hub's capacity behind gets
    /// [`Update::Changed`] (read the database) in place of what it missed.
    pub async fn next(&mut self) -> Update {
        match self.rx.recv().await {
            Ok(update) => update,
            Err(broadcast::error::RecvError::Lagged(_)) => Update::Changed,
            // The sender lives in the hub's map while a subscription exists; should it be
            // gone, the database is the truth.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }

    /// Whether an update is waiting (or the subscription fell behind): the next
    /// [`Subscription::next`] returns at once.
    pub fn has_waiting(&self) -> bool {
        !self.rx.is_empty()
    }

    /// The next update if one is waiting (see [`Subscription::next`]).
    pub fn try_next(&mut self) -> Option<Update> {
        match self.rx.try_recv() {
            Ok(update) => Some(update),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(Update::Changed),
            Err(_) => None,
        }
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
        assert!(matches!(a.try_next(), Some(Update::Changed)), "a is woken");
        assert!(b.try_next().is_none(), "b must not be woken by a's change");
        drop((a, b));
        assert!(
            hub.operations().is_empty(),
            "dropped subscriptions leave nothing behind"
        );
    }

    fn event(seq: i32) -> crate::store::events::Event {
        crate::store::events::Event {
            operation_id: "a".into(),
            seq,
            created_at: chrono::NaiveDateTime::default(),
            kind: "k".into(),
            payload: "{}".into(),
        }
    }

    #[tokio::test]
    async fn stored_batches_reach_every_stream_in_order_and_a_lagging_one_is_told_to_read() {
        let hub = Hub::with_capacity(2);
        let (mut fast, mut slow) = (hub.subscribe("a"), hub.subscribe("a"));
        let mut lasts = Vec::new();
        for seq in 1..=3 {
            hub.stored("a", Arc::new(EventBatch::render(&[event(seq)]).unwrap()));
            let Update::Stored(b) = fast.next().await else {
                panic!("a batch")
            };
            lasts.push(b.last());
        }
        assert_eq!(lasts, [1, 2, 3]);
        // `slow` read nothing while three updates went by its capacity of two.
        assert!(matches!(slow.next().await, Update::Changed));
    }

    /// What lets a busy live stream skip its periodic read of the events (they are waiting in
    /// memory): a waiting batch, and a fall behind the buffer, both count as waiting.
    #[tokio::test]
    async fn a_subscription_tells_whether_an_update_is_waiting() {
        let hub = Hub::with_capacity(2);
        let mut sub = hub.subscribe("a");
        assert!(!sub.has_waiting());
        hub.stored("a", Arc::new(EventBatch::render(&[event(1)]).unwrap()));
        assert!(sub.has_waiting());
        assert!(matches!(sub.next().await, Update::Stored(_)));
        assert!(!sub.has_waiting());
        for seq in 2..=4 {
            hub.stored("a", Arc::new(EventBatch::render(&[event(seq)]).unwrap()));
        }
        assert!(sub.has_waiting(), "fell behind: the next update says so");
        assert!(matches!(sub.next().await, Update::Changed));
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
