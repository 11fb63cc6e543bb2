//! The SIMULATED engine (`BYOC_EXECUTOR=simulated`, what `byoc dev` and the compose profile
//! `local` run): the local executor driving the pulumi stand-in of byoc's own tests
//! (`tests/support/pulumi-standin`, the single copy; it follows the real CLI's command lines,
//! engine events, DIY state and locks, docs/test-doubles.md) against the stand-in's fake cloud,
//! a directory next to the state. **Nothing is deployed**: AWS calls of byoc itself (role checks)
//! go to a local endpoint (`BYOC_AWS_ENDPOINT_URL`, checked by the settings), every operation
//! records `simulated` as its executor and opens with a `byoc.simulated` event saying so, and
//! `/ready`, the startup log and the console say so too. Before it runs anything, it checks
//! that the binary it was given really is the stand-in, so the label cannot lie.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{
    EngineEventRecord, EventSink, Executor, LocalExecutor, LocalSetupError, OperationJob, Outcome,
    RecoverError,
};
use crate::cloud::{AwsClientOptions, PlatformAws};
use crate::domain::AwsRegion;
use crate::pulumi::EnvSnapshot;
use crate::settings::Settings;

/// The event every simulated operation starts with (`{"message": NOTICE, "standin": path}`).
pub const SIMULATED_EVENT: &str = "byoc.simulated";

/// What the simulated engine says wherever a user sees it.
pub const NOTICE: &str = "SIMULATED ENGINE: nothing is deployed. Operations run the pulumi \
     stand-in of byoc's tests against a fake cloud kept in the data directory, and AWS calls go \
     to a local endpoint (moto); no AWS account is used.";

/// What `<stand-in> __standin identify` prints (tests/support/pulumi_standin/testctl.py).
pub const STANDIN_IDENTITY: &str = "pulumi-standin";

/// The stand-in in a byoc checkout (relative to its root).
pub const STANDIN_IN_CHECKOUT: &str = "tests/support/pulumi-standin";

/// The stand-in in the image's `local` target (docker/Dockerfile).
pub const STANDIN_IN_IMAGE: &str = "/opt/byoc-simulated/pulumi-standin";

/// How long each simulated resource step takes by default, so that a deploy can be watched
/// in the console and the CLI (the stand-in's `PULUMI_STANDIN_SLEEP_MS`).
pub const DEFAULT_STEP_DELAY: Duration = Duration::from_millis(250);

/// The credentials of every AWS call the simulated engine makes. moto checks none unless
/// `INITIAL_NO_AUTH_ACTION_COUNT` is set ("it defaults to infinity, thus moto will never perform
/// any authentication at all": getmoto/moto docs/docs/iam.rst); the AWS SDK only needs some
/// to sign with. Never a real key.
pub const LOCAL_CREDENTIALS: (&str, &str) = ("testing", "testing");

/// byoc's own AWS identity in simulated mode: moto's dummy credentials (`LOCAL_CREDENTIALS`)
/// against `BYOC_AWS_ENDPOINT_URL`, never the provider chain (it could find real ones).
pub async fn local_aws(settings: &Settings) -> PlatformAws {
    let (key, secret) = LOCAL_CREDENTIALS;
    PlatformAws::with_credentials(
        AwsClientOptions::from_settings(AwsRegion::default(), &settings.aws),
        aws_credential_types::Credentials::new(key, secret, None, None, "byoc-simulated"),
    )
    .await
}

