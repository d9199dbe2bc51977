"""pytest plugin: test code that uses ``ContainerdJobTracker`` offline.

Registered through the ``pytest11`` entry point, so installing the package
is enough. A test asks for ``containerd_tracker`` (or
``containerd_tracker_factory`` / ``containerd_runner``); whether its ``ctr``
calls are recorded or replayed is chosen by ``--containerd-record-mode`` (or
the ``containerd_record_mode`` ini option):

* ``none`` (default): replay ``cassettes/<module>/<test>.json`` next to the
  test file; no containerd and no ``ctr`` are needed. CI never records.
* ``once``: record against a live containerd when the recording is missing,
  replay it otherwise.
* ``all``: always re-record from scratch.

A recording is only kept when the test passes, so a broken daemon or a red
test never turns into a recording that later replays as the truth. A missing
or mismatched recording fails the test with the command that was asked for.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from . import __version__
from .backends import registry
from .runner import Cassette, LiveRunner, RecordingRunner, ReplayRunner, Runner
from .runner.guarded import GuardedReplay, MissingRecording
from .tracker import ContainerdJobTracker
from .tracker.tracker import default_job_owner

RECORD_MODES = ("none", "once", "all")
#: The address a replaying tracker is given: recordings store ``<<address>>``,
#: so any fixed string works, and this one says where it came from.
REPLAY_ADDRESS = "/containerd-tracker-replay/containerd.sock"
MARKER = "containerd_cassette"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_MAX_NAME = 120


class ContainerdCassetteWarning(UserWarning):
    """Something about a recording the user should look at, but not a failure."""


# --------------------------------------------------------------------- options
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("containerd-tracker", "containerd-tracker record/replay")
    group.addoption(
        "--containerd-record-mode",
        choices=RECORD_MODES,
        default=None,
        help="none (default): replay recordings only; once: record tests that have no recording; "
        "all: re-record every test. Recording needs a live containerd.",
    )
    group.addoption(
        "--containerd-backend",
        choices=tuple(registry.BACKENDS),
        default=None,
        help="the CLI recordings are made through (default: the containerd_backend ini option, else ctr); "
        "replay uses the recorded one",
    )
    group.addoption(
        "--containerd-address",
        default=None,
        help="daemon socket used when recording (default: $CONTAINERD_ADDRESS, or $DOCKER_HOST for docker, "
        "the containerd_address ini option, else the backend's usual socket)",
    )
    group.addoption(
        "--containerd-namespace",
        default=None,
        help="containerd namespace used when recording (default: $CONTAINERD_NAMESPACE, the "
        f"containerd_namespace ini option, else {registry.DEFAULT_NAMESPACE}); replay uses the recorded one",
    )
    parser.addini("containerd_record_mode", "default for --containerd-record-mode (none, once, all)", default="none")
    parser.addini("containerd_backend", "default for --containerd-backend (ctr, nerdctl, docker)", default="")
    parser.addini("containerd_address", "default for --containerd-address", default="")
    parser.addini("containerd_namespace", "default for --containerd-namespace", default="")


@dataclass(frozen=True)
class _Settings:
    mode: str
    backend: str
    address: str
    namespace: str


_SETTINGS = pytest.StashKey[_Settings]()
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_VERSIONS = pytest.StashKey[dict[str, str | Exception]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f'{MARKER}(name): the file name of this test\'s containerd recording, '
        "under cassettes/<test module>/ (default: the test name)",
    )
    mode = config.getoption("containerd_record_mode") or str(config.getini("containerd_record_mode")).strip() or "none"
    if mode not in RECORD_MODES:
        # argparse checks the command line; the ini value needs the same check.
        raise pytest.UsageError(
            f"containerd_record_mode: invalid value {mode!r} (choose from {', '.join(RECORD_MODES)})"
        )
    backend = config.getoption("containerd_backend") or str(config.getini("containerd_backend")).strip() or "ctr"
    if backend not in registry.BACKENDS:
        raise pytest.UsageError(
            f"containerd_backend: invalid value {backend!r} (choose from {', '.join(registry.BACKENDS)})")
    # Not "auto": a recording must not depend on which CLIs this host has.
    kind = registry.BACKENDS[backend]
    address = kind.address(
        config.getoption("containerd_address")
        or os.environ.get(kind.address_env)
        or str(config.getini("containerd_address")).strip()
        or None
    )
    namespace = registry.namespace_of(
        config.getoption("containerd_namespace")
        or os.environ.get(registry.ENV_NAMESPACE)
        or str(config.getini("containerd_namespace")).strip()
        or None
    )
    config.stash[_SETTINGS] = _Settings(mode, backend, address, namespace)
    config.stash[_VERSIONS] = {}


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or settings.mode == "none":
        return None
    return (f"containerd-tracker: record mode {settings.mode!r} through {settings.backend} against "
            f"{settings.address} ({settings.namespace})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report: teardown needs to know whether the test passed."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


def _passed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return all(when in reports and reports[when].passed for when in ("setup", "call"))


# --------------------------------------------------------------------- naming
def _safe(name: str) -> str:
    """A file-system (and label) friendly form of a test name."""
    safe = _UNSAFE.sub("-", name).strip("-.") or "test"
    if len(safe) > _MAX_NAME:
        digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
        safe = f"{safe[:_MAX_NAME - 9]}-{digest}"
    return safe


def _test_name(item: pytest.Item) -> str:
    """``Class.test[param]`` made safe: the class keeps same-named methods apart."""
    parts = item.nodeid.split("::")[1:] or [item.name]
    return _safe(".".join(parts))


def cassette_path(item: pytest.Item) -> Path:
    """``<test dir>/cassettes/<module>/<test>.json``, or the marker's name."""
    path = Path(item.path)
    directory = path.parent / "cassettes" / path.stem
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return directory / f"{_test_name(item)}.json"
    name = marker.args[0] if marker.args else marker.kwargs.get("name")
    if not isinstance(name, str) or not name.strip() or Path(name).is_absolute() or ".." in Path(name).parts:
        pytest.fail(f"@pytest.mark.{MARKER} needs a relative file name, got {name!r}", pytrace=False)
    return directory / (name if name.endswith(".json") else f"{name}.json")


