//! The terminal: whether stdin/stdout are terminals (live view, prompts, colours), its width,
//! and the few prompts the client asks (no-echo token, destroy confirmation, Ctrl-C choice).

use std::io::{self, IsTerminal};

use console::{Key, Term};

use super::env::ClientEnv;

/// What the process is attached to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    /// stdout is a terminal: live progress, colours, width.
    pub stdout: bool,
    /// stdin is a terminal: questions can be asked.
    pub stdin: bool,
}

impl Terminal {
    /// Looks at the process's stdin and stdout; switches colours off without a terminal or
    /// with `NO_COLOR`.
    pub fn detect(env: &ClientEnv) -> Self {
        let t = Self {
            stdout: io::stdout().is_terminal(),
            stdin: io::stdin().is_terminal(),
        };
        console::set_colors_enabled(t.stdout && !env.no_color);
        console::set_colors_enabled_stderr(io::stderr().is_terminal() && !env.no_color);
        t
    }

    /// Someone is at the keyboard and watching: questions may be asked.
    pub fn interactive(&self) -> bool {
        self.stdout && self.stdin
    }

    /// Width tables must fit: 80 columns, or less on a narrower terminal.
    pub fn width(&self) -> u16 {
        if self.stdout {
            Term::stdout().size().1.clamp(40, 80)
        } else {
            80
        }
    }
}

/// Asks for a secret on the terminal without echoing it.
pub fn read_secret(prompt: &str) -> io::Result<String> {
    let term = Term::stderr();
    term.write_str(prompt)?;
    term.read_secure_line()
}

/// Asks for one line on the terminal (stdout: asked only when stdin and stdout are one).
pub fn read_line(prompt: &str) -> io::Result<String> {
    let term = Term::stdout();
    term.write_str(prompt)?;
    term.read_line()
}

/// Asks for one key; `None` when the answer was Ctrl-C or the terminal went away.
pub fn read_key(prompt: &str) -> io::Result<Option<char>> {
    let term = Term::stdout();
    term.write_str(prompt)?;
    let key = term.read_key();
    term.write_line("")?;
    match key {
        Ok(Key::Char(c)) => Ok(Some(c.to_ascii_lowercase())),
        Ok(Key::Enter) => Ok(Some('\n')),
        Ok(_) => Ok(Some('?')),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}
