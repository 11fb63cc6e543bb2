//! `byoc dev`: try the whole lifecycle without AWS, in one command. It starts a local AWS
//! endpoint (a moto server, unless one is given), then `byoc serve` on the SIMULATED engine
//! (the pulumi stand-in against its fake cloud, `executor::SimulatedExecutor`) in a temporary
//! data directory (or `--data-dir`), creates an admin token and prints it with the console's
//! URL under a banner saying that nothing is deployed. Ctrl-C stops the server and the moto
//! it started and removes the temporary directory.
//!
//! Its settings are its own: it reads neither `.env` nor the `BYOC_*` server settings of the
//! shell, so a real configuration (credentials, a state bucket) can never leak into it.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{AwsRegion, Role};
use crate::executor::{SIMULATED_NOTICE, SimulatedExecutor};
use crate::pulumi::EnvSnapshot;
use crate::settings::Settings;

/// What `byoc dev` was asked for (the clap arguments, `cli::DevArgs`).
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Listen address of the API and console.
    pub bind: SocketAddr,
    /// Data directory to keep; `None`: a temporary one, removed on exit.
    pub data_dir: Option<PathBuf>,
    /// A running local AWS endpoint; `None`: start `moto`.
    pub aws_endpoint: Option<String>,
    /// The moto server program.
    pub moto: PathBuf,
    /// The pulumi stand-in; `None`: the checkout's.
    pub standin: Option<PathBuf>,
    /// Time each simulated resource step takes.
    pub step_delay: Duration,
}

/// How long moto gets to answer after it was started.
const MOTO_START: Duration = Duration::from_secs(30);

/// The name of the admin token each start creates.
const TOKEN_NAME: &str = "byoc-dev";

/// Runs the simulated control plane until SIGINT/SIGTERM.
pub async fn dev(options: DevOptions, env: EnvSnapshot) -> anyhow::Result<()> {
    // The stand-in first: a missing python or PyYAML is the likeliest problem, found at once.
    let standin = crate::executor::locate_standin(
        options.standin.as_deref(),
        &std::env::current_dir()?,
        std::env::current_exe().ok().as_deref(),
    )?;
    crate::executor::check_standin(&standin, &crate::executor::simulated_env(&env)).await?;
    let temp = match &options.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("byoc-dev-")
                .tempdir()
                .map_err(|e| anyhow::anyhow!("cannot create a temporary data directory: {e}"))?,
        ),
    };
    let data_dir = match (&options.data_dir, &temp) {
        (Some(dir), _) => std::path::absolute(dir)?,
        (None, Some(t)) => t.path().to_owned(),
        (None, None) => unreachable!("a temporary directory was created above"),
    };
    let (endpoint, moto) = match &options.aws_endpoint {
        Some(url) => (url.clone(), None),
        None => {
            let moto = Moto::start(&options.moto, &data_dir)?;
            (moto.url.clone(), Some(moto))
        }
    };
    let mut settings = settings(&options, &data_dir, &endpoint, &standin)?;
    super::create_data_dir(&settings)?;
    // The principal tenant roles trust: the account of the local endpoint's identity.
    let account = caller_account(&settings).await?;
    settings.aws.trusted_principal_arn = Some(format!("arn:aws:iam::{account}:root"));
    let token = issue_token(&settings)?;
    let executor = SimulatedExecutor::new(&settings, &env, options.step_delay).await?;
    let aws = crate::executor::simulated_aws(&settings).await;
    let server = super::start_with_aws(settings, Arc::new(executor), aws)
        .map_err(|e| e.context(format!("byoc dev --bind {}", options.bind)))?;
    print_banner(&Banner {
        addr: server.addr,
        token: &token,
        endpoint: &endpoint,
        started_moto: moto.is_some(),
        data_dir: &data_dir,
        temporary: temp.is_some(),
    });
    // actix stops the HTTP server on SIGINT/SIGTERM; then the workers, then moto.
    let result = server.done.await;
    server.shutdown.cancel();
    if let Some(w) = server.workers_done {
        let _ = w.await;
    }
    drop(moto);
    drop(temp);
    println!("byoc dev: stopped (the simulated stacks, if any, were never real).");
    result??;
    Ok(())
}

