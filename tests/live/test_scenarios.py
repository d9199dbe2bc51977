"""The shared scenarios, live through every backend; ``--record-fixtures``
records them into fixtures/<backend>/<daemon version>/."""
from __future__ import annotations

from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, LiveRunner, RecordingRunner

from ..scenarios import SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_live(name, containerd, state_dir, request, backend_name):
    engine = request.getfixturevalue("dockerd") if backend_name == "docker" else None
    address = engine.host if engine else containerd.address
    runner = LiveRunner()
    if request.config.getoption("--record-fixtures"):
        version = engine.version() if engine else containerd.version()
        cassette = Cassette(FIXTURES / backend_name / version / f"{name}.json", meta={
            "tool": backend_name, "version": version, "scenario": name,
            "recorded_with": "pytest tests/live/test_scenarios.py --record-fixtures",
        })
        runner = RecordingRunner(runner, cassette, placeholders(address, str(state_dir)))
    tracker = tracker_for(name, address=address, backend=backend_name, state_dir=state_dir, runner=runner)
    try:
        SCENARIOS[name](tracker)
    finally:
        if engine:
            engine.clean()
        containerd.clean_namespace("default")
