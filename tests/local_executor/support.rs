//! Test harness: a moto "tenant account" with the role from our template, a private data dir,
//! a `LocalExecutor` wired to the stand-in, and readers for the stand-in's argv record, the
//! forwarded events and every captured log line.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::config::{EnvironmentConfig, parse_request, resolve};
use byoc::domain::{AwsAccountId, AwsRegion, EnvName, OperationKind, RoleArn, Slug, StackName};
use byoc::executor::LocalExecutor;
use byoc::executor::{
    EngineEventRecord, EventSink, Executor, OperationJob, Outcome, SinkMessage, StackSettings,
};
use byoc::pulumi::EnvSnapshot;
use byoc::settings::Settings;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::moto::MotoServer;

/// The passphrase the harness configures; tests assert it never leaks.
pub const PASSPHRASE: &str = "pp-local-exec-correct-horse-91b2";
/// The tenant's external ID (what the role's trust policy demands); must never leak.
pub const EXTERNAL_ID: &str = "ext-local-7c1f0e5d9a2b";
/// The account moto puts everything in.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The stack every test deploys.
pub const STACK: &str = "acme-dev";
/// The project the settings default to.
pub const PROJECT: &str = "byoc-platform";

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);

/// The stand-in executable.
pub fn standin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi-standin")
}

/// Everything every test in this binary logged (one global TRACE subscriber).
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the capturing subscriber once.
pub fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

/// One test's private world: moto with the tenant role, a data dir, the executor.
pub struct World {
    pub moto: MotoServer,
    pub aws: PlatformAws,
    pub role_arn: RoleArn,
    pub root: tempfile::TempDir,
    pub settings: Settings,
    pub exec: LocalExecutor,
}

impl World {
    /// Starts moto (auth mode) and builds the executor; `None` when moto is missing.
    pub async fn start() -> Option<Self> {
        Self::with_knobs(&[]).await
    }

    /// Like [`World::start`], with stand-in knobs on every CLI call.
    pub async fn with_knobs(knobs: &[(&str, &str)]) -> Option<Self> {
        logs();
        let moto = MotoServer::start().await?;
        let setup = moto
            .cfn_script("setup", &[TEMPLATE, "byoc-platform-role", EXTERNAL_ID])
            .await;
        moto.enable_iam_auth().await;
        let s = |v: &Value| v.as_str().expect("string").to_owned();
        let worker = &setup["worker"];
        let mut options = AwsClientOptions::new(region());
        options.endpoint_url = Some(moto.url.clone());
        options.trusted_principal_arn = Some(s(&worker["arn"]));
        let creds = aws_credential_types::Credentials::new(
            s(&worker["key"]),
            s(&worker["secret"]),
            None,
            None,
            "moto-worker",
        );
        let aws = PlatformAws::with_credentials(options, creds).await;
        let role_arn = RoleArn::parse(&s(&setup["role_arn"])).unwrap();
        let root = tempfile::tempdir().unwrap();
        let settings = settings(root.path());
        let exec = executor(&settings, &aws, root.path(), knobs).await;
        Some(Self {
            moto,
            aws,
            role_arn,
            root,
            settings,
            exec,
        })
    }

    /// An executor whose CLI hangs, deaf to SIGINT/SIGTERM, with a short grace so the
    /// escalation to SIGKILL is quick.
    pub async fn hanging_executor(&self, extra: &[(&str, &str)]) -> LocalExecutor {
        let mut settings = self.settings.clone();
        settings.pulumi.cancel_grace = Duration::from_millis(300);
        let mut knobs = vec![("PULUMI_STANDIN_HANG", "1")];
        knobs.extend_from_slice(extra);
        executor(&settings, &self.aws, self.root.path(), &knobs).await
    }

    pub fn data_dir(&self) -> PathBuf {
        self.settings.data.dir.clone()
    }

    /// A job for the stack, with what the worker would hand over from earlier runs (the
    /// settings file, the pending-operations flag) — see [`Memory`].
    pub fn job(&self, kind: OperationKind) -> OperationJob {
        let mut j = job(kind, &self.role_arn, EXTERNAL_ID);
        let memory = memory_of(&self.exec).lock().unwrap().clone();
        j.stack_settings = memory.settings;
        j.check_pending = memory.check_pending;
        j
    }

    pub fn record_path(&self) -> PathBuf {
        self.root.path().join("record.jsonl")
    }

    /// The argv of every recorded stand-in invocation, oldest first.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        invocations(&self.record_path())
            .iter()
            .map(|i| serde_json::from_value(i["argv"].clone()).unwrap())
            .collect()
    }

    /// Every recorded invocation (argv, stdin_read, env names…).
    pub fn invocations(&self) -> Vec<Value> {
        invocations(&self.record_path())
    }

    pub fn lock_files(&self) -> usize {
        let dir = self
            .data_dir()
            .join("state/.pulumi/locks/organization")
            .join(PROJECT)
            .join(STACK);
        std::fs::read_dir(dir).map_or(0, |d| d.count())
    }

    /// Workspaces in this process's folder (its lock file aside).
    pub fn workspace_entries(&self) -> usize {
        std::fs::read_dir(self.exec.workspace_dir()).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("byoc-ws-"))
                .count()
        })
    }
}

/// Settings rooted at `<root>/data`, the stand-in as the CLI, a known passphrase.
pub fn settings(root: &Path) -> Settings {
    let mut s = Settings::for_data_dir(root.join("data"));
    s.pulumi.bin = Some(standin());
    s.pulumi.passphrase = Some(SecretString::from(PASSPHRASE));
    // Room for the stand-in to finish its current step after SIGINT, even on a busy machine.
    s.pulumi.cancel_grace = Duration::from_secs(10);
    s
}

