//! Versioned environment configs.

use byoc::domain::StackStatus;
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, spawn_app};
use crate::routes::Problem;

const SPEC_MINIMAL: &str = r#"{"eks_mode":"managed","node_group_config":{"desired_size":2}}"#;

#[actix_web::test]
async fn the_spec_minimal_body_saves_as_version_1_with_defaults_filled() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let resp = app
        .save_config("acme", "prod", serde_json::from_str(SPEC_MINIMAL).unwrap())
        .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["stack_name"], "acme-prod");
    assert_eq!(
        location,
        "/api/v1/tenants/acme/environments/prod/config?version=1"
    );
    let cfg = &body["config"];
    assert_eq!(cfg["eks"]["mode"], "managed");
    let groups = cfg["eks"]["node_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["scaling"]["desired_size"], 2);
    assert_eq!(groups[0]["instance_types"], json!(["t3.medium"]));
    assert_eq!(cfg["vpc"]["cidr_block"], "10.0.0.0/16");
    assert!(!cfg["vpc"]["private_subnets"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn every_save_is_a_new_version_and_old_ones_stay_readable() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let v1 = app
        .save_config("acme", "prod", json!({"vpc_cidr": "10.1.0.0/16"}))
        .await;
    assert_eq!(v1.status(), 201);
    let v2 = app
        .save_config("acme", "prod", json!({"vpc_cidr": "10.2.0.0/16"}))
        .await;
    let v2: Value = v2.json().await.unwrap();
    assert_eq!(v2["version"], 2);

    let latest: Value = app
        .get("/api/v1/tenants/acme/environments/prod/config")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["config"]["vpc"]["cidr_block"], "10.2.0.0/16");
    let old: Value = app
        .get("/api/v1/tenants/acme/environments/prod/config?version=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["version"], 1);
    assert_eq!(old["config"]["vpc"]["cidr_block"], "10.1.0.0/16");
    let missing = app
        .get("/api/v1/tenants/acme/environments/prod/config?version=3")
        .await;
    assert_eq!(missing.status(), 404);
    // Environments version independently.
    let staging: Value = app
        .save_config("acme", "staging", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staging["version"], 1);
    app.stop().await;
}

/// Saves of one environment at the same moment (several API replicas on PostgreSQL, or one
/// server's request threads) each get a version of their own: none is lost, none is a 500.
#[actix_web::test]
async fn concurrent_saves_of_one_environment_each_get_a_distinct_version() {
    const SAVES: usize = 16;
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let saves = (0..SAVES).map(|i| {
        app.save_config(
            "acme",
            "prod",
            json!({"vpc_cidr": format!("10.{i}.0.0/16")}),
        )
    });
    let mut versions = Vec::new();
    for resp in futures_util::future::join_all(saves).await {
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        versions.push(body["version"].as_i64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=SAVES as i64).collect::<Vec<_>>());
    let listed: Value = app
        .get("/api/v1/tenants/acme/environments/prod/config/versions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), SAVES);
    app.stop().await;
}

#[actix_web::test]
async fn invalid_configs_are_422_listing_every_field() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let resp = app
        .save_config(
            "acme",
            "prod",
            json!({
                "vpc_config": {"cidr_block": "10.0.0.0/8", "nat_gateway_strategy": "single"},
                "eks_config": {"mode": "auto", "node_groups": [{"name": "general"}]}
            }),
        )
        .await;
    let problem = Problem::of(resp, 422).await;
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("/vpc_config/cidr_block")),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("/eks_config/node_groups")),
        "{fields:?}"
    );

    let unknown = app
        .save_config("acme", "prod", json!({"vpc_cidrr": "10.0.0.0/16"}))
        .await;
    assert_eq!(unknown.status(), 422);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "/vpc_cidrr");

    let wrong_type = app
        .save_config(
            "acme",
            "prod",
            json!({"node_group_config": {"desired_size": "two"}}),
        )
        .await;
    assert_eq!(wrong_type.status(), 422);
    let body: Value = wrong_type.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["field"],
        "/node_group_config/desired_size"
    );

    // Nothing was saved by the failures.
    let none = app
        .get("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(none.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn unknown_tenant_bad_env_and_malformed_json_are_reported() {
    let app = spawn_app().await;
    let no_tenant = app.save_config("nobody", "prod", json!({})).await;
    let problem = Problem::of(no_tenant, 404).await;
    assert!(problem.detail.contains("tenant 'nobody'"), "{problem:?}");

    app.create_tenant("acme").await;
    let bad_env = app.save_config("acme", "Prod_1", json!({})).await;
    assert_eq!(Problem::of(bad_env, 422).await.errors[0].field, "env");

    let malformed = app
        .client
        .post(format!(
            "{}/api/v1/tenants/acme/environments/prod/config",
            app.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"eks_mode\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let missing_env = app
        .get("/api/v1/tenants/acme/environments/dev/config")
        .await;
    let problem = Problem::of(missing_env, 404).await;
    assert!(problem.detail.contains("acme/dev"), "{problem:?}");
    app.stop().await;
}

#[actix_web::test]
async fn delete_config_is_refused_while_its_stack_is_not_destroyed() {
    let app = spawn_app().await;
    let tenant_id = app.create_tenant("acme").await.tenant.id;
    assert_eq!(
        app.save_config("acme", "prod", json!({})).await.status(),
        201
    );
    app.force_stack_status(&tenant_id, "prod", StackStatus::Failed);
    let refused = app
        .delete("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(refused.status(), 409);

    app.force_stack_status(&tenant_id, "prod", StackStatus::Destroyed);
    let ok = app
        .delete("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(ok.status(), 204);
    let gone = app
        .get("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(gone.status(), 404);
    let again = app
        .delete("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(again.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn deleting_a_tenant_removes_its_configs() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    assert_eq!(
        app.save_config("acme", "prod", json!({})).await.status(),
        201
    );
    assert_eq!(app.delete("/api/v1/tenants/acme").await.status(), 204);
    app.create_tenant("acme").await;
    let fresh = app
        .get("/api/v1/tenants/acme/environments/prod/config")
        .await;
    assert_eq!(fresh.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn warnings_reach_the_caller_with_the_saved_config_and_stay_with_it() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let body = json!({"components": {"ingress": {"controller": "ingress-nginx"}}});
    let resp = app.save_config("acme", "prod", body).await;
    assert_eq!(resp.status(), 201);
    let saved: Value = resp.json().await.unwrap();
    let warnings = saved["config"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["field"], "/components/ingress/controller");
    let read: Value = app
        .get("/api/v1/tenants/acme/environments/prod/config")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["config"]["warnings"], saved["config"]["warnings"]);
    app.stop().await;
}

#[actix_web::test]
async fn a_pulumi_builtin_key_in_helm_values_is_422_naming_its_path() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    // Issue 13's report: with the real CLI this read the workspace's AWS config.
    let body =
        json!({"components": {"cert_manager": {"values": {"x": {"fn::readFile": "aws-config"}}}}});
    let resp = app.save_config("acme", "prod", body).await;
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        ["/components/cert_manager/values/x/fn::readFile"],
        "{problem}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn type_errors_and_semantic_errors_are_reported_together() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let resp = app
        .save_config(
            "acme",
            "prod",
            json!({
                "vpc_cidr": "10.1.0.0/33",
                "eks_mode": "fargate",
                "node_group_config": {"desired_size": "two", "disk_size": -1},
                "tagz": {}
            }),
        )
        .await;
    let problem = Problem::of(resp, 422).await;
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    for expected in [
        "/eks_mode",
        "/node_group_config/desired_size",
        "/node_group_config/disk_size",
        "/tagz",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    // The semantic check of the field that did parse is there too.
    assert!(
        fields.iter().any(|f| f.starts_with("/vpc_cidr")),
        "{fields:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_request_document_read_back_posts_back_to_an_identical_version() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let example = byoc::api::config_request_example();
    let saved = app.save_config("acme", "prod", example.clone()).await;
    assert_eq!(saved.status(), 201, "the documented example is valid");
    let v1: Value = app
        .get_json("/api/v1/tenants/acme/environments/prod/config")
        .await;
    // What was posted, and the resolved view beside it.
    assert_eq!(v1["request"], example);
    assert_eq!(v1["config"]["vpc"]["cidr_block"], "10.20.0.0/16");
    assert!(v1["created_by"].is_string(), "{v1}");

    let again = app.save_config("acme", "prod", v1["request"].clone()).await;
    assert_eq!(again.status(), 201);
    let v2: Value = app
        .get_json("/api/v1/tenants/acme/environments/prod/config/versions/2")
        .await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["request"], v1["request"]);
    assert_eq!(v2["config"], v1["config"]);

    let list: Value = app
        .get_json("/api/v1/tenants/acme/environments/prod/config/versions")
        .await;
    let versions: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1]);
    assert_eq!(list["items"][0]["created_by"], v1["created_by"]);

    let missing = app
        .get("/api/v1/tenants/acme/environments/prod/config/versions/9")
        .await;
    assert_eq!(missing.status(), 404);
    let bad = app
        .get("/api/v1/tenants/acme/environments/prod/config/versions/zero")
        .await;
    Problem::of(bad, 422).await;
    app.stop().await;
}

#[test]
fn the_readme_shows_the_documented_request_example() {
    let readme = include_str!("../../README.md");
    let marker = "<!-- config-request-example";
    let after = &readme[readme.find(marker).expect("the README marks its example")..];
    let start = after.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + after[start..].find("```").expect("the block ends");
    let shown: Value = serde_json::from_str(&after[start..end]).expect("valid JSON");
    assert_eq!(shown, byoc::api::config_request_example());
}

/// GET config answers from a per-version cache (issue 16, `api::ConfigCache`): a new version,
/// and a config deleted and saved again (its version 1 comes back with another content),
/// must be what the next read answers, never a remembered body.
#[actix_web::test]
async fn a_remembered_config_answer_gives_way_to_a_new_version_and_to_a_config_saved_again() {
    let app = spawn_app().await;
    let tenant_id = app.create_tenant("acme").await.tenant.id;
    let latest = "/api/v1/tenants/acme/environments/prod/config";
    let v1 = "/api/v1/tenants/acme/environments/prod/config?version=1";
    let cidr = |v: &Value| {
        v["config"]["vpc"]["cidr_block"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    app.save_config("acme", "prod", json!({"vpc_cidr": "10.1.0.0/16"}))
        .await;
    for _ in 0..2 {
        let body: Value = app.get_json(latest).await;
        assert_eq!(
            (body["version"].clone(), cidr(&body)),
            (json!(1), "10.1.0.0/16".into())
        );
    }
    let _: Value = app.get_json(v1).await;

    app.save_config("acme", "prod", json!({"vpc_cidr": "10.2.0.0/16"}))
        .await;
    let body: Value = app.get_json(latest).await;
    assert_eq!(
        (body["version"].clone(), cidr(&body)),
        (json!(2), "10.2.0.0/16".into())
    );
    assert_eq!(cidr(&app.get_json(v1).await), "10.1.0.0/16");

    app.force_stack_status(&tenant_id, "prod", StackStatus::Destroyed);
    let deleted = app.delete(latest).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(latest).await.status(), 404);
    assert_eq!(app.get(v1).await.status(), 404);
    app.save_config("acme", "prod", json!({"vpc_cidr": "10.3.0.0/16"}))
        .await;
    for path in [latest, v1] {
        let body: Value = app.get_json(path).await;
        assert_eq!(
            (body["version"].clone(), cidr(&body)),
            (json!(1), "10.3.0.0/16".into())
        );
    }
    app.stop().await;
}
