//! Issue 19's restart acceptance with real processes: `byoc serve` (API only) and a `byoc
//! worker` that runs deploys and drives a rollout with the pulumi stand-in. The worker is
//! SIGKILLed in the middle of a wave; a new worker process takes the rollout's lease once it
//! expires and continues where it was: every target ends succeeded, targets done before the
//! kill keep their operation, and no stack gets a second deploy.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::crash::{Cluster, PATIENCE, api_with_tenant};
use crate::harness::{Aws, Pulumi};
use crate::poll::eventually;

const ENVS: usize = 8;

#[actix_web::test]
async fn a_rollout_whose_driver_is_killed_mid_wave_continues_in_a_new_process_without_repeats() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    // Slow enough that the kill lands while deploys are in flight.
    pulumi.knobs(&[("PULUMI_STANDIN_SLEEP_MS", "20")]);
    let cluster = Cluster::new(&aws, &pulumi);
    let _api = api_with_tenant(&cluster).await;
    let mut envs = vec!["prod".to_owned()];
    for i in 1..ENVS {
        let env = format!("e{i:02}");
        let path = format!("/api/v1/tenants/acme/environments/{env}/config");
        assert_eq!(cluster.post(&path, json!({})).await.status(), 201);
        envs.push(env);
    }
    let mut first = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "3")],
        "worker-a.log",
    );
    let targets: Vec<Value> = envs
        .iter()
        .map(|e| json!({"tenant": "acme", "environment": e}))
        .collect();
    let resp = cluster
        .post(
            "/api/v1/rollouts",
            json!({
                "target": {"environments": targets},
                "change": "redeploy",
                "strategy": {"canary": 1, "waves": ["50%", "100%"], "max_parallel": 3,
                             "failure_budget": 1, "bake_seconds": 0}
            }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/rollouts/{id}");
    // Mid-wave: the canary and some of wave 1 done, more of it in flight.
    let before: Value = eventually("wave 1 under way", PATIENCE, async || {
        let r: Value = cluster.get(&path).await;
        let c = &r["counts"];
        (r["current_wave"] == 1
            && c["succeeded"].as_u64() >= Some(2)
            && c["running"].as_u64() >= Some(1))
        .then_some(r)
    })
    .await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let _second = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "3")],
        "worker-b.log",
    );
    let after: Value = eventually("the rollout to finish", PATIENCE, async || {
        let r: Value = cluster.get(&path).await;
        (r["status"] == "finished").then_some(r)
    })
    .await;
    assert_eq!(
        after["counts"]["succeeded"],
        ENVS,
        "{after:#}\n{}",
        cluster.log("worker-b.log")
    );
    // Targets done before the kill were not started again.
    let ops_of = |r: &Value| -> BTreeMap<String, Value> {
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["stack_name"].as_str().unwrap().to_owned(), t.clone()))
            .collect()
    };
    let (old, new) = (ops_of(&before), ops_of(&after));
    for (stack, t) in &old {
        if t["status"] == "succeeded" || t["status"] == "running" {
            assert_eq!(t["operation_id"], new[stack]["operation_id"], "{stack}");
        }
    }
    // One deploy per stack, in all.
    for env in &envs {
        let history: Value = cluster
            .get(&format!(
                "/api/v1/tenants/acme/environments/{env}/operations"
            ))
            .await;
        let updates = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == "update")
            .count();
        assert_eq!(updates, 1, "acme-{env} deployed {updates} times");
    }
}

