"""`config`, `config get|set|set-all|rm` on the stack settings file (pulumi/pulumi
pkg/cmd/pulumi/config/config.go). Secrets use the stack's secrets manager (settings.py)."""

import json

from . import settings
from .cmd_stack import backend
from .errors import CliError
from .program import config_key
from .stackref import stack_arg


def _manager(project, stack, doc):
    cp = backend().load(project["name"], stack)
    manager, changed = settings.for_stack(doc, cp)
    return manager


def config_set(flags, positional, project, stdin_value):
    stack = stack_arg(flags)
    if not positional:
        raise CliError("accepts between 1 and 2 arg(s), received 0", "config")
    key = positional[0]
    value = positional[1] if len(positional) == 2 else stdin_value
    if value is None:
        raise CliError("config value must be specified in non-interactive mode")
    doc = settings.load(stack)
    manager = _manager(project, stack, doc)
    cfg = doc.get("config") or {}
    doc["config"] = cfg
    cfg[config_key(project, key)] = {"secure": manager.encrypt(value)} if flags.get("secret") else value
    settings.save(stack, doc)
    return 0


def config_set_all(flags, positional, project):
    stack = stack_arg(flags)
    doc = settings.load(stack)
    manager = _manager(project, stack, doc)
    cfg = doc.get("config") or {}
    doc["config"] = cfg
    for pair in flags.get("plaintext", []):
        k, _, v = pair.partition("=")
        cfg[config_key(project, k)] = v
    for pair in flags.get("secret", []):
        k, _, v = pair.partition("=")
        cfg[config_key(project, k)] = {"secure": manager.encrypt(v)}
    settings.save(stack, doc)
    return 0


def _value(manager, v):
    if isinstance(v, dict) and "secure" in v:
        return manager.decrypt(v["secure"]), True
    return v, False


def config_get(flags, positional, project):
    stack = stack_arg(flags)
    if len(positional) != 1:
        raise CliError("accepts 1 arg(s), received %d" % len(positional), "config")
    doc = settings.load(stack)
    key = config_key(project, positional[0])
    cfg = doc.get("config") or {}
    if key not in cfg:
        raise CliError("configuration key '%s' not found for stack '%s'" % (positional[0], stack))
    value, secret = _value(_manager(project, stack, doc), cfg[key])
    print(json.dumps({"value": value, "secret": secret}, indent=2) if flags.get("json") else value)
    return 0


def config_rm(flags, positional, project):
    stack = stack_arg(flags)
    if len(positional) != 1:
        raise CliError("accepts 1 arg(s), received %d" % len(positional), "config")
    doc = settings.load(stack)
    (doc.get("config") or {}).pop(config_key(project, positional[0]), None)
    settings.save(stack, doc)
    return 0


def config_all(flags, positional, project):
    stack = stack_arg(flags)
    doc = settings.load(stack)
    manager = _manager(project, stack, doc) if flags.get("show-secrets") else None
    out = {}
    for k, v in (doc.get("config") or {}).items():
        if isinstance(v, dict) and "secure" in v:
            out[k] = {"value": manager.decrypt(v["secure"]), "secret": True} if manager else {"secret": True}
        else:
            out[k] = {"value": v, "secret": False}
    if not flags.get("json"):
        raise CliError("the stand-in only implements `config --json`", "config")
    print(json.dumps(out, indent=4))
    return 0
