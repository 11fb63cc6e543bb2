//! `byoc serve`: the API server on the embedded database, with embedded workers.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::ServerHandle};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState};
use crate::cloud::PlatformAws;
use crate::executor::Executor;
use crate::metrics::Metrics;
use crate::notify::Hub;
use crate::pulumi::EnvSnapshot;
use crate::settings::Settings;
use crate::worker::Worker;

/// A started server: its address, a handle to stop it, and its workers.
#[derive(Debug)]
pub struct Server {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Stops the HTTP server.
    pub handle: ServerHandle,
    /// Resolves when the HTTP server has stopped.
    pub done: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
    /// The embedded worker pool (runs only when concurrency > 0).
    pub worker: Worker,
    /// Stops the embedded workers.
    pub shutdown: CancellationToken,
    /// Resolves when the embedded workers have stopped.
    pub workers_done: Option<actix_web::rt::task::JoinHandle<()>>,
    /// The server's database pool (tests reach its connections through it).
    pub pool: crate::store::DbPool,
    /// The notify hub of this process (the ingestion bench feeds its streams directly).
    pub hub: Hub,
}

/// Opens the database, ensures a first admin token, starts the embedded workers (when
/// `settings.worker.concurrency > 0`) and the HTTP server on the current runtime. The
/// platform's AWS identity comes from the standard provider chain.
pub async fn start(settings: Settings, executor: Arc<dyn Executor>) -> anyhow::Result<Server> {
    let aws = crate::executor::platform_aws(&settings).await;
    start_with_aws(settings, executor, aws)
}

/// Like [`start`], with an explicit AWS identity (tests pass moto credentials).
pub fn start_with_aws(
    settings: Settings,
    executor: Arc<dyn Executor>,
    aws: PlatformAws,
) -> anyhow::Result<Server> {
    let (db, key) = super::open(&settings)?;
    if settings.is_simulated() {
        tracing::warn!("{}", crate::executor::SIMULATED_NOTICE);
    }
    if settings.aws.trusted_principal_arn.is_none() {
        tracing::warn!("{}", crate::cloud::onboarding::NO_TRUSTED_PRINCIPAL_WARNING);
    }
    if let Some(token) = super::token::ensure_bootstrap_token(&db, &settings)? {
        // Printed once, on stdout, for the operator; never logged.
        println!("byoc: created the first admin token (shown only now):");
        println!("{}", token.expose_secret());
    }
    let hub = Hub::with_capacity(settings.http.sse_buffer);
    if let crate::store::DatabaseUrl::Postgres(url) = settings.data.database() {
        crate::notify::postgres::bridge(&hub, &url);
    }
    let metrics = Metrics::new();
    let worker = Worker::new(
        db.clone(),
        key.clone(),
        executor,
        settings.worker.clone(),
        hub.clone(),
        metrics.clone(),
    );
    let shutdown = CancellationToken::new();
    let embedded_workers = settings.worker.concurrency > 0;
    let webhooks = settings.webhooks.deliver.then(|| {
        (
            db.clone(),
            key.clone(),
            settings.webhooks.clone(),
            worker.id().to_owned(),
            shutdown.clone(),
        )
    });
    let pool = db.clone();
    let server_hub = hub.clone();
    let state = AppState {
        pool: db,
        key,
        settings: Arc::new(settings),
        hub,
        metrics,
        aws,
        tokens: api::TokenCache::default(),
        configs: api::ConfigCache::default(),
    };
    let bind = state.settings.http.bind;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(api::edge::middleware))
            .wrap_fn(api::request_id_header)
            .wrap(TracingLogger::<api::request_log::RedactedSpan>::new())
            .configure(api::configure(state.clone()))
            .configure(crate::console::configure(state.settings.console.enabled))
    })
    .bind(bind)
    .map_err(|e| anyhow::anyhow!("cannot listen on {bind} (BYOC_BIND): {e}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("the server bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    let done = actix_web::rt::spawn(server);
    // The background tasks are spawned after the server, on the same local task queue: the
    // server's first poll starts the HTTP workers and waits until each has built its `App`,
    // so the embedded worker's first step — `Executor::ready`, which runs `pulumi version`
    // (a process start-up of its own) — begins only once the server is ready instead of
    // competing with it for the CPU (issue 16, cold start). It claims nothing before.
    let workers_done = embedded_workers.then(|| {
        let (worker, shutdown) = (worker.clone(), shutdown.clone());
        actix_web::rt::spawn(async move { worker.run(shutdown).await })
    });
    if let Some((pool, key, webhooks, by, shutdown)) = webhooks {
        actix_web::rt::spawn(crate::webhooks::run(pool, key, webhooks, by, shutdown));
    }
    tracing::info!(http.addr = %addr, "byoc API listening");
    Ok(Server {
        addr,
        handle,
        done,
        worker,
        shutdown,
        workers_done,
        pool,
        hub: server_hub,
    })
}

/// Runs the server until SIGINT/SIGTERM, then stops claiming operations and lets running
/// ones stop gracefully (they are re-queued for the next start or another worker).
pub async fn serve(settings: Settings, env: EnvSnapshot) -> anyhow::Result<()> {
    super::create_data_dir(&settings)?;
    // Loaded once for the executor and the API (onboarding's role checks).
    let aws = crate::executor::platform_aws(&settings).await;
    let executor = match crate::executor::build_with_aws(&settings, &env, aws.clone()).await {
        Ok(e) => e,
        Err(e) => {
            // The API (tenants, configs, status) stays useful without an executor; each
            // operation fails with this reason instead.
            tracing::warn!(error = %e, "operations cannot run on this server");
            Arc::new(crate::executor::UnavailableExecutor::new(e.to_string())) as Arc<dyn Executor>
        }
    };
    if let Some(plugins) = crate::executor::plugin_status(&settings) {
        plugins.log();
    }
    let server = start_with_aws(settings, executor, aws)?;
    release_freed_memory();
    // actix stops the HTTP server on SIGINT/SIGTERM; then the workers follow.
    let result = server.done.await;
    server.shutdown.cancel();
    if let Some(w) = server.workers_done {
        let _ = w.await;
    }
    result??;
    Ok(())
}

/// How often freed heap is given back to the system (see [`release_freed_memory`]).
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Gives freed heap back to the system: a second after start (migrations, the OpenAPI document
/// each HTTP worker derives its routes from, the executor's checks), then every
/// [`TRIM_EVERY`]. glibc returns only the top of an arena by itself; what is freed below
/// memory still in use stays resident. A worker with hundreds of operations in flight frees
/// a lot in between (each run's rendering, role check and CLI output) and held it: issue 16,
/// worker RSS at 1,000 in flight, and idle RSS. A trim walks the arenas' free lists under
/// their locks: well under a millisecond at these heap sizes, once per interval.
pub(super) fn release_freed_memory() {
    actix_web::rt::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut every = tokio::time::interval(TRIM_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: `malloc_trim` only returns free memory of glibc's arenas to the kernel;
            // it takes each arena's lock and is safe to call from any thread at any time.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}
