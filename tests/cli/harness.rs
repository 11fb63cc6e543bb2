//! A real `byoc serve` on loopback for one test (its own data dir, port and stand-in), and a
//! client: the `byoc` binary run with its own config home and a clean environment.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::moto::{MotoServer, free_port};

/// The first admin token of every test server (BYOC_BOOTSTRAP_TOKEN).
pub const ADMIN_TOKEN: &str = "byoc_cli-test-admin-token-0123456789abcdef";
const PASSPHRASE: &str = "cli-test-passphrase-not-a-secret-elsewhere";

/// Polls `cond` every 25 ms until it returns `Some`; fails the test after 60 s.
pub fn eventually<T>(what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `byoc serve` in a child process; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its data directory (database, state, log).
    pub data: tempfile::TempDir,
    /// The stand-in wrapper's directory (`knobs.json`).
    pulumi: tempfile::TempDir,
    _moto: Option<MotoServer>,
}

impl Server {
    /// A server without AWS: tenants, configs and tokens work; operations would fail.
    pub fn start() -> Self {
        Self::spawn(None, &[])
    }

    /// A server whose worker runs the pulumi stand-in with moto as AWS; `None` (and a
    /// SKIPPED line) when moto is not installed.
    pub fn with_aws() -> Option<Self> {
        Self::with_aws_env(&[])
    }

    /// [`Server::with_aws`] with `extra` server settings (e.g. `BYOC_DRIFT_POLL_SECONDS`).
    pub fn with_aws_env(extra: &[(&str, &str)]) -> Option<Self> {
        let moto = MotoServer::start_blocking()?;
        Some(Self::spawn(Some(moto), extra))
    }

    /// The stand-in's `knobs.json` (what [`Server::knobs`] writes).
    pub fn knobs_file(&self) -> std::path::PathBuf {
        self.pulumi.path().join("knobs.json")
    }

    fn spawn(moto: Option<MotoServer>, extra: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let pulumi = standin_wrapper();
        let port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), data.path().display().to_string()),
            (
                "BYOC_DATA_DIR".into(),
                data.path().join("data").display().to_string(),
            ),
            ("BYOC_BIND".into(), format!("127.0.0.1:{port}")),
            ("BYOC_BOOTSTRAP_TOKEN".into(), ADMIN_TOKEN.into()),
            (
                "BYOC_PULUMI_BIN".into(),
                pulumi.path().join("pulumi").display().to_string(),
            ),
            ("PULUMI_CONFIG_PASSPHRASE".into(), PASSPHRASE.into()),
            ("BYOC_POLL_MILLIS".into(), "100".into()),
            // Heartbeats every second: a cancel reaches the engine quickly.
            ("BYOC_LEASE_SECONDS".into(), "3".into()),
            ("BYOC_LOG_FORMAT".into(), "json".into()),
        ];
        if let Some(m) = &moto {
            // moto with IAM authorization off accepts any AssumeRole: role checks are the
            // subject of tests/cloud.rs; here they only have to pass.
            for (k, v) in [
                ("BYOC_AWS_ENDPOINT_URL", m.url.as_str()),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ] {
                env.push((k.into(), v.into()));
            }
        }
        env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let log = std::fs::File::create(data.path().join("serve.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_byoc"))
            .arg("serve")
            .env_clear()
            .envs(env)
            .current_dir(data.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            data,
            pulumi,
            _moto: moto,
        };
        eventually("byoc serve to listen", || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        server
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("serve.log")).unwrap_or_default()
    }

    /// Stand-in fault-injection knobs for the next engine runs (e.g. a sleep per resource).
    pub fn knobs(&self, knobs: &[(&str, &str)]) {
        let map: serde_json::Map<String, Value> = knobs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        std::fs::write(self.knobs_file(), Value::Object(map).to_string()).unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // It may have exited already; nothing else to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pulumi` for the server: applies `knobs.json` beside it (the server passes only an
/// allowlisted environment to pulumi, so knobs cannot come from its environment), then runs
/// `tests/support/pulumi-standin`, which stands in for the pulumi CLI.
fn standin_wrapper() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi-standin");
    let script = format!(
        "#!/usr/bin/env python3\n\
         # Stands in for `pulumi` in the CLI tests: knobs.json -> environment, then the stand-in.\n\
         import json, os, sys\n\
         here = os.path.dirname(os.path.abspath(__file__))\n\
         try:\n    os.environ.update(json.load(open(os.path.join(here, 'knobs.json'))))\n\
         except FileNotFoundError:\n    pass\n\
         os.execv(sys.executable, [sys.executable, {standin:?}] + sys.argv[1:])\n",
        standin = standin.display().to_string()
    );
    let bin = dir.path().join("pulumi");
    std::fs::write(&bin, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// What a client run printed and how it exited.
#[derive(Debug)]
pub struct Out {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Out {
    /// Asserts exit code 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The client: `byoc` with its own config home and nothing of the test's environment but
/// PATH (so server settings in the developer's shell cannot leak in).
pub struct Client {
    /// `$XDG_CONFIG_HOME` of this client.
    pub home: tempfile::TempDir,
    extra: Vec<(String, String)>,
}

impl Client {
    /// A client with an empty config.
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            extra: Vec::new(),
        }
    }

    /// A client logged in to `server` with the admin token.
    pub fn admin(server: &Server) -> Self {
        let c = Self::new();
        c.login(server, ADMIN_TOKEN, None).ok();
        c
    }

    /// Adds an environment variable to every later run.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.extra.push((k.into(), v.into()));
        self
    }

    /// Path of the config file.
    pub fn config_file(&self) -> PathBuf {
        self.home.path().join("byoc/config.toml")
    }

    /// The command, ready to run (used by the pseudo-terminal too).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_byoc"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .envs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.home.path());
        cmd
    }

    /// Runs `byoc ARGS` with stdin closed.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with_stdin(args, "")
    }

    /// Runs `byoc ARGS` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap().into()
    }

    /// `byoc login --url URL [--context NAME]` with `token` piped on stdin.
    pub fn login(&self, server: &Server, token: &str, context: Option<&str>) -> Out {
        let mut args = vec!["login", "--url", &server.url];
        if let Some(c) = context {
            args.extend(["--context", c]);
        }
        self.run_with_stdin(&args, &format!("{token}\n"))
    }

    /// Runs and asserts success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok().to_owned()
    }
}

/// Registers tenant `acme` and saves `config` (YAML) for `prod`.
pub fn onboard(c: &Client, config: &str) {
    c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "Acme Corp",
        "--account",
        "123456789012",
    ]);
    let file = c.home.path().join("prod.yaml");
    std::fs::write(&file, config).unwrap();
    c.ok(&["config", "set", "acme/prod", "-f", file.to_str().unwrap()]);
}

/// Every line of `text` fits `width` columns.
#[track_caller]
pub fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "line wider than {width} columns: {line:?}"
        );
    }
}
