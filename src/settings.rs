//! Typed settings, read once from the environment (and an optional `.env`) by `main`.
//! Every variable is listed in `.env.example`; tests build `Settings` directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// A setting that is present but cannot be parsed; names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {var}: {reason}")]
pub struct SettingsError {
    /// The environment variable.
    pub var: &'static str,
    /// Why the value was refused.
    pub reason: String,
}

/// All settings of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// HTTP listener.
    pub http: HttpSettings,
    /// Where byoc keeps its database, key and state.
    pub data: DataSettings,
    /// API authentication.
    pub auth: AuthSettings,
    /// Logging.
    pub log: LogSettings,
    /// AWS (tenant onboarding, role checks).
    pub aws: AwsSettings,
    /// The pulumi CLI and its state backend.
    pub pulumi: PulumiSettings,
    /// Operation workers.
    pub worker: WorkerSettings,
    /// Pulumi Deployments (hosted runners).
    pub deployments: DeploymentsSettings,
    /// Webhook deliveries.
    pub webhooks: WebhookSettings,
    /// The web console.
    pub console: ConsoleSettings,
    /// Change control: saved plans and their approval.
    pub approvals: ApprovalSettings,
}

/// `BYOC_APPROVAL_SEPARATE_REQUESTER` (`true` | `false`, default `false`): the token that
/// asked for a deploy may not approve or reject it. (How long a plan may be approved is the
/// workers' `BYOC_PLAN_TTL_SECONDS`: they stamp it on the plan.)
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// The requester of a deploy may not approve or reject it (403).
    pub separate_requester: bool,
}

/// `BYOC_WEBHOOK_HTTP_HOSTS` (comma-separated host names or IPs that webhook URLs may reach
/// over plain `http`, and that an `https` URL may name even when they are loopback or
/// private addresses, written or resolved; default none), `BYOC_WEBHOOK_DELIVERY` (`on` |
/// `off`, default `on`: whether this `serve` or `worker` process delivers; any number may,
/// on one database), `BYOC_WEBHOOK_POLL_MILLIS` (1000),
/// `BYOC_WEBHOOK_BACKOFF_MILLIS` (first retry delay, doubled each try, 5000),
/// `BYOC_WEBHOOK_MAX_BACKOFF_MILLIS` (600000), `BYOC_WEBHOOK_RETRY_SECONDS` (how long a
/// delivery is retried, 86400), `BYOC_WEBHOOK_TIMEOUT_SECONDS` (per request and per
/// host-name resolution, 10; a try's lease is three times this).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Hosts allowed over `http` (and as loopback/private `https` targets), lowercase.
    pub allow_http_hosts: Vec<String>,
    /// Whether this process runs the delivery task.
    pub deliver: bool,
    /// How often the delivery task looks for due deliveries.
    pub poll: Duration,
    /// Delay before the first retry; doubled for each further one (with jitter).
    pub backoff: Duration,
    /// Longest delay between tries.
    pub max_backoff: Duration,
    /// How long after it was recorded (or redelivered) a delivery is retried.
    pub retry_for: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// `BYOC_CONSOLE` (`on` | `off`, default `on`): the web console at `/`.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Serve the console's pages and accept its session cookie.
    pub enabled: bool,
}

/// Which executor runs operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorKind {
    /// The local pulumi CLI (self-hosted workers).
    #[default]
    Local,
    /// Pulumi Deployments (Pulumi's hosted runners), driven over its REST API.
    Deployments,
    /// Local when a pulumi CLI is found, else Deployments when a token and organization are
    /// set, else every operation fails at start naming the missing settings.
    Auto,
    /// SIMULATED: the local executor running the pulumi stand-in of byoc's tests against its
    /// fake cloud, with AWS calls going to a local endpoint (moto). Nothing is deployed; for
    /// trying byoc and developing the console and CLI (`byoc dev`, compose profile `local`).
    Simulated,
}

