"""Recording how jobs ended, durably, in containerd itself.

ctr prints a stopped task's exit status in no listing, and containerd
forgets it once the task is deleted. Its shim holds it until then, with the
exit time (``ctr shim --id ID state``, alike in containerd 1.6, 1.7 and 2.x,
and answered even while the daemon is down). So a finished job is
"harvested" by whichever tracker process first sees it stopped:

1. read status and exit time from the task's shim, and the task's CPU time
   while its cgroup still exists;
2. write them as labels on the container;
3. only then delete the task (one ctr call for all).

Until step 3 containerd holds the status, and from step 2 on the labels do:
a process killed at any point leaves the job readable with its exact status
by the next reader, who repeats what was not done. Two processes harvesting
at once read the same shim and write the same labels; one of the deletes
finds the task gone, which is fine.

(The ``/tasks/delete`` event also carries status and time, but containerd
2.1 drops about one in ten of them, and a status learnt from it can be lost
between the delete and the labels. ctr's own "exit with non-zero exit code
N" warning on delete is the last resort, when a shim cannot be asked.)
"""
from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ...drmaa2.errors import DrmaaError, JobNotFoundError
from ...records.labels import ExitRecord, folder_of, oom_killed
from ...records.statedir import StateDir
from ..base import ExitKeeping, Observed
from ..errors import ContainerNotFound
from ..models import TaskStatus
from .logger import LoggerOutput

if TYPE_CHECKING:
    from .backend import CtrBackend

log = logging.getLogger(__name__)


#: Where a job's logger saved its shim's state, by container ID (None: nothing saved).
SavedState = Callable[[str], "str | None"]


class ShimExits(ExitKeeping):
    """ctr's exit keeping: harvest stopped tasks, recover the tasks a
    restart deleted, finish deletes that were interrupted."""

    def __init__(self, backend: "CtrBackend", state: StateDir, output: LoggerOutput) -> None:
        self.recorder = ExitRecorder(backend)
        self.backend = backend
        self.state = state
        self.output = output

    def complete(self, observed: Mapping[str, Observed], exits: dict[str, ExitRecord | None]) \
            -> dict[str, ExitRecord | None]:
        def folder(job_id: str) -> str:
            return folder_of(job_id, observed[job_id].info.labels)

        def saved(job_id: str) -> str | None:
            return self.output.saved_shim_state(folder(job_id))

        def stopped(job_id: str) -> bool:
            task = observed[job_id].task
            return task is not None and task.status == TaskStatus.STOPPED

        unrecorded = [job_id for job_id in observed if exits[job_id] is None and stopped(job_id)]
        if unrecorded:
            for job_id, record in self.recorder.harvest(unrecorded, saved).items():
                if record is not None:
                    exits[job_id] = record
                elif job_id not in self.backend.observe([job_id]):
                    raise JobNotFoundError(f"job {job_id!r} was deleted meanwhile by another process")
        lost = [job_id for job_id, (_, task) in observed.items()
                if exits[job_id] is None and task is None and self.state.pid_file(folder(job_id)).exists()]
        exits.update(self.recorder.recover(lost, saved))
        leftover = [job_id for job_id in observed
                    if job_id not in unrecorded and exits[job_id] is not None and stopped(job_id)]
        if leftover:
            self.recorder.finish(leftover)
        return exits


