"""Job arrays with max_parallel: never more tasks at once than allowed, and
completion with nobody watching — the submitter is a one-line CLI command
that exits at once, and the array's driver process does the rest.

How many ran at once is not sampled but reconstructed: each task writes the
host's uptime (containers share the host's clock) when it starts and ends
into its own output file (``$DRMAA2_INDEX$`` in the path), so any overlap
beyond the limit shows, however short."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate

from ..support import BUSYBOX, until

# Uptime with 1/100 s; a task that starts when another ends starts strictly later.
TASK = 'read up _ < /proc/uptime; echo "start $up"; sleep {seconds}; read up _ < /proc/uptime; echo "end $up"'


def submit_with_cli(tracker: ContainerdJobTracker, out_dir: Path, count: int, max_parallel: int,
                    seconds: float) -> list[str]:
    """The one-line CLI submission; the command has exited when this returns."""
    exe = shutil.which("containerd-tracker")
    assert exe, "the console script is not installed (pip install -e .)"
    done = subprocess.run(
        [exe, "--address", tracker.address, "--namespace", tracker.namespace, "--backend", tracker.backend.name,
         "--state-dir", str(tracker.state.root), "--session", tracker.session_name, "--json",
         "array", "1", str(count), "--max-parallel", str(max_parallel), "--image", BUSYBOX,
         "--output", str(out_dir / "task-$DRMAA2_INDEX$.out"), "--", "sh", "-c", TASK.format(seconds=seconds)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["jobs"]


def intervals(out_dir: Path, count: int) -> list[tuple[float, float]]:
    """(start, end) of every task; each must have started exactly once."""
    found = []
    for index in range(1, count + 1):
        lines = (out_dir / f"task-{index}.out").read_text().split("\n")
        starts = [float(line.split()[1]) for line in lines if line.startswith("start ")]
        ends = [float(line.split()[1]) for line in lines if line.startswith("end ")]
        assert len(starts) == 1 and len(ends) == 1, f"task {index} ran {len(starts)} times: {lines}"
        found.append((starts[0], ends[0]))
    return found


def most_at_once(spans: list[tuple[float, float]]) -> int:
    # An end sorts before a start at the same instant: [start, end) intervals.
    points = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda p: (p[0], p[1]))
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    return peak


def kill_driver(tracker: ContainerdJobTracker) -> None:
    """SIGKILL the array's driver once it has said its pid (read once: never a stale one)."""
    pids: list[int | None] = []
    until(lambda: pids.append(tracker.array_drivers()[0]["driver_pid"]) or pids[-1], "the driver said its pid")
    os.kill(int(pids[-1]), signal.SIGKILL)  # type: ignore[arg-type]
    until(lambda: tracker.array_drivers()[0]["driver_pid"] is None, "the driver died")


def driver_starts(tracker: ContainerdJobTracker) -> list[str]:
    logs = list((tracker.state.root / "arrays").glob("*/*/driver.log"))
    return [line for log in logs for line in log.read_text().splitlines() if "driver" in line and "starts" in line]


def test_a_cli_array_honours_max_parallel_and_completes_after_the_submitter_exited(make_tracker, tmp_path):
    tracker = make_tracker()
    ids = submit_with_cli(tracker, tmp_path, count=12, max_parallel=3, seconds=0.6)
    assert len(ids) == 12
    # Nobody watches: only the state directory is read (no CLI call, no tracker
    # call that could start anything) until the driver has started every task.
    until(lambda: [(a["started"], a["driver_pid"]) for a in tracker.array_drivers()] == [(12, None)],
          "the driver started all 12 tasks and ended", timeout=120, interval=0.2)

    for job_id in ids:
        tracker.wait(job_id, 120)
    infos = [tracker.job_info(job_id) for job_id in ids]
    assert [(i.state, i.exit_status) for i in infos] == [(JobState.DONE, 0)] * 12
    assert [i.extension.extension_list["task_id"] for i in infos] == [str(n) for n in range(1, 13)]
    peak = most_at_once(intervals(tmp_path, 12))
    assert peak <= 3, f"{peak} tasks ran at once with max_parallel 3"
    assert peak >= 2, "the array ran one task at a time"
    assert len(driver_starts(tracker)) == 1, "the first driver did not finish the array by itself"
    until(lambda: all(a["driver_pid"] is None for a in tracker.array_drivers()), "the driver ended", timeout=15)


def test_a_killed_driver_is_replaced_and_no_task_starts_twice(make_tracker, tmp_path):
    tracker = make_tracker()
    ids = submit_with_cli(tracker, tmp_path, count=10, max_parallel=2, seconds=0.5)
    kill_driver(tracker)

    # Any tracker call that sees a queued task of the array starts a new driver.
    tracker.job_states(ids)
    for job_id in ids:
        tracker.wait(job_id, 120)
    assert {tracker.job_state(job_id)[0] for job_id in ids} == {JobState.DONE}
    assert most_at_once(intervals(tmp_path, 10)) <= 2
    # Replaced: a second driver ran (a reader may start a third that finds nothing left).
    assert len(driver_starts(tracker)) >= 2