/// The engine's environment in simulated mode: `env` without any `AWS_*` variable of the
/// host, plus moto's dummy credentials (`LOCAL_CREDENTIALS`), and no instance-metadata lookups.
pub fn local_env(env: &EnvSnapshot) -> EnvSnapshot {
    let (key, secret) = LOCAL_CREDENTIALS;
    let kept = env
        .vars()
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_"))
        .cloned();
    let local = [
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    EnvSnapshot::capture(kept.chain(local))
}

/// Why the simulated engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulatedSetupError {
    /// No stand-in given and none found.
    #[error(
        "the simulated engine needs the pulumi stand-in of a byoc checkout \
         ({STANDIN_IN_CHECKOUT}); none found at {searched}: run from the repository root, or set \
         BYOC_PULUMI_BIN (`byoc dev --standin`)"
    )]
    NotFound {
        /// The places looked at.
        searched: String,
    },
    /// The binary is something else (e.g. a real pulumi CLI).
    #[error(
        "{bin} is not the pulumi stand-in (`__standin identify` answered {answer:?}); the \
         simulated engine never runs a real pulumi CLI"
    )]
    NotTheStandin {
        /// The binary.
        bin: PathBuf,
        /// What it printed.
        answer: String,
    },
    /// The stand-in could not run (no python3, no PyYAML).
    #[error(
        "cannot run the pulumi stand-in {bin}: {reason}. It needs python3 with PyYAML \
         (`pip install pyyaml`, or `apt-get install python3-yaml`)"
    )]
    CannotRun {
        /// The binary.
        bin: PathBuf,
        /// The error, or the last line the stand-in printed on stderr.
        reason: String,
    },
    /// The local executor around it could not start.
    #[error(transparent)]
    Local(#[from] LocalSetupError),
}

