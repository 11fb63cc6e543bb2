"""The Pulumi YAML program in the workspace: project, resources, outputs.

There is no engine here to evaluate expressions: resource inputs are the program's property
values as written (`${…}` kept as text), which is also what the state records. Outputs are
literals, `fn::secret`, a stack config value (`${key}`), or a placeholder `standin:<ref>` for
`${resource.path}` / `${variable}`.
"""

import json
import os

import yaml

from .errors import CliError

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def load_project():
    # The YAML host reads Main.yaml/Pulumi.yaml; a missing `name` is the host's error text
    # (pulumi/pulumi-yaml pkg/pulumiyaml/ast/template.go).
    if not os.path.exists("Pulumi.yaml"):
        raise CliError("no Pulumi.yaml project file found (searching upwards from %s)" % os.getcwd())
    with open("Pulumi.yaml") as f:
        doc = yaml.safe_load(f) or {}
    if not doc.get("name"):
        raise CliError("failed to load Pulumi.yaml: missing required `name` field.")
    return doc


def stack_urn(project, stack):
    return "urn:pulumi:%s::%s::pulumi:pulumi:Stack::%s-%s" % (stack, project["name"], project["name"], stack)


def resources(project, stack):
    """[(urn, type, logical name, properties, options)] in program order."""
    out = []
    for name, spec in (project.get("resources") or {}).items():
        spec = spec or {}
        rtype = spec.get("type", "")
        urn = "urn:pulumi:%s::%s::%s::%s" % (stack, project["name"], rtype, name)
        out.append((urn, rtype, name, spec.get("properties") or {}, spec.get("options") or {}))
    return out


def config_key(project, key):
    return key if ":" in key else "%s:%s" % (project["name"], key)


def is_secret(value):
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_SIG_VALUE


def seal(value, manager):
    return seal_text(json.dumps(value), manager)


def seal_text(text, manager):
    """A secret property value: the signature key plus the ciphertext of its JSON."""
    return {SECRET_SIG: SECRET_SIG_VALUE, "ciphertext": manager.encrypt(text)}


def render_outputs(project, manager, config):
    out = {}
    for k, v in (project.get("outputs") or {}).items():
        secret = False
        if isinstance(v, dict) and list(v.keys()) == ["fn::secret"]:
            v, secret = v["fn::secret"], True
        if isinstance(v, str) and v.startswith("${") and v.endswith("}"):
            ref = v[2:-1]
            head = ref.replace("[", ".").split(".")[0]
            if head in (project.get("resources") or {}) or head in (project.get("variables") or {}):
                v = "standin:" + ref
            else:
                key = config_key(project, ref)
                if key not in config:
                    # pulumi-yaml analyser.go: an unknown reference.
                    raise CliError('resource, variable, or config value "%s" not found' % ref)
                v = config[key]
                if isinstance(v, dict) and "secure" in v:
                    v, secret = manager.decrypt(v["secure"]), True
        out[k] = seal(v, manager) if secret else v
    return out


def plain(outputs, manager):
    return {k: (json.loads(manager.decrypt(v["ciphertext"])) if is_secret(v) else v)
            for k, v in outputs.items()}


def resolve(project, value, depth=0):
    """Follows `fn::secret`, `fn::toJSON` and whole-string `${variable}` references, enough to
    read a literal structure such as the kubeconfig a provider is given."""
    if depth > 10:
        return value
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        if k in ("fn::secret", "fn::toJSON"):
            return resolve(project, v, depth + 1)
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        name = value[2:-1]
        variables = project.get("variables") or {}
        if name in variables:
            return resolve(project, variables[name], depth + 1)
    if isinstance(value, str) and value.lstrip().startswith(("{", "apiVersion")):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def provider_of(options, package):
    """The logical name of the explicit provider a resource's options name, if any."""
    refs = []
    if isinstance(options.get("provider"), str):
        refs.append(options["provider"])
    if isinstance(options.get("providers"), dict) and isinstance(options["providers"].get(package), str):
        refs.append(options["providers"][package])
    for ref in refs:
        if ref.startswith("${") and ref.endswith("}"):
            return ref[2:-1]
    return None
