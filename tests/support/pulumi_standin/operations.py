"""The four engine commands end to end: checks before the engine, the lock, the flow of each
operation, and how it ends (summary, history, exit)."""

import os
import time

from . import engines, pending, plans, program, settings, signals, snapshot, steps, timefmt
from .diy import Diy
from .engine import Run, pending_warning
from .errors import NON_INTERACTIVE_YES, CliError, version_tuple
from .events import metadata
from .stackref import stack_arg

# engine.HasChanges (pkg/engine/update.go).
NOT_CHANGES = {"same", "read", "discard", "read-replacement"}
LABELS = {"up": "Updating", "refresh": "Refreshing", "destroy": "Destroying", "preview": "Previewing update"}


def cmd_engine(kind, flags, positional, project):
    forced = os.environ.get("PULUMI_STANDIN_EXIT_CODE")
    if forced:
        raise CliError("standin forced failure", code=int(forced))
    if positional:
        raise CliError('unknown command "%s" for "pulumi %s"' % (positional[0], kind), "config")
    dry = kind == "preview" or bool(flags.get("preview-only"))
    if kind != "preview" and not (flags.get("yes") or flags.get("skip-preview") or flags.get("preview-only")):
        raise CliError(NON_INTERACTIVE_YES, "config")
    stack = stack_arg(flags)
    backend = Diy(os.environ.get("PULUMI_BACKEND_URL"))
    cp = backend.load(project["name"], stack)
    doc = settings.load(stack)
    manager, changed = settings.for_stack(doc, cp, settings.ENGINE_WRAP)
    if changed:
        settings.save(stack, doc)
    if kind == "refresh":
        cp = pending.edit(backend, project["name"], stack, flags, cp)
    run = Run(kind, flags, project, stack, backend, cp, manager, doc)
    registration = None
    # Preview takes no lock (pkg/backend/diy/backend.go Preview). `refresh --preview-only`
    # did until v3.229.0 ("[backend/diy] Remove state lock for refresh --preview-only for diy
    # backend", pulumi/pulumi#22385, changelog/v3.229.0.md: Refresh called b.Lock before its
    # PreviewOnly branch). `destroy --preview-only`: taken as without a lock (NOT VERIFIED).
    old_refresh_lock = kind == "refresh" and dry and version_tuple() < (3, 229, 0)
    if not dry or old_refresh_lock:
        backend.lock(project["name"], stack)
    if not dry:
        registration = engines.Registration(backend.url, project["name"], stack, kind)
    try:
        # Signal handling is in place before tests are told the engine started, so a SIGINT
        # sent as soon as the flag appears is a graceful cancel, not a Python traceback.
        hang = os.environ.get("PULUMI_STANDIN_HANG") == "1"
        if hang:
            signals.ignore_all()
        else:
            signals.install()
        started = os.environ.get("PULUMI_STANDIN_STARTED")
        if started:
            open(started, "w").close()
        while hang:
            time.sleep(3600)
        print("%s (%s):" % ("Previewing %s" % {"up": "update", "preview": "update"}.get(kind, kind)
                             if dry else LABELS[kind], stack), flush=True)
        snapshot.check_readable(cp["checkpoint"].get("latest") or {}, run.snap.old_manager)
        run.open_log()
        run.cloud.apply_drift_knob(stack)
        start = time.time()
        run.log.emit("preludeEvent", {"config": _masked_config(doc)})
        if kind in ("up", "preview"):
            plan_steps = update_flow(run)
        elif kind == "refresh":
            plan_steps = None
            refresh_flow(run)
        else:
            plan_steps = None
            destroy_flow(run)
        return finish(run, kind, flags, doc, start, plan_steps)
    finally:
        if registration is not None:
            registration.close()
        if not dry or old_refresh_lock:
            backend.unlock(project["name"], stack)


def _masked_config(doc):
    return {k: ("[secret]" if isinstance(v, dict) and "secure" in v else v)
            for k, v in (doc.get("config") or {}).items()}


def refresh_phase(run, counted):
    """Reads every resource back from the cloud; `counted` only for `pulumi refresh` itself
    (in `up --refresh` refresh steps are not logical, pkg/engine/update.go)."""
    snap = run.snap
    for step in steps.refresh_steps(snap.resources, snap.order, run.cloud):
        if run._interrupted():
            return
        run.pre(step, "refresh")
        if not run._wait("refresh" if step.result == "same" else "update"):
            return
        run.outputs(step, step.result if counted else "refresh")
        if counted:
            run.count(step.result)
        if step.result == "delete":
            snap.remove(step.urn)
        elif step.result == "update":
            snap.set(step.urn, step.new)
    if not run.dry:
        snap.save()


def _adopt_imports(run):
    """Pending creates marked "importing" by --import-pending-creates (see pending.py)."""
    snap = run.snap
    for op in [o for o in snap.base_pending if o.get("type") == "importing"]:
        res = op["resource"]
        step = steps.Step("import", res["urn"], res["type"], None, None)
        record = run.cloud.get(res["type"], res.get("id", ""))
        if record is None:
            run.pre(step)
            run.log.diag("error", "resource '%s' does not exist\n" % res.get("id", ""), res["urn"])
            run.failed = True
            snap.carried.append(op)
            continue
        step.new = dict(res, inputs=dict(record["properties"]),
                        outputs=dict(record["properties"], id=record["id"]))
        run.pre(step)
        run.outputs(step, "import")
        run.count("import")
        if not run.dry:
            snap.set(step.urn, step.new)


