"""The waits of a tracker share one event subscription (tracker/subscription.py):
the behaviours a real daemon cannot be timed into on demand — a wait joining
while the subscription is being proven, a stream that ends under several
waits. Live: tests/live/test_wait.py (many waits at once, one subscription)."""
from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import pytest

from containerd_tracker_cli.backends.base import ContainerBackend, EventStream
from containerd_tracker_cli.backends.errors import CliParseError, ContainerNotFound, DaemonUnreachable
from containerd_tracker_cli.backends.models import Event
from containerd_tracker_cli.tracker.subscription import SharedEvents

from ..support import until

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=timezone.utc)


def exit_of(cid: str) -> Event:
    return Event(timestamp=T0, namespace="default", topic="/tasks/exit", payload={"container_id": cid, "id": cid})


class Stream(EventStream):
    """Events put by the test; ``None`` ends the stream (as a dead process)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Event | Exception | None] = queue.Queue()
        self.readers: set[str] = set()  # the threads that read it
        self.closed = False
        self.interrupt: str | None = None  # the thread whose next read is interrupted (Ctrl-C)

    def next(self, timeout: float) -> Event | None:
        self.readers.add(threading.current_thread().name)
        if self.interrupt == threading.current_thread().name:
            self.interrupt = None
            raise KeyboardInterrupt
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None:
            raise DaemonUnreachable("the event stream ended")
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def backend(mocker):
    backend = mocker.create_autospec(ContainerBackend, instance=True)
    backend.streams = []

    def events(ids, labelled=None):
        stream = Stream()
        backend.streams.append(stream)
        return stream

    backend.events.side_effect = events
    backend.prove_subscribed.return_value = True
    return backend


def test_waits_at_once_share_one_subscription_and_each_gets_the_events_of_its_jobs(backend):
    hub = SharedEvents(backend)
    with hub.listen(["a"], lambda: "t1") as (first, proven_a), hub.listen(["b", "c"], lambda: "t2") as (second, proven_b):
        assert proven_a and proven_b
        [stream] = backend.streams
        for cid in ("c", "a", "x", "b"):
            stream.queue.put(exit_of(cid))
        assert [first.next(1).container_id, first.next(0.05)] == ["a", None]  # read for both, given its own
        assert [second.next(1).container_id, second.next(1).container_id] == ["c", "b"]
    assert backend.prove_subscribed.call_count == 1  # one probe for both
    assert stream.closed  # the last to leave closed it
    with hub.listen(["d"], lambda: "t3"):
        assert len(backend.streams) == 2  # a later wait subscribes afresh


def test_a_lone_wait_reads_the_stream_in_its_own_thread(backend):
    """So a recording made by one wait replays the same way."""
    hub = SharedEvents(backend)
    with hub.listen(["a"], lambda: "t") as (events, _):
        backend.streams[0].queue.put(exit_of("a"))
        assert events.next(1).container_id == "a"
    assert backend.streams[0].readers == {threading.current_thread().name}


def joined(hub: SharedEvents, count: int) -> None:
    """Until ``count`` waits are on the hub's subscription (they register first)."""
    until(lambda: hub.waits == count, f"{count} waits did not join")


def _join_during_the_proof(backend, first_proof: bool | Exception) -> tuple[dict[str, object], object]:
    """A wait on "b" joins while the wait on "a" proves the subscription
    (the probe reads an event for "b" meanwhile); the first proof says
    ``first_proof`` (or raises it), any later one True. (What the joiner
    saw; the first wait's proven, or what it raised.)"""
    probing = threading.Event()
    hub = SharedEvents(backend)
    proofs: list[str] = []

    def prove(stream, container_id, token, on_event=None, timeout=10.0):
        proofs.append(container_id)
        if len(proofs) > 1:
            return True
        probing.set()
        joined(hub, 2)
        on_event(exit_of("b"))  # read while probing: for the wait that joined meanwhile
        if isinstance(first_proof, Exception):
            raise first_proof
        return first_proof

    backend.prove_subscribed.side_effect = prove
    seen: dict[str, object] = {}

    def second() -> None:
        probing.wait(10)
        with hub.listen(["b"], lambda: "t2") as (events, proven):
            seen["proven"] = proven
            seen["event"] = events.next(0.2)
            seen["proofs"] = list(proofs)

    thread = threading.Thread(target=second)
    thread.start()
    first: object
    try:
        with hub.listen(["a"], lambda: "t1") as (_, first):
            thread.join(10)
    except Exception as exc:  # noqa: BLE001 - what the first wait raised is the test's to judge
        first = exc
    thread.join(10)
    assert not thread.is_alive()
    return seen, first


def test_a_wait_joining_during_the_proof_waits_for_it_and_gets_what_the_probe_read(backend):
    seen, proven = _join_during_the_proof(backend, first_proof=True)
    assert proven is True and seen["proven"] is True
    assert seen["event"].container_id == "b"
    assert (len(backend.streams), seen["proofs"]) == (1, ["a"])


def test_a_subscription_not_proven_is_not_joined_the_wait_proves_one_of_its_own(backend):
    """Else every wait joining it would re-read every 0.5 s for as long as
    waits overlap — in a workflow engine, for ever."""
    seen, proven = _join_during_the_proof(backend, first_proof=False)
    assert proven is False and seen["proven"] is True
    assert (len(backend.streams), seen["proofs"]) == (2, ["a", "b"])


def test_a_failed_start_is_the_starting_waits_alone(backend):
    """The first wait's job went meanwhile, so its probe failed: a wait that
    joined meanwhile starts its own subscription instead of failing too."""
    seen, first = _join_during_the_proof(
        backend, ContainerNotFound("a", argv=["ctr"], exit_code=1, stderr="not found"))
    assert isinstance(first, ContainerNotFound)
    assert seen["proven"] is True
    assert len(backend.streams) == 2 and backend.streams[0].closed


