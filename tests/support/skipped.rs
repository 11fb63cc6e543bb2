//! Skipped oracle-backed tests, made visible. cargo's harness captures a passing test's
//! output, so a `SKIPPED:` println alone looked like a pass. [`record`] also writes the line
//! straight to stderr (libtest captures only the print macros, not writes to the stderr
//! handle) and appends it to a list shared by every test binary of this `cargo test` run
//! (named after the cargo process, their common parent); the `zz_skipped` test binary, which
//! cargo runs after the others (integration tests run in target-name order), prints that
//! list at the end with how to install what is missing.

#![allow(
    dead_code,
    reason = "test binaries use record, zz_skipped uses list_path"
)]

use std::io::Write;
use std::path::PathBuf;

/// The list of skips of the current `cargo test` run.
pub fn list_path() -> PathBuf {
    let run = std::os::unix::process::parent_id();
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("skipped-{run}.txt"))
}

/// Records that the calling test skipped its check: `reason` says what is missing, `install`
/// how to get it.
pub fn record(reason: &str, install: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| {
            s.rsplit_once('-')
                .map_or(s.clone(), |(name, _)| name.to_owned())
        })
        .unwrap_or_default();
    println!("SKIPPED: {reason} ({install})");
    let line = format!("{binary} {test}: {reason} — install: {install}");
    let _ = writeln!(std::io::stderr(), "SKIPPED: {line}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list_path())
    {
        let _ = writeln!(f, "{line}");
    }
}