# --------------------------------------------------------------------- runners
def _record_hint(item: pytest.Item, settings: _Settings, mode: str) -> str:
    return (f"    pytest '{item.nodeid}' --containerd-record-mode={mode} --containerd-backend={settings.backend} "
            f"--containerd-address={settings.address}")


def _server_version(config: pytest.Config, settings: _Settings) -> str:
    """The live daemon's version, once per session; a dead daemon is a setup
    error here rather than a confusing failure inside the user's code."""
    cache = config.stash[_VERSIONS]
    path = settings.address.removeprefix("unix://")
    if settings.address in cache:
        pass
    elif "://" not in path and not os.path.exists(path):
        cache[settings.address] = FileNotFoundError(f"no socket at {path}")
    else:
        try:
            backend = registry.connect(settings.backend, settings.address, settings.namespace,
                                       runner=LiveRunner(), timeout=15.0)
            cache[settings.address] = backend.server_version()
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot record"
            cache[settings.address] = exc
    found = cache[settings.address]
    if isinstance(found, Exception):
        pytest.fail(
            f"--containerd-record-mode={settings.mode} needs a live {registry.BACKENDS[settings.backend].daemon}, "
            f"and {settings.address} did not answer: {found}\n"
            f"Set --containerd-address to a running daemon's socket.",
            pytrace=False,
        )
    return found


def _warn(item: pytest.Item, message: str) -> None:
    """A warning located at the test, not at this plugin."""
    _, lineno, _ = item.location
    warnings.warn_explicit(
        ContainerdCassetteWarning(message),
        ContainerdCassetteWarning,
        filename=str(item.path),
        lineno=(lineno or 0) + 1,
    )


