//! Webhook deliveries by `byoc worker` processes sharing one database (issue 19): every event
//! reaches the receiver exactly once by id while the processes live, a receiver that answers
//! 500 twice gets each event on the third try, an event committed by a process SIGKILLed
//! before delivering it is delivered by another, and a process SIGKILLed in the middle of a
//! try is replaced after the try's lease (at least once: the receiver sees that id twice).
//!
//! The API runs with `BYOC_WEBHOOK_DELIVERY=off` and no workers, so every delivery below is a
//! worker's. No pulumi is on the processes' PATH: each deploy fails at once on a worker, and
//! its end is still an `operation.finished` event. On PostgreSQL with
//! `BYOC_TEST_DATABASE=postgres` (claims use `FOR UPDATE SKIP LOCKED` there), else on one
//! SQLite file.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use byoc::store::DatabaseUrl;
use byoc::store::scratch::ScratchDatabase;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::Client;
use serde_json::{Value, json};

use crate::app::ADMIN_TOKEN;
use crate::crash::Proc;
use crate::poll::eventually;

const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PATIENCE: Duration = Duration::from_secs(60);
/// Environments deployed in the first phase (each deploy: one event per subscription).
const ENVS: usize = 10;

/// What the receiver got and how it answers, per path.
#[derive(Default)]
struct Shared {
    /// (path, webhook-id, status answered), in arrival order.
    got: Mutex<Vec<(String, String, u16)>>,
    /// The first request to `/hang` waits for this (its sender is killed meanwhile).
    release: tokio::sync::Notify,
}

/// A receiver on 127.0.0.1: `/ok` answers 200; `/flaky` answers 500 to the first two tries
/// of each id, then 200; `/hang` holds its first request until released, then answers 200.
struct Receiver {
    base: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base: format!("http://{addr}"),
            shared,
            handle,
        }
    }

    /// Requests to `path`: webhook-id → statuses answered, in order.
    fn got(&self, path: &str) -> BTreeMap<String, Vec<u16>> {
        let mut out: BTreeMap<String, Vec<u16>> = BTreeMap::new();
        for (p, id, status) in self.shared.got.lock().unwrap().iter() {
            if p == path {
                out.entry(id.clone()).or_default().push(*status);
            }
        }
        out
    }
}

async fn receive(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = req.path().to_owned();
    let earlier = shared
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, i, _)| *p == path && *i == id)
        .count();
    let status = match path.as_str() {
        "/flaky" if earlier < 2 => 500,
        "/hang" if earlier == 0 => {
            shared
                .got
                .lock()
                .unwrap()
                .push((path.clone(), id.clone(), 0));
            shared.release.notified().await;
            return HttpResponse::Ok().finish();
        }
        _ => 200,
    };
    shared.got.lock().unwrap().push((path, id, status));
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// The processes: one API and the workers, on one database, each with its own data dir.
struct Fleet {
    root: tempfile::TempDir,
    env: Vec<(String, String)>,
    base: String,
    client: Client,
}

