//! A local HTTP double of the Pulumi Cloud routes the Deployments executor calls
//! (`docs/pulumi-contract.md` §5): documented shapes, token check, every request recorded, and
//! scripted scenarios (success with events and outputs, failure with a runner message,
//! `skipped`, 429 with `Retry-After`, 5xx, cancel, a create whose answer never comes). Start
//! one per test with [`Double::start`].
//!
//! Shapes, with their sources: create answers `{id, consoleUrl, version}` (REST docs,
//! `CreateDeploymentResponse`); a stack's deployments are listed newest first, 1-based `page`,
//! `pageSize` default 10 and at most 100, as `{deployments, itemsPerPage, total}` of
//! snapshots `{id, created, modified, status, version, requestedBy, pulumiOperation, updates,
//! jobs, initiator}` (pulumi/pulumi `sdk/go/common/apitype/list_deployments.go`,
//! `ListDeploymentResponseV2`, and its client test `client_deployments_test.go`; the CLI's
//! `pulumi deployment list` pages until `total`). Neither the list nor the get answer carries
//! the request's variables or source.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// The token the double accepts.
pub const TOKEN: &str = "pul-double-token-0123456789";

/// One request the double received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the scripted deployment does.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Status polls answered `running` before the final status (`usize::MAX`: until cancelled).
    pub running_polls: usize,
    /// Final status (`succeeded`, `failed`, `skipped`).
    pub final_status: &'static str,
    /// Runner log lines (`{header?, timestamp, line?}`).
    pub logs: Vec<Value>,
    /// Engine events of the update (none: the deployment never reached `pulumi <op>`).
    pub events: Vec<Value>,
    /// Events per page.
    pub page_size: usize,
    /// Each page repeats the last event of the previous one (as a re-read would).
    pub overlap_pages: bool,
    /// Stack outputs (`GET …/outputs`).
    pub outputs: Value,
    /// Status of the failed runner step, if any.
    pub failed_step: Option<&'static str>,
    /// The first deployment GET answers 429 with this `Retry-After` (seconds).
    pub rate_limit_first_get: Option<u64>,
    /// The first logs GET answers 500.
    pub server_error_first_logs: bool,
    /// The stack already exists (create answers 409).
    pub stack_exists: bool,
    /// A cancel is accepted but the deployment keeps running.
    pub ignore_cancel: bool,
    /// The outputs route answers 404.
    pub outputs_missing: bool,
    /// A create is accepted (the deployment exists and runs) but its answer never comes, as
    /// when the caller dies or the connection drops right after sending it.
    pub hold_create: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            running_polls: 1,
            final_status: "succeeded",
            logs: vec![
                json!({"header": "Get source", "timestamp": "2026-11-26T10:00:00Z"}),
                json!({"timestamp": "2026-11-26T10:00:01Z", "line": "cloned template\n"}),
                json!({"header": "pulumi update", "timestamp": "2026-11-26T10:00:02Z"}),
            ],
            events: sample_events(),
            page_size: 2,
            overlap_pages: true,
            outputs: json!({
                "vpcId": "vpc-0abc",
                "clusterName": "acme-prod",
                "kubeconfig": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAAA"}
            }),
            failed_step: None,
            rate_limit_first_get: None,
            server_error_first_logs: false,
            stack_exists: false,
            ignore_cancel: false,
            outputs_missing: false,
            hold_create: false,
        }
    }
}

