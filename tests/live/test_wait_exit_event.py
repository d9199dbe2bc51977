"""A wait woken by a job's exit event reads the job straight from its kept
record and its task's shim, without listing the tasks first (that listing
was a fifth of the wait's latency). These tests make the exit come while the
wait listens, and check that the shortcut is taken — and that a task which
went another way in the moment between the event and the read is judged
exactly as any read would judge it."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

import pytest

from containerd_tracker_cli import JobNotFoundError, JobState
from containerd_tracker_cli.runner import Completed

from .helpers import ListeningRunner, gated, run_to_end, submit, wait_until

pytestmark = pytest.mark.backends("ctr")  # the shortcut is ctr's: docker's inspect reads the exit anyway


class _BeforeHarvest(ListeningRunner):
    """A real runner, one call at a time, that runs ``meanwhile`` once just
    before the first call asking a task's shim or cgroup after its wait began
    listening: another actor, between the exit event and the wait's read."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__()
        self.concurrency = 1
        self.meanwhile = meanwhile
        self.after_listening: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        if self.listening.is_set():
            if not self.after_listening and ("shim" in argv or "metrics" in argv):
                self.meanwhile()
            self.after_listening.append(tuple(argv))
        return super().run(argv, timeout=timeout, stdin=stdin)


@pytest.fixture(autouse=True)
def _events_only(monkeypatch):
    """The wait's periodic full re-read put off for an hour: under load, one
    due before the exit event would list the tasks first."""
    from containerd_tracker_cli.tracker import waiting

    monkeypatch.setattr(waiting, "SAFETY_POLL", 3600.0)


def _wait_through_the_exit_event(make_tracker, tmp_path: Path, meanwhile: Callable[[str], None]) \
        -> tuple[str, object, _BeforeHarvest]:
    """Submit a job that exits 5 once let go, wait for it in a thread, let it
    go once the wait listens; (job ID, what the wait returned or raised, runner)."""
    gate = tmp_path / "gate"
    gate.mkdir()
    job: list[str] = []
    runner = _BeforeHarvest(lambda: meanwhile(job[0]))
    tracker = make_tracker("exit-event", runner=runner)
    job.append(submit(tracker, *gated("/gate", "exit 5"), stage_in_files={str(gate): "/gate"}))
    outcome: list[object] = []

    def waiter() -> None:
        try:
            tracker.wait(job[0], 120)
            outcome.append("returned")
        except Exception as exc:  # noqa: BLE001 - reported by the test
            outcome.append(exc)

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    wait_until(runner.listening.is_set, 30, "the wait did not start listening on its event stream")
    (gate / "open").touch()
    thread.join(120)
    assert not thread.is_alive(), "the wait did not return within 120 s of the job's exit"
    return job[0], outcome[0], runner


def _no_listing_before_the_harvest(runner: _BeforeHarvest) -> None:
    first = runner.after_listening[0]
    assert "shim" in first or "metrics" in first, \
        f"the wait did not go straight to the shim after the exit event: {runner.after_listening}"


def test_a_wait_woken_by_the_exit_event_records_the_exit_without_listing_tasks(make_tracker, tmp_path):
    job_id, outcome, runner = _wait_through_the_exit_event(make_tracker, tmp_path, lambda job_id: None)
    assert outcome == "returned"
    _no_listing_before_the_harvest(runner)
    info = make_tracker("exit-event").job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 5)
    assert info.finish_time is not None


def test_an_exit_another_tracker_harvested_meanwhile_is_read_from_its_record(make_tracker, tmp_path):
    """Read as that tracker recorded it — its CPU time too, which only the
    task's cgroup knew — and kept so: a read of many jobs (from kept
    records) gives the same, not a record made again without it."""
    other = make_tracker("exit-event", state_dir=tmp_path / "other-state")
    job_id, outcome, runner = _wait_through_the_exit_event(
        make_tracker, tmp_path, lambda job_id: wait_until(lambda: other.job_state(job_id)[0] == JobState.FAILED, 30,
                                                          "the other tracker did not see the job end"))
    assert outcome == "returned"
    _no_listing_before_the_harvest(runner)
    assert not any("label" in argv for argv in runner.after_listening), "the exit was recorded again"
    recorded = other.job_info(job_id)
    assert (recorded.exit_status, recorded.cpu_time is not None) == (5, True)
    reader = make_tracker("exit-event")
    others = [run_to_end(reader, "true") for _ in range(2)]
    infos = reader.job_infos([job_id, *others], cpu_time=False)  # more than a job or two: kept records
    assert (infos[job_id].state, infos[job_id].exit_status, infos[job_id].cpu_time) == (
        JobState.FAILED, 5, recorded.cpu_time)
    assert infos[job_id].finish_time == recorded.finish_time


def test_a_job_another_tracker_deleted_meanwhile_is_not_found(make_tracker, tmp_path):
    other = make_tracker("exit-event", state_dir=tmp_path / "other-state")

    def delete(job_id: str) -> None:
        wait_until(lambda: other.job_state(job_id)[0] == JobState.FAILED, 30, "the other tracker did not see the job end")
        other.delete_job(job_id)

    _, outcome, runner = _wait_through_the_exit_event(make_tracker, tmp_path, delete)
    assert isinstance(outcome, JobNotFoundError), outcome
    _no_listing_before_the_harvest(runner)


def test_a_task_deleted_with_ctr_meanwhile_is_recorded_from_what_its_logger_saved(make_tracker, tmp_path, raw):
    """The shortcut finds no shim to ask: the exit the job's logger saved
    when the job ended is recorded, in containerd, before the wait returns."""

    def delete_task(job_id: str) -> None:
        saved = make_tracker("exit-event").state.job_dir(job_id) / "shim-state.json"
        wait_until(saved.exists, 30, "the job's logger did not save its shim's state")
        raw("tasks", "delete", job_id)

    job_id, outcome, runner = _wait_through_the_exit_event(make_tracker, tmp_path, delete_task)
    assert outcome == "returned"
    _no_listing_before_the_harvest(runner)
    assert raw.labels(job_id).get("containerd-tracker/exit-status") == "5"
    info = make_tracker("exit-event").job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 5)
    assert info.finish_time is not None
