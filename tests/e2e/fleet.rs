//! Issue 15's acceptance test, with real processes: two `byoc serve` and three `byoc worker`
//! on one PostgreSQL database and one S3 state backend (moto), sharing nothing on disk (each
//! process has a data directory of its own). `BYOC_FLEET_STACKS` stacks (200) are deployed at
//! once through both APIs with the pulumi stand-in; in the middle one worker and one API are
//! SIGKILLed. Then:
//! - every operation ends, succeeded (the killed worker's are taken over once their lease
//!   expires);
//! - no stack ever ran two engines at once: the stand-in's S3 lock objects refuse a second
//!   `up` (which would fail its operation), and its two-engine detector
//!   (`PULUMI_STANDIN_VIOLATIONS`) records none;
//! - an SSE client attached to the API that did NOT enqueue an operation receives every event
//!   of it in order, none repeated (the worker's writes reach that API through
//!   LISTEN/NOTIFY); clients attached to the killed API resume on the other with
//!   `Last-Event-ID`, still in order and without repeats;
//! - the database holds exactly what was accepted: tenants, config versions, stacks,
//!   operations, and as many events per operation as its follower received.
//!
//! Needs PostgreSQL: `.ci/run` runs it with `BYOC_TEST_DATABASE=postgres … -- --ignored`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use byoc::store::scratch::ScratchDatabase;
use diesel::prelude::*;
use futures_util::future::join_all;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::Client;
use serde_json::json;

use crate::app::ADMIN_TOKEN;
use crate::crash::Proc;
use crate::harness::{Aws, PASSPHRASE, Pulumi};
use crate::poll::eventually;
use crate::routes::Operation;

/// A fixed 32-byte master key (hex): every process must share it.
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// Environments per tenant (stacks = tenants × this).
const ENVS_PER_TENANT: usize = 10;
/// Operations run at once per worker process.
const WORKER_CONCURRENCY: &str = "4";
/// How long the whole run may take before the test gives up. A limit, not a wait: on session
/// 8's machine the 200 stacks (Python stand-in and moto on two cores) took ~580 s, so 600 s
/// left no margin; the run ends as soon as the last operation does.
const PATIENCE: Duration = Duration::from_secs(1500);

