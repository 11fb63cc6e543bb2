"""`stack export` and `stack import` (pulumi/pulumi pkg/cmd/pulumi/stack/stack_export.go,
stack_import.go, io.go SaveSnapshot; pkg/backend/diy/backend.go ExportDeployment /
ImportDeployment)."""

import json
import sys

from . import crypto, program, snapshot
from .cmd_stack import backend
from .errors import CliError
from .stackref import stack_arg


def stack_export(flags, positional, project):
    stack = stack_arg(flags)
    cp = backend().load(project["name"], stack)
    latest = cp["checkpoint"].get("latest") or {}
    if flags.get("show-secrets"):
        manager = crypto.from_snapshot(latest.get("secrets_providers"))
        latest = snapshot.walk_secrets(latest, lambda s: {
            program.SECRET_SIG: program.SECRET_SIG_VALUE, "plaintext": manager.decrypt(s["ciphertext"])})
    # apitype.UntypedDeployment {version, features?, deployment}: the checkpoint's `latest`.
    doc = {"version": cp.get("version", 3)}
    if cp.get("features"):
        doc["features"] = cp["features"]
    doc["deployment"] = latest
    text = json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
    if flags.get("file"):
        with open(flags["file"], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _multierror(errors):
    # hashicorp/go-multierror's format.
    return "%d errors occurred:\n%s\n" % (len(errors), "".join("\t* %s\n" % e for e in errors))


def stack_import(flags, positional, project):
    stack = stack_arg(flags)
    be = backend()
    cp = be.load(project["name"], stack)
    if flags.get("file"):
        try:
            with open(flags["file"]) as f:
                doc = json.load(f)
        except FileNotFoundError:
            raise CliError("could not open file: open %s: no such file or directory" % flags["file"])
    else:
        doc = json.load(sys.stdin)
    deployment = doc.get("deployment") or {}
    problems = []
    for r in deployment.get("resources") or []:
        other = r.get("urn", "").split("::")[0].rsplit(":", 1)[-1]
        if other != stack:
            msg = "resource '%s' is from a different stack (%s != %s)" % (r.get("urn"), other, stack)
            if flags.get("force"):
                sys.stderr.write("warning: %s\n" % msg)
            else:
                problems.append(msg)
    if problems:
        problems.append("importing this file could be dangerous; rerun with --force to proceed anyway")
        raise CliError(_multierror(problems).rstrip("\n"))
    # SaveSnapshot "explicitly clear[s] out any pending operations", one warning each.
    for op in deployment.get("pending_operations") or []:
        sys.stderr.write("warning: removing pending operation '%s' on '%s' from snapshot\n"
                         % (op.get("type"), (op.get("resource") or {}).get("urn")))
    deployment.pop("pending_operations", None)
    manager = crypto.from_snapshot(deployment.get("secrets_providers"))
    if manager is not None:
        # Plaintext secrets (an export with --show-secrets) are sealed again.
        def seal(s):
            if "plaintext" in s:
                return program.seal_text(s["plaintext"], manager)
            return s
        deployment = snapshot.walk_secrets(deployment, seal)
    be.lock(project["name"], stack)
    try:
        cp["version"] = doc.get("version", 3)
        if doc.get("features"):
            cp["features"] = doc["features"]
        cp["checkpoint"]["latest"] = deployment
        be.save(project["name"], stack, cp)
    finally:
        be.unlock(project["name"], stack)
    print("Import complete.")
    return 0
