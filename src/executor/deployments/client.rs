//! The Pulumi Cloud REST calls the executor makes (`docs/pulumi-contract.md` §5): documented
//! headers, typed answers, and retries the way the CLI's own client does them (429 waits
//! `Retry-After`; 5xx is retried for GETs and for cancel only, so a create is never sent twice
//! after it may have been accepted).

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::DeploymentsError;
use super::shapes::{Deployment, DeploymentList, EventsPage, LogsPage, StackOutputs, UpdateRef};

/// `Accept` header the REST documentation asks for.
pub const ACCEPT: &str = "application/vnd.pulumi+8";
/// `X-Pulumi-Deployment-Initiator` value byoc sends.
pub const INITIATOR: &str = "byoc";

/// How often and how long requests are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Delay before the first retry of a 5xx or transport error; doubles each time.
    pub base_delay: Duration,
    /// Longest delay between attempts (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// The CLI's numbers: 4 attempts, 1 s doubling, at most 30 s.
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// `<org>/<project>/<stack>`: where a stack's routes live.
#[derive(Debug, Clone)]
pub struct StackPath {
    /// Organization.
    pub org: String,
    /// Project.
    pub project: String,
    /// Stack.
    pub stack: String,
}

impl StackPath {
    fn base(&self) -> String {
        format!("/api/stacks/{}/{}/{}", self.org, self.project, self.stack)
    }

    /// The fully qualified stack name.
    pub fn qualified(&self) -> String {
        format!("{}/{}/{}", self.org, self.project, self.stack)
    }
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// An authenticated Pulumi Cloud client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    retry: RetryPolicy,
}

