//! The platform's own AWS configuration: credentials from the standard provider chain, an
//! optional endpoint override (tests point it at moto), timeouts and retries, and STS clients
//! built from it. Knows nothing of tenants.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_sts::config::{Credentials, ProvideCredentials, Region};
use tokio::sync::OnceCell;

use crate::domain::aws::AwsRegion;
use crate::settings::AwsSettings;

/// How the control plane reaches AWS.
#[derive(Debug, Clone)]
pub struct AwsClientOptions {
    /// Default region (each tenant call overrides it with the tenant's region).
    pub region: AwsRegion,
    /// Endpoint override for every AWS call (`BYOC_AWS_ENDPOINT_URL`); `None` for real AWS.
    pub endpoint_url: Option<String>,
    /// The principal tenant roles must trust (`BYOC_TRUSTED_PRINCIPAL_ARN`), quoted in errors.
    pub trusted_principal_arn: Option<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole call, retries included.
    pub operation_timeout: Duration,
    /// Attempts per call (1 = no retry).
    pub max_attempts: u32,
}

impl AwsClientOptions {
    /// Defaults for `region`: real AWS endpoints, 3 s connect, 30 s per call, 3 attempts.
    pub fn new(region: AwsRegion) -> Self {
        Self {
            region,
            endpoint_url: None,
            trusted_principal_arn: None,
            connect_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(30),
            max_attempts: 3,
        }
    }

    /// Defaults for `region` with the endpoint override and trusted principal from settings.
    pub fn from_settings(region: AwsRegion, aws: &AwsSettings) -> Self {
        Self {
            endpoint_url: aws.endpoint_url.clone(),
            trusted_principal_arn: aws.trusted_principal_arn.clone(),
            ..Self::new(region)
        }
    }
}

/// The control plane's AWS identity and client settings; cheap to clone (clones share one
/// loaded configuration).
///
/// The SDK configuration is loaded on the first AWS call, not at start-up: loading it builds
/// the credential providers and, for the web-identity provider, an STS client whose HTTPS
/// connector parses the system's CA roots, and runs code a server that makes no AWS call at
/// all need not hold in memory (issue 16, idle RSS). Nothing a load does can fail: credential
/// errors surface at each call, as they did when the load came first.
#[derive(Debug, Clone)]
pub struct PlatformAws {
    config: Arc<OnceCell<SdkConfig>>,
    credentials: Option<SharedCredentialsProvider>,
    options: AwsClientOptions,
}

impl PlatformAws {
    /// The standard AWS provider chain (environment, shared files, web identity, ECS/EKS,
    /// instance metadata) with `options` applied, loaded on first use.
    pub async fn from_provider_chain(options: AwsClientOptions) -> Self {
        Self {
            config: Arc::default(),
            credentials: None,
            options,
        }
    }

    /// Uses `provider` instead of the provider chain (tests, or an explicitly configured key).
    pub async fn with_credentials(
        options: AwsClientOptions,
        provider: impl ProvideCredentials + 'static,
    ) -> Self {
        Self {
            config: Arc::default(),
            credentials: Some(SharedCredentialsProvider::new(provider)),
            options,
        }
    }

    /// The SDK configuration, loaded by the first caller (concurrent first callers wait for
    /// that one load).
    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| async {
                let mut loader = Self::loader(&self.options);
                if let Some(provider) = &self.credentials {
                    loader = loader.credentials_provider(provider.clone());
                }
                loader.load().await
            })
            .await
    }

    /// Whether an AWS call has loaded the SDK configuration yet.
    pub fn is_loaded(&self) -> bool {
        self.config.initialized()
    }

    fn loader(options: &AwsClientOptions) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(options.region.to_string()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.connect_timeout)
                    .operation_timeout(options.operation_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts.max(1)));
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader
    }

    /// The options this was built with.
    pub fn options(&self) -> &AwsClientOptions {
        &self.options
    }

    /// An STS client with the platform's own credentials, calling `region`'s endpoint.
    pub async fn sts_client(&self, region: &AwsRegion) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(self.config().await)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// An STS client signing with `credentials` (e.g. an assumed tenant session).
    pub(crate) async fn sts_client_as(
        &self,
        region: &AwsRegion,
        credentials: Credentials,
    ) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(self.config().await)
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials)
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// The endpoint calls go to, for messages: the override, or the regional STS endpoint.
    pub(crate) fn endpoint_label(&self, region: &AwsRegion) -> String {
        match &self.options.endpoint_url {
            Some(url) => url.clone(),
            None => format!("sts.{region} (regional AWS endpoint)"),
        }
    }

    /// The principal tenant roles must trust, for messages.
    pub(crate) fn trusted_hint(&self) -> String {
        self.options
            .trusted_principal_arn
            .clone()
            .unwrap_or_else(|| "(BYOC_TRUSTED_PRINCIPAL_ARN, not configured)".to_owned())
    }
}