/// `PULUMI_ACCESS_TOKEN`, `BYOC_PULUMI_ORG`, `BYOC_PULUMI_API_URL` (default
/// `https://api.pulumi.com`), `BYOC_DEPLOYMENTS_OIDC_ROLE_ARN` (platform role the runner
/// assumes with OIDC), `BYOC_DEPLOYMENTS_AWS_ACCESS_KEY_ID` / `BYOC_DEPLOYMENTS_AWS_SECRET_ACCESS_KEY`
/// (static keys instead of OIDC; sent only as secrets), `BYOC_DEPLOYMENTS_EXECUTOR_IMAGE`
/// (optional runner image), `BYOC_DEPLOYMENTS_TEMPLATE_URL` (source the runner starts from,
/// default the public Pulumi YAML template), `BYOC_DEPLOYMENTS_GIT_URL` /
/// `BYOC_DEPLOYMENTS_GIT_BRANCH` (a git source instead of the template),
/// `BYOC_DEPLOYMENTS_POLL_MILLIS` (default 2000) and `BYOC_DEPLOYMENTS_MAX_POLL_MILLIS`
/// (default 15000).
#[derive(Debug, Clone)]
pub struct DeploymentsSettings {
    /// Pulumi Cloud access token (`Authorization: token …`).
    pub token: Option<SecretString>,
    /// Pulumi Cloud organization owning the stacks.
    pub org: Option<String>,
    /// Pulumi Cloud API base URL.
    pub api_url: String,
    /// Platform role the hosted runner assumes through OIDC.
    pub oidc_role_arn: Option<String>,
    /// Static access key id for the runner (only when no OIDC role is set).
    pub aws_access_key_id: Option<SecretString>,
    /// Static secret access key for the runner.
    pub aws_secret_access_key: Option<SecretString>,
    /// Executor image reference for the runner.
    pub executor_image: Option<String>,
    /// Template source URL the runner starts from (the program replaces its `Pulumi.yaml`).
    pub template_url: String,
    /// Git repository used as source instead of the template.
    pub git_url: Option<String>,
    /// Branch of `git_url` (`refs/heads/…`).
    pub git_branch: String,
    /// First interval between status polls.
    pub poll: Duration,
    /// Longest interval between status polls while nothing changes.
    pub max_poll: Duration,
}

impl DeploymentsSettings {
    /// Whether a token and an organization are set (what `auto` needs to pick Deployments).
    pub fn is_configured(&self) -> bool {
        self.token.is_some() && self.org.is_some()
    }
}

/// `BYOC_EXECUTOR` (`local`), `BYOC_PULUMI_BIN` (default: `pulumi` on `PATH`),
/// `PULUMI_BACKEND_URL` (default `file://<data dir>/state`), `PULUMI_CONFIG_PASSPHRASE`
/// (secrets provider passphrase; default: generated once into `<data dir>/pulumi.passphrase`),
/// `BYOC_SECRETS_PROVIDER` (default `passphrase`, e.g. `awskms://alias/byoc`),
/// `BYOC_PULUMI_PROJECT` (default `byoc-platform`), `BYOC_PULUMI_HOME` (default
/// `<data dir>/pulumi-home`, shared plugin cache), `BYOC_WORKSPACE_DIR` (default
/// `<data dir>/workspaces`), `BYOC_CANCEL_GRACE_SECONDS` (default 120).
#[derive(Debug, Clone)]
pub struct PulumiSettings {
    /// Executor.
    pub executor: ExecutorKind,
    /// Explicit CLI path.
    pub bin: Option<PathBuf>,
    /// State backend URL.
    pub backend_url: Option<String>,
    /// Passphrase of the passphrase secrets provider.
    pub passphrase: Option<SecretString>,
    /// Secrets provider for new stacks.
    pub secrets_provider: String,
    /// Pulumi project name.
    pub project: String,
    /// `PULUMI_HOME` of this worker.
    pub home: Option<PathBuf>,
    /// Parent directory of per-operation workspaces.
    pub workspace_dir: Option<PathBuf>,
    /// How long the engine gets to stop after SIGINT before SIGTERM.
    pub cancel_grace: Duration,
    /// `PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION` is not `true`: the CLI downloads missing
    /// provider plugins at first use (the CLI reads the variable itself; byoc reports it).
    pub automatic_plugin_acquisition: bool,
}

