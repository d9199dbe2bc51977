"""The shared scenarios, live; ``--record-fixtures`` records them."""
from __future__ import annotations

from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, LiveRunner, RecordingRunner

from ..scenarios import SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctr"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_live(name, containerd, state_dir, request):
    runner = LiveRunner()
    if request.config.getoption("--record-fixtures"):
        version = containerd.version()
        cassette = Cassette(FIXTURES / version / f"{name}.json", meta={
            "tool": "ctr", "containerd_version": version, "scenario": name,
            "recorded_with": "pytest tests/live/test_scenarios.py --record-fixtures",
        })
        runner = RecordingRunner(runner, cassette, placeholders(containerd.address, str(state_dir)))
    tracker = tracker_for(name, address=containerd.address, state_dir=state_dir, runner=runner)
    try:
        SCENARIOS[name](tracker)
    finally:
        containerd.clean_namespace("default")
