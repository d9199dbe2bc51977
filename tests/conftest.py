"""Test set-up: a private containerd for the live tests.

The session fixture ``containerd`` starts a daemon on a socket in a temporary
directory, imports a busybox image built here from Debian's busybox-static,
and tears everything down at the end. Live tests never skip in CI: there a
missing prerequisite is a failure.

``--containerd-version 1.6|1.7|2.1`` (or ``$CONTAINERD_TRACKER_CONTAINERD_VERSION``)
runs the live tests against that containerd, got by
``scripts/containerd-versions.sh``: its folder goes first on ``PATH`` for the
whole run, so the daemon, its shim and every ``ctr`` the tracker runs are of
that version, as on a host that ships it. Without it, the containerd on
``PATH`` is used. ``--backends ctr`` (``$CONTAINERD_TRACKER_BACKENDS``) runs the
tracker tests through those backends only and deselects the Docker-only ones.
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
    # Only a yes counts: CONTAINERD_TRACKER_REQUIRE_LIVE=0 (or empty, false, no) does not require them.
    required = os.environ.get("CONTAINERD_TRACKER_REQUIRE_LIVE", "").strip().lower() in ("1", "true", "yes")
    if IN_CI or required:
        pytest.fail(f"live tests cannot run: {reason}. In CI this is a failure, not a skip.")
    pytest.skip(f"live test: {reason}")


REPO = Path(__file__).resolve().parents[1]

#: Every live tracker test runs through each of these backends.
BACKENDS = ("ctr", "docker")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-fixtures",
        action="store_true",
        help="re-record fixtures/<backend>/<daemon version>/ from the live scenarios",
    )
    parser.addoption(
        "--containerd-version",
        default=os.environ.get("CONTAINERD_TRACKER_CONTAINERD_VERSION", ""),
        help="run the live tests against containerd 1.6, 1.7 or 2.1 (default: the one on PATH)",
    )
    parser.addoption(
        "--backends",
        default=os.environ.get("CONTAINERD_TRACKER_BACKENDS", ",".join(BACKENDS)),
        help="comma-separated backends the live tracker tests run through (default: ctr,docker)",
    )


def _selected_backends(config: pytest.Config) -> tuple[str, ...]:
    names = tuple(n.strip() for n in config.getoption("--backends").split(",") if n.strip())
    unknown = set(names) - set(BACKENDS)
    if unknown or not names:
        raise pytest.UsageError(f"--backends: choose from {', '.join(BACKENDS)}")
    return names


def _use_containerd_version(version: str) -> None:
    """Put that version's binaries first on PATH for this whole run."""
    done = subprocess.run(["sh", str(REPO / "scripts" / "containerd-versions.sh"), version],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise pytest.UsageError(f"--containerd-version {version}: {done.stderr.strip()}")
    bindir = done.stdout.split()[-1]
    current = shutil.which("ctr")
    if current and Path(current).parent == Path(bindir):
        return  # already first (the system's own): prepending /usr/bin would shadow e.g. python3
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run a tracker test only through these backends")
    config.addinivalue_line("markers", "recorder: only records fixtures; collected with --record-fixtures alone")
    config.addinivalue_line("markers", "scale: minutes long (a 1,000-task array); `make test` runs it on the "
                                       "first containerd version only")
    config.addinivalue_line("markers", "once: what it checks does not depend on the containerd version the suite "
                                       "runs (the nerdctl shim's output shapes, checked through docker on every version; "
                                       "the command line, a thin edge over the tracker), or it is minutes long and smaller "
                                       "tests cover the same path on every version (the 300-task array); `make test` runs "
                                       "it on the first version only")
    _selected_backends(config)
    version = config.getoption("--containerd-version")
    if version and os.geteuid() == 0:
        _use_containerd_version(version)


def pytest_report_header(config: pytest.Config) -> str:
    ctr = shutil.which("ctr")
    version = subprocess.run([ctr, "--version"], capture_output=True, text=True).stdout.strip() if ctr else "none"
    return f"containerd-tracker live tests: {version} ({ctr}); backends {config.getoption('--backends')}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the tracker tests over backends; a test about one CLI's
    own behaviour names it with ``@pytest.mark.backends("ctr")``."""
    if "backend_name" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        metafunc.parametrize("backend_name", names, scope="function")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = _selected_backends(config)
    keep, drop = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "containerd" in names:
            item.add_marker(pytest.mark.live)
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend_name") if callspec else None
        needs_docker = "dockerd" in names or backend == "docker"
        recorder_only = item.get_closest_marker("recorder") is not None and not config.getoption("--record-fixtures")
        if (backend and backend not in selected) or (needs_docker and "docker" not in selected) or recorder_only:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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
