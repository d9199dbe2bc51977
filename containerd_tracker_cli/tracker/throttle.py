"""Job arrays that honour ``max_parallel``, also after the submitter exits.

All tasks are created at submission, none started (they read ``Queued``);
each carries the ``containerd-tracker/array`` label naming the array, whose
record (task IDs in index order, the limit) is ``arrays/<ns>/<key>/array.json``
in the state directory. :meth:`Throttle.fill` starts queued tasks, lowest
index first, while fewer than ``max_parallel`` run or are suspended.

Who calls ``fill``: the submitter once, then the array's **driver** — one
small process per array (``python -m containerd_tracker_cli … drive-array
KEY``, detached, its pid in ``driver.pid``, its log in ``driver.log``),
woken by containerd's events and every few seconds; it exits by itself once
no task is left to start (held ones wait for their release, which starts a
driver again). If it dies, the next tracker call that sees one of the
array's tasks queued starts another (``ensure_driver``).

Why nothing starts twice or is forgotten: every ``fill`` and every control
of an array's queued task runs under the array's ``start.lock`` (flock); a
task is started first and marked ``claimed/<job ID>`` in the array's folder after, so a crash
in between leaves it unclaimed but observed running, and it is then claimed
without a second start. One driver at a time: it holds ``driver.lock``.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Iterator

from ..backends.base import ContainerBackend, EventStream
from ..backends.models import TaskStatus
from ..drmaa2.errors import (
    DrmaaError,
    DrmCommunicationError,
    InvalidArgumentError,
    JobNotFoundError,
    UnsupportedAttributeError,
)
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..records.labels import ExitRecord
from ..records.statedir import StateDir
from ..runner import Runner
from .helpers import spawn_locked
from .launch import Launcher, ProgramNotStartable
from .observation import Observer, Snapshot

log = logging.getLogger(__name__)

#: The driver re-reads the array at least this often, events or not.
DRIVER_POLL = 2.0
#: Starts of one task refused for a reason other than its program (the
#: runtime failing, a mount source gone …) before it is recorded Failed.
START_ATTEMPTS = 3
#: The exit status of a task no start could run: the shells' "cannot execute".
NOT_STARTED = 126


@dataclass(frozen=True)
class ArrayRecord:
    key: str
    ids: list[str]
    max_parallel: int
    session: str = ""


class Throttle:
    def __init__(self, backend: ContainerBackend, state: StateDir, runner: Runner, observer: Observer,
                 launcher: Launcher, session_name: str) -> None:
        self.backend = backend
        self.state = state
        self.runner = runner
        self.observer = observer
        self.launcher = launcher
        self.session_name = session_name
        self._ended: set[str] = set()  # this process has seen them end: no need to look again

    # ------------------------------------------------------------ records
    def save(self, record: ArrayRecord) -> None:
        folder = self.state.array_dir(record.key)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "array.json.tmp"
        tmp.write_text(json.dumps({"ids": record.ids, "max_parallel": record.max_parallel,
                                   "session": record.session or self.session_name}))
        tmp.replace(folder / "array.json")

    def load(self, key: str) -> ArrayRecord | None:
        try:
            data = json.loads((self.state.array_dir(key) / "array.json").read_text())
            return ArrayRecord(key, [str(i) for i in data["ids"]], int(data["max_parallel"]), str(data["session"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def forget(self, key: str) -> None:
        """The array is done (or was rolled back): remove its folder."""
        import shutil

        shutil.rmtree(self.state.array_dir(key), ignore_errors=True)

    @contextmanager
    def lock(self, key: str, name: str = "start.lock", *, wait: bool = True) -> Iterator[bool]:
        """An flock on one of the array's lock files; yields False when
        ``wait`` is off and another process holds it."""
        folder = self.state.array_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    # ------------------------------------------------------------ starting
    def fill(self, record: ArrayRecord) -> int:
        """Start queued tasks while fewer than ``max_parallel`` are active;
        return how many may still need starting (0: only held ones, if any, are
        left: a release starts a driver again).

        Reads only the claimed tasks not seen ended (about ``max_parallel``)
        and as many unclaimed ones as there are free slots: a 1,000-task
        array costs a few calls per round, not a thousand."""
        with self.lock(record.key):
            claimed = [i for i in record.ids if i not in self._ended and self._claimed_file(record.key, i).exists()]
            observed = self.observer.many(claimed, missing_ok=True, notify=False)
            active = 0
            for job_id in claimed:
                job = observed.get(job_id)
                if job is None or job.state in TERMINAL_STATES:
                    self._ended.add(job_id)
                else:
                    active += job.task is not None
            unclaimed = [i for i in record.ids if i not in self._ended and not self._claimed_file(record.key, i).exists()]
            held = position = retry = 0
            while active < record.max_parallel and position < len(unclaimed):
                batch = unclaimed[position:position + record.max_parallel - active]
                position += len(batch)
                found = self.observer.many(batch, missing_ok=True, notify=False)
                startable: list[Snapshot] = []
                for job_id in batch:
                    job = found.get(job_id)
                    if job is None or job.state in TERMINAL_STATES:  # deleted, or terminated while queued
                        self._ended.add(job_id)
                        if job is not None:
                            self._claim(record.key, job)
                    elif job.state == JobState.QUEUED_HELD:
                        held += 1
                    elif job.state == JobState.QUEUED and (job.task is None or job.task.status == TaskStatus.CREATED):
                        # Queued — or half-started by a start that died between
                        # creating the task and starting it (nothing of the job ran).
                        startable.append(job)
                    else:  # started before a crash let it be claimed: never start it twice
                        self._claim(record.key, job)
                        active += 1
                # Side by side, as the runner allows: each start is its own task's.
                for job, started in zip(startable, self.runner.each(partial(self._start, record.key), startable)):
                    if started:
                        active += 1
                    elif not self._claimed_file(record.key, job.id).exists():
                        retry += 1  # refused this time: the next round tries it again
            return len(unclaimed) - position + retry + (0 if position >= len(unclaimed) else held)

    def _claimed_file(self, key: str, job_id: str) -> Path:
        """A task's claim: the array has started it (or found it ended)."""
        return self.state.array_dir(key) / "claimed" / job_id

    def _claim(self, key: str, job: Snapshot) -> None:
        path = self._claimed_file(key, job.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def _start(self, key: str, job: Snapshot) -> bool:
        """Start it, then claim it; True when it runs. A refusal of the job's
        program records it Failed (127) at once; another refusal leaves it
        unclaimed for a later round (the other tasks go on), and is recorded
        Failed (126) at the START_ATTEMPTS-th; a daemon that does not answer
        leaves it unclaimed, however long it takes."""
        if job.task is not None:  # the half-started task: start afresh
            self.state.pid_file(job.folder).unlink(missing_ok=True)  # it reads Queued meanwhile, not lost
            deleted = self.backend.delete_tasks([job.id])
            if set(deleted.failed) - deleted.missing():
                raise DrmCommunicationError(f"the half-started task of {job.id!r} could not be deleted: "
                                            f"{deleted.failed[job.id]}")
        started = False
        try:
            self.launcher.start_queued(job)
            started = True
        except (ProgramNotStartable, UnsupportedAttributeError) as exc:
            log.error("task %s of a throttled array cannot be started: %s", job.id, exc)
            self.launcher.record_unstarted(job, ExitRecord(127, datetime.now(timezone.utc), None))
        except InvalidArgumentError as exc:
            if (attempt := self._attempts(key, job.id)) < START_ATTEMPTS:
                log.warning("task %s of a throttled array not started (attempt %d of %d): %s",
                            job.id, attempt, START_ATTEMPTS, exc)
                return False
            log.error("task %s of a throttled array failed to start %d times; recorded Failed (%d): %s",
                      job.id, START_ATTEMPTS, NOT_STARTED, exc)
            self.launcher.record_unstarted(job, ExitRecord(NOT_STARTED, datetime.now(timezone.utc), None))
        self._claim(key, job)
        return started

    def _attempts(self, key: str, job_id: str) -> int:
        """Count one more refused start of the task; return the count."""
        path = self.state.array_dir(key) / "attempts" / job_id
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            count = int(path.read_text()) + 1
        except (OSError, ValueError):
            count = 1
        path.write_text(str(count))
        return count

    # ------------------------------------------------------------ the driver
    def driver_pid(self, key: str) -> int | None:
        """The live driver's pid; None when no driver runs (or it has not
        said its pid yet: never a pid that is not one)."""
        if not self._driver_alive(key):
            return None
        try:
            pid = int((self.state.array_dir(key) / "driver.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if pid > 0 else None

    def _driver_alive(self, key: str) -> bool:
        if not (self.state.array_dir(key) / "driver.lock").exists():
            return False
        with self.lock(key, "driver.lock", wait=False) as free:
            return not free

    def ensure_driver(self, key: str, connection: list[str]) -> int | None:
        """Start the array's driver unless one runs. The lock is taken here and
        handed to the child, so two callers never start two drivers and the
        window between spawning and running is closed. ``connection`` is the
        command line's global options naming daemon, backend and session."""
        if self.load(key) is None:
            return None  # not an array of this state directory (or done and forgotten)
        return spawn_locked(self.runner, self.state.array_dir(key), "driver",
                            lambda fd: [*connection, "drive-array", f"--lock-fd={fd}", key])

    def drive(self, key: str, lock_fd: int | None = None) -> bool:
        """The driver's life: fill until nothing is left to start. With
        ``lock_fd``, the driver lock was handed over by the spawner; without,
        it is taken here, and another driver holding it means return at once.

        Returns True when, after the lock was given up, a task was found
        waiting to start (released while this driver was ending, when a
        release could not start another): the caller starts a new driver."""
        if lock_fd is None:
            with self.lock(key, "driver.lock", wait=False) as mine:
                if not mine:
                    return False
                self._run_driver(key)
        else:
            try:
                self._run_driver(key)
            finally:
                os.close(lock_fd)
        record = self.load(key)
        return record is not None and self.fill(record) > 0

    def _run_driver(self, key: str) -> None:
        pid_file = self.state.array_dir(key) / "driver.pid"
        log.info("array %s: driver %d starts", key, os.getpid())
        pid_file.write_text(str(os.getpid()))
        events = None
        try:
            while True:
                record = self.load(key)
                if record is None:
                    return  # deleted meanwhile
                try:
                    if self.fill(record) == 0:
                        log.info("array %s: no task left to start; the driver ends", key)
                        return
                except JobNotFoundError:
                    pass  # a task deleted between listing and reading: look again
                except DrmaaError as exc:
                    log.warning("array %s: %s; trying again", key, exc)
                    time.sleep(DRIVER_POLL)
                    continue
                events = self._wait(events)
        finally:
            if events is not None:
                events.close()
            pid_file.unlink(missing_ok=True)

    def _wait(self, events: EventStream | None) -> EventStream | None:
        """Until some event or DRIVER_POLL seconds; the stream is kept open."""
        try:
            if events is None:
                events = self.backend.events([])
            if events.next(DRIVER_POLL) is not None:
                for _ in range(100):  # a burst of events is one reason to look again, not many
                    if events.next(0.05) is None:
                        break
            return events
        except DrmaaError:
            if events is not None:
                events.close()
            time.sleep(DRIVER_POLL)
            return None
