"""The DRMAA2 JobTracker contract (drmaa2os ``pkg/jobtracker``), in Python."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the interface needs no pydantic at import
    from .models import JobInfo, JobTemplate
    from .states import JobState

#: The job control actions DRMAA2 defines.
CONTROL_ACTIONS = ("suspend", "resume", "terminate", "hold", "release")


class JobTracker(abc.ABC):
    """Everything a DRMAA2 job session needs from a backend system."""

    session_name: str

    @abc.abstractmethod
    def list_jobs(self) -> list[str]:
        """IDs of every job of this session."""

    @abc.abstractmethod
    def list_array_jobs(self, array_job_id: str) -> list[str]:
        """IDs of the jobs of an array job."""

    @abc.abstractmethod
    def add_job(self, template: JobTemplate) -> str:
        """Submit one job; return its ID."""

    @abc.abstractmethod
    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """Submit one job per index; return the array job ID."""

    @abc.abstractmethod
    def job_state(self, job_id: str) -> tuple[JobState, str]:
        """The job's DRMAA2 state and the backend's own sub-state."""

    @abc.abstractmethod
    def job_info(self, job_id: str) -> JobInfo:
        """Everything known about the job."""

    @abc.abstractmethod
    def job_control(self, job_id: str, action: str) -> None:
        """Apply one of ``CONTROL_ACTIONS``."""

    @abc.abstractmethod
    def wait(self, job_id: str, timeout: float, *states: JobState) -> None:
        """Return once the job is in one of ``states``; raise on timeout."""

    @abc.abstractmethod
    def delete_job(self, job_id: str) -> None:
        """Remove a finished job and everything it left behind."""

    @abc.abstractmethod
    def list_job_categories(self) -> list[str]:
        """What ``job_category`` may name (the images)."""

    @abc.abstractmethod
    def job_template(self, job_id: str) -> JobTemplate:
        """The template the job was submitted with."""
