//! Verification and pre-flight succeed with the right external ID, and send exactly what moto
//! recorded; rotation takes effect only once the tenant's stack carries the new ID.

use byoc::cloud::{RoleCheckError, SessionName, preflight_role, verify_role};

use super::{FIRST_EXTERNAL_ID, MOTO_ACCOUNT, OnboardedTenant, slug};

#[tokio::test]
async fn our_template_creates_the_role_through_moto_cloudformation() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let role = &t.created_role;
    assert_eq!(role["max_session_duration"], 14_400);
    let managed = byoc::cloud::onboarding::TEMPLATE
        .matches("Type: AWS::IAM::ManagedPolicy")
        .count();
    assert!(managed >= 4, "the template's managed policies: {managed}");
    assert_eq!(
        role["attached_policies"], managed,
        "every managed policy of the template is attached"
    );
    assert_eq!(
        role["trust"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:user/byoc-worker"
    );
    assert_eq!(
        role["trust"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        FIRST_EXTERNAL_ID
    );
}

#[tokio::test]
async fn verify_succeeds_with_the_right_external_id_and_sends_it_once() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let report = verify_role(&t.aws, &slug(), &t.target)
        .await
        .expect("verified");

    let role = t.target.role_arn.to_string();
    assert_eq!(report.role_arn, role);
    assert_eq!(report.account_id, MOTO_ACCOUNT);
    assert_eq!(report.session_name, "byoc-verify-acme");
    let assumed =
        format!("arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/BYOCPlatformRole/byoc-verify-acme");
    assert_eq!(report.assumed_role_arn, assumed);
    // GetCallerIdentity ran with the assumed credentials, not the worker's own.
    assert_eq!(report.caller_arn, assumed);
    assert!(
        report
            .session_expires_at
            .is_some_and(|e| e > report.checked_at)
    );

    assert_eq!(
        t.moto.assumed_roles().await,
        [(
            role,
            "byoc-verify-acme".to_owned(),
            FIRST_EXTERNAL_ID.to_owned()
        )]
    );
}

#[tokio::test]
async fn preflight_uses_the_session_name_the_caller_gives() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let session = SessionName::for_operation("up", "acme-prod");
    let report = preflight_role(&t.aws, &t.target, &session)
        .await
        .expect("pre-flight passes");
    assert_eq!(report.session_name, "byoc-up-acme-prod");
    let recorded = t.moto.assumed_roles().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].1, "byoc-up-acme-prod");
    assert_eq!(recorded[0].2, FIRST_EXTERNAL_ID);
}

#[tokio::test]
async fn wrong_external_id_is_access_denied_naming_what_to_check() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let wrong = t.target_with("ext-wrong-0123456789");
    let err = verify_role(&t.aws, &slug(), &wrong).await.unwrap_err();
    let RoleCheckError::AccessDenied {
        ref role_arn,
        ref trusted_hint,
        ref request_id,
    } = err
    else {
        panic!("expected AccessDenied, got {err:?}");
    };
    assert_eq!(role_arn, t.target.role_arn.as_str());
    assert_eq!(trusted_hint, "arn:aws:iam::123456789012:user/byoc-worker");
    assert!(request_id.is_some(), "moto's request id is carried");
    let text = err.to_string();
    assert!(
        text.contains("ExternalId") && text.contains("trust policy"),
        "{text}"
    );
    assert!(
        !text.contains("ext-wrong-0123456789"),
        "the message never echoes the external ID"
    );
    assert!(
        t.moto.assumed_roles().await.is_empty(),
        "moto granted nothing"
    );
}

#[tokio::test]
async fn after_rotation_verify_fails_until_the_stack_is_updated_then_succeeds() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    verify_role(&t.aws, &slug(), &t.target)
        .await
        .expect("first ID works");

    let rotated = byoc::crypto::generate_external_id();
    let rotated_id = secrecy::ExposeSecret::expose_secret(&rotated).to_owned();
    let new_target = t.target_with(&rotated_id);
    let before = verify_role(&t.aws, &slug(), &new_target).await.unwrap_err();
    assert!(
        matches!(before, RoleCheckError::AccessDenied { .. }),
        "{before:?}"
    );

    t.update_stack_external_id(&rotated_id).await;
    verify_role(&t.aws, &slug(), &new_target)
        .await
        .expect("new ID works after the stack update");
    let old = verify_role(&t.aws, &slug(), &t.target).await.unwrap_err();
    assert!(
        matches!(old, RoleCheckError::AccessDenied { .. }),
        "old ID stops working: {old:?}"
    );

    let sent: Vec<String> = t
        .moto
        .assumed_roles()
        .await
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(sent, [FIRST_EXTERNAL_ID.to_owned(), rotated_id]);
}

/// The SDK configuration is loaded by the first AWS call, not when the platform identity is
/// built (issue 16, idle RSS); concurrent first calls through clones share that one load
/// and both succeed against moto.
#[tokio::test]
async fn the_first_calls_load_the_aws_configuration_once_and_succeed() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let aws = t.aws.clone();
    assert!(!aws.is_loaded(), "loaded before any AWS call");
    let (other, tenant) = (aws.clone(), slug());
    let (a, b) = tokio::join!(
        verify_role(&aws, &tenant, &t.target),
        verify_role(&other, &tenant, &t.target),
    );
    assert_eq!(a.expect("first verified").account_id, MOTO_ACCOUNT);
    assert_eq!(b.expect("second verified").account_id, MOTO_ACCOUNT);
    assert!(aws.is_loaded() && other.is_loaded() && t.aws.is_loaded());
}
