"""DRMAA2 event notification: a callback told each state change of the
namespace's DRMAA2 jobs, whichever session or process made them.

One thread and one event subscription per registration, whatever the number
of jobs. An event re-reads only the jobs it names (in one batch, with the job
listing that tells DRMAA2 jobs from foreign containers); every job is re-read
every FULL_READ seconds anyway, so a dropped event or a broken subscription
costs latency, never a change. States are those observed: a job that runs
for an instant may be reported Queued, then Done.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Callable, Iterable

from ..backends.base import EventStream
from ..drmaa2.errors import DrmaaError, JobNotFoundError
from ..drmaa2.events import DrmaaEvent, Notification
from ..drmaa2.states import JobState
from .monitoring import MonitoringTracker

log = logging.getLogger(__name__)

#: Every job is re-read at least this often, events or not.
FULL_READ = 5.0
#: Events this close together are read as one batch.
BURST = 0.05
#: How often the thread looks whether it was asked to stop.
STOP_CHECK = 0.5

Callback = Callable[[Notification], None]


class StateNotifier:
    """Runs ``callback`` on its own thread for every state change seen."""

    def __init__(self, tracker: MonitoringTracker, callback: Callback) -> None:
        self._tracker = tracker
        self._callback = callback
        self._stopping = threading.Event()
        self._ready = threading.Event()  # subscribed, and the states at start known
        self._thread = threading.Thread(target=self._run, name="containerd-tracker-notifier", daemon=True)
        #: Last state told (or found at registration) per job, with its session.
        self._known: dict[str, tuple[str, JobState]] | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Returns once subscribed and the present states are read: every
        change after that is told."""
        atexit.register(self.stop)  # the event subscription's process ends with us
        self._thread.start()
        if not self._ready.wait(timeout):
            log.warning("event notification not subscribed within %.0f s; changes are told once it is", timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop telling; returns once the subscription is closed."""
        self._stopping.set()
        atexit.unregister(self.stop)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._tracker.backend.events([]) as events:
                    self._read_all()  # subscribed first: a change from now on is not missed
                    self._ready.set()
                    self._listen(events)
            except DrmaaError as exc:
                log.warning("event notification: %s; subscribing again", exc)
                self._stopping.wait(1.0)
            except Exception:  # noqa: BLE001 - the thread must outlive any one fault
                log.exception("event notification failed; subscribing again")
                self._stopping.wait(1.0)

    def _listen(self, events: EventStream) -> None:
        last_full = time.monotonic()
        while not self._stopping.is_set():
            due = FULL_READ - (time.monotonic() - last_full)
            if due <= 0:
                self._read_all()
                last_full = time.monotonic()
                continue
            event = events.next(min(due, STOP_CHECK))
            named: set[str] = set()
            burst_end = time.monotonic() + 10 * BURST  # a steady stream still gets read
            while event is not None:
                if event.container_id:
                    named.add(event.container_id)
                if time.monotonic() >= burst_end:
                    break
                event = events.next(BURST)
            if named:
                self._read(named)

    def _read_all(self) -> None:
        self._read(None)

    def _read(self, named: Iterable[str] | None) -> None:
        """Re-read the jobs named (``None``: all); tell what changed."""
        jobs = set(self._tracker.list_jobs())
        targets = jobs if named is None else jobs & set(named)
        try:
            seen = self._tracker.overview(sorted(targets)) if targets else {}
        except JobNotFoundError:
            return  # deleted while being read (a reaper at work): the next read sees the rest
        first = self._known is None
        known = self._known if self._known is not None else {}
        for job_id in [j for j in known if j not in jobs]:  # deleted
            del known[job_id]
        changes = []
        for job_id, (session, state, _) in seen.items():
            if known.get(job_id, ("", None))[1] != state:
                known[job_id] = (session, state)
                if not first:
                    changes.append(Notification(DrmaaEvent.NEW_STATE, job_id, session, state))
        self._known = known
        for note in changes:
            if self._stopping.is_set():
                return
            try:
                self._callback(note)
            except Exception:  # noqa: BLE001 - a faulty callback must not end the notifications
                log.exception("event notification callback failed for %s", note)
