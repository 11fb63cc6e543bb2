//! `spawn_app()`: a real byoc server on 127.0.0.1:0 with its own temp data dir, built with
//! [`TestApp::builder`] when a test needs background workers, other settings, a platform AWS
//! identity or a real executor. The typed helpers per route live in `routes.rs`.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use byoc::cloud::PlatformAws;
use byoc::commands::{self, Server};
use byoc::domain::{OperationStatus, StackStatus};
use byoc::executor::Executor;
use byoc::settings::Settings;
use byoc::store::scratch::ScratchDatabase;
use futures_util::future::LocalBoxFuture;
use reqwest::{Client, Method, Response};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;

use crate::scripted::ScriptedExecutor;

/// The admin token every test app starts with (BYOC_BOOTSTRAP_TOKEN).
pub const ADMIN_TOKEN: &str = "byoc_test-admin-token-0123456789abcdefghij";

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub data_dir: TempDir,
    /// The scripted executor (it runs operations unless the builder was given another).
    pub executor: Arc<ScriptedExecutor>,
    server: Server,
    /// The app's database: SQLite in `data_dir`, or with `BYOC_TEST_DATABASE=postgres` a
    /// PostgreSQL database of its own, dropped with the app (after the server, declared
    /// before it).
    database: ScratchDatabase,
}

/// Adjusts the settings before the app starts.
type Tweak = Box<dyn FnOnce(&mut Settings)>;

/// Builds a real executor from the app's final settings.
type ExecutorBuilder = Box<dyn FnOnce(Settings) -> LocalBoxFuture<'static, Arc<dyn Executor>>>;

/// How to start a [`TestApp`]; `spawn_app()` is `TestApp::builder().spawn()`.
#[derive(Default)]
pub struct AppBuilder {
    tweaks: Vec<Tweak>,
    aws: Option<PlatformAws>,
    executor: Option<ExecutorBuilder>,
    database: Option<ScratchDatabase>,
}

impl AppBuilder {
    /// Runs `n` operations at once in background workers (default: none; tests then run
    /// operations with `run_pending_operations()`).
    pub fn workers(self, n: usize) -> Self {
        self.settings(move |s| s.worker.concurrency = n)
    }