impl Fleet {
    fn new(url: &DatabaseUrl) -> Self {
        let root = tempfile::tempdir().unwrap();
        let port = crate::moto::free_port();
        let database = match url {
            DatabaseUrl::Postgres(u) => u.clone(),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        };
        let env = [
            // No pulumi here, and `auto` then runs workers whose every operation fails at once
            // (and still ends).
            ("PATH", root.path().display().to_string()),
            ("BYOC_EXECUTOR", "auto".to_owned()),
            ("BYOC_DATABASE_URL", database),
            ("BYOC_MASTER_KEY", MASTER_KEY.to_owned()),
            // Required with PostgreSQL (shared by every process); never used here.
            (
                "PULUMI_CONFIG_PASSPHRASE",
                "webhooks-e2e-not-a-secret".to_owned(),
            ),
            ("BYOC_BIND", format!("127.0.0.1:{port}")),
            ("BYOC_POLL_MILLIS", "50".to_owned()),
            ("BYOC_WEBHOOK_HTTP_HOSTS", "127.0.0.1".to_owned()),
            ("BYOC_WEBHOOK_POLL_MILLIS", "20".to_owned()),
            ("BYOC_WEBHOOK_BACKOFF_MILLIS", "10".to_owned()),
            ("BYOC_WEBHOOK_MAX_BACKOFF_MILLIS", "40".to_owned()),
            // A try's lease is three of these: what a killed sender delays its delivery by.
            ("BYOC_WEBHOOK_TIMEOUT_SECONDS", "2".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self {
            root,
            env,
            base: format!("http://127.0.0.1:{port}"),
            client: Client::new(),
        }
    }

    fn spawn(&self, name: &str, args: &[&str], extra: &[(&str, &str)]) -> Proc {
        let log = std::fs::File::create(self.root.path().join(format!("{name}.log"))).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_byoc"))
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BYOC_DATA_DIR", self.root.path().join(name))
            .envs(extra.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc(child)
    }

    /// A worker process; `deliver`: whether it delivers webhooks.
    fn worker(&self, name: &str, deliver: bool) -> Proc {
        let deliver = if deliver { "on" } else { "off" };
        self.spawn(
            name,
            &["worker"],
            &[
                ("BYOC_WORKER_CONCURRENCY", "2"),
                ("BYOC_WEBHOOK_DELIVERY", deliver),
            ],
        )
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Deploys `acme/<env>`; the operation id.
    async fn deploy(&self, env: &str) -> String {
        let path = format!("/api/v1/tenants/acme/environments/{env}/deploy");
        let op = self.post(&path, json!({})).await;
        op["id"].as_str().unwrap().to_owned()
    }

    /// The delivery log of subscription `sub`.
    async fn log(&self, sub: &str) -> Vec<Value> {
        let path = format!("/api/v1/webhooks/{sub}/deliveries");
        let log = self.call(reqwest::Method::GET, &path, None).await;
        log["items"].as_array().unwrap().clone()
    }

    /// Waits until subscription `sub` has `n` deliveries, all delivered.
    async fn delivered(&self, sub: &str, n: usize) -> Vec<Value> {
        let mut last = Vec::new();
        let done = tokio::time::timeout(PATIENCE, async {
            loop {
                last = self.log(sub).await;
                if last.len() == n && last.iter().all(|d| d["status"] == "delivered") {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            done.is_ok(),
            "{n} deliveries of {sub}, delivered: {last:#?}\n{}",
            self.logs()
        );
        last
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.root.path()).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(10).collect();
                out.push_str(&format!("--- {}\n", path.display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The process (by pid) each logged try of `items` names in `sent_by`.
fn senders(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap().clone())
        .map(|a| a["sent_by"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Whether worker id `sent_by` (`<host>-<pid>-<random>`) is process `proc`'s.
fn is(proc: &Proc, sent_by: &str) -> bool {
    sent_by.contains(&format!("-{}-", proc.0.id()))
}

fn sigkill(proc: &mut Proc) {
    kill(Pid::from_raw(proc.0.id() as i32), Signal::SIGKILL).unwrap();
    proc.0.wait().unwrap();
}

#[actix_web::test]
async fn workers_on_one_database_deliver_each_event_once_and_lose_none_to_a_kill_9() {
    let scratch = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::from_env(scratch.path()).expect("the test database");
    let receiver = Receiver::start();
    let fleet = Fleet::new(database.url());
    let _api = fleet.spawn(
        "api",
        &["serve"],
        &[
            ("BYOC_BOOTSTRAP_TOKEN", ADMIN_TOKEN),
            ("BYOC_WORKER_CONCURRENCY", "0"),
            ("BYOC_WEBHOOK_DELIVERY", "off"),
        ],
    );
    // `/ready` says 503 here (no pulumi, no plugins): an authenticated read says it serves.
    let up = tokio::time::timeout(PATIENCE, async {
        loop {
            let url = format!("{}/api/v1/tenants", fleet.base);
            let r = fleet.client.get(url).bearer_auth(ADMIN_TOKEN).send().await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(up.await.is_ok(), "the API did not start:\n{}", fleet.logs());
    let mut a = fleet.worker("worker-a", true);
    let mut b = fleet.worker("worker-b", true);

    let tenant = json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"});
    fleet.post("/api/v1/tenants", tenant).await;
    let envs: Vec<String> = (0..ENVS).map(|i| format!("env{i}")).collect();
    for env in &envs {
        let path = format!("/api/v1/tenants/acme/environments/{env}/config");
        fleet.post(&path, json!({})).await;
    }
    let subscribe = async |path: &str| {
        let url = format!("{}{path}", receiver.base);
        let body = json!({"url": url, "events": ["operation.finished"]});
        let sub = fleet.post("/api/v1/webhooks", body).await;
        sub["id"].as_str().unwrap().to_owned()
    };
    let ok = subscribe("/ok").await;
    let flaky = subscribe("/flaky").await;

    // Phase 1: both workers run the deploys and deliver, concurrently.
    for env in &envs {
        fleet.deploy(env).await;
    }
    let ok_log = fleet.delivered(&ok, ENVS).await;
    let flaky_log = fleet.delivered(&flaky, ENVS).await;
    // Nothing is pending any more: what the receiver got is final.
    let got = receiver.got("/ok");
    assert_eq!(got.len(), ENVS, "{got:?}\n{}", fleet.logs());
    for d in &ok_log {
        let id = d["id"].as_str().unwrap();
        assert_eq!(got.get(id), Some(&vec![200]), "{id} exactly once");
    }
    let got = receiver.got("/flaky");
    assert_eq!(got.len(), ENVS);
    for d in &flaky_log {
        let id = d["id"].as_str().unwrap();
        assert_eq!(got.get(id), Some(&vec![500, 500, 200]), "{id}: third try");
        let codes: Vec<&Value> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["status_code"])
            .collect();
        assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    }
    let sent = [senders(&ok_log), senders(&flaky_log)].concat();
    assert!(
        sent.iter().all(|s| is(&a, s) || is(&b, s)),
        "only the workers deliver: {sent:?}"
    );
    eprintln!(
        "tries by worker a: {}, by worker b: {}",
        sent.iter().filter(|s| is(&a, s)).count(),
        sent.iter().filter(|s| is(&b, s)).count()
    );

    // Phase 2: the process that commits an event dies (SIGKILL) before anything delivers it;
    // a process started later delivers it, once.
    sigkill(&mut a);
    sigkill(&mut b);
    let mut c = fleet.worker("worker-c", false);
    fleet.deploy("env0").await;
    let pending = eventually("the event, pending", PATIENCE, async || {
        let items = fleet.log(&ok).await;
        (items.len() == ENVS + 1).then_some(items[0].clone())
    })
    .await;
    assert_eq!(pending["status"], "pending");
    sigkill(&mut c);
    let id = pending["id"].as_str().unwrap().to_owned();
    assert!(!receiver.got("/ok").contains_key(&id));
    let d = fleet.worker("worker-d", true);
    let items = fleet.delivered(&ok, ENVS + 1).await;
    assert_eq!(receiver.got("/ok").get(&id), Some(&vec![200]));
    assert!(is(&d, &senders(&items[..1])[0]));

    // Phase 3: the sender dies in the middle of a try. After the try's lease another process
    // sends it again, with the same id: at least once across crashes.
    let hang = subscribe("/hang").await;
    let mut d = d;
    fleet.deploy("env1").await;
    let held = eventually("the held try", PATIENCE, async || {
        receiver.got("/hang").into_keys().next()
    })
    .await;
    sigkill(&mut d);
    let e = fleet.worker("worker-e", true);
    let items = fleet.delivered(&hang, 1).await;
    receiver.shared.release.notify_waiters();
    assert_eq!(items[0]["id"], held.as_str());
    assert_eq!(receiver.got("/hang")[&held], vec![0, 200], "sent twice");
    let tries = items[0]["attempts"].as_array().unwrap();
    assert_eq!(tries.len(), 1, "the killed try left no log: {tries:?}");
    assert!(is(&e, tries[0]["sent_by"].as_str().unwrap()));
    // The other subscription's event of that deploy: once.
    let items = fleet.delivered(&ok, ENVS + 2).await;
    let id = items[0]["id"].as_str().unwrap();
    assert_eq!(receiver.got("/ok").get(id), Some(&vec![200]));

    let counts: HashMap<usize, usize> =
        receiver
            .got("/ok")
            .values()
            .fold(HashMap::new(), |mut m, v| {
                *m.entry(v.len()).or_default() += 1;
                m
            });
    assert_eq!(
        counts,
        HashMap::from([(1, ENVS + 2)]),
        "every /ok event once"
    );
    receiver.handle.stop(false).await;
}
