//! Bootstrap components: catalog defaults, overrides, and the rules on both.

use super::catalog::{Catalog, CatalogEntry};
use super::checks::{dns_label, exact_version, ptr};
use super::compat::{Choice, Kube, choose_version};
use crate::domain::ValidationErrors;
use crate::domain::config::request::{ArgoRepositoryRequest, ComponentRequest, ComponentsRequest};
use crate::domain::config::{
    ArgoCdComponent, ArgoRepository, ChartRef, ComponentConfig, Components, ConfigWarning, EksMode,
    IngressComponent, IngressController,
};

/// Why an override on a disabled component is refused.
const DISABLED: &str = "has no effect on a disabled component; remove it or enable the component";

/// Why ingress-nginx is no longer the default (Kubernetes blog, "Ingress NGINX Retirement:
/// What You Need to Know", SIG Network and the Security Response Committee, 2025-11-11:
/// best-effort maintenance until March 2026, then no releases, bug fixes or security fixes).
const NGINX_RETIRED: &str = "ingress-nginx was retired upstream in March 2026 and gets no more \
     releases or security fixes; prefer `aws-load-balancer-controller` (the default)";

/// Default revision an Argo CD root application tracks.
pub const DEFAULT_TARGET_REVISION: &str = "HEAD";

/// Resolves every component against the catalog; `kube` is the cluster's Kubernetes version
/// when it is a valid one (chart versions are judged against it).
pub fn resolve_components(
    req: ComponentsRequest,
    mode: EksMode,
    kube: Option<Kube<'_>>,
    catalog: &Catalog,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<ConfigWarning>,
) -> Components {
    let mut component = |base: &str,
                         r: ComponentRequest,
                         default_on: bool,
                         entry: &CatalogEntry,
                         off_message: &str,
                         errors: &mut ValidationErrors| {
        component(
            base,
            r,
            default_on,
            entry,
            off_message,
            kube,
            errors,
            warnings,
        )
    };
    let karpenter_req = req.karpenter.unwrap_or_default();
    if mode == EksMode::Auto && karpenter_req.enabled == Some(true) {
        errors.push(
            "/components/karpenter/enabled",
            "EKS Auto Mode runs its own Karpenter; disable this component or use managed mode",
        );
    }
    let off = if mode == EksMode::Auto {
        "has no effect: Karpenter stays off in EKS Auto Mode, which brings its own; remove it"
    } else {
        DISABLED
    };
    let karpenter = component(
        "/components/karpenter",
        karpenter_req,
        mode == EksMode::Managed,
        &catalog.karpenter,
        off,
        errors,
    );
    let (argo_req, repo) = req.argocd.unwrap_or_default().split();
    let argocd = component(
        "/components/argocd",
        argo_req,
        true,
        &catalog.argocd,
        DISABLED,
        errors,
    );
    let repository = argo_repository(repo, argocd.enabled, errors);
    let (ingress_req, controller) = req.ingress.unwrap_or_default().split();
    let ingress_enabled = ingress_req.enabled.unwrap_or(true);
    if !ingress_enabled && controller.is_some() {
        errors.push("/components/ingress/controller", DISABLED);
    }
    let controller = controller.unwrap_or(IngressController::AwsLoadBalancerController);
    let nginx_warning = (ingress_enabled && controller == IngressController::IngressNginx)
        .then(|| ConfigWarning::new("/components/ingress/controller", NGINX_RETIRED));
    let entry = match controller {
        IngressController::IngressNginx => &catalog.ingress_nginx,
        IngressController::AwsLoadBalancerController => &catalog.aws_load_balancer_controller,
    };
    let ingress = component(
        "/components/ingress",
        ingress_req,
        true,
        entry,
        DISABLED,
        errors,
    );
    let components = Components {
        karpenter,
        argocd: ArgoCdComponent {
            component: argocd,
            repository,
        },
        cert_manager: component(
            "/components/cert_manager",
            req.cert_manager.unwrap_or_default(),
            true,
            &catalog.cert_manager,
            DISABLED,
            errors,
        ),
        external_secrets: component(
            "/components/external_secrets",
            req.external_secrets.unwrap_or_default(),
            true,
            &catalog.external_secrets,
            DISABLED,
            errors,
        ),
        ingress: IngressComponent {
            controller,
            component: ingress,
        },
    };
    warnings.extend(nginx_warning);
    unique_releases(&components, errors);
    components
}

