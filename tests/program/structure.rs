//! Structural rules every rendered program must satisfy, checked on the parsed YAML.

use byoc::domain::config::{EksMode, IngressController, NatStrategy};
use serde_json::{Map, Value};

use super::support::{Case, EXTERNAL_ID};

/// The parsed program.
pub struct Doc(pub Value);

impl Doc {
    pub fn parse(yaml: &str) -> Self {
        Self(yaml_serde::from_str(yaml).expect("program is YAML"))
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.0["resources"].as_object().expect("resources")
    }

    /// Resources of a type, by logical name.
    pub fn of_type(&self, ty: &str) -> Vec<(&String, &Value)> {
        self.resources()
            .iter()
            .filter(|(_, r)| r["type"] == ty)
            .collect()
    }

    fn props<'a>(&'a self, name: &str) -> &'a Value {
        &self.resources()[name]["properties"]
    }
}

fn reference(name: &str, prop: &str) -> Value {
    Value::String(format!("${{{name}.{prop}}}"))
}

/// Runs every structural check for a case.
pub fn check(case: &Case, yaml: &str) {
    let doc = Doc::parse(yaml);
    nat_gateways_match_strategy(case, &doc);
    every_subnet_routes_where_it_should(case, &doc);
    node_groups_only_in_managed_mode(case, &doc);
    karpenter_only_in_managed_mode_with_queue_and_rules(case, &doc);
    releases_are_pinned_and_match_their_identities(&doc);
    no_secret_in_program(yaml, &doc);
    iam_names_follow_the_byoc_scheme(&doc);
    only_private_subnets_carry_discovery_tags(&doc);
    auto_mode_has_what_it_needs(case, &doc);
}

fn nat_gateways_match_strategy(case: &Case, doc: &Doc) {
    let expected = match case.nat {
        NatStrategy::None => 0,
        NatStrategy::Single => 1,
        NatStrategy::OnePerAz => usize::from(case.az_count),
    };
    assert_eq!(
        doc.of_type("aws:ec2/natGateway:NatGateway").len(),
        expected,
        "{case:?}"
    );
    assert_eq!(doc.of_type("aws:ec2/eip:Eip").len(), expected, "{case:?}");
}

fn subnet_kind(subnet: &Value) -> &str {
    subnet["properties"]["tags"]["SubnetType"]
        .as_str()
        .expect("SubnetType tag")
}

fn every_subnet_routes_where_it_should(case: &Case, doc: &Doc) {
    let assocs = doc.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation");
    let routes = doc.of_type("aws:ec2/route:Route");
    for (name, subnet) in doc.of_type("aws:ec2/subnet:Subnet") {
        let mine: Vec<_> = assocs
            .iter()
            .filter(|(_, a)| a["properties"]["subnetId"] == reference(name, "id"))
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "{name} must have exactly one route table association ({case:?})"
        );
        let rt_ref = &mine[0].1["properties"]["routeTableId"];
        let rt = rt_ref
            .as_str()
            .unwrap()
            .trim_start_matches("${")
            .trim_end_matches(".id}");
        assert_eq!(doc.resources()[rt]["type"], "aws:ec2/routeTable:RouteTable");
        let defaults: Vec<_> = routes
            .iter()
            .filter(|(_, r)| {
                &r["properties"]["routeTableId"] == rt_ref
                    && r["properties"]["destinationCidrBlock"] == "0.0.0.0/0"
            })
            .collect();
        match (subnet_kind(subnet), case.nat) {
            ("public", _) => {
                assert_eq!(defaults.len(), 1, "{name}");
                assert_eq!(
                    defaults[0].1["properties"]["gatewayId"],
                    reference("internetGateway", "id")
                );
            }
            (_, NatStrategy::None) => assert!(
                defaults.is_empty(),
                "{name} has a default route without NAT"
            ),
            (_, NatStrategy::Single) => {
                assert_eq!(defaults.len(), 1, "{name}");
                assert_eq!(
                    defaults[0].1["properties"]["natGatewayId"],
                    reference("natGateway0", "id")
                );
            }
            (_, NatStrategy::OnePerAz) => {
                assert_eq!(defaults.len(), 1, "{name}");
                let nat_ref = defaults[0].1["properties"]["natGatewayId"]
                    .as_str()
                    .unwrap();
                let nat = nat_ref.trim_start_matches("${").trim_end_matches(".id}");
                let nat_subnet = doc.props(nat)["subnetId"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("${")
                    .trim_end_matches(".id}");
                assert_eq!(
                    doc.props(nat_subnet)["availabilityZone"],
                    subnet["properties"]["availabilityZone"],
                    "{name} must route to the NAT in its own AZ"
                );
            }
        }
    }
}

