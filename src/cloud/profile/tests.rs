use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::domain::aws::{AwsAccountId, RoleName};

const EXTERNAL_ID: &str = "ext-ABCDEFGHIJ_0123456789";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn render(env: &HashMap<String, String>, duration_seconds: u32) -> Result<String, ProfileError> {
    let region = AwsRegion::parse("eu-west-1").unwrap();
    let role_arn = RoleArn::new(
        &AwsAccountId::parse("123456789012").unwrap(),
        &region,
        &RoleName::default(),
    );
    let external_id = SecretString::from(EXTERNAL_ID);
    let session_name = SessionName::for_operation("up", "acme-prod");
    let profile = TenantProfile {
        role_arn: &role_arn,
        external_id: &external_id,
        session_name: &session_name,
        region: &region,
        duration_seconds,
    };
    render_profile(&profile, env).map(|s| s.expose_secret().to_owned())
}

const TENANT_BLOCK: &str = "[profile byoc-tenant]
role_arn = arn:aws:iam::123456789012:role/BYOCPlatformRole
external_id = ext-ABCDEFGHIJ_0123456789
role_session_name = byoc-up-acme-prod
duration_seconds = 3600
region = eu-west-1
";

#[test]
fn static_keys_in_env_use_credential_source_environment() {
    let text = render(
        &env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]),
        3600,
    )
    .unwrap();
    assert!(
        text.contains(&format!("{TENANT_BLOCK}credential_source = Environment\n")),
        "{text}"
    );
    assert!(
        !text.contains("AKIA"),
        "the worker's own keys never go into the file"
    );
}

#[test]
fn web_identity_env_becomes_a_source_profile() {
    let text = render(
        &env(&[
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            ),
            ("AWS_ROLE_ARN", "arn:aws:iam::210987654321:role/byoc-worker"),
            ("AWS_ROLE_SESSION_NAME", "byoc-worker-1"),
        ]),
        3600,
    )
    .unwrap();
    let expected = format!(
        "{TENANT_BLOCK}source_profile = byoc-platform\n\n[profile byoc-platform]\n\
         web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n\
         role_arn = arn:aws:iam::210987654321:role/byoc-worker\n\
         role_session_name = byoc-worker-1\nregion = eu-west-1\n"
    );
    assert!(text.ends_with(&expected), "{text}");
    assert!(!text.contains("credential_source"));
}

#[test]
fn container_endpoint_uses_credential_source_ecs_container() {
    for var in [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        let text = render(&env(&[(var, "/v2/credentials/x")]), 3600).unwrap();
        assert!(
            text.ends_with("credential_source = EcsContainer\n"),
            "{var}: {text}"
        );
    }
}

#[test]
fn nothing_set_falls_back_to_instance_metadata() {
    let text = render(&env(&[]), 3600).unwrap();
    assert!(
        text.ends_with("credential_source = Ec2InstanceMetadata\n"),
        "{text}"
    );
}

#[test]
fn disabled_metadata_and_no_other_source_is_an_error() {
    let err = render(&env(&[("AWS_EC2_METADATA_DISABLED", "true")]), 3600).unwrap_err();
    assert_eq!(err, ProfileError::NoCredentialSource);
}

#[test]
fn named_profile_is_refused_with_a_clear_reason() {
    let err = render(&env(&[("AWS_PROFILE", "platform")]), 3600).unwrap_err();
    assert_eq!(
        err,
        ProfileError::NamedProfileUnsupported("platform".into())
    );
}

#[test]
fn role_chained_sessions_are_capped_at_one_hour() {
    let err = render(&env(&[]), 7200).unwrap_err();
    assert!(
        matches!(err, ProfileError::Duration { max: 3600, .. }),
        "{err:?}"
    );
    let temp_keys = env(&[
        ("AWS_ACCESS_KEY_ID", "ASIA"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
        ("AWS_SESSION_TOKEN", "t"),
    ]);
    assert!(render(&temp_keys, 7200).is_err());
    let user_keys = env(&[
        ("AWS_ACCESS_KEY_ID", "AKIA"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
    ]);
    assert!(
        render(&user_keys, 7200)
            .unwrap()
            .contains("duration_seconds = 7200\n")
    );
    assert!(render(&user_keys, 600).is_err());
}

#[test]
fn line_breaks_from_the_environment_are_refused() {
    let err = render(
        &env(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t\n[profile evil]"),
            ("AWS_ROLE_ARN", "arn"),
        ]),
        3600,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ProfileError::UnsafeValue("AWS_WEB_IDENTITY_TOKEN_FILE")
    );
}

#[test]
fn rendered_profile_debug_output_hides_the_external_id() {
    let region = AwsRegion::default();
    let role_arn = RoleArn::parse("arn:aws:iam::123456789012:role/R").unwrap();
    let external_id = SecretString::from(EXTERNAL_ID);
    let session_name = SessionName::for_operation("up", "s");
    let profile = TenantProfile {
        role_arn: &role_arn,
        external_id: &external_id,
        session_name: &session_name,
        region: &region,
        duration_seconds: 900,
    };
    let secret = render_profile(&profile, &HashMap::new()).unwrap();
    assert!(!format!("{secret:?}").contains(EXTERNAL_ID));
    assert!(!format!("{profile:?}").contains(EXTERNAL_ID));
}

#[test]
fn the_profile_written_is_the_one_the_kubeconfig_names() {
    assert_eq!(TENANT_PROFILE, crate::program::TENANT_AWS_PROFILE);
}
