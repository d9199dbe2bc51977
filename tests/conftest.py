"""Test set-up: a private containerd for the live tests.

The session fixture ``containerd`` starts a daemon on a socket in a temporary
directory, imports a busybox image built here from Debian's busybox-static,
and tears everything down at the end. Live tests never skip in CI: there a
missing prerequisite is a failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from containerd_tracker_cli import ContainerdJobTracker
from containerd_tracker_cli.testing import PrivateContainerd
from containerd_tracker_cli.testing.dockerd import PrivateDockerd

from .support import BUSYBOX, ENTRYPOINT_IMAGE, Raw

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cannot_run_live(reason: str) -> None:
    if IN_CI or os.environ.get("CONTAINERD_TRACKER_REQUIRE_LIVE"):
        pytest.fail(f"live tests cannot run: {reason}. In CI this is a failure, not a skip.")
    pytest.skip(f"live test: {reason}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-fixtures",
        action="store_true",
        help="re-record fixtures/ctr/<containerd version>/ from the live scenarios",
    )


#: Every live tracker test runs through each of these backends.
BACKENDS = ("ctr", "docker")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run a tracker test only through these backends")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the tracker tests over backends; a test about one CLI's
    own behaviour names it with ``@pytest.mark.backends("ctr")``."""
    if "backend_name" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        metafunc.parametrize("backend_name", names, scope="function")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "containerd" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def containerd() -> Iterator[PrivateContainerd]:
    if os.geteuid() != 0:
        _cannot_run_live("needs root to run containerd")
    binary = os.environ.get("CONTAINERD_BIN", "containerd")
    ctr = os.environ.get("CTR_BIN", "ctr")
    for tool in (binary, ctr, "runc"):
        if not shutil.which(tool):
            _cannot_run_live(f"{tool} is not installed (apt-get install containerd runc)")
    if not (Path("/bin/busybox").exists() or shutil.which("busybox")):
        _cannot_run_live("busybox is not installed (apt-get install busybox-static)")
    daemon = PrivateContainerd(containerd=binary, ctr=ctr)
    try:
        daemon.start()
        daemon.import_busybox(BUSYBOX)
        daemon.import_busybox(ENTRYPOINT_IMAGE, entrypoint=["echo", "EP"], cmd=["default-cmd"])
    except BaseException:
        daemon.stop()
        raise
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def dockerd(containerd: PrivateContainerd) -> Iterator[PrivateDockerd]:
    """Debian's Docker engine on the private containerd (namespace moby)."""
    for tool in ("dockerd", "docker"):
        if not shutil.which(tool):
            _cannot_run_live(f"{tool} is not installed (apt-get install docker.io)")
    engine = PrivateDockerd(containerd)
    try:
        engine.start()
        engine.import_busybox(BUSYBOX)
        engine.import_busybox(ENTRYPOINT_IMAGE, entrypoint=["echo", "EP"], cmd=["default-cmd"])
    except BaseException:
        engine.stop()
        raise
    yield engine
    engine.stop()


@pytest.fixture
def ctr(containerd: PrivateContainerd) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Raw ctr against the test daemon, to check what the tracker did."""

    def run(*args: str, namespace: str = "default", check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(containerd.ctr_argv(*args, namespace=namespace), capture_output=True, text=True,
                              timeout=60, check=check)

    return run


@pytest.fixture
def raw(containerd: PrivateContainerd, request: pytest.FixtureRequest, backend_name: str) -> Raw:
    """The tracker's backend CLI itself, for checking what the tracker did."""
    if backend_name == "docker":
        return Raw("docker", request.getfixturevalue("dockerd").docker_argv())
    return Raw("ctr", containerd.ctr_argv())


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make_tracker(containerd: PrivateContainerd, state_dir: Path, request: pytest.FixtureRequest,
                 backend_name: str) -> Iterator[Callable[..., ContainerdJobTracker]]:
    """Trackers on the test daemon through ``backend_name``; every session
    name is unique to the test."""
    base = request.node.name.replace("[", "-").replace("]", "")[:40]
    engine = request.getfixturevalue("dockerd") if backend_name == "docker" else None

    def make(session: str | None = None, **kwargs: object) -> ContainerdJobTracker:
        kwargs.setdefault("address", engine.host if engine else containerd.address)
        kwargs.setdefault("backend", backend_name)
        kwargs.setdefault("state_dir", state_dir)
        kwargs.setdefault("terminate_grace", 2.0)
        return ContainerdJobTracker(session or f"test-{base}", **kwargs)  # type: ignore[arg-type]

    yield make
    if engine:
        engine.clean()
    containerd.clean_namespace("default")


@pytest.fixture
def tracker(make_tracker: Callable[..., ContainerdJobTracker]) -> ContainerdJobTracker:
    return make_tracker()
