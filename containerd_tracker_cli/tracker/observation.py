"""Reading jobs: one batch observation through the backend, exits completed
the backend's way, ownership checked, and an ended job's output complete
before anyone is told it ended. :class:`Snapshot` is the tracker's one
picture of a job at one moment."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Collection, Iterable

from ..backends.base import ContainerBackend, ExitKeeping, OutputDelivery
from ..backends.errors import ContainerNotFound
from ..backends.models import ContainerInfo, TaskRecord, TaskStatus
from ..drmaa2.errors import InvalidArgumentError, JobNotFoundError
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..records import labels as L
from ..records.labels import ExitRecord, folder_of
from ..records.statedir import StateDir
from .mapping import map_state
from .paths import expand_path

#: containerd's identifier grammar (containerd/identifiers), 76 characters at most.
JOB_ID = re.compile(r"(?=.{1,76}\Z)[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")


def check_id(job_id: str) -> None:
    """Job IDs are container IDs: containerd's identifier grammar, which
    docker's hex IDs also fit. Checked before any CLI sees one, so an ID
    like ``-a`` or ``../x`` can never become an option or a path."""
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        raise InvalidArgumentError(
            f"invalid job ID {job_id!r}: letters and digits joined by single '.', '_' or '-', "
            "at most 76 characters")


@dataclass(frozen=True)
class Snapshot:
    """One job at one moment: its record, its live task (``None`` once its
    exit is recorded, or before it started), how it ended, its DRMAA2 state."""

    info: ContainerInfo
    task: TaskRecord | None
    exit: ExitRecord | None
    dispatched: bool
    started_at: datetime | None
    state: JobState
    sub_state: str

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def folder(self) -> str:
        """The job's folder in the state directory."""
        return folder_of(self.info.id, self.info.labels)


