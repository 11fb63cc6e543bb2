//! Rendered Pulumi programs: a matrix of configs that must validate and be deterministic,
//! structural rules per case, validator negative tests, and snapshots of representative
//! programs.

#[path = "program/injection.rs"]
mod injection;
#[path = "program/resolved.rs"]
mod resolved;
#[path = "program/structure.rs"]
mod structure;
#[path = "program/support.rs"]
mod support;
#[path = "program/validator.rs"]
mod validator;

use byoc::domain::config::{EksMode, IngressController, NatStrategy};
use byoc::program::{Program, validate};
use serde_json::Value;
use support::{Case, Toggles, render_config, sample_config};

fn assert_valid_and_deterministic(case: &Case) -> Program {
    let config = sample_config(case);
    let program = render_config(&config);
    assert_eq!(
        program,
        render_config(&config),
        "rendering is not deterministic: {case:?}"
    );
    let problems = validate(&program);
    assert!(
        problems.is_empty(),
        "{case:?}:\n{}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    structure::check(case, program.yaml());
    assert_eq!(
        support::render_checked_config(&config).expect("render_checked accepts it"),
        program,
        "render_checked must emit exactly what render does: {case:?}"
    );
    program
}

/// mode × NAT × AZs × secondary CIDRs × ingress controller, with every component on.
fn matrix() -> Vec<Case> {
    let mut cases = Vec::new();
    for mode in [EksMode::Auto, EksMode::Managed] {
        for nat in [
            NatStrategy::None,
            NatStrategy::Single,
            NatStrategy::OnePerAz,
        ] {
            for az_count in [2, 3] {
                for secondary in [false, true] {
                    for ingress in [
                        IngressController::IngressNginx,
                        IngressController::AwsLoadBalancerController,
                    ] {
                        cases.push(Case {
                            mode,
                            nat,
                            az_count,
                            secondary,
                            components: Toggles::all(ingress),
                        });
                    }
                }
            }
        }
    }
    cases
}

#[test]
fn every_matrix_program_validates_and_is_deterministic() {
    let cases = matrix();
    assert_eq!(cases.len(), 48);
    for case in &cases {
        assert_valid_and_deterministic(case);
    }
}

#[test]
fn each_component_can_be_turned_off_on_its_own() {
    for mode in [EksMode::Auto, EksMode::Managed] {
        let base = Case {
            mode,
            nat: NatStrategy::Single,
            az_count: 3,
            secondary: true,
            components: Toggles::all(IngressController::IngressNginx),
        };
        let toggles: [fn(&mut Toggles); 5] = [
            |t| t.karpenter = false,
            |t| t.argocd = false,
            |t| t.cert_manager = false,
            |t| t.external_secrets = false,
            |t| t.ingress = None,
        ];
        for off in toggles {
            let mut case = base;
            off(&mut case.components);
            assert_valid_and_deterministic(&case);
        }
        assert_valid_and_deterministic(&Case {
            components: Toggles::none(),
            ..base
        });
    }
}

#[test]
fn releases_exist_only_for_enabled_components() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::none(),
    };
    let doc = structure::Doc::parse(assert_valid_and_deterministic(&case).yaml());
    assert!(doc.of_type("kubernetes:helm.sh/v3:Release").is_empty());
    assert!(doc.of_type("kubernetes:core/v1:Namespace").is_empty());
}

#[test]
fn availability_zones_are_looked_up_with_the_tenant_provider_when_not_named() {
    let case = Case {
        mode: EksMode::Auto,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::none(),
    };
    let doc = structure::Doc::parse(assert_valid_and_deterministic(&case).yaml());
    let invoke = &doc.0["variables"]["availabilityZones"]["fn::invoke"];
    assert_eq!(invoke["arguments"]["state"], "available");
    assert_eq!(invoke["options"]["provider"], "${awsProvider}");
    assert_eq!(
        doc.0["resources"]["privateSubnet1"]["properties"]["availabilityZone"],
        "${availabilityZones[1]}"
    );
}

#[test]
fn config_values_cannot_inject_yaml_or_interpolations() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::all(IngressController::IngressNginx),
    };
    let mut config = sample_config(&case);
    let evil = "x\"\nresources:\n  evil: {type: aws:s3:Bucket} ${externalId}";
    config.tags.insert("Evil".into(), evil.into());
    config.components.cert_manager.values =
        serde_json::json!({"note": "${externalId}", "serviceAccount": {"name": "hijacked"}});
    let program = render_config(&config);
    assert!(validate(&program).is_empty());
    let doc = structure::Doc::parse(program.yaml());
    assert!(!doc.resources().contains_key("evil"));
    let escaped = evil.replace("${", "$${");
    assert_eq!(
        doc.0["resources"]["awsProvider"]["properties"]["defaultTags"]["tags"]["Evil"],
        Value::String(escaped)
    );
    let values = &doc.0["resources"]["certManagerRelease"]["properties"]["values"];
    assert_eq!(values["note"], "$${externalId}");
    assert_eq!(
        values["serviceAccount"]["name"], "cert-manager",
        "user values must not break the identity"
    );
}

