//! Bootstrap component rules.

use serde_json::json;

use super::*;
use crate::domain::config::IngressController;

fn component(name: &str, c: serde_json::Value) -> serde_json::Value {
    json!({"components": {name: c}})
}

#[test]
fn karpenter_defaults_follow_the_mode() {
    assert!(
        ok(json!({"eks_mode": "managed"}))
            .components
            .karpenter
            .enabled
    );
    assert!(!ok(json!({"eks_mode": "auto"})).components.karpenter.enabled);
    ok(json!({"eks_mode": "auto", "components": {"karpenter": {"enabled": false}}}));
    rejects(
        json!({"eks_mode": "auto", "components": {"karpenter": {"enabled": true}}}),
        "/components/karpenter/enabled",
        "Auto Mode",
    );
}

#[test]
fn chart_versions_must_be_exact() {
    let c = ok(component("cert_manager", json!({"version": "v1.18.0"})));
    assert_eq!(c.components.cert_manager.chart.version, "v1.18.0");
    ok(component(
        "argocd",
        json!({"version": "8.0.0-rc.1+build.5"}),
    ));
    for bad in [
        "^1.2.0",
        "~1.2",
        "1.x",
        "*",
        "1.2",
        ">=1.0.0",
        "1.2.3 || 1.3.0",
    ] {
        rejects(
            component("argocd", json!({"version": bad})),
            "/components/argocd/version",
            "not an exact version",
        );
    }
}

#[test]
fn names_must_be_dns_labels() {
    let c = ok(component(
        "external_secrets",
        json!({"namespace": "eso", "release_name": "eso", "service_account": "eso-sa"}),
    ));
    assert_eq!(c.components.external_secrets.namespace, "eso");
    rejects(
        component("external_secrets", json!({"namespace": "Secrets"})),
        "/components/external_secrets/namespace",
        "lowercase",
    );
    rejects(
        component("argocd", json!({"release_name": "a".repeat(54)})),
        "/components/argocd/release_name",
        "1–53",
    );
    rejects(
        component("karpenter", json!({"service_account": "-sa"})),
        "/components/karpenter/service_account",
        "lowercase",
    );
    rejects(
        component("karpenter", json!({"chart": "Karpenter"})),
        "/components/karpenter/chart",
        "lowercase",
    );
}

#[test]
fn chart_repository_must_be_https_or_oci() {
    ok(component(
        "karpenter",
        json!({"chart_repository": "oci://registry.example.com/charts"}),
    ));
    rejects(
        component(
            "karpenter",
            json!({"chart_repository": "http://charts.example.com"}),
        ),
        "/components/karpenter/chart_repository",
        "https:// or oci://",
    );
}

#[test]
fn values_must_be_an_object() {
    let c = ok(component(
        "ingress",
        json!({"values": {"controller": {"replicaCount": 2}}}),
    ));
    assert_eq!(
        c.components.ingress.component.values["controller"]["replicaCount"],
        2
    );
    rejects(
        component("ingress", json!({"values": "replicaCount: 2"})),
        "/components/ingress/values",
        "JSON object",
    );
}

#[test]
fn overrides_on_a_disabled_component_are_refused() {
    ok(component("cert_manager", json!({"enabled": false})));
    rejects(
        component("cert_manager", json!({"enabled": false, "values": {}})),
        "/components/cert_manager/values",
        "disabled component",
    );
    rejects(
        component(
            "ingress",
            json!({"enabled": false, "chart_repository": "https://x.example"}),
        ),
        "/components/ingress/chart_repository",
        "disabled component",
    );
    rejects(
        component(
            "ingress",
            json!({"enabled": false, "controller": "ingress-nginx"}),
        ),
        "/components/ingress/controller",
        "disabled component",
    );
    rejects(
        component(
            "argocd",
            json!({"enabled": false, "repository": {"url": "https://github.com/a/b"}}),
        ),
        "/components/argocd/repository",
        "disabled component",
    );
}

