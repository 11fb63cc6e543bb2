//! `spawn_app()`: a real byoc server on 127.0.0.1:0 with its own temp data dir, plus one
//! typed helper per route the tests use.

use std::sync::Arc;
use std::time::Duration;

use byoc::commands::{self, Server};
use byoc::settings::Settings;

pub use crate::scripted::{Call, Script, ScriptedExecutor};
use reqwest::{Client, Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The admin token every test app starts with (BYOC_BOOTSTRAP_TOKEN).
pub const ADMIN_TOKEN: &str = "byoc_test-admin-token-0123456789abcdefghij";

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub data_dir: TempDir,
    pub executor: Arc<ScriptedExecutor>,
    server: Server,
}

/// Starts the server on a free port with a fresh data dir and the scripted executor; no
/// background workers: tests run operations with `run_pending_operations()`.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with settings adjusted by `tweak` (e.g. background workers).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_full(tweak, None).await
}

/// Like `spawn_app_with`, with an explicit platform AWS identity (moto credentials).
pub async fn spawn_app_full(
    tweak: impl FnOnce(&mut Settings),
    aws: Option<byoc::cloud::PlatformAws>,
) -> TestApp {
    spawn_app_on(tweak, aws, None).await
}

/// Builds a real executor from the app's final settings.
pub type ExecutorBuilder = Box<
    dyn FnOnce(
        Settings,
    ) -> futures_util::future::BoxFuture<'static, Arc<dyn byoc::executor::Executor>>,
>;

/// The most general form: settings, AWS identity, and a real executor built from the final
/// settings by `executor` (end-to-end tests); without one, the scripted executor runs.
pub async fn spawn_app_on(
    tweak: impl FnOnce(&mut Settings),
    aws: Option<byoc::cloud::PlatformAws>,
    executor: Option<ExecutorBuilder>,
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::for_data_dir(data_dir.path());
    settings.http.bind = "127.0.0.1:0".parse().unwrap();
    settings.auth.bootstrap_token = Some(SecretString::from(ADMIN_TOKEN));
    settings.worker.concurrency = 0;
    settings.worker.poll = Duration::from_millis(50);
    settings.worker.lease = Duration::from_secs(3);
    tweak(&mut settings);
    if std::env::var_os("TEST_LOG").is_some() {
        byoc::telemetry::init(settings.log.format);
    }
    let scripted = ScriptedExecutor::new();
    let chosen: Arc<dyn byoc::executor::Executor> = match executor {
        Some(build) => build(settings.clone()).await,
        None => scripted.clone(),
    };
    let server = match aws {
        Some(aws) => commands::start_with_aws(settings, chosen, aws),
        None => commands::start(settings, chosen).await,
    }
    .expect("server starts");
    TestApp {
        base: format!("http://{}", server.addr),
        client: Client::new(),
        data_dir,
        executor: scripted,
        server,
    }
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    /// GET as admin.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(ADMIN_TOKEN), None)
            .await
    }

    /// POST JSON as admin.
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    /// DELETE as admin.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path, Some(ADMIN_TOKEN), None)
            .await
    }

    /// Creates a tenant and returns the create response body.
    pub async fn create_tenant(&self, slug: &str) -> Value {
        let resp = self
            .post(
                "/api/v1/tenants",
                json!({"name": format!("Tenant {slug}"), "slug": slug, "aws_account_id": "123456789012"}),
            )
            .await;
        assert_eq!(resp.status(), 201, "creating tenant {slug}");
        resp.json().await.unwrap()
    }

    /// Creates a token with `role` through the API and returns it.
    pub async fn token(&self, role: &str) -> String {
        let resp = self
            .post(
                "/api/v1/tokens",
                json!({"name": format!("{role}-test"), "role": role}),
            )
            .await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Saves a config version and returns the response.
    pub async fn save_config(&self, slug: &str, env: &str, body: Value) -> Response {
        self.post(
            &format!("/api/v1/tenants/{slug}/environments/{env}/config"),
            body,
        )
        .await
    }

    /// A direct connection to the app's database.
    pub fn db(&self) -> byoc::store::PooledConn {
        byoc::store::connect(&self.data_dir.path().join("byoc.db"), 1)
            .unwrap()
            .get()
            .unwrap()
    }

    /// Sets the status of stack `<slug>-<env>` directly, as past operations would have left it.
    pub fn force_stack_status(
        &self,
        tenant_id: &str,
        env: &str,
        status: byoc::domain::StackStatus,
    ) {
        use byoc::store::stacks::{self, StackChange};
        let mut conn = self.db();
        let tenant = byoc::store::tenants::find(&mut conn, tenant_id).unwrap();
        let name = format!("{}-{env}", tenant.slug);
        stacks::ensure(&mut conn, &name, tenant_id, env).unwrap();
        let change = StackChange {
            status: Some(status),
            ..StackChange::default()
        };
        stacks::update(&mut conn, &name, &change).unwrap();
    }

    /// Every byte byoc has written under its data dir (database, WAL, key file, Pulumi state,
    /// workspaces…), per file, recursively.
    pub fn data_files(&self) -> Vec<(String, Vec<u8>)> {
        crate::files::files_under(self.data_dir.path())
            .into_iter()
            // A file may vanish between listing and reading (a workspace being removed).
            .filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?)))
            .collect()
    }

    /// Runs every runnable operation to its end, as a worker would.
    pub async fn run_pending_operations(&self) -> usize {
        self.server.worker.run_pending().await
    }

    /// Polls `GET /api/v1/operations/{id}` until `done(status)` or the deadline.
    pub async fn wait_for_operation(&self, id: &str, done: impl Fn(&str) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let op: Value = self
                .get(&format!("/api/v1/operations/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if done(op["status"].as_str().unwrap_or_default()) {
                return op;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "operation {id} stuck: {op}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server and its workers. Fails the test if operations are left queued or
    /// running: every test must drive the work it starts to an end.
    pub async fn stop(mut self) {
        self.server.shutdown.cancel();
        if let Some(w) = self.server.workers_done.take() {
            w.await.unwrap();
        }
        self.server.handle.stop(true).await;
        use byoc::store::schema::operations::dsl::*;
        use diesel::prelude::*;
        let left: Vec<(String, String)> = operations
            .filter(status.eq_any(["queued", "running"]))
            .select((id, status))
            .load(&mut *self.db())
            .unwrap();
        assert!(left.is_empty(), "operations left unfinished: {left:?}");
    }
}
