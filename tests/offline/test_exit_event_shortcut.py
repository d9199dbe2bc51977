"""The wait's shortcut after an exit event (live: tests/live/test_wait_exit_event.py):
which events take it, that ctr takes it only from a kept record not yet
carrying an exit, and that a job the shortcut finds no exit for is judged
as a plain read judges it."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pytest

from containerd_tracker_cli.backends.base import ContainerBackend, ExitKeeping, Observed, OutputDelivery
from containerd_tracker_cli.backends.ctr import parsers
from containerd_tracker_cli.backends.ctr.backend import CtrBackend
from containerd_tracker_cli.backends.ctr.records import RecordCache
from containerd_tracker_cli.backends.models import ContainerInfo, TaskRecord, TaskStatus
from containerd_tracker_cli.drmaa2.states import JobState
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.records.statedir import StateDir
from containerd_tracker_cli.runner import Completed, Runner, Stream
from containerd_tracker_cli.tracker.observation import Observer

ARGV = ("ctr", "events")
TS = "2026-11-26 02:21:49.25697421 +0000 UTC default"


@pytest.mark.parametrize("line, container", [
    # the job's own process (containerd 1.7+ and 1.6 time forms)
    (TS + ' /tasks/exit {"container_id":"job-1","id":"job-1","pid":19700,"exit_status":3,'
          '"exited_at":{"seconds":1795659709,"nanos":256840176}}', "job-1"),
    (TS + ' /tasks/exit {"container_id":"job-1","id":"job-1","pid":16791,"exit_status":3,'
          '"exited_at":"2026-11-26T02:21:35.326841422Z"}', "job-1"),
    # a process someone ran in it with `ctr tasks exec`: the job goes on
    (TS + ' /tasks/exit {"container_id":"job-1","id":"exec-7","pid":19800,"exit_status":1,'
          '"exited_at":"2026-11-26T02:21:35.326841422Z"}', None),
    (TS + ' /tasks/delete {"container_id":"job-1","pid":19700,"exit_status":3,'
          '"exited_at":"2026-11-26T02:21:35.326841422Z"}', None),
    (TS + ' /tasks/paused {"container_id":"job-1"}', None),
])
def test_only_the_exit_of_a_jobs_own_process_counts_as_its_end(line, container):
    assert parsers.parse_event(ARGV, line).exited_container == container


class NoCalls(Runner):
    """A daemon that answers a listing (job-1 stopped) and a record, and
    keeps what it was asked: the shortcut should ask it nothing."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.asked.append(tuple(argv))
        if "tasks" in argv:  # `tasks list`: job-1 stopped
            return Completed(tuple(argv), 0, "TASK    PID    STATUS\njob-1   19700  STOPPED\n", "")
        return Completed(tuple(argv), 0, '{"ID": "job-1", "Labels": {"drmaa2": "true"}}', "")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError("no stream expected")


def _ctr(tmp_path, kept: ContainerInfo | None) -> tuple[CtrBackend, NoCalls]:
    runner = NoCalls()
    backend = CtrBackend(runner, "/run/containerd/containerd.sock", "default")
    backend.records = RecordCache(tmp_path / "records")
    if kept is not None:
        backend.records.put(kept)
    return backend, runner


def test_ctr_takes_a_job_seen_exiting_as_stopped_from_its_kept_record_without_a_call(tmp_path):
    backend, runner = _ctr(tmp_path, ContainerInfo(id="job-1", labels={L.DRMAA2: "true"}))
    observed = backend.observe(["job-1"], exited={"job-1"})
    assert observed["job-1"].task is not None and observed["job-1"].task.status == TaskStatus.STOPPED
    assert observed["job-1"].task.exit_status is None  # the shim's answer is recorded, not the event's
    assert runner.asked == []


@pytest.mark.parametrize("kept, exited", [
    (None, {"job-1"}),  # no kept record: containerd is asked
    (ContainerInfo(id="job-1", labels={L.DRMAA2: "true", L.EXIT_STATUS: "3"}), {"job-1"}),  # exit already kept
    (ContainerInfo(id="job-1", labels={L.DRMAA2: "true"}), set()),  # no exit seen
])
def test_otherwise_ctr_lists_the_tasks_as_always(tmp_path, kept, exited):
    backend, runner = _ctr(tmp_path, kept)
    backend.observe(["job-1"], exited=exited)
    assert runner.asked and "tasks" in runner.asked[0], runner.asked


def test_a_read_of_jobs_not_all_seen_exiting_lists_the_tasks(tmp_path):
    backend, runner = _ctr(tmp_path, ContainerInfo(id="job-1", labels={L.DRMAA2: "true"}))
    backend.records.put(ContainerInfo(id="job-2", labels={L.DRMAA2: "true"}))
    backend.observe(["job-1", "job-2"], exited={"job-1"})  # job-2 may still run
    assert runner.asked and "tasks" in runner.asked[0], runner.asked


class Settled(OutputDelivery):
    def log_uri(self, key: str, stdout: Path, stderr: Path) -> str | None:
        return None

    def settle(self, job_id: str, key: str, labels: Mapping[str, str], task_gone: bool) -> None:
        pass


def test_a_job_the_shortcut_finds_no_exit_for_is_read_again_as_usual(tmp_path, mocker):
    """The event said it ended, but its task went without a trace (deleted
    behind the tracker's back): judged on the plain read — Undetermined,
    its task gone — not on the shortcut's stopped task with no exit."""
    info = ContainerInfo(id="job-1", labels={L.DRMAA2: "true", L.SESSION: "s"})
    backend = mocker.create_autospec(ContainerBackend, instance=True)

    def observe(ids, *, exited=()):
        task = TaskRecord(container_id="job-1", pid=0, status=TaskStatus.STOPPED) if exited else None
        return {"job-1": Observed(info, task)}

    backend.observe.side_effect = observe
    state = StateDir(tmp_path / "state", "default")
    state.pid_file("job-1").parent.mkdir(parents=True)
    state.pid_file("job-1").write_text("19700")  # it was started
    observer = Observer(backend, state, "s", Settled(), ExitKeeping())
    job = observer.many(["job-1"], exited={"job-1"})["job-1"]
    assert (job.state, job.task) == (JobState.UNDETERMINED, None)
    assert "deleted outside the tracker" in job.sub_state
