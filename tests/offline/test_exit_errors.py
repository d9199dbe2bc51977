"""Exit recording when containerd misbehaves in ways a real daemon cannot be
made to on demand: a label write that fails, a subscription that goes live
late, saved shim states of every kind. What a daemon can be made to do is
tested live (tests/live/test_edge_harvest.py): the order of labelling and
deleting, a shim that cannot be asked, two harvesters at once, a container
deleted in the middle of a read."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from containerd_tracker_cli.backends.base import EventStream, TaskDeletion
from containerd_tracker_cli.backends.errors import BackendError
from containerd_tracker_cli.backends.models import ContainerInfo, Event, TaskRecord, TaskStatus
from containerd_tracker_cli.backends.ctr.backend import PROBE_LABEL, CtrBackend
from containerd_tracker_cli.runner import LiveRunner
from containerd_tracker_cli.backends.ctr.parsers import Usage
from containerd_tracker_cli.backends.ctr.exits import ExitRecorder
from containerd_tracker_cli.records.labels import ExitRecord

T0 = datetime(2026, 11, 24, 20, 0, 0, tzinfo=timezone.utc)


class Events(EventStream):
    """Hands out queued events once, then nothing."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def next(self, timeout: float) -> Event | None:
        return self.events.pop(0) if self.events else None

    def close(self) -> None:
        pass


def probe_event(cid: str, token: str, extra: dict[str, str] | None = None) -> Event:
    return Event(timestamp=T0, namespace="default", topic="/containers/update",
                 payload={"id": cid, "labels": {PROBE_LABEL: token, **(extra or {})}})


@pytest.fixture
def backend(mocker):
    backend = mocker.create_autospec(CtrBackend, instance=True)
    backend.task_usage.return_value = Usage(5_000_000, 0)
    backend.task_exit.return_value = None
    backend.delete_tasks.return_value = TaskDeletion({}, {})
    backend.runner = LiveRunner()  # the probe's clock
    backend.container_info.side_effect = lambda cid: ContainerInfo(id=cid)  # no exit recorded elsewhere
    # The probe is ctr's real mechanism, run over the mocked calls.
    backend.prove_subscribed.side_effect = lambda *a, **kw: CtrBackend.prove_subscribed(backend, *a, **kw)
    return backend


def NOTHING_SAVED(cid: str) -> None:
    return None


def stopped(cid: str, status: int, at: datetime | None = T0) -> TaskRecord:
    return TaskRecord(container_id=cid, pid=1, status=TaskStatus.STOPPED, exit_status=status, exited_at=at)


def test_an_oom_killed_job_is_recorded_so(backend):
    backend.task_exit.side_effect = {"j1": stopped("j1", 137), "j2": stopped("j2", 1)}.get
    backend.task_usage.return_value = Usage(5_000_000, 1)  # both cgroups counted an OOM kill
    records = ExitRecorder(backend).harvest(["j1", "j2"], NOTHING_SAVED)
    assert records["j1"].oom_killed and records["j1"].to_labels()["containerd-tracker/oom-killed"] == "true"
    assert not records["j2"].oom_killed  # it survived a killed child and chose its own status


SAVED = ('{"id": "j1", "bundle": "/b", "pid": 9, "status": 3, "exit_status": 6, '
         '"exited_at": {"seconds": 1795618421, "nanos": 499250989}}')


@pytest.fixture
def ctr_parsing(backend):
    """The mocked backend reads saved shim states with ctr's real parser."""
    from containerd_tracker_cli.runner import Completed, Runner

    class NoProcesses(Runner):
        def run(self, argv, *, timeout, stdin=None) -> Completed:
            raise AssertionError(f"no process expected: {argv}")

        def stream(self, argv):
            raise AssertionError(f"no process expected: {argv}")

    real = CtrBackend(NoProcesses(), "/run/containerd/containerd.sock", "default")
    backend.saved_task.side_effect = real.saved_task
    return backend


def test_a_shim_that_cannot_be_asked_gives_way_to_what_the_logger_saved(ctr_parsing):
    backend = ctr_parsing
    record = ExitRecorder(backend).harvest(["j1"], {"j1": SAVED}.get)["j1"]
    assert (record.exit_status, record.finish_time) == (6, datetime(2026, 11, 25, 14, 53, 41, 499250, tzinfo=timezone.utc))
    backend.set_labels.assert_called_once_with("j1", record.to_labels())
    backend.delete_tasks.assert_called_once_with(["j1"])


