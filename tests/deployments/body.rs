//! What the executor sends: headers, the create-deployment body, and the rule that no tenant
//! value or secret is ever command text or a plain variable.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use byoc::domain::OperationKind;
use byoc::domain::config::EksMode;
use byoc::executor::{
    AWS_CONFIG_VAR, DEPLOYMENTS_ACCEPT, EXTERNAL_ID_VAR, Outcome, PRE_RUN_COMMANDS, PROGRAM_VAR,
    STACK_VAR,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::double::{Scenario, TOKEN};
use super::program_support::render_named;
use super::{ACME, OIDC_ROLE, Tenant, config, double, executor, executor_with, job, run};

const GLOBEX: Tenant = Tenant {
    slug: "globex",
    env: "staging",
    account: "210987654321",
    external_id: "ext-4b1d0c77-globex-secret-value",
    mode: EksMode::Managed,
};

/// The create-deployment body the double recorded (exactly one).
fn create_body(double: &super::double::Double) -> Value {
    let creates = double.requests_to("POST", "/deployments");
    assert_eq!(creates.len(), 1, "exactly one deployment is created");
    creates[0].body.clone().expect("create body")
}

fn tenant_values(t: &Tenant) -> Vec<String> {
    vec![
        t.slug.into(),
        t.env.into(),
        t.account.into(),
        t.external_id.into(),
        format!("{}-{}", t.slug, t.env),
    ]
}

#[actix_web::test]
async fn every_request_carries_the_token_and_documented_headers() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let requests = double.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("token {TOKEN}").as_str()),
            "{}",
            r.path
        );
        assert_eq!(r.header("accept"), Some(DEPLOYMENTS_ACCEPT));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("x-pulumi-deployment-initiator").is_some());
    }
    let stack_create = double.requests_to("POST", "/api/stacks/acme-org/byoc-platform");
    assert_eq!(stack_create.len(), 1);
    assert_eq!(
        stack_create[0].body,
        Some(json!({"stackName": "acme-prod"}))
    );
    double.stop().await;
}

#[actix_web::test]
async fn create_body_runs_without_inherited_settings_and_with_oidc() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    run(&exec, job(&ACME, OperationKind::Update)).await;
    let create = double.requests_to("POST", "/deployments");
    assert_eq!(
        create[0].path,
        "/api/stacks/acme-org/byoc-platform/acme-prod/deployments"
    );
    let body = create_body(&double);
    assert_eq!(body["operation"], "update");
    assert_eq!(body["inheritSettings"], false);
    assert!(body["sourceContext"]["template"]["sourceUrl"].is_string());
    let ctx = &body["operationContext"];
    assert_eq!(ctx["oidc"]["aws"]["roleArn"], OIDC_ROLE);
    assert!(ctx["oidc"]["aws"]["sessionName"].is_string());
    assert_eq!(ctx["preRunCommands"], json!(PRE_RUN_COMMANDS));
    let env = &ctx["environmentVariables"];
    for var in [PROGRAM_VAR, AWS_CONFIG_VAR, EXTERNAL_ID_VAR, STACK_VAR] {
        assert!(
            env[var]["secret"].is_string(),
            "{var} must be a secret variable"
        );
    }
    assert_eq!(env[EXTERNAL_ID_VAR]["secret"], ACME.external_id);
    assert_eq!(env[STACK_VAR]["secret"], "acme-org/byoc-platform/acme-prod");
    assert!(
        env.get("AWS_ACCESS_KEY_ID").is_none(),
        "no static keys with OIDC"
    );
    double.stop().await;
}

