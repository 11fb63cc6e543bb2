//! The `byoc` binary: parse the command line and dispatch. Server commands load the server
//! settings (environment and `.env`); client commands read only their own few variables, so a
//! server's settings can neither break nor change them.

use std::process::ExitCode;

use clap::Parser;

use byoc::cli::{Cli, Command, DbCommand, DevArgs, ServerCommand, TokenCommand};
use byoc::client::ClientEnv;
use byoc::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(cmd) => match server(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // What `fn main() -> anyhow::Result<()>` printed before client commands existed.
                eprintln!("Error: {e:?}");
                ExitCode::FAILURE
            }
        },
        Command::Client(cmd) => byoc::client::run(cmd, ClientEnv::capture(|k| std::env::var_os(k))),
        Command::Dev(args) => match dev(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e:?}");
                ExitCode::FAILURE
            }
        },
    }
}

/// `byoc dev`, with its own settings: neither `.env` nor the shell's server settings.
fn dev(args: DevArgs) -> anyhow::Result<()> {
    byoc::telemetry::init(byoc::settings::LogFormat::Pretty);
    let env = byoc::pulumi::EnvSnapshot::capture(std::env::vars());
    let options = commands::DevOptions {
        bind: args.bind,
        data_dir: args.data_dir,
        aws_endpoint: args.aws_endpoint,
        moto: args.moto,
        standin: args.standin,
        step_delay: std::time::Duration::from_millis(args.step_delay_ms),
    };
    actix_web::rt::System::new().block_on(commands::dev(options, env))
}

fn server(cmd: ServerCommand) -> anyhow::Result<()> {
    // A missing .env is the normal case; values it does hold are validated by from_env.
    let _ = dotenvy::dotenv();
    let settings = byoc::settings::Settings::from_env()?;
    byoc::telemetry::init(settings.log.format);
    // The allowlisted part of this process's environment (PATH, HOME, locale, the AWS
    // credential chain): what the pulumi CLI is started with. Read once, here.
    let env = byoc::pulumi::EnvSnapshot::capture(std::env::vars());
    match cmd {
        ServerCommand::Serve => {
            actix_web::rt::System::new().block_on(commands::serve(settings, env))
        }
        ServerCommand::Worker => {
            actix_web::rt::System::new().block_on(commands::run_worker(settings, env))
        }
        ServerCommand::Migrate => commands::migrate(&settings),
        ServerCommand::Db {
            action: DbCommand::Copy { from, to },
        } => commands::db_copy(&from, &to),
        ServerCommand::Token {
            action: TokenCommand::Create { name, role },
        } => commands::create_token(&settings, &name, role),
        ServerCommand::Render {
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
