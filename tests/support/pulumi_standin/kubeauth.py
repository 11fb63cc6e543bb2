"""Which AWS identity a kubeconfig `exec` of `aws eks get-token` authenticates as, and whether
the tenant's EKS cluster lets it in.

The exec plugin runs with the provider's environment plus the exec `env` entries
(k8s.io/client-go plugin/pkg/client/auth/exec/exec.go). The AWS CLI then resolves credentials
(aws/aws-cli v2 awscli/botocore/credentials.py create_credential_resolver, awscli/clidriver.py
_handle_top_level_args): the environment provider (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)
comes first and is removed only when the profile was given as the `--profile` argument (a
session instance variable); an AWS_PROFILE variable does not beat keys in the environment.

Access: the cluster was created by the AWS provider's assumed tenant role, which is its only
admin (`bootstrapClusterCreatorAdminPermissions`); any other identity (the worker's own keys, a
profile assuming another role) is refused with a 401. The message is the one users report
from pulumi-kubernetes (pulumi/pulumi-eks#669, #296). A profile that does not exist makes
the AWS CLI fail ("The config profile (x) could not be found", botocore ProfileNotFound) and
client-go report the exec failure; that combined text is APPROXIMATE.
"""

import configparser
import os

from . import program

UNAUTHORIZED = ("configured Kubernetes cluster is unreachable: unable to load schema information from "
                "the API server: the server has asked for the client to provide credentials")


def _exec_of(kubeconfig):
    if not isinstance(kubeconfig, dict):
        return None
    users = {u.get("name"): (u.get("user") or {}) for u in kubeconfig.get("users") or []
             if isinstance(u, dict)}
    contexts = {c.get("name"): (c.get("context") or {}) for c in kubeconfig.get("contexts") or []
                if isinstance(c, dict)}
    current = contexts.get(kubeconfig.get("current-context")) or {}
    user = users.get(current.get("user")) or (next(iter(users.values())) if users else {})
    ex = user.get("exec") if isinstance(user, dict) else None
    if not isinstance(ex, dict) or os.path.basename(str(ex.get("command", ""))) != "aws":
        return None
    if "get-token" not in [str(a) for a in ex.get("args") or []]:
        return None
    return ex


def _profile_arg(args):
    for i, a in enumerate(args):
        if a == "--profile" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--profile="):
            return a.split("=", 1)[1]
    return None


def aws_cli_identity(args, exec_env, environ):
    """('profile', name) or ('environment', access key id), as the AWS CLI would pick."""
    env = dict(environ)
    env.update({str(e.get("name")): str(e.get("value")) for e in exec_env or [] if isinstance(e, dict)})
    explicit = _profile_arg([str(a) for a in args])
    if explicit:
        return ("profile", explicit), env
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return ("environment", env["AWS_ACCESS_KEY_ID"]), env
    return ("profile", env.get("AWS_PROFILE") or "default"), env


def _profile_section(name, env):
    config = configparser.RawConfigParser()
    home = os.path.expanduser("~")
    config.read(env.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config"))
    section = "default" if name == "default" else "profile " + name
    if config.has_section(section):
        return dict(config.items(section))
    creds = configparser.RawConfigParser()
    creds.read(env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"))
    if creds.has_section(name):
        return dict(creds.items(name))
    return None


def _admin_role(project):
    """The role the program's AWS provider assumes (it creates, hence administers, the cluster)."""
    for spec in (project.get("resources") or {}).values():
        if (spec or {}).get("type") != "pulumi:providers:aws":
            continue
        props = spec.get("properties") or {}
        roles = props.get("assumeRoles") or ([props["assumeRole"]] if props.get("assumeRole") else [])
        for r in roles:
            if isinstance(r, dict) and r.get("roleArn"):
                return r["roleArn"]
    return None


def access_error(project, options, environ):
    """None when the resource's Kubernetes provider gets in, else the provider's error text."""
    provider = program.provider_of(options, "kubernetes")
    spec = (project.get("resources") or {}).get(provider) if provider else None
    if not spec or spec.get("type") != "pulumi:providers:kubernetes":
        return None
    ex = _exec_of(program.resolve(project, (spec.get("properties") or {}).get("kubeconfig")))
    if ex is None:
        return None
    (source, who), env = aws_cli_identity(ex.get("args") or [], ex.get("env"), environ)
    if source == "environment":
        return UNAUTHORIZED
    section = _profile_section(who, env)
    if section is None:
        return ("configured Kubernetes cluster is unreachable: getting credentials: exec: executable aws "
                "failed with exit code 255 (The config profile (%s) could not be found)" % who)
    admin = _admin_role(project)
    if admin and section.get("role_arn") != admin:
        return UNAUTHORIZED
    return None
