"""wait: events, not polling; timeouts; never missing an earlier change."""
from __future__ import annotations

import threading

import pytest

from containerd_tracker_cli import DrmaaTimeoutError, InvalidStateError, JobState

from ..support import CountingRunner
from .helpers import ListeningRunner, gated, run_to_end, submit, wait_until


def test_wait_for_done_returns_only_once_the_job_has_ended(tracker, tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    # It runs until the test opens the gate, then works a little and leaves a mark as its last act.
    job_id = submit(tracker, *gated("/gate", "sleep 0.5", "touch /gate/ended"),
                    stage_in_files={str(gate): "/gate"})
    assert tracker.job_state(job_id)[0] == JobState.RUNNING  # held at the gate: the wait has to wait
    (gate / "open").touch()
    tracker.wait(job_id, 60, JobState.DONE, JobState.FAILED)
    assert (gate / "ended").exists(), "wait returned before the job's last command ran"
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.DONE, 0)
    assert info.finish_time is not None


def test_wait_without_states_waits_for_the_end(tracker):
    job_id = submit(tracker, "sh", "-c", "sleep 0.5; exit 2")
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id)[0] == JobState.FAILED


def test_wait_for_running_returns_while_it_runs(tracker):
    job_id = submit(tracker, "sleep", "30")
    tracker.wait(job_id, 10, JobState.RUNNING)
    assert tracker.job_state(job_id)[0] == JobState.RUNNING


def test_wait_sees_suspension_by_another_tracker_through_its_events(make_tracker, monkeypatch):
    """The suspension comes only once the wait listens on its event stream,
    and the wait's periodic full re-read is put off for an hour: only the
    event can end the wait (its own timeout, 10 minutes, ends in a last read)."""
    from containerd_tracker_cli.tracker import waiting

    monkeypatch.setattr(waiting, "SAFETY_POLL", 3600.0)
    runner = ListeningRunner()
    tracker = make_tracker(runner=runner)
    job_id = submit(tracker, "sleep", "300")
    other = make_tracker(tracker.session_name)
    outcome: list[object] = []

    def waiter() -> None:
        try:
            tracker.wait(job_id, 600, JobState.SUSPENDED)
            outcome.append("returned")
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    wait_until(runner.listening.is_set, 30, "the wait did not start listening on its event stream")
    assert not outcome, f"the wait ended before the job was suspended: {outcome}"
    other.job_control(job_id, "suspend")
    thread.join(120)
    if thread.is_alive():  # end the wait (the job can no longer get there) before failing
        other.job_control(job_id, "terminate")
        thread.join(60)
        raise AssertionError("the wait did not return within 120 s of the suspension: no event reached it")
    assert outcome == ["returned"], outcome
    assert any(job_id in line for line in runner.lines), "no event naming the job came through the stream"
    assert tracker.job_state(job_id)[0] == JobState.SUSPENDED


def test_timeout_raises_a_drmaa_timeout_that_is_a_timeout_error(tracker):
    job_id = submit(tracker, "sleep", "30")
    with pytest.raises(DrmaaTimeoutError, match=rf"job '{job_id}' did not reach Done within 1 s") as caught:
        tracker.wait(job_id, 1.0, JobState.DONE)
    assert isinstance(caught.value, TimeoutError)
    assert tracker.job_state(job_id)[0] == JobState.RUNNING  # the timeout left the job alone


def test_timeout_zero_checks_once(tracker):
    job_id = submit(tracker, "sleep", "30")
    with pytest.raises(DrmaaTimeoutError):
        tracker.wait(job_id, 0, JobState.DONE)
    tracker.wait(job_id, 0, JobState.RUNNING)  # already true: returns at once


def test_a_change_before_the_wait_began_is_not_missed(tracker, raw):
    job_id = submit(tracker, "true")
    wait_until(lambda: raw.stopped(job_id), 30, "the job did not end")  # over before we wait
    tracker.wait(job_id, 5, JobState.DONE)


def test_waiting_for_a_state_an_ended_job_will_never_reach(tracker):
    job_id = run_to_end(tracker, "true")
    with pytest.raises(InvalidStateError, match="will never be Running"):
        tracker.wait(job_id, 5, JobState.RUNNING)


def test_waits_from_many_threads_at_once_share_one_event_subscription(make_tracker, backend_name, tmp_path,
                                                                      monkeypatch):
    """A workflow engine waiting for each job in a thread of its own: one
    event process (and, through ctr, one probe) for all of them, and each
    wait returns as its own job ends, the others waiting on — woken by the
    event another wait read for it (the periodic re-read is put off)."""
    from containerd_tracker_cli.tracker import waiting

    monkeypatch.setattr(waiting, "SAFETY_POLL", 3600.0)
    runner = CountingRunner(concurrency=8)
    tracker = make_tracker(runner=runner)
    gates = tmp_path / "gates"
    jobs = []
    for i in range(4):
        (gates / str(i)).mkdir(parents=True)
        jobs.append(submit(tracker, *gated(f"/gates/{i}", f"exit {i + 1}"), stage_in_files={str(gates): "/gates"}))
    runner.calls.clear()
    returned: list[str] = []
    failures: list[BaseException] = []

    def waiter(job_id: str) -> None:
        try:
            tracker.wait(job_id, 120)
            returned.append(job_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=waiter, args=(job_id,), daemon=True) for job_id in jobs]
    for thread in threads:
        thread.start()
    wait_until(lambda: tracker._events.waits == 4, 60, "the four waits did not all listen")
    for i in range(3):  # the last job keeps the subscription alive throughout
        (gates / str(i) / "open").touch()
        wait_until(lambda: len(returned) == i + 1, 60, f"the wait for job {i} did not return once it ended")
        assert returned[-1] == jobs[i] and not failures, (returned, failures)
    (gates / "3" / "open").touch()
    for thread in threads:
        thread.join(60)
    assert not failures and sorted(returned) == sorted(jobs), failures
    streams = [argv for argv in runner.calls if "events" in argv and "--until" not in argv]  # not docker's OOM query
    # (a probe made before the stream listens is made again: one token per subscription)
    tokens = {arg for argv in runner.calls if "label" in argv for arg in argv if "/probe=" in arg}
    assert len(streams) == 1, streams
    assert len(tokens) <= 1, tokens
    assert [tracker.job_info(job_id).exit_status for job_id in jobs] == [1, 2, 3, 4]
