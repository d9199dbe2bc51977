"""One event subscription for all the waits of a tracker that run at once.

A workflow engine waits for many jobs from many threads. A subscription per
wait would be an event process per waiting thread (``ctr events``, ``docker
events``) and, through ctr, a probe label written per wait. Instead the first
wait subscribes to the events of the namespace (through docker: of the
session's containers) and proves the subscription live; a wait that begins
while it lives joins it, and is from then on given every event that names
one of its jobs — no process or probe of its own. Only a proven
subscription is joined: one that could not be proven (nerdctl's, or a probe
that timed out) serves its own wait, and the next wait tries afresh.

No thread of its own reads the stream: whichever joined wait is waiting for
an event reads it for all, and hands the others theirs. A lone wait thus
reads its stream exactly as a wait with its own subscription does, so a
recording replays the same way. The last wait to leave closes the stream; a
stream that ends fails every wait on it, as one of its own would; a line no
parser reads is skipped (the stream carries other tools' events too).
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping

from ..backends.base import ContainerBackend, EventStream
from ..backends.errors import CliParseError
from ..backends.models import Event

log = logging.getLogger(__name__)


class _Shared:
    """One subscription and the waits on it; every field is guarded by the
    hub's lock, and every change a waiting thread may wait for is notified."""

    def __init__(self, lock: threading.Condition) -> None:
        self.lock = lock
        self.listeners: set[_Listener] = set()
        self.stream: EventStream | None = None
        #: None while it is being started; then whether it is proven live.
        self.proven: bool | None = None
        #: Its start failed: the waits that were to join it start their own.
        self.unstarted = False
        #: A wait's thread is reading the stream (the one that starts it, first).
        self.reading = True
        #: Why the stream failed: every wait on it raises it.
        self.error: BaseException | None = None

    def joinable(self) -> bool:
        return not self.unstarted and self.error is None and self.proven is not False

    def hand_out(self, event: Event) -> None:
        """Give ``event`` to each wait whose jobs it names."""
        named = event.container_id
        for listener in self.listeners:
            if named in listener.jobs:
                listener.pending.append(event)


def _own(exc: BaseException) -> BaseException:
    """A copy of ``exc`` for this thread (a traceback of its own); the same
    one where it cannot be copied."""
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001 - an exception whose constructor wants more than its message
        return exc


class _Listener(EventStream):
    """One wait's view of the shared stream: the events naming its jobs."""

    def __init__(self, shared: _Shared, jobs: set[str]) -> None:
        self.shared = shared
        self.jobs = jobs
        self.pending: deque[Event] = deque()

    def next(self, timeout: float) -> Event | None:
        shared = self.shared
        deadline = time.monotonic() + timeout
        may_read = True  # a free stream is read at least once, as a wait's own would be
        while True:
            with shared.lock:
                while True:
                    if self.pending:
                        return self.pending.popleft()
                    if shared.error is not None:
                        raise _own(shared.error) from shared.error
                    remaining = max(0.0, deadline - time.monotonic())
                    if not shared.reading and (may_read or remaining > 0):
                        shared.reading = True  # this wait reads for all
                        break
                    if remaining <= 0:
                        return None
                    shared.lock.wait(remaining)
            may_read = False
            event = None
            try:
                assert shared.stream is not None
                event = shared.stream.next(remaining)
            except CliParseError as exc:  # one odd line: not the stream's end
                log.warning("event skipped: %s", exc)
                continue
            except Exception as exc:  # the stream failed: for every wait on it
                with shared.lock:
                    shared.error = exc
                raise
            finally:  # whatever happened (an interrupt is this thread's alone), another may read on
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
        """How many waits are on the subscription new waits join."""
        with self._lock:
            return len(self._live.listeners) if self._live is not None else 0

    @contextmanager
    def listen(self, job_ids: list[str], token: Callable[[], str]) -> Iterator[tuple[EventStream, bool]]:
        """The events naming ``job_ids`` from now on, and whether the
        subscription is proven live (no event after this call is missed);
        ``token()`` makes the subscription probe's, should a new one be
        started (asked once the stream is open, as a wait of its own did)."""
        while True:
            with self._lock:
                shared = self._live
                starting = shared is None or not shared.joinable()
                if starting:
                    shared = self._live = _Shared(self._lock)
                assert shared is not None
                listener = _Listener(shared, set(job_ids))
                shared.listeners.add(listener)
                if not starting:
                    while shared.proven is None and not shared.unstarted:
                        self._lock.wait()  # another wait is starting it
            if starting or shared.proven is True:
                break
            self._leave(shared, listener)  # not started, or not proven: start one of this wait's own
        try:
            if starting:
                self._start(shared, job_ids[0], token)
            yield listener, bool(shared.proven)
        finally:
            self._leave(shared, listener)

    def _start(self, shared: _Shared, container_id: str, token: Callable[[], str]) -> None:
        """Subscribe and prove it (events read meanwhile go to the waits
        joined so far). A failure is this wait's: the others start their own."""

        def hand_out(event: Event) -> None:
            with self._lock:
                shared.hand_out(event)

        try:
            shared.stream = self.backend.events([], labelled=self.labelled())
            proven = self.backend.prove_subscribed(shared.stream, container_id, token(), on_event=hand_out)
        except BaseException:
            with self._lock:
                shared.unstarted = True
                shared.proven = False
                shared.reading = False
                self._lock.notify_all()
            raise
        with self._lock:
            shared.proven = proven
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