def test_terminating_an_array_cancels_its_queued_tasks(make_tracker, tmp_path):
    tracker = make_tracker()
    ids = submit_with_cli(tracker, tmp_path, count=5, max_parallel=1, seconds=30)
    until(lambda: tracker.job_state(ids[0])[0] == JobState.RUNNING, "the first task runs")
    for job_id in reversed(ids):  # the queued ones first, as an array's terminate does
        tracker.job_control(job_id, "terminate")
    infos = [tracker.job_info(job_id) for job_id in ids]
    assert [i.state for i in infos] == [JobState.FAILED] * 5
    assert [i.terminating_signal for i in infos[1:]] == ["SIGTERM"] * 4
    for index in range(2, 6):  # never started: nothing written
        assert "start" not in (tmp_path / f"task-{index}.out").read_text()
    until(lambda: all(a["driver_pid"] is None for a in tracker.array_drivers()), "the driver ended", timeout=15)


@pytest.mark.backends("ctr")
def test_a_held_task_waits_for_release_then_for_a_slot(make_tracker, tmp_path):
    tracker = make_tracker()
    ids = submit_with_cli(tracker, tmp_path, count=3, max_parallel=1, seconds=2)
    tracker.job_control(ids[2], "hold")  # while the first of its 2 s runs
    tracker.wait(ids[1], 60)
    assert tracker.job_state(ids[2])[0] == JobState.QUEUED_HELD
    until(lambda: tracker.array_drivers()[0]["driver_pid"] is None, "the driver ended with only a held task left")
    tracker.job_control(ids[2], "release")  # starts a driver again
    tracker.wait(ids[2], 60)
    assert tracker.job_info(ids[2]).exit_status == 0
    assert most_at_once(intervals(tmp_path, 3)) == 1


@pytest.mark.scale
@pytest.mark.backends("ctr", "docker")
def test_a_thousand_task_cli_array_outlives_its_killed_driver(make_tracker, tmp_path):
    tracker = make_tracker()
    ids = submit_with_cli(tracker, tmp_path, count=1000, max_parallel=4, seconds=0.1)
    kill_driver(tracker)
    started = tracker.array_drivers()[0]["started"]
    assert started < 1000, "the array was done before its driver could be killed"

    tracker.job_state(ids[-1])  # queued: this call starts a new driver
    until(lambda: tracker.array_drivers()[0]["started"] == 1000 and tracker.array_drivers()[0]["driver_pid"] is None,
          "the new driver started every task and ended", timeout=900, interval=1.0)
    states = tracker.job_states(ids)
    assert {state for state, _ in states.values()} == {JobState.DONE}
    assert most_at_once(intervals(tmp_path, 1000)) <= 4
    assert len(driver_starts(tracker)) >= 2


def test_an_array_submitted_held_starts_its_tasks_as_they_are_released(make_tracker, tmp_path):
    tracker = make_tracker()
    exe = shutil.which("containerd-tracker")
    done = subprocess.run(
        [exe, f"--address={tracker.address}", f"--backend={tracker.backend.name}", f"--state-dir={tracker.state.root}",
         f"--session={tracker.session_name}", "--json", "array", "1", "3", "--max-parallel", "1", "--hold",
         "--image", BUSYBOX, "--output", str(tmp_path / "task-$DRMAA2_INDEX$.out"), "--",
         "sh", "-c", TASK.format(seconds=0.3)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)["jobs"]
    assert {state for state, _ in tracker.job_states(ids).values()} == {JobState.QUEUED_HELD}
    until(lambda: tracker.array_drivers()[0]["driver_pid"] is None, "no driver while every task is held")
    tracker.job_control(ids[2], "release")  # the last one first: released order, not index order
    tracker.wait(ids[2], 60)
    assert [tracker.job_state(i)[0] for i in ids] == [JobState.QUEUED_HELD, JobState.QUEUED_HELD, JobState.DONE]
    for job_id in ids[:2]:
        tracker.job_control(job_id, "release")
    for job_id in ids:
        tracker.wait(job_id, 60)
    assert [tracker.job_info(i).exit_status for i in ids] == [0, 0, 0]
    assert most_at_once(intervals(tmp_path, 3)) == 1


@pytest.mark.backends("ctr")  # only ctr lets a test remove a queued task's snapshot
def test_a_task_that_cannot_start_is_tried_again_then_recorded_failed(make_tracker, raw):
    """Not its program: its root filesystem is gone (a real refusal of
    containerd). The driver tries again a few times, then records it Failed
    (126); the tasks after it still run."""
    tracker = make_tracker()
    template = JobTemplate(job_category=BUSYBOX, remote_command="sh",
                           args=["-c", '[ "$TASK_ID" = 1 ] && sleep 2; true'])
    first, broken, last = json.loads(tracker.add_array_job(template, 1, 3, 1, 1))
    raw("snapshots", "remove", broken)  # while the first task holds the only slot
    tracker.wait(broken, 60)
    assert tracker.job_state(broken)[0] == JobState.FAILED
    assert tracker.job_info(broken).exit_status == 126
    tracker.wait(last, 60)
    assert tracker.job_info(last).exit_status == 0
    assert tracker.job_info(first).exit_status == 0
