"""The per-task logger script, run by /bin/sh as containerd's shim would run it
(stdout on fd 3, stderr on fd 4, fd 5 closed when ready), with a stand-in
``ctr`` on PATH: no containerd needed."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from containerd_tracker_cli.backends.ctr.logger import LOGGER_SCRIPT

from ..support import until

FAKE_CTR = """#!/bin/sh
# Answers "shim state" as a shim does: running at first, stopped from the second call.
echo "$*" >> "$FAKE_CTR_LOG"
n=$(wc -l < "$FAKE_CTR_LOG")
if [ "$n" -lt 2 ]; then status=2; else status=3; fi
printf '{\\n    "id": "%s",\\n    "pid": 1,\\n    "status": %s,\\n    "exit_status": 7\\n}\\n' "$CONTAINER_ID" "$status"
"""


@pytest.fixture
def logger_env(tmp_path: Path) -> dict[str, object]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ctr").write_text(FAKE_CTR)
    (bindir / "ctr").chmod(0o755)
    script = tmp_path / "logger"
    script.write_text(LOGGER_SCRIPT)
    job = tmp_path / "jobs" / "default" / "job-1"
    job.mkdir(parents=True)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "CONTAINER_ID": "job-1", "CONTAINER_NAMESPACE": "ns",
           "FAKE_CTR_LOG": str(tmp_path / "ctr.log")}
    return {"script": script, "job": job, "env": env, "log": tmp_path / "ctr.log"}


def _start_logger(logger_env: dict, *extra: str) -> tuple[subprocess.Popen, int, int]:
    job: Path = logger_env["job"]  # type: ignore[assignment]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ready_r, ready_w = os.pipe()

    def as_the_shim_does() -> None:
        for fd, target in ((out_r, 3), (err_r, 4), (ready_w, 5)):
            os.dup2(fd, target)

    proc = subprocess.Popen(["/bin/sh", str(logger_env["script"]), "stdout", str(job / "output"),
                             "stderr", str(job / "error"), "done", str(job / "logging"), *extra],
                            env=logger_env["env"], preexec_fn=as_the_shim_does, close_fds=False)
    for fd in (out_r, err_r, ready_w):
        os.close(fd)
    assert os.read(ready_r, 1) == b""  # it closed fd 5: ready
    os.close(ready_r)
    return proc, out_w, err_w


def test_the_logger_writes_both_streams_and_saves_the_shims_record_of_the_exit(logger_env):
    job: Path = logger_env["job"]  # type: ignore[assignment]
    process = subprocess.Popen(["sh", "-c", "read line"], stdin=subprocess.PIPE)  # ends when told
    (job / "pid").write_text(f"{process.pid}\n")
    logger, out_w, err_w = _start_logger(logger_env, "address", "/run/x/containerd.sock")
    os.write(out_w, b"out\n")
    os.write(err_w, b"err\n")
    os.close(out_w)
    os.close(err_w)  # the task was deleted: its pipes close
    assert logger.wait(timeout=20) == 0
    assert process.poll() is None  # the logger ended with its pipes, not with the watched process
    assert not (job / "logging").exists()
    assert ((job / "output").read_text(), (job / "error").read_text()) == ("out\n", "err\n")
    assert oct((job / "output").stat().st_mode & 0o777) == "0o600"
    assert not (job / "shim-state.json").exists()  # the job's process still runs
    process.communicate(b"end\n")
    until(lambda: (job / "shim-state.json").exists(), "the watcher saved nothing")
    saved = (job / "shim-state.json").read_text()
    assert '"status": 3' in saved and '"exit_status": 7' in saved  # the running answer was not kept
    calls = logger_env["log"].read_text().splitlines()  # type: ignore[union-attr]
    assert calls[0] == "-a /run/x/containerd.sock -n ns shim --id job-1 state"
    assert len(calls) == 2
    assert not (job / "shim-state.tmp").exists()
