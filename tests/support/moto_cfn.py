"""Test setup against a moto server: IAM principals and the customer role stack from our template.

Used by tests/cloud.rs (spawned with an argument vector, never a shell). Prints one JSON object.

  moto_cfn.py setup  ENDPOINT TEMPLATE STACK EXTERNAL_ID
      (moto still in no-auth mode) creates an admin user (all actions) and the worker user
      `byoc-worker` (may call sts:AssumeRole), then the stack from TEMPLATE with the worker as
      TrustedPrincipalArn. Prints {"admin": {...keys}, "worker": {...keys, "arn"}, "role_arn",
      "role": {"max_session_duration", "trust", "attached_policies"}}.
  moto_cfn.py update ENDPOINT TEMPLATE STACK EXTERNAL_ID ADMIN_KEY ADMIN_SECRET WORKER_ARN
      updates the stack with a new ExternalId, signed as the admin (works in auth mode).

moto gap (5.2): a CloudFormation stack update does not apply a changed AssumeRolePolicyDocument
to an AWS::IAM::Role (moto/iam/models.py Role.update_from_cloudformation_json ignores it); real
CloudFormation updates the trust policy in place. `update` therefore applies the template's trust
policy, resolved with the new parameters, exactly as CloudFormation would, and only when moto
left the old one in place.
"""

import json
import sys

import boto3
import yaml

REGION = "us-east-1"


def client(service, endpoint, key="testing", secret="testing"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def user_with_policy(iam, name, actions):
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(
        UserName=name,
        PolicyName=f"{name}-policy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"arn": user["Arn"], "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def parameters(worker_arn, external_id):
    return [
        {"ParameterKey": "TrustedPrincipalArn", "ParameterValue": worker_arn},
        {"ParameterKey": "ExternalId", "ParameterValue": external_id},
    ]


def role_arn(cfn, stack):
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "RoleArn")


def setup(endpoint, template, stack, external_id):
    iam = client("iam", endpoint)
    admin = user_with_policy(iam, "byoc-admin", "*")
    worker = user_with_policy(iam, "byoc-worker", "sts:AssumeRole")
    cfn = client("cloudformation", endpoint)
    with open(template, encoding="utf-8") as f:
        body = f.read()
    cfn.create_stack(
        StackName=stack,
        TemplateBody=body,
        Parameters=parameters(worker["arn"], external_id),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    arn = role_arn(cfn, stack)
    name = arn.rsplit("/", 1)[1]
    role = iam.get_role(RoleName=name)["Role"]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    return {
        "admin": admin,
        "worker": worker,
        "role_arn": arn,
        "role": {
            "max_session_duration": role["MaxSessionDuration"],
            "trust": role["AssumeRolePolicyDocument"],
            "attached_policies": len(attached),
        },
    }


def update(endpoint, template, stack, external_id, admin_key, admin_secret, worker_arn):
    cfn = client("cloudformation", endpoint, admin_key, admin_secret)
    with open(template, encoding="utf-8") as f:
        body = f.read()
    params = parameters(worker_arn, external_id)
    cfn.update_stack(
        StackName=stack,
        TemplateBody=body,
        Parameters=params,
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    arn = role_arn(cfn, stack)
    iam = client("iam", endpoint, admin_key, admin_secret)
    name = arn.rsplit("/", 1)[1]
    wanted = trust_policy(body, {p["ParameterKey"]: p["ParameterValue"] for p in params})
    current = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    if current != wanted:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(wanted))
    return {"role_arn": arn, "trust_applied_by_script": current != wanted}


class CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as {"Fn": tag, "value": ...}."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {"Fn": suffix, "value": value}


CfnLoader.add_multi_constructor("!", _tagged)


def trust_policy(body, params):
    """The role's AssumeRolePolicyDocument with !Ref parameters resolved."""
    template = yaml.load(body, Loader=CfnLoader)
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]

    def resolve(v):
        if isinstance(v, dict) and v.get("Fn") == "Ref":
            return params[v["value"]]
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    return resolve(roles[0]["Properties"]["AssumeRolePolicyDocument"])


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "setup":
        result = setup(*args)
    elif command == "update":
        result = update(*args)
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
