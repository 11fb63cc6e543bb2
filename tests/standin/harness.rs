//! One private world per test: a workspace holding a Pulumi YAML program, a `file://` state
//! backend, and the stand-in run as a child process with a clean, explicit environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The passphrase of every world.
pub const PASSPHRASE: &str = "standin-test-passphrase";

/// A program of `(name, type, properties YAML)` resources.
pub fn program(resources: &[(&str, &str, &str)]) -> String {
    let mut y = String::from("name: proj\nruntime: yaml\nresources:\n");
    for (name, ty, props) in resources {
        y.push_str(&format!("  {name}:\n    type: {ty}\n    properties:\n"));
        for line in props.lines() {
            y.push_str(&format!("      {line}\n"));
        }
    }
    y
}

/// What a finished command left.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics unless the command succeeded.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }
}

pub struct World {
    pub root: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl World {
    /// A world with `program` in its workspace and stack `dev` created (passphrase).
    pub fn with_stack(program: &str) -> Self {
        let w = Self::new(program);
        w.run(&["stack", "init", "dev", "--secrets-provider", "passphrase"])
            .ok();
        w
    }

    pub fn new(program: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("ws")).unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        std::fs::write(root.path().join("ws/Pulumi.yaml"), program).unwrap();
        let env = vec![
            (
                "PULUMI_BACKEND_URL".to_owned(),
                format!("file://{}", root.path().join("state").display()),
            ),
            ("PULUMI_CONFIG_PASSPHRASE".to_owned(), PASSPHRASE.to_owned()),
        ];
        Self { root, env }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn ws(&self) -> PathBuf {
        self.path("ws")
    }

    /// Adds (or overrides) an environment variable for every later command.
    pub fn set(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Removes an environment variable from every later command.
    pub fn unset(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
    }

    pub fn write_program(&self, program: &str) {
        std::fs::write(self.ws().join("Pulumi.yaml"), program).unwrap();
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut c = Command::new(standin());
        c.current_dir(self.ws())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("USER", "tester");
        for (k, v) in self.env.iter() {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        if args.first() != Some(&"__standin") {
            c.arg("--non-interactive");
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Runs `pulumi --non-interactive <args>` to completion.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, &[])
    }

    /// Same, with extra environment for this command only.
    pub fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Out {
        Out::from(self.command(args, extra).output().unwrap())
    }

    /// Starts `pulumi --non-interactive <args>` without waiting.
    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        self.command(args, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `up --yes --skip-preview --stack dev --event-log <name>.jsonl`.
    pub fn up(&self, log: &str, extra: &[(&str, &str)]) -> Out {
        let log = self.path(log);
        self.run_with(
            &[
                "up",
                "--yes",
                "--skip-preview",
                "--stack",
                "dev",
                "--event-log",
                log.to_str().unwrap(),
            ],
            extra,
        )
    }

    /// The events of an event log written in this world (complete lines only: a run may
    /// still be writing it).
    pub fn events(&self, log: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path(log))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The checkpoint file of stack `dev`.
    pub fn checkpoint(&self) -> Value {
        let p = self.path("state/.pulumi/stacks/proj/dev.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    pub fn lock_dir(&self) -> PathBuf {
        self.path("state/.pulumi/locks/organization/proj/dev")
    }

    pub fn lock_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.lock_dir())
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    // fileblob's temp files (written beside the target, then renamed).
                    .filter(|p| {
                        !p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(".tmp-")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every physical resource in the fake cloud.
    pub fn cloud(&self) -> Vec<Value> {
        let out = self.run(&["__standin", "cloud", "list"]).ok();
        serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap()
    }
}

/// The stand-in executable.
pub fn standin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi-standin")
}

/// Polls `cond` every 20 ms until it holds; fails the test after `deadline`.
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The payloads of one kind (`diagnosticEvent`, `summaryEvent`, …), in order.
pub fn payloads<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter_map(|e| e.get(kind)).collect()
}

/// Messages of the diagnostics of one severity.
pub fn diagnostics(events: &[Value], severity: &str) -> Vec<String> {
    payloads(events, "diagnosticEvent")
        .into_iter()
        .filter(|d| d["severity"] == severity)
        .map(|d| d["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The one summary event.
pub fn summary(events: &[Value]) -> Value {
    let s = payloads(events, "summaryEvent");
    assert_eq!(s.len(), 1, "{events:#?}");
    s[0].clone()
}

/// The shared pulumi fixtures beside the repository (real event logs, state schemas).
pub fn fixtures_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = repo.join("../shared/fixtures/pulumi");
    if dir.is_dir() {
        dir
    } else {
        PathBuf::from("/work/shared/fixtures/pulumi")
    }
}

/// A recorded real event log.
pub fn fixture(rel: &str) -> Vec<Value> {
    std::fs::read_to_string(fixtures_dir().join(rel))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Errors of `doc` against pulumi's state JSON Schemas (`tests/support/pulumi_schema.py`),
/// or `None` (after printing SKIPPED) when python's jsonschema is missing.
pub fn schema_errors(doc: &str) -> Option<String> {
    use std::io::Write;
    let python = std::env::var("BYOC_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import jsonschema, referencing"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            !crate::moto::oracles_required(),
            "python jsonschema not found and BYOC_REQUIRE_ORACLES=1: pip install jsonschema"
        );
        crate::moto::skipped::record("python jsonschema not found", "pip install jsonschema");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi_schema.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(fixtures_dir().join("schema"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the `<{%…%}>` color directives of a raw-color message.
pub fn strip_colors(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("<{%") {
        out.push_str(&rest[..i]);
        match rest[i..].find("%}>") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
