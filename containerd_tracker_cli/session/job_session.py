"""DRMAA2 ``JobSession``: run jobs and arrays, find them again by filter,
wait for any or all of them. ``JobSession(name)`` opens the session or
creates it (uge-drmaa2's shortcut); ``SessionManager`` creates and opens
strictly."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..drmaa2.errors import InvalidArgumentError
from ..drmaa2.states import JobState
from .jobs import STARTED, Job, JobArray
from .settings import Settings

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo, JobTemplate


def as_template(template: "JobTemplate | Mapping[str, Any]") -> "JobTemplate":
    """A JobTemplate, or a dict with its field names (Python or Go spelling)."""
    from pydantic import ValidationError

    from ..drmaa2.models import JobTemplate

    if isinstance(template, JobTemplate):
        return template
    if isinstance(template, Mapping):
        try:
            return JobTemplate.model_validate(dict(template))
        except ValidationError as exc:
            raise InvalidArgumentError(f"not a valid job template: {exc}") from exc
    raise InvalidArgumentError(f"expected a JobTemplate or a dict, got {type(template).__name__}")


def matches(info: "JobInfo", wanted: "JobInfo") -> bool:
    """DRMAA2's filter rule: every field set in ``wanted`` matches — equal,
    except allocated machines (the job's include all of them), wallclock and
    CPU time (at least), submission and dispatch time (at or after) and
    finish time (at or before)."""
    for name in wanted.model_fields_set:
        want, have = getattr(wanted, name), getattr(info, name)
        if want is None or name == "extension":
            continue
        if isinstance(want, datetime) and want.tzinfo is None:
            want = want.replace(tzinfo=timezone.utc)  # a naive time in a filter means UTC
        if name == "allocated_machines":
            ok = set(want) <= set(have)
        elif name in ("wallclock_time", "cpu_time", "submission_time", "dispatch_time"):
            ok = have is not None and have >= want
        elif name == "finish_time":
            ok = have is not None and have <= want
        else:
            ok = have == want
        if not ok:
            return False
    return True


class JobSession:
    """A named DRMAA2 job session; a context manager (``close`` on exit)."""

    def __init__(self, name: str, contact: str | None = None, *, address: str | None = None,
                 namespace: str | None = None, backend: str = "auto", state_dir: str | None = None,
                 **tracker_options: Any) -> None:
        settings = Settings(address, namespace, backend, state_dir, tracker_options)
        self._attach(settings, name, contact, create=None)

    @classmethod
    def _open(cls, settings: Settings, name: str, contact: str | None, *, create: bool) -> "JobSession":
        session = cls.__new__(cls)
        session._attach(settings, name, contact, create=create)
        return session

    def _attach(self, settings: Settings, name: str, contact: str | None, *, create: bool | None) -> None:
        """``create``: True must create, False must exist, None either."""
        self._tracker = settings.tracker(name)  # checks the name first
        names = settings.names(self._tracker)
        if create or (create is None and not names.exists(name)):
            try:
                names.create(name, contact)
            except InvalidArgumentError:
                if create:
                    raise  # created by someone else at the same moment: fine when opening
        self.session_name = name
        self.contact = names.contact(name)
        self._closed = False

    def __repr__(self) -> str:
        return f"JobSession({self.session_name!r})"

    def __enter__(self) -> "JobSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """The session's jobs keep running; this handle is done."""
        self._closed = True

    def _live(self) -> Any:
        if self._closed:
            raise InvalidArgumentError(f"job session {self.session_name!r} is closed")
        return self._tracker

    # ------------------------------------------------------------ submitting
    def run_job(self, template: "JobTemplate | Mapping[str, Any]") -> Job:
        return Job(self._live(), self._live().add_job(as_template(template)), self.session_name)

    def run_bulk_jobs(self, template: "JobTemplate | Mapping[str, Any]", begin: int, end: int, step: int = 1,
                      max_parallel: int = 0) -> JobArray:
        array_id = self._live().add_array_job(as_template(template), begin, end, step, max_parallel)
        return JobArray(self._tracker, array_id, self.session_name)

    # ------------------------------------------------------------ finding
    def get_jobs(self, filter: "JobInfo | None" = None) -> list[Job]:  # noqa: A002 - DRMAA2's name
        """This session's jobs; with a filter, those whose JobInfo matches it.
        One listing, plus one batch read of all infos when the filter needs them."""
        tracker = self._live()
        ids = tracker.list_jobs()
        if filter is not None:
            if filter.model_fields_set <= {"id"}:
                ids = [job_id for job_id in ids if filter.id is None or job_id == filter.id]
            else:
                infos = tracker.job_infos(ids, cpu_time="cpu_time" in filter.model_fields_set)
                ids = [job_id for job_id in ids if job_id in infos and matches(infos[job_id], filter)]
        return [Job(tracker, job_id, self.session_name) for job_id in ids]

    def get_job_array(self, array_id: str) -> JobArray:
        self._live().list_array_jobs(array_id)  # all its tasks must be this session's
        return JobArray(self._tracker, array_id, self.session_name)

    def get_job_categories(self) -> list[str]:
        return self._live().list_job_categories()

    # ------------------------------------------------------------ waiting
    def _ids(self, jobs: Iterable[Job]) -> list[str]:
        ids = [job.id for job in jobs]
        if not ids:
            raise InvalidArgumentError("no jobs to wait for")
        return ids

    def wait_any_started(self, jobs: Iterable[Job], timeout: float | None = None) -> Job:
        jobs = list(jobs)
        return self._pick(jobs, self._live().wait_any(self._ids(jobs), timeout, *STARTED))

    def wait_any_terminated(self, jobs: Iterable[Job], timeout: float | None = None) -> Job:
        jobs = list(jobs)
        return self._pick(jobs, self._live().wait_any(self._ids(jobs), timeout, JobState.DONE, JobState.FAILED))

    def wait_all_started(self, jobs: Iterable[Job], timeout: float | None = None) -> list[Job]:
        jobs = list(jobs)
        self._live().wait_all(self._ids(jobs), timeout, *STARTED)
        return jobs

    def wait_all_terminated(self, jobs: Iterable[Job], timeout: float | None = None) -> list[Job]:
        jobs = list(jobs)
        self._live().wait_all(self._ids(jobs), timeout, JobState.DONE, JobState.FAILED)
        return jobs

    @staticmethod
    def _pick(jobs: list[Job], job_id: str) -> Job:
        return next(job for job in jobs if job.id == job_id)