/// Engine events of a small successful update, in the event-log schema.
pub fn sample_events() -> Vec<Value> {
    vec![
        json!({"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}}),
        json!({"sequence": 1, "timestamp": 2, "resourcePreEvent": {"metadata": {"op": "create", "urn": "urn:pulumi:acme-prod::byoc-platform::aws:ec2/vpc:Vpc::vpc", "type": "aws:ec2/vpc:Vpc", "provider": ""}}}),
        json!({"sequence": 2, "timestamp": 3, "resOutputsEvent": {"metadata": {"op": "create", "urn": "urn:pulumi:acme-prod::byoc-platform::aws:ec2/vpc:Vpc::vpc", "type": "aws:ec2/vpc:Vpc", "provider": ""}}}),
        json!({"sequence": 3, "timestamp": 4, "summaryEvent": {"maybeCorrupt": false, "durationSeconds": 3, "resourceChanges": {"create": 1, "same": 0}, "PolicyPacks": {}, "isPreview": false, "result": "succeeded"}}),
        json!({"sequence": 4, "timestamp": 5, "cancelEvent": {}}),
    ]
}

/// One deployment the double holds.
#[derive(Debug, Clone)]
struct Dep {
    id: String,
    /// Ordinal on the stack, from 1 (`version`: "the ordinal ID for the stack").
    version: i64,
    operation: String,
}

#[derive(Debug)]
struct State {
    scenario: Scenario,
    requests: Vec<Recorded>,
    deployments: Vec<Dep>,
    /// Status polls per deployment id.
    polls: HashMap<String, usize>,
    cancelled: HashSet<String>,
    rate_limited: bool,
    logs_failed: bool,
}

impl State {
    fn status(&self, id: &str) -> &'static str {
        if self.cancelled.contains(id) && !self.scenario.ignore_cancel {
            "failed"
        } else if self.polls(id) <= self.scenario.running_polls {
            "running"
        } else {
            self.scenario.final_status
        }
    }

    fn polls(&self, id: &str) -> usize {
        self.polls.get(id).copied().unwrap_or(0)
    }

    fn terminal(&self, id: &str) -> bool {
        !matches!(self.status(id), "running" | "not-started" | "accepted")
    }

    fn update_started(&self, id: &str) -> bool {
        self.polls(id) >= 1 && !self.scenario.events.is_empty()
    }

    fn exists(&self, id: &str) -> bool {
        self.deployments.iter().any(|d| d.id == id)
    }

    fn add(&mut self, operation: &str) -> Dep {
        let version = self.deployments.len() as i64 + 1;
        let dep = Dep {
            id: format!("dep-{version}"),
            version,
            operation: operation.to_owned(),
        };
        self.deployments.push(dep.clone());
        dep
    }

    /// A `ListDeploymentSnapshot`.
    fn snapshot(&self, dep: &Dep) -> Value {
        let status = self.status(&dep.id);
        json!({
            "id": dep.id, "created": "2026-11-26T10:00:00Z", "modified": "2026-11-26T10:00:05Z",
            "status": status, "version": dep.version,
            "requestedBy": {"name": "byoc", "githubLogin": "byoc", "avatarUrl": ""},
            "projectName": "byoc-platform", "pulumiOperation": dep.operation,
            "updates": [], "jobs": [{"status": status, "steps": []}], "initiator": "automation-api",
        })
    }
}

/// A running double.
pub struct Double {
    /// Base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl Double {
    /// Starts a double playing `scenario`.
    pub fn start(scenario: Scenario) -> Self {
        let state = Arc::new(Mutex::new(State {
            scenario,
            requests: Vec::new(),
            deployments: Vec::new(),
            polls: HashMap::new(),
            cancelled: HashSet::new(),
            rate_limited: false,
            logs_failed: false,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { url, state, handle }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests matching `method` whose path ends with `suffix`.
    pub fn requests_to(&self, method: &str, suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .collect()
    }

    /// Ids of the deployments created.
    pub fn deployments(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .deployments
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    /// Plays `scenario` for deployments created from now on.
    pub fn set_scenario(&self, scenario: Scenario) {
        self.state.lock().unwrap().scenario = scenario;
    }

    /// Pretends a deployment running `operation` was created earlier (by someone, or a worker
    /// that died); answers its id.
    pub fn seed_deployment(&self, operation: &str) -> String {
        self.state.lock().unwrap().add(operation).id
    }

    /// Points byoc settings at this double (`BYOC_EXECUTOR=deployments`, fast polling), for
    /// end-to-end API tests.
    pub fn configure(&self, settings: &mut byoc::settings::Settings) {
        (self.configurer())(settings)
    }

    /// [`Double::configure`] as a closure that outlives the double's borrow.
    pub fn configurer(&self) -> impl FnOnce(&mut byoc::settings::Settings) + 'static {
        let url = self.url.clone();
        move |settings| configure(&url, settings)
    }
}

fn configure(url: &str, settings: &mut byoc::settings::Settings) {
    {
        settings.pulumi.executor = byoc::settings::ExecutorKind::Deployments;
        settings.deployments.api_url = url.to_owned();
        settings.deployments.token = Some(TOKEN.to_owned().into());
        settings.deployments.org = Some("acme-org".into());
        settings.deployments.oidc_role_arn =
            Some("arn:aws:iam::999999999999:role/byoc-deployments".into());
        settings.deployments.poll = std::time::Duration::from_millis(5);
        settings.deployments.max_poll = std::time::Duration::from_millis(20);
    }
}

impl Double {
    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let (response, hold) = {
        let mut s = state.lock().unwrap();
        let response = respond(&mut s, &req, &body);
        let created = req.method() == "POST" && response.status().as_u16() == 202;
        (response, created && s.scenario.hold_create)
    };
    if hold {
        // The caller is expected to die waiting; the connection then closes.
        std::future::pending::<()>().await;
    }
    response
}

/// Records the request and answers it.
fn respond(s: &mut State, req: &HttpRequest, body: &web::Bytes) -> HttpResponse {
    s.requests.push(Recorded {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(body).ok(),
        at: Instant::now(),
    });
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("token {TOKEN}"));
    if !authorized {
        return error(401, "Unauthorized: No credentials provided or are invalid.");
    }
    let segments: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    let token = query_param(req.query_string(), "continuationToken");
    match (req.method().as_str(), segments.as_slice()) {
        ("POST", ["api", "stacks", _, _]) if s.scenario.stack_exists => {
            error(409, "Conflict: stack already exists")
        }
        ("POST", ["api", "stacks", org, project]) => {
            HttpResponse::Ok().json(json!({"orgName": org, "projectName": project}))
        }
        ("POST", ["api", "stacks", _, _, _, "deployments"]) => {
            let operation = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b["operation"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let dep = s.add(&operation);
            HttpResponse::Accepted().json(json!({
                "id": dep.id,
                "consoleUrl": format!("https://app.pulumi.com/deployments/{}", dep.id),
                "version": dep.version,
            }))
        }
        ("GET", ["api", "stacks", _, _, _, "deployments"]) => list(s, req.query_string()),
        ("GET", ["api", "stacks", _, _, _, "deployments", id]) => {
            if !s.exists(id) {
                return error(404, "Not Found: deployment not found");
            }
            if let (Some(secs), false) = (s.scenario.rate_limit_first_get, s.rate_limited) {
                s.rate_limited = true;
                return HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", secs.to_string()))
                    .json(json!({"code": 429, "message": "Too Many Requests"}));
            }
            *s.polls.entry((*id).to_owned()).or_default() += 1;
            let status = s.status(id);
            let steps = match s.scenario.failed_step {
                Some(name) if status == "failed" => vec![json!({"name": name, "status": "failed"})],
                _ => vec![json!({"name": "Setup", "status": "succeeded"})],
            };
            HttpResponse::Ok().json(json!({
                "id": id, "status": status, "version": 1, "pulumiOperation": "update",
                "jobs": [{"status": status, "steps": steps}],
            }))
        }
        ("GET", ["api", "stacks", _, _, _, "deployments", id, "logs"]) => {
            if s.scenario.server_error_first_logs && !s.logs_failed {
                s.logs_failed = true;
                return error(502, "Bad Gateway");
            }
            match token.as_deref() {
                None => HttpResponse::Ok()
                    .json(json!({"lines": s.scenario.logs, "nextToken": "logs-1"})),
                Some(_) if s.terminal(id) => {
                    HttpResponse::Ok().json(json!({"lines": [], "nextToken": ""}))
                }
                Some(t) => HttpResponse::Ok().json(json!({"lines": [], "nextToken": t})),
            }
        }
        ("GET", ["api", "stacks", _, _, _, "deployments", id, "updates"]) => {
            if s.update_started(id) {
                HttpResponse::Ok().json(
                    json!([{"updateID": format!("upd-{id}"), "version": 1, "latestVersion": 1}]),
                )
            } else {
                HttpResponse::Ok().json(json!([]))
            }
        }
        ("GET", ["api", "stacks", _, _, _, "update", update, "events"]) => {
            match update.strip_prefix("upd-") {
                Some(id) if s.exists(id) => events_page(s, id, token.as_deref()),
                _ => error(404, "Not Found: update not found"),
            }
        }
        ("GET", ["api", "stacks", _, _, _, "outputs"]) if s.scenario.outputs_missing => {
            error(404, "Not Found")
        }
        ("GET", ["api", "stacks", _, _, _, "outputs"]) => HttpResponse::Ok()
            .json(json!({"outputs": s.scenario.outputs, "secretsProviders": {"type": "service"}})),
        ("POST", ["api", "stacks", _, _, _, "deployments", id, "cancel"]) => {
            if !s.exists(id) {
                return error(404, "Not Found: deployment not found");
            }
            s.cancelled.insert((*id).to_owned());
            HttpResponse::Ok().finish()
        }
        _ => error(404, "Not Found"),
    }
}

/// `GET …/deployments?page=&pageSize=`: newest first. The docs give `pageSize` ≤ 100 but not
/// what a larger or invalid value does (the CLI's client test only shows that an error status
/// is an error); the double answers 400 so a client that sends one is noticed.
fn list(s: &State, query: &str) -> HttpResponse {
    let page: i64 = query_param(query, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let size: i64 = query_param(query, "pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10);
    if page < 1 || !(1..=100).contains(&size) {
        return error(400, "Bad Request: invalid page or pageSize");
    }
    let newest_first: Vec<Value> = s
        .deployments
        .iter()
        .rev()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|d| s.snapshot(d))
        .collect();
    HttpResponse::Ok().json(json!({
        "deployments": newest_first,
        "itemsPerPage": size,
        "total": s.deployments.len(),
    }))
}

/// Pages of `page_size` events, token `ev-<index of next event>`; once all are served the
/// token stays put until the deployment ends, then becomes `null`.
fn events_page(s: &State, id: &str, token: Option<&str>) -> HttpResponse {
    let events = &s.scenario.events;
    let start: usize = token
        .and_then(|t| t.strip_prefix("ev-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let from = if s.scenario.overlap_pages && start > 0 {
        start - 1
    } else {
        start
    };
    let end = (start + s.scenario.page_size).min(events.len());
    if start >= events.len() {
        let next = if s.terminal(id) {
            Value::Null
        } else {
            json!(format!("ev-{start}"))
        };
        return HttpResponse::Ok().json(json!({"events": [], "continuationToken": next}));
    }
    HttpResponse::Ok()
        .json(json!({"events": events[from..end], "continuationToken": format!("ev-{end}")}))
}

fn error(status: u16, message: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status).expect("status");
    HttpResponse::build(code).json(json!({"code": status, "message": message}))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}
