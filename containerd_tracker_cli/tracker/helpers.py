"""The tracker's detached helper processes — a throttled array's driver, the
deadline keeper — started the one way: the starter takes the helper's lock
and hands it to the child, so two callers never start two helpers and no
window is left between spawning one and its running."""
from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from typing import Callable

from ..runner import Runner


def spawn_locked(runner: Runner, folder: Path, name: str, command: Callable[[int], list[str]]) -> int | None:
    """Start ``python -m containerd_tracker_cli`` + ``command(lock_fd)``
    unless another process holds ``<folder>/<name>.lock``; the child inherits
    the lock. ``<name>.pid`` (a dead helper's) is cleared first, the child's
    output goes to ``<name>.log``. Returns its pid (``None``: one runs, or a
    replay started nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for attempt in range(3):  # a status probe holds the lock for an instant
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 2:
                    return None  # one runs
                time.sleep(0.01)
        (folder / f"{name}.pid").unlink(missing_ok=True)  # never shown as alive
        argv = [sys.executable, "-m", "containerd_tracker_cli", *command(fd)]
        return runner.spawn(argv, log=str(folder / f"{name}.log"), keep_fd=fd)
    finally:
        os.close(fd)  # the child holds the lock now (a replay: nobody does)