/// `BYOC_WORKER_CONCURRENCY` (default 4), `BYOC_LEASE_SECONDS` (60), `BYOC_MAX_ATTEMPTS` (3),
/// `BYOC_OPERATION_TIMEOUT_SECONDS` (7200), `BYOC_SHUTDOWN_GRACE_SECONDS` (150),
/// `BYOC_POLL_MILLIS` (1000), `BYOC_WORKER_HEALTH_BIND` (unset), `BYOC_PLAN_TTL_SECONDS`
/// (86400), `BYOC_DRIFT_MAX_CONCURRENT` (2), `BYOC_DRIFT_POLL_SECONDS` (30).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Operations run at once by this process.
    pub concurrency: usize,
    /// Lease length; renewed every third of it.
    pub lease: Duration,
    /// Runs of one operation before a transient failure or a lost worker fails it.
    pub max_attempts: i32,
    /// Per-operation timeout.
    pub operation_timeout: Duration,
    /// How long a shutdown waits for running operations to stop gracefully. Longer than the
    /// CLI's SIGINT grace (`BYOC_CANCEL_GRACE_SECONDS`, 120 s): an interrupted engine gets
    /// its whole grace to finish its in-flight steps and write its state, and the operation
    /// is re-queued cleanly, before the process exits (and before the orchestrator's own
    /// 180 s kill in `docker/`).
    pub shutdown_grace: Duration,
    /// How often to look for work queued by other processes and for expired leases.
    pub poll: Duration,
    /// Where `byoc worker` serves `/health`, `/ready` and `/metrics`; `None`: no listener.
    pub health_bind: Option<SocketAddr>,
    /// How long a deploy's saved plan may be approved after its preview; an older one is
    /// refused (409 `plan-stale`).
    pub plan_ttl: Duration,
    /// Drift checks running at once across the fleet (every process counts the others').
    pub drift_max_concurrent: usize,
    /// How often a worker looks for due drift checks.
    pub drift_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Settings::from_lookup(|_| None)
            .expect("defaults are valid")
            .worker
    }
}

/// `BYOC_BIND` (default `127.0.0.1:8000`), `BYOC_SSE_BUFFER` (default 1024),
/// `BYOC_HTTP_BODY_TIMEOUT_SECONDS` (default 30).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// How many stored batches of events a live event stream may fall behind (a slow client)
    /// before it catches up from the database instead of memory (`notify::FEED_CAPACITY`).
    pub sse_buffer: usize,
    /// How long a client may take to send a request body (408 after).
    pub body_timeout: Duration,
}

/// `BYOC_DATA_DIR` (default `./data`), `BYOC_MASTER_KEY` (32 bytes, base64 or hex; optional
/// with SQLite, required with PostgreSQL), `BYOC_DATABASE_URL` (unset: SQLite in the data dir;
/// `postgres://…`: a PostgreSQL server shared by every API replica and worker).
#[derive(Debug, Clone)]
pub struct DataSettings {
    /// The database; `None`: `<dir>/byoc.db`.
    pub database_url: Option<crate::store::DatabaseUrl>,
    /// Data directory: `byoc.db`, `master.key` (when no master key is given), `state/`.
    pub dir: PathBuf,
    /// Key encrypting secrets at rest. When absent, one is generated into `<dir>/master.key`.
    pub master_key: Option<SecretString>,
}

impl DataSettings {
    /// Path of the embedded SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.dir.join("byoc.db")
    }

    /// The database to open: `BYOC_DATABASE_URL`, or the SQLite file in the data dir.
    pub fn database(&self) -> crate::store::DatabaseUrl {
        self.database_url
            .clone()
            .unwrap_or_else(|| crate::store::DatabaseUrl::Sqlite(self.database_path()))
    }
}

/// `BYOC_BOOTSTRAP_TOKEN` (optional): the first admin token, instead of a generated one.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// Admin token to create when no token exists yet.
    pub bootstrap_token: Option<SecretString>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `BYOC_LOG_FORMAT` (`pretty` | `json`, default `pretty`), `RUST_LOG` (default `info`).
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
}

/// `BYOC_TRUSTED_PRINCIPAL_ARN`, `BYOC_ROLE_TEMPLATE_URL`, `BYOC_AWS_ENDPOINT_URL` (all optional).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// The platform principal (worker role or user ARN) tenant roles must trust.
    pub trusted_principal_arn: Option<String>,
    /// Where the customer role template is hosted (enables a console quick-create link).
    pub role_template_url: Option<String>,
    /// AWS endpoint override (tests point it at moto).
    pub endpoint_url: Option<String>,
}

impl PulumiSettings {
    /// The state backend URL: the setting, or `file://<data dir>/state`.
    pub fn backend_url(&self, data_dir: &std::path::Path) -> String {
        self.backend_url.clone().unwrap_or_else(|| {
            let abs = std::path::absolute(data_dir.join("state"))
                .unwrap_or_else(|_| data_dir.join("state"));
            format!("file://{}", abs.display())
        })
    }