fn stacks_wanted() -> usize {
    std::env::var("BYOC_FLEET_STACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// The processes, each with a data directory of its own, and what they share: the database
/// URL, the master key, the passphrase and the S3 state backend.
struct Fleet {
    root: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Fleet {
    fn new(aws: &Aws, pulumi: &Pulumi, database_url: &str, backend_url: &str) -> Self {
        let keep = |k: &str| std::env::var(k).ok().map(|v| (k.to_owned(), v));
        let mut env: Vec<(String, String)> =
            ["PATH", "HOME"].iter().filter_map(|k| keep(k)).collect();
        for (k, v) in [
            ("BYOC_DATABASE_URL", database_url.to_owned()),
            ("BYOC_MASTER_KEY", MASTER_KEY.to_owned()),
            ("BYOC_BOOTSTRAP_TOKEN", ADMIN_TOKEN.to_owned()),
            ("PULUMI_BACKEND_URL", backend_url.to_owned()),
            ("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE.to_owned()),
            ("BYOC_PULUMI_BIN", pulumi.bin().display().to_string()),
            ("BYOC_AWS_ENDPOINT_URL", aws.moto.url.clone()),
            ("BYOC_TRUSTED_PRINCIPAL_ARN", aws.worker_arn.clone()),
            ("AWS_ACCESS_KEY_ID", aws.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", aws.secret.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("BYOC_LEASE_SECONDS", "2".to_owned()),
            // LISTEN/NOTIFY wakes idle workers and followers; polling is the slow fallback.
            ("BYOC_POLL_MILLIS", "1000".to_owned()),
            ("BYOC_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ] {
            env.push((k.to_owned(), v));
        }
        Self {
            root: tempfile::tempdir().unwrap(),
            env,
        }
    }

    /// Starts `byoc <args>` as process `name` (data dir and log `name…` under the root).
    fn spawn(&self, name: &str, args: &[&str], extra: &[(&str, &str)]) -> Proc {
        let data = self.root.path().join(name);
        let log = std::fs::File::create(self.root.path().join(format!("{name}.log"))).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_byoc"))
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BYOC_DATA_DIR", &data)
            .envs(extra.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc(child)
    }

    fn api(&self, name: &str) -> (Proc, String) {
        let port = crate::moto::free_port();
        let bind = format!("127.0.0.1:{port}");
        let proc = self.spawn(
            name,
            &["serve"],
            &[
                ("BYOC_BIND", bind.as_str()),
                ("BYOC_WORKER_CONCURRENCY", "0"),
            ],
        );
        (proc, format!("http://{bind}"))
    }

    fn worker(&self, name: &str) -> Proc {
        self.spawn(
            name,
            &["worker"],
            &[("BYOC_WORKER_CONCURRENCY", WORKER_CONCURRENCY)],
        )
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["api-a", "api-b", "worker-0", "worker-1", "worker-2"] {
            let text = std::fs::read_to_string(self.root.path().join(format!("{name}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("--- {name}.log (last lines)\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

async fn post(client: &Client, url: String, body: serde_json::Value) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// What one SSE client saw of an operation.
#[derive(Debug, Default)]
struct Followed {
    /// Sequence numbers (SSE `id:`), in the order received.
    seqs: Vec<i64>,
    /// Connections after the first one (resumed with `Last-Event-ID`).
    reconnects: usize,
    /// The `end` event's status.
    status: String,
}

/// Follows operation `id` over SSE on `bases[0]`; when the stream breaks before its `end`
/// event, resumes with `Last-Event-ID` — on the same API if it still answers, else on
/// `bases[1]` (what an `EventSource` behind a load balancer does).
async fn follow(client: &Client, bases: [&str; 2], id: &str) -> Followed {
    let mut seen = Followed::default();
    let mut on = 0;
    let mut connections = 0;
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "following {id} took too long");
        let mut req = client
            .get(format!("{}/api/v1/operations/{id}/events", bases[on]))
            .bearer_auth(ADMIN_TOKEN)
            .header("Accept", "text/event-stream");
        if let Some(last) = seen.seqs.last() {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let mut resp = match req.send().await {
            Ok(resp) => resp,
            Err(_) => {
                // That API is gone: the other one serves the same database.
                on = 1 - on;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        assert_eq!(resp.status(), 200, "SSE on {}", bases[on]);
        connections += 1;
        seen.reconnects = connections - 1;
        let mut buf = String::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                // Cut off (the API was killed): resume.
                Ok(None) | Err(_) => break,
            };
            buf.push_str(std::str::from_utf8(&chunk).expect("UTF-8 SSE"));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let (mut event, mut seq) = (None, None);
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        seq = Some(v.parse::<i64>().expect("numeric event id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ")
                        && event.as_deref() == Some("end")
                    {
                        let data: serde_json::Value = serde_json::from_str(v).unwrap();
                        seen.status = data["status"].as_str().unwrap_or_default().to_owned();
                    }
                }
                match (event.as_deref(), seq) {
                    (Some("end"), _) => return seen,
                    (Some("error"), _) => panic!("{id}: error event: {frame}"),
                    (_, Some(seq)) => seen.seqs.push(seq),
                    _ => {} // retry:, keepalive comments
                }
            }
        }
    }
}

/// A config without the optional cluster components: about half the resources of the
/// default, so 200 deploys fit on a 2-core CI machine (the program's size is not what this
/// test is about).
fn small_config() -> serde_json::Value {
    let off = json!({"enabled": false});
    json!({"components": {
        "karpenter": off, "argocd": off, "cert_manager": off,
        "external_secrets": off, "ingress": off,
    }})
}

/// `SELECT count(*) …` on the fleet's database.
fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

#[actix_web::test]
#[ignore = "needs PostgreSQL: .ci/run runs it with BYOC_TEST_DATABASE=postgres -- --ignored"]
async fn two_apis_and_three_workers_on_postgres_and_s3_survive_losing_one_of_each() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let database = ScratchDatabase::postgres().expect("a PostgreSQL test server");
    let url = match database.url() {
        byoc::store::DatabaseUrl::Postgres(url) => url.clone(),
        other => panic!("{other:?}"),
    };
    let mut db = PgConnection::establish(&url).unwrap();
    // The state bucket (path-style S3 in moto needs no signature).
    let client = Client::new();
    let made = client
        .put(format!("{}/state", aws.moto.url))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    let backend = format!(
        "s3://state/byoc?region=us-east-1&endpoint={}&s3ForcePathStyle=true",
        aws.moto.url
    );
    let pulumi = Pulumi::new();
    let violations = pulumi.dir.path().join("violations.jsonl");
    // The stand-in's fake cloud (physical resources, not Pulumi state) stays on local disk:
    // it is not what this test is about, and in the bucket it would cost a moto request per
    // resource. State, history and lock objects are in the bucket.
    let cloud = pulumi.dir.path().join("cloud");
    pulumi.knobs(&[
        ("PULUMI_STANDIN_SLEEP_MS", "0"),
        ("PULUMI_STANDIN_VIOLATIONS", violations.to_str().unwrap()),
        ("PULUMI_STANDIN_CLOUD", cloud.to_str().unwrap()),
    ]);
    let fleet = Fleet::new(&aws, &pulumi, &url, &backend);

    // All five start at once on an empty database: they take turns migrating it, and one
    // bootstrap token is created.
    let (api_a, base_a) = fleet.api("api-a");
    let (_api_b, base_b) = fleet.api("api-b");
    let mut workers: Vec<Proc> = (0..3)
        .map(|i| fleet.worker(&format!("worker-{i}")))
        .collect();
    for base in [&base_a, &base_b] {
        eventually("an API to be ready", Duration::from_secs(60), async || {
            let r = client.get(format!("{base}/ready")).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
    }
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM api_tokens"), 1);
    let bases = [base_a.as_str(), base_b.as_str()];

    // Tenants and configs, through both APIs.
    let stacks = stacks_wanted();
    let tenants = stacks.div_ceil(ENVS_PER_TENANT);
    let envs: Vec<(String, String)> = (0..stacks)
        .map(|i| {
            (
                format!("t{:03}", i / ENVS_PER_TENANT),
                format!("env{}", i % ENVS_PER_TENANT),
            )
        })
        .collect();
    let created = join_all((0..tenants).map(|t| {
        let slug = format!("t{t:03}");
        post(
            &client,
            format!("{}/api/v1/tenants", bases[t % 2]),
            json!({"name": slug, "slug": slug, "aws_account_id": "123456789012"}),
        )
    }))
    .await;
    assert!(created.iter().all(|r| r.status() == 201));
    let saved = join_all(envs.iter().enumerate().map(|(i, (slug, env))| {
        post(
            &client,
            format!(
                "{}/api/v1/tenants/{slug}/environments/{env}/config",
                bases[i % 2]
            ),
            small_config(),
        )
    }))
    .await;
    assert!(saved.iter().all(|r| r.status() == 201));

    // Every stack deployed at once: even stacks through A, odd ones through B.
    let started = Instant::now();
    let queued = join_all(envs.iter().enumerate().map(|(i, (slug, env))| {
        post(
            &client,
            format!(
                "{}/api/v1/tenants/{slug}/environments/{env}/deploy",
                bases[i % 2]
            ),
            json!({}),
        )
    }))
    .await;
    let mut ids = Vec::new();
    for resp in queued {
        assert_eq!(resp.status(), 202);
        ids.push(resp.json::<Operation>().await.unwrap().id);
    }
    let accepted = ids.len();

    // Each operation followed on the API that did NOT enqueue it; meanwhile, once a quarter
    // of them has ended and worker 0 runs some, worker 0 and API A are SIGKILLed.
    let followers = join_all(ids.iter().enumerate().map(|(i, id)| {
        let client = &client;
        async move {
            let on = [bases[(i + 1) % 2], bases[i % 2]];
            follow(client, on, id).await
        }
    }));
    let victim_pid = workers[0].0.id();
    let killer = async {
        let mut db = PgConnection::establish(&url).unwrap();
        let running_on_victim = format!(
            "SELECT count(*) AS n FROM operations \
             WHERE status = 'running' AND worker_id LIKE '%-{victim_pid}-%'"
        );
        let quarter = (accepted / 4).max(1) as i64;
        eventually("a quarter done and worker 0 busy", PATIENCE, async || {
            let done = count(
                &mut db,
                "SELECT count(*) AS n FROM operations \
                     WHERE status IN ('succeeded', 'failed', 'cancelled')",
            );
            (done >= quarter && count(&mut db, &running_on_victim) > 0).then_some(done)
        })
        .await
    };
    let (followed, done_at_kill) = futures_util::future::join(followers, async {
        let done = killer.await;
        kill(Pid::from_raw(victim_pid as i32), Signal::SIGKILL).unwrap();
        kill(Pid::from_raw(api_a.0.id() as i32), Signal::SIGKILL).unwrap();
        done
    })
    .await;
    let elapsed = started.elapsed();
    workers[0].0.wait().unwrap();
    eprintln!(
        "{accepted} deploys on 2 APIs + 3 workers: {elapsed:.1?} (worker 0 and API A killed \
         after {done_at_kill} had ended)"
    );

    // Every operation ended, succeeded, the killed worker's ones on a later attempt.
    let finals: Vec<Operation> = join_all(ids.iter().map(|id| {
        let (client, base_b) = (&client, &base_b);
        async move {
            client
                .get(format!("{base_b}/api/v1/operations/{id}"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Operation>()
                .await
                .unwrap()
        }
    }))
    .await;
    let failed: Vec<&Operation> = finals.iter().filter(|o| o.status != "succeeded").collect();
    assert!(failed.is_empty(), "{failed:#?}\n{}", fleet.logs());
    let retried = finals.iter().filter(|o| o.attempt > 1).count();
    assert!(retried >= 1, "worker 0's operations were taken over");

    // No stack ever ran two engines.
    let seen = std::fs::read_to_string(&violations).unwrap_or_default();
    assert!(seen.is_empty(), "two engines on one stack:\n{seen}");

    // Every follower got every event of its operation, in order, once.
    let stored: BTreeMap<String, (i64, i64)> = {
        #[derive(QueryableByName)]
        struct PerOp {
            #[diesel(sql_type = diesel::sql_types::Text)]
            operation_id: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            max_seq: i64,
        }
        diesel::sql_query(
            "SELECT operation_id, count(*) AS n, max(seq)::bigint AS max_seq \
             FROM operation_events GROUP BY operation_id",
        )
        .load::<PerOp>(&mut db)
        .unwrap()
        .into_iter()
        .map(|r| (r.operation_id, (r.n, r.max_seq)))
        .collect()
    };
    let mut resumed = 0;
    for (i, (id, f)) in ids.iter().zip(&followed).enumerate() {
        let (n, max_seq) = stored[id];
        assert_eq!(n, max_seq, "{id}: stored events have no gaps");
        let expected: Vec<i64> = (1..=n).collect();
        assert_eq!(f.seqs, expected, "{id}: every event, in order, once");
        assert_eq!(f.status, "succeeded", "{id}");
        // Enqueued through A (even), followed on B: B never went away.
        if i % 2 == 0 {
            assert_eq!(f.reconnects, 0, "{id}: the stream on B was never cut");
        }
        resumed += usize::from(f.reconnects > 0);
    }
    // How the killed worker's operations were found: a lock `pulumi cancel` cleared, or one a
    // killed `stack init` left on a stack it never wrote (removed by byoc itself).
    let without_stack = count(
        &mut db,
        "SELECT count(*) AS n FROM operation_events WHERE kind = 'byoc.recovery-lock' \
         AND payload NOT LIKE '%\"removedWithoutStack\":[]%'",
    );
    eprintln!(
        "{resumed} followers on API A resumed on B with Last-Event-ID; {} stand-in runs; \
         {retried} operations taken over, {without_stack} of them from inside `stack init`",
        pulumi.invocations().len()
    );

    // The database holds exactly what was accepted.
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM tenants"),
        tenants as i64
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM environment_configs"),
        stacks as i64
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM operations"),
        accepted as i64
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM stacks WHERE status = 'succeeded'"
        ),
        stacks as i64
    );
    let events: i64 = followed.iter().map(|f| f.seqs.len() as i64).sum();
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM operation_events"),
        events
    );
    let distinct: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(distinct.len(), accepted);
    drop(workers);
}
