"""The runner: real processes, recorded and replayed."""
from __future__ import annotations

import pytest

from containerd_tracker_cli.runner import (
    Cassette,
    CommandNotFound,
    CommandTimeout,
    LiveRunner,
    RecordingRunner,
    ReplayMismatch,
    ReplayRunner,
    StreamClosed,
)


def test_live_run_returns_exit_code_and_both_streams():
    done = LiveRunner().run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (done.exit_code, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_live_output_is_not_a_terminal():
    done = LiveRunner().run(["sh", "-c", "[ -t 1 ] && echo tty || echo pipe"], timeout=10)
    assert done.stdout == "pipe\n"


def test_live_stdin_and_arguments_are_passed_verbatim():
    done = LiveRunner().run(["sh", "-c", 'cat; printf "%s|" "$@"', "sh", "a b", "$HOME", ";"], timeout=10,
                            stdin="in\n")
    assert done.stdout == "in\na b|$HOME|;|"


def test_live_timeout_kills_the_process():
    with pytest.raises(CommandTimeout, match="no answer within 0.5 s"):
        LiveRunner().run(["sleep", "30"], timeout=0.5)


def test_missing_executable():
    with pytest.raises(CommandNotFound):
        LiveRunner().run(["definitely-not-installed-here"], timeout=5)


def _gated(before: str, gate, after: str) -> str:
    """A shell script that prints ``before``, then waits for the file
    ``gate`` to exist, then runs ``after``: nothing of ``after`` can come
    before the test creates the file, however the machine schedules things."""
    return f'{before}; while [ ! -e "{gate}" ]; do sleep 0.01; done; {after}'


def test_live_stream_lines_timeouts_and_end(tmp_path):
    gate = tmp_path / "go"
    script = _gated("echo one", gate, "echo two; echo bad >&2; exit 4")
    with LiveRunner().stream(["sh", "-c", script]) as stream:
        assert stream.readline(5) == "one"
        assert stream.readline(0.05) is None  # "two" cannot have been printed: the gate is closed
        gate.touch()
        assert stream.readline(5) == "two"
        with pytest.raises(StreamClosed) as closed:
            stream.readline(5)
        assert closed.value.exit_code == 4 and "bad" in closed.value.stderr


def test_closing_a_stream_stops_its_process():
    stream = LiveRunner().stream(["sleep", "30"])
    stream.close()
    stream.close()  # twice is fine
    with pytest.raises(StreamClosed):
        stream.readline(5)


def test_record_then_replay_gives_the_same_answers_without_processes(tmp_path):
    cassette = Cassette(tmp_path / "c.json")
    recorder = RecordingRunner(LiveRunner(), cassette, {"dir": str(tmp_path)})
    first = recorder.run(["sh", "-c", f"echo {tmp_path}/x; exit 2"], timeout=10)
    token = recorder.unique_token()
    gate = tmp_path / "go"
    with recorder.stream(["sh", "-c", _gated("echo a", gate, "echo b")]) as stream:
        lines = [stream.readline(5), stream.readline(0.05)]  # "b" waits for the gate: a timeout
        gate.touch()
        lines.append(stream.readline(5))
        with pytest.raises(StreamClosed):
            stream.readline(5)
    assert lines == ["a", None, "b"]
    assert str(tmp_path) not in cassette.path.read_text()  # stored as <<dir>>

    replay = ReplayRunner(Cassette.load(cassette.path), {"dir": "/elsewhere"})
    again = replay.run(["sh", "-c", "echo /elsewhere/x; exit 2"], timeout=10)
    assert (again.exit_code, again.stdout) == (first.exit_code, "/elsewhere/x\n")
    assert replay.unique_token() == token
    stream = replay.stream(["sh", "-c", _gated("echo a", "/elsewhere/go", "echo b")])  # the path as a placeholder
    assert [stream.readline(5), stream.readline(0.01), stream.readline(5)] == lines
    with pytest.raises(StreamClosed):
        stream.readline(5)
    assert replay.remaining == 0
    with pytest.raises(ReplayMismatch, match="exhausted"):
        replay.run(["true"], timeout=1)


def test_replay_names_the_first_difference(tmp_path):
    cassette = Cassette(tmp_path / "c.json")
    RecordingRunner(LiveRunner(), cassette).run(["echo", "a", "b"], timeout=5)
    replay = ReplayRunner(Cassette.load(cassette.path))
    with pytest.raises(ReplayMismatch) as caught:
        replay.run(["echo", "a", "c"], timeout=5)
    assert "arg 2: recorded 'b', now 'c'" in str(caught.value)
    assert str(cassette.path) in str(caught.value)


def test_a_corrupt_recording_is_reported_not_ignored(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{ not json")
    with pytest.raises(ReplayMismatch, match="unreadable"):
        Cassette.load(path)


def test_placeholders_reach_url_encoded_paths_and_base64_json(tmp_path):
    import base64
    import json
    from urllib.parse import quote

    from containerd_tracker_cli.runner.placeholders import Placeholders

    machine = "/tmp/run 42/state"
    template = base64.b64encode(json.dumps({"outputPath": machine + "/out"}).encode()).decode()
    text = f"binary:///x?stdout={quote(machine, safe='')}%2Fo jobTemplate={template} {machine}/f"
    hidden = Placeholders({"state_dir": machine}).hide(text)
    assert machine not in hidden and quote(machine, safe="") not in hidden
    assert '<<base64:{"outputPath": "<<state_dir>>/out"}:base64>>' in hidden
    elsewhere = "/srv/other"
    again = Placeholders({"state_dir": elsewhere}).expand(hidden)
    expected_template = base64.b64encode(json.dumps({"outputPath": elsewhere + "/out"}).encode()).decode()
    assert again == f"binary:///x?stdout={quote(elsewhere, safe='')}%2Fo jobTemplate={expected_template} {elsewhere}/f"


def test_the_environment_bounds_the_calls_run_at_once(monkeypatch):
    from containerd_tracker_cli import ContainerdJobTracker, InvalidArgumentError
    from containerd_tracker_cli.runner.live import LiveRunner

    monkeypatch.setenv("CONTAINERD_TRACKER_CONCURRENCY", "2")
    assert LiveRunner().concurrency == 2
    assert LiveRunner(concurrency=5).concurrency == 5  # the caller's choice wins
    monkeypatch.delenv("CONTAINERD_TRACKER_CONCURRENCY")
    assert LiveRunner().concurrency == 8
    for bad in ("0", "-1", "many", "2.5", "²"):
        monkeypatch.setenv("CONTAINERD_TRACKER_CONCURRENCY", bad)
        with pytest.raises(InvalidArgumentError, match="CONTAINERD_TRACKER_CONCURRENCY"):
            ContainerdJobTracker("s", backend="ctr", address="/nowhere.sock")


def _calls_in_a_pool(stop_at_error: bool, count: int, concurrency: int = 2) \
        -> tuple[list[int], list[int], int, BaseException | None]:
    """``count`` calls of 100 ms, ``concurrency`` at a time; the fourth fails
    once the first three ended (one at a time: at once). (started, ended,
    successes counted by ``done``, the error raised)."""
    import threading
    import time

    from containerd_tracker_cli.runner.live import LiveRunner

    runner = LiveRunner(concurrency=concurrency)
    started: list[int] = []
    ended: list[int] = []
    lock = threading.Lock()
    three_ended = threading.Event()
    successes = 0

    def call(item: int) -> int:
        with lock:
            started.append(item)
        if item == 3:
            three_ended.wait(10 if concurrency > 1 else 0)
            raise ValueError("item 3 failed")
        time.sleep(0.1 if concurrency > 1 else 0)
        with lock:
            ended.append(item)
            if {0, 1, 2} <= set(ended):
                three_ended.set()
        return item * 10

    def done() -> None:
        nonlocal successes
        successes += 1

    try:
        runner.each(call, range(count), stop_at_error=stop_at_error, done=done)
    except ValueError as exc:
        return started, ended, successes, exc
    return started, ended, successes, None


def test_each_stops_starting_calls_at_the_first_error_when_asked():
    """What an array submission needs: a failure part-way starts no more
    tasks, and every call under way has ended when the error is raised."""
    started, ended, _, error = _calls_in_a_pool(stop_at_error=True, count=40)
    assert str(error) == "item 3 failed"
    assert len(started) < 40, started  # the rest (1.8 s of calls more, two at a time) was never started
    assert sorted(ended) == sorted(set(started) - {3})  # nothing still running


def test_each_otherwise_runs_every_call_then_raises_the_first_error():
    started, ended, successes, error = _calls_in_a_pool(stop_at_error=False, count=10)
    assert str(error) == "item 3 failed"
    assert sorted(started) == list(range(10))
    assert successes == 9 == len(ended)


def test_one_at_a_time_each_keeps_the_same_promises():
    """What a recording or replay runs (concurrency 1): it stops only when
    asked, and counts each success."""
    started, ended, _, error = _calls_in_a_pool(stop_at_error=True, count=10, concurrency=1)
    assert (str(error), started, ended) == ("item 3 failed", [0, 1, 2, 3], [0, 1, 2])
    started, ended, successes, error = _calls_in_a_pool(stop_at_error=False, count=10, concurrency=1)
    assert (str(error), started, successes) == ("item 3 failed", list(range(10)), 9)
