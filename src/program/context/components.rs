//! Template context for the bootstrap components: chart coordinates, namespaces (created
//! once each), release names and service accounts, and the user's Helm values (merged
//! after rendering, so they never pass through template text).

use serde_json::{Value, json};

use crate::domain::config::{ComponentConfig, EnvironmentConfig, IngressController};
use crate::program::{RenderError, RenderInput};

/// Namespaces that exist in every cluster and must not be created.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Builds `components` (per-component context), `namespaces` and `release_values`.
pub fn build(
    input: &RenderInput<'_>,
    cfg: &EnvironmentConfig,
    managed: bool,
) -> Result<Value, RenderError> {
    let c = &cfg.components;
    let ingress = &c.ingress.component;
    let lbc = c.ingress.controller == IngressController::AwsLoadBalancerController;
    // Karpenter only runs on managed node groups: Auto Mode brings its own.
    let selected: [(&str, &ComponentConfig, bool); 5] = [
        ("karpenter", &c.karpenter, c.karpenter.enabled && managed),
        ("cert_manager", &c.cert_manager, c.cert_manager.enabled),
        (
            "external_secrets",
            &c.external_secrets,
            c.external_secrets.enabled,
        ),
        ("ingress", ingress, ingress.enabled),
        ("argocd", &c.argocd.component, c.argocd.component.enabled),
    ];
    let mut namespaces: Vec<String> = selected
        .iter()
        .filter(|(_, _, on)| *on)
        .map(|(_, comp, _)| comp.namespace.clone())
        .filter(|ns| !SYSTEM_NAMESPACES.contains(&ns.as_str()))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let ns_ref = |ns: &str| {
        namespaces
            .iter()
            .position(|n| n == ns)
            .map(|i| format!("namespace{i}"))
    };

    let mut out = serde_json::Map::new();
    let mut release_values = serde_json::Map::new();
    for (key, comp, on) in selected {
        if !on {
            out.insert(key.to_owned(), Value::Null);
            continue;
        }
        if !comp.values.is_object() && !comp.values.is_null() {
            return Err(RenderError::ValuesNotAnObject { component: key });
        }
        let release = format!("{}Release", camel(key));
        let (chart, repo) = match comp.chart.repository.strip_prefix("oci://") {
            Some(_) => (
                format!(
                    "{}/{}",
                    comp.chart.repository.trim_end_matches('/'),
                    comp.chart.chart
                ),
                Value::Null,
            ),
            None => (comp.chart.chart.clone(), json!(comp.chart.repository)),
        };
        // Argo CD's service account has no AWS role; every other chart's does (or may).
        let sa_path = if key == "argocd" {
            vec!["server", "serviceAccount", "name"]
        } else {
            vec!["serviceAccount", "name"]
        };
        release_values.insert(
            release.clone(),
            json!({"values": comp.values, "sa_path": sa_path, "service_account": comp.service_account}),
        );
        out.insert(
            key.to_owned(),
            json!({
                "release": release,
                "release_name": comp.release_name,
                "namespace": comp.namespace,
                "ns_ref": ns_ref(&comp.namespace),
                "service_account": comp.service_account,
                "chart": chart,
                "repo": repo,
                "version": comp.chart.version,
            }),
        );
    }
    if let Some(Value::Object(ing)) = out.get_mut("ingress") {
        ing.insert("lbc".into(), json!(lbc));
    }
    if let Some(Value::Object(argo)) = out.get_mut("argocd") {
        // Always present (null when unset): templates run with strict undefined checks.
        let repo = c.argocd.repository.as_ref().map(|repo| {
            json!({"url": repo.url, "root_app_path": repo.root_app_path, "target_revision": repo.target_revision})
        });
        argo.insert("repository".into(), json!(repo));
    }
    out.insert(
        "secrets_prefix".into(),
        json!(format!("byoc/{}/{}", input.slug, input.env)),
    );
    Ok(json!({
        "by_name": out,
        "namespaces": namespaces.iter().enumerate()
            .map(|(i, n)| json!({"id": format!("namespace{i}"), "name": n})).collect::<Vec<_>>(),
        "release_values": release_values,
    }))
}

/// `cert_manager` → `certManager`.
fn camel(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for ch in key.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}
