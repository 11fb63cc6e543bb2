//! #12: the fake cloud: a fixed physical name is unique per account (and region for regional
//! services), so a second create fails the way AWS answers; SQS adopts an identical queue.

use super::harness::{World, diagnostics};

fn program(account: &str, resources: &str) -> String {
    format!(
        "name: proj\nruntime: yaml\nresources:\n  awsProvider:\n    type: pulumi:providers:aws\n    \
         properties:\n      region: eu-west-1\n      assumeRoles:\n        - roleArn: \
         arn:aws:iam::{account}:role/BYOCPlatformRole\n{resources}"
    )
}

const CLUSTER: &str = "  cluster:\n    type: aws:eks/cluster:Cluster\n    properties:\n      name: acme-prod\n    \
                       options:\n      provider: ${awsProvider}\n";
const QUEUE: &str = "  queue:\n    type: aws:sqs/queue:Queue\n    properties:\n      name: acme-prod-karpenter\n      \
                     messageRetentionSeconds: 300\n    options:\n      provider: ${awsProvider}\n";

/// Stack `dev` deployed with `first`, then stack `other` of the same project on the same
/// backend deployed with `second`.
fn two_stacks(first: &str, second: &str) -> (World, super::harness::Out) {
    let w = World::with_stack(first);
    w.up("dev.jsonl", &[]).ok();
    w.write_program(second);
    w.run(&["stack", "init", "other"]).ok();
    let log = w.path("other.jsonl");
    let out = w.run(&[
        "up",
        "--yes",
        "--skip-preview",
        "--stack",
        "other",
        "--event-log",
        log.to_str().unwrap(),
    ]);
    (w, out)
}

#[test]
fn an_eks_cluster_name_taken_in_the_account_fails_with_resource_in_use() {
    let p = program("111122223333", CLUSTER);
    let (w, out) = two_stacks(&p, &p);
    assert_ne!(out.code, 0);
    let errors = diagnostics(&w.events("other.jsonl"), "error");
    assert!(
        errors[0].starts_with(
            "creating EKS Cluster (acme-prod): operation error EKS: CreateCluster, https response error \
             StatusCode: 409, RequestID: "
        ),
        "{errors:?}"
    );
    assert!(
        errors[0]
            .ends_with(", ResourceInUseException: Cluster already exists with name: acme-prod\n")
    );
}

#[test]
fn the_same_name_in_another_account_does_not_clash() {
    let (_, out) = two_stacks(
        &program("111122223333", CLUSTER),
        &program("444455556666", CLUSTER),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn an_identical_sqs_queue_is_adopted_and_a_different_one_refused() {
    let p = program("111122223333", QUEUE);
    let (_, out) = two_stacks(&p, &p);
    assert_eq!(
        out.code, 0,
        "CreateQueue returns the existing queue: {out:?}"
    );
    let (w, out) = two_stacks(&p, &p.replace("300", "600"));
    assert_ne!(out.code, 0);
    assert!(diagnostics(&w.events("other.jsonl"), "error")[0].contains("QueueAlreadyExists"));
}
