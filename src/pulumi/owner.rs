//! Which process owns which workspaces. Every process that runs the CLI (`byoc serve`, each
//! `byoc worker`) may share one workspace parent, so each creates its workspaces in a folder of
//! its own, `byoc-proc-<pid>-<random>/`, and holds an exclusive `flock(2)` on its `.lock` file
//! for as long as it lives. The kernel drops that lock when the process dies, however it dies
//! (SIGKILL included), so "I can take the lock" proves the owner is gone: only then is a
//! folder swept, with the workspaces — and the tenant AWS profile inside them — it left behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::error::PulumiError;

/// Name prefix of a process's workspace folder.
pub const OWNER_PREFIX: &str = "byoc-proc-";
/// The lock file inside it.
const LOCK_FILE: &str = ".lock";

/// This process's workspace folder, locked while the value lives.
#[derive(Debug)]
pub struct WorkspaceRoot {
    dir: PathBuf,
    parent: PathBuf,
    // Holding the flock; released (and the folder left for the next sweep) when dropped.
    _lock: Flock<File>,
}

impl WorkspaceRoot {
    /// Creates and locks a fresh folder for this process under `parent` (0700).
    pub fn claim(parent: &Path) -> Result<Self, PulumiError> {
        fs::create_dir_all(parent)
            .map_err(|e| PulumiError::io(format!("creating {}", parent.display()), e))?;
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let dir = parent.join(format!("{OWNER_PREFIX}{}-{suffix}", std::process::id()));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| PulumiError::io(format!("creating {}", dir.display()), e))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| PulumiError::io("creating the workspace lock", e))?;
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        // For people looking at the folder; the flock is what counts.
        let _ = writeln!(file, "pid {} host {host}", std::process::id());
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| PulumiError::io("locking the workspace folder", e.into()))?;
        Ok(Self {
            dir,
            parent: parent.to_owned(),
            _lock: lock,
        })
    }

    /// Where this process creates its workspaces.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the folders of processes that are provably dead (their lock can be taken);
    /// never this process's, never a live one's. Returns how many were removed.
    pub fn sweep_dead(&self) -> Result<usize, PulumiError> {
        sweep_dead(&self.parent, Some(&self.dir))
    }
}

/// [`WorkspaceRoot::sweep_dead`] for a parent this process owns nothing in.
pub fn sweep_dead(parent: &Path, keep: Option<&Path>) -> Result<usize, PulumiError> {
    let entries = match fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(PulumiError::io(format!("listing {}", parent.display()), e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let owned = entry
            .file_name()
            .to_string_lossy()
            .starts_with(OWNER_PREFIX);
        if !owned || Some(path.as_path()) == keep || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if owner_is_dead(&path) {
            fs::remove_dir_all(&path)
                .map_err(|e| PulumiError::io(format!("removing {}", path.display()), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// True when nobody holds the folder's lock. A folder without a lock file is one whose owner
/// died between creating it and its lock file: dead too.
fn owner_is_dead(dir: &Path) -> bool {
    let file = match OpenOptions::new().read(true).open(dir.join(LOCK_FILE)) {
        Ok(f) => f,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    // Taken: the owner is gone; the lock is dropped again right away, before the removal.
    Flock::lock(file, FlockArg::LockExclusiveNonblock).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_is_kept_and_a_dead_one_swept() {
        let parent = tempfile::tempdir().unwrap();
        let mine = WorkspaceRoot::claim(parent.path()).unwrap();
        let other = WorkspaceRoot::claim(parent.path()).unwrap();
        fs::write(other.dir().join("aws-config"), "x").unwrap();
        // `other` is alive (its lock is held): neither sweep touches it.
        assert_eq!(mine.sweep_dead().unwrap(), 0);
        assert!(other.dir().exists());
        let gone = other.dir().to_owned();
        drop(other);
        assert_eq!(mine.sweep_dead().unwrap(), 1);
        assert!(!gone.exists());
        assert!(mine.dir().exists(), "never its own");
    }
}
