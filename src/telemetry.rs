//! Logging setup: `tracing` to stderr, pretty or JSON. Never log secrets.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Target of the debug events marking each step of an operation's control-plane path (claim,
/// prepare, each CLI spawn and exit, the outcome's record): with `RUST_LOG=byoc::timing=debug`
/// the log's timestamps give the breakdown the operations bench prints.
pub const TIMING: &str = "byoc::timing";

/// Installs the global subscriber (filter from `RUST_LOG`, default `info`).
/// Safe to call more than once: later calls are ignored.
pub fn init(format: LogFormat) {
    // An empty RUST_LOG (as `.env.example` may leave it) means unset, like every setting.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // No colour escapes in files, pipes and log collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // try_init fails only when a subscriber is already installed (tests); ignoring is fine.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