class ExitRecorder:
    def __init__(self, backend: "CtrBackend") -> None:
        self.backend = backend

    def harvest(self, container_ids: Iterable[str], saved: SavedState) -> dict[str, ExitRecord | None]:
        """Record the exit of each stopped task; ``None`` where it could not
        be known or not be written (the task then stays: containerd keeps it)."""
        ids = list(dict.fromkeys(container_ids))
        if not ids:
            return {}
        each = self.backend.runner.each
        # Each shim's answer and each cgroup's usage: read-only, due before the
        # delete, so all side by side (as many at once as the runner allows).
        reads = each(lambda read: read(), [*(partial(self.backend.task_exit, cid) for cid in ids),
                                           *(partial(self.backend.task_usage, cid) for cid in ids)])
        tasks = {cid: task for cid, task in zip(ids, reads) if task is not None}
        usages = dict(zip(ids, reads[len(ids):]))
        # A shim that cannot be asked: its task may have been harvested and
        # deleted by another process meanwhile (more likely after an exit
        # event, when no listing came first). Its record, CPU time and all,
        # is then in the labels: taken as it is, never written again.
        shimless = [cid for cid in ids if cid not in tasks]
        elsewhere = {cid: record for cid, record in zip(shimless, each(self._recorded, shimless))
                     if record is not None}
        for cid in shimless:  # else what the job's logger saved of its shim
            if cid not in elsewhere and (text := saved(cid)) and (task := self.backend.saved_task(cid, text)):
                tasks[cid] = task

        def label(cid: str) -> ExitRecord | DrmaaError | None:
            task, usage = tasks[cid], usages[cid]
            record = ExitRecord(task.exit_status or 0, task.exited_at, usage.cpu_ns if usage else None,
                                oom_killed=oom_killed(task.exit_status or 0, usage.oom_kills if usage else 0))
            try:
                self.backend.set_labels(cid, record.to_labels())
                return record
            except ContainerNotFound:  # deleted meanwhile by another process: nothing left to record
                return None
            except DrmaaError as exc:  # not recorded: keep the task, so containerd keeps the status
                log.error("exit of %s (%s) could not be recorded: %s", cid, record, exc)
                return exc

        labelled = dict(zip(tasks, each(label, list(tasks))))
        problem = next((r for r in labelled.values() if isinstance(r, DrmaaError)), None)
        results: dict[str, ExitRecord | None] = {
            cid: r if isinstance(r, ExitRecord) else None for cid, r in labelled.items()}
        unasked = [cid for cid in ids if cid not in tasks and cid not in elsewhere]
        # (a task recorded elsewhere is deleted too, should its harvester have died before)
        deleted = self.backend.delete_tasks([cid for cid in tasks if results[cid]] + unasked + list(elsewhere))
        results.update(elsewhere)
        for cid in unasked:
            results[cid] = self._after_the_fact(cid, deleted.codes, deleted.failed)
        deleted.raise_error()  # after recording what could be
        if problem is not None and not any(results.values()):
            raise problem
        return results

    def _recorded(self, cid: str) -> ExitRecord | None:
        """The exit another process recorded in the container's labels, if
        any (unreadable now: the harvest goes on without it)."""
        try:
            return ExitRecord.from_labels(self.backend.container_info(cid).labels)
        except ContainerNotFound:
            return None
        except DrmaaError as exc:
            log.warning("the labels of %s could not be read: %s", cid, exc)
            return None

    def recover(self, container_ids: Iterable[str], saved: SavedState) -> dict[str, ExitRecord]:
        """Exits of jobs whose task is gone unrecorded — containerd 1.7+ delete
        stopped tasks when they restart — from what their loggers saved;
        labelled, so containerd holds them again."""
        found = {}
        for cid in container_ids:
            text = saved(cid)
            task = self.backend.saved_task(cid, text) if text else None
            if task is None:
                continue
            record = found[cid] = ExitRecord(task.exit_status or 0, task.exited_at)
            try:
                self.backend.set_labels(cid, record.to_labels())
            except DrmaaError as exc:  # the saved file still holds it
                log.warning("exit of %s (%s) read from its logger, not labelled: %s", cid, record, exc)
        return found

    def finish(self, container_ids: Iterable[str]) -> None:
        """Delete the tasks of exits already recorded: a harvester was killed
        between writing the labels and deleting."""
        self.backend.delete_tasks(container_ids).raise_error()

    def _after_the_fact(self, cid: str, codes: dict[str, int], failed: Mapping[str, object]) -> ExitRecord | None:
        """A task whose shim could not be asked: another process harvested it
        (its labels say how it ended), or ctr's delete warning gives the status."""
        if cid in failed:
            try:
                return ExitRecord.from_labels(self.backend.container_info(cid).labels)
            except ContainerNotFound:
                return None
        if cid not in codes:
            return None
        log.warning("the shim of %s could not be asked; exit status from ctr, finish time unknown", cid)
        record = ExitRecord(codes[cid], None, None)
        try:
            self.backend.set_labels(cid, record.to_labels())
        except DrmaaError as exc:
            log.error("exit of %s (%s) could not be recorded: %s", cid, record, exc)
        return record
