//! The `byoc` binary: parse the command line, load settings, dispatch.

use clap::Parser;

use byoc::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    // A missing .env is the normal case; a malformed one is reported by from_env's values.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = byoc::settings::Settings::from_env()?;
    byoc::telemetry::init(settings.log.format);
    match cli.command {
        Command::Serve => todo_later(),
        Command::Migrate => todo_later(),
        Command::Token { .. } => todo_later(),
        Command::Render { .. } => todo_later(),
    }
}

fn todo_later() -> anyhow::Result<()> {
    anyhow::bail!("not wired yet")
}
