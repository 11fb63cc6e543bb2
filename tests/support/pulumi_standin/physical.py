"""Which resources have a fixed physical name, and what the cloud answers when one is created
again. Without a fixed name Pulumi auto-names (`<name>-<7 hex>`), so nothing clashes.

Error texts: the AWS provider (bridged terraform-provider-aws, aws-sdk-go-v2) reports
`creating <Thing> (<id>): operation error <Svc>: <Op>, https response error StatusCode: <n>,
RequestID: <uuid>, <Code>: <message>`; modelled errors print `<Code>: …`, unmodelled ones
(EC2) `api error <Code>: …`. The shape and the IAM/EKS messages are as quoted in public reports
(hashicorp/terraform-provider-aws#12121, terraform-aws-modules/terraform-aws-eks#1262,
aws-ia/terraform-aws-control_tower_account_factory#529). Messages marked APPROXIMATE were not
found verbatim in any source. Pulumi's bridge may add a prefix/suffix to the message (source
location, provider version); that is not reproduced.
"""

import uuid

CLASH, UPSERT, ADOPT_IF_SAME = "clash", "upsert", "adopt-if-same"


def _aws(thing, op, status, code, message, modelled=True):
    def render(ident):
        detail = ("%s: %s" if modelled else "api error %s: %s") % (code, message.format(*ident))
        return ("creating %s (%s): operation error %s, https response error StatusCode: %d, "
                "RequestID: %s, %s" % (thing, ":".join(ident), op, status, uuid.uuid4(), detail))
    return render


# type -> (identity property paths, behaviour on a second create, error renderer)
RULES = {
    # IAM CreateRole / CreateInstanceProfile / CreatePolicy: EntityAlreadyExists (409).
    "aws:iam/role:Role": (["name"], CLASH, _aws(
        "IAM Role", "IAM: CreateRole", 409, "EntityAlreadyExists", "Role with name {0} already exists.")),
    "aws:iam/instanceProfile:InstanceProfile": (["name"], CLASH, _aws(
        "IAM Instance Profile", "IAM: CreateInstanceProfile", 409, "EntityAlreadyExists",
        "Instance Profile {0} already exists.")),
    "aws:iam/policy:Policy": (["name"], CLASH, _aws(
        "IAM Policy", "IAM: CreatePolicy", 409, "EntityAlreadyExists",
        "A policy called {0} already exists. Duplicate names are not allowed.")),  # APPROXIMATE
    # PutRolePolicy / AttachRolePolicy replace or repeat silently (IAM API reference).
    "aws:iam/rolePolicy:RolePolicy": (["role", "name"], UPSERT, None),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (["role", "policyArn"], UPSERT, None),
    # EKS: ResourceInUseException (409) on every Create* of an existing name.
    "aws:eks/cluster:Cluster": (["name"], CLASH, _aws(
        "EKS Cluster", "EKS: CreateCluster", 409, "ResourceInUseException",
        "Cluster already exists with name: {0}")),
    "aws:eks/nodeGroup:NodeGroup": (["clusterName", "nodeGroupName"], CLASH, _aws(
        "EKS Node Group", "EKS: CreateNodegroup", 409, "ResourceInUseException",
        "NodeGroup already exists with name {1} and cluster name {0}")),  # APPROXIMATE
    "aws:eks/addon:Addon": (["clusterName", "addonName"], CLASH, _aws(  # message APPROXIMATE
        "EKS Add-On", "EKS: CreateAddon", 409, "ResourceInUseException", "Addon already exists.")),
    # The EKS user guide (Auto Mode node IAM role) says EKS itself creates this access entry
    # for the built-in node pools' role; creating it again is a 409 ResourceInUseException.
    "aws:eks/accessEntry:AccessEntry": (["clusterName", "principalArn"], CLASH, _aws(
        "EKS Access Entry", "EKS: CreateAccessEntry", 409, "ResourceInUseException",
        "The specified access entry resource is already in use on this cluster.")),  # APPROXIMATE
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        ["clusterName", "namespace", "serviceAccount"], CLASH, _aws(
            "EKS Pod Identity Association", "EKS: CreatePodIdentityAssociation", 409,
            "ResourceInUseException", "Association already exists")),  # APPROXIMATE
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        ["clusterName", "principalArn", "policyArn"], UPSERT, None),
    "aws:ec2/launchTemplate:LaunchTemplate": (["name"], CLASH, _aws(
        "EC2 Launch Template", "EC2: CreateLaunchTemplate", 400,
        "InvalidLaunchTemplateName.AlreadyExistsException",
        "Launch template name already in use.", modelled=False)),
    "aws:ec2/securityGroup:SecurityGroup": (["vpcId", "name"], CLASH, _aws(
        "Security Group", "EC2: CreateSecurityGroup", 400, "InvalidGroup.Duplicate",
        "The security group '{1}' already exists for VPC '{0}'", modelled=False)),
    # SQS API reference, CreateQueue: the same name with the same attributes returns the
    # existing queue; different attributes fail with QueueAlreadyExists.
    "aws:sqs/queue:Queue": (["name"], ADOPT_IF_SAME, _aws(
        "SQS Queue", "SQS: CreateQueue", 400, "QueueAlreadyExists",
        "A queue already exists with the same name and a different value for attribute(s)")),  # APPROXIMATE
    # EventBridge PutRule "creates or updates" (API reference); whether the provider checks
    # for an existing rule first was not verified.
    "aws:cloudwatch/eventRule:EventRule": (["name"], UPSERT, None),
    # pulumi-kubernetes with server-side apply (enableServerSideApply, the v4 default) upserts.
    "kubernetes:core/v1:Namespace": (["metadata.name"], UPSERT, None),
    "kubernetes:core/v1:Secret": (["metadata.namespace", "metadata.name"], UPSERT, None),
    # Helm refuses a release name in use; the exact provider text is APPROXIMATE.
    "kubernetes:helm.sh/v3:Release": (["namespace", "name"], CLASH,
                                      lambda ident: "cannot re-use a name that is still in use"),
}

# Component resources: no cloud object of their own.
COMPONENTS = {"kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile"}

ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/internetGateway:InternetGateway": "igw-", "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-", "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/route:Route": "r-rtb-", "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-", "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": "vpc-cidr-assoc-",
}


def is_cloud_resource(rtype):
    return not rtype.startswith("pulumi:") and rtype not in COMPONENTS


def _get(props, dotted):
    cur = props
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def identity(rtype, props, resolve):
    """The fixed physical name of a resource as a tuple of strings, or None (auto-named)."""
    rule = RULES.get(rtype)
    if rule is None:
        return None
    values = []
    for p in rule[0]:
        v = resolve(_get(props, p))
        if v is None or isinstance(v, (dict, list)):
            return None
        values.append(str(v))
    return tuple(values)


def new_id(rtype, name, ident):
    """A provider-like ID: for named resources the name parts joined as the providers do
    (`cluster:nodegroup` for EKS, `namespace/name` for Kubernetes; APPROXIMATE for pod identity
    associations and SQS queues, whose real IDs are an association ID and the queue URL),
    AWS-style IDs for EC2, else the auto-name `<name>-<7 hex>`."""
    if ident and rtype in RULES and rtype not in ID_PREFIX:
        return ("/" if rtype.startswith("kubernetes:") else ":").join(ident)
    if rtype in ID_PREFIX:
        return ID_PREFIX[rtype] + uuid.uuid4().hex[:17]
    if rtype == "aws:kms/key:Key":
        return str(uuid.uuid4())
    return "%s-%s" % (name, uuid.uuid4().hex[:7])
