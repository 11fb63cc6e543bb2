//! The bootstrap component catalog (`infra-yaml/catalog.yaml`), embedded at build time.

use std::sync::OnceLock;

use serde::Deserialize;

/// Default chart and release settings of one component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Chart repository URL.
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Pinned chart version.
    pub version: String,
    /// Namespace.
    pub namespace: String,
    /// Helm release name.
    pub release_name: String,
    /// Service account name.
    pub service_account: String,
    /// The chart versions byoc has checked, newest first (the default among them).
    pub compatibility: Vec<Compatibility>,
}

/// The Kubernetes minors one chart version supports, per its project.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compatibility {
    /// Exact chart version.
    pub version: String,
    /// Supported Kubernetes minors.
    pub kubernetes: KubeRange,
    /// Where the range was read (project, file, section).
    pub source: String,
}

/// An inclusive range of Kubernetes minors (`1.NN`); no `max` when the project states only a
/// lower bound.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeRange {
    /// Oldest supported minor.
    pub min: String,
    /// Newest supported minor, if the project states one.
    pub max: Option<String>,
}

impl KubeRange {
    /// Whether Kubernetes `1.<minor>` is inside the range (bounds that do not parse exclude
    /// everything; a test keeps the shipped catalog parseable).
    pub fn contains(&self, minor: u32) -> bool {
        let above_min = kube_minor(&self.min).is_some_and(|m| minor >= m);
        let below_max = match &self.max {
            None => true,
            Some(max) => kube_minor(max).is_some_and(|m| minor <= m),
        };
        above_min && below_max
    }
}

impl std::fmt::Display for KubeRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.max {
            Some(max) if *max == self.min => write!(f, "{max}"),
            Some(max) => write!(f, "{}–{max}", self.min),
            None => write!(f, "{} or later", self.min),
        }
    }
}

impl CatalogEntry {
    /// The checked record of chart `version`, if any.
    pub fn record(&self, version: &str) -> Option<&Compatibility> {
        self.compatibility.iter().find(|c| c.version == version)
    }
}

/// The minor of a `1.NN` Kubernetes version.
pub fn kube_minor(v: &str) -> Option<u32> {
    let m = v.strip_prefix("1.")?;
    let ok = !m.is_empty() && m.len() <= 2 && m.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| m.parse().ok()).flatten()
}

/// Every catalog entry, keyed as in the YAML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Karpenter.
    pub karpenter: CatalogEntry,
    /// Argo CD.
    pub argocd: CatalogEntry,
    /// cert-manager.
    pub cert_manager: CatalogEntry,
    /// External Secrets Operator.
    pub external_secrets: CatalogEntry,
    /// ingress-nginx.
    pub ingress_nginx: CatalogEntry,
    /// AWS Load Balancer Controller.
    pub aws_load_balancer_controller: CatalogEntry,
}

const CATALOG_YAML: &str = include_str!("../../../../infra-yaml/catalog.yaml");

/// The embedded catalog; an error only if the file shipped in the binary is broken (a test
/// guards against that).
pub fn catalog() -> Result<&'static Catalog, &'static str> {
    static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
    CATALOG
        .get_or_init(|| yaml_serde::from_str(CATALOG_YAML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

/// The catalog's identity: the first 12 hex digits of the SHA-256 of the embedded file. Two
/// builds pin the same component versions exactly when it is the same.
pub fn catalog_identity() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(CATALOG_YAML.as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// The release a deploy runs with: byoc's version and the catalog's identity
/// (`byoc 0.1.0+catalog.0123456789ab`).
pub fn release() -> String {
    format!(
        "byoc {}+catalog.{}",
        env!("CARGO_PKG_VERSION"),
        catalog_identity()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::resolve::checks::{dns_label, exact_version};
    use crate::domain::config::resolve::versions::DEFAULT_EKS_VERSION;

    fn all(c: &Catalog) -> [&CatalogEntry; 6] {
        [
            &c.karpenter,
            &c.argocd,
            &c.cert_manager,
            &c.external_secrets,
            &c.ingress_nginx,
            &c.aws_load_balancer_controller,
        ]
    }

    #[test]
    fn embedded_catalog_parses_and_pins_exact_versions() {
        let c = catalog().expect("catalog parses");
        for e in all(c) {
            exact_version(&e.version).expect("pinned");
            dns_label(&e.namespace, 63).expect("namespace");
            dns_label(&e.release_name, 53).expect("release");
            dns_label(&e.service_account, 63).expect("sa");
            assert!(
                e.record(&e.version).is_some(),
                "{}: default not listed",
                e.chart
            );
            for c in &e.compatibility {
                exact_version(&c.version).expect("listed version pinned");
                assert!(kube_minor(&c.kubernetes.min).is_some(), "{}", c.version);
                if let Some(max) = &c.kubernetes.max {
                    assert!(
                        kube_minor(max) >= kube_minor(&c.kubernetes.min),
                        "{}",
                        c.version
                    );
                }
                assert!(!c.source.trim().is_empty(), "{}: no source", c.version);
            }
        }
    }

    /// The defaults must work together: every default pin supports the default Kubernetes
    /// version (the one a config without `eks_config.version` gets).
    #[test]
    fn every_default_pin_supports_the_default_kubernetes_version() {
        let c = catalog().expect("catalog parses");
        let default = kube_minor(DEFAULT_EKS_VERSION).expect("default parses");
        for e in all(c) {
            let record = e.record(&e.version).expect("default listed");
            assert!(
                record.kubernetes.contains(default),
                "{} {} supports Kubernetes {}, not the default {DEFAULT_EKS_VERSION}",
                e.chart,
                e.version,
                record.kubernetes
            );
        }
    }

    #[test]
    fn ranges_include_their_bounds_only() {
        let r = KubeRange {
            min: "1.32".into(),
            max: Some("1.35".into()),
        };
        assert!(!r.contains(31) && r.contains(32) && r.contains(35) && !r.contains(36));
        assert_eq!(r.to_string(), "1.32–1.35");
        let open = KubeRange {
            min: "1.22".into(),
            max: None,
        };
        assert!(!open.contains(21) && open.contains(40));
        assert_eq!(open.to_string(), "1.22 or later");
        assert_eq!(kube_minor("1.035"), None);
        assert_eq!(kube_minor("v1.35"), None);
    }
}
