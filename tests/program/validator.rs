//! The validator's negative cases: one edit to a rendered program per rule, each refused
//! with a problem at the edited path.

use byoc::domain::config::{EksMode, IngressController, NatStrategy};
use byoc::program::{Program, ProgramProblem, validate};
use serde_json::Value;

use crate::support::{Case, Toggles, render_config, sample_config};

fn base_doc() -> Value {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::Single,
        az_count: 2,
        secondary: false,
        components: Toggles::all(IngressController::IngressNginx),
    };
    yaml_serde::from_str(render_config(&sample_config(&case)).yaml()).unwrap()
}

fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<ProgramProblem> {
    let mut doc = base_doc();
    edit(&mut doc);
    validate(&Program::from_yaml(yaml_serde::to_string(&doc).unwrap()))
}

fn assert_problem(problems: &[ProgramProblem], path: &str, needle: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.path == path && p.message.contains(needle)),
        "expected a problem at {path} mentioning {needle:?}, got {problems:#?}"
    );
}

#[test]
fn validator_catches_an_unknown_property() {
    let problems = problems_after(|d| {
        d["resources"]["vpc"]["properties"]["cidrBlok"] = "10.0.0.0/16".into();
    });
    assert_problem(
        &problems,
        "resources.vpc.properties.cidrBlok",
        "does not exist on `aws:ec2/vpc:Vpc`",
    );
}

