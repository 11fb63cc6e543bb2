//! Crash recovery with real processes: `byoc serve` (API only) and `byoc worker`s sharing one
//! data directory. A worker is killed with SIGKILL in the middle of an update, while a create
//! is in flight; another worker recovers the operation once the lease expires, clears the
//! stand-in's lock, imports the pending create, and the stack ends succeeded with every cloud
//! object once — and the next deploy changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Client;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::ADMIN_TOKEN;
use crate::harness::{Aws, PASSPHRASE, Pulumi};
use crate::poll::eventually;
use crate::routes::{EnvStatus, EventPage, Operation};

/// How long real processes get to do what a test waits for. A limit, not a wait: these tests
/// run Python stand-ins beside the binary's other tests on two cores, and at a load average of
/// ~10 (session 9, helpers building beside `.ci/run`) the rollout tests needed more than 60 s.
pub(crate) const PATIENCE: Duration = Duration::from_secs(240);

/// A child process killed (SIGKILL) when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // Already dead is fine: the test may have killed it on purpose.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) struct Cluster {
    pub(crate) data: tempfile::TempDir,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) base: String,
    pub(crate) client: Client,
}

impl Cluster {
    pub(crate) fn new(aws: &Aws, pulumi: &Pulumi) -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = crate::moto::free_port();
        let keep = |k: &str| std::env::var(k).ok().map(|v| (k.to_owned(), v));
        let mut env: Vec<(String, String)> =
            ["PATH", "HOME"].iter().filter_map(|k| keep(k)).collect();
        for (k, v) in [
            ("BYOC_DATA_DIR", data.path().display().to_string()),
            ("BYOC_BIND", format!("127.0.0.1:{port}")),
            ("BYOC_BOOTSTRAP_TOKEN", ADMIN_TOKEN.to_owned()),
            ("BYOC_PULUMI_BIN", pulumi.bin().display().to_string()),
            ("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE.to_owned()),
            ("BYOC_AWS_ENDPOINT_URL", aws.moto.url.clone()),
            ("BYOC_TRUSTED_PRINCIPAL_ARN", aws.worker_arn.clone()),
            ("AWS_ACCESS_KEY_ID", aws.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", aws.secret.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("BYOC_LEASE_SECONDS", "2".to_owned()),
            ("BYOC_POLL_MILLIS", "100".to_owned()),
            ("BYOC_LOG_FORMAT", "json".to_owned()),
        ] {
            env.push((k.to_owned(), v));
        }
        Self {
            data,
            env,
            base: format!("http://127.0.0.1:{port}"),
            client: Client::new(),
        }
    }

    pub(crate) fn spawn(&self, args: &[&str], extra: &[(&str, &str)], log: &str) -> Proc {
        let out = std::fs::File::create(self.data.path().join(log)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_byoc"))
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Proc(child)
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    pub(crate) async fn deploy(&self) -> String {
        let resp = self
            .post("/api/v1/tenants/acme/environments/prod/deploy", json!({}))
            .await;
        assert_eq!(resp.status(), 202);
        resp.json::<Operation>().await.unwrap().id
    }

    pub(crate) async fn operation(&self, id: &str) -> Operation {
        self.get(&format!("/api/v1/operations/{id}")).await
    }

    pub(crate) async fn finished(&self, id: &str) -> Operation {
        eventually("the operation to finish", PATIENCE, async || {
            Some(self.operation(id).await).filter(Operation::is_final)
        })
        .await
    }

    pub(crate) fn locks(&self) -> Vec<PathBuf> {
        let dir = self
            .data
            .path()
            .join("state/.pulumi/locks/organization/byoc-platform/acme-prod");
        std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    /// Resource types of the pending creates in the stack's checkpoint.
    pub(crate) fn pending_creates(&self) -> Vec<String> {
        let path = self
            .data
            .path()
            .join("state/.pulumi/stacks/byoc-platform/acme-prod.json");
        let cp: Value = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        cp["checkpoint"]["latest"]["pending_operations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|op| op["type"] == "creating")
            .filter_map(|op| op["resource"]["type"].as_str().map(str::to_owned))
            .collect()
    }

    /// How many objects of the stand-in's fake cloud carry each URN.
    pub(crate) fn cloud_objects(&self) -> std::collections::BTreeMap<String, usize> {
        let dir = self.data.path().join("state/.standin-cloud/objects");
        let mut out = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let record: Value =
                serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
            *out.entry(record["urn"].as_str().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
        out
    }

    pub(crate) fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.data.path().join(name)).unwrap_or_default()
    }
}

fn exists(p: &Path) -> Option<()> {
    p.exists().then_some(())
}

/// Starts `byoc serve` (API only) with tenant `acme` and a saved `prod` config; the stand-in
/// runs slowly and marks when it holds the stack lock.
pub(crate) async fn api_with_a_slow_stack(aws: &Aws, pulumi: &Pulumi) -> (Cluster, Proc, PathBuf) {
    let started = pulumi.dir.path().join("started");
    pulumi.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "200"),
        ("PULUMI_STANDIN_STARTED", started.to_str().unwrap()),
    ]);
    let cluster = Cluster::new(aws, pulumi);
    let api = api_with_tenant(&cluster).await;
    (cluster, api, started)
}

/// Starts `byoc serve` (API only) for `cluster`, creates tenant `acme` and saves a `prod`
/// config.
pub(crate) async fn api_with_tenant(cluster: &Cluster) -> Proc {
    api_with_tenant_and_external_id(cluster).await.0
}

/// [`api_with_tenant`], also returning the tenant's external ID (shown once, at creation).
pub(crate) async fn api_with_tenant_and_external_id(cluster: &Cluster) -> (Proc, String) {
    let api = cluster.spawn(&["serve"], &[("BYOC_WORKER_CONCURRENCY", "0")], "serve.log");
    eventually("the API to be ready", PATIENCE, async || {
        let r = cluster
            .client
            .get(format!("{}/ready", cluster.base))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let resp = cluster
        .post(
            "/api/v1/tenants",
            json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: crate::routes::TenantCreated = resp.json().await.unwrap();
    let resp = cluster
        .post("/api/v1/tenants/acme/environments/prod/config", json!({}))
        .await;
    assert_eq!(resp.status(), 201);
    (api, created.external_id)
}

#[actix_web::test]
async fn a_worker_killed_mid_update_is_recovered_by_another_and_the_stack_is_not_left_locked() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let (cluster, _api, started) = api_with_a_slow_stack(&aws, &pulumi).await;

    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let id = cluster.deploy().await;
    eventually("the update to hold the stack lock", PATIENCE, async || {
        exists(&started)
    })
    .await;
    // Killed while an IAM role's create is in flight: the role exists in the (fake) cloud,
    // and the checkpoint holds its pending create.
    eventually("a role's create in flight", PATIENCE, async || {
        let pending = cluster.pending_creates();
        pending
            .iter()
            .any(|t| t == "aws:iam/role:Role")
            .then_some(())
    })
    .await;
    // SIGKILL: no graceful shutdown, the stand-in dies with it and leaves its lock behind.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    eventually("the orphaned lock file", PATIENCE, async || {
        (!cluster.locks().is_empty()).then_some(())
    })
    .await;

    pulumi.knobs(&[]);
    let health = format!("127.0.0.1:{}", crate::moto::free_port());
    let _second = cluster.spawn(
        &["worker"],
        &[
            ("BYOC_WORKER_CONCURRENCY", "1"),
            ("BYOC_WORKER_HEALTH_BIND", health.as_str()),
        ],
        "worker-b.log",
    );
    let op = cluster.finished(&id).await;
    assert_eq!(
        op.status,
        "succeeded",
        "{op:?}\n{}",
        cluster.log("worker-b.log")
    );
    // The recovering worker's own metrics count the expired lease and the recovery.
    let metrics = cluster
        .client
        .get(format!("http://{health}/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("byoc_lease_expiries_total 1"), "{metrics}");
    assert!(metrics.contains("byoc_recoveries_total 1"), "{metrics}");
    let probe = cluster
        .client
        .get(format!("http://{health}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
    assert_eq!(op.attempt, 2);
    let page: EventPage = cluster
        .get(&format!("/api/v1/operations/{id}/events?limit=1000"))
        .await;
    assert!(page.events.iter().any(|e| e.kind == "byoc.recovery"));
    // The pending create was imported, not created a second time.
    assert!(
        page.events
            .iter()
            .any(|e| e.kind == "byoc.pending-resolved")
    );
    assert!(cluster.pending_creates().is_empty());
    let objects = cluster.cloud_objects();
    assert!(objects.values().all(|n| *n == 1), "{objects:#?}");
    let cancels = pulumi
        .invocations()
        .iter()
        .filter(|i| {
            i["argv"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a == "cancel"))
        })
        .count();
    assert!(cancels >= 1, "the lock was cleared with `pulumi cancel`");
    assert!(
        cluster.locks().is_empty(),
        "no lock left: {:?}",
        cluster.locks()
    );
    let st: EnvStatus = cluster
        .get("/api/v1/tenants/acme/environments/prod/status")
        .await;
    assert_eq!(st.status, "succeeded");

    // The next deploy just works, without manual action, and changes nothing.
    let next = cluster.deploy().await;
    let next = cluster.finished(&next).await;
    assert_eq!(next.status, "succeeded");
    let changes: Vec<&String> = next.summary.as_ref().unwrap().keys().collect();
    assert_eq!(changes, ["same"], "{next:?}");
    assert!(cluster.locks().is_empty());
}

/// A worker killed inside a first deploy's `stack init`, after the CLI took the stack's lock and
/// before it wrote the stack (pulumi's CreateStack locks first): `pulumi cancel` refuses a stack
/// that does not exist, so the recovering worker deletes the lock file itself; without that,
/// every later `stack init` failed "currently locked" (the fleet test's one-in-five failure with
/// the fast stand-in).
#[actix_web::test]
async fn a_worker_killed_inside_stack_init_leaves_no_lock_that_blocks_the_stack() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let held = pulumi.dir.path().join("init-held");
    pulumi.knobs(&[("PULUMI_STANDIN_INIT_HELD", held.to_str().unwrap())]);
    let cluster = Cluster::new(&aws, &pulumi);
    let _api = api_with_tenant(&cluster).await;
    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let id = cluster.deploy().await;
    eventually("`stack init` to hold the lock", PATIENCE, async || {
        exists(&held)
    })
    .await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    assert_eq!(cluster.locks().len(), 1, "the killed `stack init`'s lock");
    let stack_file = cluster
        .data
        .path()
        .join("state/.pulumi/stacks/byoc-platform/acme-prod.json");
    assert!(!stack_file.exists(), "the stack was never written");

    pulumi.knobs(&[]);
    let _second = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-b.log",
    );
    let op = cluster.finished(&id).await;
    assert_eq!(
        op.status,
        "succeeded",
        "{op:?}\n{}",
        cluster.log("worker-b.log")
    );
    assert_eq!(op.attempt, 2);
    let page: EventPage = cluster
        .get(&format!("/api/v1/operations/{id}/events?limit=1000"))
        .await;
    let note = page
        .events
        .iter()
        .find(|e| e.kind == "byoc.recovery-lock")
        .expect("the recovery's lock event");
    let removed = &note.payload["byoc.recovery-lock"]["removedWithoutStack"];
    assert_eq!(removed.as_array().map(Vec::len), Some(1), "{removed}");
    assert!(cluster.locks().is_empty(), "{:?}", cluster.locks());
}

#[actix_web::test]
async fn sigterm_stops_a_worker_gracefully_and_its_operation_resumes_elsewhere() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let (cluster, _api, started) = api_with_a_slow_stack(&aws, &pulumi).await;
    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let id = cluster.deploy().await;
    eventually("the update to hold the stack lock", PATIENCE, async || {
        exists(&started)
    })
    .await;

    let pid = nix::unistd::Pid::from_raw(first.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    // The worker interrupts the engine (SIGINT), waits for it, re-queues the operation, exits.
    let status = eventually("the worker to exit", PATIENCE, async || {
        first.0.try_wait().unwrap()
    })
    .await;
    assert!(
        status.success(),
        "{status:?}\n{}",
        cluster.log("worker-a.log")
    );
    let op = cluster.operation(&id).await;
    assert_eq!(op.status, "queued", "{op:?}");
    assert!(
        cluster.locks().is_empty(),
        "a graceful stop releases the lock"
    );

    pulumi.knobs(&[]);
    let _second = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-b.log",
    );
    let op = cluster.finished(&id).await;
    assert_eq!(op.status, "succeeded", "{op:?}");
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path);
            }
        }
    }
    found
}

