"""The live scenarios, replayed from recordings: no containerd needed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, ReplayMismatch, ReplayRunner

from ..scenarios import SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctr"
RECORDINGS = sorted(FIXTURES.glob("*/*.json"))


def _replay_tracker(path: Path, tmp_path: Path):
    name = path.stem
    address = "/replay/containerd.sock"
    runner = ReplayRunner(Cassette.load(path), placeholders(address, str(tmp_path / "state")))
    return name, runner, tracker_for(name, address=address, state_dir=tmp_path / "state", runner=runner)


def test_there_are_recordings_for_every_scenario():
    versions = {p.parent.name for p in RECORDINGS}
    assert versions, "no recordings under fixtures/ctr: run the live suite with --record-fixtures"
    for version in versions:
        assert {p.stem for p in RECORDINGS if p.parent.name == version} == set(SCENARIOS), version


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_scenario_replays_offline(path, tmp_path):
    name, runner, tracker = _replay_tracker(path, tmp_path)
    SCENARIOS[name](tracker)
    assert runner.remaining == 0, "the scenario made fewer calls than were recorded"


def test_a_changed_command_is_a_mismatch_naming_both_commands(tmp_path):
    path = FIXTURES / sorted(p.parent.name for p in RECORDINGS)[0] / "lifecycle.json"
    name, _, tracker = _replay_tracker(path, tmp_path)
    tracker.session_name = "another-session"  # so the job's labels differ from the recording
    with pytest.raises(ReplayMismatch) as caught:
        SCENARIOS[name](tracker)
    message = str(caught.value)
    assert str(path) in message
    assert "recorded:" in message and "now:" in message
    assert "jobSessionName=another-session" in message


def test_a_missing_recording_is_a_clear_failure(tmp_path):
    with pytest.raises(ReplayMismatch, match="no recording at"):
        Cassette.load(tmp_path / "absent.json")


def test_recordings_hold_no_machine_paths():
    for path in RECORDINGS:
        text = path.read_text()
        assert "/tmp/ctd-" not in text and "/tmp/pytest-of-" not in text, path
        json.loads(text)
