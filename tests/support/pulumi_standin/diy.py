"""The DIY backend: layout, checkpoints, history and locks (pulumi/pulumi pkg/backend/diy).

Layout (meta version 1, project-scoped; backend.go, store.go, meta.go):
  .pulumi/meta.yaml                                            `version: 1`
  .pulumi/stacks/<project>/<stack>.json                        the checkpoint
  .pulumi/history/<project>/<stack>/<stack>-<unixnano>.history.json
  .pulumi/locks/organization/<project>/<stack>/<uuid>.json     one per running CLI
Not modelled: `.json.bak` backups, history `.checkpoint.json` copies, gzip/zstd, legacy layout.
"""

import json
import os
import pwd
import socket
import time
import uuid

from . import timefmt
from .blobs import open_bucket, url_with_key
from .errors import CliError

# One lock id per CLI process (backend.go newDIYBackend: lockID := uuid.NewV4()).
LOCK_ID = str(uuid.uuid4())


def hostname():
    """os.Hostname(); PULUMI_STANDIN_HOSTNAME pretends to run on another host."""
    return os.environ.get("PULUMI_STANDIN_HOSTNAME") or socket.gethostname()


class Diy:
    def __init__(self, url):
        self.bucket, self.url = open_bucket(url)
        # meta.go ensurePulumiMeta: a new store gets version 1 (project-scoped stacks).
        if self.bucket.read(".pulumi/meta.yaml") is None:
            self.bucket.write(".pulumi/meta.yaml", b"version: 1\n")

    @staticmethod
    def stack_key(project, stack):
        return ".pulumi/stacks/%s/%s.json" % (project, stack)

    @staticmethod
    def lock_dir(project, stack):
        return ".pulumi/locks/organization/%s/%s" % (project, stack)

    @staticmethod
    def history_dir(project, stack):
        return ".pulumi/history/%s/%s" % (project, stack)

    # -- checkpoints -------------------------------------------------------------------------

    def exists(self, project, stack):
        return self.bucket.read(self.stack_key(project, stack)) is not None

    def load(self, project, stack):
        data = self.bucket.read(self.stack_key(project, stack))
        if data is None:
            # backenderr.StackNotFoundError (pkg/backend/backenderr/backenderr.go).
            raise CliError("no stack named '%s' found" % stack, "stack-not-found")
        return json.loads(data)

    def save(self, project, stack, checkpoint):
        # Compact JSON without HTML escaping (state.go compactJSONMarshaler).
        self.bucket.write(self.stack_key(project, stack),
                          json.dumps(checkpoint, separators=(",", ":"), ensure_ascii=False).encode())

    def remove(self, project, stack):
        self.bucket.delete(self.stack_key(project, stack))
        for key in self.bucket.list(self.history_dir(project, stack)):
            self.bucket.delete(key)

    def add_history(self, project, stack, entry):
        key = "%s/%s-%d.history.json" % (self.history_dir(project, stack), stack, time.time_ns())
        entry = dict(entry, version=len(self.history(project, stack)) + 1)
        self.bucket.write(key, json.dumps(entry).encode())

    def history(self, project, stack):
        """Newest first."""
        keys = [k for k in self.bucket.list(self.history_dir(project, stack))
                if k.endswith(".history.json")]
        return [json.loads(self.bucket.read(k)) for k in reversed(keys)]

    # -- locks (lock.go) -------------------------------------------------------------------

    def _own_lock(self, project, stack):
        return "%s/%s.json" % (self.lock_dir(project, stack), LOCK_ID)

    def check_lock(self, project, stack):
        """checkForLock: every lock file but ours makes the stack locked."""
        own = self._own_lock(project, stack)
        others = [k for k in self.bucket.list(self.lock_dir(project, stack)) if k != own]
        if not others:
            return
        text = ("the stack is currently locked by %d lock(s). Either wait for the other process(es) "
                "to end or delete the lock file with `pulumi cancel`." % len(others))
        for key in others:
            data = self.bucket.read(key)
            try:
                info = json.loads(data) if data is not None else {}
            except ValueError:
                info = {}
            text += "\n  %s: created by %s@%s (pid %s) at %s" % (
                url_with_key(self.url, key), info.get("username"), info.get("hostname"),
                info.get("pid"), timefmt.rfc3339(info.get("timestamp", "")))
        raise CliError(text)

    def lock(self, project, stack):
        """Lock: check, write our lock file, check again (and back off if someone raced us)."""
        self.check_lock(project, stack)
        # lockContent {pid, username, hostname, timestamp} marshalled by encoding/json.
        # user.Current() reads the account database, not $USER.
        content = {"pid": os.getpid(), "username": pwd.getpwuid(os.getuid()).pw_name, "hostname": hostname(),
                   "timestamp": timefmt.rfc3339nano()}
        self.bucket.write(self._own_lock(project, stack),
                          json.dumps(content, separators=(",", ":")).encode())
        try:
            self.check_lock(project, stack)
        except CliError:
            self.unlock(project, stack)
            raise

    def unlock(self, project, stack):
        self.bucket.delete(self._own_lock(project, stack))

    def lock_files(self, project, stack):
        return self.bucket.list(self.lock_dir(project, stack))

    def cancel(self, project, stack):
        """CancelCurrentUpdate (backend.go): deletes the stack's lock files, whoever holds
        them, in listing order. A file already gone (deleted between the listing and the
        delete: gcerrors.NotFound) is not an error, but it ends the loop: the real code returns
        nil there, so the files after it stay."""
        for key in self.lock_files(project, stack):
            if not self.bucket.delete(key):
                return
