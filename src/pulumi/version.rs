//! Finding the `pulumi` executable and checking its version. Only reads the `PATH` value it is
//! given; never the process environment.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use super::error::PulumiError;

/// Oldest CLI we drive. 3.100.0 (Jan 2024) is comfortably newer than every flag we pass:
/// `--event-log`, `--exec-kind`, `config set` reading stdin, `stack history --page-size/--page`
/// and `refresh --clear-pending-creates` (3.52), and the summary's `result`/`isPreview` fields.
/// It is also the version the Go SDK's own feature gates are written against (≥ 3.99 for
/// `config env ls`), so nothing an Automation-API program relies on is missing.
pub const MIN_VERSION: Version = Version {
    major: 3,
    minor: 100,
    patch: 0,
};

/// A CLI version `major.minor.patch`; pre-release and build suffixes are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl Version {
    /// Parses `v3.260.0`, `3.260.0`, `v3.101.0-alpha.x+dirty` tolerantly: leading `v` and
    /// surrounding whitespace allowed, suffix after the patch number ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let mut parts = t.splitn(3, '.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let rest = parts.next()?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let patch = digits.parse().ok()?;
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Resolves the executable: `explicit` (from `BYOC_PULUMI_BIN`) when given, else the first
/// executable `pulumi` in `path_var` (the captured `PATH`). A relative `explicit` path is made
/// absolute here, against this process's working directory: the CLI later runs with each
/// operation's workspace as its working directory, where the relative path means nothing.
pub fn locate(explicit: Option<&Path>, path_var: Option<&OsStr>) -> Result<PathBuf, PulumiError> {
    if let Some(p) = explicit {
        let p = std::path::absolute(p).map_err(|e| PulumiError::NotFound {
            detail: format!("BYOC_PULUMI_BIN={} cannot be resolved: {e}", p.display()),
        })?;
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(PulumiError::NotFound {
                detail: format!("BYOC_PULUMI_BIN={} is not an executable file", p.display()),
            })
        };
    }
    let Some(path_var) = path_var else {
        return Err(PulumiError::NotFound {
            detail: "PATH is not set".into(),
        });
    };
    std::env::split_paths(path_var)
        .map(|dir| dir.join("pulumi"))
        .find(|p| is_executable(p))
        .ok_or_else(|| PulumiError::NotFound {
            detail: "no executable `pulumi` in any PATH directory".into(),
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks the output of `pulumi version` against [`MIN_VERSION`].
pub fn check_version(bin: &Path, output: &str) -> Result<Version, PulumiError> {
    let found = Version::parse(output).ok_or_else(|| PulumiError::BadVersion {
        output: output.trim().to_owned(),
    })?;
    if found < MIN_VERSION {
        return Err(PulumiError::VersionTooOld {
            bin: bin.to_path_buf(),
            found,
            required: MIN_VERSION,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_tolerantly() {
        let v = |s| Version::parse(s);
        assert_eq!(
            v("v3.260.0\n").map(|x| x.to_string()).as_deref(),
            Some("3.260.0")
        );
        assert_eq!(v("3.101.2").map(|x| x.minor), Some(101));
        assert_eq!(v("v3.101.0-alpha.1+dirty").map(|x| x.patch), Some(0));
        assert_eq!(v("warning: foo"), None);
        assert_eq!(v("v3.1"), None);
    }

    #[test]
    fn old_versions_are_refused_naming_what_to_install() {
        let e = check_version(Path::new("/x/pulumi"), "v3.99.9").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, PulumiError::VersionTooOld { .. }));
        assert!(
            msg.contains("3.100.0") && msg.contains("BYOC_PULUMI_BIN"),
            "{msg}"
        );
        assert!(check_version(Path::new("/x"), "v3.100.0").is_ok());
    }

    #[test]
    fn missing_binary_names_the_setting() {
        let e = locate(None, Some(OsStr::new("/nonexistent-dir"))).unwrap_err();
        assert!(e.to_string().contains("BYOC_PULUMI_BIN"));
        let e = locate(Some(Path::new("/nonexistent/pulumi")), None).unwrap_err();
        assert!(e.to_string().contains("BYOC_PULUMI_BIN"));
    }
}