@dataclass
class Observer:
    """Reads this session's jobs, and only those."""

    backend: ContainerBackend
    state: StateDir
    #: Only this session's jobs are ours; ``None``: every session's (read-only monitoring).
    session_name: str | None
    output: OutputDelivery
    exits: ExitKeeping
    #: Told the array key of every queued task of a throttled array seen
    #: (the tracker makes sure that array's driver runs).
    on_queued_array: Callable[[str], None] | None = None
    #: Told when a job with a wallclock limit is seen unfinished (the tracker
    #: makes sure the deadline keeper runs).
    on_limited: Callable[[], None] | None = None

    def owned(self, info: ContainerInfo) -> ContainerInfo:
        if info.labels.get(L.DRMAA2) != "true":
            raise JobNotFoundError(f"container {info.id!r} is not a DRMAA2 job; the tracker leaves it alone")
        if self.session_name is not None and info.labels.get(L.SESSION) != self.session_name:
            raise JobNotFoundError(
                f"job {info.id!r} belongs to job session {info.labels.get(L.SESSION)!r}, "
                f"not {self.session_name!r}; the tracker leaves it alone"
            )
        return info

    def info(self, job_id: str) -> ContainerInfo:
        """The container record of one of *our* jobs, else JobNotFoundError."""
        check_id(job_id)
        try:
            info = self.backend.container_info(job_id)
        except ContainerNotFound:
            raise self._missing(job_id) from None
        return self.owned(info)

    def _job_files(self, snap: Snapshot) -> list[str]:
        """Where an ended job's stdout and stderr are (one file when joined),
        and its input file if it has one."""
        labels = snap.info.labels
        files = list(self.state.output_paths(snap.folder, labels))
        template = L.decode_template(labels)
        if template is not None and template.input_path:
            index = labels.get(L.ARRAY_INDEX)
            files.append(str(expand_path(template.input_path, int(index) if index and index.isdigit() else None)))
        return list(dict.fromkeys(files))

    def _missing(self, job_id: str) -> JobNotFoundError:
        return JobNotFoundError(f"job {job_id!r} not found in namespace {self.backend.namespace!r}")

    def one(self, job_id: str) -> Snapshot:
        return self.many([job_id])[job_id]

    def many(self, job_ids: Iterable[str], *, missing_ok: bool = False, notify: bool = True,
             exited: Collection[str] = ()) -> dict[str, Snapshot]:
        """The backend's batch observation, ownership checked, exits
        completed the backend's way (one harvest for all, with ctr).
        ``missing_ok``: jobs that are gone are left out instead of raising.
        ``exited``: jobs just seen ending (an exit event), which the backend
        may read faster; one whose exit is not found so is read as usual."""
        wanted = list(dict.fromkeys(job_ids))
        for job_id in wanted:
            check_id(job_id)
        # Whether each job was dispatched is read *before* its task is listed:
        # ctr writes the pid file once the task exists, so a pid file seen
        # first and a task missing after means the task really went away — and
        # a job started by another process meanwhile is not mistaken for one.
        # (Folders named by the job ID: ctr's; others are read afterwards.)
        dispatched_before = {job_id: self.state.pid_file(job_id).exists() for job_id in wanted}
        observed = self.backend.observe(wanted, exited=exited)
        if missing_ok:
            wanted = [job_id for job_id in wanted if job_id in observed]
        for job_id in wanted:
            if job_id not in observed:
                raise self._missing(job_id)
            self.owned(observed[job_id].info)
        exits = {job_id: ExitRecord.from_labels(o.info.labels) or self.state.read_exit(folder_of(job_id, o.info.labels))
                 for job_id, o in observed.items()}
        for job_id, (_, task) in observed.items():
            if exits[job_id] is None and task is not None and task.exit_status is not None:
                exits[job_id] = ExitRecord(task.exit_status, task.exited_at,  # the CLI keeps it
                                           oom_killed=task.oom_killed and task.exit_status == 137)
        try:
            exits = self.exits.complete(observed, exits)
        except JobNotFoundError:  # one was deleted meanwhile by another process
            if not missing_ok:
                raise
            return self.many(wanted, missing_ok=True, notify=notify)  # read again: it is left out
        if exited and any(exits[job_id] is None for job_id in observed if job_id in exited):
            # The event's shortcut found no exit (its task went another way):
            # read as usual, so it is judged like any other.
            return self.many(wanted, missing_ok=missing_ok, notify=notify)

        snapshots = {}
        for job_id in wanted:
            info, task = observed[job_id]
            started = task.started_at if task is not None else None
            if exits[job_id] is not None and task is not None and task.status == TaskStatus.STOPPED:
                task = None  # its exit is recorded: the task is gone or about to be
            folder = folder_of(job_id, info.labels)
            dispatched = dispatched_before[job_id] if folder == job_id else self.state.pid_file(folder).exists()
            held = info.labels.get(L.HOLD) == "true" and not self.state.released(folder_of(job_id, info.labels))
            state, sub_state = map_state(task, exits[job_id], held=held, dispatched=dispatched,
                                         limit=self.state.limit_hit(folder) if exits[job_id] else None)
            snap = snapshots[job_id] = Snapshot(info, task, exits[job_id], dispatched, started, state, sub_state)
            if snap.state in TERMINAL_STATES:
                try:
                    self.output.settle(job_id, snap.folder, info.labels, task_gone=snap.task is None)
                except JobNotFoundError:  # deleted meanwhile (its output could not be copied)
                    if not missing_ok:
                        raise
                    del snapshots[job_id]
                    continue
                self.backend.runner.settled(job_id, lambda snap=snap: self._job_files(snap))
        if notify and self.on_queued_array is not None:
            for key in {s.info.labels[L.ARRAY] for s in snapshots.values()
                        if s.state == JobState.QUEUED and s.info.labels.get(L.ARRAY)}:
                self.on_queued_array(key)
        if notify and self.on_limited is not None and any(
                s.info.labels.get(L.LIMITED) == "true" and s.state in (JobState.RUNNING, JobState.SUSPENDED)
                for s in snapshots.values()):
            self.on_limited()
        return snapshots