#[actix_web::test]
async fn the_program_and_profile_reach_the_runner_unchanged() {
    let double = double(Scenario::default());
    let job = job(&ACME, OperationKind::Update);
    let expected = render_named("acme", "prod", &job.config);
    let Some(exec) = executor(&double).await else {
        return;
    };
    run(&exec, job).await;
    let env = &create_body(&double)["operationContext"]["environmentVariables"];
    let decode = |var: &str| {
        String::from_utf8(
            STANDARD
                .decode(env[var]["secret"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(decode(PROGRAM_VAR), expected.yaml());
    let profile = decode(AWS_CONFIG_VAR);
    assert!(profile.contains("[profile byoc-tenant]"), "{profile}");
    assert!(profile.contains(&format!("external_id = {}", ACME.external_id)));
    assert!(profile.contains("role_arn = arn:aws:iam::123456789012:role/BYOCPlatformRole"));
    assert!(profile.contains("credential_source = Environment"));
    double.stop().await;
}

#[actix_web::test]
async fn pre_run_commands_are_identical_across_tenants_and_hold_no_tenant_value() {
    let mut bodies = Vec::new();
    for tenant in [&ACME, &GLOBEX] {
        let double = double(Scenario::default());
        let mut cfg = config(&double);
        cfg.static_keys = None;
        let Some(exec) = executor_with(cfg).await else {
            return;
        };
        run(&exec, job(tenant, OperationKind::Update)).await;
        bodies.push(create_body(&double));
        double.stop().await;
    }
    let commands = |b: &Value| b["operationContext"]["preRunCommands"].to_string();
    assert_eq!(
        commands(&bodies[0]),
        commands(&bodies[1]),
        "byte-identical for every tenant"
    );
    let values: Vec<String> = [&ACME, &GLOBEX]
        .iter()
        .flat_map(|t| tenant_values(t))
        .collect();
    for body in &bodies {
        let cmds = commands(body);
        let plain: Vec<String> = body["operationContext"]["environmentVariables"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for value in values.iter().chain([&TOKEN.to_owned()]) {
            assert!(
                !cmds.contains(value.as_str()),
                "pre-run commands contain {value}"
            );
            for p in &plain {
                assert!(
                    !p.contains(value.as_str()),
                    "plain variable {p} contains {value}"
                );
            }
        }
        // Nothing secret or tenant-specific sits anywhere outside a {"secret": …} value.
        let mut stripped = body.clone();
        for var in body["operationContext"]["environmentVariables"]
            .as_object()
            .unwrap()
            .keys()
        {
            if body["operationContext"]["environmentVariables"][var]
                .get("secret")
                .is_some()
            {
                stripped["operationContext"]["environmentVariables"][var] = json!("<secret>");
            }
        }
        let text = stripped.to_string();
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "{value} outside a secret: {text}"
            );
        }
    }
}

#[actix_web::test]
async fn static_keys_travel_only_as_secret_variables() {
    let double = double(Scenario::default());
    let mut cfg = config(&double);
    cfg.oidc_role_arn = None;
    cfg.static_keys = Some((
        SecretString::from("AKIAEXAMPLEKEYID0001"),
        SecretString::from("static-secret-access-key-value"),
    ));
    let Some(exec) = executor_with(cfg).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let body = create_body(&double);
    let env = &body["operationContext"]["environmentVariables"];
    assert_eq!(
        env["AWS_ACCESS_KEY_ID"],
        json!({"secret": "AKIAEXAMPLEKEYID0001"})
    );
    assert_eq!(
        env["AWS_SECRET_ACCESS_KEY"],
        json!({"secret": "static-secret-access-key-value"})
    );
    assert!(body["operationContext"].get("oidc").is_none());
    double.stop().await;
}

#[actix_web::test]
async fn a_runner_without_credentials_is_refused_before_any_request() {
    let double = double(Scenario::default());
    let mut cfg = config(&double);
    cfg.oidc_role_arn = None;
    let Some(exec) = executor_with(cfg).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    match outcome {
        Outcome::Failed {
            message, retryable, ..
        } => {
            assert!(
                message.contains("BYOC_DEPLOYMENTS_OIDC_ROLE_ARN"),
                "{message}"
            );
            assert!(!retryable);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(double.requests().is_empty());
    double.stop().await;
}

#[actix_web::test]
async fn an_existing_stack_is_fine() {
    let double = double(Scenario {
        stack_exists: true,
        ..Scenario::default()
    });
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (outcome, _) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(double.deployments().len(), 1);
    double.stop().await;
}
