"""``containerd-tracker watch``: DRMAA2's event notification on the command
line — one line per state change of any session's job, as it happens."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from ..tracker.notifier import StateNotifier

if TYPE_CHECKING:
    from ..drmaa2.events import Notification
    from ..tracker.monitoring import MonitoringTracker


def watch(tracker: "MonitoringTracker", *, as_json: bool) -> int:
    """Print until SIGINT or SIGTERM, then exit 0 at once: a notifier thread
    still inside a CLI call is not waited for (its call ends by itself)."""

    def tell(note: "Notification") -> None:
        if as_json:  # JSON lines
            line = json.dumps({"id": note.job_id, "session": note.session_name, "state": str(note.job_state)})
        else:
            line = f"{note.job_id}\t{note.session_name}\t{note.job_state}"
        print(line, flush=True)

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    notifier = StateNotifier(tracker, tell)
    notifier.start()
    sys.stderr.write(f"watching the jobs of namespace {tracker.namespace!r} (Ctrl-C ends)\n")
    sys.stderr.flush()
    # Woken twice a second: a signal the kernel hands to another thread only
    # runs its Python handler once the main thread runs again.
    while not done.wait(0.5):
        pass
    notifier.stop(timeout=2.0)
    sys.stdout.flush()
    os._exit(0)