    /// `PULUMI_HOME`: the setting, or `<data dir>/pulumi-home`.
    pub fn home(&self, data_dir: &std::path::Path) -> PathBuf {
        self.home
            .clone()
            .unwrap_or_else(|| data_dir.join("pulumi-home"))
    }

    /// Workspaces parent: the setting, or `<data dir>/workspaces`.
    pub fn workspace_dir(&self, data_dir: &std::path::Path) -> PathBuf {
        self.workspace_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("workspaces"))
    }
}

impl Settings {
    /// Reads every setting from the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads every setting through `get`, so tests can supply a map. An empty (or blank) value
    /// means unset for every variable, as `.env.example` documents: `cp .env.example .env`
    /// must not turn a "generated when unset" setting into an empty one.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let opt = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let database_url = opt("BYOC_DATABASE_URL")
            .map(|url| crate::store::DatabaseUrl::parse(url.trim()))
            .transpose()
            .map_err(|e| SettingsError {
                var: "BYOC_DATABASE_URL",
                reason: e.to_string(),
            })?;
        let settings = Self {
            http: HttpSettings {
                bind: parsed(&opt, "BYOC_BIND", "127.0.0.1:8000")?,
                sse_buffer: parsed(&opt, "BYOC_SSE_BUFFER", "1024")?,
                body_timeout: Duration::from_secs(parsed(
                    &opt,
                    "BYOC_HTTP_BODY_TIMEOUT_SECONDS",
                    "30",
                )?),
            },
            data: DataSettings {
                dir: PathBuf::from(opt("BYOC_DATA_DIR").unwrap_or_else(|| "./data".into())),
                database_url,
                master_key: opt("BYOC_MASTER_KEY").map(SecretString::from),
            },
            auth: AuthSettings {
                bootstrap_token: opt("BYOC_BOOTSTRAP_TOKEN").map(SecretString::from),
            },
            log: LogSettings {
                format: match opt("BYOC_LOG_FORMAT").as_deref() {
                    None | Some("pretty") => LogFormat::Pretty,
                    Some("json") => LogFormat::Json,
                    Some(other) => {
                        return Err(SettingsError {
                            var: "BYOC_LOG_FORMAT",
                            reason: format!("'{other}' is not 'pretty' or 'json'"),
                        });
                    }
                },
            },
            aws: AwsSettings {
                trusted_principal_arn: opt("BYOC_TRUSTED_PRINCIPAL_ARN"),
                role_template_url: opt("BYOC_ROLE_TEMPLATE_URL"),
                endpoint_url: opt("BYOC_AWS_ENDPOINT_URL"),
            },
            pulumi: PulumiSettings {
                executor: match opt("BYOC_EXECUTOR").as_deref() {
                    None | Some("local") => ExecutorKind::Local,
                    Some("deployments") => ExecutorKind::Deployments,
                    Some("auto") => ExecutorKind::Auto,
                    Some("simulated") => ExecutorKind::Simulated,
                    Some(other) => {
                        return Err(SettingsError {
                            var: "BYOC_EXECUTOR",
                            reason: format!(
                                "'{other}' is not a supported executor (local, deployments, \
                                 auto, simulated)"
                            ),
                        });
                    }
                },
                bin: opt("BYOC_PULUMI_BIN").map(PathBuf::from),
                backend_url: opt("PULUMI_BACKEND_URL"),
                passphrase: opt("PULUMI_CONFIG_PASSPHRASE").map(SecretString::from),
                secrets_provider: opt("BYOC_SECRETS_PROVIDER")
                    .unwrap_or_else(|| "passphrase".into()),
                project: opt("BYOC_PULUMI_PROJECT").unwrap_or_else(|| "byoc-platform".into()),
                home: opt("BYOC_PULUMI_HOME").map(PathBuf::from),
                workspace_dir: opt("BYOC_WORKSPACE_DIR").map(PathBuf::from),
                cancel_grace: Duration::from_secs(parsed(
                    &opt,
                    "BYOC_CANCEL_GRACE_SECONDS",
                    "120",
                )?),
                // pulumi reads it as a boolean (sdk/go/common/env: "1"/"true").
                automatic_plugin_acquisition: !opt("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")
                    .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true")),
            },
            worker: WorkerSettings {
                concurrency: parsed(&opt, "BYOC_WORKER_CONCURRENCY", "4")?,
                lease: Duration::from_secs(parsed(&opt, "BYOC_LEASE_SECONDS", "60")?),
                max_attempts: parsed(&opt, "BYOC_MAX_ATTEMPTS", "3")?,
                operation_timeout: Duration::from_secs(parsed(
                    &opt,
                    "BYOC_OPERATION_TIMEOUT_SECONDS",
                    "7200",
                )?),
                shutdown_grace: Duration::from_secs(parsed(
                    &opt,
                    "BYOC_SHUTDOWN_GRACE_SECONDS",
                    "150",
                )?),
                poll: Duration::from_millis(parsed(&opt, "BYOC_POLL_MILLIS", "1000")?),
                plan_ttl: Duration::from_secs(parsed(&opt, "BYOC_PLAN_TTL_SECONDS", "86400")?),
                drift_max_concurrent: parsed(&opt, "BYOC_DRIFT_MAX_CONCURRENT", "2")?,
                drift_poll: Duration::from_secs(parsed(&opt, "BYOC_DRIFT_POLL_SECONDS", "30")?),
                health_bind: match opt("BYOC_WORKER_HEALTH_BIND") {
                    None => None,
                    Some(raw) => {
                        Some(
                            raw.parse()
                                .map_err(|e: std::net::AddrParseError| SettingsError {
                                    var: "BYOC_WORKER_HEALTH_BIND",
                                    reason: e.to_string(),
                                })?,
                        )
                    }
                },
            },
            deployments: DeploymentsSettings {
                token: opt("PULUMI_ACCESS_TOKEN").map(SecretString::from),
                org: opt("BYOC_PULUMI_ORG"),
                api_url: opt("BYOC_PULUMI_API_URL")
                    .unwrap_or_else(|| "https://api.pulumi.com".into()),
                oidc_role_arn: opt("BYOC_DEPLOYMENTS_OIDC_ROLE_ARN"),
                aws_access_key_id: opt("BYOC_DEPLOYMENTS_AWS_ACCESS_KEY_ID")
                    .map(SecretString::from),
                aws_secret_access_key: opt("BYOC_DEPLOYMENTS_AWS_SECRET_ACCESS_KEY")
                    .map(SecretString::from),
                executor_image: opt("BYOC_DEPLOYMENTS_EXECUTOR_IMAGE"),
                template_url: opt("BYOC_DEPLOYMENTS_TEMPLATE_URL").unwrap_or_else(|| {
                    "https://github.com/pulumi/templates/tree/master/yaml".into()
                }),
                git_url: opt("BYOC_DEPLOYMENTS_GIT_URL"),
                git_branch: opt("BYOC_DEPLOYMENTS_GIT_BRANCH")
                    .unwrap_or_else(|| "refs/heads/main".into()),
                poll: Duration::from_millis(parsed(&opt, "BYOC_DEPLOYMENTS_POLL_MILLIS", "2000")?),
                max_poll: Duration::from_millis(parsed(
                    &opt,
                    "BYOC_DEPLOYMENTS_MAX_POLL_MILLIS",
                    "15000",
                )?),
            },
            approvals: ApprovalSettings {
                separate_requester: match opt("BYOC_APPROVAL_SEPARATE_REQUESTER").as_deref() {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(other) => {
                        return Err(SettingsError {
                            var: "BYOC_APPROVAL_SEPARATE_REQUESTER",
                            reason: format!("'{other}' is not 'true' or 'false'"),
                        });
                    }
                },
            },
            webhooks: WebhookSettings {
                allow_http_hosts: opt("BYOC_WEBHOOK_HTTP_HOSTS")
                    .unwrap_or_default()
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
                deliver: match opt("BYOC_WEBHOOK_DELIVERY").as_deref() {
                    None | Some("on") => true,
                    Some("off") => false,
                    Some(other) => {
                        return Err(SettingsError {
                            var: "BYOC_WEBHOOK_DELIVERY",
                            reason: format!("'{other}' is not 'on' or 'off'"),
                        });
                    }
                },
                poll: Duration::from_millis(parsed(&opt, "BYOC_WEBHOOK_POLL_MILLIS", "1000")?),
                backoff: Duration::from_millis(parsed(
                    &opt,
                    "BYOC_WEBHOOK_BACKOFF_MILLIS",
                    "5000",
                )?),
                max_backoff: Duration::from_millis(parsed(
                    &opt,
                    "BYOC_WEBHOOK_MAX_BACKOFF_MILLIS",
                    "600000",
                )?),
                retry_for: Duration::from_secs(parsed(
                    &opt,
                    "BYOC_WEBHOOK_RETRY_SECONDS",
                    "86400",
                )?),
                timeout: Duration::from_secs(parsed(&opt, "BYOC_WEBHOOK_TIMEOUT_SECONDS", "10")?),
            },
            console: ConsoleSettings {
                enabled: match opt("BYOC_CONSOLE").as_deref() {
                    None | Some("on") => true,
                    Some("off") => false,
                    Some(other) => {
                        return Err(SettingsError {
                            var: "BYOC_CONSOLE",
                            reason: format!("'{other}' is not 'on' or 'off'"),
                        });
                    }
                },
            },
        };
        settings.check_shared_secrets()?;
        settings.check_simulated()?;
        Ok(settings)
    }

    /// The simulated engine stays local: AWS calls go to a local endpoint (never the real
    /// AWS endpoints), and the stand-in's state and fake cloud stay in a `file://` backend.
    fn check_simulated(&self) -> Result<(), SettingsError> {
        if self.pulumi.executor != ExecutorKind::Simulated {
            return Ok(());
        }
        if self.aws.endpoint_url.is_none() {
            return Err(SettingsError {
                var: "BYOC_AWS_ENDPOINT_URL",
                reason: "required with BYOC_EXECUTOR=simulated: a local AWS endpoint such as \
                         a moto server (`byoc dev` starts one)"
                    .into(),
            });
        }
        if let Some(url) = &self.pulumi.backend_url
            && !url.starts_with("file://")
        {
            return Err(SettingsError {
                var: "PULUMI_BACKEND_URL",
                reason: format!(
                    "BYOC_EXECUTOR=simulated keeps its state in a file:// backend; '{url}' \
                     is not one (leave it unset for <data dir>/state)"
                ),
            });
        }
        Ok(())
    }

    /// Whether operations run on the simulated engine (nothing is deployed).
    pub fn is_simulated(&self) -> bool {
        self.pulumi.executor == ExecutorKind::Simulated
    }

    /// With PostgreSQL, replicas on different nodes must share the master key and the pulumi
    /// passphrase: both come from the environment, never generated into a local file that
    /// only one node would have.
    fn check_shared_secrets(&self) -> Result<(), SettingsError> {
        if !self.data.database().is_postgres() {
            return Ok(());
        }
        let required = |var: &'static str| SettingsError {
            var,
            reason: "required with a PostgreSQL database (BYOC_DATABASE_URL): every API \
                     replica and worker must use the same value"
                .into(),
        };
        if self.data.master_key.is_none() {
            return Err(required("BYOC_MASTER_KEY"));
        }
        if self.pulumi.secrets_provider == "passphrase" && self.pulumi.passphrase.is_none() {
            return Err(required("PULUMI_CONFIG_PASSPHRASE"));
        }
        Ok(())
    }

    /// Settings for a laptop run rooted at `data_dir` (used by tests).
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let dir = data_dir.into();
        let mut s = Self::from_lookup(|_| None).expect("defaults are valid");
        s.data.dir = dir;
        s
    }
}

