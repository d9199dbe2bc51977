"""DRMAA2 job control: suspend, resume, hold, release, terminate — each
checked against the job's state first (:data:`.mapping.ALLOWED_STATES`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, ContextManager

from ..backends.base import ContainerBackend, OutputDelivery
from ..backends.errors import BackendError
from ..drmaa2.errors import DrmaaTimeoutError, InvalidArgumentError, InvalidStateError, UnsupportedOperationError
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..drmaa2.tracker import CONTROL_ACTIONS
from ..records import labels as L
from ..records.labels import ExitRecord
from ..records.statedir import StateDir
from .launch import Launcher
from .mapping import ALLOWED_STATES
from .observation import Observer, Snapshot

log = logging.getLogger(__name__)

#: wait(job_id, timeout, *states), as the tracker offers it.
Wait = Callable[..., None]


@dataclass
class Controller:
    backend: ContainerBackend
    state: StateDir
    observer: Observer
    launcher: Launcher
    output: OutputDelivery
    wait: Wait
    terminate_grace: float
    #: The lock a throttled array's starts run under, by array key.
    array_lock: Callable[[str], ContextManager[bool]]
    #: Makes sure a throttled array's driver runs (a released task waits for it).
    ensure_driver: Callable[[str], None]

    def control(self, job_id: str, action: str) -> None:
        if action not in CONTROL_ACTIONS:
            raise InvalidArgumentError(
                f"unknown job control action {action!r}: use one of {', '.join(CONTROL_ACTIONS)}")
        job = self.observer.one(job_id)
        array = job.info.labels.get(L.ARRAY)
        if array and job.task is None:  # the array's driver may be starting it: one at a time
            with self.array_lock(array):
                self._act(self.observer.one(job_id), action)
        else:
            self._act(job, action)

    def _act(self, job: Snapshot, action: str) -> None:
        job_id = job.id
        if job.state not in ALLOWED_STATES[action]:
            raise InvalidStateError(f"cannot {action} job {job_id!r}: it is {job.state} ({job.sub_state})")
        if action == "suspend":
            self.backend.pause_task(job_id)
        elif action == "resume":
            self.backend.resume_task(job_id)
        elif action == "hold":
            if not self.backend.mutable_labels:
                raise UnsupportedOperationError(
                    f"{self.backend.name} cannot hold a queued job (labels are fixed at creation); "
                    "submit it with submit_as_hold instead")
            self.backend.set_labels(job_id, {L.HOLD: "true"})
        elif action == "release":
            self._release(job)
        else:
            self.terminate(job)

    def _release(self, job: Snapshot) -> None:
        if array := job.info.labels.get(L.ARRAY):  # it waits for a free slot of its array
            if self.backend.mutable_labels:
                self.backend.set_labels(job.id, {L.HOLD: ""})
            else:
                self.state.mark_released(job.folder)
            self.ensure_driver(array)
            return
        self.launcher.start_queued(job)
        if self.backend.mutable_labels:  # only once it runs: a failed start stays held
            self.backend.set_labels(job.id, {L.HOLD: ""})

    def kill(self, job: Snapshot) -> None:
        """SIGKILL at once (a hard limit, like Grid Engine's ``h_rt``); a
        suspended job is resumed first (a frozen process cannot die)."""
        try:
            if job.state == JobState.SUSPENDED:
                self.backend.resume_task(job.id)
            self.backend.kill_task(job.id, "SIGKILL")
        except BackendError:
            if self.observer.one(job.id).state not in TERMINAL_STATES:
                raise

    def terminate(self, job: Snapshot) -> None:
        """The image's stop signal (SIGTERM by default), then SIGKILL after
        ``terminate_grace`` seconds, like ``docker stop``. Returns once the
        job has ended."""
        job_id = job.id
        if job.task is None:  # queued or held: it never ran
            self.launcher.record_unstarted(
                job, ExitRecord(143, datetime.now(timezone.utc), None, terminated_by="SIGTERM"))
            return
        stop_signal = job.info.labels.get(L.STOP_SIGNAL) or "SIGTERM"
        try:
            if job.state == JobState.SUSPENDED:
                self.backend.resume_task(job_id)  # a frozen process cannot act on a signal
            self.backend.kill_task(job_id, stop_signal)
        except BackendError:
            if self.observer.one(job_id).state in TERMINAL_STATES:
                return  # it ended on its own meanwhile: terminated all the same
            raise
        try:
            self.wait(job_id, self.terminate_grace, JobState.DONE, JobState.FAILED)
            return
        except DrmaaTimeoutError:
            log.info("job %s ignored %s for %.0f s; sending SIGKILL", job_id, stop_signal, self.terminate_grace)
        try:
            self.backend.kill_task(job_id, "SIGKILL")
        except BackendError:
            if self.observer.one(job_id).state not in TERMINAL_STATES:
                raise
        self.wait(job_id, 60.0, JobState.DONE, JobState.FAILED)
