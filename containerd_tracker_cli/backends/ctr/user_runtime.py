"""ctr 1.6's way to run a job as another user: a runtime of the tracker's own.

ctr 1.6 has no ``--user`` (1.7 added it), and what it does have cannot reach
the process's user: ``--runc-binary`` exists for ``run`` only, not for
``containers create`` (held jobs, throttled tasks), and ``--config`` drops
the image. What every 1.6 command takes is ``--runtime`` with an absolute
path to a shim and ``--annotation``. So a job with a user is made with

* ``--annotation=containerd-tracker/user=USER``, and
* ``--runtime=STATE/bin/containerd-shim-runc-user-v2``: containerd's own runc
  shim, started with ``STATE/bin/runc-user`` first on its PATH, where
  :mod:`.runc_user` stands in for ``runc`` and sets the user from the
  annotation before the real runc creates the container.

containerd runs the shim wrapper at every start and deletion of such a
container, so both files must stay while such containers exist: they are
written when missing or changed, never removed. Jobs made through ctr 1.7 and
later, docker or nerdctl never use them.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from ...records.statedir import install_executable
from ..models import ContainerSpec
from . import runc_user

SHIM_NAME = "containerd-shim-runc-user-v2"

#: containerd's runc shim, with the folder of the tracker's runc wrapper first
#: on its PATH; the shim lies on PATH or beside containerd (-publish-binary).
SHIM_SCRIPT = """#!/bin/sh
# containerd-tracker: containerd's runc shim, whose runc gives a job the user
# it asked for (runc-user/runc). containerd runs this for the whole life of
# each container made with it: do not remove it while such containers exist.
# The shim is found as containerd finds it: on PATH, else beside containerd.
here=${0%/*}
shim=$(command -v containerd-shim-runc-v2)
if [ -z "$shim" ]; then
  prev=
  for arg; do
    [ "$prev" = -publish-binary ] && shim=${arg%/*}/containerd-shim-runc-v2
    prev=$arg
  done
fi
PATH=$here/runc-user:$PATH exec "${shim:-containerd-shim-runc-v2}" "$@"
"""

#: Interpreters for the runc wrapper, the system's first: containerd runs it
#: as root for as long as the container lives, so it should be one a package
#: manager keeps (the tracker's own may be a virtualenv that goes away).
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def interpreter() -> str:
    """The system's python3 where there is one, owned by root and writable by
    no one else; else the one running the tracker (a venv's base interpreter,
    which outlives the venv)."""
    for path in SYSTEM_PYTHONS:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if os.access(path, os.X_OK) and info.st_uid == 0 and not info.st_mode & 0o022:
            return path
    return os.path.realpath(sys.executable)


def runc_script() -> str:
    """:mod:`.runc_user`'s source, run without site packages (``-IS``)."""
    return f"#!{interpreter()} -IS\n" + Path(runc_user.__file__).read_text(encoding="utf-8")


def install(bin_dir: Path) -> Path:
    """Write both files under ``bin_dir`` where missing or changed; the
    shim wrapper's path (what ``--runtime`` names)."""
    shim = bin_dir / SHIM_NAME
    install_executable(bin_dir / "runc-user" / "runc", runc_script())
    install_executable(shim, SHIM_SCRIPT)
    return shim


def runtime_for(spec: ContainerSpec, client_version: Callable[[], tuple[int, int]], bin_dir: Path | None) -> str | None:
    """The ``--runtime`` a job needs: this one for a job with a user through
    ctr 1.6 (its version asked only then), kept under ``bin_dir`` (the state
    directory's); ``None``: ctr's default."""
    if not spec.user or client_version() >= (1, 7):
        return None
    if bin_dir is None:
        from ...drmaa2.errors import UnsupportedAttributeError

        raise UnsupportedAttributeError(
            f"extension 'user': ctr {'.'.join(map(str, client_version()))} cannot set a container's "
            "user without the tracker's runtime, which lives in a state directory (use_state)")
    try:
        return str(install(bin_dir))
    except OSError as exc:
        from ...drmaa2.errors import InternalError

        raise InternalError(f"cannot write ctr 1.6's user runtime into {str(bin_dir)!r}: {exc}") from exc
