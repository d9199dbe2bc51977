"""wait: events, not polling; timeouts; never missing an earlier change."""
from __future__ import annotations

import time

import pytest

from containerd_tracker_cli import DrmaaTimeoutError, InvalidStateError, JobState

from .helpers import run_to_end, submit


def test_wait_for_done(tracker):
    job_id = submit(tracker, "sh", "-c", "sleep 1")
    started = time.monotonic()
    tracker.wait(job_id, 30, JobState.DONE, JobState.FAILED)
    assert tracker.job_state(job_id)[0] == JobState.DONE
    assert time.monotonic() - started >= 0.9


def test_wait_without_states_waits_for_the_end(tracker):
    job_id = submit(tracker, "sh", "-c", "sleep 0.5; exit 2")
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id)[0] == JobState.FAILED


def test_wait_for_running_returns_while_it_runs(tracker):
    job_id = submit(tracker, "sleep", "30")
    tracker.wait(job_id, 10, JobState.RUNNING)
    assert tracker.job_state(job_id)[0] == JobState.RUNNING


def test_wait_sees_suspension_by_another_tracker(tracker, make_tracker):
    job_id = submit(tracker, "sleep", "30")
    other = make_tracker(tracker.session_name)
    import threading

    timer = threading.Timer(0.5, other.job_control, args=(job_id, "suspend"))
    timer.start()
    try:
        tracker.wait(job_id, 10, JobState.SUSPENDED)
    finally:
        timer.join()
    assert tracker.job_state(job_id)[0] == JobState.SUSPENDED


def test_timeout_raises_a_drmaa_timeout_that_is_a_timeout_error(tracker):
    job_id = submit(tracker, "sleep", "30")
    started = time.monotonic()
    with pytest.raises(DrmaaTimeoutError) as caught:
        tracker.wait(job_id, 1.0, JobState.DONE)
    assert isinstance(caught.value, TimeoutError)
    assert 0.9 <= time.monotonic() - started < 10


def test_timeout_zero_checks_once(tracker):
    job_id = submit(tracker, "sleep", "30")
    with pytest.raises(DrmaaTimeoutError):
        tracker.wait(job_id, 0, JobState.DONE)
    tracker.wait(job_id, 0, JobState.RUNNING)  # already true: returns at once


def test_a_change_before_the_wait_began_is_not_missed(tracker):
    job_id = submit(tracker, "true")
    time.sleep(1)  # the job is long over before we wait
    tracker.wait(job_id, 5, JobState.DONE)


def test_waiting_for_a_state_an_ended_job_will_never_reach(tracker):
    job_id = run_to_end(tracker, "true")
    with pytest.raises(InvalidStateError, match="will never be Running"):
        tracker.wait(job_id, 5, JobState.RUNNING)
