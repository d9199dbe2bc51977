"""``ContainerdJobTracker``: the DRMAA2 JobTracker on top of any backend.

A facade: reading jobs is :mod:`.observation`, creating them :mod:`.launch`
(planned by :mod:`.submission`), images :mod:`.images`, control
:mod:`.control`, waiting :mod:`.waiting`, JobInfo :mod:`.info`. What one
backend does its own way (ctr's logger and exit harvesting, docker's output
copy) is reached through the backend's ``output_delivery`` and
``exit_keeping``.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ..backends import registry
from ..backends.base import ContainerBackend
from ..backends.errors import ImageNotFound
from ..drmaa2.errors import DrmaaError, InvalidArgumentError, InvalidStateError, JobNotFoundError
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..drmaa2.tracker import JobTracker
from ..records import labels as L
from ..records.statedir import StateDir, default_state_dir
from ..runner import Runner, RunnerError
from . import waiting
from .control import Controller
from .deadlines import Deadlines
from .images import PULL_POLICIES, Images
from .launch import Launcher
from .observation import Observer, Snapshot, check_id
from .subscription import SharedEvents
from .throttle import ArrayRecord, Throttle

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo, JobTemplate

log = logging.getLogger(__name__)


def default_job_owner() -> str:
    """The user of this process, as jobs record their owner."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _check_session_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip() \
            or any(ord(c) < 32 for c in name) or len(name) > 256:
        raise InvalidArgumentError(
            f"invalid session name {name!r}: printable, no surrounding spaces, at most 256 characters")
    return name


