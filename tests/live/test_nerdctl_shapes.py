"""The shared scenarios through the nerdctl code path, live against the
private Docker engine via tests/tools/fake_nerdctl.py (nerdctl itself cannot
be installed here); ``--record-fixtures`` records fixtures/nerdctl/composed-v1/
(nerdctl 1.x shapes, composed by the shim: see fixtures/nerdctl/README.md)."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, LiveRunner, RecordingRunner

pytestmark = pytest.mark.once  # see conftest: the first containerd version only

from ..scenarios import SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nerdctl"
SHIM = Path(__file__).resolve().parents[1] / "tools" / "fake_nerdctl.py"


@pytest.fixture(scope="module")
def nerdctl_bin(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fake-nerdctl")
    wrapper = directory / "nerdctl"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {SHIM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


@pytest.mark.parametrize("shape", ["v1", "v2"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_through_nerdctl(name, shape, containerd, dockerd, nerdctl_bin, state_dir, request):
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
    tracker = tracker_for(name, address=address, backend="nerdctl", state_dir=state_dir, runner=runner)
    try:
        SCENARIOS[name](tracker)
    finally:
        dockerd.clean()
