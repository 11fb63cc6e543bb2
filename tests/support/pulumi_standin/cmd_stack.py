"""`stack select|init|rm|ls|output|history`, `cancel`."""

import json
import os
import time

from . import crypto, program, settings, timefmt
from .diy import Diy
from .errors import CliError
from .stackref import stack_arg


def backend():
    return Diy(os.environ.get("PULUMI_BACKEND_URL"))


def _fqn(project, stack):
    return "organization/%s/%s" % (project["name"], stack)


def stack_select(flags, positional, project):
    stack = stack_arg(flags, positional)
    be = backend()
    if flags.get("create") and not be.exists(project["name"], stack):
        return stack_init(flags, [stack], project)
    be.load(project["name"], stack)
    return 0


def stack_init(flags, positional, project):
    stack = stack_arg(flags, positional)
    be = backend()
    # CreateStack (backend.go) locks the new stack's name while it writes it.
    be.lock(project["name"], stack)
    held = os.environ.get("PULUMI_STANDIN_INIT_HELD")
    if held:
        # Test knob: stop between the lock and the stack's first write, the window in which a
        # killed `stack init` leaves a lock on a stack that does not exist.
        open(held, "w").close()
        while True:
            time.sleep(1)
    try:
        if be.exists(project["name"], stack):
            raise CliError("stack '%s' already exists" % _fqn(project, stack))
        doc = settings.load(stack)
        provider = flags.get("secrets-provider")
        # An existing settings file keeps its salt / data key (NewPromptingPassphraseSecretsManager
        # and NewCloudSecretsManager reuse what the file holds).
        if provider in (None, "", "passphrase", "default") and doc.get("encryptionsalt"):
            manager, _ = settings.for_stack(dict(doc, secretsprovider=None), None)
        elif provider not in (None, "", "passphrase", "default") and doc.get("secretsprovider") == provider \
                and doc.get("encryptedkey"):
            manager = crypto.Cloud(provider, doc["encryptedkey"])
        else:
            manager = settings.for_new_stack(provider)
        settings._apply(doc, manager)
        # NOT VERIFIED: the real `stack init` may write no `latest` until the first update; the
        # stand-in records the secrets manager at once.
        be.save(project["name"], stack, {"version": 3, "checkpoint": {
            "stack": _fqn(project, stack),
            "latest": {"manifest": {"time": timefmt.rfc3339nano(), "magic": "", "version": ""},
                       "secrets_providers": manager.state(), "resources": []}}})
        settings.save(stack, doc)
    finally:
        be.unlock(project["name"], stack)
    print("Created stack '%s'" % stack)
    return 0


def stack_rm(flags, positional, project):
    stack = stack_arg(flags, positional)
    if not flags.get("yes"):
        raise CliError("--yes must be passed in to proceed when running in non-interactive mode", "config")
    be = backend()
    cp = be.load(project["name"], stack)
    be.lock(project["name"], stack)
    try:
        if (cp["checkpoint"].get("latest") or {}).get("resources") and not flags.get("force"):
            raise CliError("'%s' still has resources; removal rejected. Possible actions:\n"
                           "- Make sure that '%s' is the stack that you want to destroy\n"
                           "- Run `pulumi destroy` to delete the resources, then run `pulumi stack rm`\n"
                           "- Run `pulumi stack rm --force` to override this error" % (stack, stack))
        be.remove(project["name"], stack)
    finally:
        be.unlock(project["name"], stack)
    if not flags.get("preserve-config") and os.path.exists(settings.path(stack)):
        os.remove(settings.path(stack))
    print("Stack '%s' has been removed!" % stack)
    return 0


def stack_ls(flags, positional, project):
    be = backend()
    prefix = ".pulumi/stacks/%s" % project["name"]
    out = []
    for key in be.bucket.list(prefix):
        if not key.endswith(".json"):
            continue
        name = key[len(prefix) + 1:-len(".json")]
        latest = json.loads(be.bucket.read(key))["checkpoint"].get("latest") or {}
        entry = {"name": name, "current": False,
                 "updateInProgress": bool(be.lock_files(project["name"], name)),
                 "resourceCount": len(latest.get("resources") or [])}
        out.append(entry)
    if not flags.get("json"):
        raise CliError("the stand-in only implements `stack ls --json`", "config")
    print(json.dumps(out, indent=4))
    return 0


def stack_output(flags, positional, project):
    stack = stack_arg(flags)
    cp = backend().load(project["name"], stack)
    latest = cp["checkpoint"].get("latest") or {}
    outputs = {}
    for r in latest.get("resources") or []:
        if r["type"] == "pulumi:pulumi:Stack":
            outputs = r.get("outputs", {})
    manager = crypto.from_snapshot(latest.get("secrets_providers")) if flags.get("show-secrets") else None
    shown = {k: ((json.loads(manager.decrypt(v["ciphertext"])) if manager else "[secret]")
                 if program.is_secret(v) else v) for k, v in outputs.items()}
    if not flags.get("json"):
        raise CliError("the stand-in only implements `stack output --json`", "config")
    print(json.dumps(shown, indent=2))
    return 0


def stack_history(flags, positional, project):
    stack = stack_arg(flags)
    be = backend()
    be.load(project["name"], stack)
    entries = be.history(project["name"], stack)
    size = int(flags.get("page-size", "0") or 0)
    page = int(flags.get("page", "1") or 1)
    if size > 0:
        entries = entries[(page - 1) * size: page * size]
    print(json.dumps(entries, indent=4))
    return 0


def cancel(flags, positional, project):
    stack = stack_arg(flags, positional)
    if not flags.get("yes"):
        raise CliError("--yes must be passed in to proceed when running in non-interactive mode", "config")
    be = backend()
    be.load(project["name"], stack)
    be.cancel(project["name"], stack)
    # pkg/cmd/pulumi/cancel/cancel.go.
    print("The currently running update for '%s' has been canceled!" % stack)
    return 0
