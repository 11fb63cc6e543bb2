//! One typed helper per route the tests use: answers come back as typed views, so a test
//! reads `op.id` and `status.outputs`, not `op["id"].as_str().unwrap()`.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this support module"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp};
use crate::poll::eventually;

/// One environment of a tenant, as the routes address it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Env {
    pub slug: &'static str,
    pub env: &'static str,
}

/// `acme/prod`: the environment most tests use.
pub const PROD: Env = Env {
    slug: "acme",
    env: "prod",
};

impl Env {
    /// `/api/v1/tenants/{slug}/environments/{env}`.
    pub fn path(self) -> String {
        format!("/api/v1/tenants/{}/environments/{}", self.slug, self.env)
    }

    /// `<slug>-<env>`.
    pub fn stack(self) -> String {
        format!("{}-{}", self.slug, self.env)
    }
}

/// What to queue on an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deploy,
    Preview,
    Refresh,
    /// `DELETE …/environments/{env}?confirm=true`.
    Destroy,
}

/// A problem+json body.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: u16,
    pub detail: String,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a problem.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Problem {
    /// Reads a problem answer, checking its status and content type.
    pub async fn of(resp: Response, status: u16) -> Self {
        assert_eq!(resp.status(), status, "{}", resp.url());
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        resp.json().await.expect("problem+json body")
    }
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub aws_account_id: String,
    pub aws_region: String,
    pub role_name: String,
    pub role_arn: String,
    pub role_verified_at: Option<String>,
}

/// `GET /api/v1/tenants`: one page.
#[derive(Debug, Clone, Deserialize)]
pub struct TenantPage {
    pub items: Vec<Tenant>,
    pub next_cursor: Option<String>,
}

/// The answer of `POST /api/v1/tenants`.
#[derive(Debug, Clone, Deserialize)]
pub struct TenantCreated {
    pub tenant: Tenant,
    pub external_id: String,
    pub onboarding: Value,
}

/// An operation as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    pub id: String,
    pub stack_name: String,
    pub tenant_slug: String,
    pub environment: String,
    pub kind: String,
    pub status: String,
    pub config_version: Option<i64>,
    pub executor: Option<String>,
    pub attempt: i64,
    pub cancel_requested: bool,
    pub requested_by: Option<String>,
    pub error: Option<String>,
    pub summary: Option<BTreeMap<String, u64>>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Operation {
    /// Whether it has ended (succeeded, failed or cancelled).
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "cancelled")
    }

    /// The count of change `op` in the summary (0 when absent).
    pub fn changed(&self, op: &str) -> u64 {
        self.summary
            .as_ref()
            .and_then(|s| s.get(op).copied())
            .unwrap_or(0)
    }

    /// The error text ("" when none).
    pub fn error(&self) -> &str {
        self.error.as_deref().unwrap_or_default()
    }
}

/// `GET …/status`.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvStatus {
    pub tenant_slug: String,
    pub environment: String,
    pub stack_name: String,
    pub status: String,
    pub outputs: Value,
    pub error: Option<String>,
    pub current_operation: Option<Operation>,
    pub last_operation: Option<Operation>,
}

/// One stored engine event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub payload: Value,
}

/// `GET /api/v1/operations/{id}/events`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub next_after: i64,
    pub operation_status: String,
}

/// The answer of `POST /api/v1/tenants/{slug}/external-id/rotate`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalIdRotated {
    pub external_id: String,
    pub onboarding: Value,
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub role: String,
    pub revoked_at: Option<String>,
}

/// The answer of `POST /api/v1/tokens`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenCreated {
    pub id: String,
    pub name: String,
    pub role: String,
    pub token: String,
}

impl TestApp {
    /// `POST /api/v1/tenants` for `slug` (account 123456789012); must answer 201.
    pub async fn create_tenant(&self, slug: &str) -> TenantCreated {
        let body = json!({"name": format!("Tenant {slug}"), "slug": slug, "aws_account_id": "123456789012"});
        let resp = self.post("/api/v1/tenants", body).await;
        assert_eq!(resp.status(), 201, "creating tenant {slug}");
        resp.json().await.unwrap()
    }