    /// Adjusts the settings (after the test defaults).
    pub fn settings(mut self, tweak: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// This database instead of the one `BYOC_TEST_DATABASE` selects.
    pub fn database(mut self, database: ScratchDatabase) -> Self {
        self.database = Some(database);
        self
    }

    /// The platform's AWS identity (moto credentials); default: the provider chain.
    pub fn aws(mut self, aws: PlatformAws) -> Self {
        self.aws = Some(aws);
        self
    }

    /// A real executor, built from the final settings, instead of the scripted one.
    pub fn executor<F>(mut self, build: impl FnOnce(Settings) -> F + 'static) -> Self
    where
        F: Future<Output = Arc<dyn Executor>> + 'static,
    {
        self.executor = Some(Box::new(move |s| Box::pin(build(s))));
        self
    }

    /// Starts the server (and its workers, if any).
    pub async fn spawn(self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::for_data_dir(data_dir.path());
        let database = match self.database {
            Some(database) => database,
            None => ScratchDatabase::from_env(data_dir.path()).expect("test database"),
        };
        settings.data.database_url = Some(database.url().clone());
        settings.http.bind = "127.0.0.1:0".parse().unwrap();
        settings.auth.bootstrap_token = Some(SecretString::from(ADMIN_TOKEN));
        settings.worker.concurrency = 0;
        settings.worker.poll = Duration::from_millis(50);
        settings.worker.lease = Duration::from_secs(3);
        for tweak in self.tweaks {
            tweak(&mut settings);
        }
        if std::env::var_os("TEST_LOG").is_some() {
            byoc::telemetry::init(settings.log.format);
        }
        let scripted = ScriptedExecutor::new();
        let chosen: Arc<dyn Executor> = match self.executor {
            Some(build) => build(settings.clone()).await,
            None => scripted.clone(),
        };
        let server = match self.aws {
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
            database,
        }
    }
}

/// A server with the scripted executor and no background workers.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

impl TestApp {
    /// How to start one with other settings, workers, AWS identity or executor.
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

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

    /// GET as admin, the body as JSON of type `T` (after checking for a 2xx).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.get(path).await;
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON body")
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

    /// A direct connection to the app's database.
    pub fn db(&self) -> byoc::store::PooledConn {
        byoc::store::connect(self.database.url(), 1)
            .unwrap()
            .get()
            .unwrap()
    }

    /// The server's own pool (connection settings such as SQLite pragmas live per connection).
    pub fn server_pool(&self) -> &byoc::store::DbPool {
        &self.server.pool
    }

    /// The base URL's `host:port`, for raw TCP requests.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// Sets the status of stack `<slug>-<env>` directly, as past operations would have left it.
    pub fn force_stack_status(&self, tenant_id: &str, env: &str, status: StackStatus) {
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

    /// Whether the app runs on PostgreSQL (`BYOC_TEST_DATABASE=postgres`).
    pub fn on_postgres(&self) -> bool {
        self.database.url().is_postgres()
    }

    /// Every byte byoc has written under its data dir (database, WAL, key file, Pulumi state,
    /// workspaces…), per file, recursively. On PostgreSQL the database is not in the data dir:
    /// a `pg_dump` of it stands in for the file, listed as `pg_dump of byoc.db`.
    pub fn data_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = crate::files::files_under(self.data_dir.path())
            .into_iter()
            // A file may vanish between listing and reading (a workspace being removed).
            .filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?)))
            .collect();
        if let byoc::store::DatabaseUrl::Postgres(url) = self.database.url() {
            let dump = std::process::Command::new("pg_dump")
                .args(["--data-only", "--dbname", url])
                .output()
                .expect("pg_dump runs");
            assert!(dump.status.success(), "pg_dump: {dump:?}");
            files.push(("pg_dump of byoc.db".into(), dump.stdout));
        }
        files
    }

    /// Whether any file under the data dir holds `needle`.
    pub fn data_files_contain(&self, needle: &[u8]) -> Option<String> {
        self.data_files()
            .into_iter()
            .find(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
            .map(|(file, _)| file)
    }

    /// Runs every drift check due now (within the cap) to its end, as a worker's drift loop
    /// would; returns how many ran.
    pub async fn run_drift_checks(&self) -> usize {
        self.server.worker.run_drift_checks().await
    }

    /// Runs the worker's sweep of deploys whose plan expired while awaiting approval (the
    /// run loop does it once per poll interval); how many it ended.
    pub async fn expire_plans(&self) -> usize {
        self.server.worker.expire_plans().await
    }

    /// Makes every scheduled drift check due now (as if its jittered time had come).
    pub fn make_drift_checks_due(&self) {
        use byoc::store::schema::drift_checks::dsl::*;
        use diesel::prelude::*;
        let past = byoc::store::now() - chrono::TimeDelta::seconds(1);
        diesel::update(drift_checks)
            .set(next_at.eq(past))
            .execute(&mut *self.db())
            .unwrap();
    }

    /// One step of every active rollout, as a worker's rollout driver would; returns how many
    /// changed something.
    pub async fn drive_rollouts(&self) -> usize {
        self.server.worker.drive_rollouts().await
    }

    /// Runs every runnable operation to its end, as a worker would.
    pub async fn run_pending_operations(&self) -> usize {
        self.server.worker.run_pending().await
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
        let left: Vec<(String, OperationStatus)> = operations
            .filter(status.eq_any([OperationStatus::Queued, OperationStatus::Running]))
            .select((id, status))
            .load(&mut *self.db())
            .unwrap();
        assert!(left.is_empty(), "operations left unfinished: {left:?}");
    }
}
