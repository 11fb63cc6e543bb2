"""The checkpoint's `latest` deployment as the engine mutates it.

pulumi/pulumi pkg/backend/snapshot.go (SnapshotManager): the checkpoint is written on every
step mutation; an operation in flight is a `pending_operations` entry `{resource, type}` until
the step ends (a failed step ends it too). Pending CREATE operations of the previous checkpoint
are carried into every new one ("these must require user intervention to be cleared"); other
pending operations are dropped. The secrets manager of the run becomes the checkpoint's
`secrets_providers` and every secret is re-encrypted with it.
"""

import hashlib

from . import program, timefmt
from .errors import CliError, DECRYPT_INCORRECT, version_string


def walk_secrets(value, fn):
    if program.is_secret(value):
        return fn(value)
    if isinstance(value, dict):
        return {k: walk_secrets(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [walk_secrets(v, fn) for v in value]
    return value


# apitype.ResourceV3 (sdk/go/common/apitype/core.go): these fields are `omitempty`.
OMIT_EMPTY = ("id", "inputs", "outputs", "parent", "provider", "delete", "protect", "dependencies")


def serialize(res):
    return {k: v for k, v in res.items() if not (k in OMIT_EMPTY and v in ("", {}, [], False, None))}


def has_secrets(latest):
    found = []
    walk_secrets([latest.get("resources") or [], latest.get("pending_operations") or []],
                 lambda v: found.append(v) or v)
    return bool(found)


class Snapshot:
    def __init__(self, backend, project, stack, checkpoint, manager, old_manager):
        self.backend, self.project, self.stack = backend, project, stack
        self.cp = checkpoint
        latest = checkpoint["checkpoint"].get("latest") or {}
        self.latest = latest
        self.resources = {r["urn"]: r for r in latest.get("resources") or []}
        self.order = [r["urn"] for r in latest.get("resources") or []]
        base = latest.get("pending_operations") or []
        self.base_pending = list(base)
        self.carried = [op for op in base if op.get("type") == "creating"]
        self.inflight = []
        self.dirty = False
        self.manager, self.old_manager = manager, old_manager

    def reseal(self, value):
        if self.old_manager is None:
            return value

        def fn(secret):
            try:
                plain = self.old_manager.decrypt(secret["ciphertext"])
            except CliError:
                return secret  # sealed during this run, by the new manager already
            return dict(secret, ciphertext=self.manager.encrypt(plain))
        return walk_secrets(value, fn)

    def begin(self, rtype, resource, write=True):
        """Records an operation in flight. `write=False` when the step will not wait and
        touches nothing outside the checkpoint: no process can then observe the checkpoint
        before the step ends, and a kill mid-step loses nothing, so the write is merged into a
        later one (the stand-in's only departure from one write per mutation)."""
        op = {"resource": resource, "type": rtype}
        self.inflight.append(op)
        if write:
            self.save()
        else:
            self.dirty = True
        return op

    def end(self, op):
        self.inflight.remove(op)
        self.dirty = True

    def flush(self):
        if self.dirty:
            self.save()

    def set(self, urn, res, first=False):
        self.dirty = True
        if urn not in self.resources:
            if first:
                self.order.insert(0, urn)
            else:
                self.order.append(urn)
        self.resources[urn] = res

    def remove(self, urn):
        self.resources.pop(urn, None)
        self.dirty = True

    def save(self):
        if self.old_manager is not None and self.old_manager is not self.manager:
            # Re-encrypt once, in memory, everything sealed by the checkpoint's old manager.
            self.resources = {u: self.reseal(r) for u, r in self.resources.items()}
            self.carried = [dict(op, resource=self.reseal(op["resource"])) for op in self.carried]
            self.old_manager = self.manager
        version = version_string()
        latest = {
            # Manifest.NewMagic: hex SHA-256 of the version (pkg/resource/deploy/manifest.go).
            "manifest": {"time": timefmt.rfc3339nano(), "magic": hashlib.sha256(version.encode()).hexdigest(),
                         "version": version},
            "secrets_providers": self.manager.state(),
            "resources": [serialize(self.resources[u]) for u in self.order if u in self.resources],
        }
        pending = [dict(op, resource=serialize(op["resource"])) for op in self.inflight + self.carried]
        if pending:
            latest["pending_operations"] = pending
        self.cp["checkpoint"]["latest"] = latest
        self.backend.save(self.project, self.stack, self.cp)
        self.dirty = False


def check_readable(latest, old_manager):
    """Deserializing the snapshot decrypts its secrets: a locked (wrong passphrase) manager
    fails then (pkg/resource/stack/deployment.go DeserializeDeployment)."""
    if old_manager is not None and has_secrets(latest):
        try:
            walk_secrets(latest.get("resources") or [], lambda s: old_manager.decrypt(s["ciphertext"]))
        except CliError:
            raise CliError(DECRYPT_INCORRECT)
