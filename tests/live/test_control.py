"""job_control: suspend, resume, terminate, hold, release."""
from __future__ import annotations

from pathlib import Path

import pytest

from containerd_tracker_cli import InvalidArgumentError, InvalidStateError, JobNotFoundError, JobState

from .helpers import output_of, run_to_end, submit, template, wait_until


def test_suspend_and_resume(tracker):
    job_id = submit(tracker, "sleep", "30")
    tracker.job_control(job_id, "suspend")
    assert tracker.job_state(job_id)[0] == JobState.SUSPENDED
    tracker.job_control(job_id, "resume")
    assert tracker.job_state(job_id)[0] == JobState.RUNNING


def _trapping(tmp_path, on_term: str) -> tuple[dict, Path]:
    """A job that installs a SIGTERM trap, then says so with a file in a
    folder the test sees (``ready``), then idles."""
    shared = tmp_path / "shared"
    shared.mkdir()
    script = f"trap '{on_term}' TERM; touch /shared/ready; while true; do sleep 0.1; done"
    return {"remote_command": "sh", "args": ["-c", script], "stage_in_files": {str(shared): "/shared"}}, shared


def test_terminate_a_job_that_handles_sigterm(make_tracker, tmp_path):
    # A long grace costs nothing here (terminate returns once the job ends) and a loaded machine
    # cannot turn it into a SIGKILL before the trap ran.
    tracker = make_tracker(terminate_grace=30.0)
    fields, shared = _trapping(tmp_path, "echo got TERM; exit 0")
    job_id = tracker.add_job(template(**fields))
    wait_until(lambda: (shared / "ready").exists(), 30, "the job did not report its SIGTERM trap installed")
    tracker.job_control(job_id, "terminate")
    # SIGTERM ended it: its trap ran and chose the status; a SIGKILL would have given 137.
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.terminating_signal) == (JobState.DONE, 0, None)
    assert output_of(tracker, job_id) == "got TERM\n"


def test_terminate_a_job_that_ignores_sigterm_ends_it_with_sigkill(make_tracker, tmp_path):
    tracker = make_tracker(terminate_grace=5.0)  # time enough for its trap to run on a loaded machine
    fields, shared = _trapping(tmp_path, "touch /shared/got-term")
    job_id = tracker.add_job(template(**fields))
    wait_until(lambda: (shared / "ready").exists(), 30, "the job did not report its SIGTERM trap installed")
    tracker.job_control(job_id, "terminate")
    # It was asked first, with time to act on it (its trap ran), and survived; then SIGKILL ended it.
    assert (shared / "got-term").exists(), "the job never got a SIGTERM it could act on before SIGKILL"
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.terminating_signal) == (JobState.FAILED, 137, "SIGKILL")


def test_terminate_a_pid1_that_ignores_sigterm_ends_it_with_sigkill(tracker):
    job_id = submit(tracker, "sleep", "300")  # sleep as PID 1 ignores SIGTERM
    tracker.job_control(job_id, "terminate")
    info = tracker.job_info(job_id)
    assert info.state == JobState.FAILED
    assert info.exit_status == 137
    assert info.terminating_signal == "SIGKILL"


def test_terminate_a_suspended_job(tracker):
    job_id = submit(tracker, "sleep", "300")  # sleep as PID 1 ignores SIGTERM
    tracker.job_control(job_id, "suspend")
    tracker.job_control(job_id, "terminate")
    # Resumed, asked with SIGTERM (ignored by PID 1), then killed after the grace.
    info = tracker.job_info(job_id)
    assert (info.state, info.sub_state) == (JobState.FAILED, "stopped")
    assert info.exit_status == 137
    assert info.terminating_signal == "SIGKILL"
    assert info.finish_time is not None


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
