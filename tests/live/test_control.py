"""job_control: suspend, resume, terminate, hold, release."""
from __future__ import annotations

import time

import pytest

from containerd_tracker_cli import InvalidArgumentError, InvalidStateError, JobNotFoundError, JobState

from .helpers import output_of, run_to_end, submit


def test_suspend_and_resume(tracker):
    job_id = submit(tracker, "sleep", "30")
    tracker.job_control(job_id, "suspend")
    assert tracker.job_state(job_id)[0] == JobState.SUSPENDED
    tracker.job_control(job_id, "resume")
    assert tracker.job_state(job_id)[0] == JobState.RUNNING


def test_terminate_a_job_that_handles_sigterm(tracker):
    job_id = submit(tracker, "sh", "-c", "trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done")
    time.sleep(0.5)  # let the shell install its trap
    started = time.monotonic()
    tracker.job_control(job_id, "terminate")
    assert time.monotonic() - started < tracker.terminate_grace
    assert tracker.job_state(job_id)[0] == JobState.DONE
    assert output_of(tracker, job_id) == "got TERM\n"


def test_terminate_a_pid1_that_ignores_sigterm_ends_it_with_sigkill(tracker):
    job_id = submit(tracker, "sleep", "300")  # sleep as PID 1 ignores SIGTERM
    started = time.monotonic()
    tracker.job_control(job_id, "terminate")
    assert time.monotonic() - started >= tracker.terminate_grace
    info = tracker.job_info(job_id)
    assert info.state == JobState.FAILED
    assert info.exit_status == 137
    assert info.terminating_signal == "SIGKILL"


def test_terminate_a_suspended_job(tracker):
    job_id = submit(tracker, "sleep", "300")
    tracker.job_control(job_id, "suspend")
    tracker.job_control(job_id, "terminate")
    assert tracker.job_state(job_id)[0] == JobState.FAILED


def test_controls_the_state_does_not_allow_are_invalid_state(tracker):
    running = submit(tracker, "sleep", "30")
    with pytest.raises(InvalidStateError):
        tracker.job_control(running, "resume")
    with pytest.raises(InvalidStateError):
        tracker.job_control(running, "release")
    with pytest.raises(InvalidStateError):
        tracker.job_control(running, "hold")
    finished = run_to_end(tracker, "true")
    for action in ("suspend", "resume", "terminate"):
        with pytest.raises(InvalidStateError):
            tracker.job_control(finished, action)


def test_unknown_action_is_an_invalid_argument(tracker):
    job_id = submit(tracker, "sleep", "30")
    with pytest.raises(InvalidArgumentError, match="unknown job control action"):
        tracker.job_control(job_id, "explode")
    with pytest.raises(JobNotFoundError):
        tracker.job_control("no-such-job", "suspend")


def test_submit_as_hold_then_release(tracker, raw):
    job_id = submit(tracker, "sh", "-c", "echo released", submit_as_hold=True)
    assert tracker.job_state(job_id) == (JobState.QUEUED_HELD, "held")
    assert not raw.running(job_id)
    tracker.job_control(job_id, "release")
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id)[0] == JobState.DONE
    assert output_of(tracker, job_id) == "released\n"


def test_terminate_a_held_job_fails_it_without_running(tracker, raw):
    job_id = submit(tracker, "sh", "-c", "echo never", submit_as_hold=True)
    tracker.job_control(job_id, "terminate")
    info = tracker.job_info(job_id)
    assert info.state == JobState.FAILED
    assert info.terminating_signal == "SIGTERM"
    assert output_of(tracker, job_id) == ""
    tracker.delete_job(job_id)
    assert job_id not in raw.containers()
