"""Waiting for jobs to reach a state: react to containerd's events, and
re-read the state anyway now and then, so a broken subscription costs
latency, never a missed change. One subscription however many jobs are
waited for, shared by the waits that run at once (:mod:`.subscription`);
an event re-reads only the jobs it names (its exit goes straight to the
exit's record), and all pending jobs are re-read every few seconds."""
from __future__ import annotations

import math
from typing import Iterable

from ..drmaa2.errors import DrmaaTimeoutError, InvalidArgumentError, InvalidStateError
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..runner import Runner
from .observation import Observer, Snapshot
from .subscription import SharedEvents

#: While waiting, re-read the state this often even without events, so a
#: subscription that silently broke costs latency, never a missed change.
SAFETY_POLL = 5.0
#: Re-read interval when the CLI cannot prove its event subscription live.
UNPROVEN_POLL = 0.5


def names(states: frozenset[JobState]) -> str:
    return " or ".join(str(s) for s in sorted(states))


def wanted_states(states: Iterable[JobState | str]) -> frozenset[JobState]:
    try:
        return frozenset(JobState.parse(s) for s in states) or TERMINAL_STATES
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from exc


def _never(job: Snapshot, wanted: frozenset[JobState]) -> InvalidStateError | None:
    """Why ``job`` can never reach ``wanted`` (None: it still may)."""
    if job.state == JobState.UNDETERMINED and job.task is None:
        return InvalidStateError(f"job {job.id!r} is {job.state} ({job.sub_state}) and will change no more")
    if job.state in TERMINAL_STATES and not (wanted & TERMINAL_STATES):
        return InvalidStateError(f"job {job.id!r} has ended ({job.state}) and will never be {names(wanted)}")
    return None


def wait(observer: Observer, subscription: SharedEvents, runner: Runner, job_ids: list[str],
         timeout: float | None, states: Iterable[JobState | str], *, any_of: bool = False) -> str:
    """Return once every job (``any_of``: one of them) is in one of
    ``states`` (default: Done or Failed); returns the job that completed the
    wait. ``timeout`` is in seconds; 0 checks once; ``None``, a negative value
    or ``math.inf`` waits for ever. The subscription is proven live before the
    state is read, so a change just before the wait began is never missed.
    A job that can never get there raises InvalidStateError (``any_of``:
    only once none of them can)."""
    wanted = wanted_states(states)
    if not job_ids:
        raise InvalidArgumentError("no jobs to wait for")
    forever = timeout is None or timeout < 0 or math.isinf(timeout)
    deadline = math.inf if forever else runner.monotonic() + float(timeout)  # type: ignore[arg-type]
    pending = list(dict.fromkeys(job_ids))
    last = pending[-1]
    hopeless: list[InvalidStateError] = []

    def reached(only: set[str] | None = None, exited: frozenset[str] = frozenset()) -> str | None:
        """Read the pending jobs (``only``: those of them an event named;
        ``exited``: those it says ended)."""
        nonlocal last
        targets = [job_id for job_id in pending if only is None or job_id in only]
        if not targets:
            return None
        for job_id, job in observer.many(targets, exited=exited).items():
            if job.state in wanted:
                if any_of:
                    return job_id
                pending.remove(job_id)
                last = job_id
            elif (why := _never(job, wanted)) is not None:
                if not any_of:
                    raise why
                pending.remove(job_id)
                hopeless.append(why)
        if pending:
            return None
        if any_of:  # every one of them ended elsewhere
            raise hopeless[0] if len(hopeless) == 1 else InvalidStateError(
                f"none of the {len(hopeless)} jobs can reach {names(wanted)} any more: {hopeless[0]}")
        return last

    def timed_out() -> DrmaaTimeoutError:
        who = f"job {pending[0]!r}" if len(pending) == 1 else f"{'none' if any_of else 'not all'} of " \
              f"{len(pending)} jobs"
        return DrmaaTimeoutError(f"{who} did not reach {names(wanted)} within {timeout:.3g} s")

    if (done := reached()) is not None:
        return done
    if runner.monotonic() >= deadline:
        raise timed_out()
    with subscription.listen(pending, runner.unique_token) as (events, proven):
        # An event re-reads the jobs it names; every `poll` seconds all are
        # re-read anyway, in case the stream broke or could not be proven live.
        poll = SAFETY_POLL if proven else UNPROVEN_POLL
        if (done := reached()) is not None:  # what changed while subscribing
            return done
        full_read = runner.monotonic()
        while True:
            remaining = deadline - runner.monotonic()
            if remaining <= 0:
                raise timed_out()
            event = events.next(min(remaining, max(0.0, poll - (runner.monotonic() - full_read))))
            named = event.container_id if event is not None else None
            if named is None or runner.monotonic() - full_read >= poll:
                done, full_read = reached(), runner.monotonic()
            else:
                ended = event.exited_container if event is not None else None
                done = reached({named}, frozenset([ended]) if ended else frozenset())
            if done is not None:
                return done
