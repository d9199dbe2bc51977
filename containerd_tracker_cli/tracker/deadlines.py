"""Wallclock limits (DRMAA2 ``WALLCLOCK_TIME``), kept also when nobody watches.

A job with a limit carries ``containerd-tracker/wallclock`` (seconds) and
``containerd-tracker/limited``. One small **keeper** process per namespace
and state directory (``python -m containerd_tracker_cli … keep-deadlines``,
detached; pid in ``deadlines/<ns>/keeper.pid``, log ``keeper.log``) lists
the limited jobs, kills each one (SIGKILL, a hard limit like Grid Engine's
``h_rt``) its limit after it started, marks why in its folder, and sleeps
until the next deadline (at most a few seconds). It ends by itself once no
limited job with a known start is running or suspended. Submitting or
starting a limited job (a release, a throttled array's driver) starts it,
and so does any tracker read that sees a limited job running with no
keeper: a killed keeper makes limits late until then. The limit counts from
the dispatch time (the pid file's mtime, else the task's start), so time
spent queued or held does not count.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import Callable

from ..drmaa2.errors import DrmaaError
from ..drmaa2.states import JobState
from ..records import labels as L
from ..records.statedir import StateDir
from ..runner import Runner
from .helpers import spawn_locked
from .observation import Observer, Snapshot

log = logging.getLogger(__name__)

#: The keeper looks at its jobs at least this often.
KEEPER_POLL = 2.0
#: Why a job ended, as its info says it (sub-state and ``limit_exceeded``).
WALLCLOCK_EXCEEDED = "WALLCLOCK_TIME"
_RUNNING = (JobState.RUNNING, JobState.SUSPENDED)


def deadline_of(job: Snapshot, state: StateDir) -> float | None:
    """When the job's wallclock limit runs out (epoch seconds); ``None``:
    no limit, or not started yet."""
    try:
        limit = int(job.info.labels[L.WALLCLOCK])
    except (KeyError, ValueError):
        return None
    try:
        started = state.pid_file(job.folder).stat().st_mtime
    except OSError:
        if job.started_at is None:
            return None
        started = job.started_at.timestamp()
    return started + limit


class Deadlines:
    def __init__(self, state: StateDir, runner: Runner, observer: Observer,
                 kill: Callable[[Snapshot], None], list_limited: Callable[[], list[str]]) -> None:
        self.state = state
        self.runner = runner
        self.observer = observer
        self.kill = kill
        self.list_limited = list_limited

    @property
    def folder(self) -> Path:
        return self.state.root / "deadlines" / self.state.namespace

    # ------------------------------------------------------------ the keeper
    def keeper_pid(self) -> int | None:
        """The running keeper's pid (``None``: none runs)."""
        try:
            fd = os.open(self.folder / "keeper.lock", os.O_RDWR)
        except OSError:
            return None  # never started here
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return None  # free: nobody keeps it
        except BlockingIOError:
            try:
                return int((self.folder / "keeper.pid").read_text()) or None
            except (OSError, ValueError):
                return None
        finally:
            os.close(fd)

    def ensure_keeper(self, connection: list[str]) -> int | None:
        """Start the keeper unless one runs; the lock is taken here and handed
        to it, so two callers never start two."""
        return spawn_locked(self.runner, self.folder, "keeper",
                            lambda fd: [*connection, "keep-deadlines", f"--lock-fd={fd}"])

    def keep(self, lock_fd: int | None) -> bool:
        """The keeper's life: until no limited job is unfinished. Returns True
        when, after letting go of the lock, a limited job was found unfinished
        (submitted as it was ending): the caller starts a new keeper."""
        if lock_fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(self.folder / "keeper.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock_fd)
                return False
        pid_file = self.folder / "keeper.pid"
        try:
            pid_file.write_text(str(os.getpid()))
            log.info("keeper %d starts", os.getpid())
            while (pause := self.round()) is not None:
                time.sleep(pause)
            log.info("no limited job left running; the keeper ends")
        finally:
            pid_file.unlink(missing_ok=True)
            os.close(lock_fd)
        return self.round(act=False) is not None

    def round(self, *, act: bool = True) -> float | None:
        """Terminate what is past its deadline; return how long to sleep
        (``None``: nothing left to keep: no limited job with a known start
        runs; one started later starts a keeper again)."""
        try:
            jobs = self.observer.many(self.list_limited(), missing_ok=True, notify=False)
        except DrmaaError as exc:
            log.warning("cannot read the limited jobs (%s); trying again", exc)
            return KEEPER_POLL
        deadlines = {job.id: (job, deadline) for job in jobs.values()
                     if job.state in _RUNNING and (deadline := deadline_of(job, self.state)) is not None}
        if not deadlines:
            return None
        now = time.time()
        pause = KEEPER_POLL
        for job, deadline in deadlines.values():
            if deadline > now:
                pause = min(pause, deadline - now)
            elif act:
                self._end(job)
        return max(pause, 0.05)

    def _end(self, job: Snapshot) -> None:
        log.info("job %s reached its wallclock limit of %s s; killing it", job.id, job.info.labels[L.WALLCLOCK])
        # Marked first, so whoever reads the exit reads why; it counts only
        # with the status of a SIGKILL (a job that ended by itself meanwhile
        # keeps its own status and sub-state).
        self.state.mark_limit(job.folder, WALLCLOCK_EXCEEDED)
        try:
            self.kill(job)
        except DrmaaError as exc:
            log.warning("job %s: killing it at its wallclock limit failed (%s); trying again", job.id, exc)
