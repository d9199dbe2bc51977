"""The live scenarios, replayed from recordings: no containerd needed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, ReplayMismatch, ReplayRunner

from ..scenarios import NERDCTL_2_1_6_SCENARIOS, SCENARIOS, placeholders, tracker_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: fixtures/<backend>/<version>/<scenario>.json; nerdctl's real recordings one
#: level deeper (nerdctl/2.1.6/containerd-<version>/); nerdctl/corpus/ is raw CLI output.
RECORDINGS = sorted(p for p in FIXTURES.rglob("*.json") if "corpus" not in p.relative_to(FIXTURES).parts)
REAL_NERDCTL = FIXTURES / "nerdctl" / "2.1.6"


def _backend(path: Path) -> str:
    return path.relative_to(FIXTURES).parts[0]


def _replay_tracker(path: Path, tmp_path: Path, session: str | None = None):
    name, backend = path.stem, _backend(path)
    address = "unix:///replay/daemon.sock" if backend == "docker" else "/replay/daemon.sock"
    runner = ReplayRunner(Cassette.load(path), placeholders(address, str(tmp_path / "state")))
    return name, runner, tracker_for(name, session, address=address, backend=backend,
                                     state_dir=tmp_path / "state", runner=runner)


@pytest.mark.parametrize("backend", ["ctr", "docker", "nerdctl"])
def test_there_are_recordings_for_every_scenario(backend):
    folders = {p.parent for p in RECORDINGS if _backend(p) == backend}
    assert folders, f"no recordings under fixtures/{backend}: run the live suite with --record-fixtures"
    for folder in folders:
        # The real nerdctl recordings were made before job_output existed (and cannot be re-made here).
        expected = NERDCTL_2_1_6_SCENARIOS if REAL_NERDCTL in folder.parents else set(SCENARIOS)
        assert {p.stem for p in folder.glob("*.json")} == set(expected), folder


def test_real_nerdctl_recordings_replay_on_both_daemons_and_no_composed_2x_ones_are_left():
    real = {p.parent.name for p in RECORDINGS if REAL_NERDCTL in p.parents}
    assert real == {"containerd-1.6.20~ds1", "containerd-2.1.9+unknown"}
    composed = {p.parent.name for p in RECORDINGS if _backend(p) == "nerdctl" and REAL_NERDCTL not in p.parents}
    assert composed == {"composed-v1"}  # nerdctl 1.x shapes: nothing real replaces them yet
    assert (FIXTURES / "nerdctl" / "README.md").is_file()


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: str(p.relative_to(FIXTURES).with_suffix("")))
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
