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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::resolve::checks::{dns_label, exact_version};

    #[test]
    fn embedded_catalog_parses_and_pins_exact_versions() {
        let c = catalog().expect("catalog parses");
        for e in [
            &c.karpenter,
            &c.argocd,
            &c.cert_manager,
            &c.external_secrets,
            &c.ingress_nginx,
            &c.aws_load_balancer_controller,
        ] {
            exact_version(&e.version).expect("pinned");
            dns_label(&e.namespace, 63).expect("namespace");
            dns_label(&e.release_name, 53).expect("release");
            dns_label(&e.service_account, 63).expect("sa");
        }
    }
}
