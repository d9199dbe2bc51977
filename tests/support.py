"""Constants and small real helpers shared by the tests."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

from containerd_tracker_cli.runner import Completed, LiveRunner, Runner, Stream
from containerd_tracker_cli.testing import DEFAULT_REF

BUSYBOX = DEFAULT_REF
ENTRYPOINT_IMAGE = "example.com/entrypoint:1"


class CountingRunner(Runner):
    """A real runner that counts the processes it starts."""

    def __init__(self, concurrency: int = 1) -> None:
        self.inner = LiveRunner()
        self.concurrency = concurrency  # one call at a time unless a test says otherwise: calls in order
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.calls.append(tuple(argv))
        return self.inner.run(argv, timeout=timeout, stdin=stdin)

    def stream(self, argv: Sequence[str]) -> Stream:
        self.calls.append(tuple(argv))
        return self.inner.stream(argv)


def _unique(name: str) -> str:
    import uuid

    return f"{name}-{uuid.uuid4().hex[:8]}"


class Raw:
    """What the CLI itself says, bypassing the tracker: how tests check what
    the tracker did, through whichever backend it used."""

    def __init__(self, backend: str, argv_base: list[str]) -> None:
        self.backend = backend
        self.base = argv_base

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=60, check=check)

    def containers(self) -> list[str]:
        """IDs (ctr) or names (docker) of every container."""
        if self.backend == "ctr":
            return self("containers", "list", "--quiet").stdout.split()
        return self("ps", "--all", "--quiet", "--no-trunc").stdout.split()

    def labels(self, name: str) -> dict[str, str]:
        import json

        if self.backend == "ctr":
            return json.loads(self("containers", "info", name).stdout)["Labels"] or {}
        return json.loads(self("inspect", "--format", "{{json .Config.Labels}}", name).stdout) or {}

    def running(self, name: str) -> bool:
        if self.backend == "ctr":
            rows = [line.split() for line in self("tasks", "list").stdout.splitlines()[1:]]
            return any(row[0] == name and row[2] == "RUNNING" for row in rows)
        return self("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"

    def stopped(self, name: str) -> bool:
        if self.backend == "ctr":
            rows = [line.split() for line in self("tasks", "list").stdout.splitlines()[1:]]
            return any(row[0] == name and row[2] == "STOPPED" for row in rows)
        return self("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited"

    def kill(self, name: str, signal: str) -> None:
        if self.backend == "ctr":
            self("tasks", "kill", "--signal", signal, name)
        else:
            self("kill", "--signal", signal, name)

    def run_foreign(self, name: str, *command: str) -> str:
        """A container nobody's tracker made: no labels. Its ID is ``name``
        made unique: runc keeps its state by namespace and ID for every
        containerd of the host, so suites running side by side must not share one."""
        name = _unique(name)
        if self.backend == "ctr":
            self("run", "--detach", "--null-io", BUSYBOX, name, *command)
        else:
            self("run", "--detach", "--network", "none", "--name", name, BUSYBOX, *command)
        return name

    def create_foreign(self, name: str) -> str:
        name = _unique(name)
        if self.backend == "ctr":
            self("containers", "create", BUSYBOX, name)
        else:
            self("create", "--network", "none", "--name", name, BUSYBOX)
        return name

    def import_image(self, oci_archive: Path) -> None:
        if self.backend == "ctr":
            self("images", "import", str(oci_archive))
        else:
            from containerd_tracker_cli.testing.dockerd import oci_to_docker_archive
            import json
            import tarfile

            with tarfile.open(oci_archive) as tar:
                ref = json.load(tar.extractfile("index.json"))["manifests"][0]["annotations"]["io.containerd.image.name"]
            converted = oci_to_docker_archive(oci_archive, oci_archive.with_suffix(".docker.tar"), ref)
            self("load", "--input", str(converted))

    def leftovers(self, state_dir: Path) -> tuple:
        """Containers, active snapshots (ctr) and job directories: what a
        failed submission must not add to."""
        snapshots: list[str] = []
        if self.backend == "ctr":
            snapshots = [line.split()[0] for line in self("snapshots", "list").stdout.splitlines()[1:]
                         if "Active" in line]
        jobs = state_dir / "jobs"
        job_dirs = sorted(p for p in jobs.glob("*/*")) if jobs.exists() else []
        return sorted(self.containers()), snapshots, job_dirs


def until(check: Callable[[], object], what: str, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Wait for ``check()`` to hold; past ``timeout`` the test fails saying ``what`` did not happen."""
    import pytest

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s")
        time.sleep(interval)
