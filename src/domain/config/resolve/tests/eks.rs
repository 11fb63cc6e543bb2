//! EKS cluster rules: version, service CIDR, access, logging, encryption, addons.

use serde_json::json;

use super::*;
use crate::domain::config::{AccessScope, AuthenticationMode};

fn access(a: serde_json::Value) -> serde_json::Value {
    json!({"eks_config": {"access": a}})
}

fn no_components() -> serde_json::Value {
    json!({"karpenter": {"enabled": false}, "argocd": {"enabled": false},
        "cert_manager": {"enabled": false}, "external_secrets": {"enabled": false}, "ingress": {"enabled": false}})
}

#[test]
fn eks_version_must_be_one_eks_still_creates() {
    ok(json!({"eks_config": {"version": "1.34"}}));
    ok(json!({"eks_version": "1.35"}));
    rejects(
        json!({"eks_version": "1.31"}),
        "/eks_version",
        "no longer creates clusters on 1.31",
    );
    rejects(
        json!({"eks_config": {"version": "1.36"}}),
        "/eks_config/version",
        "use 1.32 to 1.35",
    );
    rejects(
        json!({"eks_config": {"version": "1.31; rm -rf /"}}),
        "/eks_config/version",
        "not an EKS version",
    );
    rejects(
        json!({"eks_version": "2.1"}),
        "/eks_version",
        "not an EKS version",
    );
}

#[test]
fn a_version_in_extended_support_is_saved_with_a_warning() {
    // No External Secrets release byoc has checked is tested on 1.33 (see the components
    // tests), so it is off here.
    let eso_off = json!({"external_secrets": {"enabled": false}});
    let c = ok(json!({"eks_version": "1.33", "components": eso_off}));
    assert_eq!(c.eks.version, "1.33");
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].field, "/eks_version");
    assert!(
        c.warnings[0].message.contains("extended support"),
        "{}",
        c.warnings[0].message
    );
    // The same version before its end of standard support needs no advice.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 7, 28).unwrap();
    let before = run_on(
        json!({"eks_config": {"version": "1.33"}, "components": eso_off}),
        day,
    )
    .unwrap();
    assert!(before.warnings.is_empty(), "{:?}", before.warnings);
    assert!(ok(json!({"eks_version": "1.34"})).warnings.is_empty());
}

#[test]
fn service_cidr_is_checked() {
    ok(json!({"eks_config": {"service_ipv4_cidr": "192.168.0.0/20"}}));
    let f = "/eks_config/service_ipv4_cidr";
    rejects(
        json!({"eks_config": {"service_ipv4_cidr": "bad"}}),
        f,
        "not an IPv4 CIDR",
    );
    rejects(
        json!({"eks_config": {"service_ipv4_cidr": "172.16.0.0/25"}}),
        f,
        "/12 to /24",
    );
    rejects(
        json!({"eks_config": {"service_ipv4_cidr": "10.0.0.0/20"}}),
        f,
        "overlaps the VPC CIDR 10.0.0.0/16",
    );
    rejects(
        json!({"vpc_config": {"secondary_cidr_blocks": ["172.20.0.0/16"]}}),
        f,
        "overlaps the VPC CIDR 172.20.0.0/16",
    );
    rejects(
        json!({"eks_config": {"service_ipv4_cidr": "100.64.0.0/16"}}),
        f,
        "must lie in",
    );
}

#[test]
fn endpoint_access_needs_one_of_private_or_public() {
    ok(access(
        json!({"endpoint_private_access": false, "endpoint_public_access": true}),
    ));
    rejects(
        access(json!({"endpoint_private_access": false, "endpoint_public_access": false})),
        "/eks_config/access/endpoint_public_access",
        "at least one",
    );
}

#[test]
fn public_cidrs_default_to_everything_only_with_public_access() {
    let c = ok(access(json!({"public_access_cidrs": ["198.51.100.0/24"]})));
    assert_eq!(
        c.eks.access.public_access_cidrs[0].to_string(),
        "198.51.100.0/24"
    );
    let mut body = access(json!({"endpoint_public_access": false}));
    body["components"] = no_components();
    assert!(ok(body).eks.access.public_access_cidrs.is_empty());
    rejects(
        access(
            json!({"endpoint_public_access": false, "public_access_cidrs": ["198.51.100.0/24"]}),
        ),
        "/eks_config/access/public_access_cidrs",
        "has no effect",
    );
    rejects(
        access(json!({"public_access_cidrs": ["198.51.100.1/24"]})),
        "/eks_config/access/public_access_cidrs/0",
        "host bits",
    );
    rejects(
        access(json!({"public_access_cidrs": []})),
        "/eks_config/access/public_access_cidrs",
        "at least one",
    );
}

#[test]
fn private_only_endpoint_with_bootstrap_components_is_refused() {
    let mut body = access(json!({"endpoint_public_access": false}));
    body["components"] = no_components();
    ok(body);
    rejects(
        access(json!({"endpoint_public_access": false})),
        "/eks_config/access/endpoint_public_access",
        "deploy worker",
    );
}

#[test]
fn config_map_authentication_is_refused_in_auto_mode() {
    let c = ok(json!({"eks_config": {"access": {"authentication_mode": "CONFIG_MAP"}}}));
    assert_eq!(
        c.eks.access.authentication_mode,
        AuthenticationMode::ConfigMap
    );
    rejects(
        json!({"eks_mode": "auto", "eks_config": {"access": {"authentication_mode": "CONFIG_MAP"}}}),
        "/eks_config/access/authentication_mode",
        "Auto Mode",
    );
    rejects(
        access(
            json!({"authentication_mode": "CONFIG_MAP", "access_entries": [{"principal_arn": "arn:aws:iam::123456789012:role/a"}]}),
        ),
        "/eks_config/access/access_entries",
        "API or API_AND_CONFIG_MAP",
    );
}