class ContainerdJobTracker(JobTracker):
    """DRMAA2 jobs as containerd containers, driven through containerd's CLIs.

    A job's ID is its container ID. ``backend`` is a name from
    :data:`..backends.registry.CHOICES` (defaults and environment variables
    as the registry says) or a backend instance, whose address, namespace
    and runner are then the tracker's. ``runner`` is where commands run:
    live by default, or a recording/replaying runner for offline tests.
    ``job_owner`` is recorded as every job's owner (default: this user).
    """

    def __init__(
        self,
        session_name: str,
        address: str | None = None,
        namespace: str | None = None,
        backend: str | ContainerBackend = registry.AUTO,
        *,
        runner: Runner | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        pull_policy: str = "missing",
        terminate_grace: float = 10.0,
        cli_timeout: float = registry.DEFAULT_TIMEOUT,
        job_owner: str | None = None,
    ) -> None:
        self._session_name = _check_session_name(session_name)
        if pull_policy not in PULL_POLICIES:
            raise InvalidArgumentError(f"pull_policy must be one of {', '.join(PULL_POLICIES)}")
        if isinstance(backend, ContainerBackend):
            if address is not None and backend.name in registry.BACKENDS:
                address = registry.BACKENDS[backend.name].address(address)  # as the backend writes it
            for name, given, own in (("address", address, backend.address), ("namespace", namespace,
                                     backend.namespace), ("runner", runner, backend.runner)):
                if given is not None and given != own:
                    raise InvalidArgumentError(f"{name} {given!r} differs from the given backend's {own!r}")
            self.backend = backend
        else:
            self.backend = registry.connect(backend, address, namespace, runner=runner, timeout=cli_timeout)
        self.address = self.backend.address
        self.namespace = self.backend.namespace
        self.runner = self.backend.runner
        #: Recorded as each job's owner: the process user unless a service
        #: submits on someone's behalf (or a recording must not depend on it).
        self.job_owner = job_owner or default_job_owner()
        self.pull_policy = pull_policy
        self.terminate_grace = terminate_grace
        self.state = StateDir(Path(state_dir) if state_dir else default_state_dir(), self.namespace)
        self.backend.use_state(self.state)
        output = self.backend.output_delivery(self.state)
        self._observer = Observer(self.backend, self.state, session_name, output,
                                  self.backend.exit_keeping(self.state))
        self._images = Images(self.backend, self.state, pull_policy)
        self._launcher = Launcher(self.backend, self.state, self.runner, output, self._images, session_name,
                                  self.job_owner)
        self._throttle = Throttle(self.backend, self.state, self.runner, self._observer, self._launcher,
                                  session_name)
        self._observer.on_queued_array = self._ensure_driver
        #: One event subscription for the waits that run at once (threads of a workflow engine).
        self._events = SharedEvents(self.backend, lambda: {L.SESSION: self._observer.session_name}
                                    if self._observer.session_name is not None else {L.DRMAA2: "true"})
        self._control = Controller(self.backend, self.state, self._observer, self._launcher, output,
                                   lambda *args: self.wait(*args), terminate_grace, self._throttle.lock,
                                   self._ensure_driver)
        self._deadlines = Deadlines(self.state, self.runner, self._observer, self._control.kill,
                                    lambda: self.backend.list_container_ids({L.LIMITED: "true"}))
        self._observer.on_limited = self._ensure_keeper
        self._launcher.on_limited_start = self._ensure_keeper

    @property
    def session_name(self) -> str:
        """Fixed at construction: every part of the tracker acts for it."""
        return self._session_name

    def __repr__(self) -> str:
        return (
            f"ContainerdJobTracker(session_name={self.session_name!r}, address={self.address!r}, "
            f"namespace={self.namespace!r}, backend={self.backend.name!r})"
        )

    # ------------------------------------------------------------ listing
    def list_jobs(self) -> list[str]:
        """This session's job IDs: one CLI call, whatever the number of jobs."""
        return self.backend.list_container_ids({L.DRMAA2: "true", L.SESSION: self.session_name})

    def list_array_jobs(self, array_job_id: str) -> list[str]:
        try:
            ids = json.loads(array_job_id)
        except (TypeError, ValueError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgumentError(f"not an array job ID (a JSON list of job IDs): {array_job_id!r}")
        for job_id in ids:
            check_id(job_id)
        known = set(self.list_jobs())
        missing = [i for i in ids if i not in known]
        if missing:
            raise JobNotFoundError(f"array job {array_job_id}: jobs not in this session: {', '.join(missing)}")
        return ids

    def list_job_categories(self) -> list[str]:
        return self._images.categories()

    # ------------------------------------------------------------ submitting
    def add_job(self, template: JobTemplate) -> str:
        from . import submission

        ref = submission.validate(template)
        job_id = None
        if (unchecked := self._images.unchecked(ref)) is not None:
            try:
                job_id = self._launcher.submit(template, unchecked)
            except ImageNotFound:  # nothing was made: look it up (pull) as the policy says, then again
                pass
        if job_id is None:
            job_id = self._launcher.submit(template, self._images.resolve(ref))
        self._keep_limits(template)
        return job_id

    def _keep_limits(self, template: JobTemplate) -> None:
        if any(key.strip().upper() == "WALLCLOCK_TIME" for key in template.resource_limits):
            self._ensure_keeper()

    def add_array_job(
        self,
        template: JobTemplate,
        begin: int,
        end: int,
        step: int,
        max_parallel: int,
        *,
        on_submitted: Callable[[int, int], None] | None = None,
    ) -> str:
        """One job per index with ``TASK_ID`` set; ID = JSON list of job IDs.

        With ``max_parallel`` > 0, at most that many tasks run (or are
        suspended) at once; the others wait as Queued and are started by the
        array's driver process as earlier ones end, whether or not this
        process lives on (see :mod:`.throttle`). A failure part-way removes
        the tasks already submitted. ``on_submitted(done, total)`` is called
        after each task (progress).
        """
        for name, value in (("begin", begin), ("end", end), ("step", step), ("max_parallel", max_parallel)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
        if step < 1:
            raise InvalidArgumentError(f"step must be at least 1, got {step}")
        if end < begin:
            raise InvalidArgumentError(f"end ({end}) is before begin ({begin})")
        if max_parallel < 0:
            raise InvalidArgumentError(f"max_parallel must not be negative, got {max_parallel}")
        from . import submission

        image = self._images.resolve(submission.validate(template))
        indices = range(begin, end + 1, step)
        if not 0 < max_parallel < len(indices):
            array_id = json.dumps(self._launcher.submit_array(template, image, indices, on_submitted))
            self._keep_limits(template)
            return array_id
        key = f"array-{self.runner.unique_token()}"
        ids = self._launcher.submit_array(template, image, indices, on_submitted, array=key)
        try:
            self._throttle.save(ArrayRecord(key, ids, max_parallel))
            if self._throttle.fill(self._throttle.load(key) or ArrayRecord(key, ids, max_parallel)):
                self._ensure_driver(key)
        except BaseException:
            self._launcher.discard(ids)
            self._throttle.forget(key)
            raise
        self._keep_limits(template)
        return json.dumps(ids)

    # ------------------------------------------------------------ throttled arrays
    def _connection(self) -> list[str]:
        """The command line's options that reach this daemon, backend, session."""
        # --opt=value: a session named "-x" stays a value.
        return [f"--address={self.address}", f"--namespace={self.namespace}", f"--backend={self.backend.name}",
                f"--state-dir={self.state.root}", f"--session={self.session_name}"]

    def _ensure_driver(self, key: str) -> None:
        if self.backend.name not in registry.BACKENDS:
            log.warning("array %s: a driver cannot be started for backend %r (not in the registry); "
                        "its queued tasks start only as this process looks at them", key, self.backend.name)
            return
        try:
            self._throttle.ensure_driver(key, self._connection())
        except (OSError, RunnerError, NotImplementedError) as exc:
            log.warning("cannot start the driver of array %s (its queued tasks wait): %s", key, exc)

    def _ensure_keeper(self) -> None:
        """Make sure the deadline keeper runs (see :mod:`.deadlines`)."""
        if self.backend.name not in registry.BACKENDS or self._deadlines.keeper_pid() is not None:
            return
        try:
            self._deadlines.ensure_keeper(self._connection())
        except (OSError, RunnerError, NotImplementedError) as exc:
            log.warning("cannot start the deadline keeper (wallclock limits wait for it): %s", exc)

    def keep_deadlines(self, lock_fd: int | None = None) -> None:
        """Be the deadline keeper of this namespace, for every session's jobs
        (what ``containerd-tracker keep-deadlines`` runs)."""
        self._observer.session_name = None
        self._observer.on_limited = self._launcher.on_limited_start = None
        if self._deadlines.keep(lock_fd):
            self._ensure_keeper()

    def deadline_keeper(self) -> int | None:
        """The deadline keeper's pid (``None``: none runs)."""
        return self._deadlines.keeper_pid()

    def drive_array(self, key: str, lock_fd: int | None = None) -> None:
        """Be the driver of a throttled array until every task is started
        (what ``containerd-tracker drive-array`` runs)."""
        if self._throttle.drive(key, lock_fd):
            self._ensure_driver(key)

    def array_drivers(self) -> list[dict[str, object]]:
        """This namespace's throttled arrays as the state directory knows them:
        key, session, limit, tasks, tasks started, the driver's pid (None: not running)."""
        found = []
        for key in self.state.arrays():
            record = self._throttle.load(key)
            if record is None:
                continue
            claimed = self.state.array_dir(key) / "claimed"
            found.append({"array": key, "session": record.session, "max_parallel": record.max_parallel,
                          "tasks": len(record.ids), "started": len(list(claimed.glob("*"))) if claimed.is_dir() else 0,
                          "driver_pid": self._throttle.driver_pid(key)})
        return found

    # ------------------------------------------------------------ state & info
    def job_state(self, job_id: str) -> tuple[JobState, str]:
        job = self._observer.one(job_id)
        return job.state, job.sub_state

    def job_states(self, job_ids: Iterable[str]) -> dict[str, tuple[JobState, str]]:
        """``job_state`` for many jobs: one task listing plus one record per job."""
        return {job_id: (job.state, job.sub_state) for job_id, job in self._observer.many(job_ids).items()}

    def job_template(self, job_id: str) -> JobTemplate:
        info = self._observer.info(job_id)
        try:
            template = L.decode_template(info.labels)
        except ValueError as exc:
            raise InvalidStateError(f"job {job_id!r} carries an unreadable template: {exc}") from exc
        if template is None:
            raise InvalidStateError(f"job {job_id!r} carries no template")
        return template

    def job_session_name(self, job_id: str) -> str:
        """The job session a job belongs to (its ``jobSessionName`` label)."""
        return self._observer.info(job_id).labels.get(L.SESSION, "")

    def job_info(self, job_id: str) -> JobInfo:
        from .info import job_info

        return job_info(self._observer.one(job_id), self.backend, self.state)

    def job_infos(self, job_ids: Iterable[str], *, cpu_time: bool = True) -> dict[str, JobInfo]:
        """``job_info`` for many jobs in one batch observation: a number of
        CLI calls that does not grow with the number of jobs — unless
        ``cpu_time`` is asked for running jobs (one call each, several at
        once as the runner allows)."""
        from .info import job_info

        jobs = self._observer.many(job_ids)
        build = lambda job: job_info(job, self.backend, self.state, cpu_time=cpu_time)  # noqa: E731
        infos = self.runner.each(build, jobs.values()) if cpu_time else [build(job) for job in jobs.values()]
        return dict(zip(jobs, infos))

    # ------------------------------------------------------------ control & waiting
    def job_control(self, job_id: str, action: str) -> None:
        self._control.control(job_id, action)

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> None:
        """Return once the job is in one of ``states`` (default: Done or Failed);
        see :func:`.waiting.wait`."""
        waiting.wait(self._observer, self._events, self.runner, [job_id], timeout, states)

    def wait_any(self, job_ids: Iterable[str], timeout: float | None, *states: JobState) -> str:
        """The first of ``job_ids`` found in one of ``states`` (default: Done
        or Failed): one event subscription for all of them."""
        return waiting.wait(self._observer, self._events, self.runner, list(job_ids), timeout, states, any_of=True)

    def wait_all(self, job_ids: Iterable[str], timeout: float | None, *states: JobState) -> None:
        """Return once every one of ``job_ids`` is in one of ``states``."""
        waiting.wait(self._observer, self._events, self.runner, list(job_ids), timeout, states)

    # ------------------------------------------------------------ deleting
    def delete_job(self, job_id: str, *, only_ended: bool = False) -> None:
        """Remove a Done/Failed job: its task, container, snapshot and the
        tracker's own files for it (output files the user named are kept).
        A job whose task was lost (Undetermined) may go too, unless ``only_ended``."""
        self.delete_jobs([job_id], only_ended=only_ended)

    def delete_jobs(self, job_ids: Iterable[str], *, only_ended: bool = False) -> None:
        """``delete_job`` for many at once (an array's thousand tasks): one
        read for all, then deletes of many IDs per call, side by side. All are
        checked first: one that has not ended, or is not found, removes none."""
        jobs = self._observer.many(job_ids)
        lost_ok = not only_ended  # an Undetermined job whose task is gone may go too
        unended = [job_id for job_id, job in jobs.items() if job.state not in TERMINAL_STATES
                   and not (lost_ok and job.state == JobState.UNDETERMINED and job.task is None)]
        if unended:
            raise InvalidStateError(f"cannot delete job {unended[0]!r}: it is {jobs[unended[0]].state}, not Done or "
                                    f"Failed" + (f" (nor are {len(unended) - 1} more)" if len(unended) > 1 else ""))
        try:
            self.backend.delete_tasks([job_id for job_id, job in jobs.items() if job.task is not None]).raise_error()
            gone = self.backend.delete_containers(list(jobs))
        except DrmaaError:
            self._forget_deleted(jobs)  # some calls may have deleted theirs before one failed
            raise
        self._forget_deleted(jobs, deleted=jobs)
        if gone:
            raise JobNotFoundError(f"job {sorted(gone)[0]!r} was deleted meanwhile by another process"
                                   + (f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""))

    def _forget_deleted(self, jobs: Mapping[str, Snapshot], deleted: Iterable[str] | None = None) -> None:
        """Remove the tracker's files of the ``deleted`` jobs (None: those
        whose containers are no longer there), and a throttled array's
        record once its last task is gone."""
        if deleted is None:
            try:
                deleted = set(jobs) - set(self.backend.observe(list(jobs)))
            except DrmaaError as exc:
                log.warning("after a failed delete, which jobs went could not be read: %s", exc)
                return
        for job_id in deleted:
            self.state.remove_job(jobs[job_id].folder)
        for array in {job.info.labels[L.ARRAY] for job in jobs.values() if job.info.labels.get(L.ARRAY)}:
            try:
                if not self.backend.list_container_ids({L.ARRAY: array}):
                    self._throttle.forget(array)  # its last task is gone
            except DrmaaError as exc:  # kept: the next delete of its tasks forgets it
                log.warning("whether throttled array %s has tasks left could not be read: %s", array, exc)
