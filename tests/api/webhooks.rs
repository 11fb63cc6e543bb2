//! Webhooks (issue 19): subscriptions, Standard Webhooks deliveries from the outbox, retries,
//! the delivery log, redelivery and URL rules. The receiver is a real HTTP server on loopback
//! (allowlisted for plain http, as `BYOC_WEBHOOK_HTTP_HOSTS=127.0.0.1` would).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use byoc::settings::Settings;
use byoc::store::scratch::ScratchDatabase;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp};
use crate::poll::eventually;
use crate::routes::{Action, PROD, Problem};

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
pub(crate) struct Shared {
    got: Mutex<Vec<Received>>,
    /// Status codes to answer, in order; 200 once empty.
    script: Mutex<VecDeque<u16>>,
}

/// A webhook receiver on 127.0.0.1.
pub(crate) struct Receiver {
    pub(crate) url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub(crate) fn start(script: &[u16]) -> Self {
        Self::start_at("127.0.0.1", script)
    }

    /// A receiver listening on `ip` (any port); its `url` names 127.0.0.1.
    pub(crate) fn start_at(ip: &str, script: &[u16]) -> Self {
        let shared = Arc::new(Shared::default());
        shared.script.lock().unwrap().extend(script);
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind((ip, 0))
        .unwrap();
        let addr = server.addrs()[0];
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()));
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://{addr}/hook"),
            shared,
            handle,
        }
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }

    pub(crate) async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    shared.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let status = shared.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// Fast retries, loopback allowed, a shared master key (so a restarted app opens secrets).
pub(crate) fn webhook_settings(s: &mut Settings) {
    s.webhooks.allow_http_hosts = vec!["127.0.0.1".into()];
    s.webhooks.poll = Duration::from_millis(20);
    s.webhooks.backoff = Duration::from_millis(10);
    s.webhooks.max_backoff = Duration::from_millis(40);
    s.data.master_key = Some(SecretString::from(MASTER_KEY));
}

/// Subscribes `url` to `operation.finished`; the answer's id and secret.
async fn subscribe(app: &TestApp, url: &str) -> (String, String) {
    subscribe_to(app, url, &["operation.finished"]).await
}

