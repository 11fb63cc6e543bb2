//! Rollouts (issue 19): one change across many environments in waves, with the scripted
//! executor standing in for the engine (per-stack failures) and the API's own workers and
//! rollout driver, or the driver stepped by hand.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, spawn_app};
use crate::poll::eventually;
use crate::scripted::Script;

const PATIENCE: Duration = Duration::from_secs(60);

/// `tenants` tenants `t00…` with `per` environments `e00…` each, every one with a config.
async fn fleet(app: &TestApp, tenants: usize, per: usize, config: Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in 0..tenants {
        let slug = format!("t{t:02}");
        app.create_tenant(&slug).await;
        for e in 0..per {
            let env = format!("e{e:02}");
            let resp = app.save_config(&slug, &env, config.clone()).await;
            assert_eq!(resp.status(), 201);
            out.push((slug.clone(), env));
        }
    }
    out
}

fn listed(envs: &[(String, String)]) -> Value {
    envs.iter()
        .map(|(t, e)| json!({"tenant": t, "environment": e}))
        .collect()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let resp = app.post("/api/v1/rollouts", body).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn rollout(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/rollouts/{id}")).await
}

async fn until_status(app: &TestApp, id: &str, wanted: &str) -> Value {
    eventually(&format!("rollout {wanted}"), PATIENCE, async || {
        let r = rollout(app, id).await;
        (r["status"] == wanted && r["counts"]["queued"] == 0 && r["counts"]["running"] == 0)
            .then_some(r)
    })
    .await
}

fn target<'a>(r: &'a Value, stack: &str) -> &'a Value {
    r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stack_name"] == stack)
        .unwrap()
}

/// Issue 19's acceptance: 60 environments, canary 1, waves 10 % / 50 % / 100 %,
/// `max_parallel` 5, a budget of 2, three chosen targets failing in the engine.
#[actix_web::test]
async fn a_rollout_halts_after_the_second_failure_inside_the_wave_and_starts_nothing_after() {
    let app = TestApp::builder().workers(8).spawn().await;
    let envs = fleet(&app, 6, 10, json!({})).await;
    // Waves: [0] canary, [1..6) 10 %, [6..30) 50 %, [30..60) 100 %. The failing three are in
    // the third wave; the third is far enough behind the first two that it cannot be in
    // flight when they fail (at most 5 are).
    let failing = [8usize, 9, 25];
    for &i in &failing {
        let (t, e) = &envs[i];
        app.executor.script(
            &format!("{t}-{e}"),
            Script {
                fail: Some(format!("creating {t}-{e} node group: AccessDenied")),
                ..Script::default()
            },
        );
    }
    let created = create(
        &app,
        json!({
            "target": {"environments": listed(&envs)},
            "change": "redeploy",
            "strategy": {"canary": 1, "waves": ["10%", "50%", "100%"], "max_parallel": 5,
                         "failure_budget": 2, "bake_seconds": 0}
        }),
    )
    .await;
    assert_eq!(created["wave_count"], 4);
    let id = created["id"].as_str().unwrap().to_owned();
    let r = until_status(&app, &id, "halted").await;
    assert_eq!(
        r["current_wave"], 2,
        "halted inside the wave holding the failures"
    );
    let stack = |i: usize| format!("{}-{}", envs[i].0, envs[i].1);
    for i in [8, 9] {
        let t = target(&r, &stack(i));
        assert_eq!(t["status"], "failed");
        assert_eq!(
            t["error"],
            format!("creating {} node group: AccessDenied", stack(i))
        );
        assert!(r["halt_reason"].as_str().unwrap().contains(&stack(i)));
    }
    assert_eq!(r["counts"]["failed"], 2);
    let third = target(&r, &stack(25));
    assert_eq!(third["status"], "cancelled");
    assert!(third["operation_id"].is_null() || third["status"] != "running");
    for i in 30..60 {
        let t = target(&r, &stack(i));
        assert_eq!(t["status"], "cancelled", "wave 4 never started");
        assert!(t["operation_id"].is_null());
    }
    // Nothing started after the halt; never more than 5 at once.
    let halted_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(r["finished_at"].clone()).unwrap();
    let mut spans = Vec::new();
    for t in r["targets"].as_array().unwrap() {
        let Some(op) = t["operation_id"].as_str() else {
            continue;
        };
        let op = app.operation(op).await;
        if let Some(started) = &op.started_at {
            assert!(*started <= halted_at, "{} started after the halt", op.id);
            spans.push((*started, op.finished_at.unwrap()));
        }
    }
    for (start, _) in &spans {
        let overlapping = spans
            .iter()
            .filter(|(s, f)| s <= start && start < f)
            .count();
        assert!(overlapping <= 5, "{overlapping} deploys ran at once");
    }
    app.stop().await;
}

