"""Recording how jobs ended, durably, in containerd itself.

ctr prints a stopped task's exit status in no listing, and the status is
gone once the task is deleted. But deleting a task emits ``/tasks/delete``
carrying the exact ``exit_status`` and ``exited_at``. So a finished job is
"harvested" by whichever tracker process first sees it stopped:

1. subscribe to the job's events and prove the subscription is live (set a
   probe label and wait for our own ``/containers/update``);
2. read the task's CPU time while its cgroup still exists;
3. delete the task and take status and time from the ``/tasks/delete`` event
   (ctr's stderr warning is the fallback for the status);
4. write them as labels on the container.

Until step 3 the status is held by containerd, so a job that ended while no
tracker process was alive is read exactly later. Two processes harvesting at
once both see the one delete event (or the winner's labels), so neither
loses the status.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterable

from ..backends.base import ContainerBackend, EventStream
from ..backends.errors import ContainerNotFound
from ..backends.models import Event
from ..drmaa2.errors import DrmaaError
from .labels import ExitRecord

log = logging.getLogger(__name__)

#: How long to wait for our own probe event or another harvester's labels.
SETTLE_TIMEOUT = 10.0
#: Events on one ctr command line: filters are two argv entries per job.
BATCH = 100


class ExitRecorder:
    def __init__(self, backend: ContainerBackend, new_token: Callable[[], str],
                 settle_timeout: float = SETTLE_TIMEOUT) -> None:
        self.backend = backend
        self.new_token = new_token
        self.settle_timeout = settle_timeout

    def harvest(self, container_ids: Iterable[str], events: EventStream | None = None
                ) -> dict[str, ExitRecord | None]:
        """Record the exit of each stopped task; ``None`` where it could not be known.

        ``events`` may be a subscription already proven live that covers all
        the IDs (``wait`` has one): it is used instead of opening another.
        """
        ids = list(dict.fromkeys(container_ids))
        results: dict[str, ExitRecord | None] = {}
        if events is not None:
            return self._harvest_batch(ids, events)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            with self.backend.events(batch) as fresh:
                results.update(self._harvest_batch(batch, fresh, prove=True))
        return results

    def _harvest_batch(self, ids: list[str], events: EventStream, prove: bool = False
                       ) -> dict[str, ExitRecord | None]:
        cpu = {cid: self.backend.task_cpu_ns(cid) for cid in ids}
        seen: dict[str, ExitRecord] = {}

        def take(event: Event) -> None:
            cid = event.container_id
            if cid not in cpu or cid in seen:
                return
            if event.topic == "/tasks/delete":
                seen[cid] = ExitRecord(event.exit_status, event.exited_at, cpu.get(cid))
            elif event.topic == "/containers/update":
                record = ExitRecord.from_labels(event.labels)  # another harvester finished first
                if record:
                    seen[cid] = record

        if prove:
            self.backend.prove_subscribed(events, ids[0], self.new_token(), on_event=take,
                                          timeout=self.settle_timeout)
        codes, failed = self.backend.delete_tasks(ids)
        # From here containerd no longer holds these statuses: whatever fails
        # below, what was learnt is written before any error goes up.
        problem: BaseException | None = None
        try:
            deadline = time.monotonic() + self.settle_timeout
            while set(ids) - set(seen) and (remaining := deadline - time.monotonic()) > 0:
                event = events.next(min(remaining, 0.5))
                if event is not None:
                    take(event)
                elif set(ids) - set(seen) <= set(failed):
                    # Only tasks someone else deleted are missing: read their labels.
                    for cid in set(failed) - set(seen):
                        try:
                            record = ExitRecord.from_labels(self.backend.container_info(cid).labels)
                        except ContainerNotFound:
                            failed[cid] = "container deleted meanwhile"
                            seen.setdefault(cid, None)  # type: ignore[arg-type]
                            continue
                        if record:
                            seen[cid] = record
        except DrmaaError as exc:  # a broken event stream: fall back to ctr's stderr
            problem = exc
        results: dict[str, ExitRecord | None] = {}
        for cid in ids:
            record = seen.get(cid)
            if record is None and cid in codes:
                log.warning("no delete event for %s; exit status from ctr, finish time unknown", cid)
                record = ExitRecord(codes[cid], None, cpu.get(cid))
            if record is not None and cid not in failed:
                try:
                    self.backend.set_labels(cid, record.to_labels())
                except DrmaaError as exc:
                    log.error("exit of %s (%s) could not be recorded: %s", cid, record, exc)
                    problem = problem or exc
            results[cid] = record
        if problem is not None and not any(results.values()):
            raise problem
        return results
