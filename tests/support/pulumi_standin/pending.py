"""`refresh --clear-pending-creates` and `--import-pending-creates` (pulumi/pulumi
pkg/cmd/pulumi/operations/refresh.go): both edit the snapshot before the refresh runs, through
a total state edit (pkg/cmd/pulumi/state/io.go TotalStateEdit -> ImportDeployment, which takes
the stack's lock). They run even with --preview-only.

Import turns the pending create into an "importing" operation carrying the given ID; the
refresh then adopts it (the interactive option says "the CREATE succeeded; provide a resource
ID and complete the CREATE operation"). NOT VERIFIED: the engine code that consumes
"importing" operations during a refresh was not found in the sources read; the stand-in
follows the documented intent, and a missing cloud object fails like an import step does
(pkg/resource/deploy/step.go: "resource '<id>' does not exist").
"""

import sys

from .errors import CliError


def edit(backend, project, stack, flags, cp):
    clear = bool(flags.get("clear-pending-creates"))
    imports = flags.get("import-pending-creates") or []
    if flags.get("skip-pending-creates") and clear:
        raise CliError("cannot set both --skip-pending-creates and --clear-pending-creates")
    if not imports and not clear:
        return cp
    if len(imports) % 2 != 0:
        raise CliError("each URN must be followed by an ID: found an odd number of entries")
    latest = cp["checkpoint"].get("latest") or {}
    ops = latest.get("pending_operations") or []
    if imports:
        wanted = dict(zip(imports[0::2], imports[1::2]))
        for op in ops:
            urn = op["resource"]["urn"]
            if op["type"] == "creating" and urn in wanted:
                op["resource"]["id"] = wanted.pop(urn)
                op["type"] = "importing"
        # pendingCreatesToImports builds the unused list with make([]string, n) then append,
        # so it starts with n empty strings: one unused URN prints the multi-line form.
        unused = [""] * len(wanted) + list(wanted)
        if len(unused) > 1:
            sys.stderr.write('warning: the following urns did not correspond to a pending create\n- "%s"\n'
                             % '"\n- "'.join(unused))
    has_creates = any(op["type"] == "creating" for op in ops)
    if clear:
        ops = [op for op in ops if op["type"] != "creating"]
    if not imports and not has_creates:
        return cp  # hasPendingCreates(snap) is false: no state edit at all
    if ops:
        latest["pending_operations"] = ops
    else:
        latest.pop("pending_operations", None)
    backend.lock(project, stack)
    try:
        backend.save(project, stack, cp)
    finally:
        backend.unlock(project, stack)
    return cp
