//! The HTTP client of the byoc API: bearer auth, JSON in and out, problem+json answers turned
//! into `ApiProblem`, and the SSE request of an operation's events.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::connect::Target;
use super::error::{ApiProblem, ClientError};

/// Longest wait for an ordinary request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A byoc server and the token to call it with.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    token: SecretString,
    http: reqwest::Client,
}

impl Api {
    /// A client for `target`.
    pub fn new(target: Target) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("byoc-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Transport {
                url: target.url.clone(),
                source: e,
            })?;
        Ok(Self {
            base: target.url,
            token: target.token,
            http,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        // bearer_auth marks the header sensitive: it is never printed by reqwest's Debug.
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose_secret())
    }

    async fn send(&self, req: RequestBuilder) -> Result<Response, ClientError> {
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        check(resp).await
    }

    /// Wraps a reqwest error with the server's URL.
    pub fn transport(&self, source: reqwest::Error) -> ClientError {
        ClientError::Transport {
            url: self.base.clone(),
            source: source.without_url(),
        }
    }

    /// `GET path` → the JSON body.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        let resp = self
            .send(self.request(Method::GET, path).timeout(REQUEST_TIMEOUT))
            .await?;
        self.json(resp).await
    }

    /// `GET path` → the body as text (the program's YAML).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let resp = self
            .send(self.request(Method::GET, path).timeout(REQUEST_TIMEOUT))
            .await?;
        resp.text().await.map_err(|e| self.transport(e))
    }

    /// `POST path` with an optional JSON body → the JSON body of the answer.
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let mut req = self.request(Method::POST, path).timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = self.send(req).await?;
        self.json(resp).await
    }

    /// `DELETE path` → the JSON body, or `None` for 204 No Content.
    pub async fn delete(&self, path: &str) -> Result<Option<Value>, ClientError> {
        let resp = self
            .send(self.request(Method::DELETE, path).timeout(REQUEST_TIMEOUT))
            .await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        self.json(resp).await.map(Some)
    }

    /// Opens the SSE stream of an operation's events after sequence number `after`
    /// (`Last-Event-ID`, so a resumed stream starts right after the last event seen).
    pub async fn event_stream(&self, operation: &str, after: i64) -> Result<Response, ClientError> {
        let mut req = self
            .request(
                Method::GET,
                &format!("/api/v1/operations/{operation}/events"),
            )
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if after > 0 {
            req = req.header("Last-Event-ID", after.to_string());
        }
        self.send(req).await
    }

    async fn json(&self, resp: Response) -> Result<Value, ClientError> {
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Protocol(format!("the body is not JSON: {e}")))
    }
}

/// Passes 2xx answers; turns every other into an `ApiProblem` (from its problem+json body
/// when there is one).
async fn check(resp: Response) -> Result<Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.bytes().await.unwrap_or_default();
    let mut problem: ApiProblem = serde_json::from_slice(&body).unwrap_or_else(|_| ApiProblem {
        title: status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_owned(),
        detail: String::from_utf8_lossy(&body)
            .trim()
            .chars()
            .take(300)
            .collect(),
        ..ApiProblem::default()
    });
    problem.status = status.as_u16();
    problem.request_id = request_id;
    Err(problem.into())
}