#[expect(
    clippy::too_many_arguments,
    reason = "one component's inputs; a struct would only rename them"
)]
fn component(
    base: &str,
    r: ComponentRequest,
    default_on: bool,
    entry: &CatalogEntry,
    off_message: &str,
    kube: Option<Kube<'_>>,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<ConfigWarning>,
) -> ComponentConfig {
    let enabled = r.enabled.unwrap_or(default_on);
    let overrides = [
        ("version", r.version.is_some()),
        ("values", r.values.is_some()),
        ("chart_repository", r.chart_repository.is_some()),
        ("chart", r.chart.is_some()),
        ("namespace", r.namespace.is_some()),
        ("release_name", r.release_name.is_some()),
        ("service_account", r.service_account.is_some()),
    ];
    if !enabled {
        for (name, _) in overrides.iter().filter(|(_, set)| *set) {
            errors.push(ptr(base, name), off_message);
        }
    }
    let repository = r
        .chart_repository
        .unwrap_or_else(|| entry.repository.clone());
    let repo_ok = (repository.starts_with("https://") || repository.starts_with("oci://"))
        && !repository.contains(char::is_whitespace);
    if !repo_ok {
        errors.push(
            ptr(base, "chart_repository"),
            format!("`{repository}` must be an https:// or oci:// chart repository URL"),
        );
    }
    let chart = r.chart.unwrap_or_else(|| entry.chart.clone());
    errors.check(&ptr(base, "chart"), dns_label(&chart, 63));
    let pinned_ok = r.version.as_deref().is_none_or(|v| {
        errors
            .check(&ptr(base, "version"), exact_version(v))
            .is_some()
    });
    let choice = Choice {
        base,
        requested: r.version,
        enabled,
        catalog_chart: pinned_ok && repository == entry.repository && chart == entry.chart,
    };
    let version = choose_version(choice, entry, kube, errors, warnings);
    let namespace = r.namespace.unwrap_or_else(|| entry.namespace.clone());
    errors.check(&ptr(base, "namespace"), dns_label(&namespace, 63));
    // Helm caps release names at 53 characters.
    let release_name = r.release_name.unwrap_or_else(|| entry.release_name.clone());
    errors.check(&ptr(base, "release_name"), dns_label(&release_name, 53));
    let service_account = r
        .service_account
        .unwrap_or_else(|| entry.service_account.clone());
    errors.check(
        &ptr(base, "service_account"),
        dns_label(&service_account, 63),
    );
    let values = r
        .values
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    if !values.is_object() {
        errors.push(ptr(base, "values"), "must be a JSON object of Helm values");
    }
    ComponentConfig {
        enabled,
        chart: ChartRef {
            repository,
            chart,
            version,
        },
        namespace,
        release_name,
        service_account,
        values,
    }
}

fn argo_repository(
    r: Option<ArgoRepositoryRequest>,
    enabled: bool,
    errors: &mut ValidationErrors,
) -> Option<ArgoRepository> {
    let base = "/components/argocd/repository";
    let r = r?;
    if !enabled {
        errors.push(base, DISABLED);
    }
    let Some(url) = r.url else {
        errors.push(
            ptr(base, "url"),
            "the repository needs a url (root_app_path and target_revision refer to it)",
        );
        return None;
    };
    let url_ok =
        (url.starts_with("https://") || url.starts_with("ssh://") || url.starts_with("git@"))
            && !url.contains(char::is_whitespace);
    if !url_ok {
        errors.push(
            ptr(base, "url"),
            format!("`{url}` must be an https://, ssh:// or git@host:path Git URL"),
        );
    }
    if let Some(path) = &r.root_app_path {
        let ok = !path.is_empty()
            && !path.starts_with('/')
            && !path.split('/').any(|p| p == "..")
            && !path.contains(char::is_whitespace);
        if !ok {
            errors.push(
                ptr(base, "root_app_path"),
                format!("`{path}` must be a relative path inside the repository (no `..`)"),
            );
        }
    }
    let target_revision = r
        .target_revision
        .unwrap_or_else(|| DEFAULT_TARGET_REVISION.to_owned());
    if target_revision.is_empty() || target_revision.contains(char::is_whitespace) {
        errors.push(
            ptr(base, "target_revision"),
            "must be a branch, tag or commit without spaces",
        );
    }
    Some(ArgoRepository {
        url,
        root_app_path: r.root_app_path,
        target_revision,
    })
}

/// Two enabled releases with the same name in one namespace would overwrite each other.
fn unique_releases(c: &Components, errors: &mut ValidationErrors) {
    let all = [
        ("karpenter", &c.karpenter),
        ("argocd", &c.argocd.component),
        ("cert_manager", &c.cert_manager),
        ("external_secrets", &c.external_secrets),
        ("ingress", &c.ingress.component),
    ];
    for (i, (name, a)) in all.iter().enumerate() {
        let clash = all[..i].iter().find(|(_, b)| {
            a.enabled && b.enabled && a.namespace == b.namespace && a.release_name == b.release_name
        });
        if let Some((other, _)) = clash {
            errors.push(
                format!("/components/{name}/release_name"),
                format!(
                    "release `{}` in namespace `{}` is also used by {other}; pick another name",
                    a.release_name, a.namespace
                ),
            );
        }
    }
}