fn node_groups_only_in_managed_mode(case: &Case, doc: &Doc) {
    let groups = doc.of_type("aws:eks/nodeGroup:NodeGroup");
    let templates = doc.of_type("aws:ec2/launchTemplate:LaunchTemplate");
    if case.mode == EksMode::Managed {
        assert_eq!(groups.len(), 2);
        assert_eq!(templates.len(), 2);
        for (_, lt) in templates {
            let p = &lt["properties"];
            assert_eq!(p["metadataOptions"]["httpTokens"], "required");
            assert_eq!(p["metadataOptions"]["httpPutResponseHopLimit"], 2);
            assert_eq!(p["blockDeviceMappings"][0]["ebs"]["encrypted"], "true");
            assert_eq!(p["blockDeviceMappings"][0]["ebs"]["volumeType"], "gp3");
        }
        // The Bottlerocket group keeps its data on /dev/xvdb.
        assert_eq!(
            doc.props("launchTemplate1")["blockDeviceMappings"][0]["deviceName"],
            "/dev/xvdb"
        );
        assert_eq!(
            doc.props("launchTemplate0")["blockDeviceMappings"][0]["deviceName"],
            "/dev/xvda"
        );
        for (_, ng) in groups {
            let subnets = ng["properties"]["subnetIds"].as_array().unwrap();
            assert!(
                subnets
                    .iter()
                    .all(|s| s.as_str().unwrap().starts_with("${privateSubnet"))
            );
        }
    } else {
        assert!(groups.is_empty() && templates.is_empty());
    }
}

/// The controller policy grants what Karpenter 1.14 calls with our EC2NodeClass and nothing
/// for instance profiles it would manage only for `spec.role` (infra-yaml/karpenter.yaml).
fn karpenter_controller_policy(doc: &Doc) {
    let policy = &doc.props("karpenterRolePolicy")["policy"]["fn::toJSON"];
    let statements = policy["Statement"].as_array().unwrap();
    let actions = |st: &Value| -> Vec<String> {
        match &st["Action"] {
            Value::String(a) => vec![a.clone()],
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
        }
    };
    let statement = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"))
    };
    let reads = actions(statement("AllowRegionalReadActions"));
    for a in ["ec2:DescribeInstanceStatus", "ec2:DescribePlacementGroups"] {
        assert!(reads.iter().any(|r| r == a), "{a} missing from {reads:?}");
    }
    assert!(!reads.iter().any(|r| r == "ec2:DescribeAvailabilityZones"));
    let all: Vec<String> = statements.iter().flat_map(actions).collect();
    for write in [
        "iam:CreateInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:DeleteInstanceProfile",
        "arc-zonal-shift:GetManagedResource",
    ] {
        assert!(!all.iter().any(|a| a == write), "{write} granted");
    }
    let get = statement("AllowInstanceProfileReadActions");
    // Any profile of the account: the NodeClass finalizer looks up a legacy name and must get
    // NoSuchEntity, not AccessDenied.
    assert!(
        get["Resource"]
            .as_str()
            .unwrap()
            .ends_with(":instance-profile/*"),
        "{get}"
    );
}

