//! One function per `byoc` subcommand; `main` only parses and dispatches here.

mod db;
mod dev;
mod render;
mod serve;
mod token;
mod worker;

use std::os::unix::fs::DirBuilderExt;

pub use db::db_copy;
pub use dev::{DevOptions, dev};
pub use render::{RenderArgs, render};
pub use serve::{Server, serve, start, start_with_aws};
pub use token::create_token;
pub use worker::run_worker;

use crate::crypto::MasterKey;
use crate::settings::Settings;
use crate::store::{self, DbPool};

/// Applies pending migrations and exits.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let (pool, _) = open(settings)?;
    let mut conn = pool.get()?;
    let applied = store::migrate(&mut conn)?;
    tracing::info!(migrations.applied = applied, "database is up to date");
    Ok(())
}

/// Creates the data dir private (0700) when it does not exist yet. Runs before anything
/// else writes into it (the executor creates its state and workspace dirs there).
pub fn create_data_dir(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.data.dir;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", dir.display()))
}

/// Creates the data dir (0700), loads the master key and opens + migrates the database.
pub fn open(settings: &Settings) -> anyhow::Result<(DbPool, MasterKey)> {
    create_data_dir(settings)?;
    let dir = &settings.data.dir;
    let key = MasterKey::load_or_create(dir, settings.data.master_key.as_ref())?;
    let pool = store::connect(&settings.data.database(), 8)?;
    store::migrate(&mut *pool.get()?)?;
    Ok((pool, key))
}
