"""The one place where containerd's view becomes DRMAA2 state, and where
DRMAA2 control actions are checked against states. Shared by all backends."""
from __future__ import annotations

from ..backends.models import TaskRecord, TaskStatus
from ..drmaa2.states import JobState
from ..records.labels import ExitRecord

#: The sub-state of a job the kernel killed for exceeding its memory limit.
OOM_KILLED = "oom-killed"

_TASK_STATES = {
    TaskStatus.CREATED: JobState.QUEUED,
    TaskStatus.RUNNING: JobState.RUNNING,
    TaskStatus.PAUSING: JobState.RUNNING,
    TaskStatus.PAUSED: JobState.SUSPENDED,
}


def map_state(task: TaskRecord | None, exit: ExitRecord | None, *, held: bool = False,
              dispatched: bool = False, limit: str | None = None) -> tuple[JobState, str]:
    """(DRMAA2 state, sub-state). The sub-state is containerd's raw status.

    The seed's mapping: created→Queued, running/pausing→Running,
    paused→Suspended, stopped with 0→Done, stopped otherwise→Failed, anything
    else→Undetermined. Added: a container without a task is a queued (or
    held) job; its recorded exit makes it Done/Failed after the task is gone;
    an ended job's sub-state says when the kernel killed it for its memory
    (``oom-killed``) or the tracker for a ``limit`` (``WALLCLOCK_TIME-exceeded``).
    """
    if exit is not None:
        ended = JobState.DONE if exit.exit_status == 0 else JobState.FAILED
        if limit and exit.exit_status == 137:  # the tracker's SIGKILL at the limit
            return ended, f"{limit}-exceeded"
        return ended, (OOM_KILLED if exit.oom_killed else TaskStatus.STOPPED.value)
    if task is None:
        if held:
            return JobState.QUEUED_HELD, "held"
        if dispatched:
            return JobState.UNDETERMINED, "task deleted outside the tracker; exit status unknown"
        return JobState.QUEUED, "no task"
    if task.status == TaskStatus.STOPPED:
        if task.exit_status is not None:
            return (JobState.DONE if task.exit_status == 0 else JobState.FAILED), task.status.value
        return JobState.UNDETERMINED, task.status.value
    return _TASK_STATES.get(task.status, JobState.UNDETERMINED), task.status.value


#: The states in which each DRMAA2 control action is allowed.
ALLOWED_STATES: dict[str, frozenset[JobState]] = {
    "suspend": frozenset({JobState.RUNNING}),
    "resume": frozenset({JobState.SUSPENDED}),
    "terminate": frozenset({JobState.QUEUED, JobState.QUEUED_HELD, JobState.RUNNING, JobState.SUSPENDED}),
    "hold": frozenset({JobState.QUEUED}),
    "release": frozenset({JobState.QUEUED_HELD}),
}
