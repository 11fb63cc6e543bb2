//! Test harness: a runner wired to the stand-in, a private backend, and readers for the
//! stand-in's invocation record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use byoc::domain::names::StackName;
use byoc::pulumi::{EnvSnapshot, RunControl, Runner, RunnerConfig, Workspace};
use secrecy::SecretString;
use serde_json::Value;

/// The passphrase every harness uses; tests assert it never leaks.
pub const PASSPHRASE: &str = "pp-correct-horse-7f3a";

/// The stand-in executable.
pub fn standin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi-standin")
}

/// A program with the given resources (name, type, one property value) and outputs.
pub fn program(resources: &[(&str, &str, &str)], outputs: &str) -> String {
    let mut y = String::from("name: byoc-test\nruntime: yaml\nresources:\n");
    for (name, ty, value) in resources {
        y.push_str(&format!(
            "  {name}:\n    type: {ty}\n    properties:\n      value: {value}\n"
        ));
    }
    if !outputs.is_empty() {
        y.push_str("outputs:\n");
        y.push_str(outputs);
    }
    y
}

pub fn stack(name: &str) -> StackName {
    StackName::parse(name).unwrap()
}

/// One test's private world.
pub struct Harness {
    pub root: tempfile::TempDir,
    pub runner: Runner,
}

impl Harness {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut RunnerConfig)) -> Self {
        let root = tempfile::tempdir().unwrap();
        let mut config = Self::config(root.path());
        tweak(&mut config);
        let runner = Runner::new(config).await.unwrap();
        Self { root, runner }
    }

    pub fn config(root: &Path) -> RunnerConfig {
        let mut c = RunnerConfig::new(
            EnvSnapshot::capture(std::env::vars()),
            root.join("home"),
            format!("file://{}", root.join("state").display()),
        );
        c.bin = Some(standin());
        c.passphrase = Some(SecretString::from(PASSPHRASE));
        c.timeout = Duration::from_secs(60);
        c.cancel_grace = Duration::from_secs(10);
        c.extra_env = vec![(
            "PULUMI_STANDIN_RECORD".into(),
            root.join("record.jsonl").display().to_string(),
        )];
        c
    }

    pub fn record_path(&self) -> PathBuf {
        self.root.path().join("record.jsonl")
    }

    pub fn workspaces(&self) -> PathBuf {
        self.root.path().join("workspaces")
    }

    pub fn workspace(&self, program: &str) -> Workspace {
        Workspace::create(&self.workspaces(), program).unwrap()
    }

    /// A control carrying stand-in knobs.
    pub fn knobs(&self, knobs: &[(&str, &str)]) -> RunControl {
        RunControl {
            extra_env: knobs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    /// Every invocation the stand-in recorded, oldest first.
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.record_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The argv of every recorded invocation.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        self.invocations()
            .iter()
            .map(|i| serde_json::from_value(i["argv"].clone()).unwrap())
            .collect()
    }

    pub fn lock_dir(&self, stack: &str) -> PathBuf {
        self.root
            .path()
            .join("state/.pulumi/locks/organization/byoc-test")
            .join(stack)
    }

    pub fn lock_files(&self, stack: &str) -> usize {
        std::fs::read_dir(self.lock_dir(stack)).map_or(0, |d| d.count())
    }
}

pub use crate::files::files_under;
pub use crate::poll::wait_until;
