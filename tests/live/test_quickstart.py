"""The README's first command, as a new user runs it."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_runs_a_real_job_and_demo_clean_removes_everything(tmp_path, containerd):
    # A private daemon of the demo's own (no system containerd is used here),
    # in a temporary directory instead of /tmp/containerd-tracker-demo.
    # The demo's commands are the command line's: pinned to ctr by $CONTAINERD_TRACKER_BACKEND, with a
    # decoy nerdctl first on PATH that fails the demo should anything fall back to `--backend auto`.
    decoy = tmp_path / "decoy-bin"
    decoy.mkdir()
    (decoy / "nerdctl").write_text('#!/bin/sh\necho "nerdctl was run ($*), but this test pins ctr" >&2\nexit 99\n')
    (decoy / "nerdctl").chmod(0o755)
    env = {**os.environ, "CONTAINERD_TRACKER_DEMO_DIR": str(tmp_path / "demo"),
           "CONTAINERD_TRACKER_DEMO_SYSTEM": str(tmp_path / "no-system.sock"),
           "CONTAINERD_TRACKER_BACKEND": "ctr", "PATH": f"{decoy}{os.pathsep}{os.environ.get('PATH', '')}"}
    for key in ("CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "CONTAINERD_TRACKER_SESSION"):
        env.pop(key, None)
    try:
        demo = subprocess.run(["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        out = demo.stdout
        assert "starting a private one" in out
        assert "hello from a DRMAA2 job on" in out and "bye" in out
        assert "exit_status:        3" in out
        assert "(wait exited with the job's exit status: 3)" in out
    finally:
        clean = subprocess.run(["make", "-s", "demo-clean"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "stopped the private containerd" in clean.stdout
    assert not (tmp_path / "demo").exists()