#[actix_web::test]
async fn targets_whose_patched_config_is_invalid_are_skipped_with_field_errors() {
    let app = spawn_app().await;
    let plain = fleet(&app, 1, 2, json!({})).await;
    // These two use 10.20.0.0/16 as their VPC CIDR: adding it as a secondary block overlaps
    // the primary, which a config save refuses; the others (10.0.0.0/16) take it.
    let cidrs = json!({"vpc_config": {"cidr_block": "10.20.0.0/16"}});
    app.create_tenant("zed").await;
    for env in ["e00", "e01"] {
        assert_eq!(
            app.save_config("zed", env, cidrs.clone()).await.status(),
            201
        );
    }
    let patch = json!({"vpc_config": {"secondary_cidr_blocks": ["10.20.0.0/16"]}});
    let created = create(
        &app,
        json!({
            "target": {"selector": ""},
            "change": {"patch": patch},
            "strategy": {"max_parallel": 4, "failure_budget": 1}
        }),
    )
    .await;
    assert_eq!(created["counts"]["skipped"], 2, "{created:#}");
    assert_eq!(created["counts"]["pending"], 2);
    for env in ["e00", "e01"] {
        let t = target(&created, &format!("zed-{env}"));
        assert_eq!(t["status"], "skipped");
        assert_eq!(
            t["field_errors"][0]["field"],
            "/vpc_config/secondary_cidr_blocks/0"
        );
        assert!(t["config_version"].is_null());
        let versions: Value = app
            .get_json(&format!(
                "/api/v1/tenants/zed/environments/{env}/config/versions"
            ))
            .await;
        assert_eq!(
            versions["items"].as_array().map_or(0, Vec::len),
            1,
            "no version written"
        );
    }
    for (t, e) in &plain {
        let tv = target(&created, &format!("{t}-{e}"));
        assert_eq!(tv["status"], "pending");
        assert_eq!(tv["config_version"], 2);
        let config: Value = app
            .get_json(&format!("/api/v1/tenants/{t}/environments/{e}/config"))
            .await;
        assert_eq!(config["version"], 2);
        assert_eq!(
            config["request"]["vpc_config"]["secondary_cidr_blocks"],
            json!(["10.20.0.0/16"])
        );
    }
    let id = created["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["status"], "finished");
    assert_eq!(r["counts"]["succeeded"], 2);
    app.stop().await;
}

#[actix_web::test]
async fn pause_resume_and_abort_through_the_api() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 3, json!({})).await;
    let created = create(
        &app,
        json!({
            "target": {"environments": listed(&envs)},
            "change": "redeploy",
            "strategy": {"canary": 1, "max_parallel": 1}
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    let post = async |action: &str| {
        app.request(
            Method::POST,
            &format!("/api/v1/rollouts/{id}/{action}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await
    };
    let paused: Value = post("pause").await.json().await.unwrap();
    assert_eq!(paused["status"], "paused");
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["counts"]["succeeded"], 1);
    assert_eq!(r["counts"]["pending"], 2, "a paused rollout starts nothing");
    let resumed: Value = post("resume").await.json().await.unwrap();
    assert_eq!(resumed["status"], "running");
    app.drive_rollouts().await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["counts"]["queued"], 1);
    let aborted: Value = post("abort").await.json().await.unwrap();
    assert_eq!(aborted["status"], "aborted");
    assert_eq!(aborted["counts"]["cancelled"], 2);
    let again = post("abort").await;
    assert_eq!(again.status(), 409);
    // Listed, and its events tell the story in order.
    let list: Value = app.get_json("/api/v1/rollouts").await;
    assert_eq!(list[0]["id"], id.as_str());
    let page: Value = app.get_json(&format!("/api/v1/rollouts/{id}/events")).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"rollout.created"));
    assert!(kinds.contains(&"rollout.paused") && kinds.contains(&"rollout.running"));
    assert_eq!(kinds.last(), Some(&"rollout.aborted"));
    app.stop().await;
}

