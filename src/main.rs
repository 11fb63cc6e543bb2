//! The `byoc` binary: parse the command line, load settings, dispatch.

use clap::Parser;

use byoc::cli::{Cli, Command, TokenCommand};
use byoc::commands;

fn main() -> anyhow::Result<()> {
    // A missing .env is the normal case; values it does hold are validated by from_env.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = byoc::settings::Settings::from_env()?;
    byoc::telemetry::init(settings.log.format);
    match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(commands::serve(settings)),
        Command::Worker => actix_web::rt::System::new().block_on(commands::run_worker(settings)),
        Command::Migrate => commands::migrate(&settings),
        Command::Token {
            action: TokenCommand::Create { name, role },
        } => commands::create_token(&settings, &name, role),
        Command::Render {
            config,
            tenant,
            env,
            account,
            region,
            check,
        } => commands::render(&commands::RenderArgs {
            config: &config,
            tenant: &tenant,
            env: &env,
            account: &account,
            region: &region,
            project: &settings.pulumi.project,
            check,
        }),
    }
}