/// The server settings of a dev run: defaults, plus the simulated engine, the local endpoint
/// and the data directory. Nothing comes from the environment.
fn settings(
    options: &DevOptions,
    data_dir: &Path,
    endpoint: &str,
    standin: &Path,
) -> anyhow::Result<Settings> {
    let pairs = [
        ("BYOC_EXECUTOR", "simulated".to_owned()),
        ("BYOC_AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("BYOC_BIND", options.bind.to_string()),
        ("BYOC_DATA_DIR", data_dir.display().to_string()),
        // Short lease and poll: a cancel reaches the stand-in quickly.
        ("BYOC_LEASE_SECONDS", "15".to_owned()),
        ("BYOC_POLL_MILLIS", "250".to_owned()),
        ("BYOC_CANCEL_GRACE_SECONDS", "10".to_owned()),
        ("BYOC_SHUTDOWN_GRACE_SECONDS", "15".to_owned()),
    ];
    let mut settings = Settings::from_lookup(|k| {
        pairs
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })?;
    settings.pulumi.bin = Some(standin.to_owned());
    Ok(settings)
}

/// Asks the local endpoint who we are (STS GetCallerIdentity): proves it answers like AWS.
async fn caller_account(settings: &Settings) -> anyhow::Result<String> {
    let aws = crate::executor::simulated_aws(settings).await;
    let endpoint = settings.aws.endpoint_url.as_deref().unwrap_or_default();
    let identity = aws
        .sts_client(&AwsRegion::default())
        .await
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "the local AWS endpoint {endpoint} did not answer STS GetCallerIdentity: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            )
        })?;
    identity
        .account
        .ok_or_else(|| anyhow::anyhow!("the local AWS endpoint {endpoint} named no account"))
}

/// A new admin token for this run (earlier runs' tokens on a kept data dir stay valid).
fn issue_token(settings: &Settings) -> anyhow::Result<SecretString> {
    let (pool, _) = super::open(settings)?;
    let (_, token) = crate::store::tokens::issue(&mut *pool.get()?, TOKEN_NAME, Role::Admin)?;
    Ok(token)
}

/// What the banner shows.
struct Banner<'a> {
    addr: SocketAddr,
    token: &'a SecretString,
    endpoint: &'a str,
    started_moto: bool,
    data_dir: &'a Path,
    temporary: bool,
}

/// Printed once on stdout (like the first admin token of `byoc serve`), never logged.
fn print_banner(b: &Banner<'_>) {
    let url = format!("http://{}", b.addr);
    let rule = "=".repeat(78);
    let token = b.token.expose_secret();
    let moto = if b.started_moto {
        "moto, started by byoc dev"
    } else {
        "given with --aws-endpoint"
    };
    let data = if b.temporary {
        "temporary: removed on exit; keep it with --data-dir"
    } else {
        "kept"
    };
    println!(
        "{rule}\n\
         byoc dev: SIMULATED — NOTHING IS DEPLOYED\n\
         {SIMULATED_NOTICE}\n\
         {rule}\n\
         Console       {url}/\n\
         API           {url}/api/v1  (Swagger UI: {url}/docs/)\n\
         Admin token   {token}\n\
         CLI           echo '{token}' | byoc login --url {url} --context dev\n\
         AWS endpoint  {endpoint}  ({moto})\n\
         Data          {data_dir}  ({data})\n\
         Onboarding: the local endpoint accepts any role, so `verify` passes without creating \
         the customer role.\n\
         Stop with Ctrl-C.\n\
         {rule}",
        endpoint = b.endpoint,
        data_dir = b.data_dir.display(),
    );
}

/// A moto server started for this run; killed when dropped (and by the kernel when this
/// process dies first).
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Starts `program -H 127.0.0.1 -p PORT`, logging to `<data dir>/moto.log`, and waits
    /// until it accepts connections.
    fn start(program: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| anyhow::anyhow!("no free local port for moto: {e}"))?
            .port();
        let log_path = data_dir.join("moto.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the
        // parent; it makes the kernel stop moto if `byoc dev` is killed before its Drop runs.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                    .map_err(std::io::Error::from)
            });
        }
        let child = command.spawn().map_err(|e| {
            anyhow::anyhow!(
                "cannot start the local AWS endpoint `{}`: {e}. Install moto \
                 (`pip install 'moto[server]'`) or pass --aws-endpoint URL of a running one",
                program.display()
            )
        })?;
        let mut moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + MOTO_START;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(moto);
            }
            if let Some(status) = moto.child.try_wait()? {
                anyhow::bail!(
                    "moto exited ({status}) before it listened; its log: {}",
                    log_path.display()
                );
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "moto did not listen on port {port} within {} s; its log: {}",
                    MOTO_START.as_secs(),
                    log_path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // It may have exited already; nothing else to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
