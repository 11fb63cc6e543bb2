//! `byoc db copy`: moves an install to another database (see `store::copy`).

use crate::store::{self, DatabaseUrl};

/// Migrates both databases and copies every row of `from` into `to`, which must be empty.
pub fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let (from, to) = (DatabaseUrl::parse(from)?, DatabaseUrl::parse(to)?);
    if let DatabaseUrl::Sqlite(path) = &from
        && !path.exists()
    {
        anyhow::bail!("source database {} does not exist", path.display());
    }
    let (source, target) = (store::connect(&from, 1)?, store::connect(&to, 1)?);
    let (mut source, mut target) = (source.get()?, target.get()?);
    store::migrate(&mut source)?;
    store::migrate(&mut target)?;
    let counts = store::copy::copy(&mut source, &mut target)?;
    for (table, rows) in &counts {
        println!("{table}: {rows} rows");
    }
    tracing::info!(from = %from.redacted(), to = %to.redacted(), "database copied");
    Ok(())
}
