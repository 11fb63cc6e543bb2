//! Change control end to end (issue 18): HTTP API → queue → worker → local executor → the
//! pulumi stand-in's `preview --save-plan` / `up --plan` (tests/support/pulumi_standin/plans.py,
//! which follows pulumi/pulumi's plan checks), with moto as the tenant's account.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::harness::{Aws, Pulumi, onboard};
use crate::local::local_app;
use crate::routes::{Action, Operation, PROD, Problem};

fn argvs(pulumi: &Pulumi) -> Vec<Vec<String>> {
    pulumi
        .invocations()
        .iter()
        .map(|i| serde_json::from_value(i["argv"].clone()).unwrap())
        .collect()
}

/// The engine commands run so far (`preview`, `up`, …), with the plan flag if any.
fn engine_runs(pulumi: &Pulumi) -> Vec<String> {
    argvs(pulumi)
        .iter()
        .filter(|a| {
            matches!(
                a.get(1).map(String::as_str),
                Some("preview" | "up" | "refresh" | "destroy")
            )
        })
        .map(|a| {
            let plan = a
                .iter()
                .find(|x| x.starts_with("--save-plan=") || x.starts_with("--plan="))
                .map(|x| x.split('=').next().unwrap().to_owned());
            match plan {
                Some(flag) => format!("{} {flag}", a[1]),
                None => a[1].clone(),
            }
        })
        .collect()
}

async fn plan(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/operations/{id}/plan")).await
}

async fn approve(app: &TestApp, id: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/operations/{id}/approve"), json!({}))
        .await
}

/// URNs the applied update (non-planning steps) touched with a change.
async fn applied_urns(app: &TestApp, id: &str) -> Vec<String> {
    let mut urns: Vec<String> = app
        .events(id)
        .await
        .into_iter()
        .filter(|e| e.kind == "resOutputsEvent")
        .filter_map(|e| {
            let body = &e.payload["resOutputsEvent"];
            let m = &body["metadata"];
            let changed = !matches!(m["op"].as_str(), Some("same"));
            let stack = m["type"] == "pulumi:pulumi:Stack";
            (body["planning"] != true && changed && !stack)
                .then(|| m["urn"].as_str().unwrap().to_owned())
        })
        .collect();
    urns.sort();
    urns
}

fn planned_urns(plan: &Value) -> Vec<String> {
    let mut urns: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["urn"].as_str().unwrap().to_owned())
        .collect();
    urns.sort();
    urns
}

