//! Programs rendered from configs produced by the real request parser and resolver (not
//! hand-built `EnvironmentConfig`s): what users actually save must render and validate.

use byoc::domain::AwsRegion;
use byoc::domain::config::{parse_request, resolve};
use byoc::program::validate;
use chrono::NaiveDate;
use serde_json::json;

use crate::support::render_config;

fn requests() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("empty body", json!({})),
        (
            "spec minimal",
            json!({"eks_mode": "managed", "node_group_config": {"desired_size": 2}}),
        ),
        (
            "spec flat fields",
            json!({"vpc_cidr": "10.20.0.0/16", "eks_version": "1.34", "eks_mode": "managed",
            "availability_zones": ["eu-west-1a", "eu-west-1b"]}),
        ),
        ("auto mode", json!({"eks_config": {"mode": "auto"}})),
        (
            "one NAT per AZ, 2 AZs",
            json!({"availability_zone_count": 2,
            "vpc_config": {"nat_gateway_strategy": "one_per_az"}}),
        ),
        (
            "no NAT with endpoints",
            json!({"vpc_config": {"nat_gateway_strategy": "none",
            "vpc_endpoints": {"s3": true, "ecr_api": true, "ecr_dkr": true, "sts": true}}}),
        ),
        (
            "secondary CIDR pods",
            json!({"vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16"]}}),
        ),
        (
            "auto mode with secondary CIDR",
            json!({"eks_config": {"mode": "auto"},
            "vpc_config": {"secondary_cidr_blocks": ["100.64.0.0/16"]}}),
        ),
        (
            "every component off",
            json!({"components": {
            "karpenter": {"enabled": false}, "argocd": {"enabled": false},
            "cert_manager": {"enabled": false}, "external_secrets": {"enabled": false},
            "ingress": {"enabled": false}}}),
        ),
        (
            "ingress-nginx, explicitly",
            json!({"components": {"ingress": {"controller": "ingress-nginx"}}}),
        ),
        (
            "Kubernetes version in extended support",
            json!({"eks_config": {"version": "1.32", "mode": "auto"},
            // No External Secrets release byoc has checked is tested on 1.32.
            "components": {"external_secrets": {"enabled": false}}}),
        ),
        (
            "argo with root app",
            json!({"components": {"argocd": {"repository": {
            "url": "https://github.com/acme/platform.git", "root_app_path": "apps/"}}}}),
        ),
        (
            "small VPC, logging, own KMS key",
            json!({"vpc_config": {"cidr_block": "10.9.0.0/24"},
            "eks_config": {"logging_enabled": true,
                "encryption_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}),
        ),
    ]
}

#[test]
fn every_resolved_request_renders_a_valid_program() {
    let region = AwsRegion::parse("eu-west-1").unwrap();
    // The day the default Kubernetes version was chosen: support windows are judged on it.
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    for (name, body) in requests() {
        let request = parse_request(body.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let config = resolve(request, &region, today).unwrap_or_else(|e| panic!("{name}: {e}"));
        let program = render_config(&config);
        let problems = validate(&program);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}