#[test]
fn ingress_controller_choice_picks_its_catalog_entry_in_both_modes() {
    for mode in ["auto", "managed"] {
        let c = ok(
            json!({"eks_mode": mode, "components": {"ingress": {"controller": "aws-load-balancer-controller"}}}),
        );
        assert_eq!(
            c.components.ingress.controller,
            IngressController::AwsLoadBalancerController
        );
        assert_eq!(
            c.components.ingress.component.chart.chart,
            "aws-load-balancer-controller"
        );
    }
    let e =
        parse_request(component("ingress", json!({"controller": "traefik"}))).expect_err("enum");
    assert_eq!(e.0[0].field, "/components/ingress/controller");
}

#[test]
fn argocd_repository_is_checked() {
    let c = ok(component(
        "argocd",
        json!({"repository": {"url": "git@github.com:acme/gitops.git", "root_app_path": "clusters/prod", "target_revision": "main"}}),
    ));
    assert_eq!(
        c.components.argocd.repository.map(|r| r.target_revision),
        Some("main".to_owned())
    );
    let at = "/components/argocd/repository";
    rejects(
        component("argocd", json!({"repository": {"root_app_path": "apps"}})),
        &format!("{at}/url"),
        "needs a url",
    );
    rejects(
        component("argocd", json!({"repository": {"url": "ftp://x"}})),
        &format!("{at}/url"),
        "Git URL",
    );
    rejects(
        component(
            "argocd",
            json!({"repository": {"url": "https://x.example/r", "root_app_path": "../etc"}}),
        ),
        &format!("{at}/root_app_path"),
        "relative path",
    );
    rejects(
        component(
            "argocd",
            json!({"repository": {"url": "https://x.example/r", "target_revision": "a b"}}),
        ),
        &format!("{at}/target_revision"),
        "without spaces",
    );
}

#[test]
fn releases_must_not_collide_in_a_namespace() {
    ok(component("cert_manager", json!({"namespace": "tools"})));
    rejects(
        json!({"components": {"cert_manager": {"namespace": "tools", "release_name": "x"}, "external_secrets": {"namespace": "tools", "release_name": "x"}}}),
        "/components/external_secrets/release_name",
        "also used by cert_manager",
    );
}

#[test]
fn the_default_ingress_is_the_load_balancer_controller_and_nginx_is_advised_against() {
    let c = ok(json!({}));
    assert_eq!(
        c.components.ingress.controller,
        IngressController::AwsLoadBalancerController
    );
    assert_eq!(
        c.components.ingress.component.chart.chart,
        "aws-load-balancer-controller"
    );
    assert!(c.warnings.is_empty());

    let nginx = ok(component("ingress", json!({"controller": "ingress-nginx"})));
    assert_eq!(
        nginx.components.ingress.component.chart.chart,
        "ingress-nginx"
    );
    assert_eq!(nginx.warnings.len(), 1, "{:?}", nginx.warnings);
    assert_eq!(nginx.warnings[0].field, "/components/ingress/controller");
    assert!(nginx.warnings[0].message.contains("retired"));
    assert_round_trip(&nginx);

    let off = ok(component("ingress", json!({"enabled": false})));
    assert!(off.warnings.is_empty());
}

#[test]
fn keys_pulumi_yaml_reads_as_builtins_are_refused_where_they_are() {
    // The report of issue 13: with the real CLI this read the workspace's AWS config.
    rejects(
        component(
            "cert_manager",
            json!({"values": {"x": {"fn::readFile": "aws-config"}}}),
        ),
        "/components/cert_manager/values/x/fn::readFile",
        "builtin",
    );
    rejects(
        component("argocd", json!({"values": {"a": [{"FN::Invoke": {}}]}})),
        "/components/argocd/values/a/0/FN::Invoke",
        "builtin",
    );
    rejects(
        json!({"tags": {"fn::aws:ssm:getParameter": "x"}}),
        "/tags/fn::aws:ssm:getParameter",
        "builtin",
    );
    rejects(
        json!({"eks_config": {"addons": {"vpc_cni": {"configuration": {"Fn::fileAsset": "x"}}}}}),
        "/eks_config/addons/vpc_cni/configuration/Fn::fileAsset",
        "builtin",
    );
    // Interpolation is escaped, not refused: `${` and `$$` are data.
    let c = ok(component(
        "cert_manager",
        json!({"values": {"x": "$${externalId}"}}),
    ));
    assert_eq!(c.components.cert_manager.values["x"], "$${externalId}");
}

