//! The timing wrapper of the operations bench as a small program of its own (std only, built
//! by the bench with `rustc` at start: `wrap::build_small`), so that its exec costs what a
//! small native program costs (well under a millisecond) instead of the bench binary's (tens of
//! MB with byoc, tokio and reqwest inside: its loader's relocations alone cost milliseconds,
//! all counted on the control plane's side). Same record as `wrap.rs`: a `start` and an `end`
//! line per stand-in process; no knobs (the in-flight section keeps the bench binary).
//!
//! Run as `<this> <dir>/pulumi <argv…>` through the script's shebang; `<dir>/wrap.conf` holds
//! the stand-in's path and the record's, one per line.

use std::io::Write;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// A JSON string (the argv of the CLI: plain text, escaped as JSON requires).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line, one `write` on an `O_APPEND` file: concurrent wrappers never interleave.
fn append(path: &str, line: String) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

fn main() {
    let entered = now_us();
    let args: Vec<String> = std::env::args().collect();
    let script = std::path::Path::new(&args[1]);
    let conf = std::fs::read_to_string(script.with_file_name("wrap.conf")).expect("wrap.conf");
    let mut lines = conf.lines();
    let (standin, record) = (lines.next().expect("stand-in"), lines.next().expect("record"));
    let argv: Vec<String> = args[2..].iter().map(|a| quote(a)).collect();
    let argv = format!("[{}]", argv.join(","));
    let start = now_us();
    let mut child = match Command::new(standin).args(&args[2..]).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench wrapper: cannot run the stand-in {standin}: {e}");
            std::process::exit(127);
        }
    };
    let me = std::process::id();
    append(
        record,
        format!(
            r#"{{"event":"start","wrapper":{me},"pid":{},"argv":{argv},"t_us":{start},"entered_us":{entered}}}"#,
            child.id()
        ),
    );
    let status = child.wait();
    let end = now_us();
    let code = status.ok().and_then(|s| s.code()).unwrap_or(128 + 9);
    append(
        record,
        format!(
            r#"{{"event":"end","wrapper":{me},"argv":{argv},"start_us":{start},"t_us":{end},"code":{code}}}"#
        ),
    );
    std::process::exit(code);
}
