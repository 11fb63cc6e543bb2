//! `byoc worker`: operation workers without the API, sharing the database with `byoc serve`.

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::worker::{Hub, Worker};

/// Runs workers until SIGINT or SIGTERM, then stops claiming and lets running operations
/// stop gracefully within `BYOC_SHUTDOWN_GRACE_SECONDS` (they are re-queued).
pub async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let (db, key) = super::open(&settings)?;
    // `open` has created the data dir private before the executor writes into it.
    let executor = crate::executor::build(&settings).await?;
    let worker = Worker::new(
        db,
        key,
        executor,
        settings.worker.clone(),
        Hub::new(),
        Metrics::new(),
    );
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        signal.cancel();
    });
    worker.run(shutdown).await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handlers the process still stops on SIGKILL; the lease covers it.
        _ => std::future::pending::<()>().await,
    }
}