#[test]
fn access_entries_are_checked() {
    let c = ok(access(
        json!({"access_entries": [{"principal_arn": "arn:aws:iam::123456789012:role/path/admins"}]}),
    ));
    assert_eq!(
        c.eks.access.access_entries[0].policy,
        "AmazonEKSClusterAdminPolicy"
    );
    assert_eq!(
        c.eks.access.access_entries[0].access_scope,
        AccessScope::Cluster
    );
    let at = "/eks_config/access/access_entries/0";
    let entry = |e: serde_json::Value| access(json!({"access_entries": [e]}));
    rejects(
        entry(json!({"principal_arn": "arn:aws:s3:::bucket"})),
        &format!("{at}/principal_arn"),
        "IAM role or user ARN",
    );
    rejects(
        entry(json!({"principal_arn": "arn:aws-cn:iam::123456789012:role/a"})),
        &format!("{at}/principal_arn"),
        "IAM role",
    );
    rejects(
        entry(json!({"principal_arn": "arn:aws:iam::123456789012:role/a", "policy": "Admin"})),
        &format!("{at}/policy"),
        "AmazonEKSViewPolicy",
    );
    rejects(
        entry(
            json!({"principal_arn": "arn:aws:iam::123456789012:role/a", "access_scope": "namespace"}),
        ),
        &format!("{at}/namespaces"),
        "at least one namespace",
    );
    rejects(
        entry(json!({"principal_arn": "arn:aws:iam::123456789012:role/a", "namespaces": ["x"]})),
        &format!("{at}/namespaces"),
        "cluster scope",
    );
    rejects(
        entry(
            json!({"principal_arn": "arn:aws:iam::123456789012:role/a", "access_scope": "namespace", "namespaces": ["Bad_NS"]}),
        ),
        &format!("{at}/namespaces/0"),
        "lowercase",
    );
    rejects(
        access(
            json!({"access_entries": [{"principal_arn": "arn:aws:iam::123456789012:role/a"}, {"principal_arn": "arn:aws:iam::123456789012:role/a"}]}),
        ),
        "/eks_config/access/access_entries/1/principal_arn",
        "one per principal",
    );
}

#[test]
fn logging_types_are_checked() {
    let c = ok(json!({"eks_config": {"logging_types": ["scheduler"]}}));
    assert_eq!(c.eks.logging.types, vec!["scheduler"]);
    rejects(
        json!({"eks_config": {"logging_types": ["apiserver"]}}),
        "/eks_config/logging_types/0",
        "not a log type",
    );
    rejects(
        json!({"eks_config": {"logging_types": ["api", "api"]}}),
        "/eks_config/logging_types/1",
        "twice",
    );
    rejects(
        json!({"eks_config": {"logging_enabled": false, "logging_types": ["api"]}}),
        "/eks_config/logging_types",
        "has no effect",
    );
    rejects(
        json!({"eks_config": {"logging_enabled": true, "logging_types": []}}),
        "/eks_config/logging_types",
        "at least one",
    );
}

#[test]
fn encryption_key_is_checked() {
    let c = ok(
        json!({"eks_config": {"encryption_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab"}}),
    );
    assert!(c.eks.encryption.kms_key_arn.is_some());
    let f = "/eks_config/encryption_kms_key_arn";
    rejects(
        json!({"eks_config": {"encryption_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/x"}}),
        f,
        "not a KMS key ARN in us-east-1",
    );
    rejects(
        json!({"eks_config": {"encryption_kms_key_arn": "alias/mine"}}),
        f,
        "not a KMS key ARN",
    );
    rejects(
        json!({"eks_config": {"encryption_enabled": false, "encryption_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/x"}}),
        f,
        "has no effect",
    );
}

#[test]
fn auto_mode_addons_cannot_be_enabled() {
    let c = ok(
        json!({"eks_mode": "auto", "eks_config": {"addons": {"vpc_cni": {"enabled": false}, "efs_csi_driver": {"enabled": true}}}}),
    );
    assert!(
        !c.eks.addons.vpc_cni.enabled
            && !c.eks.addons.coredns.enabled
            && c.eks.addons.efs_csi_driver.enabled
    );
    for addon in [
        "vpc_cni",
        "coredns",
        "kube_proxy",
        "ebs_csi_driver",
        "pod_identity_agent",
    ] {
        rejects(
            json!({"eks_mode": "auto", "eks_config": {"addons": {addon: {"enabled": true}}}}),
            &format!("/eks_config/addons/{addon}/enabled"),
            "Auto Mode brings",
        );
    }
}

#[test]
fn addon_settings_are_checked() {
    ok(
        json!({"eks_config": {"addons": {"coredns": {"version": "v1.11.4-eksbuild.2", "configuration": {"replicaCount": 3}}}}}),
    );
    rejects(
        json!({"eks_config": {"addons": {"coredns": {"version": "latest"}}}}),
        "/eks_config/addons/coredns/version",
        "eksbuild",
    );
    rejects(
        json!({"eks_config": {"addons": {"coredns": {"configuration": [1]}}}}),
        "/eks_config/addons/coredns/configuration",
        "JSON object",
    );
    rejects(
        json!({"eks_config": {"addons": {"efs_csi_driver": {"version": "v2.1.0-eksbuild.1"}}}}),
        "/eks_config/addons/efs_csi_driver/version",
        "disabled addon",
    );
}
