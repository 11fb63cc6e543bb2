//! A private, throw-away directory per CLI run holding the program and caller files; removed on
//! drop. Workspaces live in their process's folder (`owner.rs`), which is swept once that
//! process is provably dead.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::PulumiError;
use crate::domain::names::StackName;

/// Name prefix of every workspace directory.
pub const WORKSPACE_PREFIX: &str = "byoc-ws-";

/// Name of the event log the operations write inside the workspace.
pub const EVENT_LOG: &str = "eventlog.txt";

/// An RAII guard around a fresh 0700 directory; the directory is deleted when dropped.
#[derive(Debug)]
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// Creates a workspace under `parent` holding `Pulumi.yaml` (project + program in one file,
    /// `docs/pulumi-contract.md` §6.1).
    pub fn create(parent: &Path, program_yaml: &str) -> Result<Self, PulumiError> {
        fs::create_dir_all(parent).map_err(|e| {
            PulumiError::io(format!("creating workspace root {}", parent.display()), e)
        })?;
        let dir = tempfile::Builder::new()
            .prefix(WORKSPACE_PREFIX)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(parent)
            .map_err(|e| PulumiError::io("creating workspace", e))?;
        let ws = Self { dir };
        ws.write_file("Pulumi.yaml", program_yaml.as_bytes(), 0o600)?;
        Ok(ws)
    }

    /// `Pulumi.yaml` as written by [`Workspace::create`]: a run reads its program back from
    /// here when it needs it again instead of holding it while the CLI runs (issue 16: memory
    /// per operation in flight).
    pub fn read_program(&self) -> Result<String, PulumiError> {
        fs::read_to_string(self.path().join("Pulumi.yaml"))
            .map_err(|e| PulumiError::io("reading workspace file Pulumi.yaml", e))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where operations write `--event-log`.
    pub fn event_log_path(&self) -> PathBuf {
        self.path().join(EVENT_LOG)
    }

    /// Writes `Pulumi.<stack>.yaml` (stack settings such as `secretsprovider` or config),
    /// replacing the file the CLI may have written (a new file renamed over it, 0600).
    pub fn write_stack_settings(&self, stack: &StackName, yaml: &str) -> Result<(), PulumiError> {
        let name = format!("Pulumi.{stack}.yaml");
        let tmp = format!(".{name}.new");
        let _ = fs::remove_file(self.path().join(&tmp));
        self.write_file(&tmp, yaml.as_bytes(), 0o600)?;
        fs::rename(self.path().join(&tmp), self.path().join(&name))
            .map_err(|e| PulumiError::io(format!("writing workspace file {name}"), e))
    }

    /// `Pulumi.<stack>.yaml` as it is now (`None` when the CLI wrote none).
    pub fn read_stack_settings(&self, stack: &StackName) -> Result<Option<String>, PulumiError> {
        let name = format!("Pulumi.{stack}.yaml");
        match fs::read_to_string(self.path().join(&name)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PulumiError::io(format!("reading workspace file {name}"), e)),
        }
    }

    /// Writes a private file (mode 0600), e.g. an AWS shared-config file, and returns its path.
    /// `name` must be a plain file name.
    pub fn write_private_file(&self, name: &str, contents: &[u8]) -> Result<PathBuf, PulumiError> {
        self.write_file(name, contents, 0o600)?;
        Ok(self.path().join(name))
    }

    fn write_file(&self, name: &str, contents: &[u8], mode: u32) -> Result<(), PulumiError> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(PulumiError::io(
                format!("workspace file name {name:?}"),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain file name"),
            ));
        }
        let path = self.path().join(name);
        // `mode` applies at creation, so the content is never readable by others, not even
        // briefly; `create_new` refuses to follow a planted symlink.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| PulumiError::io(format!("writing workspace file {name}"), e))?;
        f.write_all(contents)
            .map_err(|e| PulumiError::io(format!("writing workspace file {name}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_is_private_and_removed_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let ws = Workspace::create(root.path(), "name: p\nruntime: yaml\n").unwrap();
        let path = ws.path().to_path_buf();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let f = ws
            .write_private_file("aws-config", b"[profile t]\n")
            .unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(ws.write_private_file("../escape", b"x").is_err());
        drop(ws);
        assert!(!path.exists());
    }

    /// A run drops its rendered program once the workspace holds it and reads it back for
    /// pending-operation repair (`executor::local::operation`): what it reads is what was
    /// written, byte for byte.
    #[test]
    fn the_program_reads_back_as_written() {
        let root = tempfile::tempdir().unwrap();
        let yaml = "name: p\nruntime: yaml\nresources:\n  b:\n    type: aws:s3:Bucket\n";
        let ws = Workspace::create(root.path(), yaml).unwrap();
        assert_eq!(ws.read_program().unwrap(), yaml);
    }
}
