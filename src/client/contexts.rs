//! The client's config file: named contexts (server URL + token) and the current one, in
//! `$XDG_CONFIG_HOME/byoc/config.toml`. The directory is kept 0700 and the file 0600, written
//! atomically (a private temp file renamed over the old one).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ClientError;

/// The whole config file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Name of the context commands use when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// Contexts by name.
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// One server and the token to use with it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Context {
    /// Server URL, without a trailing slash.
    pub url: String,
    /// Bearer token.
    pub token: String,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("url", &self.url)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Where the config file lives.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    dir: PathBuf,
}

impl ConfigStore {
    /// The store in `dir` (`…/byoc`), or an error saying which variable to set.
    pub fn new(dir: Option<PathBuf>) -> Result<Self, ClientError> {
        dir.map(|dir| Self { dir }).ok_or_else(|| {
            ClientError::Usage(
                "cannot locate the config file: set HOME or XDG_CONFIG_HOME".to_owned(),
            )
        })
    }

    /// Path of `config.toml`.
    pub fn path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// Reads the file; a missing file is an empty config.
    pub fn load(&self) -> Result<ConfigFile, ClientError> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => return Err(file_error(&path, e)),
        };
        if std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            eprintln!(
                "warning: {} holds tokens and is readable by others: chmod 600 it",
                path.display()
            );
        }
        toml::from_str(&text).map_err(|e| ClientError::ConfigFile {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes the file: directory 0700, file 0600, replaced atomically.
    pub fn save(&self, config: &ConfigFile) -> Result<(), ClientError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| file_error(&self.dir, e))?;
        // An existing directory keeps its mode unless we tighten it: tokens live here.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| file_error(&self.dir, e))?;
        let text = toml::to_string_pretty(config).map_err(|e| ClientError::ConfigFile {
            path: self.path(),
            reason: e.to_string(),
        })?;
        // NamedTempFile is created 0600 in the same directory, so the rename is atomic and the
        // token is never readable by others, not even for a moment.
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| file_error(tmp.path(), e))?;
        tmp.persist(self.path())
            .map_err(|e| file_error(&self.path(), e.error))?;
        Ok(())
    }
}

fn file_error(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::ConfigFile {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn saved_file_is_private_and_round_trips() {
        let home = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(Some(home.path().join("byoc"))).unwrap();
        assert!(store.load().unwrap().contexts.is_empty());
        let mut config = ConfigFile::default();
        config.contexts.insert(
            "prod".into(),
            Context {
                url: "https://byoc.example.com".into(),
                token: "byoc_secret".into(),
            },
        );
        config.current_context = Some("prod".into());
        store.save(&config).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&home.path().join("byoc")), 0o700);
        let back = store.load().unwrap();
        assert_eq!(back.current_context.as_deref(), Some("prod"));
        assert_eq!(back.contexts["prod"].token, "byoc_secret");
        assert!(!format!("{back:?}").contains("byoc_secret"));
    }
}
