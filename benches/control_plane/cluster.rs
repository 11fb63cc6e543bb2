//! Real processes on loopback: moto playing the tenant's AWS account, the stand-in behind the
//! timing wrapper, and `byoc serve` / `byoc worker` (the release binary cargo built for this
//! bench) on a private data directory.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::moto::{MotoServer, free_port};
use crate::wrap;

pub const TOKEN: &str = "byoc_bench-admin-token-0123456789abcdefghij";
const PASSPHRASE: &str = "bench-passphrase-not-a-secret";
const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);
const STANDIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pulumi-standin");
pub const BYOC: &str = env!("CARGO_BIN_EXE_byoc");

/// moto as the tenant's account, with the platform role from our template.
pub struct Aws {
    pub moto: MotoServer,
    key: String,
    secret: String,
    worker_arn: String,
}

impl Aws {
    pub async fn start() -> Self {
        let moto = MotoServer::start()
            .await
            .expect("moto_server (pip install 'moto[server]') is needed for this bench");
        let setup = moto
            .cfn_script(
                "setup",
                &[TEMPLATE, "byoc-platform-role", "bench-ext-id-0123456"],
            )
            .await;
        let s = |v: &Value| v.as_str().expect("a string").to_owned();
        Self {
            key: s(&setup["worker"]["key"]),
            secret: s(&setup["worker"]["secret"]),
            worker_arn: s(&setup["worker"]["arn"]),
            moto,
        }
    }
}

/// The `pulumi` the servers run: the timing wrapper (this bench binary) around the stand-in.
pub struct Pulumi {
    pub dir: tempfile::TempDir,
}

impl Pulumi {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().expect("the bench binary's path");
        let bin = dir.path().join("pulumi");
        std::fs::write(&bin, format!("#!{}\n", exe.display())).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let conf = json!({
            "standin": STANDIN,
            "record": dir.path().join("record.jsonl").display().to_string(),
        });
        std::fs::write(dir.path().join(wrap::SIDECAR), conf.to_string()).unwrap();
        Self { dir }
    }

    /// The same record, written by a small native wrapper (`small_wrap.rs`) instead of the
    /// bench binary, when it can be built: what the operations section counts on the control
    /// plane's side is then byoc's own time plus a small program's exec, not the bench
    /// binary's. No knobs.
    pub fn small() -> Self {
        let pulumi = Self::new();
        if let Some(wrap) = wrap::build_small(pulumi.dir.path()) {
            let record = pulumi.dir.path().join("record.jsonl");
            let conf = format!("{STANDIN}\n{}\n", record.display());
            std::fs::write(pulumi.dir.path().join("wrap.conf"), conf).unwrap();
            std::fs::write(pulumi.bin(), format!("#!{}\n", wrap.display())).unwrap();
        }
        pulumi
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("pulumi")
    }

    pub fn knobs(&self, knobs: &[(&str, &str)]) {
        let map: serde_json::Map<String, Value> = knobs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        std::fs::write(
            self.dir.path().join("knobs.json"),
            Value::Object(map).to_string(),
        )
        .unwrap();
    }

    pub fn record(&self) -> wrap::Record {
        wrap::read_record(&self.dir.path().join("record.jsonl"))
    }

    /// SIGKILLs every stand-in this bench started that has not ended (by pid, from the record).
    pub fn kill_running(&self) {
        for (_, pid) in self.record().running {
            if pid > 0 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// A child process, SIGKILLed when dropped.
pub struct Proc(pub Child);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident set size of one process (not its children), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A numeric field of `/proc/<pid>/status` (`Threads:`, `RssAnon:` in kB, …).
pub fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One data directory shared by the processes started from it.
pub struct Cluster {
    pub data: tempfile::TempDir,
    env: Vec<(String, String)>,
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    pub id: String,
    pub status: String,
    pub error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Operation {
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "cancelled")
    }
}

impl Cluster {
    pub fn new(aws: &Aws, pulumi: &Pulumi) -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let keep = |k: &str| std::env::var(k).ok().map(|v| (k.to_owned(), v));
        let mut env: Vec<(String, String)> =
            ["PATH", "HOME"].iter().filter_map(|k| keep(k)).collect();
        for (k, v) in [
            ("BYOC_DATA_DIR", data.path().display().to_string()),
            ("BYOC_BIND", format!("127.0.0.1:{port}")),
            ("BYOC_BOOTSTRAP_TOKEN", TOKEN.to_owned()),
            ("BYOC_PULUMI_BIN", pulumi.bin().display().to_string()),
            ("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE.to_owned()),
            ("BYOC_AWS_ENDPOINT_URL", aws.moto.url.clone()),
            ("BYOC_TRUSTED_PRINCIPAL_ARN", aws.worker_arn.clone()),
            ("AWS_ACCESS_KEY_ID", aws.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", aws.secret.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("BYOC_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ] {
            env.push((k.to_owned(), v));
        }
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        Self {
            data,
            env,
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)], log: &str) -> Proc {
        let out = std::fs::File::create(self.data.path().join(log)).unwrap();
        // `BENCH_BYOC_BIN`: another build of byoc, e.g. to compare two commits with the same
        // bench binary, run after run.
        let byoc = std::env::var("BENCH_BYOC_BIN").unwrap_or_else(|_| BYOC.to_owned());
        let child = Command::new(byoc)
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn byoc");
        Proc(child)
    }

    /// Polls `/ready` (a fresh connection each time) until it answers 200; returns when.
    pub async fn wait_ready(&self, deadline: Duration) -> Instant {
        let request = crate::http::get_request(self.addr, "/ready", TOKEN);
        let start = Instant::now();
        loop {
            if let Ok(mut c) = crate::http::Conn::connect(self.addr).await
                && c.send(&request).await.ok() == Some(200)
            {
                return Instant::now();
            }
            assert!(
                start.elapsed() < deadline,
                "byoc did not get ready in {deadline:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates tenant `slug` (moto's account) with the default config for `prod`.
    pub async fn onboard(&self, slug: &str) {
        let resp = self
            .post(
                "/api/v1/tenants",
                json!({"name": slug, "slug": slug, "aws_account_id": "123456789012"}),
            )
            .await;
        assert_eq!(
            resp.status(),
            201,
            "create tenant: {}",
            resp.text().await.unwrap_or_default()
        );
        let resp = self
            .post(
                &format!("/api/v1/tenants/{slug}/environments/prod/config"),
                json!({}),
            )
            .await;
        assert_eq!(
            resp.status(),
            201,
            "save config: {}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// Queues an operation on `<slug>/prod`; returns its id.
    pub async fn queue(&self, slug: &str, action: &str) -> String {
        let resp = self
            .post(
                &format!("/api/v1/tenants/{slug}/environments/prod/{action}"),
                json!({}),
            )
            .await;
        assert_eq!(
            resp.status(),
            202,
            "{action}: {}",
            resp.text().await.unwrap_or_default()
        );
        resp.json::<Operation>().await.unwrap().id
    }

    pub async fn operation(&self, id: &str) -> Operation {
        self.client
            .get(format!("{}/api/v1/operations/{id}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits for `id` to end (polling every 20 ms: the timestamps come from the server).
    pub async fn finished(&self, id: &str) -> Operation {
        let start = Instant::now();
        loop {
            let op = self.operation(id).await;
            if op.is_final() {
                return op;
            }
            assert!(
                start.elapsed() < Duration::from_secs(600),
                "operation {id} did not end"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.data.path().join(name)).unwrap_or_default()
    }
}