/// The workspace folder (`byoc-proc-<pid>-…`) of process `pid` under `dir`, if any.
fn workspace_of(dir: &Path, pid: u32) -> Option<PathBuf> {
    let prefix = format!("byoc-proc-{pid}-");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
}

/// Issue 13 item 6: the AWS profile a run writes into its workspace holds the tenant's external
/// ID in plaintext. When its worker dies by SIGKILL, the worker that recovers the operation —
/// already running, so its own start-up sweep saw the dead one still alive — wipes the
/// folder at recovery time, not only a later start of some process on the data dir.
#[actix_web::test]
async fn the_recovering_worker_wipes_the_dead_workers_workspace_with_the_external_id() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let started = pulumi.dir.path().join("started");
    pulumi.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "200"),
        ("PULUMI_STANDIN_STARTED", started.to_str().unwrap()),
    ]);
    let cluster = Cluster::new(&aws, &pulumi);
    let (_api, external_id) = api_with_tenant_and_external_id(&cluster).await;
    let workspaces = cluster.data.path().join("workspaces");

    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "1")],
        "worker-a.log",
    );
    let first_pid = first.0.id();
    let id = cluster.deploy().await;
    eventually("the update to hold the stack lock", PATIENCE, async || {
        exists(&started)
    })
    .await;
    // Not vacuous: the running update's workspace does hold the external ID.
    let first_dir = workspace_of(&workspaces, first_pid).expect("worker A's workspace folder");
    let holding = files_containing(&first_dir, external_id.as_bytes());
    assert!(!holding.is_empty(), "the profile holds the external ID");

    // The recovering worker starts while A lives: its start-up sweep must leave A's folder.
    let health = format!("127.0.0.1:{}", crate::moto::free_port());
    let mut second = cluster.spawn(
        &["worker"],
        &[
            ("BYOC_WORKER_CONCURRENCY", "1"),
            ("BYOC_WORKER_HEALTH_BIND", health.as_str()),
        ],
        "worker-b.log",
    );
    // `/health` is served only after the executor's set-up (and its sweep) is done.
    eventually("worker B to be up", PATIENCE, async || {
        let r = cluster
            .client
            .get(format!("http://{health}/health"))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    assert!(
        first_dir.exists(),
        "B's start-up sweep left the live A's folder"
    );

    first.0.kill().unwrap();
    first.0.wait().unwrap();
    pulumi.knobs(&[]);
    let op = cluster.finished(&id).await;
    assert_eq!(
        op.status,
        "succeeded",
        "{op:?}\n{}",
        cluster.log("worker-b.log")
    );
    assert_eq!(op.attempt, 2);
    // B never restarted: the folder went at recovery.
    assert!(
        second.0.try_wait().unwrap().is_none(),
        "{}",
        cluster.log("worker-b.log")
    );
    let page: EventPage = cluster
        .get(&format!("/api/v1/operations/{id}/events?limit=1000"))
        .await;
    let note = page
        .events
        .iter()
        .find(|e| e.kind == "byoc.recovery-lock")
        .expect("the recovery note");
    assert!(
        note.payload["byoc.recovery-lock"]["workspacesRemoved"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{note:?}"
    );
    assert!(!first_dir.exists(), "A's folder is gone");
    let left = files_containing(&workspaces, external_id.as_bytes());
    assert!(left.is_empty(), "the external ID is still in {left:?}");
}
