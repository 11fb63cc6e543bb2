//! Before a deployment is created: the tenant-role pre-flight, and the note that lets a later
//! attempt adopt the deployment of an attempt that died before recording its id, instead of
//! creating a second one.

use byoc::domain::{OperationKind, RoleArn};
use byoc::executor::{
    DEPLOYMENT_ADOPTED_EVENT, DeploymentsExecutor, EventSink, Executor as _, Outcome, SinkMessage,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::double::{Double, Scenario};
use super::moto::MotoServer;
use super::{ACME, config, double, executor, job, platform, run};

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);
const EXTERNAL_ID: &str = "ext-7f3c9a1e-acme-secret-value";
const MARKER: &str = "byoc-creating-after-version:";

/// moto with the customer role from our template, IAM authorization on, and an executor whose
/// pre-flight signs as the platform's worker user. (A *missing* role cannot be tested here:
/// moto 5 grants AssumeRole on any role ARN the caller's policy allows, existing or not; AWS
/// answers AccessDenied.)
async fn with_real_role(double: &Double) -> Option<(DeploymentsExecutor, RoleArn, MotoServer)> {
    let moto = MotoServer::start().await?;
    let setup = moto
        .cfn_script("setup", &[TEMPLATE, "byoc-platform-role", EXTERNAL_ID])
        .await;
    moto.enable_iam_auth().await;
    let s = |v: &Value| v.as_str().expect("a string").to_owned();
    let aws = platform(
        &moto,
        &s(&setup["worker"]["key"]),
        &s(&setup["worker"]["secret"]),
    )
    .await;
    let exec = DeploymentsExecutor::new(config(double), aws).expect("executor");
    Some((exec, RoleArn::parse(&s(&setup["role_arn"])).unwrap(), moto))
}

#[actix_web::test]
async fn a_wrong_external_id_fails_the_preflight_and_creates_nothing() {
    let double = double(Scenario::default());
    let Some((exec, role, _moto)) = with_real_role(&double).await else {
        return;
    };
    let mut bad = job(&ACME, OperationKind::Update);
    bad.role_arn = role.clone();
    bad.external_id = "ext-wrong-00000000000".to_owned().into();
    let (outcome, sent) = run(&exec, bad).await;
    let Outcome::Failed {
        message, retryable, ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    // The local executor's words (tests/local_executor/failures.rs).
    assert!(
        message.starts_with("pre-flight check of the tenant role failed"),
        "{message}"
    );
    assert!(message.contains("trust policy"), "{message}");
    assert!(message.contains("external ID"), "{message}");
    assert!(
        !message.contains("ext-wrong"),
        "never echoes the external ID"
    );
    assert!(!retryable);
    assert!(double.requests().is_empty(), "no request to Pulumi Cloud");
    assert!(double.deployments().is_empty());
    assert!(sent.external_refs.is_empty());

    // The right external ID passes the same pre-flight and deploys.
    let mut good = job(&ACME, OperationKind::Update);
    good.role_arn = role;
    let (outcome, _) = run(&exec, good).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(double.deployments().len(), 1);
    double.stop().await;
}

#[actix_web::test]
async fn the_creating_note_names_the_stacks_newest_deployment_and_is_stored_before_the_create() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    // Two earlier deployments of the stack (earlier operations).
    double.seed_deployment("update");
    double.seed_deployment("refresh");
    let (outcome, sent) = run(&exec, job(&ACME, OperationKind::Update)).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(sent.external_refs, [format!("{MARKER}2"), "dep-3".into()]);
    assert_eq!(sent.flushes, 1);
    // The newest version was read from the first page of one, before the create.
    let requests = double.requests();
    let list = requests
        .iter()
        .position(|r| r.method == "GET" && r.path.ends_with("/acme-prod/deployments"))
        .expect("a list request");
    let create = requests
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/acme-prod/deployments"))
        .expect("a create");
    assert!(list < create);
    assert_eq!(requests[list].query, "page=1&pageSize=1");
    double.stop().await;
}