/// Parses variable `var` (or its default) with `FromStr`, naming the variable on failure.
fn parsed<T>(
    opt: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<T, SettingsError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw = opt(var).unwrap_or_else(|| default.to_owned());
    raw.parse().map_err(|e: T::Err| SettingsError {
        var,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_run_on_a_laptop() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.http.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(s.data.dir, PathBuf::from("./data"));
        assert_eq!(s.log.format, LogFormat::Pretty);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let env: HashMap<&str, &str> = [("BYOC_BIND", "not-an-address")].into();
        let err = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.var, "BYOC_BIND");
    }

    /// `.env.example` parsed exactly as `main` loads a `.env` (dotenvy), every line verbatim.
    fn example_env() -> HashMap<String, String> {
        dotenvy::from_read_iter(include_str!("../.env.example").as_bytes())
            .map(|item| item.expect("a valid .env line"))
            .collect()
    }

    #[test]
    fn the_copied_env_example_gives_the_defaults() {
        let example = example_env();
        // The empty lines are really there (what `cp .env.example .env` gives a new user).
        assert_eq!(
            example.get("PULUMI_CONFIG_PASSPHRASE").map(String::as_str),
            Some("")
        );
        let s = Settings::from_lookup(|k| example.get(k).cloned()).unwrap();
        // Unset, so the passphrase is generated into the data dir instead of being empty.
        assert!(s.pulumi.passphrase.is_none());
        assert!(s.data.master_key.is_none());
        assert!(s.auth.bootstrap_token.is_none());
        assert!(s.pulumi.bin.is_none());
        assert!(s.pulumi.backend_url.is_none());
        assert!(s.aws.trusted_principal_arn.is_none());
        assert!(s.aws.endpoint_url.is_none());
        assert!(s.deployments.token.is_none());
        assert!(s.pulumi.automatic_plugin_acquisition);
        assert!(s.worker.health_bind.is_none());
        // Everything else the file sets equals the built-in default.
        let defaults = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(format!("{s:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn every_empty_variable_is_unset() {
        let example = example_env();
        let s =
            Settings::from_lookup(|k| example.contains_key(k).then(|| "  ".to_owned())).unwrap();
        let defaults = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(format!("{s:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn executor_kinds_parse_and_deployments_default_to_pulumi_cloud() {
        for (raw, kind) in [
            ("local", ExecutorKind::Local),
            ("deployments", ExecutorKind::Deployments),
            ("auto", ExecutorKind::Auto),
        ] {
            let s =
                Settings::from_lookup(|k| (k == "BYOC_EXECUTOR").then(|| raw.to_owned())).unwrap();
            assert_eq!(s.pulumi.executor, kind);
            assert_eq!(s.deployments.api_url, "https://api.pulumi.com");
            assert!(!s.deployments.is_configured());
        }
        let err = Settings::from_lookup(|k| (k == "BYOC_EXECUTOR").then(|| "remote".to_owned()))
            .unwrap_err();
        assert_eq!(err.var, "BYOC_EXECUTOR");
    }

    #[test]
    fn the_simulated_engine_needs_a_local_endpoint_and_a_file_backend() {
        let lookup = |pairs: &[(&'static str, &'static str)]| {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            Settings::from_lookup(move |k| env.get(k).map(|v| v.to_string()))
        };
        let sim = ("BYOC_EXECUTOR", "simulated");
        assert_eq!(lookup(&[sim]).unwrap_err().var, "BYOC_AWS_ENDPOINT_URL");
        let moto = ("BYOC_AWS_ENDPOINT_URL", "http://127.0.0.1:5000");
        let s = lookup(&[sim, moto]).unwrap();
        assert_eq!(s.pulumi.executor, ExecutorKind::Simulated);
        assert!(s.is_simulated());
        let s3 = ("PULUMI_BACKEND_URL", "s3://real-bucket/byoc");
        assert_eq!(
            lookup(&[sim, moto, s3]).unwrap_err().var,
            "PULUMI_BACKEND_URL"
        );
        assert!(lookup(&[sim, moto, ("PULUMI_BACKEND_URL", "file:///tmp/state")]).is_ok());
        // Other executors are not affected.
        assert!(!lookup(&[s3]).unwrap().is_simulated());
    }

    #[test]
    fn postgres_requires_the_shared_secrets_from_the_environment() {
        let lookup = |pairs: &[(&'static str, &'static str)]| {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            Settings::from_lookup(move |k| env.get(k).map(|v| v.to_string()))
        };
        let url = ("BYOC_DATABASE_URL", "postgres://byoc@db/byoc");
        assert_eq!(lookup(&[url]).unwrap_err().var, "BYOC_MASTER_KEY");
        let key = ("BYOC_MASTER_KEY", "k");
        assert_eq!(
            lookup(&[url, key]).unwrap_err().var,
            "PULUMI_CONFIG_PASSPHRASE"
        );
        let pass = ("PULUMI_CONFIG_PASSPHRASE", "p");
        assert!(
            lookup(&[url, key, pass])
                .unwrap()
                .data
                .database()
                .is_postgres()
        );
        // A KMS secrets provider needs no passphrase.
        let kms = ("BYOC_SECRETS_PROVIDER", "awskms://alias/byoc");
        assert!(lookup(&[url, key, kms]).is_ok());
        // SQLite (the default) still generates both into the data dir when unset.
        assert!(!lookup(&[]).unwrap().data.database().is_postgres());
        assert_eq!(
            lookup(&[("BYOC_DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .var,
            "BYOC_DATABASE_URL"
        );
    }
}
