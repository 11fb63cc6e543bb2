//! Failures that are not about the tenant's trust policy: wrong account, unreachable endpoint,
//! missing platform credentials. Each comes back as its own actionable variant.

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use byoc::cloud::{AwsClientOptions, PlatformAws, RoleCheckError, RoleTarget, verify_role};
use byoc::domain::{AwsAccountId, RoleArn};
use secrecy::SecretString;

use super::moto::free_port;
use super::{MOTO_ACCOUNT, OnboardedTenant, region, slug};

#[tokio::test]
async fn a_role_in_another_account_than_the_tenants_is_wrong_account() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let mut target = t.target.clone();
    target.account = AwsAccountId::parse("999999999999").unwrap();
    let err = verify_role(&t.aws, &slug(), &target).await.unwrap_err();
    let RoleCheckError::WrongAccount {
        ref expected,
        ref actual,
        ..
    } = err
    else {
        panic!("expected WrongAccount, got {err:?}");
    };
    assert_eq!(
        (expected.as_str(), actual.as_str()),
        ("999999999999", MOTO_ACCOUNT)
    );
    assert!(
        err.to_string().contains("correct the tenant's account id"),
        "{err}"
    );
}

fn target() -> RoleTarget {
    RoleTarget {
        account: AwsAccountId::parse(MOTO_ACCOUNT).unwrap(),
        region: region(),
        role_arn: RoleArn::parse("arn:aws:iam::123456789012:role/BYOCPlatformRole").unwrap(),
        external_id: SecretString::from("ext-0123456789"),
    }
}

fn options_for_closed_port() -> AwsClientOptions {
    let mut options = AwsClientOptions::new(region());
    options.endpoint_url = Some(format!("http://127.0.0.1:{}", free_port()));
    options.max_attempts = 1;
    options
}

#[tokio::test]
async fn an_endpoint_nobody_listens_on_is_unreachable() {
    super::logs::capture();
    let options = options_for_closed_port();
    let endpoint = options.endpoint_url.clone().unwrap();
    let creds = aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test");
    let aws = PlatformAws::with_credentials(options, creds).await;
    let err = verify_role(&aws, &slug(), &target()).await.unwrap_err();
    let RoleCheckError::Unreachable {
        endpoint: ref e,
        timed_out,
        ..
    } = err
    else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert_eq!(e, &endpoint);
    assert!(!timed_out);
    assert!(err.is_transient());
    assert!(err.to_string().contains("BYOC_AWS_ENDPOINT_URL"), "{err}");
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials in the provider chain",
        )))
    }
}

#[tokio::test]
async fn missing_platform_credentials_are_reported_as_such() {
    super::logs::capture();
    let aws = PlatformAws::with_credentials(options_for_closed_port(), NoCredentials).await;
    // The configuration loads on this first call (issue 16): its credential error is still
    // the typed one.
    assert!(!aws.is_loaded());
    let err = verify_role(&aws, &slug(), &target()).await.unwrap_err();
    assert!(aws.is_loaded());
    assert!(
        matches!(err, RoleCheckError::PlatformCredentials { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("platform's own AWS credentials"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_platform_keys_are_platform_credentials_not_access_denied() {
    let Some(t) = OnboardedTenant::start().await else {
        return;
    };
    let mut options = AwsClientOptions::new(region());
    options.endpoint_url = Some(t.moto.url.clone());
    let creds = aws_credential_types::Credentials::new(
        "AKIAUNKNOWN000000000",
        "not-a-real-secret",
        None,
        None,
        "test",
    );
    let aws = PlatformAws::with_credentials(options, creds).await;
    let err = verify_role(&aws, &slug(), &t.target).await.unwrap_err();
    let RoleCheckError::PlatformCredentials {
        ref detail,
        ref request_id,
    } = err
    else {
        panic!("expected PlatformCredentials, got {err:?}");
    };
    assert!(detail.starts_with("InvalidClientTokenId"), "{detail}");
    assert!(request_id.is_some());
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_as_unreachable() {
    super::logs::capture();
    // The kernel completes the TCP handshake into the backlog; nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut options = AwsClientOptions::new(region());
    options.endpoint_url = Some(format!("http://{}", silent.local_addr().unwrap()));
    options.operation_timeout = std::time::Duration::from_millis(500);
    options.max_attempts = 1;
    let creds = aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test");
    let aws = PlatformAws::with_credentials(options, creds).await;
    let err = verify_role(&aws, &slug(), &target()).await.unwrap_err();
    assert!(
        matches!(
            err,
            RoleCheckError::Unreachable {
                timed_out: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    drop(silent);
}