/// The stand-in to run: `given` (made absolute), else the first that exists of the checkout's
/// copy under `cwd`, under an ancestor of the running binary (`target/debug/byoc` in a
/// checkout), and the image's copy.
pub fn locate_standin(
    given: Option<&Path>,
    cwd: &Path,
    exe: Option<&Path>,
) -> Result<PathBuf, SimulatedSetupError> {
    if let Some(bin) = given {
        let bin = cwd.join(bin);
        if !bin.is_file() {
            return Err(SimulatedSetupError::NotFound {
                searched: bin.display().to_string(),
            });
        }
        return Ok(bin);
    }
    let mut candidates = vec![cwd.join(STANDIN_IN_CHECKOUT)];
    if let Some(exe) = exe {
        candidates.extend(exe.ancestors().skip(1).map(|d| d.join(STANDIN_IN_CHECKOUT)));
    }
    candidates.push(PathBuf::from(STANDIN_IN_IMAGE));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| SimulatedSetupError::NotFound {
            searched: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Runs `<bin> __standin identify` with the environment the engine gets: it must answer
/// [`STANDIN_IDENTITY`] (a real pulumi CLI answers "unknown command").
pub async fn check_standin(bin: &Path, env: &EnvSnapshot) -> Result<(), SimulatedSetupError> {
    let cannot_run = |reason: String| SimulatedSetupError::CannotRun {
        bin: bin.to_owned(),
        reason,
    };
    let run = tokio::process::Command::new(bin)
        .args(["__standin", "identify"])
        .env_clear()
        .envs(env.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .map_err(|_| cannot_run("it did not answer within 60 s".into()))?
        .map_err(|e| cannot_run(e.to_string()))?;
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && answer == STANDIN_IDENTITY {
        return Ok(());
    }
    if out.status.success() {
        return Err(SimulatedSetupError::NotTheStandin {
            bin: bin.to_owned(),
            answer,
        });
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned();
    // No interpreter (`env` exits 127), or a Python that cannot import the stand-in (its
    // traceback ends with the error); anything else that fails (a real pulumi CLI: "unknown
    // command") is not the stand-in.
    if out.status.code() == Some(127)
        || last.contains("ModuleNotFoundError")
        || last.contains("ImportError")
    {
        return Err(cannot_run(last));
    }
    Err(SimulatedSetupError::NotTheStandin {
        bin: bin.to_owned(),
        answer: last,
    })
}

/// The local executor on the stand-in, labelled `simulated`.
#[derive(Debug, Clone)]
pub struct SimulatedExecutor {
    inner: LocalExecutor,
}

impl SimulatedExecutor {
    /// Finds the stand-in (`BYOC_PULUMI_BIN`, else [`locate_standin`]), checks it is the
    /// stand-in, and starts the local executor on it with [`local_aws`] and [`local_env`];
    /// each resource step takes `step_delay`.
    pub async fn new(
        settings: &Settings,
        env: &EnvSnapshot,
        step_delay: Duration,
    ) -> Result<Self, SimulatedSetupError> {
        let env = local_env(env);
        let aws = local_aws(settings).await;
        let cwd = std::env::current_dir().map_err(|e| SimulatedSetupError::CannotRun {
            bin: PathBuf::from(STANDIN_IN_CHECKOUT),
            reason: format!("no current directory: {e}"),
        })?;
        let exe = std::env::current_exe().ok();
        let bin = locate_standin(settings.pulumi.bin.as_deref(), &cwd, exe.as_deref())?;
        check_standin(&bin, &env).await?;
        let mut settings = settings.clone();
        settings.pulumi.bin = Some(bin);
        // The stand-in's own knob: the one variable the engine gets beyond the allowlist.
        let extra = vec![(
            "PULUMI_STANDIN_SLEEP_MS".to_owned(),
            step_delay.as_millis().to_string(),
        )];
        let inner = LocalExecutor::with_extra_env(&settings, aws, env, extra).await?;
        tracing::warn!(pulumi.standin = %inner.runner().bin().display(), "{NOTICE}");
        Ok(Self { inner })
    }

    /// The stand-in it runs.
    pub fn standin(&self) -> &Path {
        self.inner.runner().bin()
    }
}

#[async_trait]
impl Executor for SimulatedExecutor {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn run(&self, job: OperationJob, sink: EventSink, cancel: CancellationToken) -> Outcome {
        sink.event(
            SIMULATED_EVENT,
            json!({ "message": NOTICE, "standin": self.standin().display().to_string() }),
        )
        .await;
        self.inner.run(job, sink, cancel).await
    }

    async fn recover(&self, job: &OperationJob) -> Result<Vec<EngineEventRecord>, RecoverError> {
        self.inner.recover(job).await
    }
}

/// [`SimulatedExecutor::new`] with the default step delay, as `byoc serve` builds it.
pub(super) async fn build(
    settings: &Settings,
    env: &EnvSnapshot,
) -> anyhow::Result<Arc<dyn Executor>> {
    let executor = SimulatedExecutor::new(settings, env, DEFAULT_STEP_DELAY).await?;
    Ok(Arc::new(executor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_never_sees_the_hosts_aws_credentials() {
        let host = EnvSnapshot::capture(
            [
                ("PATH", "/usr/bin"),
                ("AWS_ACCESS_KEY_ID", "AKIAREALKEY"),
                ("AWS_SECRET_ACCESS_KEY", "real-secret"),
                ("AWS_SESSION_TOKEN", "real-session"),
                ("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/real"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://169.254.170.23/v1",
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let env = local_env(&host);
        assert_eq!(env.get("PATH"), Some("/usr/bin"));
        assert_eq!(env.get("AWS_ACCESS_KEY_ID"), Some(LOCAL_CREDENTIALS.0));
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), Some(LOCAL_CREDENTIALS.1));
        for gone in [
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ] {
            assert_eq!(env.get(gone), None, "{gone}");
        }
    }

    #[test]
    fn the_stand_in_is_found_in_the_checkout_or_next_to_the_binary() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let nowhere = tempfile::tempdir().unwrap();
        // From the repository root.
        assert_eq!(
            locate_standin(None, root, None).unwrap(),
            root.join(STANDIN_IN_CHECKOUT)
        );
        // Elsewhere, next to target/debug/byoc.
        let exe = root.join("target/debug/byoc");
        assert_eq!(
            locate_standin(None, nowhere.path(), Some(&exe)).unwrap(),
            root.join(STANDIN_IN_CHECKOUT)
        );
        // Given: relative to the current directory, and it must exist.
        std::fs::create_dir(nowhere.path().join("bin")).unwrap();
        std::fs::write(nowhere.path().join("bin/x"), "").unwrap();
        assert_eq!(
            locate_standin(Some(Path::new("bin/x")), nowhere.path(), None).unwrap(),
            nowhere.path().join("bin/x")
        );
        let missing = locate_standin(Some(Path::new("bin/y")), nowhere.path(), None).unwrap_err();
        assert!(
            matches!(missing, SimulatedSetupError::NotFound { .. }),
            "{missing}"
        );
        // Nowhere: the error names the places searched.
        if !Path::new(STANDIN_IN_IMAGE).exists() {
            let err = locate_standin(None, nowhere.path(), None).unwrap_err();
            assert!(err.to_string().contains(STANDIN_IN_IMAGE), "{err}");
        }
    }
}
