"""SIGINT/SIGTERM during an engine run (pulumi/pulumi pkg/backend/cancellation_scope.go).

First signal: a stdout event, then the engine stops scheduling steps, lets the ones in flight
finish and ends with a summary. Second signal: "terminating": the engine returns at once
without finishing in-flight steps or recording them (pkg/engine/update.go OnResourceStepPost:
"we explicitly want to leave the checkpoint in an inconsistent state"), so they stay in
`pending_operations`; the CLI then still writes history and releases its lock (the lock's
`defer Unlock` in pkg/backend/diy/backend.go runs: the process is not killed).
"""

import signal
import time

STATE = {"count": 0, "signums": [], "announced": 0}


def _handler(signum, frame):
    STATE["count"] += 1
    STATE["signums"].append(signum)
    if STATE["count"] >= 2:
        # The scope is closed after the second signal: a third one kills the process.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def install():
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def ignore_all():
    """PULUMI_STANDIN_HANG: a wedged CLI, deaf to SIGINT/SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def announce(log, preview):
    """Writes the stdout events of signals not yet announced."""
    while STATE["announced"] < STATE["count"]:
        n = STATE["announced"]
        term = STATE["signums"][n] == signal.SIGTERM
        if n == 0:
            if term:
                message = ("SIGTERM received; cancelling. If you would like to terminate immediately, "
                           "send SIGTERM again.\n")
            else:
                message = ("^C received; cancelling. If you would like to terminate immediately, "
                           "press ^C again.\n")
            if not preview:
                message += ("Note that terminating immediately may lead to orphaned resources and "
                            "other inconsistencies.\n")
        else:
            message = ("SIGTERM" if term else "^C") + " received; terminating"
        log.stdout(message)
        STATE["announced"] += 1


def cancelled():
    return STATE["count"] >= 1


def terminated():
    return STATE["count"] >= 2


def wait(seconds, log, preview):
    """Sleeps like a provider waiting on the cloud; returns False if terminated meanwhile."""
    end = time.monotonic() + seconds
    while True:
        announce(log, preview)
        if terminated():
            return False
        left = end - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 0.02))
