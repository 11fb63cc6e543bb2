//! The Pulumi Deployments executor against a local double of the REST API: what it sends
//! (headers, the create body, no tenant value in any command or plain variable), how it
//! follows a deployment (statuses, events, retries, cancel) and how a recovered operation
//! resumes the same deployment.

#[path = "deployments/body.rs"]
mod body;
#[path = "support/deployments_double.rs"]
pub mod double;
#[path = "deployments/follow.rs"]
mod follow;
#[path = "support/moto.rs"]
pub mod moto;
#[path = "support/poll.rs"]
mod poll;
#[path = "program/support.rs"]
pub mod program_support;
#[path = "deployments/recovery.rs"]
mod recovery;

use std::time::Duration;

use byoc::cloud::{AwsClientOptions, PlatformAws};
use byoc::domain::config::{EksMode, IngressController, NatStrategy};
use byoc::domain::{AwsAccountId, AwsRegion, EnvName, OperationKind, RoleArn, Slug, StackName};
use byoc::executor::{
    DeploymentsConfig, DeploymentsExecutor, EngineEventRecord, EventSink, Executor, OperationJob,
    Outcome, RetryPolicy, SinkMessage, Source,
};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use double::{Double, Scenario, TOKEN};
use moto::MotoServer;
use program_support::{Case, Toggles, sample_config};

/// The platform role the runner assumes with OIDC in these tests.
pub const OIDC_ROLE: &str = "arn:aws:iam::999999999999:role/byoc-deployments";

/// An executor and the moto server its tenant-role pre-flight talks to.
pub struct Exec {
    pub exec: DeploymentsExecutor,
    pub moto: MotoServer,
}

impl std::ops::Deref for Exec {
    type Target = DeploymentsExecutor;
    fn deref(&self) -> &DeploymentsExecutor {
        &self.exec
    }
}

/// An executor pointed at `double`, polling fast; `None` when moto is missing (SKIPPED).
pub async fn executor(double: &Double) -> Option<Exec> {
    executor_with(config(double)).await
}

/// An executor with `config`, its pre-flight against a fresh moto (IAM authorization off:
/// any role of any account can be assumed; tests/deployments/recovery.rs switches it on).
pub async fn executor_with(config: DeploymentsConfig) -> Option<Exec> {
    let moto = MotoServer::start().await?;
    let aws = platform(&moto, "testing", "testing").await;
    let exec = DeploymentsExecutor::new(config, aws).expect("executor");
    Some(Exec { exec, moto })
}

/// The platform identity byoc uses, signing with `key`/`secret` at `moto`.
pub async fn platform(moto: &MotoServer, key: &str, secret: &str) -> PlatformAws {
    let mut options = AwsClientOptions::new(AwsRegion::parse("us-east-1").unwrap());
    options.endpoint_url = Some(moto.url.clone());
    let creds = aws_credential_types::Credentials::new(key, secret, None, None, "moto");
    PlatformAws::with_credentials(options, creds).await
}

/// The config of [`executor`], to tweak.
pub fn config(double: &Double) -> DeploymentsConfig {
    DeploymentsConfig {
        api_url: double.url.clone(),
        token: SecretString::from(TOKEN),
        org: "acme-org".into(),
        project: "byoc-platform".into(),
        oidc_role_arn: Some(OIDC_ROLE.into()),
        static_keys: None,
        executor_image: None,
        source: Source::Template {
            url: "https://github.com/pulumi/templates/tree/master/yaml".into(),
        },
        poll: Duration::from_millis(5),
        max_poll: Duration::from_millis(20),
        cancel_grace: Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
    }
}

/// Tenant values of one test job.
pub struct Tenant {
    pub slug: &'static str,
    pub env: &'static str,
    pub account: &'static str,
    pub external_id: &'static str,
    pub mode: EksMode,
}

/// The tenant most tests use.
pub const ACME: Tenant = Tenant {
    slug: "acme",
    env: "prod",
    account: "123456789012",
    external_id: "ext-7f3c9a1e-acme-secret-value",
    mode: EksMode::Auto,
};

/// A job for `tenant`.
pub fn job(tenant: &Tenant, kind: OperationKind) -> OperationJob {
    let slug = Slug::parse(tenant.slug).unwrap();
    let env = EnvName::parse(tenant.env).unwrap();
    let config = sample_config(&Case {
        mode: tenant.mode,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::all(IngressController::IngressNginx),
    });
    OperationJob {
        operation_id: "0b6f1d2e-0000-4000-8000-000000000001".into(),
        kind,
        attempt: 1,
        stack: StackName::new(&slug, &env),
        slug,
        env,
        account: AwsAccountId::parse(tenant.account).unwrap(),
        region: AwsRegion::parse("eu-west-1").unwrap(),
        role_arn: RoleArn::parse(&format!(
            "arn:aws:iam::{}:role/BYOCPlatformRole",
            tenant.account
        ))
        .unwrap(),
        external_id: SecretString::from(tenant.external_id),
        config,
        external_ref: None,
        resume_after_sequence: None,
        stack_settings: None,
        check_pending: false,
        plan: Default::default(),
        timeout: Duration::from_secs(60),
    }
}

/// What the executor sent to the sink.
#[derive(Debug, Default)]
pub struct Sent {
    pub events: Vec<EngineEventRecord>,
    pub external_refs: Vec<String>,
    pub flushes: usize,
}

/// Runs `job` with a fresh sink and cancel token, collecting what it sent.
pub async fn run(executor: &DeploymentsExecutor, job: OperationJob) -> (Outcome, Sent) {
    run_with(executor, job, CancellationToken::new()).await
}

/// [`run`] with a given cancel token.
pub async fn run_with(
    executor: &DeploymentsExecutor,
    job: OperationJob,
    cancel: CancellationToken,
) -> (Outcome, Sent) {
    let (sink, mut rx) = EventSink::channel(100_000);
    // Drained while the run goes on: a flush waits for its answer (stored: always, here).
    let drain = tokio::spawn(async move {
        let mut sent = Sent::default();
        while let Some(msg) = rx.recv().await {
            match msg {
                SinkMessage::Event(e) => sent.events.push(e),
                SinkMessage::ExternalRef(r) => sent.external_refs.push(r),
                SinkMessage::Flush(done) => {
                    sent.flushes += 1;
                    let _ = done.send(true);
                }
                SinkMessage::StackSettings(_)
                | SinkMessage::CheckPending(_)
                | SinkMessage::Plan(_) => {}
            }
        }
        sent
    });
    let outcome = executor.run(job, sink, cancel).await;
    let sent = drain.await.expect("the drain task");
    (outcome, sent)
}

/// Starts a double for `scenario`.
pub fn double(scenario: Scenario) -> Double {
    Double::start(scenario)
}
