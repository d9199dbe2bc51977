"""The command line's cold start (issue 11): a new ``containerd-tracker``
process imports only what its command uses. Run as a real process with a
stand-in ``ctr`` on PATH that answers with what ctr 2.1.9 printed for a
running job, and judged by ``sys.modules`` afterwards: no timings."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from containerd_tracker_cli.runner.cassette import Cassette

RECORDINGS = Path(__file__).resolve().parents[2] / "fixtures" / "ctr" / "2.1.9+unknown"

FAKE_CTR = """#!/bin/sh
# Answers the calls a job_state makes, as ctr 2.1.9 did; anything else fails
# (a new call on this path: give it its recorded answer here).
here=$(dirname "$0")
case "$*" in
  *" tasks list") cat "$here/tasks" ;;
  *" containers info "*) cat "$here/info" ;;
  "--version") cat "$here/version" ;;
  *) echo "stand-in ctr: no answer for: $*" >&2; exit 1 ;;
esac
"""

#: Loaded by no command that only reads a job's state.
NOT_FOR_STATE = (
    "containerd_tracker_cli.runner.cassette",  # recording and replay: tests only
    "containerd_tracker_cli.runner.placeholders",
    "containerd_tracker_cli.pytest_plugin",
    "containerd_tracker_cli.testing",
    "pytest",
    "_pytest",
    "hypothesis",
    "containerd_tracker_cli.drmaa2.models",  # JobTemplate and JobInfo: pydantic classes state never builds
    "containerd_tracker_cli.tracker.submission",
    "containerd_tracker_cli.tracker.info",
    "containerd_tracker_cli.session",
    "containerd_tracker_cli.backends.dockercompat",
    "containerd_tracker_cli.cli.logs",
    "containerd_tracker_cli.cli.watch",
)

#: ``--help`` is argparse only.
NOT_FOR_HELP = ("pydantic", "pydantic_core", "sh", "asyncio", "containerd_tracker_cli.tracker",
                "containerd_tracker_cli.runner", "containerd_tracker_cli.backends.ctr")

PROBE = """\
import json, sys
from containerd_tracker_cli.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _loaded(names: list[str], unwanted: tuple[str, ...]) -> list[str]:
    return [name for name in names if any(name == u or name.startswith(u + ".") for u in unwanted)]


def _running_job(state_dir: Path, address: Path) -> tuple[str, str]:
    """What ctr printed for ``tasks list`` while a recorded job was running, and
    for ``containers info`` of that job."""
    for recording in sorted(RECORDINGS.glob("*.json")):
        runs = [i for i in Cassette.load(recording).expanded({"state_dir": str(state_dir), "address": str(address)})
                if i.get("kind") == "run"]
        infos = {i["argv"][-1]: i["stdout"] for i in reversed(runs)  # a job's first record
                 if i["argv"][-3:-1] == ["containers", "info"] and i["stdout"].startswith("{")}
        for listing in (i["stdout"] for i in runs if i["argv"][-2:] == ["tasks", "list"]):
            for row in listing.splitlines()[1:]:
                if row.split()[-1:] == ["RUNNING"] and row.split()[0] in infos:
                    return listing, infos[row.split()[0]]
    pytest.fail(f"no recording in {RECORDINGS} lists a running job and its record")


@pytest.fixture
def fake_ctr(tmp_path: Path) -> dict[str, object]:
    """A ``bin`` with the stand-in ctr, and the running job it answers for."""
    state_dir, address = tmp_path / "state", tmp_path / "containerd.sock"
    tasks, info = _running_job(state_dir, address)
    record = json.loads(info)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tasks").write_text(tasks)
    (bindir / "info").write_text(info)
    (bindir / "version").write_text((RECORDINGS / "client-version.txt").read_text())
    (bindir / "ctr").write_text(FAKE_CTR)
    (bindir / "ctr").chmod(0o755)
    options = [f"--address={address}", "--namespace=default", "--backend=ctr", f"--state-dir={state_dir}",
               f"--session={record['Labels']['jobSessionName']}"]
    return {"bin": bindir, "job": record["ID"], "options": options}


def _run(tmp_path: Path, bindir: Path | None, argv: list[str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = tmp_path / "report.json"
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}" if bindir else os.environ["PATH"]}
    env.pop("CONTAINERD_TRACKER_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), *argv], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert report.exists(), done.stderr
    return done, json.loads(report.read_text())


def test_state_loads_neither_tests_nor_other_commands(tmp_path, fake_ctr):
    done, report = _run(tmp_path, fake_ctr["bin"], [*fake_ctr["options"], "state", fake_ctr["job"]])
    assert (report["code"], done.stdout) == (0, "Running\n"), done.stderr
    assert _loaded(report["modules"], NOT_FOR_STATE) == []


def test_help_loads_no_pydantic_no_runner(tmp_path):
    done, report = _run(tmp_path, None, ["--help"])
    assert report["code"] == 0 and "state" in done.stdout
    assert _loaded(report["modules"], NOT_FOR_HELP) == []
