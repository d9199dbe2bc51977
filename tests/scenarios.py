"""Scenarios that run the whole tracker, live or from a recording.

Each scenario drives a tracker and asserts what a user would see. The live
suite runs them against the test daemon (and records them into
``fixtures/ctr/<containerd version>/`` with ``--record-fixtures``); the
offline suite replays every recording through the same function, so the
parsers and the state mapping are checked against what real ctr printed.
Assertions here must hold in both modes: nothing about the local clock or
files containerd itself writes. The files a job wrote are fair game: a
recording keeps them and the replay writes them back (``job_output``).
"""
from __future__ import annotations

import json
from typing import Callable

import pytest

from containerd_tracker_cli import (
    ContainerdJobTracker,
    DrmaaTimeoutError,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    JobState,
    JobTemplate,
)

from .support import BUSYBOX

Scenario = Callable[[ContainerdJobTracker], None]


def _job(*command: str, **fields: object) -> JobTemplate:
    return JobTemplate(job_category=BUSYBOX, remote_command=command[0], args=list(command[1:]), **fields)


#: How long the lifecycle job runs: long enough to be read running first.
#: Recordings (and the real nerdctl ones) hold 1 s; a live run through a slow
#: stand-in CLI under load may ask for more (tests/live/test_nerdctl_shapes.py).
LIFECYCLE_SECONDS = 1


def lifecycle(tracker: ContainerdJobTracker) -> None:
    job_id = tracker.add_job(_job("sh", "-c", f"sleep {LIFECYCLE_SECONDS}; exit 3", job_name="life"))
    assert tracker.list_jobs() == [job_id]
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    with pytest.raises(InvalidStateError):
        tracker.delete_job(job_id)
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id) == (JobState.FAILED, "stopped")
    info = tracker.job_info(job_id)
    assert info.exit_status == 3 and info.finish_time is not None
    assert info.extension.extension_list["command_line"] == f"sh -c 'sleep {LIFECYCLE_SECONDS}; exit 3'"
    assert tracker.job_template(job_id).job_name == "life"
    tracker.delete_job(job_id)
    assert tracker.list_jobs() == []
    with pytest.raises(JobNotFoundError):
        tracker.job_state(job_id)


def suspend_resume_terminate(tracker: ContainerdJobTracker) -> None:
    job_id = tracker.add_job(_job("sleep", "300"))
    tracker.job_control(job_id, "suspend")
    assert tracker.job_state(job_id) == (JobState.SUSPENDED, "paused")
    tracker.job_control(job_id, "resume")
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    tracker.job_control(job_id, "terminate")  # sleep ignores SIGTERM: SIGKILL after the grace
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.terminating_signal) == (JobState.FAILED, 137, "SIGKILL")


def array_job(tracker: ContainerdJobTracker) -> None:
    # max_parallel 3 >= 3 tasks: all start at once. A throttled array has a driver
    # process, which no recording of this one can replay: tests/live/test_throttled_arrays.py.
    array_id = tracker.add_array_job(_job("sh", "-c", "exit $TASK_ID"), 0, 2, 1, 3)
    ids = json.loads(array_id)
    assert tracker.list_array_jobs(array_id) == ids
    for job_id in ids:
        tracker.wait(job_id, 30)
    assert [tracker.job_info(i).exit_status for i in ids] == [0, 1, 2]
    assert [tracker.job_state(i)[0] for i in ids] == [JobState.DONE, JobState.FAILED, JobState.FAILED]
    assert sorted(tracker.list_jobs()) == sorted(ids)


def wait_timeout(tracker: ContainerdJobTracker) -> None:
    job_id = tracker.add_job(_job("sleep", "300"))
    with pytest.raises(DrmaaTimeoutError):
        tracker.wait(job_id, 2.0, JobState.DONE)  # margin: replay must reach the same read
    tracker.wait(job_id, 5, JobState.RUNNING)


def failed_submission(tracker: ContainerdJobTracker) -> None:
    with pytest.raises(InvalidArgumentError, match="could not be started"):
        tracker.add_job(_job("no-such-program"))
    assert tracker.list_jobs() == []
    assert BUSYBOX in tracker.list_job_categories()


def held_job(tracker: ContainerdJobTracker) -> None:
    """A container without a task: nerdctl prints State null (1.x) or Status "" (2.x)."""
    job_id = tracker.add_job(_job("sh", "-c", "exit 0", submit_as_hold=True))
    assert tracker.job_state(job_id) == (JobState.QUEUED_HELD, "held")
    assert tracker.job_info(job_id).exit_status is None
    tracker.job_control(job_id, "release")
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id)[0] == JobState.DONE
    tracker.delete_job(job_id)


def job_output(tracker: ContainerdJobTracker) -> None:
    """What jobs wrote is in their files once they are seen ended: stdout and
    stderr apart, and each task of an array in its own file."""
    folder = tracker.state.root / "job-output"
    folder.mkdir(parents=True, exist_ok=True)
    job_id = tracker.add_job(_job("sh", "-c", "echo out; echo err >&2; exit 2",
                                  output_path=str(folder / "job.out"), error_path=str(folder / "job.err")))
    tracker.wait(job_id, 30)
    assert ((folder / "job.out").read_text(), (folder / "job.err").read_text()) == ("out\n", "err\n")
    array_id = tracker.add_array_job(_job("sh", "-c", "echo task $TASK_ID", output_path=str(
        folder / "task-$DRMAA2_INDEX$.out")), 1, 2, 1, 2)
    for task in json.loads(array_id):
        tracker.wait(task, 30)
    assert [(folder / f"task-{i}.out").read_text() for i in (1, 2)] == ["task 1\n", "task 2\n"]


SCENARIOS: dict[str, Scenario] = {
    "held_job": held_job,
    "lifecycle": lifecycle,
    "suspend_resume_terminate": suspend_resume_terminate,
    "array_job": array_job,
    "wait_timeout": wait_timeout,
    "failed_submission": failed_submission,
    "job_output": job_output,
}
#: The scenarios the real nerdctl 2.1.6 recordings were made with (before job_output).
NERDCTL_2_1_6_SCENARIOS = frozenset(SCENARIOS) - {"job_output"}


def tracker_for(name: str, session: str | None = None, **kwargs: object) -> ContainerdJobTracker:
    # A fixed owner: the recording must not depend on who records or replays it.
    return ContainerdJobTracker(session or f"scenario-{name}", terminate_grace=1.0, job_owner="scenario-owner",
                                **kwargs)  # type: ignore[arg-type]


def placeholders(address: str, state_dir: str) -> dict[str, str]:
    """Machine-specific strings a recording stores as <<name>>: the socket,
    the daemon's own directory (its paths show in inspect and events), the
    tracker's state directory."""
    import os

    return {"address": address, "daemon_dir": os.path.dirname(address.removeprefix("unix://")),
            "state_dir": state_dir}
