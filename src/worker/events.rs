//! Stores a run's events as they arrive: whatever is waiting (up to a batch) goes in one
//! insert, under the attempt's lease, and wakes the operation's live streams; an executor
//! reference is recorded at once, after the events before it. The writer numbers the events
//! itself after its first batch (no `MAX(seq)` per batch).

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::executor::SinkMessage;
use crate::notify::EventBatch;
use crate::store::events::NewEvent;
use crate::store::queue::{self, Lease, QueueError};
use crate::store::stack_settings;

/// Events are written in batches of at most this many: everything waiting goes in one
/// transaction (5 bound values a row: far below SQLite's 32,766 and PostgreSQL's 65,535).
pub(super) const BATCH: usize = 1024;

impl Worker {
    /// Drains `rx` until the executor drops its sink. When a write finds the lease lost, it
    /// cancels `lost` and stops: nothing more of this attempt is stored.
    pub(super) async fn write_events(
        self,
        lease: Lease,
        mut rx: mpsc::Receiver<SinkMessage>,
        lost: CancellationToken,
    ) {
        let mut batch = Vec::new();
        // The next sequence number, once a batch of this writer was stored; `None`: ask the
        // database (the first batch, or after a failed write).
        let mut next = None;
        // Every executor reference so far was stored (what a flush vouches for).
        let mut refs_stored = true;
        while let Some(first) = rx.recv().await {
            let mut message_in = Some(first);
            while let Some(message) = message_in.take() {
                match message {
                    SinkMessage::Event(e) => batch.push(NewEvent {
                        kind: e.kind,
                        payload: e.payload,
                    }),
                    SinkMessage::ExternalRef(reference) => {
                        let stored = self
                            .record_from(&lease, std::mem::take(&mut batch), &mut next)
                            .await;
                        if stored.is_ok() {
                            refs_stored &= self.record_external_ref(&lease, reference, &lost).await;
                        } else {
                            refs_stored = false;
                            note_lost(stored, &lost);
                        }
                    }
                    SinkMessage::Flush(done) => {
                        let stored = self
                            .record_from(&lease, std::mem::take(&mut batch), &mut next)
                            .await;
                        // A dropped receiver means the executor stopped waiting: nothing to do.
                        let _ = done.send(stored.is_ok() && refs_stored);
                        note_lost(stored, &lost);
                    }
                    other => {
                        let stored = self
                            .record_from(&lease, std::mem::take(&mut batch), &mut next)
                            .await;
                        if stored.is_ok() {
                            self.record_stack_state(&lease, other, &lost).await;
                        } else {
                            note_lost(stored, &lost);
                        }
                    }
                }
                if lost.is_cancelled() {
                    return;
                }
                if batch.len() < BATCH {
                    message_in = rx.try_recv().ok();
                }
            }
            let stored = self
                .record_from(&lease, std::mem::take(&mut batch), &mut next)
                .await;
            note_lost(stored, &lost);
            if lost.is_cancelled() {
                return;
            }
        }
    }

    /// Appends `events` under `lease` and, once they are committed, hands them to the
    /// operation's live streams (rendered once, see `notify::EventBatch`).
    pub(super) async fn record(
        &self,
        lease: &Lease,
        events: Vec<NewEvent>,
    ) -> Result<(), QueueError> {
        self.record_from(lease, events, &mut None).await
    }

    /// [`Self::record`] numbering from `*next` when known; leaves in it the number after the
    /// stored batch, or `None` when the write failed (the next one asks the database).
    pub(super) async fn record_from(
        &self,
        lease: &Lease,
        events: Vec<NewEvent>,
        next: &mut Option<i32>,
    ) -> Result<(), QueueError> {
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len();
        let held = lease.clone();
        let first = next.take();
        let res = self
            .blocking(move |conn| {
                let stored = queue::record_events_at(conn, &held, first, &events)?;
                Ok::<_, QueueError>(EventBatch::render(&stored))
            })
            .await;
        match res {
            Ok(batch) => {
                if let Some(batch) = batch {
                    *next = Some(batch.last() + 1);
                    self.inner
                        .hub
                        .stored(lease.operation_id(), std::sync::Arc::new(batch));
                }
                Ok(())
            }
            Err(e) => {
                if !matches!(e, QueueError::LeaseLost(_)) {
                    tracing::error!(error = %e, events = n, "cannot store events");
                }
                Err(e)
            }
        }
    }

    async fn record_external_ref(
        &self,
        lease: &Lease,
        reference: String,
        lost: &CancellationToken,
    ) -> bool {
        let held = lease.clone();
        let res = self
            .blocking(move |conn| queue::record_external_ref(conn, &held, &reference))
            .await;
        if let Err(QueueError::Store(e)) = &res {
            tracing::error!(error = %e, "cannot record the executor reference");
        }
        let ok = res.is_ok();
        note_lost(res, lost);
        ok
    }
}

impl Worker {
    /// Stores what the executor reported about the stack's workspace (its settings file,
    /// sealed; the pending-operations flag), under the attempt's lease.
    async fn record_stack_state(
        &self,
        lease: &Lease,
        message: SinkMessage,
        lost: &CancellationToken,
    ) {
        let held = lease.clone();
        let key = self.inner.key.clone();
        let res = self
            .blocking(move |conn| match message {
                SinkMessage::StackSettings(settings) => {
                    let op = crate::store::operations::find(conn, held.operation_id())?;
                    let text = serde_json::to_string(&settings).unwrap_or_default();
                    let sealed = stack_settings::seal(&key, &op.stack_name, &text);
                    queue::record_stack_settings(conn, &held, &sealed)
                }
                SinkMessage::CheckPending(on) => queue::record_check_pending(conn, &held, on),
                SinkMessage::Plan(plan) => {
                    let sealed = crate::store::plans::seal(&key, held.operation_id(), &plan.0);
                    queue::record_plan(conn, &held, &sealed)
                }
                SinkMessage::Event(_) | SinkMessage::ExternalRef(_) | SinkMessage::Flush(_) => {
                    Ok(())
                }
            })
            .await;
        if let Err(QueueError::Store(e)) = &res {
            tracing::error!(error = %e, "cannot record the stack's workspace state");
        }
        note_lost(res, lost);
    }
}

/// A write that found the lease gone ends the attempt's writing.
fn note_lost(res: Result<(), QueueError>, lost: &CancellationToken) {
    if let Err(QueueError::LeaseLost(_)) = res {
        lost.cancel();
    }
}
