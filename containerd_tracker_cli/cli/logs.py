"""``containerd-tracker logs``: a job's output files, optionally followed."""
from __future__ import annotations

import sys
import time
from typing import BinaryIO

from ..tracker import ContainerdJobTracker

FOLLOW_POLL = 0.5


def _copy(source: BinaryIO, sink: BinaryIO) -> int:
    data = source.read()
    if data:
        sink.write(data)
        sink.flush()
    return len(data)


def show_logs(tracker: ContainerdJobTracker, job_id: str, *, follow: bool) -> int:
    """stdout file to stdout, a separate stderr file to stderr (as docker logs)."""
    from ..drmaa2.errors import InvalidStateError
    from ..drmaa2.states import TERMINAL_STATES

    info = tracker.job_info(job_id)
    paths = info.extension.extension_list
    out_path, err_path = paths.get("stdout"), paths.get("stderr")
    if not out_path:
        raise InvalidStateError(f"job {job_id!r} records no output file")
    streams = []
    try:
        streams.append((open(out_path, "rb"), sys.stdout.buffer))
        if err_path and err_path != out_path:
            streams.append((open(err_path, "rb"), sys.stderr.buffer))
    except OSError as exc:
        for source, _ in streams:
            source.close()
        raise InvalidStateError(f"cannot read the output of job {job_id!r}: {exc}") from exc
    try:
        for source, sink in streams:
            _copy(source, sink)
        if not follow:
            return 0
        while tracker.job_state(job_id)[0] not in TERMINAL_STATES:
            if not any(_copy(source, sink) for source, sink in streams):
                time.sleep(FOLLOW_POLL)
        for source, sink in streams:  # what came between the last read and the end
            _copy(source, sink)
    finally:
        for source, _ in streams:
            source.close()
    return 0
