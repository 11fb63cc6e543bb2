use secrecy::SecretString;

use super::*;

const PRINCIPAL: &str = "arn:aws:iam::210987654321:role/byoc-worker";
const EXTERNAL_ID: &str = "ext-ABCDEFGHIJ_0123456789";

fn block(
    region: &str,
    role_name: &str,
    shown: ExternalIdShown<'_>,
    template_url: Option<&str>,
) -> Onboarding {
    let account = AwsAccountId::parse("123456789012").unwrap();
    let region = AwsRegion::parse(region).unwrap();
    let role_name = RoleName::parse(role_name).unwrap();
    onboarding(
        &OnboardingTenant {
            account: &account,
            region: &region,
            role_name: &role_name,
            external_id: shown,
        },
        &OnboardingSettings {
            trusted_principal_arn: Some(PRINCIPAL),
            template_url,
            simulated_endpoint: None,
        },
    )
}

#[test]
fn revealed_block_has_role_arn_parameters_and_exact_cli_command() {
    let id = SecretString::from(EXTERNAL_ID);
    let b = block(
        "eu-west-1",
        "BYOCPlatformRole",
        ExternalIdShown::Revealed(&id),
        None,
    );
    assert_eq!(
        b.role_arn,
        "arn:aws:iam::123456789012:role/BYOCPlatformRole"
    );
    assert!(b.external_id_included);
    assert_eq!(
        b.quick_create_url, None,
        "no link without a hosted template"
    );
    assert_eq!(b.template_path, "/api/v1/templates/customer-iam-role.yaml");
    let keys: Vec<_> = b
        .parameters
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("TrustedPrincipalArn", PRINCIPAL),
            ("ExternalId", EXTERNAL_ID),
            ("RoleName", "BYOCPlatformRole")
        ]
    );
    assert_eq!(
        b.cli_command,
        "aws cloudformation create-stack --stack-name byoc-platform-role \
         --template-body file://customer-iam-role.yaml --capabilities CAPABILITY_NAMED_IAM \
         --parameters ParameterKey=TrustedPrincipalArn,ParameterValue=arn:aws:iam::210987654321:role/byoc-worker \
         ParameterKey=ExternalId,ParameterValue=ext-ABCDEFGHIJ_0123456789 \
         ParameterKey=RoleName,ParameterValue=BYOCPlatformRole --region eu-west-1"
    );
}

#[test]
fn quick_create_link_is_url_encoded() {
    let id = SecretString::from(EXTERNAL_ID);
    let b = block(
        "us-east-2",
        "BYOCPlatformRole",
        ExternalIdShown::Revealed(&id),
        Some("https://s3.amazonaws.com/bucket/customer-iam-role.yaml?v=1&x=a b"),
    );
    assert_eq!(
        b.quick_create_url.as_deref(),
        Some(
            "https://console.aws.amazon.com/cloudformation/home?region=us-east-2#/stacks/quickcreate?\
             templateURL=https%3A%2F%2Fs3.amazonaws.com%2Fbucket%2Fcustomer-iam-role.yaml%3Fv%3D1%26x%3Da%20b\
             &stackName=byoc-platform-role\
             &param_TrustedPrincipalArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fbyoc-worker\
             &param_ExternalId=ext-ABCDEFGHIJ_0123456789\
             &param_RoleName=BYOCPlatformRole"
        )
    );
}

#[test]
fn placeholder_block_never_contains_the_external_id() {
    let b = block(
        "eu-west-1",
        "BYOCPlatformRole",
        ExternalIdShown::Placeholder,
        Some("https://x/t.yaml"),
    );
    assert!(!b.external_id_included);
    let json = serde_json::to_string(&b).unwrap();
    assert!(!json.contains(EXTERNAL_ID));
    assert!(json.contains(EXTERNAL_ID_PLACEHOLDER));
    let link = b.quick_create_url.unwrap();
    assert!(
        !link.contains("param_ExternalId"),
        "the console field stays empty: {link}"
    );
    assert!(
        b.cli_command
            .contains("'ParameterKey=ExternalId,ParameterValue=<external-id-shown-at-creation>'"),
        "the placeholder is quoted so a shell does not treat <> as redirection: {}",
        b.cli_command
    );
}

#[test]
fn revealed_block_debug_hides_the_external_id() {
    let id = SecretString::from(EXTERNAL_ID);
    let b = block(
        "eu-west-1",
        "BYOCPlatformRole",
        ExternalIdShown::Revealed(&id),
        None,
    );
    assert!(!format!("{b:?}").contains(EXTERNAL_ID));
}

#[test]
fn role_names_with_commas_are_quoted_for_the_cli_shorthand() {
    let b = block("eu-west-1", "a,b", ExternalIdShown::Placeholder, None);
    assert!(
        b.cli_command
            .contains(r#"'ParameterKey=RoleName,ParameterValue="a,b"'"#),
        "{}",
        b.cli_command
    );
}

#[test]
fn other_partitions_use_their_console_and_arn_partition() {
    let b = block(
        "cn-north-1",
        "BYOCPlatformRole",
        ExternalIdShown::Placeholder,
        Some("https://x"),
    );
    assert!(b.role_arn.starts_with("arn:aws-cn:iam::"));
    assert!(
        b.quick_create_url
            .unwrap()
            .starts_with("https://console.amazonaws.cn/cloudformation/home?region=cn-north-1#")
    );
}

#[test]
fn missing_trusted_principal_is_visible_not_silent() {
    let account = AwsAccountId::parse("123456789012").unwrap();
    let region = AwsRegion::default();
    let b = onboarding(
        &OnboardingTenant {
            account: &account,
            region: &region,
            role_name: &RoleName::default(),
            external_id: ExternalIdShown::Placeholder,
        },
        &OnboardingSettings::default(),
    );
    assert_eq!(
        b.parameters[0].value,
        "<BYOC_TRUSTED_PRINCIPAL_ARN not configured>"
    );
    assert_eq!(b.warnings.len(), 1);
    assert!(b.warnings[0].contains("BYOC_TRUSTED_PRINCIPAL_ARN"));
}

#[test]
fn a_simulated_server_warns_that_the_command_is_not_for_a_real_account() {
    let account = AwsAccountId::parse("123456789012").unwrap();
    let region = AwsRegion::default();
    let tenant = OnboardingTenant {
        account: &account,
        region: &region,
        role_name: &RoleName::default(),
        external_id: ExternalIdShown::Placeholder,
    };
    let real = OnboardingSettings {
        trusted_principal_arn: Some(PRINCIPAL),
        ..OnboardingSettings::default()
    };
    assert!(onboarding(&tenant, &real).warnings.is_empty());
    let simulated = OnboardingSettings {
        simulated_endpoint: Some("http://127.0.0.1:5000"),
        ..real
    };
    let b = onboarding(&tenant, &simulated);
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    assert!(
        b.warnings[0].starts_with("SIMULATED ENGINE: this server deploys nothing")
            && b.warnings[0].contains("http://127.0.0.1:5000")
            && b.warnings[0].contains("never against a real account"),
        "{}",
        b.warnings[0]
    );
}
