//! The console's two reads the public API lacks: the fleet's environments, and a stored config
//! written back as a request body. Both take the viewer role, like every API read.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::spawn_app;
use crate::routes::{Action, PROD};

#[actix_web::test]
async fn the_fleet_lists_every_environment_with_a_config_or_a_stack() {
    let app = spawn_app().await;
    app.with_config(PROD).await;
    app.create_tenant("beta").await;
    assert_eq!(
        app.save_config("acme", "dev", json!({})).await.status(),
        201
    );
    assert_eq!(
        app.save_config("acme", "dev", json!({"eks_mode": "auto"}))
            .await
            .status(),
        201
    );
    let op = app.run(PROD, Action::Deploy).await;
    let viewer = app.token("viewer").await;

    let all: Value = app
        .request(
            Method::GET,
            "/console/api/environments",
            Some(&viewer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = all["items"].as_array().unwrap();
    let names: Vec<(&str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["tenant_slug"].as_str().unwrap(),
                e["environment"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("acme", "dev"), ("acme", "prod")],
        "beta has no environment"
    );
    let (dev, prod) = (&items[0], &items[1]);
    assert_eq!(dev["config_version"], 2);
    assert_eq!(dev["status"], "not_deployed");
    assert!(dev["last_operation"].is_null());
    assert_eq!(prod["status"], "succeeded");
    assert_eq!(prod["stack_name"], "acme-prod");
    assert_eq!(prod["last_operation"]["id"], op.id.as_str());
    assert_eq!(prod["last_operation"]["kind"], "update");

    let one: Value = app.get_json("/console/api/environments?tenant=beta").await;
    assert_eq!(one["items"], json!([]));
    let missing = app.get("/console/api/environments?tenant=nobody").await;
    assert_eq!(missing.status(), 404);
    let anonymous = app
        .request(Method::GET, "/console/api/environments", None, None)
        .await;
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[actix_web::test]
async fn a_stored_config_comes_back_as_a_request_that_saves_the_same_config() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let path = "/console/api/tenants/acme/environments/prod/config-request";

    let starter: Value = app.get_json(path).await;
    assert!(starter["version"].is_null());
    assert_eq!(starter["request"]["eks_mode"], "managed");
    assert!(starter["request"]["node_group_config"]["desired_size"].is_u64());

    let body =
        json!({"eks_mode": "managed", "node_group_config": {"desired_size": 3, "max_size": 6}});
    let first: Value = app
        .save_config("acme", "prod", body)
        .await
        .json()
        .await
        .unwrap();
    let written: Value = app.get_json(path).await;
    assert_eq!(written["version"], 1);
    // Saving the request back gives a new version with exactly the same resolved config.
    let second: Value = app
        .save_config("acme", "prod", written["request"].clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["version"], 2);
    assert_eq!(second["config"], first["config"]);
    let v1: Value = app.get_json(&format!("{path}?version=1")).await;
    assert_eq!(v1["request"], written["request"]);
    let gone = app.get(&format!("{path}?version=9")).await;
    assert_eq!(gone.status(), 404);
    app.stop().await;
}
