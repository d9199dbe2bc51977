"""The shared scenarios through the nerdctl code path, live against the
private Docker engine via tests/tools/fake_nerdctl.py (nerdctl itself cannot
be installed here); ``--record-fixtures`` records fixtures/nerdctl/composed-v1/
(nerdctl 1.x shapes, composed by the shim: see fixtures/nerdctl/README.md).

Also, live: the shim's answers over this engine have the shapes of the real
nerdctl 2.1.6 recordings (the same comparison as
tests/offline/test_fake_nerdctl_shapes.py, on whatever docker runs here), and
``--record-fixtures -k docker_inputs`` records the docker outputs that offline
test feeds the shim (fixtures/nerdctl/corpus/docker-inputs/).
"""
from __future__ import annotations

import json
import os
import queue
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, LiveRunner, RecordingRunner

pytestmark = pytest.mark.once  # see conftest: the first containerd version only

from ..offline import test_fake_nerdctl_shapes as shapes
from .. import scenarios
from ..scenarios import SCENARIOS, placeholders, tracker_for
from ..support import BUSYBOX
from ..tools import fake_nerdctl as fake

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nerdctl"
SHIM = Path(__file__).resolve().parents[1] / "tools" / "fake_nerdctl.py"
MISSING_ID = "0" * 64