fn karpenter_only_in_managed_mode_with_queue_and_rules(case: &Case, doc: &Doc) {
    let wanted = case.mode == EksMode::Managed && case.components.karpenter;
    let karpenter: Vec<_> = doc
        .resources()
        .keys()
        .filter(|k| k.starts_with("karpenter"))
        .collect();
    if !wanted {
        assert!(
            karpenter.is_empty(),
            "unexpected Karpenter resources {karpenter:?} ({case:?})"
        );
        return;
    }
    assert_eq!(doc.of_type("aws:sqs/queue:Queue").len(), 1);
    let rules = doc.of_type("aws:cloudwatch/eventRule:EventRule");
    let targets = doc.of_type("aws:cloudwatch/eventTarget:EventTarget");
    // The interruption events of the Karpenter v1.14 reference CloudFormation
    // (getting-started-with-karpenter/cloudformation.yaml: ScheduledChange, SpotInterruption,
    // Rebalance, InstanceStateChange and CapacityReservationInterruption rules).
    let mut detail_types: Vec<String> = rules
        .iter()
        .map(|(_, r)| {
            let pattern = &r["properties"]["eventPattern"]["fn::toJSON"];
            pattern["detail-type"][0].as_str().unwrap().to_owned()
        })
        .collect();
    detail_types.sort();
    assert_eq!(
        detail_types,
        [
            "AWS Health Event",
            "EC2 Capacity Reservation Instance Interruption Warning",
            "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification",
            "EC2 Spot Instance Interruption Warning",
        ]
    );
    assert_eq!(targets.len(), rules.len());
    karpenter_controller_policy(doc);
    assert!(
        targets
            .iter()
            .all(|(_, t)| t["properties"]["arn"] == reference("karpenterQueue", "arn"))
    );
    assert!(
        doc.of_type("aws:eks/accessEntry:AccessEntry")
            .iter()
            .any(|(_, e)| e["properties"]["type"] == "EC2_LINUX"
                && e["properties"]["principalArn"] == reference("karpenterNodeRole", "arn"))
    );
    let values = &doc.props("karpenterRelease")["values"];
    assert_eq!(
        values["settings"]["interruptionQueue"],
        reference("karpenterQueue", "name")
    );
    let defaults = &doc.resources()["karpenterDefaults"];
    assert_eq!(defaults["type"], "kubernetes:yaml/v2:ConfigGroup");
    assert!(
        defaults["options"]["dependsOn"]
            .as_array()
            .unwrap()
            .contains(&Value::String("${karpenterRelease}".into()))
    );
}

fn releases_are_pinned_and_match_their_identities(doc: &Doc) {
    let associations = doc.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation");
    for (name, release) in doc.of_type("kubernetes:helm.sh/v3:Release") {
        let p = &release["properties"];
        let version = p["version"].as_str().unwrap();
        let digits = version.trim_start_matches('v');
        assert!(
            digits.split('.').count() == 3 && digits.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{name} version {version} is not an exact pin"
        );
        assert!(
            p["name"].is_string(),
            "{name} must have an explicit release name"
        );
        let sa = if name == "argocdRelease" {
            &p["values"]["server"]["serviceAccount"]["name"]
        } else {
            &p["values"]["serviceAccount"]["name"]
        };
        assert!(sa.is_string(), "{name} must set its service account name");
        let needs_role = ["karpenterRelease", "externalSecretsRelease"].contains(&name.as_str())
            || p["chart"] == "aws-load-balancer-controller";
        let matching = associations
            .iter()
            .filter(|(_, a)| {
                a["properties"]["namespace"] == p["namespace"]
                    && &a["properties"]["serviceAccount"] == sa
            })
            .count();
        if needs_role {
            assert_eq!(
                matching, 1,
                "{name}: no Pod Identity association for its service account"
            );
        }
    }
    for (name, a) in &associations {
        let ns = &a["properties"]["namespace"];
        let sa = &a["properties"]["serviceAccount"];
        let used = doc
            .of_type("kubernetes:helm.sh/v3:Release")
            .iter()
            .any(|(_, r)| {
                &r["properties"]["namespace"] == ns
                    && &r["properties"]["values"]["serviceAccount"]["name"] == sa
            });
        assert!(used, "{name}: association for {ns}/{sa} matches no release");
    }
}

fn no_secret_in_program(yaml: &str, doc: &Doc) {
    assert!(!yaml.contains(EXTERNAL_ID));
    assert_eq!(doc.0["config"]["externalId"]["secret"], true);
    let provider = doc.props("awsProvider");
    assert_eq!(provider["assumeRoles"][0]["externalId"], "${externalId}");
    for line in yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("externalId:"))
    {
        let value = line.trim().trim_start_matches("externalId:").trim();
        // Either the config declaration (a nested block) or the reference.
        assert!(
            value.is_empty() || value == "${externalId}",
            "external ID literal in: {line}"
        );
    }
    assert!(doc.0["outputs"]["kubeconfig"]["fn::secret"].is_string());
}

