"""Waiting for a job to reach a state: react to containerd's events, and
re-read the state anyway now and then, so a broken subscription costs
latency, never a missed change."""
from __future__ import annotations

import math
import time

from ..backends.base import ContainerBackend
from ..drmaa2.errors import DrmaaTimeoutError, InvalidArgumentError, InvalidStateError
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..runner import Runner
from .observation import Observer

#: While waiting, re-read the state this often even without events, so a
#: subscription that silently broke costs latency, never a missed change.
SAFETY_POLL = 5.0
#: Re-read interval when the CLI cannot prove its event subscription live.
UNPROVEN_POLL = 0.5


def names(states: frozenset[JobState]) -> str:
    return " or ".join(str(s) for s in sorted(states))


def wait(observer: Observer, backend: ContainerBackend, runner: Runner, job_id: str, timeout: float | None,
         *states: JobState) -> None:
    """Return once the job is in one of ``states`` (default: Done or Failed).

    ``timeout`` is in seconds; 0 checks once; ``None``, a negative value or
    ``math.inf`` waits for ever. The subscription is proven live before the
    state is read, so a change just before the wait began is never missed.
    """
    try:
        wanted = frozenset(JobState.parse(s) for s in states) or TERMINAL_STATES
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from exc
    forever = timeout is None or timeout < 0 or math.isinf(timeout)
    deadline = math.inf if forever else time.monotonic() + float(timeout)  # type: ignore[arg-type]

    def reached() -> bool:
        job = observer.one(job_id)
        if job.state in wanted:
            return True
        if job.state == JobState.UNDETERMINED and job.task is None:
            raise InvalidStateError(
                f"job {job_id!r} is {job.state} ({job.sub_state}) and will change no more")
        if job.state in TERMINAL_STATES and not (wanted & TERMINAL_STATES):
            raise InvalidStateError(f"job {job_id!r} has ended ({job.state}) and will never be {names(wanted)}")
        return False

    if reached():
        return
    if time.monotonic() >= deadline:
        raise DrmaaTimeoutError(f"job {job_id!r} did not reach {names(wanted)} within {timeout:.3g} s")
    with backend.events([job_id]) as events:
        proven = backend.prove_subscribed(events, job_id, runner.unique_token())
        # Any event of this job may change its state; so may nothing, if
        # the stream broke or could not be proven live: re-read anyway.
        poll = SAFETY_POLL if proven else UNPROVEN_POLL
        while not reached():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DrmaaTimeoutError(f"job {job_id!r} did not reach {names(wanted)} within {timeout:.3g} s")
            events.next(min(remaining, poll))
