//! `byoc dev`, as a new user runs it (README "Try it without AWS"): the real command from the
//! repository root, which starts its own moto and runs the pulumi stand-in as a SIMULATED
//! engine; then onboarding → config → preview → deploy → outputs → destroy through the `byoc`
//! command line, and the label "nothing is deployed" everywhere a user looks: the banner, the
//! log, `/ready`, every operation (its executor and its first event, in the CLI's output too)
//! and the console page. Ctrl-C (SIGINT) stops moto and removes the temporary data directory.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/poll.rs"]
mod poll;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const NOTICE: &str = "SIMULATED ENGINE: nothing is deployed";

/// Polls `cond` every 25 ms until it returns `Some`; fails the test after 60 s.
fn eventually<T>(what: &str, mut cond: impl FnMut() -> Option<T>) -> T {
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

/// Whether moto and a python3 with PyYAML are installed; prints SKIPPED (or fails in CI) if not.
fn tools_present() -> bool {
    let python_ok = Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if moto::find_on_path("moto_server").is_some() && python_ok {
        return true;
    }
    assert!(
        !moto::oracles_required(),
        "moto_server or python3 with PyYAML missing and BYOC_REQUIRE_ORACLES=1"
    );
    moto::skipped::record(
        "byoc dev needs moto_server and python3 with PyYAML",
        "pip install 'moto[server]' pyyaml",
    );
    false
}

/// A running `byoc dev`; killed on drop.
struct Dev {
    child: Child,
    stdout: Arc<Mutex<String>>,
    home: tempfile::TempDir,
}

impl Dev {
    /// `byoc dev ARGS` from the repository root with a clean environment (PATH and HOME only).
    fn spawn(args: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_byoc"))
            .arg("dev")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            // Host credentials that must never be used by the simulated engine.
            .env("AWS_ACCESS_KEY_ID", "AKIAHOSTKEYNOTTOUSE0")
            .env("AWS_SECRET_ACCESS_KEY", "host-secret-not-to-use")
            .current_dir(REPO)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(home.path().join("dev.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self {
            child,
            stdout,
            home,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("dev.log")).unwrap_or_default()
    }

    /// Waits for the banner; returns it.
    fn banner(&mut self) -> String {
        eventually("the byoc dev banner", || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "byoc dev exited ({status}): {}\n{}",
                    self.stdout(),
                    self.log()
                );
            }
            let out = self.stdout();
            out.contains("Stop with Ctrl-C.").then_some(out)
        })
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        // It may have exited already; nothing else to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value after `label` on its banner line.
fn field(banner: &str, label: &str) -> String {
    banner
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no '{label}' in the banner:\n{banner}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// The `byoc` client with its own config home.
struct Client {
    home: tempfile::TempDir,
}

impl Client {
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_byoc"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .current_dir(self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs, asserts success, returns stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, "");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "byoc {args:?}: {}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        stdout
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// `GET url` with an optional bearer token: (status, body).
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut req = reqwest::Client::new().get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
}

/// The stand-in's fake cloud under `data` (`__standin cloud list`): what "deployed" means here.
fn fake_cloud(data: &Path) -> Vec<Value> {
    let out = Command::new(Path::new(REPO).join("tests/support/pulumi-standin"))
        .args(["__standin", "cloud", "list"])
        .env(
            "PULUMI_BACKEND_URL",
            format!("file://{}", data.join("state").display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn byoc_dev_runs_the_whole_lifecycle_without_aws_and_says_it_is_simulated() {
    if !tools_present() {
        return;
    }
    let mut dev = Dev::spawn(&["--bind", "127.0.0.1:0", "--step-delay-ms", "0"]);
    let banner = dev.banner();
    assert!(
        banner.contains("SIMULATED — NOTHING IS DEPLOYED") && banner.contains(NOTICE),
        "{banner}"
    );
    let console = field(&banner, "Console");
    let url = console.trim_end_matches('/').to_owned();
    let token = field(&banner, "Admin token");
    let data = PathBuf::from(field(&banner, "Data"));
    let endpoint = field(&banner, "AWS endpoint");
    assert!(banner.contains("(moto, started by byoc dev)"), "{banner}");
    assert!(data.join("byoc.db").is_file(), "{}", data.display());
    assert!(dev.log().contains(NOTICE), "the startup log says it too");

    // /ready (no token) carries the notice; the stand-in needs no plugins.
    let (status, body) = get(&format!("{url}/ready"), None);
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert!(
        ready["simulated"].as_str().unwrap().starts_with(NOTICE),
        "{ready}"
    );
    assert!(ready.get("plugins").is_none(), "{ready}");
    // The console's pages carry the banner in the page itself (sign-in page included).
    for page in ["/", "/ui/signin"] {
        let (status, html) = get(&format!("{url}{page}"), None);
        assert_eq!(status, 200);
        assert!(
            html.contains("class=\"simulated-banner\"") && html.contains(NOTICE),
            "{page}: {html}"
        );
    }

    // The CLI, logged in exactly as the banner says.
    let c = Client {
        home: tempfile::tempdir().unwrap(),
    };
    let login = c.run(
        &["login", "--url", &url, "--context", "dev"],
        &format!("{token}\n"),
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    // Onboarding: register, read the instructions, verify (against moto).
    c.ok(&[
        "tenants",
        "create",
        "acme",
        "--name",
        "Acme Corp",
        "--account",
        "123456789012",
    ]);
    let onboarding = c.json(&["tenants", "onboarding", "acme", "-o", "json"]);
    assert!(
        onboarding
            .to_string()
            .contains("arn:aws:iam::123456789012:root"),
        "the trusted principal is the local endpoint's account: {onboarding}"
    );
    assert!(
        !onboarding.to_string().contains("not configured"),
        "{onboarding}"
    );
    let warnings = onboarding["warnings"].to_string();
    assert!(
        warnings.contains("SIMULATED ENGINE: this server deploys nothing")
            && warnings.contains(&endpoint),
        "the onboarding block says so: {onboarding}"
    );
    let verified = c.ok(&["tenants", "verify", "acme"]);
    assert!(verified.contains("Assumed as:"), "{verified}");

    // Config, preview, deploy (followed: the CLI's own output shows the label), outputs.
    let file = c.home.path().join("prod.yaml");
    std::fs::write(
        &file,
        "eks_mode: managed\nnode_group_config:\n  desired_size: 2\n",
    )
    .unwrap();
    c.ok(&["config", "set", "acme/prod", "-f", file.to_str().unwrap()]);
    let preview = c.ok(&["preview", "acme/prod", "--follow"]);
    assert!(
        preview.contains(&format!("byoc: {NOTICE}")),
        "the label is in the CLI's output: {preview}"
    );
    assert!(preview.contains("succeeded"), "{preview}");
    assert!(fake_cloud(&data).is_empty(), "a preview creates nothing");
    let deploy = c.ok(&["deploy", "acme/prod", "--follow"]);
    assert!(deploy.contains(&format!("byoc: {NOTICE}")), "{deploy}");
    assert!(deploy.contains("+ created"), "{deploy}");
    assert!(deploy.contains("succeeded."), "{deploy}");
    let cloud = fake_cloud(&data);
    assert!(
        cloud.iter().any(|r| r["type"] == "aws:eks/cluster:Cluster"),
        "the deploy went to the stand-in's fake cloud: {cloud:?}"
    );
    let outputs = c.json(&["outputs", "acme/prod", "-o", "json"]);
    assert!(
        outputs.get("kubeconfig").is_some(),
        "outputs of the simulated stack: {outputs}"
    );

    // Destroy empties the fake cloud.
    let destroy = c.ok(&["destroy", "acme/prod", "--yes", "--follow"]);
    assert!(destroy.contains(&format!("byoc: {NOTICE}")), "{destroy}");
    assert!(destroy.contains("succeeded."), "{destroy}");
    assert!(fake_cloud(&data).is_empty(), "{:?}", fake_cloud(&data));

    // Every operation records the simulated engine and opens with its notice.
    let ops = c.json(&["ops", "list", "acme/prod", "-o", "json"]);
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.len(), 3, "{ops:?}");
    for op in ops {
        assert_eq!(op["executor"], "simulated", "{op}");
        assert_eq!(op["status"], "succeeded", "{op}");
        let id = op["id"].as_str().unwrap();
        let (status, events) = get(
            &format!("{url}/api/v1/operations/{id}/events"),
            Some(&token),
        );
        assert_eq!(status, 200, "{events}");
        let events: Value = serde_json::from_str(&events).unwrap();
        let first = events["events"]
            .as_array()
            .and_then(|e| e.first())
            .cloned()
            .unwrap_or_else(|| panic!("no events: {events}"));
        assert_eq!(first["kind"], "byoc.simulated", "{first}");
    }

    // Ctrl-C: the server stops, moto with it, and the temporary data directory goes.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(dev.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = eventually("byoc dev to exit", || dev.child.try_wait().unwrap());
    assert!(status.success(), "{status}: {}", dev.log());
    assert!(
        dev.stdout().contains("byoc dev: stopped"),
        "{}",
        dev.stdout()
    );
    assert!(!data.exists(), "{} was not removed", data.display());
    let moto_addr = endpoint.trim_start_matches("http://");
    assert!(
        TcpStream::connect(moto_addr).is_err(),
        "moto at {moto_addr} still answers"
    );
}

#[test]
fn byoc_dev_runs_nothing_but_the_stand_in() {
    if !tools_present() {
        return;
    }
    // A `pulumi` answering like the real CLI (cobra's text for an unknown command).
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("pulumi");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'error: unknown command \"__standin\" for \"pulumi\"' >&2\nexit 255\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut dev = Dev::spawn(&["--bind", "127.0.0.1:0", "--standin", fake.to_str().unwrap()]);
    let status = eventually("byoc dev to refuse", || dev.child.try_wait().unwrap());
    assert!(!status.success());
    let log = dev.log();
    assert!(
        log.contains("is not the pulumi stand-in") && log.contains("never runs a real pulumi CLI"),
        "{log}"
    );
    assert!(!dev.stdout().contains("Admin token"), "{}", dev.stdout());
}

/// A `byoc serve` or `byoc worker` child; killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // It may have exited already; nothing else to do then.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_and_worker_run_the_simulated_engine_as_the_compose_profile_does() {
    if !tools_present() {
        return;
    }
    let Some(moto) = moto::MotoServer::start_blocking() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = moto::free_port();
    let url = format!("http://127.0.0.1:{port}");
    const TOKEN: &str = "byoc_simulated-compose-test-token-0123456789";
    // docker/docker-compose.yml, profile `local`: the settings of local-api and local-worker.
    let spawn = |command: &str, extra: &[(&str, String)]| {
        let log = std::fs::File::create(data.path().join(format!("{command}.log"))).unwrap();
        Proc(
            Command::new(env!("CARGO_BIN_EXE_byoc"))
                .arg(command)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", data.path())
                .env("BYOC_EXECUTOR", "simulated")
                .env("BYOC_AWS_ENDPOINT_URL", &moto.url)
                .env("BYOC_DATA_DIR", data.path().join("data"))
                .env("BYOC_BOOTSTRAP_TOKEN", TOKEN)
                .env("BYOC_POLL_MILLIS", "100")
                // Host credentials the simulated engine must ignore.
                .env("AWS_ACCESS_KEY_ID", "AKIAHOSTKEYNOTTOUSE0")
                .env("AWS_SECRET_ACCESS_KEY", "host-secret-not-to-use")
                .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
                .current_dir(data.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    };
    let standin = format!("{REPO}/tests/support/pulumi-standin");
    let _api = spawn(
        "serve",
        &[
            ("BYOC_BIND", format!("127.0.0.1:{port}")),
            ("BYOC_WORKER_CONCURRENCY", "0".into()),
            ("BYOC_PULUMI_BIN", standin.clone()),
        ],
    );
    eventually("byoc serve to listen", || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let _worker = spawn(
        "worker",
        &[
            ("BYOC_WORKER_CONCURRENCY", "2".into()),
            ("BYOC_PULUMI_BIN", standin),
        ],
    );
    let (status, ready) = get(&format!("{url}/ready"), None);
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains(NOTICE), "{ready}");

    let c = Client {
        home: tempfile::tempdir().unwrap(),
    };
    let login = c.run(&["login", "--url", &url], &format!("{TOKEN}\n"));
    assert!(login.status.success());
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
    std::fs::write(&file, "{}\n").unwrap();
    c.ok(&["config", "set", "acme/prod", "-f", file.to_str().unwrap()]);
    let deploy = c.ok(&["deploy", "acme/prod", "--follow"]);
    assert!(deploy.contains(&format!("byoc: {NOTICE}")), "{deploy}");
    assert!(deploy.contains("succeeded."), "{deploy}");
    // Run by the worker process (the API runs none), on the simulated engine.
    let ops = c.json(&["ops", "list", "acme/prod", "-o", "json"]);
    assert_eq!(ops[0]["executor"], "simulated", "{ops}");
    let worker_log = std::fs::read_to_string(data.path().join("worker.log")).unwrap();
    assert!(worker_log.contains(NOTICE), "{worker_log}");
    assert!(!fake_cloud(&data.path().join("data")).is_empty());
}