#[test]
fn only_roles_eks_does_not_manage_get_access_entries() {
    let entries = |mode| {
        let case = Case {
            mode,
            nat: NatStrategy::Single,
            az_count: 2,
            secondary: false,
            components: Toggles::all(IngressController::AwsLoadBalancerController),
        };
        let doc = structure::Doc::parse(assert_valid_and_deterministic(&case).yaml());
        doc.of_type("aws:eks/accessEntry:AccessEntry")
            .iter()
            .map(|(_, e)| e["properties"]["principalArn"].clone())
            .collect::<Vec<_>>()
    };
    let auto = entries(EksMode::Auto);
    assert!(!auto.contains(&Value::String("${nodeRole.arn}".into())));
    let managed = entries(EksMode::Managed);
    assert!(managed.contains(&Value::String("${karpenterNodeRole.arn}".into())));
}

/// The AWS CLI's environment credentials beat an `AWS_PROFILE` variable; only the `--profile`
/// argument turns them off (aws-cli v2 `awscli/botocore/credentials.py`, `awscli/clidriver.py`).
#[test]
fn kubeconfig_exec_selects_the_tenant_profile_with_the_profile_argument() {
    let case = Case {
        mode: EksMode::Auto,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::none(),
    };
    let doc = structure::Doc::parse(assert_valid_and_deterministic(&case).yaml());
    let exec = &doc.0["variables"]["kubeconfig"]["fn::toJSON"]["users"][0]["user"]["exec"];
    assert_eq!(exec["command"], "aws");
    let args: Vec<&str> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let at = args.iter().position(|a| *a == "--profile");
    assert_eq!(
        at.and_then(|i| args.get(i + 1)).copied(),
        Some(byoc::program::TENANT_AWS_PROFILE),
        "{args:?}"
    );
}

#[test]
fn without_creator_admin_the_tenant_role_gets_an_explicit_access_entry() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::all(IngressController::IngressNginx),
    };
    let mut config = sample_config(&case);
    config
        .eks
        .access
        .bootstrap_cluster_creator_admin_permissions = false;
    let program = render_config(&config);
    assert!(validate(&program).is_empty(), "{:?}", validate(&program));
    let doc = structure::Doc::parse(program.yaml());
    let entry = &doc.0["resources"]["deployerAccessEntry"]["properties"];
    assert_eq!(
        entry["principalArn"],
        "arn:aws:iam::123456789012:role/BYOCPlatformRole"
    );
    let deps = doc.0["resources"]["argocdRelease"]["options"]["dependsOn"]
        .as_array()
        .unwrap();
    assert!(deps.contains(&Value::String("${deployerAccessPolicy}".into())));
}

#[test]
fn configs_validation_should_have_refused_are_render_errors() {
    use byoc::domain::config::AuthenticationMode;
    use byoc::program::RenderError;
    let case = Case {
        mode: EksMode::Auto,
        nat: NatStrategy::OnePerAz,
        az_count: 3,
        secondary: false,
        components: Toggles::all(IngressController::IngressNginx),
    };

    let mut config = sample_config(&case);
    config.vpc.public_subnets.pop();
    assert!(matches!(
        support::try_render(&config),
        Err(RenderError::NoPublicSubnetForNat { az_index: 2 })
    ));

    let mut config = sample_config(&case);
    config.eks.access.authentication_mode = AuthenticationMode::ConfigMap;
    assert!(matches!(
        support::try_render(&config),
        Err(RenderError::ConfigMapAuthentication)
    ));

    let mut config = sample_config(&case);
    config.components.argocd.component.values = serde_json::json!(["not", "an", "object"]);
    assert!(matches!(
        support::try_render(&config),
        Err(RenderError::ValuesNotAnObject {
            component: "argocd"
        })
    ));
}

#[test]
fn long_tenant_names_keep_iam_names_within_limits() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::all(IngressController::AwsLoadBalancerController),
    };
    let slug = "a-very-long-tenant-slug-that-reaches-fifty-chars-x";
    let program = support::render_named(slug, "production-eu-west-1", &sample_config(&case));
    assert!(validate(&program).is_empty());
    let doc = structure::Doc::parse(program.yaml());
    for (name, r) in doc.resources() {
        if let Some(n) = r["properties"]["name"]
            .as_str()
            .filter(|_| r["type"].as_str().unwrap().starts_with("aws:iam/"))
        {
            assert!(
                n.starts_with("byoc-") && n.len() <= 64,
                "{name}: {n} ({} chars)",
                n.len()
            );
        }
    }
}

// --- snapshots ----------------------------------------------------------------------------

#[test]
fn snapshot_auto_minimal() {
    let case = Case {
        mode: EksMode::Auto,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::none(),
    };
    insta::assert_snapshot!(assert_valid_and_deterministic(&case).yaml());
}

#[test]
fn snapshot_managed_full() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::OnePerAz,
        az_count: 3,
        secondary: true,
        components: Toggles::all(IngressController::IngressNginx),
    };
    insta::assert_snapshot!(assert_valid_and_deterministic(&case).yaml());
}

#[test]
fn snapshot_auto_with_load_balancer_controller() {
    let case = Case {
        mode: EksMode::Auto,
        nat: NatStrategy::None,
        az_count: 3,
        secondary: false,
        components: Toggles::all(IngressController::AwsLoadBalancerController),
    };
    insta::assert_snapshot!(assert_valid_and_deterministic(&case).yaml());
}