    /// `GET /api/v1/tenants/{slug}`.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        self.get_json(&format!("/api/v1/tenants/{slug}")).await
    }

    /// `POST …/external-id/rotate` as admin; must answer 200.
    pub async fn rotate_external_id(&self, slug: &str) -> ExternalIdRotated {
        let path = format!("/api/v1/tenants/{slug}/external-id/rotate");
        let resp = self.post(&path, json!({})).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// `POST /api/v1/tokens` with `role`; must answer 201.
    pub async fn create_token(&self, role: &str) -> TokenCreated {
        let body = json!({"name": format!("{role}-test"), "role": role});
        let resp = self.post("/api/v1/tokens", body).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    /// A new bearer token with `role`.
    pub async fn token(&self, role: &str) -> String {
        self.create_token(role).await.token
    }

    /// `POST …/config`: saves a config version.
    pub async fn save_config(&self, slug: &str, env: &str, body: Value) -> Response {
        self.post(
            &format!("/api/v1/tenants/{slug}/environments/{env}/config"),
            body,
        )
        .await
    }

    /// Creates tenant `env.slug` and saves the default config of `env`.
    pub async fn with_config(&self, env: Env) -> TenantCreated {
        let tenant = self.create_tenant(env.slug).await;
        self.with_config_of(env).await;
        tenant
    }

    /// Saves the default config of `env` (its tenant exists).
    pub async fn with_config_of(&self, env: Env) {
        let resp = self.save_config(env.slug, env.env, json!({})).await;
        assert_eq!(resp.status(), 201);
    }

    /// Asks for `action` on `env`, as admin; the raw answer.
    pub async fn queue(&self, env: Env, action: Action) -> Response {
        let path = env.path();
        match action {
            Action::Deploy => self.post(&format!("{path}/deploy"), json!({})).await,
            Action::Preview => self.post(&format!("{path}/preview"), json!({})).await,
            Action::Refresh => self.post(&format!("{path}/refresh"), json!({})).await,
            Action::Destroy => {
                let url = format!("{path}?confirm=true");
                self.request(Method::DELETE, &url, Some(ADMIN_TOKEN), None)
                    .await
            }
        }
    }

    /// Queues `action` on `env`: must answer 202 with a queued operation at its Location.
    pub async fn start(&self, env: Env, action: Action) -> Operation {
        let resp = self.queue(env, action).await;
        assert_eq!(resp.status(), 202, "{action:?}");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let op: Operation = resp.json().await.unwrap();
        assert_eq!(location, format!("/api/v1/operations/{}", op.id));
        assert_eq!(op.status, "queued");
        op
    }

    /// Queues `action` on `env`, runs it to its end with the app's worker, and returns it.
    pub async fn run(&self, env: Env, action: Action) -> Operation {
        let op = self.start(env, action).await;
        self.run_pending_operations().await;
        self.operation(&op.id).await
    }

    /// `GET /api/v1/operations/{id}`.
    pub async fn operation(&self, id: &str) -> Operation {
        self.get_json(&format!("/api/v1/operations/{id}")).await
    }

    /// `POST /api/v1/operations/{id}/cancel`, as admin.
    pub async fn cancel(&self, id: &str) -> Response {
        self.post(&format!("/api/v1/operations/{id}/cancel"), json!({}))
            .await
    }

    /// `GET …/status`.
    pub async fn status(&self, env: Env) -> EnvStatus {
        self.get_json(&format!("{}/status", env.path())).await
    }

    /// `GET …/operations`, newest first.
    pub async fn history(&self, env: Env) -> Vec<Operation> {
        self.get_json(&format!("{}/operations", env.path())).await
    }

    /// `GET /api/v1/operations/{id}/events?after=…&limit=…`.
    pub async fn events_page(&self, id: &str, after: i64, limit: u32) -> EventPage {
        self.get_json(&format!(
            "/api/v1/operations/{id}/events?after={after}&limit={limit}"
        ))
        .await
    }

    /// Every stored event of an operation (up to 1000).
    pub async fn events(&self, id: &str) -> Vec<Event> {
        self.events_page(id, 0, 1000).await.events
    }

    /// Polls the operation until its status is `status`.
    pub async fn wait_for(&self, id: &str, status: &str) -> Operation {
        let what = format!("operation {id} to be {status}");
        eventually(&what, Duration::from_secs(20), async || {
            let op = self.operation(id).await;
            (op.status == status).then_some(op)
        })
        .await
    }

    /// Polls the operation until it has ended, whatever the outcome.
    pub async fn wait_for_end(&self, id: &str) -> Operation {
        let what = format!("operation {id} to end");
        eventually(&what, Duration::from_secs(60), async || {
            Some(self.operation(id).await).filter(Operation::is_final)
        })
        .await
    }
}
