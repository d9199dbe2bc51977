"""``ContainerdJobTracker``: the DRMAA2 JobTracker on top of any backend."""
from __future__ import annotations

import json
import logging
import math
import os
import re
import shlex
import shutil
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from ..backends.base import ContainerBackend, Observed
from ..backends.errors import BackendError, ContainerNotFound
from ..backends.models import ContainerInfo, ImageConfig, ImageRecord, TaskRecord, TaskStatus
from ..drmaa2.errors import (
    DrmaaError,
    DrmaaTimeoutError,
    InvalidArgumentError,
    InternalError,
    InvalidStateError,
    JobNotFoundError,
    UnsupportedAttributeError,
    UnsupportedOperationError,
)
from ..drmaa2.states import TERMINAL_STATES, JobState
from ..drmaa2.tracker import CONTROL_ACTIONS, JobTracker
from ..runner import LiveRunner, Runner
from . import labels as L
from .exits import ExitRecorder
from .labels import ExitRecord
from .mapping import ALLOWED_STATES, Observation, map_state
from .statedir import StateDir, default_state_dir

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo, JobTemplate

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
#: containerd's identifier grammar (containerd/identifiers), 76 characters at most.
_JOB_ID = re.compile(r"(?=.{1,76}\Z)[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_NAMESPACE = "default"
PULL_POLICIES = ("missing", "always", "never")

#: While waiting, re-read the state this often even without events, so a
#: subscription that silently broke costs latency, never a missed change.
SAFETY_POLL = 5.0
#: Re-read interval when the CLI cannot prove its event subscription live.
UNPROVEN_POLL = 0.5


def _key(info: ContainerInfo) -> str:
    """The job's folder in the state directory (jobs made before the key
    label existed, and drmaa2os' jobs, use the container ID)."""
    return info.labels.get(L.KEY) or info.id


def default_job_owner() -> str:
    """The user of this process, as jobs record their owner."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class _Job:
    """One observation of a job: its record, its task, its exit."""

    def __init__(self, info: ContainerInfo, task: TaskRecord | None, exit: ExitRecord | None, dispatched: bool,
                 started_at: datetime | None = None):
        self.info = info
        self.task = task
        self.exit = exit
        self.started_at = started_at
        self.state, self.sub_state = map_state(
            Observation(task=task, exit=exit, held=info.labels.get(L.HOLD) == "true", dispatched=dispatched)
        )


class ContainerdJobTracker(JobTracker):
    """DRMAA2 jobs as containerd containers, driven through containerd's CLIs.

    A job's ID is its container ID. ``runner`` is where commands run: live by
    default, or a recording/replaying runner for offline tests. ``job_owner``
    is recorded as every job's owner (default: the user of this process).
    """

    def __init__(
        self,
        session_name: str,
        address: str | None = None,
        namespace: str | None = None,
        backend: str | ContainerBackend = "auto",
        *,
        runner: Runner | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        pull_policy: str = "missing",
        terminate_grace: float = 10.0,
        cli_timeout: float = 30.0,
        job_owner: str | None = None,
    ) -> None:
        if not isinstance(session_name, str) or not session_name.strip() or session_name != session_name.strip() \
                or any(ord(c) < 32 for c in session_name) or len(session_name) > 256:
            raise InvalidArgumentError(
                f"invalid session name {session_name!r}: printable, no surrounding spaces, at most 256 characters")
        if pull_policy not in PULL_POLICIES:
            raise InvalidArgumentError(f"pull_policy must be one of {', '.join(PULL_POLICIES)}")
        self.session_name = session_name
        kind = backend if isinstance(backend, str) else getattr(backend, "name", "ctr")
        if kind == "auto":
            kind = "nerdctl" if shutil.which("nerdctl") else "ctr"
        if kind == "docker":
            default_address = os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
        else:
            default_address = os.environ.get("CONTAINERD_ADDRESS") or DEFAULT_ADDRESS
        self.address = address or default_address
        self.namespace = namespace or os.environ.get("CONTAINERD_NAMESPACE") or DEFAULT_NAMESPACE
        self.pull_policy = pull_policy
        self.terminate_grace = terminate_grace
        #: Recorded as each job's owner: the process user unless a service
        #: submits on someone's behalf (or a recording must not depend on it).
        self.job_owner = job_owner or default_job_owner()
        self.runner = runner or LiveRunner()
        self.backend = self._make_backend(backend if isinstance(backend, ContainerBackend) else kind, cli_timeout)
        self.state = StateDir(Path(state_dir) if state_dir else default_state_dir(), self.namespace)
        self._exits = ExitRecorder(self.backend)
        self._image_configs: dict[str, ImageConfig] = {}

    def _make_backend(self, backend: str | ContainerBackend, timeout: float) -> ContainerBackend:
        if isinstance(backend, ContainerBackend):
            return backend
        if backend == "ctr":
            from ..backends.ctr import CtrBackend

            return CtrBackend(self.runner, self.address, self.namespace, timeout=timeout)
        if backend in ("nerdctl", "docker"):
            from ..backends.dockercompat.backend import DockerCompatBackend

            return DockerCompatBackend(self.runner, backend, self.address, self.namespace, timeout=timeout)
        raise InvalidArgumentError(f"unknown backend {backend!r}: use 'ctr', 'nerdctl', 'docker' or 'auto'")

    def __repr__(self) -> str:
        return (
            f"ContainerdJobTracker(session_name={self.session_name!r}, address={self.address!r}, "
            f"namespace={self.namespace!r}, backend={self.backend.name!r})"
        )

    # ------------------------------------------------------------ observing
    def _info(self, job_id: str) -> ContainerInfo:
        """The container record of one of *our* jobs, else JobNotFoundError."""
        self._check_id(job_id)
        try:
            info = self.backend.container_info(job_id)
        except ContainerNotFound:
            raise JobNotFoundError(f"job {job_id!r} not found in namespace {self.namespace!r}") from None
        return self._owned(info)

    @staticmethod
    def _check_id(job_id: str) -> None:
        """Job IDs are container IDs: containerd's identifier grammar, which
        docker's hex IDs also fit. Checked before any CLI sees one, so an ID
        like ``-a`` or ``../x`` can never become an option or a path."""
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise InvalidArgumentError(
                f"invalid job ID {job_id!r}: letters and digits joined by single '.', '_' or '-', "
                "at most 76 characters")

    def _owned(self, info: ContainerInfo) -> ContainerInfo:
        if info.labels.get(L.DRMAA2) != "true":
            raise JobNotFoundError(f"container {info.id!r} is not a DRMAA2 job; the tracker leaves it alone")
        if info.labels.get(L.SESSION) != self.session_name:
            raise JobNotFoundError(
                f"job {info.id!r} belongs to job session {info.labels.get(L.SESSION)!r}, "
                f"not {self.session_name!r}; the tracker leaves it alone"
            )
        return info

    def _observe(self, job_id: str) -> _Job:
        return self._observe_many([job_id])[job_id]

    def _observe_many(self, job_ids: Iterable[str]) -> dict[str, _Job]:
        """The backend's batch observation, ownership checked, and one
        harvest for every job found stopped with no exit on record."""
        wanted = list(dict.fromkeys(job_ids))
        for job_id in wanted:
            self._check_id(job_id)
        observed = self.backend.observe(wanted)
        for job_id in wanted:
            if job_id not in observed:
                raise JobNotFoundError(f"job {job_id!r} not found in namespace {self.namespace!r}")
            self._owned(observed[job_id].info)
        exits = {job_id: ExitRecord.from_labels(o.info.labels) or self.state.read_exit(_key(o.info))
                 for job_id, o in observed.items()}
        for job_id, (_, task) in observed.items():
            if exits[job_id] is None and task is not None and task.exit_status is not None:
                exits[job_id] = ExitRecord(task.exit_status, task.exited_at)  # the CLI keeps it
        unrecorded = [
            job_id for job_id, (_, task) in observed.items()
            if exits[job_id] is None and task is not None and task.status == TaskStatus.STOPPED
        ]
        saved = self._saved_state(observed)
        if unrecorded:
            harvested = self._exits.harvest(unrecorded, saved)
            for job_id, record in harvested.items():
                if record is not None:
                    exits[job_id] = record
                elif job_id not in self.backend.observe([job_id]):
                    raise JobNotFoundError(f"job {job_id!r} was deleted meanwhile by another process")
        if not self.backend.records_exit:
            lost = [job_id for job_id, (info, task) in observed.items()
                    if exits[job_id] is None and task is None and self.state.pid_file(_key(info)).exists()]
            exits.update(self._exits.recover(lost, saved))
            leftover = [job_id for job_id, (_, task) in observed.items() if job_id not in unrecorded
                        and exits[job_id] is not None and task is not None and task.status == TaskStatus.STOPPED]
            if leftover:
                self._exits.finish(leftover)

        jobs = {}
        for job_id in wanted:
            info, task = observed[job_id]
            started = task.started_at if task is not None else None
            if exits[job_id] is not None and task is not None and task.status == TaskStatus.STOPPED:
                task = None  # its exit is recorded: the task is gone or about to be
            dispatched = self.state.pid_file(_key(info)).exists()
            job = jobs[job_id] = _Job(info, task, exits[job_id], dispatched, started)
            if job.state in TERMINAL_STATES:
                self._settle_output(job)
        return jobs

    def _saved_state(self, observed: dict[str, Observed]) -> Callable[[str], str | None]:
        """What each job's logger saved of its shim's state, by job ID."""
        return lambda job_id: self.state.saved_shim_state(_key(observed[job_id].info))

    def _settle_output(self, job: _Job) -> None:
        """An ended job's output files are complete before anyone is told it
        ended: wait for ctr's logger to drain, or copy what the CLI kept."""
        if not self.backend.writes_output_files:
            self._collect_output(job)
            return
        marker = self.state.marker_of(job.info.labels.get(L.LOG_URI, ""))
        if marker is not None and job.task is None and not self.state.await_marker_gone(marker):
            log.warning("output of job %s may still be incomplete", job.info.id)

    def _collect_output(self, job: _Job) -> None:
        """Copy what the CLI kept of a finished job's streams into its output
        files, once (the first process to claim the marker does it)."""
        job_id, key = job.info.id, _key(job.info)
        done = self.state.job_dir(key) / "output-collected"
        claim = done.with_name("output-collecting")
        try:
            self.state.make_job_dir(key)
            if done.exists():
                return
            with open(claim, "x"):
                pass
        except FileExistsError:  # another process is at it
            return
        except OSError as exc:
            raise InternalError(f"cannot record the output of job {job_id!r}: {exc}") from exc
        try:
            stdout, stderr = self.backend.read_output(job_id)
            out_path = job.info.labels.get(L.STDOUT) or str(self.state.default_output(key))
            err_path = job.info.labels.get(L.STDERR) or out_path
            with open(out_path, "a") as out:
                out.write(stdout)
            with open(err_path, "a") as err:
                err.write(stderr)
            claim.rename(done)  # only now: a failure leaves it to be done again
        except OSError as exc:
            claim.unlink(missing_ok=True)
            raise InternalError(f"cannot write the output of job {job_id!r}: {exc}") from exc
        except BaseException:
            claim.unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------ listing
    def _session_labels(self) -> dict[str, str]:
        return {L.DRMAA2: "true", L.SESSION: self.session_name}

    def list_jobs(self) -> list[str]:
        """This session's job IDs: one CLI call, whatever the number of jobs."""
        return self.backend.list_container_ids(self._session_labels())

    def list_array_jobs(self, array_job_id: str) -> list[str]:
        try:
            ids = json.loads(array_job_id)
        except (TypeError, ValueError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgumentError(f"not an array job ID (a JSON list of job IDs): {array_job_id!r}")
        for job_id in ids:
            self._check_id(job_id)
        known = set(self.list_jobs())
        missing = [i for i in ids if i not in known]
        if missing:
            raise JobNotFoundError(f"array job {array_job_id}: jobs not in this session: {', '.join(missing)}")
        return ids

    def list_job_categories(self) -> list[str]:
        return sorted({image.name for image in self.backend.list_images()})

    # ------------------------------------------------------------ submitting
    def add_job(self, template: JobTemplate) -> str:
        from . import submission

        image = self._image(submission.validate(template), {})
        return self._submit(template, image)

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

        ``max_parallel`` is accepted but not enforced yet: every task starts
        at once. A failure part-way removes the tasks already submitted.
        ``on_submitted(done, total)`` is called after each task (progress).
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

        image = self._image(submission.validate(template), {})
        ids: list[str] = []
        indices = range(begin, end + 1, step)
        try:
            for index in indices:
                ids.append(self._submit(template, image, index=index))
                if on_submitted:
                    on_submitted(len(ids), len(indices))
        except BaseException:
            self._discard(ids)
            raise
        return json.dumps(ids)

    def _logger_address(self) -> str | None:
        """containerd's address for the logger's exit watcher, where
        containerd runs the logger (ctr) and may forget a stopped task."""
        return self.address if self.backend.writes_output_files and not self.backend.records_exit else None

    def _image(self, ref: str, cache: dict[str, ImageRecord]) -> ImageRecord:
        """The local image, pulled first when the policy says so."""
        images = {image.name: image for image in self.backend.list_images()}
        if ref in images and self.pull_policy != "always":
            return images[ref]
        if self.pull_policy == "never":
            raise InvalidArgumentError(f"image {ref!r} is not present and pull_policy is 'never'")
        try:
            self.backend.pull_image(ref)
        except BackendError as exc:
            if ref in images:  # 'always', but the registry is unreachable: keep the local copy
                log.warning("pulling %s failed, using the local image: %s", ref, exc)
                return images[ref]
            raise InvalidArgumentError(
                f"image {ref!r} is not present and could not be pulled", argv=exc.argv,
                exit_code=exc.exit_code, stderr=exc.stderr,
            ) from exc
        images = {image.name: image for image in self.backend.list_images()}
        if ref not in images:
            raise InvalidArgumentError(f"image {ref!r} not present after pulling it")
        return images[ref]

    def _image_config(self, image: ImageRecord) -> ImageConfig:
        """Cached by content digest (immutable); an image without a usable
        digest is asked every time rather than risk another image's config."""
        key = image.digest if image.digest.startswith(("sha256:", "id:")) else None
        if key is None:
            return self.backend.image_config(image)
        if key not in self._image_configs:
            cached = self.state.cached_image_config(key)
            if cached is not None:
                config = ImageConfig.model_validate(cached)
            else:
                config = self.backend.image_config(image)
                try:
                    self.state.cache_image_config(key, config.model_dump())
                except OSError as exc:
                    log.warning("cannot cache the config of %s: %s", image.name, exc)
            self._image_configs[key] = config
        return self._image_configs[key]

    def _submit(self, template: JobTemplate, image: ImageRecord, index: int | None = None) -> str:
        from . import submission

        key = submission.make_key(template.job_name, self.runner.unique_token())
        try:
            plan = submission.plan(
                template,
                key=key,
                image=image.name,
                session=self.session_name,
                owner=self.job_owner,
                state=self.state,
                image_config=lambda: self._image_config(image),
                index=index,
                logger_address=self._logger_address(),
            )
        except OSError as exc:  # the logger script could not be written there
            raise InternalError(f"cannot use the state directory {str(self.state.root)!r}: {exc}") from exc
        job_id: str | None = None
        made: list[Path] = []
        try:
            try:
                self.state.make_job_dir(key)
            except OSError as exc:
                raise InternalError(f"cannot use the state directory {str(self.state.root)!r}: {exc}") from exc
            for path in plan.files:
                existed = path.exists()
                try:
                    # Only its owner may read a job's output (an existing file keeps its mode).
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
                except OSError as exc:
                    raise InvalidArgumentError(f"cannot write output file {str(path)!r}: {exc.strerror}") from exc
                if not existed:
                    made.append(path)
            job_id = self.backend.create_container(plan.spec)
            if not plan.hold:
                self._start(job_id, key, plan.log_uri, has_stdin=plan.stdin is not None)
        except BaseException:
            try:
                # A create that failed half-way (timeout, interrupt) may have made
                # the container all the same: it carries the key as ID or name.
                self._discard([job_id or key], missing_ok=True)
            except Exception as cleanup:  # noqa: BLE001 - the original error matters more
                log.error("could not remove what the failed submission left: %s", cleanup)
            finally:
                self.state.remove_job(key)
                for path in made:
                    if path.exists() and path.stat().st_size == 0:
                        path.unlink()
            raise
        return job_id

    def _start(self, job_id: str, key: str, log_uri: str, *, has_stdin: bool) -> None:
        marker = self.state.marker_of(log_uri)
        if marker is not None:
            self.state.make_job_dir(key)  # the logger writes the marker there
        try:
            self.backend.start_task(job_id, log_uri=log_uri, pid_file=str(self.state.pid_file(key)))
        except BackendError as exc:
            stderr = exc.stderr or ""
            if has_stdin and "/bin/sh" in stderr:
                raise UnsupportedAttributeError(
                    "input_path needs /bin/sh in the image (ctr gives a detached task no stdin, "
                    "so the tracker redirects it with the image's shell)",
                    argv=exc.argv, exit_code=exc.exit_code, stderr=stderr,
                ) from exc
            raise InvalidArgumentError(
                "the job could not be started", argv=exc.argv, exit_code=exc.exit_code, stderr=stderr
            ) from exc

    def _discard(self, job_ids: Iterable[str], *, missing_ok: bool = False) -> None:
        """Remove jobs whatever their state: kill, delete task and container
        (with its snapshot), forget their files. Only for our own rollback."""
        ids = list(job_ids)
        if not ids:
            return
        observed = self.backend.observe(ids)
        if missing_ok:
            ids = [cid for cid in ids if cid in observed]
            if not ids:
                return
        tasks = {cid: o.task for cid, o in observed.items() if o.task is not None}
        for cid in ids:
            task = tasks.get(cid)
            if task and task.status not in (TaskStatus.STOPPED, TaskStatus.CREATED):
                try:
                    self.backend.kill_task(cid, "SIGKILL")
                except DrmaaError:
                    pass
        deadline = time.monotonic() + 10
        remaining = [cid for cid in ids if cid in tasks]
        while remaining:
            _, failed = self.backend.delete_tasks(remaining)
            remaining = [cid for cid, why in failed.items() if "not found" not in why]
            if not remaining or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.backend.delete_containers(ids)
        for cid in ids:
            self.state.remove_job(_key(observed[cid].info) if cid in observed else cid)

    # ------------------------------------------------------------ state & info
    def job_state(self, job_id: str) -> tuple[JobState, str]:
        job = self._observe(job_id)
        return job.state, job.sub_state

    def job_states(self, job_ids: Iterable[str]) -> dict[str, tuple[JobState, str]]:
        """``job_state`` for many jobs: one task listing plus one record per job."""
        return {job_id: (job.state, job.sub_state) for job_id, job in self._observe_many(job_ids).items()}

    def job_template(self, job_id: str) -> JobTemplate:
        info = self._info(job_id)
        try:
            template = L.decode_template(info.labels)
        except ValueError as exc:
            raise InvalidStateError(f"job {job_id!r} carries an unreadable template: {exc}") from exc
        if template is None:
            raise InvalidStateError(f"job {job_id!r} carries no template")
        return template

    def job_info(self, job_id: str) -> JobInfo:
        from ..drmaa2.models import Extension, JobInfo

        job = self._observe(job_id)
        info, labels = job.info, job.info.labels
        pid_file = self.state.pid_file(_key(info))
        dispatch = job.started_at
        if pid_file.exists():
            dispatch = datetime.fromtimestamp(pid_file.stat().st_mtime, tz=timezone.utc)
        finish = job.exit.finish_time if job.exit else None
        cpu_ns = job.exit.cpu_ns if job.exit else None
        if job.task is not None and job.task.status in (TaskStatus.RUNNING, TaskStatus.PAUSED, TaskStatus.PAUSING):
            cpu_ns = self.backend.task_cpu_ns(job_id)
        wallclock = None
        if dispatch is not None:
            end = finish or (None if job.state in TERMINAL_STATES else datetime.now(timezone.utc))
            if end is not None:
                wallclock = max(end - dispatch, timedelta(0))
        extension = {
            "image": info.image,
            "command_line": shlex.join(info.args),
            "working_directory": info.cwd,
            "namespace": self.namespace,
            "stdout": labels.get(L.STDOUT, ""),
            "stderr": labels.get(L.STDERR, ""),
        }
        if job.task is not None:
            extension["pid"] = str(job.task.pid)
        if L.ARRAY_INDEX in labels:
            extension["task_id"] = labels[L.ARRAY_INDEX]
        host = socket.gethostname()
        return JobInfo(
            id=job_id,
            exit_status=job.exit.exit_status if job.exit else None,
            terminating_signal=job.exit.terminating_signal if job.exit else None,
            annotation=labels.get(L.JOB_NAME),
            state=job.state,
            sub_state=job.sub_state,
            allocated_machines=[host],
            submission_machine=host,
            job_owner=labels.get(L.OWNER),
            slots=1,
            wallclock_time=wallclock,
            cpu_time=None if cpu_ns is None else round(cpu_ns / 1e9),
            submission_time=info.created_at,
            dispatch_time=dispatch,
            finish_time=finish,
            extension=Extension(extension_list=extension),
        )

    # ------------------------------------------------------------ control
    def job_control(self, job_id: str, action: str) -> None:
        if action not in CONTROL_ACTIONS:
            raise InvalidArgumentError(f"unknown job control action {action!r}: use one of {', '.join(CONTROL_ACTIONS)}")
        job = self._observe(job_id)
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
            key = _key(job.info)
            output = self.state.default_output(key)
            log_uri = job.info.labels.get(L.LOG_URI) or self.state.log_uri(
                output, output, self.state.logging_marker(key), self._logger_address())
            self._start(job_id, key, log_uri, has_stdin=False)
            if self.backend.mutable_labels:  # only once it runs: a failed start stays held
                self.backend.set_labels(job_id, {L.HOLD: ""})
        else:
            self._terminate(job)

    def _terminate(self, job: _Job) -> None:
        """The image's stop signal (SIGTERM by default), then SIGKILL after
        ``terminate_grace`` seconds, like ``docker stop``. Returns once the
        job has ended."""
        job_id = job.info.id
        if job.task is None:  # queued or held: it never ran
            record = ExitRecord(143, datetime.now(timezone.utc), None, terminated_by="SIGTERM")
            if self.backend.mutable_labels:
                self.backend.set_labels(job_id, record.to_labels())
            else:
                self.state.write_exit(_key(job.info), record)
            return
        stop_signal = job.info.labels.get(L.STOP_SIGNAL) or "SIGTERM"
        try:
            if job.state == JobState.SUSPENDED:
                self.backend.resume_task(job_id)  # a frozen process cannot act on a signal
            self.backend.kill_task(job_id, stop_signal)
        except BackendError:
            if self._observe(job_id).state in TERMINAL_STATES:
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
            if self._observe(job_id).state not in TERMINAL_STATES:
                raise
        self.wait(job_id, 60.0, JobState.DONE, JobState.FAILED)

    # ------------------------------------------------------------ waiting
    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> None:
        """Return once the job is in one of ``states`` (default: Done or Failed).

        ``timeout`` is in seconds; 0 checks once; ``None``, a negative value or
        ``math.inf`` waits for ever. Reacts to containerd's events; the
        subscription is proven live before the state is read, so a change just
        before the wait began is never missed.
        """
        try:
            wanted = frozenset(JobState.parse(s) for s in states) or TERMINAL_STATES
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        forever = timeout is None or timeout < 0 or math.isinf(timeout)
        deadline = math.inf if forever else time.monotonic() + float(timeout)  # type: ignore[arg-type]

        def reached() -> bool:
            job = self._observe(job_id)
            if job.state in wanted:
                return True
            if job.state == JobState.UNDETERMINED and job.task is None:
                raise InvalidStateError(
                    f"job {job_id!r} is {job.state} ({job.sub_state}) and will change no more")
            if job.state in TERMINAL_STATES and not (wanted & TERMINAL_STATES):
                raise InvalidStateError(
                    f"job {job_id!r} has ended ({job.state}) and will never be "
                    + " or ".join(str(s) for s in sorted(wanted))
                )
            return False

        if reached():
            return
        if time.monotonic() >= deadline:
            raise DrmaaTimeoutError(f"job {job_id!r} did not reach {self._names(wanted)} within {timeout:.3g} s")
        with self.backend.events([job_id]) as events:
            proven = self.backend.prove_subscribed(events, job_id, self.runner.unique_token())
            # Any event of this job may change its state; so may nothing, if
            # the stream broke or could not be proven live: re-read anyway.
            poll = SAFETY_POLL if proven else UNPROVEN_POLL
            while not reached():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DrmaaTimeoutError(
                        f"job {job_id!r} did not reach {self._names(wanted)} within {timeout:.3g} s"
                    )
                events.next(min(remaining, poll))

    @staticmethod
    def _names(states: frozenset[JobState]) -> str:
        return " or ".join(str(s) for s in sorted(states))

    # ------------------------------------------------------------ deleting
    def delete_job(self, job_id: str) -> None:
        """Remove a Done/Failed job: its task, container, snapshot and the
        tracker's own files for it (output files the user named are kept)."""
        job = self._observe(job_id)
        lost = job.state == JobState.UNDETERMINED and job.task is None  # its task is gone for good
        if job.state not in TERMINAL_STATES and not lost:
            raise InvalidStateError(f"cannot delete job {job_id!r}: it is {job.state}, not Done or Failed")
        if job.task is not None:
            self.backend.delete_tasks([job_id])
        gone = job_id in self.backend.delete_containers([job_id])
        self.state.remove_job(_key(job.info))
        if gone:
            raise JobNotFoundError(f"job {job_id!r} was deleted meanwhile by another process")
