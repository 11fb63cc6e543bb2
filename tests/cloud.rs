//! `byoc::cloud` against a real moto server in IAM-authorization mode: the tenant role is created
//! from our CloudFormation template through moto's CloudFormation, trusted to an IAM user that
//! plays the control plane's worker. Tests skip (printing `SKIPPED: …`) without moto, unless
//! `BYOC_REQUIRE_ORACLES=1`.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/poll.rs"]
mod poll;

#[path = "cloud/failures.rs"]
mod failures;
#[path = "cloud/logs.rs"]
mod logs;
#[path = "cloud/verify.rs"]
mod verify;

use byoc::cloud::{AwsClientOptions, PlatformAws, RoleTarget};
use byoc::domain::{AwsAccountId, AwsRegion, RoleArn, Slug};
use moto::MotoServer;
use secrecy::SecretString;

/// The account moto puts everything in.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The external ID the tenant's stack is first created with.
pub const FIRST_EXTERNAL_ID: &str = "ext-first-0123456789";
/// The CloudFormation stack holding the tenant role.
pub const STACK: &str = "byoc-platform-role";
const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/customer-iam-role.yaml"
);

/// A moto "tenant account" with the role stack created from our template, auth mode on.
pub struct OnboardedTenant {
    pub moto: MotoServer,
    /// The platform as the worker user (the role's trusted principal).
    pub aws: PlatformAws,
    /// The role, with [`FIRST_EXTERNAL_ID`].
    pub target: RoleTarget,
    /// What IAM reported about the role right after the stack was created.
    pub created_role: serde_json::Value,
    admin_key: String,
    admin_secret: String,
    worker_arn: String,
}

impl OnboardedTenant {
    /// Starts moto and onboards; `None` when moto is not installed (test skipped).
    pub async fn start() -> Option<Self> {
        logs::capture();
        let moto = MotoServer::start().await?;
        let setup = moto
            .cfn_script("setup", &[TEMPLATE, STACK, FIRST_EXTERNAL_ID])
            .await;
        moto.enable_iam_auth().await;
        let s = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
        let worker = &setup["worker"];
        let worker_arn = s(&worker["arn"]);
        let mut options = AwsClientOptions::new(region());
        options.endpoint_url = Some(moto.url.clone());
        options.trusted_principal_arn = Some(worker_arn.clone());
        let creds = aws_credential_types::Credentials::new(
            s(&worker["key"]),
            s(&worker["secret"]),
            None,
            None,
            "moto-worker",
        );
        let aws = PlatformAws::with_credentials(options, creds).await;
        let target = RoleTarget {
            account: AwsAccountId::parse(MOTO_ACCOUNT).unwrap(),
            region: region(),
            role_arn: RoleArn::parse(&s(&setup["role_arn"])).unwrap(),
            external_id: SecretString::from(FIRST_EXTERNAL_ID),
        };
        Some(Self {
            admin_key: s(&setup["admin"]["key"]),
            admin_secret: s(&setup["admin"]["secret"]),
            created_role: setup["role"].clone(),
            moto,
            aws,
            target,
            worker_arn,
        })
    }

    /// The tenant updates its stack with a new ExternalId (signed as an admin, auth mode on).
    pub async fn update_stack_external_id(&self, external_id: &str) {
        self.moto
            .cfn_script(
                "update",
                &[
                    TEMPLATE,
                    STACK,
                    external_id,
                    &self.admin_key,
                    &self.admin_secret,
                    &self.worker_arn,
                ],
            )
            .await;
    }

    /// The same role, checked with another external ID.
    pub fn target_with(&self, external_id: &str) -> RoleTarget {
        RoleTarget {
            external_id: SecretString::from(external_id),
            ..self.target.clone()
        }
    }
}

pub fn region() -> AwsRegion {
    AwsRegion::parse("us-east-1").unwrap()
}

pub fn slug() -> Slug {
    Slug::parse("acme").unwrap()
}
