//! The `components` section of the request: bootstrap charts and their overrides.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::config::IngressController;

/// Bootstrap components; defaults from the catalog in `infra-yaml/catalog.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentsRequest {
    /// Karpenter: on by default in managed mode; cannot be enabled in Auto Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub karpenter: Option<ComponentRequest>,
    /// Argo CD, on by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argocd: Option<ArgoCdRequest>,
    /// cert-manager, on by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<ComponentRequest>,
    /// External Secrets Operator, on by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secrets: Option<ComponentRequest>,
    /// Ingress controller, on by default (`aws-load-balancer-controller`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressRequest>,
}

/// One bootstrap component. Every override other than `enabled` is refused on a disabled
/// component, since it would be ignored. The Helm repository override is `chart_repository`
/// (not `repository`) on every component, because Argo CD's `repository` is its Git repository.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRequest {
    /// Install it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Exact chart version (no ranges), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra Helm values (a JSON object) merged over byoc's.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Chart repository URL (`https://…` or `oci://…`), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_repository: Option<String>,
    /// Chart name, default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Namespace (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Helm release name (DNS-1123 label, ≤ 53 chars), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Service account the chart creates (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

// The common fields are repeated rather than `#[serde(flatten)]`ed: serde cannot combine
// `flatten` with `deny_unknown_fields`, and a misspelt key must be an error, not ignored.
/// Argo CD: the common component settings plus an optional Git repository.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdRequest {
    /// Install it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Exact chart version (no ranges), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra Helm values (a JSON object) merged over byoc's.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Chart repository URL (`https://…` or `oci://…`), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_repository: Option<String>,
    /// Chart name, default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Namespace (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Helm release name (DNS-1123 label, ≤ 53 chars), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Service account the chart creates (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Git repository Argo CD tracks, optionally with a root app-of-apps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<ArgoRepositoryRequest>,
}

/// Argo CD's Git repository (credentials are not stored in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoRepositoryRequest {
    /// Git URL (`https://…`, `ssh://…` or `git@host:path`); required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Relative path of the root app-of-apps; absent means no root application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_app_path: Option<String>,
    /// Revision the root application tracks, default `HEAD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
}

/// The ingress controller component.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressRequest {
    /// Install it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `aws-load-balancer-controller` (default) or `ingress-nginx` (retired upstream in March
    /// 2026: accepted with a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<IngressController>,
    /// Exact chart version (no ranges), default from the catalog entry of the controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra Helm values (a JSON object) merged over byoc's.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Chart repository URL (`https://…` or `oci://…`), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_repository: Option<String>,
    /// Chart name, default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Namespace (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Helm release name (DNS-1123 label, ≤ 53 chars), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Service account the chart creates (DNS-1123 label), default from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

impl ArgoCdRequest {
    /// Splits off the common component settings.
    pub fn split(self) -> (ComponentRequest, Option<ArgoRepositoryRequest>) {
        let common = ComponentRequest {
            enabled: self.enabled,
            version: self.version,
            values: self.values,
            chart_repository: self.chart_repository,
            chart: self.chart,
            namespace: self.namespace,
            release_name: self.release_name,
            service_account: self.service_account,
        };
        (common, self.repository)
    }
}

impl IngressRequest {
    /// Splits off the common component settings.
    pub fn split(self) -> (ComponentRequest, Option<IngressController>) {
        let common = ComponentRequest {
            enabled: self.enabled,
            version: self.version,
            values: self.values,
            chart_repository: self.chart_repository,
            chart: self.chart,
            namespace: self.namespace,
            release_name: self.release_name,
            service_account: self.service_account,
        };
        (common, self.controller)
    }
}
