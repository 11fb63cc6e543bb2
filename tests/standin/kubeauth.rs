//! #12: the AWS CLI's credential precedence in a kubeconfig `exec` of `aws eks get-token`:
//! keys in the environment beat an `AWS_PROFILE` variable; only a `--profile` argument turns
//! the environment provider off.

use super::harness::{World, diagnostics, payloads};

const TENANT_ROLE: &str = "arn:aws:iam::111122223333:role/BYOCPlatformRole";
const UNAUTHORIZED: &str = "configured Kubernetes cluster is unreachable: unable to load schema \
                            information from the API server: the server has asked for the client \
                            to provide credentials\n";
const NS_URN: &str = "urn:pulumi:dev::proj::kubernetes:core/v1:Namespace::apps";

/// Our programs' shape (infra-yaml/providers.yaml): the kubeconfig is a `fn::toJSON`
/// variable handed to the provider as a secret.
fn program(exec_args: &str, exec_env: &str) -> String {
    format!(
        "name: proj
runtime: yaml
variables:
  kubeconfig:
    fn::toJSON:
      apiVersion: v1
      kind: Config
      clusters:
        - name: acme-dev
          cluster:
            server: ${{cluster.endpoint}}
      contexts:
        - name: acme-dev
          context:
            cluster: acme-dev
            user: acme-dev
      current-context: acme-dev
      users:
        - name: acme-dev
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
              args: {exec_args}
              env: {exec_env}
              interactiveMode: Never
resources:
  awsProvider:
    type: pulumi:providers:aws
    properties:
      region: eu-west-1
      assumeRoles:
        - roleArn: {TENANT_ROLE}
          externalId: ${{externalId}}
  cluster:
    type: aws:eks/cluster:Cluster
    properties:
      name: acme-dev
    options:
      provider: ${{awsProvider}}
  k8sProvider:
    type: pulumi:providers:kubernetes
    properties:
      kubeconfig:
        fn::secret: ${{kubeconfig}}
  apps:
    type: kubernetes:core/v1:Namespace
    properties:
      metadata:
        name: apps
    options:
      provider: ${{k8sProvider}}
"
    )
}

const ENV_PROFILE: &str = "[{name: AWS_PROFILE, value: byoc-tenant}]";
const ARGS: &str = "[eks, get-token, --cluster-name, '${cluster.name}', --region, eu-west-1]";
const ARGS_PROFILE: &str = "[eks, get-token, --cluster-name, '${cluster.name}', --region, eu-west-1, --profile, byoc-tenant]";

/// A world whose AWS config file has the tenant profile, as the executor writes it.
fn world(program: &str) -> World {
    let mut w = World::with_stack(program);
    let config = w.path("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile byoc-tenant]\nrole_arn = {TENANT_ROLE}\ncredential_source = Environment\n"
        ),
    )
    .unwrap();
    w.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    w
}

fn with_worker_keys(w: &mut World) {
    w.set("AWS_ACCESS_KEY_ID", "AKIAWORKERWORKER0000");
    w.set("AWS_SECRET_ACCESS_KEY", "worker-secret");
}

#[test]
fn worker_keys_in_the_environment_beat_aws_profile_and_kubernetes_says_unauthorized() {
    let mut w = world(&program(ARGS, ENV_PROFILE));
    with_worker_keys(&mut w);
    let out = w.up("up.jsonl", &[]);
    assert_ne!(out.code, 0);
    let events = w.events("up.jsonl");
    assert_eq!(
        diagnostics(&events, "error"),
        [UNAUTHORIZED, "update failed\n"]
    );
    let failed = payloads(&events, "resOpFailedEvent");
    assert_eq!(failed[0]["metadata"]["urn"], NS_URN);
}

#[test]
fn a_profile_argument_disables_the_environment_provider() {
    let mut w = world(&program(ARGS_PROFILE, "[]"));
    with_worker_keys(&mut w);
    w.up("up.jsonl", &[]).ok();
}

#[test]
fn without_keys_in_the_environment_aws_profile_is_used() {
    let w = world(&program(ARGS, ENV_PROFILE));
    w.up("up.jsonl", &[]).ok();
}

#[test]
fn a_profile_the_config_file_lacks_fails_the_exec() {
    let w = world(&program(
        "[eks, get-token, --cluster-name, x, --profile, nobody]",
        "[]",
    ));
    let out = w.up("up.jsonl", &[]);
    assert_ne!(out.code, 0);
    let errors = diagnostics(&w.events("up.jsonl"), "error");
    assert!(
        errors[0].contains("The config profile (nobody) could not be found"),
        "{errors:?}"
    );
}
