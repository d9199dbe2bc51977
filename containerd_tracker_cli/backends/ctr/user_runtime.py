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

from ...records.statedir import install_executable
from . import runc_user

ANNOTATION = runc_user.ANNOTATION
SHIM_NAME = "containerd-shim-runc-user-v2"

#: containerd's runc shim, with the folder of the tracker's runc wrapper first
#: on its PATH; the shim lies on PATH or beside containerd (-publish-binary).
SHIM_SCRIPT = """#!/bin/sh
# containerd-tracker: containerd's runc shim, whose runc gives a job the user
# it asked for (runc-user/runc). containerd runs this for the whole life of
# each container made with it: do not remove it while such containers exist.
here=${0%/*}
shim=containerd-shim-runc-v2
prev=
for arg; do
  [ "$prev" = -publish-binary ] && [ -x "${arg%/*}/$shim" ] && shim=${arg%/*}/$shim
  prev=$arg
done
PATH=$here/runc-user:$PATH exec "$shim" "$@"
"""


def runc_script() -> str:
    """:mod:`.runc_user`'s source, run by this Python without site packages."""
    interpreter = os.path.realpath(sys.executable)  # a venv's base survives the venv
    return f"#!{interpreter} -IS\n" + Path(runc_user.__file__).read_text(encoding="utf-8")


def install(bin_dir: Path) -> Path:
    """Write both files under ``bin_dir`` where missing or changed; the
    shim wrapper's path (what ``--runtime`` names)."""
    shim = bin_dir / SHIM_NAME
    install_executable(bin_dir / "runc-user" / "runc", runc_script())
    install_executable(shim, SHIM_SCRIPT)
    return shim
