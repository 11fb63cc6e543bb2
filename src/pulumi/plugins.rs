//! Whether the provider plugins the rendered programs pin are baked into `PULUMI_HOME`. The
//! production image installs them from tarballs verified against recorded checksums and writes
//! `$PULUMI_HOME/plugins/BYOC_PLUGINS_VERIFIED`, one `resource-<name>-v<version> <sha256>` line
//! per plugin (docker/Dockerfile, README "Production image"). Without that file the CLI
//! downloads the plugins at first use, unverified by byoc — unless
//! `PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true`, when nothing can run at all.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::program::{AWS_PLUGIN_VERSION, KUBERNETES_PLUGIN_VERSION};

/// The marker file the production image writes.
pub const VERIFIED_FILE: &str = "BYOC_PLUGINS_VERIFIED";

/// What `/ready` and the startup log say about the provider plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PluginStatus {
    /// The marker lists exactly the pinned versions, each with a checksum.
    pub baked: bool,
    /// The versions the programs pin (`aws`, `kubernetes`).
    pub versions: BTreeMap<String, String>,
    /// The CLI may download missing plugins at first use.
    pub automatic_acquisition: bool,
}

impl PluginStatus {
    /// Reads the marker under `pulumi_home`.
    pub fn inspect(pulumi_home: &Path, automatic_acquisition: bool) -> Self {
        let marker = std::fs::read_to_string(pulumi_home.join("plugins").join(VERIFIED_FILE))
            .unwrap_or_default();
        let listed: BTreeMap<&str, &str> = marker
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                Some((parts.next()?, parts.next()?))
            })
            .collect();
        let versions = pinned();
        let baked = versions.iter().all(|(name, version)| {
            let key = format!("resource-{name}-v{version}");
            listed
                .get(key.as_str())
                .is_some_and(|sha| sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()))
        });
        Self {
            baked,
            versions,
            automatic_acquisition,
        }
    }

    /// Operations can run: the plugins are baked, or the CLI may fetch them.
    pub fn usable(&self) -> bool {
        self.baked || self.automatic_acquisition
    }

    /// Logs the state once, at startup: INFO when baked, WARN otherwise.
    pub fn log(&self) {
        let (aws, k8s) = (&self.versions["aws"], &self.versions["kubernetes"]);
        if self.baked {
            tracing::info!(plugins.aws = %aws, plugins.kubernetes = %k8s, "provider plugins baked and checksum-verified");
        } else if self.automatic_acquisition {
            tracing::warn!(
                "provider plugins not baked: pulumi downloads aws v{aws} / kubernetes v{k8s} at \
                 first use, not checksum-verified; use the production image in production"
            );
        } else {
            tracing::warn!(
                "provider plugins not baked and PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true: \
                 operations will fail until aws v{aws} / kubernetes v{k8s} are installed \
                 (use the production image)"
            );
        }
    }
}

fn pinned() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("aws".to_owned(), AWS_PLUGIN_VERSION.to_owned()),
        (
            "kubernetes".to_owned(),
            KUBERNETES_PLUGIN_VERSION.to_owned(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(home: &Path, text: &str) {
        std::fs::create_dir_all(home.join("plugins")).unwrap();
        std::fs::write(home.join("plugins").join(VERIFIED_FILE), text).unwrap();
    }

    #[test]
    fn baked_only_when_the_marker_lists_the_pinned_versions_with_checksums() {
        let home = tempfile::tempdir().unwrap();
        let missing = PluginStatus::inspect(home.path(), true);
        assert!(!missing.baked && missing.usable());
        assert!(!PluginStatus::inspect(home.path(), false).usable());
        let sha = "a".repeat(64);
        marker(
            home.path(),
            &format!(
                "resource-aws-v0.0.1 {sha}\nresource-kubernetes-v{KUBERNETES_PLUGIN_VERSION} {sha}\n"
            ),
        );
        assert!(
            !PluginStatus::inspect(home.path(), false).usable(),
            "other versions"
        );
        marker(
            home.path(),
            &format!(
                "resource-aws-v{AWS_PLUGIN_VERSION} {sha}\nresource-kubernetes-v{KUBERNETES_PLUGIN_VERSION} {sha}\n"
            ),
        );
        let baked = PluginStatus::inspect(home.path(), false);
        assert!(baked.baked && baked.usable());
    }
}
