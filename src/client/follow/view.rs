//! How a followed operation is shown: a live view on a terminal (progress bar, lines above
//! it, activity in place), plain lines elsewhere (no bar, no colours), JSON lines of the raw
//! events, or nothing until the end (`-o json|yaml`).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::progress::{Item, Progress};
use crate::cli::OutputFormat;
use crate::client::output::{text, yaml};

/// The kinds of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Terminal: bar + lines.
    Live,
    /// Not a terminal: plain lines on stdout.
    Plain,
    /// Every event as it came, on stdout: one JSON object per line (`ops logs -o json`),
    /// or one YAML document each (`-o yaml`).
    Events(OutputFormat),
    /// Nothing while it runs; the caller prints the final operation.
    Quiet,
}

/// The view of one operation.
pub struct View {
    mode: Mode,
    progress: Progress,
    bar: Option<ProgressBar>,
}

const BAR: &str = "{spinner:.cyan} [{bar:30.cyan/blue}] {pos}/{len} resources ({percent}%) \
                   {elapsed} {wide_msg}";

impl View {
    /// A view in `mode`; `estimate` is the plan's resource count when known.
    pub fn new(mode: Mode, estimate: Option<u64>) -> Self {
        let bar = (mode == Mode::Live).then(|| {
            let bar = ProgressBar::with_draw_target(estimate, ProgressDrawTarget::stdout());
            if let Ok(style) = ProgressStyle::with_template(BAR) {
                bar.set_style(style.progress_chars("#>-"));
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            mode,
            progress: Progress::new(estimate),
            bar,
        }
    }

    /// The opening line: what runs, on which stack, as which operation.
    pub fn header(&mut self, op: &Value) {
        let verb = match op["kind"].as_str() {
            Some("update") => "Deploying",
            Some("preview") => "Previewing",
            Some("refresh") => "Refreshing",
            Some("destroy") => "Destroying",
            _ => "Running",
        };
        let version = op["config_version"]
            .as_i64()
            .map(|v| format!(" (config version {v})"))
            .unwrap_or_default();
        self.line(&format!(
            "{verb} {}{version}: operation {}",
            text(op, "stack_name"),
            text(op, "id")
        ));
        if let Some(bar) = &self.bar {
            bar.set_message(match op["status"].as_str() {
                Some("queued") => "queued: waiting for a worker",
                _ => "starting",
            });
        }
    }

    /// Shows one event.
    pub fn event(&mut self, seq: i64, kind: &str, payload: &Value) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Events(format) => {
                let event = json!({"seq": seq, "kind": kind, "payload": payload});
                match format {
                    OutputFormat::Yaml => print!("---\n{}", yaml(&event).unwrap_or_default()),
                    _ => println!("{event}"),
                }
            }
            Mode::Live | Mode::Plain => {
                for item in self.progress.on_event(kind, payload) {
                    match (&item, &self.bar) {
                        (Item::Activity(what), Some(bar)) => bar.set_message(what.clone()),
                        _ => {
                            if let Some(line) = item.line() {
                                self.line(&line);
                            }
                        }
                    }
                }
                if let Some(bar) = &self.bar {
                    let (done, total) = self.progress.position();
                    bar.set_length(total);
                    bar.set_position(done);
                }
            }
        }
    }

    /// A line above the bar (or on stdout).
    fn line(&self, text: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(text),
            (None, Mode::Plain) => println!("{text}"),
            _ => {}
        }
    }

    /// A line of the client's own (e.g. a cancel was requested).
    pub fn say(&self, text: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(text),
            (None, Mode::Plain) => println!("{text}"),
            _ => eprintln!("{text}"),
        }
    }

    /// A note that is not part of the operation's output (stderr, or the bar's message).
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_owned()),
            None => eprintln!("{text}"),
        }
    }

    /// The bar, for a question asked from another thread.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// The closing lines: the final status, and the error when there is one.
    pub fn finish(&mut self, op: &Value) {
        let status = text(op, "status");
        if let Some(bar) = self.bar.take() {
            let (done, total) = self.progress.position();
            bar.set_length(total);
            bar.set_position(done);
            bar.finish_with_message(status.clone());
        }
        if matches!(self.mode, Mode::Live | Mode::Plain) {
            let styled = match status.as_str() {
                "succeeded" => console::style(&status).green().bold(),
                "cancelled" | "awaiting_approval" => console::style(&status).yellow().bold(),
                _ => console::style(&status).red().bold(),
            };
            println!("Operation {} {styled}.", text(op, "id"));
            if let Some(error) = op["error"].as_str() {
                println!("  {}", error.trim().replace('\n', "\n  "));
            }
        }
    }

    /// Leaves the terminal clean when detaching.
    pub fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon_with_message("detached");
        }
    }
}