/// Subscribes `url` to `events`; the answer's id and secret.
pub(crate) async fn subscribe_to(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let resp = app
        .post("/api/v1/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (body["id"].as_str().unwrap().to_owned(), secret)
}

/// The delivery log of a subscription.
pub(crate) async fn log(app: &TestApp, sub: &str) -> Vec<Value> {
    let body: Value = app
        .get_json(&format!("/api/v1/webhooks/{sub}/deliveries"))
        .await;
    body["items"].as_array().unwrap().clone()
}

/// Waits until the log holds `n` deliveries, all delivered; returns them.
pub(crate) async fn all_delivered(app: &TestApp, sub: &str, n: usize) -> Vec<Value> {
    eventually(
        "every delivery delivered",
        Duration::from_secs(20),
        async || {
            let items = log(app, sub).await;
            (items.len() == n && items.iter().all(|d| d["status"] == "delivered")).then_some(items)
        },
    )
    .await
}

/// Verifies a Standard Webhooks signature with Python's standard library: an implementation
/// independent of byoc's (https://www.standardwebhooks.com/: HMAC-SHA256 over
/// "id.timestamp.body", key = base64 after `whsec_`, header `v1,<base64>`).
fn python_verifies(secret: &str, r: &Received) -> bool {
    use std::io::Write;
    let script = "import sys,os,hmac,hashlib,base64\n\
        key=base64.b64decode(os.environ['SECRET'].removeprefix('whsec_'))\n\
        msg=(os.environ['ID']+'.'+os.environ['TS']+'.').encode()+sys.stdin.buffer.read()\n\
        want='v1,'+base64.b64encode(hmac.new(key,msg,hashlib.sha256).digest()).decode()\n\
        sys.exit(0 if any(hmac.compare_digest(want,s) for s in os.environ['SIG'].split()) else 1)\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .env("SECRET", secret)
        .env("ID", &r.id)
        .env("TS", &r.timestamp)
        .env("SIG", &r.signature)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(r.body.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[actix_web::test]
async fn a_receiver_gets_every_operation_finished_exactly_once_signed() {
    let receiver = Receiver::start(&[]);
    let app = TestApp::builder().settings(webhook_settings).spawn().await;
    let (sub, secret) = subscribe(&app, &receiver.url).await;
    app.with_config(PROD).await;
    let deploy = app.run(PROD, Action::Deploy).await;
    let preview = app.run(PROD, Action::Preview).await;

    let items = all_delivered(&app, &sub, 2).await;
    // Nothing is pending any more, so nothing else can arrive: what came is final.
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    let ids: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    let logged: HashSet<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, logged);
    let mut ops = HashSet::new();
    for r in &got {
        assert!(python_verifies(&secret, r), "signature of {r:?}");
        // A different secret does not verify: the check is not vacuous.
        assert!(!python_verifies(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            r
        ));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["type"], "operation.finished");
        assert_eq!(body["data"]["tenant"], "acme");
        assert_eq!(body["data"]["environment"], "prod");
        assert_eq!(body["data"]["status"], "succeeded");
        ops.insert(body["data"]["operation_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ops, HashSet::from([deploy.id, preview.id]));
    for d in &items {
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(d["attempts"][0]["status_code"], 200);
    }

    // Redelivery sends the same message again, with the same id.
    let first = &items[0]["id"];
    let resp = app
        .post(
            &format!(
                "/api/v1/webhooks/{sub}/deliveries/{}/redeliver",
                first.as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let items = eventually("the redelivery", Duration::from_secs(20), async || {
        let items = log(&app, &sub).await;
        let d = items.iter().find(|d| d["id"] == *first)?.clone();
        (d["status"] == "delivered" && d["attempts"].as_array()?.len() == 2).then_some(items)
    })
    .await;
    assert_eq!(items.len(), 2);
    let again = receiver.got();
    assert_eq!(again.len(), 3);
    assert_eq!(again[2].id, first.as_str().unwrap());
    assert!(python_verifies(&secret, &again[2]));
    app.stop().await;
    receiver.stop().await;
}

#[actix_web::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() {
    let receiver = Receiver::start(&[500, 500]);
    let app = TestApp::builder().settings(webhook_settings).spawn().await;
    let (sub, secret) = subscribe(&app, &receiver.url).await;
    app.with_config(PROD).await;
    app.run(PROD, Action::Deploy).await;

    let items = all_delivered(&app, &sub, 1).await;
    let codes: Vec<&Value> = items[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    // The same message each time: receivers deduplicate on the id.
    assert!(
        got.iter()
            .all(|r| r.id == got[0].id && r.body == got[0].body)
    );
    assert!(got.iter().all(|r| python_verifies(&secret, r)));
    app.stop().await;
    receiver.stop().await;
}

#[actix_web::test]
async fn an_event_recorded_before_the_process_stopped_is_delivered_after_restart() {
    let receiver = Receiver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // The first process records events but dies before delivering any.
    let app = TestApp::builder()
        .database(ScratchDatabase::sqlite(dir.path()))
        .settings(|s| {
            webhook_settings(s);
            s.webhooks.deliver = false;
        })
        .spawn()
        .await;
    let (sub, secret) = subscribe(&app, &receiver.url).await;
    app.with_config(PROD).await;
    let op = app.run(PROD, Action::Deploy).await;
    let pending = log(&app, &sub).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending");
    app.stop().await;
    assert!(receiver.got().is_empty());

    let app = TestApp::builder()
        .database(ScratchDatabase::sqlite(dir.path()))
        .settings(webhook_settings)
        .spawn()
        .await;
    all_delivered(&app, &sub, 1).await;
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, pending[0]["id"].as_str().unwrap());
    assert!(python_verifies(&secret, &got[0]));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["data"]["operation_id"], op.id);
    app.stop().await;
    receiver.stop().await;
}

#[actix_web::test]
async fn subscriptions_are_admin_only_validated_and_never_show_the_secret_again() {
    let app = TestApp::builder().settings(webhook_settings).spawn().await;
    for (url, why) in [
        ("http://hooks.example.com/x", "https"),
        ("http://10.0.0.5/x", "https"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://127.0.0.2/x", "loopback"),
        ("https://localhost/x", "loopback"),
        ("ftp://hooks.example.com/x", "https"),
    ] {
        let resp = app
            .post(
                "/api/v1/webhooks",
                json!({"url": url, "events": ["operation.finished"]}),
            )
            .await;
        let problem = Problem::of(resp, 422).await;
        assert_eq!(problem.errors[0].field, "url", "{url}");
        assert!(
            problem.errors[0].message.contains(why),
            "{url}: {problem:?}"
        );
    }
    let resp = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["operation.finished", "nope"]}),
        )
        .await;
    let problem = Problem::of(resp, 422).await;
    assert_eq!(problem.errors[0].field, "events[1]");

    for role in ["viewer", "operator"] {
        let token = app.token(role).await;
        let resp = app
            .request(Method::GET, "/api/v1/webhooks", Some(&token), None)
            .await;
        assert_eq!(resp.status(), 403, "{role}");
    }
    let scoped = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "scoped", "role": "admin", "tenants": ["acme"]})),
        )
        .await;
    let scoped: Value = scoped.json().await.unwrap();
    let resp = app
        .request(
            Method::GET,
            "/api/v1/webhooks",
            Some(scoped["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);

    let (id, secret) = subscribe(&app, "https://hooks.example.com/x").await;
    let listed = app.get("/api/v1/webhooks").await.text().await.unwrap();
    assert!(listed.contains(&id));
    assert!(!listed.contains(&secret[6..]), "the secret is shown once");
    // Sealed at rest.
    assert_eq!(app.data_files_contain(&secret.as_bytes()[6..]), None);
    let resp = app.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(resp.status(), 204);
    let resp = app.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

/// A real `byoc serve` process, SIGKILLed when dropped.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        // Already dead is fine: the test kills it on purpose.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &std::path::Path, port: u16, deliver: &str) -> Serve {
    let log = std::fs::File::create(data.join(format!("serve-{deliver}.log"))).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_byoc"))
        .arg("serve")
        .env_clear()
        // No pulumi on PATH and no Deployments: every operation fails at once, and still ends.
        .env("PATH", data)
        .env("BYOC_DATA_DIR", data)
        .env("BYOC_BIND", format!("127.0.0.1:{port}"))
        .env("BYOC_BOOTSTRAP_TOKEN", ADMIN_TOKEN)
        .env("BYOC_POLL_MILLIS", "50")
        .env("BYOC_WEBHOOK_HTTP_HOSTS", "127.0.0.1")
        .env("BYOC_WEBHOOK_POLL_MILLIS", "20")
        .env("BYOC_WEBHOOK_DELIVERY", deliver)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("byoc serve starts");
    Serve(child)
}

#[actix_web::test]
async fn an_event_committed_before_a_kill_9_is_delivered_by_the_next_process() {
    let receiver = Receiver::start(&[]);
    let data = tempfile::tempdir().unwrap();
    let port = crate::moto::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let call = |method: Method, path: &str, body: Option<Value>| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    // The first process commits the operation's end and its event, and delivers nothing.
    let mut first = serve(data.path(), port, "off");
    eventually("byoc serve answers", Duration::from_secs(30), async || {
        call(Method::GET, "/api/v1/tenants", None).await.ok()
    })
    .await;
    let body = json!({"name": "Acme", "slug": "acme", "aws_account_id": "123456789012"});
    let resp = call(Method::POST, "/api/v1/tenants", Some(body))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = call(
        Method::POST,
        &format!("{}/config", PROD.path()),
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let sub = json!({"url": receiver.url, "events": ["operation.finished"]});
    let resp = call(Method::POST, "/api/v1/webhooks", Some(sub))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    let (sub_id, secret) = (sub["id"].as_str().unwrap(), sub["secret"].as_str().unwrap());
    let resp = call(
        Method::POST,
        &format!("{}/deploy", PROD.path()),
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 202);
    let op: Value = resp.json().await.unwrap();
    let op_id = op["id"].as_str().unwrap().to_owned();
    let log_path = format!("/api/v1/webhooks/{sub_id}/deliveries");
    let pending: Value = eventually(
        "the operation's event",
        Duration::from_secs(30),
        async || {
            let log: Value = call(Method::GET, &log_path, None)
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (log["items"].as_array()?.len() == 1).then_some(log)
        },
    )
    .await;
    assert_eq!(pending["items"][0]["status"], "pending");

    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    assert!(receiver.got().is_empty());

    let _second = serve(data.path(), port, "on");
    let delivered: Value = eventually("the delivery", Duration::from_secs(30), async || {
        let log: Value = call(Method::GET, &log_path, None)
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (log["items"][0]["status"] == "delivered").then_some(log)
    })
    .await;
    let got = receiver.got();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, delivered["items"][0]["id"].as_str().unwrap());
    assert!(python_verifies(secret, &got[0]));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["data"]["operation_id"], op_id.as_str());
    receiver.stop().await;
}

/// The one event `receiver` got (after the log shows it delivered), its signature verified.
async fn the_one_event(app: &TestApp, sub: &str, receiver: &Receiver, secret: &str) -> Value {
    all_delivered(app, sub, 1).await;
    let got = receiver.got();
    assert_eq!(got.len(), 1, "exactly once: {got:?}");
    assert!(
        python_verifies(secret, &got[0]),
        "signature of {:?}",
        got[0]
    );
    serde_json::from_str(&got[0].body).unwrap()
}

#[actix_web::test]
async fn a_deploy_held_for_approval_sends_approval_required_once_with_the_plan_link() {
    let receiver = Receiver::start(&[]);
    let app = TestApp::builder().settings(webhook_settings).spawn().await;
    let (sub, secret) = subscribe_to(&app, &receiver.url, &["approval.required"]).await;
    app.create_tenant(PROD.slug).await;
    let config = json!({"approval": {"policy": "always"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, config).await.status(),
        201
    );
    let op = app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    assert_eq!(app.operation(&op.id).await.status, "awaiting_approval");
    // Recorded with the hold itself: the outbox row exists as soon as the operation waits.
    assert_eq!(log(&app, &sub).await.len(), 1);

    let body = the_one_event(&app, &sub, &receiver, &secret).await;
    assert_eq!(body["type"], "approval.required");
    let data = &body["data"];
    assert_eq!(data["operation_id"], op.id.as_str());
    assert_eq!(data["tenant"], "acme");
    assert_eq!(data["environment"], "prod");
    let plan_path = format!("/api/v1/operations/{}/plan", op.id);
    assert_eq!(data["plan"], plan_path.as_str());
    let plan: Value = app.get_json(&plan_path).await;
    assert_eq!(data["hold_reason"], plan["hold_reason"], "{plan}");
    assert!(data["hold_reason"].as_str().unwrap().contains("always"));

    // Approving and applying sends no second `approval.required` (and this subscription
    // does not take `operation.finished`).
    let resp = app
        .post(&format!("/api/v1/operations/{}/approve", op.id), json!({}))
        .await;
    assert_eq!(resp.status(), 202);
    app.run_pending_operations().await;
    assert_eq!(app.operation(&op.id).await.status, "succeeded");
    assert_eq!(log(&app, &sub).await.len(), 1);
    assert_eq!(receiver.got().len(), 1);
    app.stop().await;
    receiver.stop().await;
}

fn drifted(name: &str, type_: &str, paths: &[&str]) -> byoc::domain::drift::DriftedResource {
    byoc::domain::drift::DriftedResource {
        urn: format!("urn:pulumi:acme-prod::byoc-platform::{type_}::{name}"),
        type_: type_.into(),
        name: name.into(),
        op: "update".into(),
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

#[actix_web::test]
async fn drift_detected_is_sent_when_drift_is_new_or_changed_not_on_every_check() {
    let receiver = Receiver::start(&[]);
    let app = TestApp::builder().settings(webhook_settings).spawn().await;
    let (sub, secret) = subscribe_to(&app, &receiver.url, &["drift.detected"]).await;
    app.create_tenant(PROD.slug).await;
    let config = json!({"drift_check": {"every": "1m"}});
    assert_eq!(
        app.save_config(PROD.slug, PROD.env, config).await.status(),
        201
    );
    assert_eq!(app.run(PROD, Action::Deploy).await.status, "succeeded");
    app.run_drift_checks().await; // creates the schedule
    app.make_drift_checks_due();
    // A clean check sends nothing.
    assert_eq!(app.run_drift_checks().await, 1);
    assert_eq!(log(&app, &sub).await.len(), 0);

    let vpc = drifted("vpc", "aws:ec2/vpc:Vpc", &["enableDnsHostnames"]);
    app.executor.set_drift(&PROD.stack(), vec![vpc.clone()]);
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let body = the_one_event(&app, &sub, &receiver, &secret).await;
    assert_eq!(body["type"], "drift.detected");
    let data = &body["data"];
    assert_eq!(data["tenant"], "acme");
    assert_eq!(data["environment"], "prod");
    assert_eq!(data["stack_name"], PROD.stack().as_str());
    assert_eq!(data["drifted_resources"], 1);
    assert_eq!(data["types"], json!(["aws:ec2/vpc:Vpc"]));
    assert_eq!(data["resources"][0]["urn"], vpc.urn.as_str());
    assert_eq!(data["resources"][0]["paths"], json!(["enableDnsHostnames"]));

    // The same drift seen again: no new event.
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    assert_eq!(log(&app, &sub).await.len(), 1);

    // It changes (another property, and a second resource): one more event, with both.
    let vpc2 = drifted("vpc", "aws:ec2/vpc:Vpc", &["enableDnsHostnames", "tags"]);
    let sg = drifted("nodes", "aws:ec2/securityGroup:SecurityGroup", &["ingress"]);
    app.executor
        .set_drift(&PROD.stack(), vec![vpc2.clone(), sg.clone()]);
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    let items = all_delivered(&app, &sub, 2).await;
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(python_verifies(&secret, &got[1]));
    let ids: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    let logged: HashSet<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, logged, "each event once, by id");
    let second: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(second["data"]["drifted_resources"], 2);
    assert_eq!(
        second["data"]["types"],
        json!(["aws:ec2/securityGroup:SecurityGroup", "aws:ec2/vpc:Vpc"])
    );

    // Part of it fixed (less drift, nothing new): no event.
    app.executor.set_drift(&PROD.stack(), vec![vpc2]);
    app.make_drift_checks_due();
    assert_eq!(app.run_drift_checks().await, 1);
    assert_eq!(log(&app, &sub).await.len(), 2);
    app.stop().await;
    receiver.stop().await;
}