# --------------------------------------------------------------------- fixtures
@dataclass
class ContainerdRecording:
    """What the plugin set up for one test: where, how, and with which runner."""

    path: Path
    recording: bool
    #: The backend recorded through (and replayed as).
    backend: str
    address: str
    namespace: str
    state_dir: Path
    runner: Runner
    job_owner: str
    placeholders: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def containerd_recording(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContainerdRecording]:
    """Record or replay this test's ``ctr`` calls; the other fixtures build on it."""
    item = request.node
    settings = request.config.stash[_SETTINGS]
    path = cassette_path(item)
    recording = settings.mode == "all" or (settings.mode == "once" and not path.exists())
    state_dir = tmp_path_factory.mktemp("containerd-state", numbered=True)
    placeholders = {"state_dir": str(state_dir)}
    if "tmp_path" in request.fixturenames or "tmpdir" in request.fixturenames:
        # Paths under tmp_path (output files, mounts) change every run.
        placeholders["tmp_path"] = str(request.getfixturevalue("tmp_path"))

    job_owner = default_job_owner()
    if recording:
        version = _server_version(request.config, settings)
        placeholders["address"] = settings.address
        # Record into a scratch file (saved after every call): only a passing
        # test replaces the real recording, a failing one leaves it as it was.
        scratch = tmp_path_factory.mktemp("containerd-cassette", numbered=True) / path.name
        cassette = Cassette(scratch, meta={
            "tool": settings.backend,
            "containerd_version": version,
            "namespace": settings.namespace,
            "test": item.nodeid,
            "recorded_with": f"pytest --containerd-record-mode={settings.mode}",
            "containerd_tracker_version": __version__,
            # Replays name the same owner, whoever runs them.
            "job_owner": job_owner,
        })
        runner = RecordingRunner(LiveRunner(), cassette, placeholders)
        setup = ContainerdRecording(path, True, settings.backend, settings.address, settings.namespace, state_dir,
                                    runner, job_owner, placeholders)
        yield setup
        if _passed(item):
            Cassette(path, cassette.interactions, cassette.meta).save()  # also when no command ran
        elif "call" in item.stash.get(_REPORTS, {}):
            kept = "the previous recording is kept" if path.exists() else "nothing was saved"
            _warn(item, f"not recorded because the test did not pass; {kept} ({path})")
        return

    namespace = settings.namespace
    backend = settings.backend
    replay: ReplayRunner | None = None
    cassette = Cassette.load(path) if path.exists() else None
    if cassette is not None:
        namespace = str(cassette.meta.get("namespace") or namespace)
        job_owner = str(cassette.meta.get("job_owner") or job_owner)
        backend = str(cassette.meta.get("tool") or backend)
        if backend not in registry.BACKENDS:
            pytest.fail(f"{path} was recorded through {backend!r}, which this version does not know", pytrace=False)
    # The address as the backend writes it (docker: unix://…), so recordings
    # of either form replay.
    address = placeholders["address"] = registry.BACKENDS[backend].address(REPLAY_ADDRESS)
    if cassette is not None:
        replay = ReplayRunner(cassette, placeholders)
        inner: Runner = replay
        hint = ("  If the change is intended, re-record this test against a live containerd:\n"
                + _record_hint(item, settings, "all"))
    else:
        inner = MissingRecording(path)
        hint = "  Record it against a live containerd:\n" + _record_hint(item, settings, "once")
    guarded = GuardedReplay(inner, hint)
    yield ContainerdRecording(path, False, backend, address, namespace, state_dir, guarded, job_owner, placeholders)
    if not _passed(item):
        return
    if guarded.mismatch is not None:
        pytest.fail(
            f"the test passed, but the code under test caught a replay mismatch:\n{guarded.mismatch}",
            pytrace=False,
        )
    if replay is not None and replay.remaining:
        total = len(replay.cassette.interactions)
        _warn(item, f"passed, but {replay.remaining} of {total} recorded interactions in {path} were not "
              "replayed; re-record with --containerd-record-mode=all if the code now does less")


@pytest.fixture
def containerd_runner(containerd_recording: ContainerdRecording) -> Runner:
    """The runner to inject: recording to or replaying from this test's cassette."""
    return containerd_recording.runner


@pytest.fixture
def containerd_tracker_factory(containerd_recording: ContainerdRecording) -> Callable[..., ContainerdJobTracker]:
    """``make(session_name, **kwargs)``: trackers wired to the cassette; kwargs override."""

    def make(session_name: str, **kwargs: Any) -> ContainerdJobTracker:
        kwargs.setdefault("address", containerd_recording.address)
        kwargs.setdefault("namespace", containerd_recording.namespace)
        kwargs.setdefault("state_dir", containerd_recording.state_dir)
        kwargs.setdefault("runner", containerd_recording.runner)
        kwargs.setdefault("job_owner", containerd_recording.job_owner)
        kwargs.setdefault("backend", containerd_recording.backend)
        return ContainerdJobTracker(session_name, **kwargs)

    return make


@pytest.fixture
def containerd_tracker(
    request: pytest.FixtureRequest, containerd_tracker_factory: Callable[..., ContainerdJobTracker]
) -> ContainerdJobTracker:
    """A tracker whose job session is named after the test."""
    return containerd_tracker_factory(f"pytest-{_test_name(request.node)}")
