"""The state mapping and the control table, checked against the seed's
mapping, DRMAA2 and what containerd can do — not against their own text."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from containerd_tracker_cli import JobState
from containerd_tracker_cli.drmaa2.states import TERMINAL_STATES
from containerd_tracker_cli.backends.models import TaskRecord, TaskStatus
from containerd_tracker_cli.records.labels import ExitRecord
from containerd_tracker_cli.tracker.mapping import ALLOWED_STATES, map_state

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def task(status: TaskStatus, exit_status: int | None = None) -> TaskRecord:
    return TaskRecord(container_id="c", pid=1, status=status, exit_status=exit_status)


#: The seed's mapping of a task's containerd status (drmaa2os' containerdtracker,
#: the Go package this one implements); a stopped task is Done
#: with exit status 0, else Failed; every other status is Undetermined.
SEED = {"created": JobState.QUEUED, "running": JobState.RUNNING, "pausing": JobState.RUNNING,
        "paused": JobState.SUSPENDED}
#: DRMAA2's job control actions (drmaa2interface: JobControl's actions).
DRMAA2_ACTIONS = {"terminate", "suspend", "resume", "hold", "release"}
#: Exit statuses a process can have (0..255), tried in full below.
EXIT_STATUSES = range(256)


@pytest.mark.parametrize("status", [s for s in TaskStatus if s != TaskStatus.STOPPED])  # STOPPED: the next test
def test_every_containerd_status_maps_as_the_seed_does_with_the_raw_status_as_sub_state(status):
    """Also a status added to the model later is checked: unnamed by the seed, it is Undetermined."""
    assert map_state(task(status), None) == (SEED.get(status.value, JobState.UNDETERMINED), status.value)


def test_a_stopped_task_is_done_only_with_exit_status_zero():
    for code in EXIT_STATUSES:
        assert map_state(task(TaskStatus.STOPPED, code), None) == (
            JobState.DONE if code == 0 else JobState.FAILED, "stopped"), code
    # Stopped with no status to be had: neither Done nor Failed can be claimed.
    assert map_state(task(TaskStatus.STOPPED), None) == (JobState.UNDETERMINED, "stopped")


def test_harvesting_an_exit_changes_nothing_a_user_sees():
    """The exit is first read from the stopped task, then kept as a record
    while the task is deleted: before, during and after, the job reads alike."""
    for code in EXIT_STATUSES:
        stopped, record = task(TaskStatus.STOPPED, code), ExitRecord(code, NOW)
        before = map_state(stopped, None)
        assert map_state(stopped, record) == before, code
        assert map_state(None, record) == before, code


def test_an_ended_job_never_reads_as_held_queued_or_running_again():
    """A recorded exit is final (DRMAA2: Done and Failed are end states),
    whatever else is seen: a hold mark, a new task, a dispatch."""
    for code in (0, 1, 137):
        record = ExitRecord(code, NOW)
        for stale in (None, task(TaskStatus.CREATED), task(TaskStatus.RUNNING), task(TaskStatus.PAUSED)):
            state, _ = map_state(stale, record, held=True, dispatched=True)
            assert state in TERMINAL_STATES, (code, stale)


def test_a_container_without_a_task_is_waiting_or_held_until_it_was_started():
    assert map_state(None, None)[0] == JobState.QUEUED
    assert map_state(None, None, held=True)[0] == JobState.QUEUED_HELD
    # Started once, then its task vanished unrecorded: its end is unknown, not "queued again".
    assert map_state(None, None, dispatched=True)[0] == JobState.UNDETERMINED


def _allowed(action: str, observed: tuple) -> bool:
    args, kwargs = observed
    return map_state(*args, **kwargs)[0] in ALLOWED_STATES[action]


RUNNING_TASK = ((task(TaskStatus.RUNNING), None), {})
PAUSED_TASK = ((task(TaskStatus.PAUSED), None), {})
CREATED_TASK = ((task(TaskStatus.CREATED), None), {})
QUEUED_CONTAINER = ((None, None), {})
HELD_CONTAINER = ((None, None), {"held": True})
ENDED = [((task(TaskStatus.STOPPED, code), None), {}) for code in (0, 1)] + [
    ((None, ExitRecord(code, NOW)), {}) for code in (0, 143)]


def test_the_actions_are_drmaa2s_and_none_applies_to_an_ended_job():
    assert set(ALLOWED_STATES) == DRMAA2_ACTIONS
    for action in DRMAA2_ACTIONS:
        for ended in ENDED:
            assert not _allowed(action, ended), (action, ended)


def test_each_action_is_allowed_where_containerd_can_carry_it_out():
    """suspend is containerd's pause (of a running task), resume its resume
    (of a paused one); terminate kills any job not yet ended; hold and
    release apply to a container with no task yet, by the hold mark."""
    assert _allowed("suspend", RUNNING_TASK) and not _allowed("suspend", PAUSED_TASK)
    assert _allowed("resume", PAUSED_TASK) and not _allowed("resume", RUNNING_TASK)
    for alive in (RUNNING_TASK, PAUSED_TASK, CREATED_TASK, QUEUED_CONTAINER, HELD_CONTAINER):
        assert _allowed("terminate", alive), alive
    assert _allowed("hold", QUEUED_CONTAINER) and not _allowed("hold", HELD_CONTAINER)
    assert _allowed("release", HELD_CONTAINER) and not _allowed("release", QUEUED_CONTAINER)
    for started in (RUNNING_TASK, PAUSED_TASK):  # too late to hold, nothing to release
        assert not _allowed("hold", started) and not _allowed("release", started)


@pytest.mark.parametrize("status, signal", [(137, "SIGKILL"), (143, "SIGTERM"), (1, None), (0, None), (300, None)])
def test_terminating_signal_from_exit_status(status, signal):
    assert ExitRecord(status, NOW).terminating_signal == signal


def test_exit_record_labels_round_trip():
    record = ExitRecord(143, NOW, 1234, terminated_by="SIGTERM")
    assert ExitRecord.from_labels(record.to_labels()) == record
    assert ExitRecord.from_labels({}) is None
