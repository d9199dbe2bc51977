"""DRMAA2 ``Job`` and ``JobArray``: handles on jobs of a session, each call
one tracker call. A monitoring session's handles read only."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..drmaa2.errors import InvalidStateError
from ..drmaa2.states import TERMINAL_STATES, JobState

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo, JobTemplate
    from ..tracker import ContainerdJobTracker

#: What ``wait_started`` waits for: the job has begun, whatever came after.
STARTED = (JobState.RUNNING, JobState.SUSPENDED, JobState.DONE, JobState.FAILED)


class Job:
    def __init__(self, tracker: "ContainerdJobTracker", job_id: str, session_name: str | None = None) -> None:
        self._tracker = tracker
        self.id = job_id
        self._session_name = session_name

    def __repr__(self) -> str:
        return f"Job({self.id!r}, session_name={self.session_name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def session_name(self) -> str:
        if self._session_name is None:
            self._session_name = self._tracker.job_session_name(self.id)
        return self._session_name

    def get_id(self) -> str:
        return self.id

    def get_session_name(self) -> str:
        return self.session_name

    def get_state(self) -> tuple[JobState, str]:
        return self._tracker.job_state(self.id)

    def get_info(self) -> "JobInfo":
        return self._tracker.job_info(self.id)

    def get_template(self) -> "JobTemplate":
        return self._tracker.job_template(self.id)

    def suspend(self) -> None:
        self._tracker.job_control(self.id, "suspend")

    def resume(self) -> None:
        self._tracker.job_control(self.id, "resume")

    def hold(self) -> None:
        self._tracker.job_control(self.id, "hold")

    def release(self) -> None:
        self._tracker.job_control(self.id, "release")

    def terminate(self) -> None:
        self._tracker.job_control(self.id, "terminate")

    def wait_started(self, timeout: float | None = None) -> None:
        """Until Running (or beyond); ``None``/-1 waits for ever, 0 checks once."""
        self._tracker.wait(self.id, timeout, *STARTED)

    def wait_terminated(self, timeout: float | None = None) -> None:
        """Until Done or Failed."""
        self._tracker.wait(self.id, timeout, JobState.DONE, JobState.FAILED)

    def reap(self) -> None:
        """Remove an ended (Done/Failed) job and what the tracker kept of it."""
        self._tracker.delete_job(self.id, only_ended=True)


class JobArray:
    """The tasks of ``run_bulk_jobs``; controls apply to every task."""

    def __init__(self, tracker: "ContainerdJobTracker", array_id: str, session_name: str) -> None:
        self._tracker = tracker
        self.id = array_id
        self.session_name = session_name
        self.job_list = [Job(tracker, job_id, session_name) for job_id in json.loads(array_id)]

    def __repr__(self) -> str:
        return f"JobArray({len(self.job_list)} tasks, session_name={self.session_name!r})"

    def get_id(self) -> str:
        return self.id

    def get_jobs(self) -> list[Job]:
        return list(self.job_list)

    def get_template(self) -> "JobTemplate":
        return self._tracker.job_template(self.job_list[0].id)

    def _apply(self, action: str, allowed: frozenset[JobState], order: list[JobState] | None = None) -> None:
        """``action`` on every task in a state that allows it (one batch read);
        with ``order``, tasks in those states go first."""
        states = self._tracker.job_states([job.id for job in self.job_list])
        targets = [job_id for job_id, (state, _) in states.items() if state in allowed]
        if not targets:
            raise InvalidStateError(f"no task of the array can {action} (states: "
                                    f"{', '.join(sorted({str(s) for s, _ in states.values()}))})")
        if order:
            targets.sort(key=lambda job_id: states[job_id][0] not in order)
        for job_id in targets:
            try:
                self._tracker.job_control(job_id, action)
            except InvalidStateError:
                if self._tracker.job_state(job_id)[0] not in TERMINAL_STATES:
                    raise  # only a task that ended meanwhile is fine to skip

    def suspend(self) -> None:
        self._apply("suspend", frozenset({JobState.RUNNING}))

    def resume(self) -> None:
        self._apply("resume", frozenset({JobState.SUSPENDED}))

    def hold(self) -> None:
        self._apply("hold", frozenset({JobState.QUEUED}))

    def release(self) -> None:
        self._apply("release", frozenset({JobState.QUEUED_HELD}))

    def terminate(self) -> None:
        """Every task that has not ended; the queued ones first, so none of
        them starts in a slot a terminated task frees."""
        self._apply("terminate", frozenset({JobState.QUEUED, JobState.QUEUED_HELD, JobState.RUNNING,
                                            JobState.SUSPENDED}), order=[JobState.QUEUED, JobState.QUEUED_HELD])

    def reap(self) -> None:
        """Remove every task; all must have ended (else nothing is removed)."""
        self._tracker.delete_jobs([job.id for job in self.job_list], only_ended=True)
