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
    // The allowlisted part of this process's environment (PATH, HOME, locale, the AWS
    // credential chain): what the pulumi CLI is started with. Read once, here.
    let env = byoc::pulumi::EnvSnapshot::capture(std::env::vars());
    match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(commands::serve(settings, env)),
        Command::Worker => {
            actix_web::rt::System::new().block_on(commands::run_worker(settings, env))
        }
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
