//! The rollout driver: in every process that runs workers, each poll interval, takes the lease
//! of each active rollout (`store::rollouts::acquire`: one process drives a rollout at a time;
//! a dead process's lease expires and another takes over) and runs one step
//! (`store::rollouts::step`), which starts, follows, halts or finishes it. All progress is in
//! the database, so a restarted process continues where the last step left off.

use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::store::{self, StoreError, rollouts};

impl Worker {
    /// Drives rollouts every poll interval until `shutdown`.
    pub(super) async fn rollout_loop(self, shutdown: CancellationToken) {
        loop {
            self.drive_rollouts().await;
            tokio::select! {
                _ = tokio::time::sleep(self.inner.settings.poll) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// One step of every active rollout this process can hold. Returns how many steps changed
    /// something. For the loop, tests and one-shot use.
    pub async fn drive_rollouts(&self) -> usize {
        let inner = self.inner.clone();
        let result = self
            .blocking(move |conn| {
                let mut changed = 0;
                let mut queued = 0;
                for id in rollouts::active(conn)? {
                    let now = store::now();
                    if !rollouts::acquire(conn, &id, &inner.id, now, inner.lease_until())? {
                        continue;
                    }
                    match rollouts::step(conn, &id, &inner.id, store::now()) {
                        Ok(rollouts::Stepped::Changed { queued: n }) => {
                            changed += 1;
                            queued += n;
                        }
                        Ok(_) => {}
                        // One rollout's trouble does not stop the others.
                        Err(e) => {
                            tracing::warn!(rollout.id = %id, error = %e, "rollout step failed")
                        }
                    }
                }
                Ok::<_, StoreError>((changed, queued))
            })
            .await;
        match result {
            Ok((changed, queued)) => {
                if queued > 0 {
                    self.inner.hub.operation_queued();
                }
                changed
            }
            Err(e) => {
                tracing::warn!(error = %e, "driving rollouts failed; retrying");
                0
            }
        }
    }
}
