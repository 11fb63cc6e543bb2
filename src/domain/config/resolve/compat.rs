//! Chart version against the cluster's Kubernetes version, judged by the catalog's records of
//! what each project says its releases support (`infra-yaml/catalog.yaml`, `compatibility`).

use super::catalog::{CatalogEntry, Compatibility};
use super::checks::ptr;
use crate::domain::ValidationErrors;
use crate::domain::config::ConfigWarning;

/// The cluster's Kubernetes version, when it is one byoc offers.
#[derive(Debug, Clone, Copy)]
pub struct Kube<'a> {
    /// As written (`1.NN`).
    pub version: &'a str,
    /// Its minor.
    pub minor: u32,
}

/// What the compatibility rule needs to know about one component.
pub struct Choice<'a> {
    /// JSON pointer of the component (`/components/<name>`).
    pub base: &'a str,
    /// The version the request pins, if any.
    pub requested: Option<String>,
    /// Whether the component is installed at all.
    pub enabled: bool,
    /// Whether the request keeps the catalog's chart (repository and name): the records say
    /// nothing about another chart.
    pub catalog_chart: bool,
}

/// The chart version the component gets: the pinned one, else the catalog default, else (when
/// the default does not support the cluster's Kubernetes) the first checked version that
/// does. A checked version outside its range, or no fitting default, is an error on the
/// component's `version`; a pinned version byoc has no record of gets a warning.
pub fn choose_version(
    c: Choice<'_>,
    entry: &CatalogEntry,
    kube: Option<Kube<'_>>,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<ConfigWarning>,
) -> String {
    let field = ptr(c.base, "version");
    let (Some(kube), true, true) = (kube, c.enabled, c.catalog_chart) else {
        return c.requested.unwrap_or_else(|| entry.version.clone());
    };
    let fits = |r: &&Compatibility| r.kubernetes.contains(kube.minor);
    let Some(requested) = c.requested else {
        let default = entry.record(&entry.version);
        if default.is_some_and(|r| fits(&r)) {
            return entry.version.clone();
        }
        if let Some(r) = entry.compatibility.iter().find(fits) {
            return r.version.clone();
        }
        errors.push(
            field,
            format!(
                "no {} version byoc has checked supports Kubernetes {} (checked: {}); pin \
                 `version` to one you have checked against {}, or disable the component",
                entry.chart,
                kube.version,
                checked(entry),
                kube.version
            ),
        );
        return entry.version.clone();
    };
    match entry.record(&requested) {
        Some(r) if !fits(&r) => {
            let instead: Vec<&str> = entry
                .compatibility
                .iter()
                .filter(fits)
                .map(|r| r.version.as_str())
                .collect();
            let hint = if instead.is_empty() {
                format!(
                    "no version byoc has checked does (checked: {})",
                    checked(entry)
                )
            } else {
                format!("use {}", instead.join(" or "))
            };
            errors.push(
                field,
                format!(
                    "{} {requested} supports Kubernetes {}, not {}; {hint} (source: {})",
                    entry.chart, r.kubernetes, kube.version, r.source
                ),
            );
        }
        Some(_) => {}
        None => warnings.push(ConfigWarning::new(
            field,
            format!(
                "byoc has no compatibility record for {} {requested}; make sure it supports \
                 Kubernetes {} (checked: {})",
                entry.chart,
                kube.version,
                checked(entry)
            ),
        )),
    }
    requested
}

/// `2.8.0 for 1.35–1.36, 2.6.0 for 1.34–1.35`.
fn checked(entry: &CatalogEntry) -> String {
    entry
        .compatibility
        .iter()
        .map(|r| format!("{} for {}", r.version, r.kubernetes))
        .collect::<Vec<_>>()
        .join(", ")
}
