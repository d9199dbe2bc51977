"""Exit recording when containerd misbehaves in ways a real daemon cannot be
made to on demand: a lost delete event, a harvesting race lost."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from containerd_tracker_cli.backends.base import ContainerBackend, EventStream
from containerd_tracker_cli.backends.models import ContainerInfo, Event
from containerd_tracker_cli.backends.ctr.backend import PROBE_LABEL, CtrBackend
from containerd_tracker_cli.tracker import labels as L
from containerd_tracker_cli.tracker.exits import ExitRecorder
from containerd_tracker_cli.tracker.labels import ExitRecord

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
    backend = mocker.create_autospec(ContainerBackend, instance=True)
    backend.task_cpu_ns.return_value = 5_000_000
    # The probe is ctr's real mechanism, run over the mocked calls.
    backend.prove_subscribed.side_effect = lambda *a, **kw: CtrBackend.prove_subscribed(backend, *a, **kw)
    return backend


def test_a_lost_delete_event_still_keeps_the_exit_status(backend):
    backend.events.return_value = Events([probe_event("j1", "tok")])
    backend.delete_tasks.return_value = ({"j1": 7}, {})
    recorder = ExitRecorder(backend, lambda: "tok", settle_timeout=0.5)
    record = recorder.harvest(["j1"])["j1"]
    assert record == ExitRecord(7, None, 5_000_000)
    backend.set_labels.assert_called_with("j1", {L.EXIT_STATUS: "7", L.CPU_NS: "5000000"})


def test_the_delete_event_gives_status_and_exact_time(backend):
    deleted = Event(timestamp=T0, namespace="default", topic="/tasks/delete",
                    payload={"container_id": "j1", "exit_status": 3, "exited_at": T0})
    backend.events.return_value = Events([probe_event("j1", "tok"), deleted])
    backend.delete_tasks.return_value = ({"j1": 3}, {})
    record = ExitRecorder(backend, lambda: "tok", settle_timeout=0.5).harvest(["j1"])["j1"]
    assert record == ExitRecord(3, T0, 5_000_000)


def test_losing_the_race_to_another_harvester_reads_its_labels(backend):
    backend.events.return_value = Events([probe_event("j1", "tok")])
    backend.delete_tasks.return_value = ({}, {"j1": 'container "j1" in namespace "default": not found'})
    winner = ExitRecord(42, T0, 9)
    backend.container_info.return_value = ContainerInfo(id="j1", labels=winner.to_labels())
    record = ExitRecorder(backend, lambda: "tok", settle_timeout=2).harvest(["j1"])["j1"]
    assert record == winner
    backend.set_labels.assert_called_once_with("j1", {PROBE_LABEL: "tok"})  # only the probe: no overwrite


def test_the_winners_labels_arriving_as_an_event_are_taken(backend):
    winner = ExitRecord(1, T0, None)
    backend.events.return_value = Events([probe_event("j1", "tok"),
                                          probe_event("j1", "other", winner.to_labels())])
    backend.delete_tasks.return_value = ({}, {"j1": "not found"})
    record = ExitRecorder(backend, lambda: "tok", settle_timeout=2).harvest(["j1"])["j1"]
    assert record == winner
    backend.container_info.assert_not_called()


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


def test_a_container_deleted_meanwhile_does_not_cost_the_others_their_status(backend):
    from containerd_tracker_cli.backends.errors import ContainerNotFound

    deleted = Event(timestamp=T0, namespace="default", topic="/tasks/delete",
                    payload={"container_id": "y", "exit_status": 7, "exited_at": T0})
    backend.events.return_value = Events([probe_event("x", "tok"), deleted])
    backend.delete_tasks.return_value = ({"y": 7}, {"x": "not found"})
    backend.container_info.side_effect = ContainerNotFound("x", argv=["ctr"], exit_code=1, stderr="not found")
    results = ExitRecorder(backend, lambda: "tok", settle_timeout=1).harvest(["x", "y"])
    assert results["y"] == ExitRecord(7, T0, 5_000_000)
    backend.set_labels.assert_any_call("y", ExitRecord(7, T0, 5_000_000).to_labels())