#[actix_web::test]
async fn rollout_events_stream_over_sse_and_resume_from_last_event_id() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 1, json!({})).await;
    let created = create(
        &app,
        json!({"target": {"environments": listed(&envs)}, "change": "redeploy", "strategy": {}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    let sse = |last: Option<&str>| {
        let mut req = reqwest::Client::new()
            .get(format!("{}/api/v1/rollouts/{id}/events", app.base))
            .bearer_auth(ADMIN_TOKEN)
            .header("Accept", "text/event-stream");
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l);
        }
        req.send()
    };
    // The rollout has ended: the stream sends everything, then `end`, and closes.
    let all = sse(None).await.unwrap().text().await.unwrap();
    assert!(all.starts_with("retry: "));
    let ids: Vec<&str> = all.lines().filter_map(|l| l.strip_prefix("id: ")).collect();
    assert_eq!(ids.first(), Some(&"1"));
    assert!(all.contains("event: rollout.finished"));
    assert!(all.trim_end().ends_with("event: end\ndata: {}"));
    let resumed = sse(Some("2")).await.unwrap().text().await.unwrap();
    let later: Vec<&str> = resumed
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(later, ids[2..]);
    app.stop().await;
}

#[actix_web::test]
async fn a_halted_rollout_is_written_to_the_webhook_outbox() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 2, json!({})).await;
    let resp = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/byoc", "events": ["rollout.halted", "rollout.finished"]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    app.executor.script(
        &format!("{}-{}", envs[0].0, envs[0].1),
        Script {
            fail: Some("boom".into()),
            ..Script::default()
        },
    );
    let created = create(
        &app,
        json!({"target": {"environments": listed(&envs)}, "change": "redeploy",
               "strategy": {"canary": 1, "failure_budget": 1}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    assert_eq!(rollout(&app, &id).await["status"], "halted");
    use byoc::store::schema::webhook_deliveries as wd;
    use diesel::prelude::*;
    let rows: Vec<(String, String)> = wd::table
        .select((wd::event_type, wd::payload))
        .load(&mut *app.db())
        .unwrap();
    let halted: Vec<_> = rows.iter().filter(|(t, _)| t == "rollout.halted").collect();
    assert_eq!(halted.len(), 1);
    let body: Value = serde_json::from_str(&halted[0].1).unwrap();
    assert_eq!(body["data"]["rollout_id"], id.as_str());
    assert_eq!(body["data"]["failed"][0]["error"], "boom");
    assert!(!rows.iter().any(|(t, _)| t == "rollout.finished"));
    app.stop().await;
}

#[actix_web::test]
async fn a_deploy_records_the_release_and_redeploy_can_pick_stacks_not_on_it() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 2, json!({})).await;
    let (t, e) = &envs[0];
    let path = format!("/api/v1/tenants/{t}/environments/{e}");
    let resp = app.post(&format!("{path}/deploy"), json!({})).await;
    assert_eq!(resp.status(), 202);
    app.run_pending_operations().await;
    let status: Value = app.get_json(&format!("{path}/status")).await;
    let release = status["deployed_release"].as_str().unwrap().to_owned();
    assert!(release.starts_with(&format!("byoc {}+catalog.", env!("CARGO_PKG_VERSION"))));
    let created = create(
        &app,
        json!({"target": {"selector": "", "not_on_current_release": true},
               "change": "redeploy", "strategy": {}}),
    )
    .await;
    let stacks: Vec<&str> = created["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stack_name"].as_str().unwrap())
        .collect();
    assert_eq!(stacks, [format!("{}-{}", envs[1].0, envs[1].1)]);
    let id = created["id"].as_str().unwrap().to_owned();
    app.request(
        Method::POST,
        &format!("/api/v1/rollouts/{id}/abort"),
        None,
        None,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn a_viewer_cannot_start_a_rollout_and_bad_strategies_are_field_errors() {
    let app = spawn_app().await;
    fleet(&app, 1, 1, json!({})).await;
    let viewer = app.token("viewer").await;
    let body = json!({"target": {"selector": ""}, "change": "redeploy", "strategy": {}});
    let resp = app
        .request(
            Method::POST,
            "/api/v1/rollouts",
            Some(&viewer),
            Some(body.clone()),
        )
        .await;
    assert_eq!(resp.status(), 403);
    let bad = json!({"target": {"selector": "", "environments": []}, "change": "redeploy",
                     "strategy": {"max_parallel": 0, "waves": ["0%"]}});
    let resp = app.post("/api/v1/rollouts", bad).await;
    assert_eq!(resp.status(), 422);
    let bad = json!({"target": {"selector": ""}, "change": "redeploy",
                     "strategy": {"max_parallel": 0}});
    let resp = app.post("/api/v1/rollouts", bad).await;
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "/strategy/max_parallel");
    app.stop().await;
}

