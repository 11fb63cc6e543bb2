"""A fake cloud: the physical resources the stand-in's "providers" created, kept apart from the
Pulumi state so that it outlives a killed CLI, exactly like real AWS objects do.

Stored as JSON objects under `.standin-cloud/` in the backend's own bucket or directory (so
every process on the same backend, file:// or s3://, sees the same cloud), or in the directory
named by PULUMI_STANDIN_CLOUD. The DIY backend ignores keys outside `.pulumi/`.
  .standin-cloud/objects/<sha1(type|id)>.json        one physical resource
  .standin-cloud/names/<sha1(scope|type|name)>.json  its fixed physical name, if it has one
`scope` is the AWS account/region (or Kubernetes cluster) a name is unique in.
"""

import hashlib
import json
import os

from . import physical, timefmt
from .blobs import FileBucket

PREFIX = ".standin-cloud"


def _h(*parts):
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


class Cloud:
    def __init__(self, backend_bucket):
        directory = os.environ.get("PULUMI_STANDIN_CLOUD")
        self.bucket = FileBucket(directory) if directory else backend_bucket

    def _obj_key(self, rtype, rid):
        return "%s/objects/%s.json" % (PREFIX, _h(rtype, rid))

    def _name_key(self, scope, rtype, ident):
        return "%s/names/%s.json" % (PREFIX, _h(scope, rtype, *ident))

    def _read(self, key):
        data = self.bucket.read(key)
        return json.loads(data) if data is not None else None

    def _write(self, record):
        self.bucket.write(self._obj_key(record["type"], record["id"]), json.dumps(record, indent=2).encode())

    def get(self, rtype, rid):
        return self._read(self._obj_key(rtype, rid))

    def all(self):
        out = []
        for key in self.bucket.list(PREFIX + "/objects"):
            record = self._read(key)
            if record:
                out.append(record)
        return sorted(out, key=lambda r: r.get("created", ""))

    def create(self, scope, rtype, name, ident, props, urn):
        """(record, None) or (None, provider error text) for a Create call."""
        if ident is not None:
            _, behaviour, render = physical.RULES[rtype]
            name_key = self._name_key(scope, rtype, ident)
            held = self._read(name_key)
            existing = self.get(rtype, held["id"]) if held else None
            if existing is not None:
                if behaviour == physical.CLASH:
                    return None, render(ident)
                if behaviour == physical.ADOPT_IF_SAME and existing["properties"] != props:
                    return None, render(ident)
                existing.update(properties=props, urn=urn)
                self._write(existing)
                return existing, None
        record = {"type": rtype, "id": physical.new_id(rtype, name, ident), "scope": scope,
                  "identity": list(ident) if ident else None, "urn": urn, "properties": props,
                  "created": timefmt.rfc3339nano()}
        if ident is not None:
            # Exclusive on the name: of two racing creates, the second sees the first.
            if not self.bucket.create_exclusive(name_key, json.dumps({"id": record["id"]}).encode()):
                self.bucket.write(name_key, json.dumps({"id": record["id"]}).encode())
        self._write(record)
        return record, None

    def update(self, rtype, rid, props):
        record = self.get(rtype, rid)
        if record is not None:
            record["properties"] = props
            self._write(record)
        return record

    def delete(self, rtype, rid):
        record = self.get(rtype, rid)
        if record is None:
            return
        self.bucket.delete(self._obj_key(rtype, rid))
        if record.get("identity"):
            self.bucket.delete(self._name_key(record["scope"], rtype, record["identity"]))

    def select(self, selector, stack=None):
        """Records whose URN, logical name (the URN's last part) or ID is `selector`, created by
        `stack` if given."""
        def stack_of(r):
            return (r.get("urn") or "").split("::")[0].rsplit(":", 1)[-1]
        return [r for r in self.all()
                if selector in (r["id"], r.get("urn"), (r.get("urn") or "").rsplit("::", 1)[-1])
                and (stack is None or stack_of(r) == stack)]

    def drift(self, selector, prop, value, stack=None):
        """An out-of-band change: sets `prop` (dotted path) of the selected resources."""
        hits = self.select(selector, stack)
        for record in hits:
            cur = record["properties"]
            parts = prop.split(".")
            for p in parts[:-1]:
                cur = cur.setdefault(p, {})
            cur[parts[-1]] = value
            self._write(record)
        return hits

    def apply_drift_knob(self, stack):
        """PULUMI_STANDIN_DRIFT=<selector>:<prop>=<value>[;…] (selectors limited to the
        running stack), applied once per distinct value (a marker in the cloud remembers it),
        as one change made by someone else."""
        knob = os.environ.get("PULUMI_STANDIN_DRIFT")
        if not knob:
            return
        marker = "%s/drift-applied/%s" % (PREFIX, _h(stack, knob))
        if not self.bucket.create_exclusive(marker, knob.encode()):
            return
        for item in filter(None, (s.strip() for s in knob.split(";"))):
            # `<selector>:<prop>=<value>`; a URN selector has colons of its own, so the
            # property is what follows the last colon before the first "=".
            lhs, _, raw = item.partition("=")
            selector, _, prop = lhs.rpartition(":")
            self.drift(selector, prop, parse_value(raw), stack)


def parse_value(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw
