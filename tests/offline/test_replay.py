"""The live scenarios, replayed from recordings: no containerd needed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, ReplayMismatch, ReplayRunner

from ..scenarios import SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: fixtures/<backend>/<version>/<scenario>.json
RECORDINGS = sorted(p for p in FIXTURES.glob("*/*/*.json"))


def _replay_tracker(path: Path, tmp_path: Path, session: str | None = None):
    name, backend = path.stem, path.parent.parent.name
    address = "unix:///replay/daemon.sock" if backend == "docker" else "/replay/daemon.sock"
    runner = ReplayRunner(Cassette.load(path), placeholders(address, str(tmp_path / "state")))
    return name, runner, tracker_for(name, session, address=address, backend=backend,
                                     state_dir=tmp_path / "state", runner=runner)


@pytest.mark.parametrize("backend", ["ctr", "docker", "nerdctl"])
def test_there_are_recordings_for_every_scenario(backend):
    versions = {p.parent for p in RECORDINGS if p.parent.parent.name == backend}
    assert versions, f"no recordings under fixtures/{backend}: run the live suite with --record-fixtures"
    for version in versions:
        assert {p.stem for p in version.glob("*.json")} == set(SCENARIOS), version


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}")
def test_scenario_replays_offline(path, tmp_path):
    name, runner, tracker = _replay_tracker(path, tmp_path)
    SCENARIOS[name](tracker)
    assert runner.remaining == 0, "the scenario made fewer calls than were recorded"


def test_a_changed_command_is_a_mismatch_naming_both_commands(tmp_path):
    path = next(p for p in RECORDINGS if p.stem == "lifecycle")
    # Another session, so the job's labels differ from the recording.
    name, _, tracker = _replay_tracker(path, tmp_path, session="another-session")
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
        for machine_path in ("/tmp/ctd-", "/tmp/dkd-", "/tmp/pytest-of-"):
            assert machine_path not in text, (path, machine_path)
        json.loads(text)