#[actix_web::test]
async fn a_queued_deploy_is_reused_and_a_newer_rollout_supersedes_unstarted_targets() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 2, json!({})).await;
    let (t, e) = &envs[0];
    let resp = app
        .post(
            &format!("/api/v1/tenants/{t}/environments/{e}/deploy"),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.unwrap();
    let body = json!({"target": {"environments": listed(&envs)}, "change": "redeploy",
                      "strategy": {"canary": 1, "max_parallel": 1}});
    let older = create(&app, body.clone()).await;
    let older_id = older["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    let r = rollout(&app, &older_id).await;
    assert_eq!(
        target(&r, &format!("{t}-{e}"))["operation_id"],
        queued["id"]
    );
    let history: Vec<Value> = app
        .get_json(&format!("/api/v1/tenants/{t}/environments/{e}/operations"))
        .await;
    assert_eq!(history.len(), 1, "no second deploy queued");
    // A newer rollout over both: the older one's unstarted second target is superseded.
    let newer = create(&app, body).await;
    let r = rollout(&app, &older_id).await;
    let second = target(&r, &format!("{}-{}", envs[1].0, envs[1].1));
    assert_eq!(second["status"], "superseded");
    assert!(
        second["error"]
            .as_str()
            .unwrap()
            .contains(newer["id"].as_str().unwrap())
    );
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    assert_eq!(rollout(&app, &older_id).await["status"], "finished");
    let newer = rollout(&app, newer["id"].as_str().unwrap()).await;
    assert_eq!(newer["status"], "finished");
    assert_eq!(newer["counts"]["succeeded"], 2);
    app.stop().await;
}

#[actix_web::test]
async fn a_deploy_awaiting_approval_holds_its_slot_until_approved() {
    let app = spawn_app().await;
    let envs = fleet(&app, 1, 2, json!({"approval": {"policy": "always"}})).await;
    let created = create(
        &app,
        json!({"target": {"environments": listed(&envs)}, "change": "redeploy",
               "strategy": {"max_parallel": 1}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.drive_rollouts().await;
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    let r = rollout(&app, &id).await;
    let first = &r["targets"][0];
    let op = app.operation(first["operation_id"].as_str().unwrap()).await;
    assert_eq!(op.status, "awaiting_approval");
    assert_eq!(first["status"], "queued");
    assert_eq!(r["targets"][1]["status"], "pending", "the slot is held");
    let resp = app
        .request(
            Method::POST,
            &format!("/api/v1/operations/{}/approve", op.id),
            Some(ADMIN_TOKEN),
            Some(json!({})),
        )
        .await;
    assert_eq!(resp.status(), 202);
    app.run_pending_operations().await;
    app.drive_rollouts().await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["targets"][0]["status"], "succeeded");
    assert_eq!(r["targets"][1]["status"], "queued");
    app.request(
        Method::POST,
        &format!("/api/v1/rollouts/{id}/abort"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    app.stop().await;
}
