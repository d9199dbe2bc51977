"""Container records ctr cannot list: kept in the state directory, so the
state of many jobs costs a constant number of ctr calls.

ctr prints a container's labels only one container at a time
(``ctr containers info``), so without a copy, the state of N jobs costs N
calls. A record never changes after creation except in known labels:

* the exit record (``containerd-tracker/exit-status`` and its companions) is
  written once, when the job has ended; the process that writes it amends
  its copy, and for the others ``ctr containers list`` with a presence
  filter names every container that carries it, so a copy made before is
  read afresh once;
* ``containerd-tracker/hold`` comes and goes: never kept, always learned from
  a filtered listing;
* the subscription probe's label: never kept, nobody reads it from a record.

A copy is keyed by container ID and dropped when the tracker deletes the
container, or when a listing shows it gone: the first listing of every
container a process makes also drops the copies of all containers deleted
elsewhere since (``prune``). Each daemon has its own folder (a hash of its
address), so processes talking to two daemons never prune each other's. Copies are private to the user (a job's
template, environment included, is in its labels).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Mapping

from pydantic import ValidationError

from ...records import labels as L
from ...records.statedir import write_atomically
from ..models import ContainerInfo

log = logging.getLogger(__name__)

#: Labels whose value may change while a job lives and is not yet ended.
CHANGING = (L.HOLD, L.PROBE)


class RecordCache:
    """One JSON file per container: ``<folder>/<container ID>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pruned = False

    def _path(self, container_id: str) -> Path:
        return self.folder / f"{container_id}.json"

    def get(self, container_id: str) -> ContainerInfo | None:
        """The kept record, without the changing labels; ``None`` if none
        (or it is unreadable: it is then read from containerd again)."""
        try:
            return ContainerInfo.model_validate_json(self._path(container_id).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, ValidationError) as exc:
            log.warning("kept record of %s unreadable, asking containerd: %s", container_id, exc)
            return None

    def put(self, info: ContainerInfo) -> None:
        """Keep ``info`` (minus the changing labels); a failure to write only
        costs a later ``ctr containers info``."""
        kept = info.model_copy(update={"labels": {k: v for k, v in info.labels.items() if k not in CHANGING}})
        path = self._path(info.id)
        text = kept.model_dump_json()
        try:
            if path.read_text() == text:
                return  # kept already (a job or two are read afresh each time)
        except OSError:
            pass
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(path, text, 0o600)  # its own temporary file per writer
        except OSError as exc:
            log.warning("cannot keep the record of %s in %s: %s", info.id, self.folder, exc)

    def amend(self, container_id: str, labels: Mapping[str, str]) -> None:
        """Labels this process has just written (an empty value removes one)
        into the kept copy, if there is one."""
        kept = self.get(container_id)
        if kept is not None:
            merged = {**kept.labels, **labels}
            self.put(kept.model_copy(update={"labels": {k: v for k, v in merged.items() if v}}))

    def prune(self, present: Iterable[str], listed_at: float) -> None:
        """Drop the copies of containers not ``present`` (deleted elsewhere,
        e.g. by ``ctr containers rm``), once per cache: only copies written
        before the listing (``listed_at``, a ``time.time()``), so one another
        process keeps meanwhile for a container it just made stays."""
        if self._pruned:
            return
        self._pruned = True
        present = set(present)
        try:
            stale = [path.stem for path in self.folder.glob("*.json")
                     if path.stem not in present and path.stat().st_mtime < listed_at]
        except OSError:  # the folder, or a copy, went meanwhile: next process
            return
        self.drop(stale)

    def drop(self, container_ids: Iterable[str]) -> None:
        for cid in container_ids:
            try:
                self._path(cid).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot drop the kept record of %s: %s", cid, exc)
