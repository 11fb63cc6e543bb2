//! The timing wrapper around the pulumi stand-in. The bench writes a `pulumi` script whose
//! shebang is this very bench binary (`#!<bench exe>`), so the kernel runs
//! `<bench exe> <dir>/pulumi <argv…>`; [`maybe_run`] recognises that, runs the stand-in with
//! the knobs from `wrap.json` beside the script, and appends two JSON lines to the record:
//! `start` (with the stand-in's pid, so the bench can stop what it started) and `end`. The
//! times bracket the stand-in process exactly; this wrapper's own exec lands on the control
//! plane's side of the ledger — ~5 ms of CPU for this 58 MB binary (its loader's relocations),
//! so the operations section uses the small `small_wrap.rs` instead (`Pulumi::small`).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The sidecar file beside the `pulumi` script.
pub const SIDECAR: &str = "wrap.json";

/// Microseconds since the Unix epoch (the clock byoc's own timestamps use).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Runs as the wrapper when invoked through the `pulumi` script; returns its exit code.
pub fn maybe_run() -> Option<i32> {
    let entered = now_us();
    let args: Vec<OsString> = std::env::args_os().collect();
    let script = Path::new(args.get(1)?);
    if script.file_name()? != "pulumi" {
        return None;
    }
    let conf: Value =
        serde_json::from_slice(&std::fs::read(script.with_file_name(SIDECAR)).ok()?).ok()?;
    let start = now_us();
    let standin = conf["standin"].as_str()?;
    let record = conf["record"].as_str()?.to_owned();
    // Knobs may change between operations: re-read per process.
    let knobs: Value = std::fs::read(script.with_file_name("knobs.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let argv: Vec<String> = args[2..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(ms) = knobs["BENCH_SLEEPING_UP_MS"].as_str()
        && let Some(code) = sleeping_up(&argv, ms.parse().unwrap_or(0), start, &record)
    {
        return Some(code);
    }
    // Held until the stand-in exits (dropping the file releases the lock).
    let _slot = knobs["BENCH_STANDIN_SLOTS"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .map(|n| standin_slot(script, n));
    let mut cmd = Command::new(standin);
    cmd.args(&args[2..]);
    if let Some(map) = knobs.as_object() {
        for (k, v) in map {
            cmd.env(k, v.as_str().unwrap_or_default());
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench wrapper: cannot run the stand-in {standin}: {e}");
            return Some(127);
        }
    };
    let me = std::process::id();
    append(
        &record,
        &json!({"event": "start", "wrapper": me, "pid": child.id(), "argv": argv, "t_us": start,
            "entered_us": entered}),
    );
    let status = child.wait();
    let end = now_us();
    let code = status.ok().and_then(|s| s.code()).unwrap_or(128 + 9);
    append(
        &record,
        &json!({"event": "end", "wrapper": me, "argv": argv, "start_us": start, "t_us": end, "code": code}),
    );
    Some(code)
}

/// The in-flight section's `up`: 1,000 Python stand-ins (~19 MB each) do not fit on the bench
/// machine, and that section measures the *worker*, not the CLI. So with the knob
/// `BENCH_SLEEPING_UP_MS`, an `up` is this small native process instead: it stands in for a
/// CLI that is busy. It writes the event-log lines a CLI starts with (`preludeEvent`) to
/// `--event-log`, sleeps, then ends the log as the stand-in does (`summaryEvent`,
/// `cancelEvent`; `tests/support/pulumi_standin/operations.py`) and exits 0. Every other
/// command still runs the Python stand-in. `None`: not an `up`.
fn sleeping_up(argv: &[String], ms: u64, start: i64, record: &str) -> Option<i32> {
    if argv
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        != Some("up")
    {
        return None;
    }
    let log = argv
        .iter()
        .position(|a| a == "--event-log")
        .and_then(|i| argv.get(i + 1))?;
    let me = std::process::id();
    append(
        record,
        &json!({"event": "start", "wrapper": me, "pid": me, "argv": argv, "t_us": start}),
    );
    let line = |seq: u64, key: &str, payload: Value| {
        let t = now_us() / 1_000_000;
        let mut text = json!({"sequence": seq, "timestamp": t, key: payload}).to_string();
        text.push('\n');
        text
    };
    let mut f = std::fs::OpenOptions::new().append(true).open(log).ok()?;
    let _ = f.write_all(line(0, "preludeEvent", json!({"config": {}})).as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let summary = json!({"maybeCorrupt": false, "durationSeconds": ms / 1000,
        "resourceChanges": {}, "PolicyPacks": {}, "isPreview": false, "result": "succeeded"});
    let _ = f.write_all(line(1, "summaryEvent", summary).as_bytes());
    let _ = f.write_all(line(2, "cancelEvent", json!({})).as_bytes());
    let end = now_us();
    append(
        record,
        &json!({"event": "end", "wrapper": me, "argv": argv, "start_us": start, "t_us": end, "code": 0}),
    );
    Some(0)
}

/// Waits for one of `n` slots (a lock on `slot-<i>` beside the script) so that at most `n`
/// Python stand-ins run at once: with the in-flight section's 1,000 operations claimed
/// together, 2,000 `stack init` / `config set` stand-ins at ~19 MB each would not fit in memory.
fn standin_slot(script: &Path, n: usize) -> nix::fcntl::Flock<std::fs::File> {
    use nix::fcntl::{Flock, FlockArg};
    loop {
        for i in 0..n.max(1) {
            let path = script.with_file_name(format!("slot-{i}"));
            if let Ok(f) = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                && let Ok(locked) = Flock::lock(f, FlockArg::LockExclusiveNonblock)
            {
                return locked;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// One line, one `write` on an `O_APPEND` file: concurrent wrappers never interleave.
fn append(path: &str, line: &Value) {
    let mut text = line.to_string();
    text.push('\n');
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// One finished CLI process, from the record.
#[derive(Debug, Clone)]
pub struct CliRun {
    pub argv: Vec<String>,
    pub start_us: i64,
    pub end_us: i64,
    /// When the wrapper's `main` began (its exec and loader are before this).
    pub entered_us: Option<i64>,
}

/// What the record holds: finished runs, and pids still running.
#[derive(Debug, Default)]
pub struct Record {
    pub runs: Vec<CliRun>,
    /// (argv, stand-in pid) of processes started and not (yet) ended.
    pub running: Vec<(Vec<String>, u32)>,
}

/// Reads the record file.
pub fn read_record(path: &Path) -> Record {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut started = std::collections::HashMap::new();
    let mut out = Record::default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let argv: Vec<String> = serde_json::from_value(v["argv"].clone()).unwrap_or_default();
        let wrapper = v["wrapper"].as_u64().unwrap_or_default();
        match v["event"].as_str() {
            Some("start") => {
                started.insert(
                    wrapper,
                    (
                        argv,
                        v["pid"].as_u64().unwrap_or_default() as u32,
                        v["entered_us"].as_i64(),
                    ),
                );
            }
            Some("end") => {
                let entered_us = started.remove(&wrapper).and_then(|s| s.2);
                out.runs.push(CliRun {
                    argv,
                    start_us: v["start_us"].as_i64().unwrap_or_default(),
                    end_us: v["t_us"].as_i64().unwrap_or_default(),
                    entered_us,
                });
            }
            _ => {}
        }
    }
    out.running = started
        .into_values()
        .map(|(argv, pid, _)| (argv, pid))
        .collect();
    out
}

/// Builds `small_wrap.rs` (std only) into `dir/wrap` with `rustc -O` (`$RUSTC`, else `rustc`
/// on `PATH`); `None` (and why, printed) when that fails: the bench binary then stays the
/// wrapper.
pub fn build_small(dir: &Path) -> Option<std::path::PathBuf> {
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/control_plane/small_wrap.rs"
    );
    let out = dir.join("wrap");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let built = Command::new(rustc)
        .args(["--edition", "2021", "-O", "-C", "debuginfo=0"])
        // Static: no dynamic loader to run before `main` (what is left is the exec itself).
        .args(["-C", "strip=symbols", "-C", "target-feature=+crt-static"])
        .arg("-o")
        .arg(&out)
        .arg(src)
        .output();
    match built {
        Ok(o) if o.status.success() => Some(out),
        Ok(o) => {
            eprintln!(
                "small wrapper not built ({}); the bench binary is the wrapper",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("small wrapper not built (rustc: {e}); the bench binary is the wrapper");
            None
        }
    }
}