def test_an_exit_another_process_recorded_meanwhile_is_taken_as_it_stands(ctr_parsing):
    """Its shim is gone because another tracker harvested and deleted the
    task: its record (the CPU time only the cgroup knew) is not made again
    from the saved state without it."""
    backend = ctr_parsing
    theirs = ExitRecord(6, T0, 7_000_000_000)
    backend.container_info.side_effect = lambda cid: ContainerInfo(id=cid, labels=theirs.to_labels())
    assert ExitRecorder(backend).harvest(["j1"], {"j1": SAVED}.get) == {"j1": theirs}
    backend.set_labels.assert_not_called()


def test_labels_that_cannot_be_read_leave_the_exit_to_the_saved_state(ctr_parsing):
    from containerd_tracker_cli.backends.errors import DaemonUnreachable

    backend = ctr_parsing
    backend.container_info.side_effect = DaemonUnreachable("containerd did not answer", argv=["ctr"])
    record = ExitRecorder(backend).harvest(["j1"], {"j1": SAVED}.get)["j1"]
    assert record.exit_status == 6
    backend.set_labels.assert_called_once_with("j1", record.to_labels())


def test_a_task_containerd_deleted_on_restart_is_recovered_from_the_saved_state(ctr_parsing):
    backend = ctr_parsing
    found = ExitRecorder(backend).recover(["j1", "j2"], {"j1": SAVED, "j2": "garbage"}.get)
    assert list(found) == ["j1"] and found["j1"].exit_status == 6
    backend.set_labels.assert_called_once_with("j1", found["j1"].to_labels())


def test_a_saved_state_of_a_running_or_other_task_is_not_an_exit(ctr_parsing):
    running = SAVED.replace('"status": 3', '"status": 2')
    other = SAVED.replace('"id": "j1"', '"id": "j9"')
    assert ExitRecorder(ctr_parsing).recover(["j1"], {"j1": running}.get) == {}
    assert ExitRecorder(ctr_parsing).recover(["j1"], {"j1": other}.get) == {}


def test_labels_that_cannot_be_written_keep_the_task_and_so_the_status(backend):
    backend.task_exit.side_effect = {"j1": stopped("j1", 5), "j2": stopped("j2", 0)}.get
    backend.set_labels.side_effect = lambda cid, labels: (_ for _ in ()).throw(
        BackendError("ctr failed", argv=["ctr"], exit_code=1, stderr="boom")) if cid == "j1" else labels
    backend.delete_tasks.return_value = TaskDeletion({"j2": 0}, {})
    results = ExitRecorder(backend).harvest(["j1", "j2"], NOTHING_SAVED)
    assert results == {"j1": None, "j2": ExitRecord(0, T0, 5_000_000)}  # j1: containerd still holds it
    backend.delete_tasks.assert_called_once_with(["j2"])


def test_a_delete_call_that_fails_is_raised_after_every_exit_it_could_was_recorded(backend):
    """j1's exit is labelled (durable) and j2's, whose shim could not be asked,
    is taken from a delete call beside the one that failed; then the failure
    is raised: a task not deleted may still be writing its output."""
    from containerd_tracker_cli.backends.errors import DaemonUnreachable

    backend.task_exit.side_effect = {"j1": stopped("j1", 5)}.get
    hang = DaemonUnreachable("containerd at /run/c.sock did not answer within 30 s", argv=["ctr"])
    backend.delete_tasks.return_value = TaskDeletion(
        {"j2": 4}, {"j1": BackendError("task 'j1' not deleted", argv=["ctr"])}, (hang,))
    with pytest.raises(DaemonUnreachable):
        ExitRecorder(backend).harvest(["j1", "j2"], NOTHING_SAVED)
    labelled = {call.args[0]: call.args[1] for call in backend.set_labels.call_args_list}
    assert ExitRecord.from_labels(labelled["j1"]).exit_status == 5
    assert ExitRecord.from_labels(labelled["j2"]).exit_status == 4


def test_when_no_exit_can_be_written_the_failure_is_raised(backend):
    backend.task_exit.side_effect = {"j1": stopped("j1", 5)}.get
    backend.set_labels.side_effect = BackendError("ctr failed", argv=["ctr"], exit_code=1, stderr="boom")
    with pytest.raises(BackendError):
        ExitRecorder(backend).harvest(["j1"], NOTHING_SAVED)
    backend.delete_tasks.assert_called_once_with([])


class LateEvents(Events):
    """A subscription that goes live only after the first probe was made."""

    def __init__(self, backend) -> None:
        super().__init__([])
        self.backend = backend

    def next(self, timeout: float) -> Event | None:
        if self.backend.set_labels.call_count >= 2 and not self.events:
            self.events.append(probe_event("j1", "tok"))
            self.backend.set_labels.side_effect = lambda *a: {}
        return super().next(timeout)


def test_a_probe_made_before_the_subscription_is_live_is_repeated(backend):
    events = LateEvents(backend)
    assert backend.prove_subscribed(events, "j1", "tok", timeout=5) is True
    assert backend.set_labels.call_count == 2


