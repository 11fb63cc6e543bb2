//! Startup of the local executor: private directories, the default `file://` state directory,
//! the passphrase, and the runner configuration. Runs once, before any operation.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;

use crate::pulumi::{EnvSnapshot, PulumiError, RunnerConfig, WorkspaceRoot};
use crate::settings::Settings;

/// File in the data dir holding the generated passphrase when `PULUMI_CONFIG_PASSPHRASE` is
/// unset (mode 0600, created once, then reused: losing it makes every stack's secrets
/// unreadable).
pub const PASSPHRASE_FILE: &str = "pulumi.passphrase";

/// Why the local executor could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalSetupError {
    /// A directory or file the executor needs could not be created or read.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The passphrase file exists but is unusable.
    #[error(
        "the passphrase file {path} is empty: restore it from a backup or set \
         PULUMI_CONFIG_PASSPHRASE (stacks created with the old passphrase cannot be read otherwise)"
    )]
    EmptyPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The CLI is missing or unusable (the message names `BYOC_PULUMI_BIN`).
    #[error(transparent)]
    Pulumi(#[from] PulumiError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalSetupError {
    let context = context.into();
    move |source| LocalSetupError::Io { context, source }
}

/// What `prepare` produced: the runner config and this process's (absolute, locked)
/// workspace folder.
pub(super) struct Prepared {
    pub runner: RunnerConfig,
    pub workspaces: WorkspaceRoot,
}

/// Creates the directories, sweeps stale workspaces, loads the passphrase and builds the
/// runner configuration. Paths are made absolute: the CLI runs with the workspace as its cwd.
pub(super) fn prepare(
    settings: &Settings,
    env: EnvSnapshot,
    extra_env: Vec<(String, String)>,
) -> Result<Prepared, LocalSetupError> {
    let data_dir = &settings.data.dir;
    fs::create_dir_all(data_dir).map_err(io(format!("creating {}", data_dir.display())))?;
    let p = &settings.pulumi;
    let home = absolute(&p.home(data_dir))?;
    private_dir(&home)?;
    let workspace_dir = absolute(&p.workspace_dir(data_dir))?;
    private_dir(&workspace_dir)?;
    // Other processes may share this folder: only workspaces of provably dead ones go.
    let workspaces = WorkspaceRoot::claim(&workspace_dir)?;
    let swept = workspaces.sweep_dead()?;
    if swept > 0 {
        tracing::warn!(
            count = swept,
            "removed the workspaces of processes that died"
        );
    }
    if p.backend_url.is_none() {
        // The default backend is `file://<data dir>/state`; the CLI wants it to exist.
        private_dir(&data_dir.join("state"))?;
    }
    let passphrase = match &p.passphrase {
        Some(phrase) => phrase.clone(),
        None => load_or_create_passphrase(&data_dir.join(PASSPHRASE_FILE))?,
    };
    let mut runner = RunnerConfig::new(env, home, p.backend_url(data_dir));
    runner.bin = p.bin.clone();
    runner.passphrase = Some(passphrase);
    runner.cancel_grace = p.cancel_grace;
    runner.extra_env = extra_env;
    Ok(Prepared { runner, workspaces })
}

fn absolute(path: &Path) -> Result<PathBuf, LocalSetupError> {
    std::path::absolute(path).map_err(io(format!("resolving {}", path.display())))
}

/// Creates `dir` (and parents) and makes it 0700.
fn private_dir(dir: &Path) -> Result<(), LocalSetupError> {
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(io(format!("making {} private", dir.display())))
}

/// Reads the passphrase file, or creates it (0600, `create_new`, so two starting workers
/// cannot both write one) with 32 random bytes, hex-encoded.
pub(super) fn load_or_create_passphrase(path: &Path) -> Result<SecretString, LocalSetupError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut f) => {
            let mut bytes = [0u8; 32];
            OsRng.fill_bytes(&mut bytes);
            let phrase = hex::encode(bytes);
            f.write_all(phrase.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io(format!("writing {}", path.display())))?;
            tracing::info!(path = %path.display(), "generated the pulumi passphrase");
            Ok(SecretString::from(phrase))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut text = String::new();
            OpenOptions::new()
                .read(true)
                .open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .map_err(io(format!("reading {}", path.display())))?;
            let phrase = text.trim();
            if phrase.is_empty() {
                return Err(LocalSetupError::EmptyPassphrase {
                    path: path.to_owned(),
                });
            }
            Ok(SecretString::from(phrase.to_owned()))
        }
        Err(e) => Err(io(format!("creating {}", path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn passphrase_is_generated_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PASSPHRASE_FILE);
        let first = load_or_create_passphrase(&path).unwrap();
        assert_eq!(first.expose_secret().len(), 64);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create_passphrase(&path).unwrap();
        assert_eq!(first.expose_secret(), again.expose_secret());
    }

    #[test]
    fn an_empty_passphrase_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PASSPHRASE_FILE);
        fs::write(&path, "\n").unwrap();
        let err = load_or_create_passphrase(&path).unwrap_err();
        assert!(
            err.to_string().contains("PULUMI_CONFIG_PASSPHRASE"),
            "{err}"
        );
    }

    #[test]
    fn directories_are_private_and_paths_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_data_dir(dir.path().join("data"));
        let prepared = prepare(&settings, EnvSnapshot::default(), Vec::new()).unwrap();
        let ws = prepared.workspaces.dir().to_owned();
        assert!(ws.is_absolute());
        for d in [&ws, &prepared.runner.pulumi_home] {
            let mode = fs::metadata(d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        assert!(dir.path().join("data/state").is_dir());
        assert!(prepared.runner.backend_url.starts_with("file:///"));
        assert!(dir.path().join("data").join(PASSPHRASE_FILE).is_file());
    }
}