/// The engine's own message reaches the rollout's status: the stand-in fails one chosen
/// stack (`PULUMI_STANDIN_FAIL_STACKS`) and a budget of 1 halts the rollout there.
#[actix_web::test]
async fn a_failing_stack_halts_the_rollout_with_the_engines_message() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    pulumi.knobs(&[("PULUMI_STANDIN_FAIL_STACKS", "acme-e01")]);
    let cluster = Cluster::new(&aws, &pulumi);
    let _api = api_with_tenant(&cluster).await;
    for env in ["e01", "e02"] {
        let path = format!("/api/v1/tenants/acme/environments/{env}/config");
        assert_eq!(cluster.post(&path, json!({})).await.status(), 201);
    }
    let _worker = cluster.spawn(
        &["worker"],
        &[("BYOC_WORKER_CONCURRENCY", "2")],
        "worker.log",
    );
    let targets: Vec<Value> = ["prod", "e01", "e02"]
        .iter()
        .map(|e| json!({"tenant": "acme", "environment": e}))
        .collect();
    let resp = cluster
        .post(
            "/api/v1/rollouts",
            json!({
                "target": {"environments": targets},
                "change": "redeploy",
                "strategy": {"canary": [{"tenant": "acme", "environment": "e01"}],
                             "max_parallel": 2, "failure_budget": 1}
            }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r: Value = eventually("the rollout to halt", PATIENCE, async || {
        let r: Value = cluster.get(&format!("/api/v1/rollouts/{id}")).await;
        (r["status"] == "halted").then_some(r)
    })
    .await;
    let failed = &r["targets"][0];
    assert_eq!(failed["stack_name"], "acme-e01");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("standin injected failure"),
        "{failed}"
    );
    assert_eq!(
        r["counts"]["cancelled"], 2,
        "nothing after the canary started"
    );
}

/// Issue 19's acceptance with the pulumi stand-in as the engine: 60 environments, canary 1,
/// waves 10 % / 50 % / 100 %, `max_parallel` 5, a budget of 2, three chosen stacks failing.
/// It halts after the second failure inside the wave holding them, nothing starts after the
/// halt, the status names the failed targets with the engine's message, and no more than 5
/// deploys ever ran at once.
#[actix_web::test]
async fn sixty_environments_halt_after_the_second_failure_with_the_stand_in() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    // Positions 8, 9 (wave 2 starts at 6) and 25: the third cannot be in flight when the
    // first two fail (at most 5 are).
    let stack = |i: usize| format!("t{:02}-e{:02}", i / 10, i % 10);
    let failing = [stack(8), stack(9), stack(25)].join(",");
    pulumi.knobs(&[("PULUMI_STANDIN_FAIL_STACKS", failing.as_str())]);
    let app = crate::local::local_app(&aws, &pulumi, 8).await;
    let mut targets = Vec::new();
    for t in 0..6 {
        let slug = format!("t{t:02}");
        app.create_tenant(&slug).await;
        for e in 0..10 {
            let env = format!("e{e:02}");
            assert_eq!(app.save_config(&slug, &env, json!({})).await.status(), 201);
            targets.push(json!({"tenant": slug, "environment": env}));
        }
    }
    let resp = app
        .post(
            "/api/v1/rollouts",
            json!({
                "target": {"environments": targets},
                "change": "redeploy",
                "strategy": {"canary": 1, "waves": ["10%", "50%", "100%"], "max_parallel": 5,
                             "failure_budget": 2, "bake_seconds": 0}
            }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r: Value = eventually("the rollout to halt and settle", PATIENCE, async || {
        let r: Value = app.get_json(&format!("/api/v1/rollouts/{id}")).await;
        let c = &r["counts"];
        (r["status"] == "halted" && c["queued"] == 0 && c["running"] == 0).then_some(r)
    })
    .await;
    assert_eq!(r["current_wave"], 2);
    let by_stack = |s: &str| {
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["stack_name"] == s)
            .unwrap()
            .clone()
    };
    for s in [stack(8), stack(9)] {
        let t = by_stack(&s);
        assert_eq!(t["status"], "failed", "{t}");
        assert!(
            t["error"]
                .as_str()
                .unwrap()
                .contains("standin injected failure"),
            "{t}"
        );
    }
    assert_eq!(r["counts"]["failed"], 2);
    assert_eq!(by_stack(&stack(25))["status"], "cancelled");
    assert!(by_stack(&stack(25))["operation_id"].is_null());
    let halted_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(r["finished_at"].clone()).unwrap();
    let mut spans = Vec::new();
    for t in r["targets"].as_array().unwrap() {
        let Some(op) = t["operation_id"].as_str() else {
            continue;
        };
        let op = app.operation(op).await;
        if let Some(started) = op.started_at {
            assert!(started <= halted_at, "{} started after the halt", op.id);
            spans.push((started, op.finished_at.unwrap()));
        }
    }
    for (start, _) in &spans {
        let at_once = spans
            .iter()
            .filter(|(s, f)| s <= start && start < f)
            .count();
        assert!(at_once <= 5, "{at_once} deploys ran at once");
    }
    app.stop().await;
}
