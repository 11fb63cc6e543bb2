//! Keeps an attempt's lease while its run goes on: renews it every third of its length, turns
//! an API cancel, the timeout or a shutdown into a graceful cancel of the run, and drops the
//! run at once when the lease is lost (its process group is killed: no graceful wait, since
//! another worker now owns the stack).

use std::collections::BTreeMap;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Stop, Worker};
use crate::executor::Outcome;
use crate::store::queue::{self, Lease, QueueError, Renewed};

/// How the run ended and why the worker stopped it, if it did.
#[derive(Debug)]
pub(super) struct Watched {
    pub stop: Option<Stop>,
    pub outcome: Outcome,
}

/// The signals that stop a run.
#[derive(Debug)]
pub(super) struct Signals<'a> {
    /// Cancels the run gracefully (the executor's token).
    pub cancel: &'a CancellationToken,
    /// Cancelled when a write found the lease lost (by the event writer, or here).
    pub lost: &'a CancellationToken,
    /// The worker is shutting down.
    pub shutdown: &'a CancellationToken,
}

impl Worker {
    /// Awaits `run` while holding `lease`.
    pub(super) async fn keep_lease(
        &self,
        lease: &Lease,
        mut run: JoinHandle<Outcome>,
        signals: Signals<'_>,
    ) -> Watched {
        let settings = &self.inner.settings;
        let mut beat = tokio::time::interval(settings.lease / 3);
        beat.tick().await;
        let deadline = tokio::time::sleep(settings.operation_timeout);
        tokio::pin!(deadline);
        // Self-fencing: when the lease runs out by this worker's own clock (heartbeats failed,
        // e.g. the database is out of reach), the run is dropped as if the lease were lost,
        // since recovery may now take the operation over. Counted from before each renewal
        // was sent, so this fires no later than the expiry the database holds.
        let expiry = tokio::time::sleep(settings.lease);
        tokio::pin!(expiry);
        let mut stop: Option<Stop> = None;
        let ask = |why: Stop, stop: &mut Option<Stop>| {
            if stop.is_none() {
                *stop = Some(why);
                signals.cancel.cancel();
            }
        };
        loop {
            tokio::select! {
                biased;
                done = &mut run => {
                    let outcome = done.unwrap_or_else(|e| Outcome::Failed {
                        message: format!("the executor crashed: {e}"),
                        summary: BTreeMap::new(),
                        retryable: false,
                    });
                    return Watched { stop, outcome };
                }
                () = signals.lost.cancelled() => {
                    tracing::warn!("lease lost: another worker recovered this operation; stopping at once");
                    run.abort();
                    let outcome = Outcome::Cancelled {
                        reason: "the worker lost its lease".into(),
                        summary: BTreeMap::new(),
                    };
                    return Watched { stop: Some(Stop::LeaseLost), outcome };
                }
                () = &mut expiry => {
                    tracing::warn!("lease ran out without a successful heartbeat; stopping at once");
                    signals.lost.cancel();
                }
                _ = beat.tick() => {
                    let sent = tokio::time::Instant::now();
                    match self.heartbeat(lease).await {
                        Ok(renewed) => {
                            expiry.as_mut().reset(sent + settings.lease);
                            if renewed.cancel_requested {
                                ask(Stop::Requested, &mut stop);
                            }
                        }
                        Err(QueueError::LeaseLost(_)) => signals.lost.cancel(),
                        // A missed heartbeat is not fatal: the lease covers three of them.
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                    }
                }
                () = &mut deadline, if stop.is_none() => {
                    ask(Stop::Timeout(settings.operation_timeout), &mut stop);
                }
                () = signals.shutdown.cancelled(), if stop.is_none() => {
                    if self.inner.executor.runs_remotely() {
                        // The remote run goes on without us; the next worker follows it.
                        run.abort();
                        let outcome = Outcome::Cancelled {
                            reason: "worker shut down".into(),
                            summary: BTreeMap::new(),
                        };
                        return Watched { stop: Some(Stop::Shutdown), outcome };
                    }
                    ask(Stop::Shutdown, &mut stop);
                }
            }
        }
    }

    async fn heartbeat(&self, lease: &Lease) -> Result<Renewed, QueueError> {
        let inner = self.inner.clone();
        let held = lease.clone();
        self.blocking(move |conn| queue::heartbeat(conn, &held, inner.lease_until()))
            .await
    }
}
