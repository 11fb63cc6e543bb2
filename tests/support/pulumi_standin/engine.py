"""preview / up / refresh / destroy: locks, steps, events, checkpoint writes.

Command-level behaviour follows pulumi/pulumi pkg/cmd/pulumi/operations/{preview,up,refresh,
destroy}.go and pkg/backend/diy/backend.go; the engine's diagnostics are
pkg/resource/deploy/deployment_executor.go's.
"""

import os
import uuid

from . import crypto, kubeauth, physical, plans, program, signals, snapshot, timefmt
from .cloud import Cloud
from .events import EventLog, metadata

# pkg/resource/deploy/deployment_executor.go printPendingOperationsWarning.
PENDING_RESOLUTION = (
    "These resources are in an unknown state because the Pulumi CLI was interrupted while "
    "waiting for changes to these resources to complete. You should confirm whether or not the "
    "operations listed completed successfully by checking the state of the appropriate provider. "
    "For example, if you are using AWS, you can confirm using the AWS Console.\n"
    "\n"
    "Once you have confirmed the status of the interrupted operations, you can repair your stack "
    "using `pulumi refresh` which will refresh the state from the provider you are using and "
    "clear the pending operations if there are any.\n"
    "\n"
    "Note that `pulumi refresh` will need to be run interactively to clear pending CREATE operations.")


def pending_warning(ops):
    text = ("Attempting to deploy or update resources with %d pending operations from previous "
            "deployment.\n" % len(ops))
    for op in ops:
        text += "  * %s, interrupted while %s\n" % (op["resource"]["urn"], op["type"])
    return text + PENDING_RESOLUTION + "\n"


def _scope(project, step):
    """Where a physical name is unique: the AWS account/region of the program's AWS provider,
    or the Kubernetes cluster named by its kubeconfig."""
    res = project.get("resources") or {}
    if step.rtype.startswith("kubernetes:"):
        name = program.provider_of(step.options, "kubernetes")
        kc = program.resolve(project, ((res.get(name) or {}).get("properties") or {}).get("kubeconfig"))
        cluster = kc.get("current-context") if isinstance(kc, dict) else None
        return "k8s|%s" % (cluster or name or "default")
    name = program.provider_of(step.options, "aws")
    props = (res.get(name) or {}).get("properties") or {}
    roles = props.get("assumeRoles") or ([props.get("assumeRole")] if props.get("assumeRole") else [])
    account = ""
    if roles and isinstance(roles[0], dict):
        parts = str(roles[0].get("roleArn", "")).split(":")
        account = parts[4] if len(parts) > 4 else ""
    return "aws|%s|%s" % (account, props.get("region", ""))


def _resolver(project):
    """`${res.prop}` naming a literal property of another resource resolves to it (enough for
    `clusterName: ${cluster.name}`)."""
    resources = project.get("resources") or {}

    def resolve(value):
        if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
            head, _, prop = value[2:-1].partition(".")
            target = ((resources.get(head) or {}).get("properties") or {}).get(prop)
            if isinstance(target, (str, int, float)):
                return target
        return value
    return resolve


