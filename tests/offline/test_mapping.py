"""The seed's state mapping, and the control table, in one place."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from containerd_tracker_cli import JobState
from containerd_tracker_cli.backends.models import TaskRecord, TaskStatus
from containerd_tracker_cli.tracker.labels import ExitRecord
from containerd_tracker_cli.tracker.mapping import ALLOWED_STATES, Observation, map_state

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def task(status: TaskStatus, exit_status: int | None = None) -> TaskRecord:
    return TaskRecord(container_id="c", pid=1, status=status, exit_status=exit_status)


@pytest.mark.parametrize(
    "obs, expected",
    [
        (Observation(task(TaskStatus.CREATED), None), (JobState.QUEUED, "created")),
        (Observation(task(TaskStatus.RUNNING), None), (JobState.RUNNING, "running")),
        (Observation(task(TaskStatus.PAUSING), None), (JobState.RUNNING, "pausing")),
        (Observation(task(TaskStatus.PAUSED), None), (JobState.SUSPENDED, "paused")),
        (Observation(task(TaskStatus.STOPPED, 0), None), (JobState.DONE, "stopped")),
        (Observation(task(TaskStatus.STOPPED, 1), None), (JobState.FAILED, "stopped")),
        (Observation(task(TaskStatus.STOPPED), None), (JobState.UNDETERMINED, "stopped")),
        (Observation(task(TaskStatus.UNKNOWN), None), (JobState.UNDETERMINED, "unknown")),
        (Observation(None, ExitRecord(0, NOW)), (JobState.DONE, "stopped")),
        (Observation(None, ExitRecord(137, NOW)), (JobState.FAILED, "stopped")),
        (Observation(None, None), (JobState.QUEUED, "no task")),
        (Observation(None, None, held=True), (JobState.QUEUED_HELD, "held")),
        (Observation(None, None, dispatched=True),
         (JobState.UNDETERMINED, "task deleted outside the tracker; exit status unknown")),
    ],
)
def test_state_mapping(obs, expected):
    assert map_state(obs) == expected


def test_control_table():
    assert ALLOWED_STATES["suspend"] == {JobState.RUNNING}
    assert ALLOWED_STATES["resume"] == {JobState.SUSPENDED}
    assert ALLOWED_STATES["hold"] == {JobState.QUEUED}
    assert ALLOWED_STATES["release"] == {JobState.QUEUED_HELD}
    assert JobState.DONE not in ALLOWED_STATES["terminate"]


@pytest.mark.parametrize("status, signal", [(137, "SIGKILL"), (143, "SIGTERM"), (1, None), (0, None), (300, None)])
def test_terminating_signal_from_exit_status(status, signal):
    assert ExitRecord(status, NOW).terminating_signal == signal


def test_exit_record_labels_round_trip():
    record = ExitRecord(143, NOW, 1234, terminated_by="SIGTERM")
    assert ExitRecord.from_labels(record.to_labels()) == record
    assert ExitRecord.from_labels({}) is None