#[test]
fn validator_catches_a_missing_required_property() {
    let problems = problems_after(|d| {
        d["resources"]["cluster"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("roleArn");
    });
    assert_problem(
        &problems,
        "resources.cluster.properties",
        "missing required property `roleArn`",
    );
}

#[test]
fn validator_catches_a_nested_typo() {
    let problems = problems_after(|d| {
        let vpc = d["resources"]["cluster"]["properties"]["vpcConfig"]
            .as_object_mut()
            .unwrap();
        let ids = vpc.remove("subnetIds").unwrap();
        vpc.insert("subnetIdz".into(), ids);
        d["resources"]["launchTemplate0"]["properties"]["metadataOptions"]["httpToken"] =
            "required".into();
        d["resources"]["launchTemplate0"]["properties"]["blockDeviceMappings"][0]["ebs"]["volumeTyp"] =
            "gp3".into();
        d["resources"]["awsProvider"]["properties"]["assumeRoles"][0]["externalID"] = "x".into();
    });
    assert_problem(
        &problems,
        "resources.launchTemplate0.properties.blockDeviceMappings[0].ebs.volumeTyp",
        "does not exist",
    );
    assert_problem(
        &problems,
        "resources.awsProvider.properties.assumeRoles[0].externalID",
        "does not exist on `aws:ProviderAssumeRole`",
    );
    assert_problem(
        &problems,
        "resources.cluster.properties.vpcConfig.subnetIdz",
        "does not exist on `aws:eks.ClusterVpcConfig`",
    );
    assert_problem(
        &problems,
        "resources.cluster.properties.vpcConfig",
        "missing required property `subnetIds`",
    );
    assert_problem(
        &problems,
        "resources.launchTemplate0.properties.metadataOptions.httpToken",
        "does not exist",
    );
}

#[test]
fn validator_catches_values_of_the_wrong_shape() {
    let problems = problems_after(|d| {
        d["resources"]["cluster"]["properties"]["vpcConfig"] = "subnet-123".into();
        d["resources"]["vpc"]["properties"]["enableDnsHostnames"] =
            serde_json::json!({"yes": true});
        d["resources"]["nodeGroup0"]["properties"]["instanceTypes"] = "m6i.large".into();
    });
    assert_problem(
        &problems,
        "resources.cluster.properties.vpcConfig",
        "expected an object",
    );
    assert_problem(
        &problems,
        "resources.vpc.properties.enableDnsHostnames",
        "expected a scalar",
    );
    assert_problem(
        &problems,
        "resources.nodeGroup0.properties.instanceTypes",
        "expected a list",
    );
}

#[test]
fn validator_catches_an_unknown_resource_type() {
    let problems = problems_after(|d| d["resources"]["vpc"]["type"] = "aws:ec2/vpc:Vpcc".into());
    assert_problem(&problems, "resources.vpc.type", "unknown resource type");
    let err = byoc::program::check(&Program::from_yaml(
        "name: x\nruntime: yaml\nresources:\n  a:\n    type: aws:ec2:Nope\n",
    ))
    .unwrap_err();
    assert!(err.0.iter().any(|p| p.path == "resources.a.type"), "{err}");
}

#[test]
fn validator_refuses_types_pulumi_yaml_refuses() {
    let problems = problems_after(|d| {
        d["resources"]["argocdRelease"]["type"] = "kubernetes:helm.sh/v3:Chart".into()
    });
    assert_problem(
        &problems,
        "resources.argocdRelease.type",
        "not supported in Pulumi YAML",
    );
}

#[test]
fn validator_refuses_types_outside_the_vendored_subset() {
    let problems = problems_after(|d| d["resources"]["vpc"]["type"] = "aws:s3:BucketPolicy".into());
    assert_problem(
        &problems,
        "resources.vpc.type",
        "outside the vendored schema subset",
    );
}

#[test]
fn validator_catches_dangling_references_and_unknown_outputs() {
    let problems = problems_after(|d| {
        d["resources"]["internetGateway"]["properties"]["vpcId"] = "${vpcc.id}".into();
        d["outputs"]["vpcId"] = "${vpc.idd}".into();
    });
    assert_problem(
        &problems,
        "resources.internetGateway.properties.vpcId",
        "\"vpcc\" not found",
    );
    assert_problem(&problems, "outputs.vpcId", "has no output `idd`");
}

#[test]
fn validator_checks_options_and_invokes() {
    let problems = problems_after(|d| {
        d["resources"]["vpc"]["options"]["dependOn"] = Value::Array(vec![]);
        d["variables"]["zones"] = serde_json::json!({"fn::invoke": {"function": "aws:getAvailabilityZones", "arguments": {"stat": "available"}, "return": "namez"}});
        d["variables"]["nope"] =
            serde_json::json!({"fn::invoke": {"function": "aws:getAvailabilityZonez"}});
    });
    assert_problem(
        &problems,
        "resources.vpc.options",
        "`dependOn` does not exist",
    );
    assert_problem(
        &problems,
        "variables.zones.fn::invoke.arguments.stat",
        "does not exist",
    );
    assert_problem(
        &problems,
        "variables.zones.fn::invoke.return",
        "no result `namez`",
    );
    assert_problem(
        &problems,
        "variables.nope.fn::invoke.function",
        "unable to find function",
    );
}

#[test]
fn validator_refuses_builtins_the_templates_do_not_use_and_stray_secret_reads() {
    let problems = problems_after(|d| {
        d["resources"]["certManagerRelease"]["properties"]["values"]["x"] =
            serde_json::json!({"fn::readFile": "aws-config"});
        d["resources"]["vpc"]["properties"]["tags"] =
            serde_json::json!({"fn::aws:ssm:getParameter": {"name": "x"}});
        d["resources"]["certManagerRelease"]["properties"]["values"]["leak"] =
            "${externalId}".into();
    });
    assert_problem(
        &problems,
        "resources.certManagerRelease.properties.values.x.fn::readFile",
        "not a builtin byoc's templates use",
    );
    assert_problem(
        &problems,
        "resources.vpc.properties.tags.fn::aws:ssm:getParameter",
        "not a builtin byoc's templates use",
    );
    assert_problem(
        &problems,
        "resources.certManagerRelease.properties.values.leak",
        "may read the secret `externalId`",
    );
}

#[test]
fn validator_requires_the_tenant_providers() {
    let problems = problems_after(|d| {
        d["resources"]["vpc"]["options"]
            .as_object_mut()
            .unwrap()
            .remove("provider");
        d["resources"]["certManagerRelease"]["options"]["provider"] = "${awsProvider}".into();
        d["resources"]["awsProvider"]["options"]["version"] = "7.0.0".into();
        d["resources"]["cluster"]["options"]["dependsOn"][0] = "${kubeconfig}".into();
        d["variables"]["zones"] = serde_json::json!({"fn::invoke": {"function": "aws:getAvailabilityZones", "return": "names"}});
    });
    assert_problem(
        &problems,
        "resources.vpc.options",
        "no explicit `aws` provider",
    );
    assert_problem(
        &problems,
        "resources.certManagerRelease.options.provider",
        "is not a `pulumi:providers:kubernetes` resource",
    );
    assert_problem(
        &problems,
        "resources.cluster.options.dependsOn[0]",
        "`kubeconfig` is not a resource",
    );
    assert_problem(
        &problems,
        "variables.zones.fn::invoke.options",
        "no explicit `aws` provider",
    );
    assert_problem(
        &problems,
        "resources.awsProvider.options",
        "must pin `version: 7.48.0`",
    );
}
