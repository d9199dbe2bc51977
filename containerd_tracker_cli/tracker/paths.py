"""DRMAA2's path placeholders, expanded in host paths (output, input,
stage-in/out) and container paths (stage-in/out targets)."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from ..drmaa2.errors import InvalidArgumentError


def expand_path(path: str, index: int | None) -> Path:
    """A host path with DRMAA2 placeholders expanded, made absolute.

    A leading ``host:`` or ``:`` (DRMAA2's ``[hostname]:path``) is dropped.
    """
    host, sep, rest = path.partition(":")
    if sep and "/" not in host and host in ("", socket.gethostname(), "localhost"):
        path = rest
    path = path.replace("$DRMAA2_HOME_DIR$", os.path.expanduser("~"))
    path = path.replace("$DRMAA2_WORKING_DIR$", os.getcwd())
    path = path.replace("$DRMAA2_INDEX$", "" if index is None else str(index))
    if not path:
        raise InvalidArgumentError("empty path")
    return Path(path).absolute()


def expand_inside(path: str, index: int | None) -> str:
    """A path inside the container: only the task index is the job's own
    (the host's home and working directory mean nothing there)."""
    return path.replace("$DRMAA2_INDEX$", "" if index is None else str(index))
