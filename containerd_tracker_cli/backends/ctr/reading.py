"""How ctr reads many jobs in a constant number of calls.

ctr prints a container's labels one container at a time, so the state of N
jobs would cost N ``containers info``. Instead: one ``tasks list`` first,
then container records — copies kept in the state directory
(:mod:`.records`) brought up to date by listings, and ``containers info``
only where no copy can be trusted. A mixin of :class:`.backend.CtrBackend`,
whose listings it uses.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Collection, Iterable, Mapping

from ...records import labels as L
from ..base import Observed
from ..errors import ContainerNotFound
from ..models import ContainerInfo, TaskRecord, TaskStatus

if TYPE_CHECKING:
    from ...runner import Runner
    from .records import RecordCache

#: Up to this many jobs are read one ``containers info`` each, kept records
#: or not: so ``job_state`` costs two ctr calls (the listings cost up to three).
DIRECT_READS = 2


class RecordReads:
    """``observe`` for ctr, over the backend's listings and kept records."""

    #: Kept container records (``None``: ask containerd each time).
    records: "RecordCache | None"
    runner: "Runner"

    if TYPE_CHECKING:  # the backend's calls this reads through
        def list_tasks(self) -> dict[str, TaskRecord]: ...

        def list_container_ids(self, labels: Mapping[str, str]) -> list[str]: ...

        def container_info(self, container_id: str) -> ContainerInfo: ...

        def _ids_labelled(self, key: str) -> list[str]: ...

    def observe(self, container_ids: Iterable[str], *, exited: Collection[str] = ()) -> dict[str, Observed]:
        """One ``tasks list`` for all, listed *first* (exits are labelled
        before their task is deleted, so a task missing from this listing has
        its exit in any record read after it), then records: kept copies (see
        :mod:`.records`) checked against listings — every container, and
        when some job may have ended or be held, those labelled so — and
        ``containers info`` only for a record not kept yet or newly ended.
        For a job or two (where the listings would cost more than they save):
        the kept copy while a task is listed, else one ``containers info``
        each (always, where no records are kept), several at once as the
        runner allows. Jobs just seen ``exited``: their kept copies with a
        stopped task and no call at all (see _kept_exited)."""
        wanted = list(dict.fromkeys(container_ids))
        if exited and (known := self._kept_exited(wanted, exited)) is not None:
            return known
        tasks = self.list_tasks()
        listed = self.records is not None and len(wanted) > DIRECT_READS
        infos = self._records(wanted, tasks) if listed else {cid: self._kept_with_task(cid, tasks) for cid in wanted}
        unread = [cid for cid, info in infos.items() if info is None]
        infos.update(zip(unread, self.runner.each(self._read_record, unread)))  # side by side
        return {cid: Observed(info, tasks.get(cid)) for cid, info in infos.items() if info is not None}

    def _kept_with_task(self, container_id: str, tasks: Mapping[str, TaskRecord]) -> ContainerInfo | None:
        """The kept copy of a job whose task is listed: its container exists,
        and its record changes no more until its exit is labelled — after the
        task stopped, and labelling again what another process just labelled
        writes the same values. ``None``: containerd must be asked."""
        if self.records is None or container_id not in tasks:
            return None
        return self.records.get(container_id)

    def _kept_exited(self, wanted: list[str], exited: Collection[str]) -> dict[str, Observed] | None:
        """After an exit event of a job or two: their kept copies (not yet
        carrying an exit) with a stopped task, so the exit is harvested from
        the shim without a ``tasks list`` first — the shim's answer, not the
        event's, is the status recorded, and a task gone meanwhile is found
        by the harvest. ``None``: containerd must be asked."""
        if self.records is None or len(wanted) > DIRECT_READS or not set(wanted) <= set(exited):
            return None
        kept = [self.records.get(cid) for cid in wanted]
        if any(info is None or L.EXIT_STATUS in info.labels for info in kept):
            return None
        # (pid 0: a stopped task's pid is read by nobody once its exit is recorded)
        return {info.id: Observed(info, TaskRecord(container_id=info.id, pid=0, status=TaskStatus.STOPPED))
                for info in kept if info is not None}

    def _read_record(self, container_id: str) -> ContainerInfo | None:
        """``containers info``, kept where records are; ``None``: it is gone."""
        try:
            info = self.container_info(container_id)
        except ContainerNotFound:
            return None
        if self.records is not None:
            self.records.put(info)
        return info

    def _records(self, wanted: list[str], tasks: Mapping[str, TaskRecord]) -> dict[str, ContainerInfo | None]:
        """Kept records of the ``wanted`` containers that exist, brought up to
        date by listings; ``None`` where containerd must be asked."""
        assert self.records is not None
        listed_at = time.time()
        present = set(self.list_container_ids({}))
        self.records.drop(cid for cid in wanted if cid not in present)
        self.records.prune(present, listed_at)
        infos = {cid: self.records.get(cid) for cid in wanted if cid in present}
        # Its exit label may have come, or its hold changed: no live task, no exit kept.
        open_ = [cid for cid, info in infos.items() if info is not None and L.EXIT_STATUS not in info.labels
                 and (cid not in tasks or tasks[cid].status == TaskStatus.STOPPED)]
        if open_:
            ended = set(self._ids_labelled(L.EXIT_STATUS))
            held = set(self.list_container_ids({L.HOLD: "true"}))
            for cid in open_:
                if cid in ended:
                    infos[cid] = None  # read it once more, with its exit
                elif cid in held:
                    kept = infos[cid]
                    infos[cid] = kept.model_copy(update={"labels": {**kept.labels, L.HOLD: "true"}})
        return infos
