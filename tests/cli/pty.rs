//! Runs the client on a pseudo-terminal (portable-pty) and reads the screen it draws back
//! through a terminal emulator (vt100): what an operator would see.

use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::harness::eventually;

/// Rows of the emulated terminal: tall enough that nothing scrolls out of the screen.
const ROWS: u16 = 500;
/// Columns of the emulated terminal.
const COLS: u16 = 120;
/// `termios` local flags (Linux values, `<asm-generic/termbits.h>`): typed keys echoed, and
/// line-at-a-time input. A prompt switches them off before it reads.
const ECHO: u32 = 0o10;
const ICANON: u32 = 0o2;

/// A client process on a pseudo-terminal.
pub struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    /// Starts `cmd` (program, arguments, environment, directory) on a new terminal.
    pub fn spawn(cmd: &Command) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut builder = CommandBuilder::new(cmd.get_program());
        builder.args(cmd.get_args());
        builder.env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                builder.env(k, v);
            }
        }
        builder.env("TERM", "xterm-256color");
        if let Some(dir) = cmd.get_current_dir() {
            builder.cwd(dir);
        }
        let child = pair.slave.spawn_command(builder).unwrap();
        // Only the child holds the terminal now: reads end (EOF/EIO) once it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            output,
            reader: Some(reader),
            _master: pair.master,
        }
    }

    /// The process id (for /proc/<pid>/cmdline).
    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap()
    }

    /// Everything written to the terminal so far, escape sequences included.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        screen_of(&self.output.lock().unwrap())
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&self, text: &str) {
        eventually(&format!("the terminal to show {text:?}"), || {
            self.screen().contains(text).then_some(())
        });
    }

    /// Waits until the terminal no longer echoes input (a secret prompt is reading).
    pub fn wait_for_no_echo(&self) {
        self.wait_for_local_flag_off(ECHO, "echo off");
    }

    /// Waits until the terminal is in raw mode (a single-key prompt is reading).
    pub fn wait_for_raw_mode(&self) {
        self.wait_for_local_flag_off(ICANON, "raw mode");
    }

    fn wait_for_local_flag_off(&self, flag: u32, what: &str) {
        eventually(what, || {
            let termios = self._master.get_termios()?;
            (termios.local_flags.bits() & flag == 0).then_some(())
        });
    }

    /// Types `keys` (e.g. "\x03" for Ctrl-C).
    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the process to exit; its exit code and final screen.
    pub fn finish(mut self) -> (u32, String) {
        let status = eventually("the client to exit", || self.child.try_wait().unwrap());
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        (status.exit_code(), self.screen())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Already exited in the normal case.
        let _ = self.child.kill();
    }
}

/// Replays terminal output through an emulator and returns the screen's text.
pub fn screen_of(bytes: &[u8]) -> String {
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(ROWS).unwrap(),
        std::num::NonZeroU16::new(COLS).unwrap(),
        0,
    );
    parser.process(bytes);
    // Row by row: the live view pads lines to the full width, which the emulator would
    // otherwise join as one wrapped line.
    let rows: Vec<String> = parser
        .screen()
        .rows(0, COLS)
        .map(|r| r.trim_end().to_owned())
        .collect();
    rows.join("\n").trim_end().to_owned()
}