#[actix_web::test]
async fn a_note_that_cannot_be_stored_stops_before_the_create() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    let (sink, mut rx) = EventSink::channel(64);
    // A worker that lost its lease: every flush is answered "not stored".
    let drain = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let SinkMessage::Flush(done) = msg {
                let _ = done.send(false);
            }
        }
    });
    let outcome = exec
        .run(
            job(&ACME, OperationKind::Update),
            sink,
            CancellationToken::new(),
        )
        .await;
    drain.await.unwrap();
    let Outcome::Failed { message, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(message.contains("none was created"), "{message}");
    assert!(double.deployments().is_empty());
    assert!(double.requests_to("POST", "/deployments").is_empty());
    double.stop().await;
}

#[actix_web::test]
async fn a_deployment_created_after_the_note_is_adopted_and_followed_to_its_end() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    // An earlier operation's deployment, then the one the dead attempt created after its note.
    double.seed_deployment("update");
    let orphan = double.seed_deployment("update");
    let mut resumed = job(&ACME, OperationKind::Update);
    resumed.attempt = 2;
    resumed.external_ref = Some(format!("{MARKER}1"));
    let (outcome, sent) = run(&exec, resumed).await;
    let Outcome::Succeeded { summary, outputs } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(summary.get("create"), Some(&1), "the adopted run's result");
    assert!(outputs.is_some());
    assert!(
        double.requests_to("POST", "/deployments").is_empty(),
        "no second deployment"
    );
    assert_eq!(double.deployments().len(), 2);
    assert_eq!(sent.external_refs, [orphan.as_str()]);
    let adopted = sent
        .events
        .iter()
        .find(|e| e.kind == DEPLOYMENT_ADOPTED_EVENT)
        .expect("an adoption note");
    assert_eq!(adopted.payload["deployment"], orphan.as_str());
    assert!(
        !double
            .requests_to("GET", &format!("/deployments/{orphan}"))
            .is_empty()
    );
    // Its engine events are all forwarded: the dead attempt stored none of them.
    assert!(sent.events.iter().any(|e| e.kind == "summaryEvent"));
    double.stop().await;
}

#[actix_web::test]
async fn without_a_deployment_after_the_note_one_is_created_and_another_operations_is_left_alone() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    double.seed_deployment("update");
    // After the note, but a refresh: not this update's (someone else's, e.g. the console).
    double.seed_deployment("refresh");
    let mut resumed = job(&ACME, OperationKind::Update);
    resumed.attempt = 2;
    resumed.external_ref = Some(format!("{MARKER}1"));
    let (outcome, sent) = run(&exec, resumed).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(double.requests_to("POST", "/deployments").len(), 1);
    // The note still holds: it is not written again.
    assert_eq!(sent.external_refs, ["dep-3"]);
    assert_eq!(sent.flushes, 0);
    assert!(
        !sent
            .events
            .iter()
            .any(|e| e.kind == DEPLOYMENT_ADOPTED_EVENT)
    );
    double.stop().await;
}

#[actix_web::test]
async fn the_lookup_pages_through_a_long_history() {
    let double = double(Scenario::default());
    let Some(exec) = executor(&double).await else {
        return;
    };
    for _ in 0..150 {
        double.seed_deployment("update");
    }
    // The note was taken when the stack had 3 deployments; 147 came after it (only the first
    // is ours in real life; the oldest one after the note is the one adopted).
    let mut resumed = job(&ACME, OperationKind::Update);
    resumed.attempt = 2;
    resumed.external_ref = Some(format!("{MARKER}3"));
    let (outcome, sent) = run(&exec, resumed).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(sent.external_refs, ["dep-4"]);
    let pages: Vec<String> = double
        .requests_to("GET", "/acme-prod/deployments")
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert_eq!(pages, ["page=1&pageSize=100", "page=2&pageSize=100"]);
    assert!(double.requests_to("POST", "/deployments").is_empty());
    double.stop().await;
}
