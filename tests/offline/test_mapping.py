"""The seed's state mapping, and the control table, in one place."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from containerd_tracker_cli import JobState
from containerd_tracker_cli.backends.models import TaskRecord, TaskStatus
from containerd_tracker_cli.records.labels import ExitRecord
from containerd_tracker_cli.tracker.mapping import ALLOWED_STATES, map_state

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def task(status: TaskStatus, exit_status: int | None = None) -> TaskRecord:
    return TaskRecord(container_id="c", pid=1, status=status, exit_status=exit_status)


def _obs(task, exit, **flags):
    return (task, exit), flags


@pytest.mark.parametrize(
    "obs, expected",
    [
        (_obs(task(TaskStatus.CREATED), None), (JobState.QUEUED, "created")),
        (_obs(task(TaskStatus.RUNNING), None), (JobState.RUNNING, "running")),
        (_obs(task(TaskStatus.PAUSING), None), (JobState.RUNNING, "pausing")),
        (_obs(task(TaskStatus.PAUSED), None), (JobState.SUSPENDED, "paused")),
        (_obs(task(TaskStatus.STOPPED, 0), None), (JobState.DONE, "stopped")),
        (_obs(task(TaskStatus.STOPPED, 1), None), (JobState.FAILED, "stopped")),
        (_obs(task(TaskStatus.STOPPED), None), (JobState.UNDETERMINED, "stopped")),
        (_obs(task(TaskStatus.UNKNOWN), None), (JobState.UNDETERMINED, "unknown")),
        (_obs(None, ExitRecord(0, NOW)), (JobState.DONE, "stopped")),
        (_obs(None, ExitRecord(137, NOW)), (JobState.FAILED, "stopped")),
        (_obs(None, None), (JobState.QUEUED, "no task")),
        (_obs(None, None, held=True), (JobState.QUEUED_HELD, "held")),
        (_obs(None, None, dispatched=True),
         (JobState.UNDETERMINED, "task deleted outside the tracker; exit status unknown")),
    ],
)
def test_state_mapping(obs, expected):
    args, kwargs = obs
    assert map_state(*args, **kwargs) == expected


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