#[actix_web::test]
async fn an_approved_deploy_applies_the_planned_update_and_a_changed_config_makes_approval_a_409() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    onboard(&app, json!({"approval": {"policy": "always"}})).await;

    let op = app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    let waiting = app.operation(&op.id).await;
    assert_eq!(waiting.status, "awaiting_approval", "{waiting:?}");
    assert_eq!(engine_runs(&pulumi), ["preview --save-plan"]);
    let p = plan(&app, &op.id).await;
    let planned = planned_urns(&p);
    assert!(planned.len() > 10, "{p}");
    assert!(
        p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["op"] == "create")
    );
    if !app.on_postgres() {
        // The plan file (DeploymentPlanV1) is stored sealed.
        assert_eq!(app.data_files_contain(b"resourcePlans"), None);
    }

    assert_eq!(approve(&app, &op.id).await.status(), 202);
    app.run_pending_operations().await;
    let done = app.operation(&op.id).await;
    assert_eq!(done.status, "succeeded", "{done:?}");
    assert_eq!(engine_runs(&pulumi), ["preview --save-plan", "up --plan"]);
    assert_eq!(
        applied_urns(&app, &op.id).await,
        planned,
        "the applied update is the planned one"
    );
    let history: Value = app
        .get_json("/api/v1/tenants/acme/environments/prod/status")
        .await;
    assert_eq!(history["status"], "succeeded");

    // A config saved after the preview: the approval is refused and nothing runs.
    let policy = json!({"approval": {"policy": "always"}, "tags": {"team": "a"}});
    assert_eq!(app.save_config("acme", "prod", policy).await.status(), 201);
    let op = app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    assert_eq!(app.operation(&op.id).await.status, "awaiting_approval");
    let newer = json!({"approval": {"policy": "always"}, "tags": {"team": "b"}});
    assert_eq!(app.save_config("acme", "prod", newer).await.status(), 201);
    let runs = engine_runs(&pulumi).len();
    let problem = Problem::of(approve(&app, &op.id).await, 409).await;
    assert_eq!(problem.kind, "/problems/config-changed");
    assert_eq!(app.run_pending_operations().await, 0);
    assert_eq!(engine_runs(&pulumi).len(), runs, "nothing ran");
    assert_eq!(app.operation(&op.id).await.status, "cancelled");
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn on_destructive_lets_a_tag_change_through_and_holds_a_vpc_cidr_change() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    let policy = json!({"policy": "on_destructive"});
    onboard(&app, json!({"approval": policy})).await;

    // The first deploy only creates: nothing destructive, it applies its plan at once.
    let first = app.run(PROD, Action::Deploy).await;
    let first = app.operation(&first.id).await;
    assert_eq!(first.status, "succeeded", "{first:?}");
    assert_eq!(plan(&app, &first.id).await["decision"], "auto");

    // Global tags go to the AWS provider's `defaultTags` (an unprotected provider update); the
    // VPC's own tags change the VPC, a protected type, but only its tags.
    let vpc_tags = json!({"cost-center": "42"});
    let tags = json!({"approval": policy, "tags": {"team": "a"}, "vpc_config": {"tags": vpc_tags}});
    assert_eq!(app.save_config("acme", "prod", tags).await.status(), 201);
    let tagged = app.run(PROD, Action::Deploy).await;
    let tagged = app.operation(&tagged.id).await;
    assert_eq!(
        tagged.status, "succeeded",
        "a tag-only change is not held: {tagged:?}"
    );
    let p = plan(&app, &tagged.id).await;
    assert_eq!(p["decision"], "auto");
    let vpc = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "aws:ec2/vpc:Vpc")
        .unwrap_or_else(|| panic!("the VPC's tags change: {p}"));
    assert_eq!(vpc["paths"], json!(["tags"]), "{p}");

    let cidr = json!({"approval": policy, "tags": {"team": "a"},
                      "vpc_config": {"tags": vpc_tags, "cidr_block": "10.1.0.0/16"}});
    assert_eq!(app.save_config("acme", "prod", cidr).await.status(), 201);
    let held = app.run(PROD, Action::Deploy).await;
    let held = app.operation(&held.id).await;
    assert_eq!(held.status, "awaiting_approval", "{held:?}");
    let p = plan(&app, &held.id).await;
    let reason = p["hold_reason"].as_str().unwrap();
    assert!(reason.contains("cidrBlock"), "{reason}");
    let ups = engine_runs(&pulumi)
        .iter()
        .filter(|r| r.starts_with("up"))
        .count();
    assert_eq!(ups, 2, "the held deploy applied nothing");

    let resp = app
        .post(&format!("/api/v1/operations/{}/reject", held.id), json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.status(PROD).await.status, "succeeded");
    app.stop().await;
}

#[actix_web::test]
async fn a_plan_the_program_no_longer_matches_fails_the_update_with_the_engines_message() {
    let Some(aws) = Aws::start().await else {
        return;
    };
    let pulumi = Pulumi::new();
    let app = local_app(&aws, &pulumi, 0).await;
    onboard(&app, json!({"approval": {"policy": "always"}})).await;
    let op = app.start(PROD, Action::Deploy).await;
    app.run_pending_operations().await;
    assert_eq!(app.operation(&op.id).await.status, "awaiting_approval");

    // The program moves on without a new config version (as a byoc upgrade rendering a
    // different program would): the stored version itself gets other tags.
    {
        use byoc::store::schema::environment_configs::dsl as ec;
        let mut conn = app.db();
        let stored: String = ec::environment_configs
            .filter(ec::version.eq(1))
            .select(ec::config)
            .first(&mut *conn)
            .unwrap();
        let mut config: Value = serde_json::from_str(&stored).unwrap();
        config["tags"] = json!({"moved": "on"});
        diesel::update(ec::environment_configs.filter(ec::version.eq(1)))
            .set(ec::config.eq(config.to_string()))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(approve(&app, &op.id).await.status(), 202);
    app.run_pending_operations().await;
    let failed: Operation = app.operation(&op.id).await;
    assert_eq!(failed.status, "failed", "{failed:?}");
    // The engine's own text (pkg/resource/deploy/plan.go checkGoal).
    assert!(
        failed.error().contains("violates plan: properties changed"),
        "{failed:?}"
    );
    assert_eq!(app.status(PROD).await.status, "failed");

    // The stack stays consistent: no lock left, and the next deploy (no policy) completes.
    let never = json!({"approval": {"policy": "never"}});
    assert_eq!(app.save_config("acme", "prod", never).await.status(), 201);
    let next = app.run(PROD, Action::Deploy).await;
    assert_eq!(next.status, "succeeded", "{next:?}");
    assert!(next.changed("create") > 0, "{next:?}");
    app.stop().await;
}