/// Chart versions against the cluster's Kubernetes version (`infra-yaml/catalog.yaml`,
/// `compatibility`): Karpenter 1.5.0 supports 1.26–1.33, 1.14.1 supports 1.26–1.36.
#[test]
fn a_pinned_version_outside_its_kubernetes_range_is_refused() {
    rejects(
        component("karpenter", json!({"version": "1.5.0"})),
        "/components/karpenter/version",
        "karpenter 1.5.0 supports Kubernetes 1.26–1.33, not 1.35; use 1.14.1",
    );
    rejects(
        json!({"eks_config": {"version": "1.34"}, "components": {"argocd": {"version": "8.0.0"}}}),
        "/components/argocd/version",
        "supports Kubernetes 1.29–1.32, not 1.34",
    );
    // The same pin on a cluster it supports is accepted without advice about it.
    let c = ok(json!({"eks_version": "1.33", "components": {
        "karpenter": {"version": "1.5.0"}, "external_secrets": {"enabled": false}}}));
    assert_eq!(c.components.karpenter.chart.version, "1.5.0");
    assert!(
        c.warnings
            .iter()
            .all(|w| w.field != "/components/karpenter/version"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn the_default_gives_way_to_a_checked_version_that_supports_the_cluster() {
    // External Secrets 2.8.0 (the default) is tested on 1.35–1.36, 2.6.0 on 1.34–1.35.
    let eso = |c: &crate::domain::config::EnvironmentConfig| {
        c.components.external_secrets.chart.version.clone()
    };
    assert_eq!(eso(&ok(json!({}))), "2.8.0");
    let on_134 = ok(json!({"eks_version": "1.34"}));
    assert_eq!(eso(&on_134), "2.6.0");
    assert!(on_134.warnings.is_empty(), "{:?}", on_134.warnings);
    assert_round_trip(&on_134);
}

#[test]
fn no_checked_version_for_the_cluster_is_refused_unless_pinned_or_disabled() {
    rejects(
        json!({"eks_version": "1.33"}),
        "/components/external_secrets/version",
        "no external-secrets version byoc has checked supports Kubernetes 1.33 (checked: 2.8.0 \
         for 1.35–1.36, 2.6.0 for 1.34–1.35)",
    );
    ok(json!({"eks_version": "1.33", "components": {"external_secrets": {"enabled": false}}}));
    // A version byoc has no record of is the user's call: accepted, with a warning.
    let c = ok(
        json!({"eks_version": "1.33", "components": {"external_secrets": {"version": "2.5.0"}}}),
    );
    assert_eq!(c.components.external_secrets.chart.version, "2.5.0");
    let w = c
        .warnings
        .iter()
        .find(|w| w.field == "/components/external_secrets/version")
        .expect("a warning about the unrecorded version");
    assert!(
        w.message
            .contains("no compatibility record for external-secrets 2.5.0"),
        "{}",
        w.message
    );
}

#[test]
fn records_say_nothing_about_another_chart_or_a_disabled_component() {
    let other_repo = ok(component(
        "karpenter",
        json!({"version": "1.5.0", "chart_repository": "oci://registry.example.com/charts"}),
    ));
    assert_eq!(other_repo.components.karpenter.chart.version, "1.5.0");
    assert!(other_repo.warnings.is_empty(), "{:?}", other_repo.warnings);
    // A Kubernetes version byoc does not offer is reported once, at its own field.
    let errs =
        errors(json!({"eks_version": "1.36", "components": {"karpenter": {"version": "1.5.0"}}}));
    assert!(errs.iter().any(|e| e.field == "/eks_version"), "{errs:#?}");
    assert!(
        errs.iter().all(|e| !e.field.starts_with("/components")),
        "{errs:#?}"
    );
    // ingress-nginx 4.12.3 supports 1.28–1.32, but the ingress is off.
    rejects(
        json!({"components": {"ingress": {"enabled": false, "version": "4.12.3"}}}),
        "/components/ingress/version",
        "no effect on a disabled component",
    );
}
