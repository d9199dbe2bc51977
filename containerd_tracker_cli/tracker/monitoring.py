"""A read-only tracker over every job session of a namespace: what DRMAA2's
monitoring session sees. It reads states and infos; it submits, controls
and deletes nothing."""
from __future__ import annotations

from typing import Any, NoReturn

from ..drmaa2.errors import UnsupportedOperationError
from ..drmaa2.states import JobState
from ..records import labels as L
from .tracker import ContainerdJobTracker

MONITORING = "(monitoring)"


class MonitoringTracker(ContainerdJobTracker):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MONITORING, **kwargs)
        self._observer.session_name = None  # every session's jobs
        self._observer.on_queued_array = None  # starts no driver either
        self._observer.on_limited = self._launcher.on_limited_start = None  # nor the deadline keeper

    def list_jobs(self) -> list[str]:
        """Every DRMAA2 job of the namespace, whatever its session: one call."""
        return self.backend.list_container_ids({L.DRMAA2: "true"})

    def overview(self, job_ids: list[str]) -> dict[str, tuple[str, JobState, str]]:
        """(session, state, sub-state) of each job, in one batch observation."""
        return {job_id: (job.info.labels.get(L.SESSION, ""), job.state, job.sub_state)
                for job_id, job in self._observer.many(job_ids, missing_ok=True).items()}

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnsupportedOperationError("a monitoring session only reads jobs: it cannot submit, control or reap")

    add_job = add_array_job = job_control = delete_job = delete_jobs = _read_only  # type: ignore[assignment]