@pytest.fixture(scope="module")
def nerdctl_bin(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fake-nerdctl")
    wrapper = directory / "nerdctl"
    # -S: the shim needs only the standard library, and site's start-up (≈ 40 ms a
    # call here) is what a scenario's timing (lifecycle: still running 1 s in) can least afford.
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -S {SHIM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


@pytest.mark.parametrize("shape", ["v1", "v2"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_through_nerdctl(name, shape, containerd, dockerd, nerdctl_bin, state_dir, request, monkeypatch):
    runner = LiveRunner(env={"PATH": f"{nerdctl_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
                             "FAKE_NERDCTL_DOCKER_HOST": dockerd.host, "FAKE_NERDCTL_SHAPE": shape})
    address = containerd.address  # what nerdctl is told; the shim reaches the engine itself
    if request.config.getoption("--record-fixtures") and shape == "v1":
        # Only the 1.x shapes are composed and kept: real nerdctl 2.1.6 recordings
        # (fixtures/nerdctl/2.1.6/) replace the 2.x ones.
        cassette = Cassette(FIXTURES / f"composed-{shape}" / f"{name}.json", meta={
            "tool": "nerdctl", "shape": shape, "scenario": name,
            "composed_by": "tests/tools/fake_nerdctl.py over docker " + dockerd.version(),
            "recorded_with": "pytest tests/live/test_nerdctl_shapes.py --record-fixtures",
        })
        runner = RecordingRunner(runner, cassette, placeholders(address, str(state_dir)))
    else:
        # Each call through the Python stand-in costs a process start and a docker
        # call: under CI load, more than the lifecycle job's recorded 1 s. What is
        # not kept may take its time.
        monkeypatch.setattr(scenarios, "LIFECYCLE_SECONDS", 5)
    tracker = tracker_for(name, address=address, backend="nerdctl", state_dir=state_dir, runner=runner)
    try:
        SCENARIOS[name](tracker)
    finally:
        dockerd.clean()


# -- the shim's answers over the live engine, against the real recordings ------------------------

def _labels(name: str) -> list[str]:
    return ["--label", "drmaa2=true", "--label", "jobSessionName=docker-inputs", "--label",
            f"containerd-tracker/key={name}"]


class _Engine:
    """docker (through ``runner``) and the shim, against the private engine."""

    def __init__(self, dockerd, nerdctl_bin: Path, runner=None) -> None:
        self.host = dockerd.host
        self.runner = runner or LiveRunner()
        self.env = {**os.environ, "PATH": f"{nerdctl_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
                    "FAKE_NERDCTL_DOCKER_HOST": dockerd.host, "FAKE_NERDCTL_SHAPE": "v2"}

    def docker(self, *args: str, timeout: float = 60):
        return self.runner.run(["docker", "--host", self.host, *args], timeout=timeout)

    def nerdctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nerdctl", "--address", shapes.ADDRESS, "--namespace", "default", *args],
                              capture_output=True, text=True, timeout=60, env=self.env)

    def container(self, name: str, *command: str, options: tuple[str, ...] = (), start: bool = True) -> str:
        entrypoint, *args = command
        done = self.docker("container", "create", "--name", name, "--network", "none", *_labels(name), *options,
                           "--entrypoint", entrypoint, BUSYBOX, *args)
        assert done.exit_code == 0, done.stderr
        cid = done.stdout.strip().splitlines()[-1]
        if start:
            self.docker("container", "start", cid)
        return cid


def test_shim_answers_in_real_shapes_live(dockerd, nerdctl_bin):
    """The shim itself (argv parsing, the docker calls it makes, what it
    writes) over this engine: inspect of each state, a missing container,
    events, images and version have the real nerdctl 2.1.6 shapes."""
    engine = _Engine(dockerd, nerdctl_bin)
    events = subprocess.Popen(["nerdctl", "--address", shapes.ADDRESS, "--namespace", "default", "events",
                               "--format", "{{json .}}"], stdout=subprocess.PIPE, text=True, env=engine.env)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in events.stdout], daemon=True).start()

        def next_line(timeout: float) -> str | None:
            try:
                return lines.get(timeout=timeout)
            except queue.Empty:
                return None

        # The stream is live once a container made after it started shows in it.
        deadline, live = time.monotonic() + 30, False
        while not live:
            assert time.monotonic() < deadline, "the shim's event stream showed no container within 30 s"
            probe = engine.container(f"live-probe-{int(time.monotonic() * 1000)}", "true", start=False)
            while (line := next_line(0.5)) is not None and not live:
                live = probe in line
        ids = {"running": engine.container("live-running", "sleep", "300"),
               "paused": engine.container("live-paused", "sleep", "300"),
               # Alive for a second: the shim asks for the pid at the start event (the exit's pid).
               "exited": engine.container("live-exited", "sh", "-c", "sleep 1; exit 3"),
               "created": engine.container("live-created", "sleep", "300", start=False)}
        engine.docker("container", "pause", ids["paused"])
        engine.docker("container", "wait", ids["exited"])
        for state, cid in ids.items():
            done = engine.nerdctl("container", "inspect", cid)
            shapes.assert_inspect_like_real(state, done.returncode, done.stdout, done.stderr)
        done = engine.nerdctl("container", "inspect", ids["running"], MISSING_ID)
        shapes.assert_missing_like_real(done.returncode, done.stdout, done.stderr)
        done = engine.nerdctl("image", "ls", "--format", "{{json .}}")
        assert done.returncode == 0, done.stderr
        shapes.assert_images_like_real(done.stdout)
        done = engine.nerdctl("version", "--format", "{{json .}}")
        shapes.assert_version_like_real(done.returncode, done.stdout, done.stderr)
        assert events.stdout is not None
        text = ""
        while '"Topic":"/tasks/exit"' not in text:
            line = next_line(30)
            assert line is not None, f"no exit event within 30 s; the stream gave {text!r}"
            text += line
        text += next_line(30) or ""  # the empty line after it
        shapes.assert_events_like_real(text, exit_status=3)
    finally:
        events.terminate()
        events.wait(timeout=10)
        dockerd.clean()


# -- recording the docker outputs the offline shape test feeds the shim --------------------------

@pytest.mark.recorder
def test_record_docker_inputs(dockerd, nerdctl_bin, request):
    """``pytest tests/live/test_nerdctl_shapes.py --record-fixtures -k docker_inputs``:
    what docker prints for each command the shim rewrites, one case each
    (fixtures/nerdctl/corpus/docker-inputs/docker-<version>.json)."""
    version = dockerd.version()
    scratch = Cassette(Path(dockerd.dir) / "scratch.json")
    recorder = RecordingRunner(LiveRunner(), scratch, placeholders(dockerd.host, str(Path(dockerd.dir) / "none")))
    engine = _Engine(dockerd, nerdctl_bin, recorder)
    cases: dict[str, dict] = {}

    def case(name: str, *args: str):
        done = engine.docker(*args)
        cases[name] = scratch.interactions[-1]
        return done

    try:
        case("version", "version", "--format", "{{json .}}")
        listed = case("image-ls", "image", "ls", "--format", "{{json .}}", "--no-trunc")
        if ids := fake.unknown_creation(listed.stdout):
            case("image-loaded", "image", "inspect", "--format", fake.LOADED_FORMAT, *ids)
        case("image-ls-v1", "image", "ls", "--format", "{{json .}}")
        since = int(time.time()) - 1
        running = engine.container("inputs-running", "sleep", "300")
        paused = engine.container("inputs-paused", "sleep", "300")
        exited = engine.container("inputs-exited", "sh", "-c", "echo out; echo err >&2; exit 3")
        created = engine.container("inputs-created", "sleep", "300", start=False)
        failed = engine.container("inputs-failed", "no-such-program", start=False)
        cases["create"] = scratch.interactions[-1]
        mount = Path(dockerd.dir) / "inputs-mount"
        mount.mkdir(exist_ok=True)
        options = ("--workdir", "/tmp", "--user", "1000:1000", "--memory", "67108864", "--cpus", "0.5",
                   "--mount", f"type=bind,source={mount},target=/data,readonly")
        extras = engine.container("inputs-extras", "sleep", "300", options=options)
        case("start-failed", "container", "start", failed)
        case("pause", "container", "pause", paused)
        engine.docker("container", "wait", exited)
        for name, cid in (("running", running), ("paused", paused), ("exited", exited), ("created", created),
                          ("failed", failed), ("extras", extras)):
            case(f"inspect-{name}", "container", "inspect", cid)
        case("inspect-missing", "container", "inspect", MISSING_ID)
        case("inspect-running-and-missing", "container", "inspect", running, MISSING_ID)
        case("logs", "container", "logs", exited)
        case("ps", "ps", "--all", "--quiet", "--no-trunc", "--filter", "label=jobSessionName=docker-inputs")
        case("unpause", "container", "unpause", paused)
        case("kill", "container", "kill", "--signal", "SIGKILL", paused)
        case("start-missing", "container", "start", MISSING_ID)
        case("kill-missing", "container", "kill", "--signal", "SIGTERM", MISSING_ID)
        case("rm", "container", "rm", "--force", running, created)
        case("rm-missing", "container", "rm", "--force", MISSING_ID)
        time.sleep(1)
        case("events", "events", "--since", str(since), "--until", str(int(time.time()) + 1), "--format",
             "{{json .}}")
    finally:
        dockerd.clean()
    target = shapes.DOCKER_INPUTS / f"docker-{version}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {"docker_engine": version,
            "docker_cli": engine.docker("version", "--format", "{{.Client.Version}}").stdout.strip(),
            "recorded_with": "pytest tests/live/test_nerdctl_shapes.py --record-fixtures -k docker_inputs",
            "placeholders": "<<address>>: the engine's socket URL, <<daemon_dir>>: its private directory"}
    target.write_text(json.dumps({"format": 1, "meta": meta, "cases": cases}, indent=1, ensure_ascii=False) + "\n")