impl Client {
    /// A client of `base` (e.g. `https://api.pulumi.com`).
    pub fn new(
        base: &str,
        token: SecretString,
        retry: RetryPolicy,
    ) -> Result<Self, DeploymentsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| DeploymentsError::Transport {
                context: "building the HTTP client".into(),
                source,
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            retry,
        })
    }

    /// Creates the stack; "already exists" (409) is success.
    pub async fn ensure_stack(&self, stack: &StackPath) -> Result<(), DeploymentsError> {
        let path = format!("/api/stacks/{}/{}", stack.org, stack.project);
        let body = serde_json::json!({ "stackName": stack.stack });
        match self
            .send(Method::POST, &path, Some(&body), false, "create stack")
            .await
        {
            Ok(_) => Ok(()),
            Err(DeploymentsError::Api { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates a deployment and answers its id. `body` holds secrets: never log it.
    pub async fn create_deployment(
        &self,
        stack: &StackPath,
        body: &Value,
    ) -> Result<String, DeploymentsError> {
        let path = format!("{}/deployments", stack.base());
        let text = self
            .send(Method::POST, &path, Some(body), false, "create deployment")
            .await?;
        Ok(decode::<Created>(&text, "create deployment")?.id)
    }

    /// Page `page` (1-based) of the stack's deployments, newest first, `page_size` ≤ 100.
    pub async fn list_deployments(
        &self,
        stack: &StackPath,
        page: u32,
        page_size: u32,
    ) -> Result<DeploymentList, DeploymentsError> {
        let path = format!(
            "{}/deployments?page={page}&pageSize={page_size}",
            stack.base()
        );
        decode(
            &self.get(&path, "list stack deployments").await?,
            "list stack deployments",
        )
    }

    /// The deployment's current state.
    pub async fn deployment(
        &self,
        stack: &StackPath,
        id: &str,
    ) -> Result<Deployment, DeploymentsError> {
        let path = format!("{}/deployments/{id}", stack.base());
        decode(&self.get(&path, "get deployment").await?, "get deployment")
    }

    /// A page of runner logs after `token`.
    pub async fn logs(
        &self,
        stack: &StackPath,
        id: &str,
        token: Option<&str>,
    ) -> Result<LogsPage, DeploymentsError> {
        let mut path = format!("{}/deployments/{id}/logs", stack.base());
        if let Some(t) = token {
            path = format!("{path}?continuationToken={}", encode(t));
        }
        decode(
            &self.get(&path, "get deployment logs").await?,
            "get deployment logs",
        )
    }

    /// The updates the deployment ran so far.
    pub async fn updates(
        &self,
        stack: &StackPath,
        id: &str,
    ) -> Result<Vec<UpdateRef>, DeploymentsError> {
        let path = format!("{}/deployments/{id}/updates", stack.base());
        decode(
            &self.get(&path, "list deployment updates").await?,
            "list deployment updates",
        )
    }

    /// A page of an update's engine events after `token`.
    pub async fn events(
        &self,
        stack: &StackPath,
        update_id: &str,
        token: Option<&str>,
    ) -> Result<EventsPage, DeploymentsError> {
        let mut path = format!("{}/update/{update_id}/events", stack.base());
        if let Some(t) = token {
            path = format!("{path}?continuationToken={}", encode(t));
        }
        decode(
            &self.get(&path, "get update events").await?,
            "get update events",
        )
    }

    /// The stack's outputs (not its whole state).
    pub async fn outputs(&self, stack: &StackPath) -> Result<StackOutputs, DeploymentsError> {
        let path = format!("{}/outputs", stack.base());
        decode(
            &self.get(&path, "get stack outputs").await?,
            "get stack outputs",
        )
    }

    /// Asks the service to cancel the deployment (retried like a GET: cancelling twice is harmless).
    pub async fn cancel(&self, stack: &StackPath, id: &str) -> Result<(), DeploymentsError> {
        let path = format!("{}/deployments/{id}/cancel", stack.base());
        self.send(Method::POST, &path, None, true, "cancel deployment")
            .await
            .map(drop)
    }

    async fn get(&self, path: &str, context: &str) -> Result<String, DeploymentsError> {
        self.send(Method::GET, path, None, true, context).await
    }

    /// Sends one request with the documented headers, retrying 429 (any method: the service
    /// refused it, so nothing happened) and, when `retry_all`, 5xx and transport errors.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry_all: bool,
        context: &str,
    ) -> Result<String, DeploymentsError> {
        let url = format!("{}{path}", self.base);
        let mut delay = self.retry.base_delay;
        let mut attempt = 1;
        loop {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(
                    header::AUTHORIZATION,
                    format!("token {}", self.token.expose_secret()),
                )
                .header(header::ACCEPT, ACCEPT)
                .header(header::CONTENT_TYPE, "application/json")
                .header("X-Pulumi-Deployment-Initiator", INITIATOR);
            if let Some(b) = body {
                req = req.json(b);
            }
            let last = attempt >= self.retry.attempts;
            let wait = match req.send().await {
                Err(source) if !retry_all || last => {
                    return Err(DeploymentsError::Transport {
                        context: context.into(),
                        source,
                    });
                }
                Err(e) => {
                    tracing::warn!(http.context = context, error = %e, attempt, "Pulumi Cloud request failed; retrying");
                    delay
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return resp
                            .text()
                            .await
                            .map_err(|source| DeploymentsError::Transport {
                                context: context.into(),
                                source,
                            });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        if last {
                            return Err(DeploymentsError::RateLimited {
                                context: context.into(),
                            });
                        }
                        retry_after(&resp).unwrap_or(delay)
                    } else if status.is_server_error() && retry_all && !last {
                        tracing::warn!(
                            http.context = context,
                            http.status = status.as_u16(),
                            attempt,
                            "Pulumi Cloud error; retrying"
                        );
                        delay
                    } else {
                        let text = resp.text().await.unwrap_or_default();
                        return Err(api_error(context, status, &text));
                    }
                }
            };
            tokio::time::sleep(wait.min(self.retry.max_delay)).await;
            delay = (delay * 2).min(self.retry.max_delay);
            attempt += 1;
        }
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let raw = resp.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn api_error(context: &str, status: StatusCode, text: &str) -> DeploymentsError {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    let message = serde_json::from_str::<ErrorBody>(text)
        .map(|e| e.message)
        .unwrap_or_else(|_| text.chars().take(200).collect());
    DeploymentsError::Api {
        context: context.into(),
        status: status.as_u16(),
        message,
    }
}

fn decode<T: DeserializeOwned>(text: &str, context: &str) -> Result<T, DeploymentsError> {
    serde_json::from_str(text).map_err(|source| DeploymentsError::Decode {
        context: context.into(),
        source,
    })
}

/// Percent-encodes a continuation token for a query string.
fn encode(token: &str) -> String {
    token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
