//! Shared pieces: a moto "tenant account" with the role from our template, and a knob-file
//! wrapper around the pulumi stand-in. Route helpers are `tests/support/routes.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::AwsRegion;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::moto::MotoServer;

pub const PASSPHRASE: &str = "e2e-passphrase-not-a-secret-elsewhere";
const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);

/// moto playing the tenant's account (IAM authorization off: any external ID is accepted,
/// role checks are the subject of tests/cloud.rs and tests/api/onboarding.rs).
pub struct Aws {
    pub moto: MotoServer,
    pub key: String,
    pub secret: String,
    pub worker_arn: String,
}

impl Aws {
    /// `None` when moto is not installed (the test prints SKIPPED).
    pub async fn start() -> Option<Self> {
        let moto = MotoServer::start().await?;
        let setup = moto
            .cfn_script(
                "setup",
                &[TEMPLATE, "byoc-platform-role", "e2e-ext-id-0123456"],
            )
            .await;
        let s = |v: &Value| v.as_str().expect("a string").to_owned();
        Some(Self {
            key: s(&setup["worker"]["key"]),
            secret: s(&setup["worker"]["secret"]),
            worker_arn: s(&setup["worker"]["arn"]),
            moto,
        })
    }

    /// The platform identity byoc uses (the worker user's keys, moto endpoint).
    pub async fn platform(&self) -> PlatformAws {
        let mut options = AwsClientOptions::new(AwsRegion::parse("us-east-1").unwrap());
        options.endpoint_url = Some(self.moto.url.clone());
        options.trusted_principal_arn = Some(self.worker_arn.clone());
        let creds = aws_credential_types::Credentials::new(
            &self.key,
            &self.secret,
            None,
            None,
            "moto-worker",
        );
        PlatformAws::with_credentials(options, creds).await
    }
}

/// A `pulumi` in a temp dir that stands in for the CLI: it applies the knobs in `knobs.json`
/// beside it (stand-in fault injection, changeable between operations and per process), then
/// runs `tests/support/pulumi-standin`.
pub struct Pulumi {
    pub dir: tempfile::TempDir,
}

impl Pulumi {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pulumi-standin");
        let script = format!(
            "#!/usr/bin/env python3\n\
             # Stands in for `pulumi` in end-to-end tests: knobs.json beside it -> environment,\n\
             # then the pulumi stand-in, run in this same interpreter (as execv would, same pid\n\
             # and argv, without a second interpreter start-up).\n\
             import json, os, runpy, sys\n\
             here = os.path.dirname(os.path.abspath(__file__))\n\
             try:\n    knobs = json.load(open(os.path.join(here, 'knobs.json')))\n\
             except FileNotFoundError:\n    knobs = {{}}\n\
             os.environ.update(knobs)\n\
             os.environ['PULUMI_STANDIN_RECORD'] = os.path.join(here, 'record.jsonl')\n\
             sys.argv[0] = {standin:?}\n\
             runpy.run_path({standin:?}, run_name='__main__')\n",
            standin = standin.display().to_string()
        );
        let bin = dir.path().join("pulumi");
        std::fs::write(&bin, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("pulumi")
    }

    /// Sets the stand-in knobs for the next invocations.
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

    /// Every recorded invocation (argv…).
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("record.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }
}

/// Creates tenant `acme` (account = moto's) and saves `config` for `prod`; returns the
/// external ID.
pub async fn onboard(app: &TestApp, config: Value) -> String {
    let created = app.create_tenant("acme").await;
    assert_eq!(app.save_config("acme", "prod", config).await.status(), 201);
    created.external_id
}

pub type SharedExecutor = Arc<dyn byoc::executor::Executor>;