/// The CLI's environment: PATH (the stand-in runs python3) and HOME only.
pub fn env() -> EnvSnapshot {
    EnvSnapshot::capture(
        ["PATH", "HOME"]
            .into_iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_owned(), v))),
    )
}

pub async fn executor(
    settings: &Settings,
    aws: &PlatformAws,
    root: &Path,
    knobs: &[(&str, &str)],
) -> LocalExecutor {
    let mut extra = vec![(
        "PULUMI_STANDIN_RECORD".to_owned(),
        root.join("record.jsonl").display().to_string(),
    )];
    extra.extend(
        knobs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    LocalExecutor::with_extra_env(settings, aws.clone(), env(), extra)
        .await
        .expect("executor starts")
}

pub fn region() -> AwsRegion {
    AwsRegion::parse("us-east-1").unwrap()
}

/// The resolved default config (what `POST …/config {}` stores).
pub fn config() -> EnvironmentConfig {
    // Any fixed day: which Kubernetes versions are offered depends on it.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    resolve(
        parse_request(serde_json::json!({})).unwrap(),
        &region(),
        today,
    )
    .unwrap()
}

pub fn job(kind: OperationKind, role_arn: &RoleArn, external_id: &str) -> OperationJob {
    OperationJob {
        operation_id: uuid::Uuid::new_v4().to_string(),
        kind,
        attempt: 1,
        stack: StackName::parse(STACK).unwrap(),
        slug: Slug::parse("acme").unwrap(),
        env: EnvName::parse("dev").unwrap(),
        account: AwsAccountId::parse(MOTO_ACCOUNT).unwrap(),
        region: region(),
        role_arn: role_arn.clone(),
        external_id: SecretString::from(external_id),
        config: config(),
        external_ref: None,
        resume_after_sequence: None,
        stack_settings: None,
        check_pending: false,
        plan: Default::default(),
        timeout: Duration::from_secs(120),
    }
}

fn invocations(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What the worker keeps between runs of the stack and hands to the next job (it stores the
/// executor's `StackSettings` and `CheckPending` messages); here per data directory.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub settings: Option<StackSettings>,
    pub check_pending: bool,
}

/// The memory of the world `exec` belongs to (its workspace parent, shared by every executor
/// of that world).
pub fn memory_of(exec: &LocalExecutor) -> Arc<Mutex<Memory>> {
    static ALL: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<Memory>>>>> = OnceLock::new();
    let key = exec.workspace_dir().parent().unwrap().to_owned();
    ALL.get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(key)
        .or_default()
        .clone()
}

/// A run in progress: its task and the receiving end of its sink.
pub struct Running {
    pub task: tokio::task::JoinHandle<Outcome>,
    pub rx: mpsc::Receiver<SinkMessage>,
    pub cancel: CancellationToken,
    memory: Arc<Mutex<Memory>>,
}

impl Running {
    /// The next event (waits up to 60 s).
    pub async fn next_event(&mut self) -> Option<EngineEventRecord> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
                .await
                .expect("an event within 60 s")?;
            match msg {
                SinkMessage::Event(e) => return Some(e),
                SinkMessage::StackSettings(settings) => {
                    self.memory.lock().unwrap().settings = Some(settings)
                }
                SinkMessage::CheckPending(on) => self.memory.lock().unwrap().check_pending = on,
                SinkMessage::ExternalRef(_) | SinkMessage::Plan(_) => {}
                SinkMessage::Flush(done) => {
                    let _ = done.send(true);
                }
            }
        }
    }

    /// Drains events until the run ends; returns them with the outcome.
    pub async fn finish(mut self) -> (Outcome, Vec<EngineEventRecord>) {
        let mut events = Vec::new();
        while let Some(e) = self.next_event().await {
            events.push(e);
        }
        (self.task.await.unwrap(), events)
    }
}

/// Starts `job` on `exec` in its own task (the worker's way).
pub fn start(exec: &LocalExecutor, job: OperationJob) -> Running {
    start_with_sink_capacity(exec, job, 64)
}

/// Like [`start`], with a sink of `capacity` messages (1: the run waits for each event to be
/// taken, as with a worker that is behind).
pub fn start_with_sink_capacity(
    exec: &LocalExecutor,
    job: OperationJob,
    capacity: usize,
) -> Running {
    let (sink, rx) = EventSink::channel(capacity);
    let cancel = CancellationToken::new();
    let memory = memory_of(exec);
    let exec = exec.clone();
    let token = cancel.clone();
    let task = tokio::spawn(async move { exec.run(job, sink, token).await });
    Running {
        task,
        rx,
        cancel,
        memory,
    }
}

/// Runs `job` to the end.
pub async fn run(exec: &LocalExecutor, job: OperationJob) -> (Outcome, Vec<EngineEventRecord>) {
    start(exec, job).finish().await
}

pub fn kinds(events: &[EngineEventRecord]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// Ops of the step events (`resOutputsEvent`) of non-stack resources.
pub fn step_ops(events: &[EngineEventRecord]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "resOutputsEvent")
        .filter(|e| e.payload["resOutputsEvent"]["metadata"]["type"] != "pulumi:pulumi:Stack")
        .map(|e| {
            e.payload["resOutputsEvent"]["metadata"]["op"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

pub use crate::files::files_under;
pub use crate::poll::wait_until;

pub fn changes(outcome: &Outcome) -> &std::collections::BTreeMap<String, u64> {
    match outcome {
        Outcome::Succeeded { summary, .. }
        | Outcome::Failed { summary, .. }
        | Outcome::Cancelled { summary, .. } => summary,
    }
}
