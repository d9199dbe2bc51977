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
from typing import Any, Callable, Iterator, Sequence

import pytest

from . import __version__
from .backends.ctr import CtrBackend
from .runner import (
    Cassette,
    Completed,
    LiveRunner,
    RecordingRunner,
    ReplayMismatch,
    ReplayRunner,
    Runner,
    Stream,
)
from .tracker import ContainerdJobTracker
from .tracker.tracker import DEFAULT_ADDRESS, DEFAULT_NAMESPACE, default_job_owner

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
        "--containerd-address",
        default=None,
        help="containerd socket used when recording (default: $CONTAINERD_ADDRESS, the "
        f"containerd_address ini option, else {DEFAULT_ADDRESS})",
    )
    group.addoption(
        "--containerd-namespace",
        default=None,
        help="containerd namespace used when recording (default: $CONTAINERD_NAMESPACE, the "
        f"containerd_namespace ini option, else {DEFAULT_NAMESPACE}); replay uses the recorded one",
    )
    parser.addini("containerd_record_mode", "default for --containerd-record-mode (none, once, all)", default="none")
    parser.addini("containerd_address", "default for --containerd-address", default="")
    parser.addini("containerd_namespace", "default for --containerd-namespace", default="")


@dataclass(frozen=True)
class _Settings:
    mode: str
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
    address = (
        config.getoption("containerd_address")
        or os.environ.get("CONTAINERD_ADDRESS")
        or str(config.getini("containerd_address")).strip()
        or DEFAULT_ADDRESS
    )
    namespace = (
        config.getoption("containerd_namespace")
        or os.environ.get("CONTAINERD_NAMESPACE")
        or str(config.getini("containerd_namespace")).strip()
        or DEFAULT_NAMESPACE
    )
    config.stash[_SETTINGS] = _Settings(mode, address, namespace)
    config.stash[_VERSIONS] = {}


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or settings.mode == "none":
        return None
    return f"containerd-tracker: record mode {settings.mode!r} against {settings.address} ({settings.namespace})"


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
    return f"    pytest '{item.nodeid}' --containerd-record-mode={mode} --containerd-address={settings.address}"


class _GuardedReplay(Runner):
    """Replays through ``inner`` and remembers any mismatch it raised.

    Code under test may catch broad exceptions; remembering the mismatch lets
    teardown fail such a test instead of letting it pass on a wrong replay.
    """

    def __init__(self, inner: Runner, hint: str) -> None:
        self.inner = inner
        self.hint = hint
        self.mismatch: ReplayMismatch | None = None

    def _guard(self, call: Callable[[], Any]) -> Any:
        __tracebackhide__ = True  # the user's code and the mismatch are what matter
        try:
            return call()
        except ReplayMismatch as exc:
            error = ReplayMismatch(f"{exc}\n{self.hint}")
            if self.mismatch is None:
                self.mismatch = error
            raise error from None

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        __tracebackhide__ = True
        return self._guard(lambda: self.inner.run(argv, timeout=timeout, stdin=stdin))

    def stream(self, argv: Sequence[str]) -> Stream:
        __tracebackhide__ = True
        return _GuardedStream(self, self._guard(lambda: self.inner.stream(argv)))

    def unique_token(self) -> str:
        __tracebackhide__ = True
        return self._guard(self.inner.unique_token)


class _GuardedStream(Stream):
    def __init__(self, owner: _GuardedReplay, inner: Stream) -> None:
        self._owner = owner
        self._inner = inner
        self.argv = inner.argv

    def readline(self, timeout: float) -> str | None:
        __tracebackhide__ = True
        return self._owner._guard(lambda: self._inner.readline(timeout))

    def close(self) -> None:
        self._inner.close()


class _MissingRecording(Runner):
    """Stands in when there is no recording: the first command fails the
    test, naming that command (a test that runs none passes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _fail(self, what: str) -> Any:
        __tracebackhide__ = True
        raise ReplayMismatch(f"no recording at {self.path}; the code under test wants {what}")

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        __tracebackhide__ = True
        return self._fail(f"to run: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        __tracebackhide__ = True
        return self._fail(f"to stream: {' '.join(argv)}")

    def unique_token(self) -> str:
        __tracebackhide__ = True
        return self._fail("a unique token (recorded, like every command)")


def _server_version(config: pytest.Config, settings: _Settings) -> str:
    """The live daemon's version, once per session; a dead daemon is a setup
    error here rather than a confusing failure inside the user's code."""
    cache = config.stash[_VERSIONS]
    if settings.address in cache:
        pass
    elif "://" not in settings.address and not os.path.exists(settings.address):
        cache[settings.address] = FileNotFoundError(f"no socket at {settings.address}")
    else:
        try:
            backend = CtrBackend(LiveRunner(), settings.address, settings.namespace, timeout=15.0)
            cache[settings.address] = backend.server_version()
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot record"
            cache[settings.address] = exc
    found = cache[settings.address]
    if isinstance(found, Exception):
        pytest.fail(
            f"--containerd-record-mode={settings.mode} needs a live containerd, and {settings.address} did not "
            f"answer: {found}\nSet --containerd-address (or $CONTAINERD_ADDRESS) to a running daemon's socket.",
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
            "tool": "ctr",
            "containerd_version": version,
            "namespace": settings.namespace,
            "test": item.nodeid,
            "recorded_with": f"pytest --containerd-record-mode={settings.mode}",
            "containerd_tracker_version": __version__,
            # Replays name the same owner, whoever runs them.
            "job_owner": job_owner,
        })
        runner = RecordingRunner(LiveRunner(), cassette, placeholders)
        setup = ContainerdRecording(path, True, settings.address, settings.namespace, state_dir, runner,
                                    job_owner, placeholders)
        yield setup
        if _passed(item):
            Cassette(path, cassette.interactions, cassette.meta).save()  # also when no command ran
        elif "call" in item.stash.get(_REPORTS, {}):
            kept = "the previous recording is kept" if path.exists() else "nothing was saved"
            _warn(item, f"not recorded because the test did not pass; {kept} ({path})")
        return

    placeholders["address"] = REPLAY_ADDRESS
    namespace = settings.namespace
    replay: ReplayRunner | None = None
    if path.exists():
        cassette = Cassette.load(path)
        namespace = str(cassette.meta.get("namespace") or namespace)
        job_owner = str(cassette.meta.get("job_owner") or job_owner)
        replay = ReplayRunner(cassette, placeholders)
        inner: Runner = replay
        hint = ("  If the change is intended, re-record this test against a live containerd:\n"
                + _record_hint(item, settings, "all"))
    else:
        inner = _MissingRecording(path)
        hint = "  Record it against a live containerd:\n" + _record_hint(item, settings, "once")
    guarded = _GuardedReplay(inner, hint)
    yield ContainerdRecording(path, False, REPLAY_ADDRESS, namespace, state_dir, guarded, job_owner, placeholders)
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
        # Not "auto": a recording must not depend on whether nerdctl is installed.
        kwargs.setdefault("backend", "ctr")
        return ContainerdJobTracker(session_name, **kwargs)

    return make


@pytest.fixture
def containerd_tracker(
    request: pytest.FixtureRequest, containerd_tracker_factory: Callable[..., ContainerdJobTracker]
) -> ContainerdJobTracker:
    """A tracker whose job session is named after the test."""
    return containerd_tracker_factory(f"pytest-{_test_name(request.node)}")
