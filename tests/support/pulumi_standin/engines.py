"""Test-only detector of two engines on one stack (knob PULUMI_STANDIN_VIOLATIONS=<file>).

Not a CLI behaviour: the real CLI only has lock files, and `pulumi cancel` deletes them even
under a live engine, so a second engine then runs unnoticed. Here every mutating engine run
(up, refresh, destroy; previews take no DIY lock, pkg/backend/diy/backend.go Preview) registers
in `<file>.engines/`; one that starts while another live process is registered for the same
backend + stack appends a JSON line to <file>. Liveness: the pid exists and has the same start
time (/proc/<pid>/stat), so a SIGKILLed engine's entry does not count.
"""

import fcntl
import json
import os
import time

from . import timefmt


def _start_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(entry):
    ticks = _start_ticks(entry["pid"])
    return ticks is not None and ticks == entry.get("start")


class Registration:
    """Registers this process for (backend, stack) and records a violation if another live
    engine is registered; `close()` removes the entry."""

    def __init__(self, backend_url, project, stack, op):
        self.path = None
        target = os.environ.get("PULUMI_STANDIN_VIOLATIONS")
        if not target:
            return
        directory = target + ".engines"
        os.makedirs(directory, exist_ok=True)
        key = "%s|organization/%s/%s" % (backend_url, project, stack)
        me = {"pid": os.getpid(), "start": _start_ticks(os.getpid()), "key": key, "op": op,
              "since": timefmt.rfc3339nano()}
        with open(os.path.join(directory, ".lock"), "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            others = []
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".json"):
                    continue
                try:
                    with open(os.path.join(directory, name)) as f:
                        entry = json.load(f)
                except (OSError, ValueError):
                    continue
                if entry.get("key") == key and _alive(entry):
                    others.append({k: entry[k] for k in ("pid", "op", "since")})
            if others:
                line = {"stack": "organization/%s/%s" % (project, stack), "backend": backend_url,
                        "pid": me["pid"], "op": op, "at": me["since"], "running": others}
                with open(target, "a") as f:
                    f.write(json.dumps(line) + "\n")
            self.path = os.path.join(directory, "%d-%d.json" % (os.getpid(), time.time_ns()))
            with open(self.path, "w") as f:
                json.dump(me, f)

    def close(self):
        if self.path:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
            self.path = None
