//! Allowed and denied calls of the customer role on tagged and untagged resources (the
//! request model and the simulator: simulator.rs).

use serde_json::{Map, json};

use super::simulator::{BYOC, Call, NONE, OTHER, Res, call, created, existing, wrong_decisions};
use super::{ACCOUNT, CUSTOMER, PARTITION, REGION, load, managed_policies, python_has, read};

fn ec2(t: &str) -> String {
    format!("arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:{t}")
}
fn eks(t: &str) -> String {
    format!("arn:{PARTITION}:eks:{REGION}:{ACCOUNT}:{t}")
}
fn arn(service: &str, t: &str) -> String {
    format!("arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{t}")
}

fn customer_calls() -> Vec<Call> {
    let vpc = ec2("vpc/vpc-0a1b2c3d");
    let subnet = ec2("subnet/subnet-0a1b2c3d");
    let eip = ec2("elastic-ip/eipalloc-0a1b2c3d");
    let rt = ec2("route-table/rtb-0a1b2c3d");
    let cluster = eks("cluster/acme-prod");
    let queue = arn("sqs", "acme-prod");
    let key = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let rule = arn("events", "rule/karpenterSpotInterruptionRule-1a2b3c4");
    let iam = |t: &str| format!("arn:{PARTITION}:iam::{ACCOUNT}:{t}");
    vec![
        // EC2: deletes only of tagged resources, in this region.
        call(
            "delete a byoc VPC",
            "ec2:DeleteVpc",
            vec![existing(&vpc, BYOC)],
            true,
        ),
        call(
            "delete an untagged VPC",
            "ec2:DeleteVpc",
            vec![existing(&vpc, NONE)],
            false,
        ),
        call(
            "delete another tool's VPC",
            "ec2:DeleteVpc",
            vec![existing(&vpc, OTHER)],
            false,
        ),
        call(
            "delete a byoc VPC of another region",
            "ec2:DeleteVpc",
            vec![existing(&vpc.replace(REGION, "us-gov-east-1"), BYOC)],
            false,
        ),
        // Creates carry the tag; the tag-on-create check of ec2:CreateTags passes only then.
        call(
            "create a tagged VPC",
            "ec2:CreateVpc",
            vec![created(&ec2("vpc/*"), BYOC)],
            true,
        ),
        call(
            "create an untagged VPC",
            "ec2:CreateVpc",
            vec![created(&ec2("vpc/*"), NONE)],
            false,
        ),
        call(
            "tags of a VPC create",
            "ec2:CreateTags",
            vec![created(&ec2("vpc/*"), BYOC)],
            true,
        )
        .with("ec2:CreateAction", json!("CreateVpc")),
        call(
            "take over an untagged VPC by tagging it",
            "ec2:CreateTags",
            vec![{
                let Res(a, mut m) = existing(&vpc, NONE);
                m.extend(created(&vpc, BYOC).1);
                Res(a, m)
            }],
            false,
        ),
        call(
            "subnet in a byoc VPC",
            "ec2:CreateSubnet",
            vec![created(&ec2("subnet/*"), BYOC), existing(&vpc, BYOC)],
            true,
        ),
        call(
            "subnet in an untagged VPC",
            "ec2:CreateSubnet",
            vec![created(&ec2("subnet/*"), BYOC), existing(&vpc, NONE)],
            false,
        ),
        call(
            "NAT gateway on a byoc subnet and EIP",
            "ec2:CreateNatGateway",
            vec![
                created(&ec2("natgateway/*"), BYOC),
                existing(&subnet, BYOC),
                existing(&eip, BYOC),
            ],
            true,
        ),
        call(
            "NAT gateway on someone's EIP",
            "ec2:CreateNatGateway",
            vec![
                created(&ec2("natgateway/*"), BYOC),
                existing(&subnet, BYOC),
                existing(&eip, NONE),
            ],
            false,
        ),
        call(
            "route table association in byoc",
            "ec2:AssociateRouteTable",
            vec![existing(&rt, BYOC), existing(&subnet, BYOC)],
            true,
        ),
        call(
            "byoc route table on someone's subnet",
            "ec2:AssociateRouteTable",
            vec![existing(&rt, BYOC), existing(&subnet, NONE)],
            false,
        ),
        call(
            "untag Name",
            "ec2:DeleteTags",
            vec![existing(&vpc, BYOC)],
            true,
        )
        .with("aws:TagKeys", json!(["Name"])),
        call(
            "untag ManagedBy",
            "ec2:DeleteTags",
            vec![existing(&vpc, BYOC)],
            false,
        )
        .with("aws:TagKeys", json!(["ManagedBy"])),
        // EKS: CreateCluster takes no resource and is granted on "*" under the tag.
        call(
            "create a tagged cluster",
            "eks:CreateCluster",
            vec![Res("*".into(), Map::new())],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "create an untagged cluster",
            "eks:CreateCluster",
            vec![Res("*".into(), Map::new())],
            false,
        ),
        call(
            "delete a byoc cluster",
            "eks:DeleteCluster",
            vec![existing(&cluster, BYOC)],
            true,
        ),
        call(
            "delete an untagged cluster",
            "eks:DeleteCluster",
            vec![existing(&cluster, NONE)],
            false,
        ),
        call(
            "delete a tagged cluster outside the naming rule",
            "eks:DeleteCluster",
            vec![existing(&eks("cluster/production"), BYOC)],
            false,
        ),
        call(
            "node group in a byoc cluster",
            "eks:CreateNodegroup",
            vec![existing(&cluster, BYOC)],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "node group in an untagged cluster",
            "eks:CreateNodegroup",
            vec![existing(&cluster, NONE)],
            false,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "delete a byoc node group",
            "eks:DeleteNodegroup",
            vec![existing(&eks("nodegroup/acme-prod/system/1a2b"), BYOC)],
            true,
        ),
        call(
            "tag an untagged cluster ManagedBy=byoc",
            "eks:TagResource",
            vec![existing(&cluster, NONE)],
            false,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        // SQS and EventBridge.
        call(
            "delete the byoc queue",
            "sqs:DeleteQueue",
            vec![existing(&queue, BYOC)],
            true,
        ),
        call(
            "delete an untagged queue",
            "sqs:DeleteQueue",
            vec![existing(&queue, NONE)],
            false,
        ),
        call(
            "create the queue",
            "sqs:CreateQueue",
            vec![existing(&queue, NONE)],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "create a queue outside the naming rule",
            "sqs:CreateQueue",
            vec![existing(&arn("sqs", "orders"), NONE)],
            false,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "delete a byoc rule",
            "events:DeleteRule",
            vec![existing(&rule, BYOC)],
            true,
        ),
        call(
            "delete an untagged rule",
            "events:DeleteRule",
            vec![existing(&rule, NONE)],
            false,
        ),
        call(
            "target the byoc queue",
            "events:PutTargets",
            vec![existing(&rule, BYOC)],
            true,
        )
        .with("events:TargetArn", json!([queue])),
        call(
            "target a function",
            "events:PutTargets",
            vec![existing(&rule, BYOC)],
            false,
        )
        .with("events:TargetArn", json!([arn("lambda", "function:f")])),
        // KMS: no policy rights at all; deletion of byoc keys only, with the 30-day window.
        call(
            "create a tagged key",
            "kms:CreateKey",
            vec![Res("*".into(), Map::new())],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "create an untagged key",
            "kms:CreateKey",
            vec![Res("*".into(), Map::new())],
            false,
        ),
        call(
            "delete a byoc key in 30 days",
            "kms:ScheduleKeyDeletion",
            vec![existing(&key, BYOC)],
            true,
        )
        .with("kms:ScheduleKeyDeletionPendingWindowInDays", json!("30")),
        call(
            "delete a byoc key in 7 days",
            "kms:ScheduleKeyDeletion",
            vec![existing(&key, BYOC)],
            false,
        )
        .with("kms:ScheduleKeyDeletionPendingWindowInDays", json!("7")),
        call(
            "delete an untagged key",
            "kms:ScheduleKeyDeletion",
            vec![existing(&key, NONE)],
            false,
        )
        .with("kms:ScheduleKeyDeletionPendingWindowInDays", json!("30")),
        call(
            "change the policy of a byoc key",
            "kms:PutKeyPolicy",
            vec![existing(&key, BYOC)],
            false,
        ),
        call(
            "change the policy of any key",
            "kms:PutKeyPolicy",
            vec![existing(&key, NONE)],
            false,
        ),
        call(
            "EKS grant on a key",
            "kms:CreateGrant",
            vec![existing(&key, NONE)],
            true,
        )
        .with("kms:GrantIsForAWSResource", json!("true")),
        call(
            "grant to a person",
            "kms:CreateGrant",
            vec![existing(&key, NONE)],
            false,
        )
        .with("kms:GrantIsForAWSResource", json!("false")),
        // The documented residual (template, KmsTagOnCreate): KMS cannot tell tag-on-create from
        // tagging an existing key, so this is allowed; deleting such a key still waits 30 days.
        call(
            "tag an untagged key ManagedBy=byoc",
            "kms:TagResource",
            vec![existing(&key, NONE)],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        // IAM: names and services.
        // Karpenter 1.14's fifth interruption rule (capacity reservation interruptions).
        call(
            "create the capacity reservation interruption rule",
            "events:PutRule",
            vec![existing(
                &arn(
                    "events",
                    "rule/karpenterCapacityReservationInterruptionRule-1a2b3c4",
                ),
                NONE,
            )],
            true,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "create a rule of another name",
            "events:PutRule",
            vec![existing(&arn("events", "rule/exfiltrate-1a2b3c4"), NONE)],
            false,
        )
        .with("aws:RequestTag/ManagedBy", json!("byoc")),
        call(
            "create a byoc role",
            "iam:CreateRole",
            vec![existing(&iam("role/byoc-acme-prod-node"), NONE)],
            true,
        ),
        call(
            "create an admin role",
            "iam:CreateRole",
            vec![existing(&iam("role/Admin"), NONE)],
            false,
        ),
        // The Karpenter controller's inline policy (infra-yaml/karpenter.yaml) and the node
        // roles' managed policies (src/program/context.rs: ECR pull-only, as the Karpenter
        // v1.14 reference node role).
        call(
            "put the Karpenter controller's inline policy",
            "iam:PutRolePolicy",
            vec![existing(&iam("role/byoc-acme-prod-karpenter"), NONE)],
            true,
        ),
        call(
            "attach ECR pull-only to a node role",
            "iam:AttachRolePolicy",
            vec![existing(&iam("role/byoc-acme-prod-karpenter-node"), NONE)],
            true,
        )
        .with(
            "iam:PolicyARN",
            json!(format!(
                "arn:{PARTITION}:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"
            )),
        ),
        call(
            "attach ECR read-only (no program uses it any more)",
            "iam:AttachRolePolicy",
            vec![existing(&iam("role/byoc-acme-prod-node"), NONE)],
            false,
        )
        .with(
            "iam:PolicyARN",
            json!(format!(
                "arn:{PARTITION}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
            )),
        ),
        call(
            "attach AdministratorAccess to a byoc role",
            "iam:AttachRolePolicy",
            vec![existing(&iam("role/byoc-acme-prod-karpenter"), NONE)],
            false,
        )
        .with(
            "iam:PolicyARN",
            json!(format!(
                "arn:{PARTITION}:iam::aws:policy/AdministratorAccess"
            )),
        ),
        call(
            "pass a byoc role to EKS",
            "iam:PassRole",
            vec![existing(&iam("role/byoc-acme-prod-cluster"), NONE)],
            true,
        )
        .with("iam:PassedToService", json!("eks.amazonaws.com")),
        call(
            "pass a byoc role to Lambda",
            "iam:PassRole",
            vec![existing(&iam("role/byoc-acme-prod-cluster"), NONE)],
            false,
        )
        .with("iam:PassedToService", json!("lambda.amazonaws.com")),
    ]
}

#[test]
fn the_customer_role_allows_byoc_resources_and_denies_the_rest() {
    if !python_has(&["principalmapper"], "pip install -r .ci/requirements.txt") {
        return;
    }
    let policies = managed_policies(&load(&read(CUSTOMER), &[]));
    let wrong = wrong_decisions(&policies, &customer_calls());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_evaluation_fails_when_the_scoping_is_removed() {
    if !python_has(&["principalmapper"], "pip install -r .ci/requirements.txt") {
        return;
    }
    // Without the tag condition on EC2 changes, deleting an untagged VPC would be allowed.
    let broken = read(CUSTOMER).replacen(
        "vpc/*\"\n            Condition:\n              StringEquals:\n                aws:ResourceTag/ManagedBy: byoc",
        "vpc/*\"",
        1,
    );
    let wrong = wrong_decisions(&managed_policies(&load(&broken, &[])), &customer_calls());
    assert!(
        wrong
            .iter()
            .any(|w| w.starts_with("delete an untagged VPC")),
        "{wrong:#?}"
    );
}
