"""One event subscription for all the waits of a tracker that run at once.

A workflow engine waits for many jobs from many threads. A subscription per
wait would be an event process per waiting thread (``ctr events``, ``docker
events``) and, through ctr, a probe label written per wait. Instead the first
wait subscribes to every event of the namespace (through docker: of the
session's containers) and proves the subscription live; a wait that
begins while it lives joins it, and is from then on given every event that
names one of its jobs — no process or probe of its own.

No thread of its own reads the stream: whichever joined wait is waiting for
an event reads it for all, and hands the others theirs. A lone wait thus
reads its stream exactly as a wait with its own subscription does, so a
recording replays the same way. The last wait to leave closes the stream; a
stream that ends fails every wait on it, as one of its own would.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping

from ..backends.base import ContainerBackend, EventStream
from ..backends.models import Event
from ..drmaa2.errors import InternalError


class _Shared:
    """One live subscription and the waits on it."""

    def __init__(self, lock: threading.Condition) -> None:
        self.lock = lock  # the hub's: guards every field below
        self.listeners: set[_Listener] = set()
        self.stream: EventStream | None = None
        self.proven = False
        #: A wait's thread is reading the stream (the one that starts it, first).
        self.reading = True
        self.started = False
        #: Why the stream failed: every wait on it raises it.
        self.error: BaseException | None = None

    def hand_out(self, event: Event) -> None:
        """Give ``event`` to each wait whose jobs it names (lock held)."""
        named = event.container_id
        for listener in self.listeners:
            if named in listener.jobs:
                listener.pending.append(event)


class _Listener(EventStream):
    """One wait's view of the shared stream: the events naming its jobs."""

    def __init__(self, shared: _Shared, jobs: set[str]) -> None:
        self.shared = shared
        self.jobs = jobs
        self.pending: deque[Event] = deque()

    def next(self, timeout: float) -> Event | None:
        shared = self.shared
        deadline = time.monotonic() + timeout
        while True:
            with shared.lock:
                while True:
                    if self.pending:
                        return self.pending.popleft()
                    if shared.error is not None:
                        raise shared.error
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    if not shared.reading:
                        shared.reading = True  # this wait reads for all
                        break
                    shared.lock.wait(remaining)
            assert shared.stream is not None
            try:
                event = shared.stream.next(remaining)
            except BaseException as exc:
                with shared.lock:
                    if isinstance(exc, Exception):  # the stream failed: for every wait on it
                        shared.error = exc
                    shared.reading = False  # (an interrupt is this thread's alone: another reads on)
                    shared.lock.notify_all()
                raise
            with shared.lock:
                shared.reading = False
                if event is not None:
                    shared.hand_out(event)
                shared.lock.notify_all()
                if event is None:  # the stream had nothing for as long as this wait waits
                    return None

    def close(self) -> None:
        """Left through :meth:`SharedEvents.listen`."""


class SharedEvents:
    """A tracker's waits' one subscription (see the module's docstring)."""

    def __init__(self, backend: ContainerBackend,
                 labelled: Callable[[], Mapping[str, str]] = lambda: {}) -> None:
        self.backend = backend
        #: The labels of the containers whose events are wanted (a session's,
        #: or every DRMAA2 job's), where the CLI can filter so (docker).
        self.labelled = labelled
        self._lock = threading.Condition()
        self._live: _Shared | None = None

    @property
    def waits(self) -> int:
        """How many waits are on the live subscription now."""
        with self._lock:
            return len(self._live.listeners) if self._live is not None else 0

    @contextmanager
    def listen(self, job_ids: list[str], token: Callable[[], str]) -> Iterator[tuple[EventStream, bool]]:
        """The events naming ``job_ids`` from now on, and whether the
        subscription is proven live (no event after this call is missed);
        ``token()`` makes the subscription probe's, should a new one be
        started (asked once the stream is open, as a wait of its own did)."""
        with self._lock:
            shared = self._live
            starting = shared is None or shared.error is not None
            if starting:
                shared = self._live = _Shared(self._lock)
            assert shared is not None
            listener = _Listener(shared, set(job_ids))
            shared.listeners.add(listener)
        try:
            if starting:
                self._start(shared, job_ids[0], token)
            else:
                with self._lock:
                    while not shared.started and shared.error is None:
                        self._lock.wait()
                    if shared.error is not None:
                        raise shared.error
            yield listener, shared.proven
        finally:
            self._leave(shared, listener)

    def _start(self, shared: _Shared, container_id: str, token: Callable[[], str]) -> None:
        """Subscribe and prove it (events read meanwhile go to the waits
        joined so far); the waits that joined meanwhile are then let go."""

        def hand_out(event: Event) -> None:
            with self._lock:
                shared.hand_out(event)

        try:
            shared.stream = self.backend.events([], labelled=self.labelled())
            proven = self.backend.prove_subscribed(shared.stream, container_id, token(), on_event=hand_out)
        except BaseException as exc:
            with self._lock:
                shared.error = exc if isinstance(exc, Exception) else InternalError(
                    f"the event subscription was interrupted while it was being started: {exc!r}")
                shared.reading = False
                self._lock.notify_all()
            raise
        with self._lock:
            shared.proven = proven
            shared.started = True
            shared.reading = False
            self._lock.notify_all()

    def _leave(self, shared: _Shared, listener: _Listener) -> None:
        with self._lock:
            shared.listeners.discard(listener)
            last = not shared.listeners
            if last and self._live is shared:
                self._live = None
        if last and shared.stream is not None:
            shared.stream.close()
