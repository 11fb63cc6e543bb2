//! `byoc completions` (clap_complete) and `byoc man` (clap_mangen): generated from the same
//! clap definitions as `--help`, so they never drift from the commands.

use clap::CommandFactory;
use clap_complete::Shell;

use super::error::{ClientError, Exit};
use crate::cli::{Cli, ShellArg};

/// Prints the completion script of `shell` on stdout.
pub fn completions(shell: ShellArg) -> Result<Exit, ClientError> {
    let shell = match shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "byoc", &mut std::io::stdout());
    Ok(Exit::Succeeded)
}

/// Prints the man page (roff) of byoc, or of the command at `path` (`["tenants", "create"]`).
pub fn man(path: &[String]) -> Result<Exit, ClientError> {
    let mut cmd = Cli::command();
    cmd.build();
    for name in path {
        cmd = cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| ClientError::Usage(format!("no command 'byoc {}'", path.join(" "))))?;
    }
    let title = std::iter::once("byoc")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-");
    let page = clap_mangen::Man::new(cmd.display_name(title));
    page.render(&mut std::io::stdout())?;
    Ok(Exit::Succeeded)
}
