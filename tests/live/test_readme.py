"""The README's Python example runs as printed."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .helpers import path_without

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(name: str = "python") -> str:
    text = README.read_text()
    block = re.search(rf"<!-- example:{name} -->\s*```python\n(.*?)```\s*<!-- /example:{name} -->", text, re.S)
    assert block, f"README lost its marked {name} example"
    return block.group(1)


def _path(containerd, scratch: Path) -> str:
    """A clean PATH, with the ctr of the daemon's version first (as on a host
    that ships it) and no nerdctl anywhere: the examples use ``backend="auto"``
    (``$CONTAINERD_TRACKER_BACKEND``, else nerdctl when it is on PATH, else
    ctr) and run as a new user would, with no variable set, so these tests
    pin it to ctr by what is on PATH."""
    path = os.path.dirname(containerd.ctr) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return path_without("nerdctl", path, scratch)


def test_the_readme_python_example_runs(containerd, state_dir, tmp_path):
    path = _path(containerd, tmp_path)
    env = {"CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           "PATH": path, "HOME": "/root"}
    done = subprocess.run([sys.executable, "-c", _example()], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert re.match(r"^hello-[0-9a-f]{12} Failed 3 \d{4}-\d\d-\d\d ", first), first
    assert second == "hello from a DRMAA2 job"


def test_the_readme_session_example_runs(containerd, state_dir, tmp_path):
    path = _path(containerd, tmp_path)
    env = {"CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           "PATH": path, "HOME": "/root"}
    done = subprocess.run([sys.executable, "-c", _example("session")], capture_output=True, text=True, env=env,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6 ['1', '2', '3', '4', '5', '6']"