def test_a_stream_that_ends_fails_every_wait_on_it_and_the_next_wait_subscribes_again(backend):
    hub = SharedEvents(backend)
    errors: list[BaseException] = []

    def waiter(job: str) -> None:
        with hub.listen([job], lambda: job) as (events, _):
            try:
                events.next(10)
            except DaemonUnreachable as exc:
                errors.append(exc)

    with hub.listen(["a"], lambda: "t") as (events, _):
        threads = [threading.Thread(target=waiter, args=(job,)) for job in ("b", "c")]
        for thread in threads:
            thread.start()
        joined(hub, 3)
        backend.streams[0].queue.put(None)
        with pytest.raises(DaemonUnreachable):
            events.next(10)
        for thread in threads:
            thread.join(10)
    assert len(errors) == 2
    with hub.listen(["d"], lambda: "t") as (events, _):
        assert len(backend.streams) == 2
        backend.streams[1].queue.put(exit_of("d"))
        assert events.next(1).container_id == "d"


def test_a_failed_subscription_fails_the_waits_that_joined_it(backend):
    backend.events.side_effect = DaemonUnreachable("no daemon")
    hub = SharedEvents(backend)
    with pytest.raises(DaemonUnreachable):
        with hub.listen(["a"], lambda: "t"):
            pass
    backend.events.side_effect = None
    backend.events.return_value = Stream()
    with hub.listen(["a"], lambda: "t") as (_, proven):  # the next wait tries again
        assert proven


def test_an_interrupt_in_the_reading_wait_is_its_own_and_the_others_read_on(backend):
    """Ctrl-C lands in the main thread, which may be the one reading for all:
    the other threads' waits must not see it."""
    hub = SharedEvents(backend)
    interrupted, outcome = threading.Event(), {}

    def interrupted_wait() -> None:
        with hub.listen(["x"], lambda: "t1") as (events, _):
            backend.streams[0].interrupt = threading.current_thread().name
            try:
                events.next(10)
            except KeyboardInterrupt:
                outcome["x"] = "interrupted"
            interrupted.set()
            until(lambda: "b" in outcome, "the other wait did not get its event")

    def other_wait() -> None:
        with hub.listen(["b"], lambda: "t2") as (events, _):
            interrupted.wait(10)
            outcome["b"] = events.next(10)

    first = threading.Thread(target=interrupted_wait)
    first.start()
    joined(hub, 1)
    second = threading.Thread(target=other_wait)
    second.start()
    interrupted.wait(10)
    backend.streams[0].queue.put(exit_of("b"))
    first.join(10)
    second.join(10)
    assert outcome["x"] == "interrupted"
    assert outcome["b"].container_id == "b"


def _follower_while_another_reads(backend, follower_timeout: float, then) -> tuple[dict[str, object], threading.Thread]:
    """The wait on "a" reads the stream (60 s); the wait on "b" waits for
    its event meanwhile (``follower_timeout``); ``then(stream)`` acts. What
    the follower got, within 10 s — far less than either wait's timeout."""
    hub = SharedEvents(backend)
    got: dict[str, object] = {}
    reading = threading.Event()

    def leader() -> None:
        with hub.listen(["a"], lambda: "t1") as (events, _):
            reading.set()
            try:
                got["a"] = events.next(60)
            except DaemonUnreachable as exc:
                got["a"] = exc

    def follower() -> None:
        with hub.listen(["b"], lambda: "t2") as (events, _):
            until(lambda: backend.streams[0].readers, "the leader did not read")
            try:
                got["b"] = events.next(follower_timeout)
            except DaemonUnreachable as exc:
                got["b"] = exc

    first = threading.Thread(target=leader, daemon=True)
    first.start()
    reading.wait(10)
    second = threading.Thread(target=follower, daemon=True)
    second.start()
    joined(hub, 2)
    then(backend.streams[0])
    second.join(10)
    assert not second.is_alive(), "the waiting wait was not woken"
    return got, first


def test_an_event_read_by_another_wait_wakes_the_wait_it_names(backend):
    got, first = _follower_while_another_reads(backend, 30, lambda stream: stream.queue.put(exit_of("b")))
    assert got["b"].container_id == "b"
    assert first.is_alive() and "a" not in got  # still reading: it ends with the stream
    _end(first)


def _end(leader: threading.Thread) -> None:
    """End the stream under a wait still reading, so its thread ends."""
    import gc

    for stream in [o for o in gc.get_objects() if isinstance(o, Stream)]:
        stream.queue.put(None)
    leader.join(10)


def test_a_wait_whose_time_is_up_returns_while_another_reads(backend):
    got, first = _follower_while_another_reads(backend, 0.2, lambda stream: None)
    assert got["b"] is None
    _end(first)


def test_a_stream_failing_under_another_wait_fails_the_waiting_one_at_once(backend):
    got, first = _follower_while_another_reads(backend, 30, lambda stream: stream.queue.put(None))
    first.join(10)
    assert isinstance(got["a"], DaemonUnreachable) and isinstance(got["b"], DaemonUnreachable)
    assert got["a"] is not got["b"]  # each thread its own exception (its own traceback)


def test_a_line_no_parser_reads_is_skipped_not_the_streams_end(backend):
    hub = SharedEvents(backend)
    with hub.listen(["a"], lambda: "t") as (events, _):
        backend.streams[0].queue.put(CliParseError(["ctr", "events"], "not an event line", "garbage"))
        backend.streams[0].queue.put(exit_of("a"))
        assert events.next(5).container_id == "a"
