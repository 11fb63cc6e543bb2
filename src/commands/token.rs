//! `byoc token create` and the first-start admin token.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::Role;
use crate::settings::Settings;
use crate::store::{self, DbPool};

/// Creates a token and prints it once on stdout.
pub fn create_token(settings: &Settings, name: &str, role: Role) -> anyhow::Result<()> {
    let (pool, _) = super::open(settings)?;
    let (row, token) = store::tokens::issue(&mut *pool.get()?, name, role)?;
    println!("{}", token.expose_secret());
    eprintln!(
        "created {role} token '{}' (id {}); it is not shown again",
        row.name, row.id
    );
    Ok(())
}

/// On first start (no token at all), creates an admin token: `BYOC_BOOTSTRAP_TOKEN` when set,
/// else a generated one printed once. Returns the generated token, if any.
pub fn ensure_bootstrap_token(
    pool: &DbPool,
    settings: &Settings,
) -> anyhow::Result<Option<SecretString>> {
    let mut conn = pool.get()?;
    // API replicas starting together on PostgreSQL: one of them creates the token.
    store::transaction(&mut conn, |conn| {
        store::serialize_on(conn, "byoc.bootstrap-token")?;
        if store::tokens::count(conn)? > 0 {
            return Ok(None);
        }
        match &settings.auth.bootstrap_token {
            Some(given) => {
                if given.expose_secret().len() < 32 {
                    anyhow::bail!("BYOC_BOOTSTRAP_TOKEN must be at least 32 characters long");
                }
                store::tokens::insert_secret(conn, "bootstrap", Role::Admin, given)?;
                tracing::info!("created the bootstrap admin token from BYOC_BOOTSTRAP_TOKEN");
                Ok(None)
            }
            None => {
                let (_, token) = store::tokens::issue(conn, "bootstrap", Role::Admin)?;
                Ok(Some(token))
            }
        }
    })
}