def refresh_flow(run):
    _adopt_imports(run)
    refresh_phase(run, counted=True)


def update_flow(run):
    snap, project, stack = run.snap, run.project, run.stack
    if snap.base_pending and not run.dry and not run.flags.get("refresh"):
        run.log.diag("warning", pending_warning(snap.base_pending))
    root_urn = program.stack_urn(project, stack)
    root_old = snap.resources.get(root_urn)
    root_new = {"urn": root_urn, "custom": False, "type": "pulumi:pulumi:Stack", "parent": "",
                "provider": "", "id": "", "inputs": {},
                "outputs": program.render_outputs(project, run.manager, run.settings.get("config") or {})}
    if root_old is None:
        root_op = "create"
    elif program.plain(root_old.get("outputs", {}), run.snap.old_manager or run.manager) != \
            program.plain(root_new["outputs"], run.manager):
        root_op = "update"
    else:
        root_op = "same"
    root = steps.Step(root_op, root_urn, "pulumi:pulumi:Stack", root_old, root_new)
    run.pre(root)
    if run.checker is not None:
        err = run.checker.check_op(root_urn, root_op)
        if err:
            run.log.diag("error", err + "\n", root_urn)
            run.failed = True
            return None
    if run.flags.get("refresh"):
        refresh_phase(run, counted=False)
    for step in steps.update_steps(project, stack, snap.resources):
        if not run.apply(step):
            break
    run._interrupted()
    if run.checker is not None and not (run.failed or run.cancelled or run.terminated):
        for urn, err in run.checker.leftovers(set(snap.order)):
            run.log.diag("error", err + "\n", urn)
            run.failed = True
    if run.failed or run.cancelled or run.terminated:
        return None
    run.count(root_op)
    if not run.dry:
        snap.set(root_urn, root_new, first=True)
        snap.save()
    run.log.emit("resOutputsEvent", {"metadata": metadata(root_op, root_urn, "pulumi:pulumi:Stack",
                                                          root_old, root_new)})
    return [(root_op, root_urn, root.rtype, root_old, root_new)] + [
        (s.op, s.urn, s.rtype, s.old, s.new) for s in run.executed]


def destroy_flow(run):
    snap = run.snap
    for step in steps.destroy_steps(snap.resources, snap.order):
        if not run.apply(step):
            break
    run._interrupted()
    if run.failed or run.cancelled or run.terminated:
        return
    root_urn = program.stack_urn(run.project, run.stack)
    if root_urn in snap.resources:
        root = steps.Step("delete", root_urn, "pulumi:pulumi:Stack", snap.resources[root_urn], None)
        run.pre(root)
        run.outputs(root, "delete")
        run.count("delete")
        if not run.dry:
            snap.remove(root_urn)
            snap.save()


def finish(run, kind, flags, doc, start, plan_steps):
    log = run.log
    if run.cancelled and not run.terminated:
        # reportExecResult("canceled") / ("failed"): "update" or "preview" (deployment_executor.go).
        log.diag("error", "%s canceled\n" % run.label)
    elif run.failed and not run.terminated:
        log.diag("error", "%s failed\n" % run.label)
    ok = not (run.failed or run.cancelled or run.terminated)
    if not run.dry:
        run.snap.flush()
    log.emit("summaryEvent", {"maybeCorrupt": False, "durationSeconds": int(time.time() - start),
                              "resourceChanges": dict(run.counts), "PolicyPacks": {},
                              "isPreview": run.dry, "result": "succeeded" if ok else "failed"})
    log.emit("cancelEvent", {})
    log.close()
    if not run.dry:
        env = {"exec.kind": flags.get("exec-kind", "cli")}
        if flags.get("plan"):
            env["updatePlan"] = "true"
        run.backend.add_history(run.project["name"], run.stack, {
            "kind": "update" if kind == "up" else kind, "startTime": timefmt.utc_ms(),
            "message": flags.get("message", ""), "environment": env, "config": {},
            "result": "succeeded" if ok else "failed", "endTime": timefmt.utc_ms(),
            "resourceChanges": dict(run.counts)})
    print("Resources:")
    for op, n in sorted(run.counts.items()):
        print("    %d %s" % (n, op))
    if run.terminated:
        # The terminate error is context.Canceled -> backenderr.CancelledError.
        raise CliError("%s cancelled" % ("update" if kind == "up" else kind), "cancelled")
    if not ok:
        raise CliError("", bail=True)
    if flags.get("expect-no-changes") and any(n for op, n in run.counts.items() if op not in NOT_CHANGES):
        # backenderr.NoChangesExpectedError, checked after the operation ran.
        raise CliError("no changes were expected for %s but changes were proposed"
                       % ("update" if kind == "up" else kind), "no-changes")
    if kind == "preview" and flags.get("save-plan") and plan_steps is not None:
        plans.write(flags["save-plan"], plan_steps, doc.get("config") or {})
        print("Update plan written to '%s'" % flags["save-plan"])
        print("Run `pulumi up --plan='%s'` to constrain the update to the operations planned by this preview"
              % flags["save-plan"])
    if kind == "destroy" and flags.get("remove") and not run.dry:
        run.backend.remove(run.project["name"], run.stack)
        if os.path.exists(settings.path(run.stack)):
            os.remove(settings.path(run.stack))
    return 0
