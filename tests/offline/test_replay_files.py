"""Recordings keep what jobs wrote, and replay does not sleep through waits."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette, LiveRunner, RecordingRunner, ReplayMismatch, ReplayRunner
from containerd_tracker_cli.runner import cassette as cassette_module
from containerd_tracker_cli.runner.cassette import RecordingError

BINARY = bytes(range(256)) * 3 + b"\xff\xfe\x00 no UTF-8 here"


def _record(tmp_path: Path, where: Path, files: dict[str, bytes]) -> Cassette:
    """Record one job's end with these files (named under ``where``)."""
    cassette = Cassette(tmp_path / "c.json")
    recorder = RecordingRunner(LiveRunner(), cassette, {"tmp_path": str(where)})
    for name, data in files.items():
        (where / name).write_bytes(data)
    recorder.settled("job-1", lambda: [str(where / name) for name in files] + [str(where / "never-written")])
    recorder.settled("job-1", lambda: [str(where / name) for name in files])  # seen ended again: kept once
    return Cassette.load(cassette.path)


def test_output_files_round_trip_to_another_machines_paths(tmp_path):
    recorded_at, replayed_at = tmp_path / "rec", tmp_path / "play"
    recorded_at.mkdir()
    replayed_at.mkdir()
    large = b"0123456789abcdef\n" * (3 * 1024 * 1024 // 17)  # over 2 MiB
    text = f"out: wrote {recorded_at}/data\n".encode()
    cassette = _record(tmp_path, recorded_at, {"job.out": text, "job.err": BINARY, "big.out": large})

    kept = [item for item in cassette.interactions if item["kind"] == "files"]
    assert len(kept) == 1 and kept[0]["job"] == "job-1"
    assert str(recorded_at) not in json.dumps(cassette.interactions)  # placeholders, not machine paths

    replay = ReplayRunner(cassette, {"tmp_path": str(replayed_at)})
    files = [str(replayed_at / n) for n in ("job.out", "job.err", "big.out", "never-written")]
    replay.settled("job-1", lambda: files)
    assert (replayed_at / "job.out").read_bytes() == f"out: wrote {replayed_at}/data\n".encode()
    assert (replayed_at / "job.err").read_bytes() == BINARY
    assert (replayed_at / "big.out").read_bytes() == large
    assert not (replayed_at / "never-written").exists()
    assert replay.remaining == 0
    replay.settled("job-1", lambda: files)  # a later observation: nothing more is asked of the recording


def test_other_output_files_than_recorded_are_a_mismatch_naming_them(tmp_path):
    (tmp_path / "rec").mkdir()
    cassette = _record(tmp_path, tmp_path / "rec", {"job.out": b"x"})
    replay = ReplayRunner(cassette, {"tmp_path": str(tmp_path / "rec")})
    with pytest.raises(ReplayMismatch, match="elsewhere.out"):
        replay.settled("job-1", lambda: [str(tmp_path / "elsewhere.out")])


def test_a_recording_from_before_files_were_kept_still_replays(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": 1, "meta": {}, "interactions": [
        {"kind": "run", "argv": ["true"], "exit_code": 0, "stdout": "", "stderr": ""}]}))
    replay = ReplayRunner(Cassette.load(path))
    replay.settled("job-1", lambda: [str(tmp_path / "job.out")])  # nothing kept, nothing asked
    assert replay.run(["true"], timeout=1).exit_code == 0
    assert not (tmp_path / "job.out").exists()


def test_an_output_file_too_large_to_keep_fails_the_recording(tmp_path, monkeypatch):
    monkeypatch.setattr(cassette_module, "MAX_KEPT_FILE", 10)
    (tmp_path / "job.out").write_bytes(b"x" * 11)
    recorder = RecordingRunner(LiveRunner(), Cassette(tmp_path / "c.json"))
    with pytest.raises(RecordingError, match="11 bytes"):
        recorder.settled("job-1", lambda: [str(tmp_path / "job.out")])


def _timed_out_once(tmp_path: Path) -> Cassette:
    path = tmp_path / "waited.json"
    path.write_text(json.dumps({"format": 2, "meta": {}, "interactions": [
        {"kind": "stream", "stream": 1, "argv": ["events"]},
        {"kind": "line", "stream": 1, "timeout": 30.0},
        {"kind": "line", "stream": 1, "line": "after"}]}))
    return Cassette.load(path)


def test_a_recorded_timeout_moves_the_replays_clock_instead_of_sleeping(tmp_path):
    replay = ReplayRunner(_timed_out_once(tmp_path))
    before = replay.monotonic()
    stream = replay.stream(["events"])
    assert stream.readline(3600.0) is None  # an hour, recorded as a timeout: not slept through
    assert replay.monotonic() - before >= 3600.0
    assert stream.readline(1.0) == "after"
    replay.sleep(60)
    assert replay.monotonic() - before >= 3660.0


def test_real_time_replay_stays_available(tmp_path, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(cassette_module.time, "sleep", slept.append)
    replay = ReplayRunner(_timed_out_once(tmp_path), realtime=True)
    assert replay.stream(["events"]).readline(0.25) is None
    assert slept == [0.25]
