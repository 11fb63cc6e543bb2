//! The operator's command line: every client command of `byoc` calls the HTTP API of a byoc
//! server (never the database), prints tables for people or the API's JSON for scripts, and
//! exits with a code scripts can rely on (`Exit`). Nothing here reads server settings.

mod approvals;
mod configs;
mod connect;
mod contexts;
mod docs;
mod env;
mod error;
mod file_lines;
mod follow;
mod http;
mod login;
mod operations;
mod ops;
mod output;
mod tenants;
mod terminal;
mod tokens;

use std::process::ExitCode;

pub use env::ClientEnv;
pub use error::{ApiProblem, ClientError, Exit};

use crate::cli::{ClientArgs, ClientCommand};
use contexts::ConfigStore;
use http::Api;
use output::Printer;
use terminal::Terminal;

/// An open connection to a server, and how to print.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The server.
    pub api: Api,
    /// Output format and width.
    pub out: Printer,
    /// What the process is attached to.
    pub term: Terminal,
}

impl Session {
    fn open(args: &ClientArgs, env: &ClientEnv, term: Terminal) -> Result<Self, ClientError> {
        // Without HOME or XDG_CONFIG_HOME there is no file, but BYOC_URL + BYOC_TOKEN work.
        let file = match &env.config_dir {
            Some(dir) => ConfigStore::new(Some(dir.clone()))?.load()?,
            None => contexts::ConfigFile::default(),
        };
        let target = connect::resolve(args, env, &file)?;
        Ok(Self {
            api: Api::new(target)?,
            out: Printer {
                format: args.output,
                width: term.width(),
            },
            term,
        })
    }
}

/// Runs one client command and returns its exit code.
pub fn run(cmd: ClientCommand, env: ClientEnv) -> ExitCode {
    let term = Terminal::detect(&env);
    let result = match cmd {
        ClientCommand::Completions { shell } => docs::completions(shell),
        ClientCommand::Man { command } => docs::man(&command),
        other => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(execute(other, &env, term)),
            Err(e) => Err(ClientError::Terminal(e)),
        },
    };
    let exit = result.unwrap_or_else(|e| {
        report(&e);
        e.exit()
    });
    ExitCode::from(exit.code())
}

async fn execute(cmd: ClientCommand, env: &ClientEnv, term: Terminal) -> Result<Exit, ClientError> {
    use ClientCommand as C;
    match cmd {
        C::Login(args) => login::login(&args, env, term).await,
        C::Logout(args) => login::logout(&args, env),
        C::Contexts(args) => login::contexts(&args.action, env, term),
        C::Tenants(args) => {
            tenants::run(&Session::open(&args.client, env, term)?, args.action).await
        }
        C::Config(args) => {
            configs::run(&Session::open(&args.client, env, term)?, args.action).await
        }
        C::Program(args) => configs::program(&Session::open(&args.client, env, term)?, &args).await,
        C::Deploy(args) => {
            operations::start(&Session::open(&args.client, env, term)?, "deploy", &args).await
        }
        C::Preview(args) => {
            operations::start(&Session::open(&args.client, env, term)?, "preview", &args).await
        }
        C::Refresh(args) => {
            operations::start(&Session::open(&args.client, env, term)?, "refresh", &args).await
        }
        C::Destroy(args) => {
            operations::destroy(&Session::open(&args.client, env, term)?, &args).await
        }
        C::Forget(args) => {
            operations::forget(&Session::open(&args.client, env, term)?, &args).await
        }
        C::Plan(args) => approvals::plan(&Session::open(&args.client, env, term)?, &args).await,
        C::Approve(args) => {
            approvals::approve(&Session::open(&args.client, env, term)?, &args).await
        }
        C::Reject(args) => approvals::reject(&Session::open(&args.client, env, term)?, &args).await,
        C::Status(args) => {
            operations::status(&Session::open(&args.client, env, term)?, &args).await
        }
        C::Outputs(args) => {
            operations::outputs(&Session::open(&args.client, env, term)?, &args).await
        }
        C::Ops(args) => ops::run(&Session::open(&args.client, env, term)?, args.action).await,
        C::Tokens(args) => tokens::run(&Session::open(&args.client, env, term)?, args.action).await,
        C::Completions { shell } => docs::completions(shell),
        C::Man { command } => docs::man(&command),
    }
}

/// Prints an error the way an operator can act on: the detail, every invalid field, and a
/// hint for the usual causes.
fn report(e: &ClientError) {
    match e {
        ClientError::Reported(_) => {}
        ClientError::Api(p) => {
            eprintln!("error: {p}");
            for f in &p.errors {
                eprintln!("  {}: {}", f.field, f.message);
            }
            match p.status {
                401 => eprintln!(
                    "hint: the token is unknown or revoked: run `byoc login --url URL` again, or set BYOC_TOKEN"
                ),
                403 => eprintln!("hint: ask an admin for a token with the role named above"),
                s if s >= 500 => {
                    if let Some(id) = &p.request_id {
                        eprintln!("  (request id: {id})");
                    }
                }
                _ => {}
            }
        }
        other => {
            eprintln!("error: {other}");
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
        }
    }
}
