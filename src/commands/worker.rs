//! `byoc worker`: operation workers without the API, sharing the database with `byoc serve`.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::metrics::Metrics;
use crate::notify::Hub;
use crate::pulumi::EnvSnapshot;
use crate::settings::Settings;
use crate::worker::Worker;

/// Runs workers until SIGINT or SIGTERM, then stops claiming and lets running operations
/// stop gracefully within `BYOC_SHUTDOWN_GRACE_SECONDS` (they are re-queued). With
/// `BYOC_WORKER_HEALTH_BIND`, also serves `/health`, `/ready` and `/metrics` there.
pub async fn run_worker(settings: Settings, env: EnvSnapshot) -> anyhow::Result<()> {
    // `open` creates the data dir private before the executor writes into it.
    let (db, key) = super::open(&settings)?;
    // Loaded once for the executor and the health server.
    let aws = crate::executor::platform_aws(&settings).await;
    let executor = crate::executor::build_with_aws(&settings, &env, aws.clone()).await?;
    if let Some(plugins) = crate::executor::plugin_status(&settings) {
        plugins.log();
    }
    let (hub, metrics) = (Hub::new(), Metrics::new());
    if let crate::store::DatabaseUrl::Postgres(url) = settings.data.database() {
        crate::notify::postgres::bridge(&hub, &url);
    }
    let worker = Worker::new(
        db.clone(),
        key.clone(),
        executor.clone(),
        settings.worker.clone(),
        hub.clone(),
        metrics.clone(),
    );
    let health = match settings.worker.health_bind {
        None => None,
        Some(bind) => {
            let state = AppState {
                pool: db.clone(),
                key: key.clone(),
                settings: Arc::new(settings.clone()),
                hub,
                metrics,
                aws,
                tokens: api::TokenCache::default(),
                configs: api::ConfigCache::default(),
            };
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(actix_web::middleware::from_fn(api::edge::middleware))
                    .configure(api::configure_worker(state.clone()))
            })
            .workers(1)
            // Signals stop the worker loop first; the listener is stopped after it.
            .disable_signals()
            .bind(bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {bind} (BYOC_WORKER_HEALTH_BIND): {e}"))?
            .run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            tracing::info!(http.addr = %bind, "worker health endpoint listening");
            Some(handle)
        }
    };
    let shutdown = CancellationToken::new();
    // Webhooks are delivered by every process that runs workers, not only by `serve`: the
    // outbox leases each try, so processes sharing the database never send one at once.
    let webhooks = settings.webhooks.deliver.then(|| {
        actix_web::rt::spawn(crate::webhooks::run(
            db.clone(),
            key.clone(),
            settings.webhooks.clone(),
            worker.id().to_owned(),
            shutdown.clone(),
        ))
    });
    super::serve::release_freed_memory();
    let signal = shutdown.clone();
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        signal.cancel();
    });
    worker.run(shutdown).await;
    if let Some(mut webhooks) = webhooks {
        // It stops after its current round once `shutdown` is cancelled; a round still
        // sending after one lease is dropped: its try is made again after the lease.
        let lease = settings.webhooks.timeout * 3;
        match tokio::time::timeout(lease, &mut webhooks).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "webhook delivery task ended abnormally"),
            Err(_) => webhooks.abort(),
        }
    }
    if let Some(handle) = health {
        handle.stop(true).await;
    }
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