fn iam_names_follow_the_byoc_scheme(doc: &Doc) {
    // The tenant's CloudFormation role allows IAM writes only on these name patterns.
    let template = byoc::cloud::onboarding::TEMPLATE;
    for pattern in [":role/byoc-*", ":instance-profile/byoc-*"] {
        assert!(
            template.contains(pattern),
            "template no longer allows {pattern}"
        );
    }
    // It grants no iam:CreatePolicy at all: role policies are inline (aws:iam/rolePolicy).
    assert!(!template.contains("iam:CreatePolicy"));
    assert!(
        doc.of_type("aws:iam/policy:Policy").is_empty(),
        "managed policies need iam:CreatePolicy, which the tenant role does not grant"
    );
    for ty in [
        "aws:iam/role:Role",
        "aws:iam/instanceProfile:InstanceProfile",
    ] {
        for (name, r) in doc.of_type(ty) {
            let p = &r["properties"];
            assert_eq!(p["path"], "/", "{name}");
            let n = p["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no explicit name"));
            assert!(n.starts_with("byoc-") && n.len() <= 64, "{name}: {n}");
        }
    }
    for (name, r) in doc.of_type("aws:iam/rolePolicy:RolePolicy") {
        let n = r["properties"]["name"].as_str().unwrap();
        assert!(n.starts_with("byoc-") && n.len() <= 128, "{name}: {n}");
    }
}

fn only_private_subnets_carry_discovery_tags(doc: &Doc) {
    for (name, s) in doc.of_type("aws:ec2/subnet:Subnet") {
        let tags = &s["properties"]["tags"];
        let private = subnet_kind(s) == "private";
        assert_eq!(
            tags.get("karpenter.sh/discovery").is_some(),
            private,
            "{name}"
        );
        assert_eq!(
            tags.get("kubernetes.io/role/internal-elb").is_some(),
            private,
            "{name}"
        );
        assert_eq!(
            tags.get("kubernetes.io/role/elb").is_some(),
            subnet_kind(s) == "public",
            "{name}"
        );
    }
}

fn auto_mode_has_what_it_needs(case: &Case, doc: &Doc) {
    let cluster = doc.props("cluster");
    let trust =
        &doc.props("clusterRole")["assumeRolePolicy"]["fn::toJSON"]["Statement"][0]["Action"];
    assert!(
        trust
            .as_array()
            .unwrap()
            .contains(&Value::String("sts:TagSession".into()))
    );
    if case.mode == EksMode::Auto {
        assert_eq!(
            cluster["computeConfig"]["nodePools"],
            serde_json::json!(["general-purpose", "system"])
        );
        assert_eq!(
            cluster["computeConfig"]["nodeRoleArn"],
            reference("nodeRole", "arn")
        );
        assert_eq!(cluster["storageConfig"]["blockStorage"]["enabled"], true);
        assert_eq!(
            cluster["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"],
            true
        );
        assert_eq!(cluster["bootstrapSelfManagedAddons"], false);
        built_in_node_pools_get_no_access_entry(doc);
        assert!(doc.of_type("aws:eks/addon:Addon").is_empty());
    } else {
        assert!(cluster.get("computeConfig").is_none());
        assert_eq!(doc.of_type("aws:eks/addon:Addon").len(), 5);
    }
    if let Some(IngressController::AwsLoadBalancerController) = case.components.ingress {
        assert!(doc.resources().contains_key("awsLbControllerRole"));
    }
}

/// EKS creates the access entry (type EC2, `AmazonEKSAutoNodePolicy`) for the role named in
/// `computeConfig.nodeRoleArn` itself; a second one fails with 409 `ResourceInUseException`.
fn built_in_node_pools_get_no_access_entry(doc: &Doc) {
    let node_role = reference("nodeRole", "arn");
    for (name, entry) in doc.of_type("aws:eks/accessEntry:AccessEntry") {
        let p = &entry["properties"];
        assert_ne!(
            p["principalArn"], node_role,
            "{name} duplicates EKS's own entry"
        );
        assert_ne!(p["type"], "EC2", "{name}: Auto Mode node entries are EKS's");
    }
    for (name, assoc) in doc.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
        let policy = assoc["properties"]["policyArn"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !policy.ends_with("/AmazonEKSAutoNodePolicy"),
            "{name} associates EKS's own Auto Mode node policy"
        );
    }
}