class Run:
    def __init__(self, kind, flags, project, stack, backend, cp, manager, settings_doc):
        self.kind, self.flags, self.project, self.stack = kind, flags, project, stack
        self.backend, self.manager, self.settings = backend, manager, settings_doc
        self.dry = kind == "preview" or bool(flags.get("preview-only"))
        self.log = EventLog(None)
        self.cloud = Cloud(backend.bucket)
        old = crypto.from_snapshot((cp["checkpoint"].get("latest") or {}).get("secrets_providers"))
        self.snap = snapshot.Snapshot(backend, project["name"], stack, cp, manager, old)
        self.checker = plans.Checker(flags["plan"]) if kind == "up" and flags.get("plan") else None
        self.counts, self.executed = {}, []
        self.failed = self.cancelled = self.terminated = False
        self.fail_at = int(os.environ.get("PULUMI_STANDIN_FAIL_AT", "0") or 0)
        # Test knob, not CLI behaviour: fail only the named stacks (comma-separated, last path
        # segment `<slug>-<env>`) at their first resource step, so a fleet test can make chosen
        # targets of one process's runs fail while the others succeed.
        chosen = [n for n in os.environ.get("PULUMI_STANDIN_FAIL_STACKS", "").split(",") if n]
        if str(stack).rsplit("/", 1)[-1] in chosen:
            self.fail_at = 1
        self.sleep_s = int(os.environ.get("PULUMI_STANDIN_SLEEP_MS", "0") or 0) / 1000.0
        self.index = 0
        self.label = "preview" if self.dry else "update"

    # -- events ------------------------------------------------------------------------------

    def open_log(self):
        """The event log starts with the engine, after the lock (display.go startEventLogger):
        a run refused earlier leaves the file absent."""
        self.log = EventLog(self.flags.get("event-log"))

    def pre(self, step, op=None):
        meta = metadata(op or step.op, step.urn, step.rtype, step.old, step.new, step.diffs, step.detailed)
        payload = {"metadata": meta}
        if self.dry:
            payload["planning"] = True
        self.log.emit("resourcePreEvent", payload)
        return payload

    def outputs(self, step, op):
        meta = metadata(op, step.urn, step.rtype, step.old, step.new, step.diffs, step.detailed)
        payload = {"metadata": meta}
        if self.dry:
            payload["planning"] = True
        self.log.emit("resOutputsEvent", payload)

    def fail(self, step, message):
        self.log.diag("error", message + "\n", step.urn)
        meta = metadata(step.op, step.urn, step.rtype, step.old, step.new, step.diffs)
        self.log.emit("resOpFailedEvent", {"metadata": meta, "status": 1, "steps": 0})
        self.failed = True

    def count(self, op):
        self.counts[op] = self.counts.get(op, 0) + 1

    # -- one resource step -------------------------------------------------------------------

    def _interrupted(self):
        signals.announce(self.log, self.dry)
        if signals.terminated():
            self.terminated = True
        elif signals.cancelled():
            self.cancelled = True
        return self.cancelled or self.terminated

    def _wait(self, op):
        if self.sleep_s and op != "same":
            if not signals.wait(self.sleep_s, self.log, self.dry):
                self.terminated = True
                return False
        return True

    def apply(self, step):
        """Runs one create/update/delete/same step; False stops the run."""
        if self._interrupted():
            return False
        self.index += 1
        self.pre(step)
        if self.checker is not None:
            err = None
            if step.op != "delete":
                err = self.checker.check_goal(step.urn, step.old, (step.new or {}).get("inputs") or {})
            err = err or self.checker.check_op(step.urn, step.op)
            if err:
                # A step generator error: reported on the resource, no resOpFailedEvent.
                self.log.diag("error", err + "\n", step.urn)
                self.failed = True
                return False
        if not self.dry and step.op != "same" and step.rtype.startswith("kubernetes:"):
            err = kubeauth.access_error(self.project, step.options, os.environ)
            if err:
                self.fail(step, err)
                return False
        if self.dry:
            if not self._wait(step.op):
                return False
            if self.index == self.fail_at:
                self.fail(step, "%s %s failed: standin injected failure" % (_verb(step.op), step.urn))
                return False
        elif not self._execute(step):
            return False
        self.outputs(step, step.op)
        self.count(step.op)
        self.executed.append(step)
        return True

    def _write_pending(self, step):
        """Whether the in-flight operation is written before the step runs. The real engine
        always writes it before calling the provider (pkg/backend/snapshot.go); the stand-in
        merges the write into a later one only when nothing outside the checkpoint changes and
        the step does not wait. A step that touches the fake cloud always writes first: a
        SIGKILL after the cloud changed must leave the pending operation behind, or the next
        run finds an object its state never heard of."""
        return bool(self.sleep_s) or physical.is_cloud_resource(step.rtype)

    def _execute(self, step):
        if self.index == self.fail_at:
            if not self._wait(step.op):
                return False
            self.fail(step, "%s %s failed: standin injected failure" % (_verb(step.op), step.urn))
            return False
        snap = self.snap
        if step.op == "same":
            return True
        if step.op == "create":
            op = snap.begin("creating", dict(step.new), write=self._write_pending(step))
            if physical.is_cloud_resource(step.rtype):
                ident = physical.identity(step.rtype, step.new["inputs"], _resolver(self.project))
                record, err = self.cloud.create(_scope(self.project, step), step.rtype, step.name, ident,
                                                step.new["inputs"], step.urn)
                if err:
                    snap.end(op)
                    snap.save()
                    self.fail(step, err)
                    return False
                rid = record["id"]
            else:
                # Not in the cloud: a provider's ID is a UUID, a component has none.
                rid = "" if step.rtype in physical.COMPONENTS else str(uuid.uuid4())
            step.new = dict(step.new, id=rid, outputs=dict(step.new["inputs"], id=rid),
                            created=timefmt.rfc3339nano(), modified=timefmt.rfc3339nano())
        elif step.op == "update":
            op = snap.begin("updating", dict(step.new), write=self._write_pending(step))
            if physical.is_cloud_resource(step.rtype):
                self.cloud.update(step.rtype, step.old.get("id", ""), step.new["inputs"])
            step.new = dict(step.new, modified=timefmt.rfc3339nano())
        else:  # delete
            op = snap.begin("deleting", dict(step.old), write=self._write_pending(step))
            if physical.is_cloud_resource(step.rtype):
                self.cloud.delete(step.rtype, step.old.get("id", ""))
        if not self._wait(step.op):
            return False  # terminated: the operation stays pending in the checkpoint
        snap.end(op)
        if step.op == "delete":
            snap.remove(step.urn)
        else:
            snap.set(step.urn, step.new)
        if self.sleep_s:
            snap.save()
        return True


def _verb(op):
    return {"create": "creating", "update": "updating", "delete": "deleting"}.get(op, op)
