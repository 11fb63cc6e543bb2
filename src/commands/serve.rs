//! `byoc serve`: the API server on the embedded database.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::ServerHandle};
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState};
use crate::settings::Settings;

/// A started server: its address and a handle to stop it.
#[derive(Debug)]
pub struct Server {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Stops the server.
    pub handle: ServerHandle,
    /// Resolves when the server has stopped.
    pub done: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

/// Opens the database, ensures a first admin token, binds and starts serving in the
/// background (on the current actix/tokio runtime).
pub fn start(settings: Settings) -> anyhow::Result<Server> {
    let (db, key) = super::open(&settings)?;
    if let Some(token) = super::token::ensure_bootstrap_token(&db, &settings)? {
        // Printed once, on stdout, for the operator; never logged.
        println!("byoc: created the first admin token (shown only now):");
        println!("{}", token.expose_secret());
    }
    let state = AppState {
        db,
        key,
        settings: Arc::new(settings),
    };
    let bind = state.settings.http.bind;
    let server = HttpServer::new(move || {
        App::new()
            .wrap_fn(api::request_id_header)
            .wrap(TracingLogger::default())
            .configure(api::configure(state.clone()))
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
    tracing::info!(http.addr = %addr, "byoc API listening");
    Ok(Server { addr, handle, done })
}

/// Runs the server until it is stopped (SIGINT/SIGTERM).
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let server = start(settings)?;
    server.done.await??;
    Ok(())
}
