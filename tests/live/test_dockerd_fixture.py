"""The private Docker engine the Docker backend's live tests will run on.

``PrivateDockerd`` runs Debian's dockerd on top of the session's private
containerd. These tests check the fixture itself: a busybox job runs and its
exit status reaches ``docker inspect``, a running job is a task in
containerd's ``moby`` namespace (same full ID), and stopping the engine
leaves no process, mount or directory behind.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from containerd_tracker_cli.testing import PrivateContainerd
from containerd_tracker_cli.testing.dockerd import PrivateDockerd

from ..support import BUSYBOX

Docker = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def docker(dockerd: PrivateDockerd) -> Iterator[Docker]:
    """Raw docker CLI against the private engine; containers are removed afterwards."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(dockerd.docker_argv(*args), capture_output=True, text=True, timeout=60, check=check)

    yield run
    dockerd.clean()


def _inspect_state(docker: Docker, container_id: str) -> dict[str, object]:
    return json.loads(docker("inspect", "--format", "{{json .State}}", container_id).stdout)


def _wait_exited(docker: Docker, container_id: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        state = _inspect_state(docker, container_id)
        if state["Status"] == "exited" or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _moby_tasks(containerd: PrivateContainerd, namespace: str = "moby") -> dict[str, str]:
    """``{task id: status}`` as ``ctr tasks list`` shows them."""
    out = subprocess.run(containerd.ctr_argv("tasks", "list", namespace=namespace), capture_output=True,
                         text=True, timeout=30, check=True).stdout
    return {fields[0]: fields[2] for fields in (line.split() for line in out.splitlines()[1:]) if len(fields) >= 3}


def _mounts_below(path: Path) -> list[str]:
    return [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(path))]


def test_engine_runs_on_the_private_containerd(dockerd: PrivateDockerd, containerd: PrivateContainerd,
                                               docker: Docker) -> None:
    info = json.loads(docker("version", "--format", "{{json .Server}}").stdout)
    assert dockerd.version() == info["Version"]
    assert dockerd.storage_driver in ("overlay2", "vfs")
    assert len(dockerd.socket.encode()) < 108
    images = docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "busybox:latest" in images


def test_busybox_exit_status_is_seen_by_inspect(docker: Docker) -> None:
    container_id = docker("run", "-d", "--network", "none", "--label", "drmaa2=true", BUSYBOX,
                          "sh", "-c", "echo out; echo err >&2; exit 3").stdout.strip()
    state = _wait_exited(docker, container_id)
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 3
    config = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", container_id).stdout)
    assert config == {"drmaa2": "true"}
    logs = docker("logs", container_id)
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")


def test_running_job_is_a_moby_task(containerd: PrivateContainerd, docker: Docker) -> None:
    container_id = docker("run", "-d", "--network", "none", BUSYBOX, "sleep", "300").stdout.strip()
    assert _inspect_state(docker, container_id)["Status"] == "running"
    assert _moby_tasks(containerd).get(container_id) == "RUNNING"
    docker("pause", container_id)
    assert _moby_tasks(containerd).get(container_id) == "PAUSED"
    docker("unpause", container_id)
    docker("kill", container_id)
    assert _wait_exited(docker, container_id)["ExitCode"] == 137
    # dockerd 20.10 deletes the containerd container once its task has exited.
    assert container_id not in _moby_tasks(containerd)


def test_stop_leaves_no_process_mount_or_directory(containerd: PrivateContainerd, dockerd: PrivateDockerd) -> None:
    # A second engine of its own (own containerd namespace, so the module's engine is untouched),
    # stopped while a container still runs.
    engine = PrivateDockerd(containerd, namespace="moby-stoptest")
    try:
        engine.start()
        engine.import_busybox(BUSYBOX)
        subprocess.run(engine.docker_argv("run", "-d", "--network", "none", BUSYBOX, "sleep", "300"),
                       capture_output=True, text=True, timeout=60, check=True)
        pid = engine.pid
        assert pid is not None
        assert _moby_tasks(containerd, "moby-stoptest")
        assert _mounts_below(engine.dir), "a running container should have its rootfs mounted"
    finally:
        engine.stop()
    assert not Path(f"/proc/{pid}").exists()
    assert not _mounts_below(engine.dir)
    assert not engine.dir.exists()
    assert _moby_tasks(containerd, "moby-stoptest") == {}
    # The module's engine is still serving.
    assert dockerd.version()
    assert os.path.exists(dockerd.socket)
