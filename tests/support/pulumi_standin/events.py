"""The `--event-log` file: one apitype.EngineEvent JSON object per line
(pulumi/pulumi sdk/go/common/apitype/events.go; writer pkg/backend/display/display.go
startEventLogger: O_RDWR|O_CREATE|O_TRUNC|O_APPEND, 0666, compact JSON, HTML escaping off)."""

import json
import os
import time

from .program import is_secret


class EventLog:
    def __init__(self, path):
        self.f = None
        self.seq = 0
        if path:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
            self.f = os.fdopen(fd, "w")

    def emit(self, key, payload):
        if self.f is None:
            return
        event = {"sequence": self.seq, "timestamp": int(time.time()), key: payload}
        self.seq += 1
        self.f.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.f.flush()

    def diag(self, severity, message, urn=None):
        # `--color never` strips the color directives and sets color "never" (display.go).
        payload = {"prefix": "%s: " % severity, "message": message, "color": "never",
                   "severity": severity}
        if urn:
            payload = dict(urn=urn, **payload)
        self.emit("diagnosticEvent", payload)

    def stdout(self, message):
        self.emit("stdoutEvent", {"message": message, "color": "never"})

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None


def mask(value):
    """Secrets are shown as "[secret]" in events (display.go convertEngineEvent)."""
    if is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _state(res):
    if res is None:
        return None
    # StepEventStateMetadata always has `id` (empty before a create) and `parent`/`provider`.
    out = {"id": "", "parent": "", "provider": ""}
    out.update(res)
    out.update(inputs=mask(res.get("inputs", {})), outputs=mask(res.get("outputs", {})))
    return out


def metadata(op, urn, rtype, old, new, diffs=None, detailed=None):
    """StepEventMetadata. `detailedDiff` is present even when null; its values are
    `{diffKind, inputDiff}` (apitype.PropertyDiff)."""
    meta = {"op": op, "urn": urn, "type": rtype, "old": _state(old), "new": _state(new),
            "detailedDiff": None, "provider": ""}
    if diffs:
        meta["diffs"] = list(diffs)
        meta["detailedDiff"] = detailed or {k: {"diffKind": "update", "inputDiff": True} for k in diffs}
    if rtype == "pulumi:pulumi:Stack":
        meta["logical"] = True
    return meta
