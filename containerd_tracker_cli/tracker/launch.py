"""Making jobs exist: create with rollback, start, and remove again what a
failed submission left. What to create is planned by :mod:`.submission`."""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from ..backends.base import ContainerBackend, OutputDelivery
from ..backends.errors import BackendError, ExecutableNotFound, ImageNotFound, StartRefused, UserNotFound
from ..backends.models import ImageRecord, TaskStatus
from ..drmaa2.errors import DrmaaError, InternalError, InvalidArgumentError, UnsupportedAttributeError
from ..records import labels as L
from ..records.labels import ExitRecord, folder_of
from ..records.statedir import StateDir
from ..runner import Runner
from .images import Images
from .observation import Snapshot

if TYPE_CHECKING:
    from ..drmaa2.models import JobTemplate

log = logging.getLogger(__name__)


class ProgramNotStartable(InvalidArgumentError):
    """The runtime refused the job as the image has it: its program (not in
    the image, not executable) or its user (not in the image's files). Every
    later start would fail the same way, so a throttled array records such a
    task Failed (127) instead of trying again."""


@dataclass
class Launcher:
    backend: ContainerBackend
    state: StateDir
    runner: Runner
    output: OutputDelivery
    images: Images
    session_name: str
    job_owner: str
    #: Told when a job with a wallclock limit starts after its submission
    #: (released, or started by a throttled array's driver): the keeper must run.
    on_limited_start: Callable[[], None] | None = None

    def submit(self, template: "JobTemplate", image: ImageRecord, index: int | None = None, *,
               array: str | None = None, files_made: list[Path] | None = None) -> str:
        """Create (and start, unless held or in a throttled ``array``) one job;
        on any failure remove what was made: container, job folder, empty
        output files. The output files it created go into ``files_made`` (an
        array's rollback removes them too)."""
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
                output=self.output,
                image_config=lambda: self.images.config(image),
                index=index,
                array=array,
                native_rlimits=self.backend.native_rlimits,
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
                    if plan.owner is not None and os.geteuid() == 0:  # the job's user reads what it wrote
                        try:
                            os.chown(path, *plan.owner)
                        except OSError as exc:
                            raise InvalidArgumentError(
                                f"cannot give output file {str(path)!r} to uid {plan.owner[0]}: {exc.strerror}") from exc
            started_now = not plan.hold and array is None
            if started_now and self.backend.runs_in_one_call:  # run --detach
                with self._start_errors(wrapped=plan.wrapped, only=(StartRefused,)):
                    job_id = self.backend.run_container(plan.spec, log_uri=plan.log_uri or "",
                                                        pid_file=str(self.state.pid_file(key)))
            else:
                with self._start_errors(wrapped=plan.wrapped, only=()):
                    job_id = self.backend.create_container(plan.spec)
                if started_now:
                    self.start(job_id, key, plan.log_uri, wrapped=plan.wrapped)
        except BaseException as failure:
            try:
                # A create that failed half-way (timeout, interrupt) may have made
                # the container all the same: it carries the key as ID or name.
                # A missing image is refused before anything is made.
                if not isinstance(failure, ImageNotFound):
                    self.discard([job_id or key], missing_ok=True)
            except Exception as cleanup:  # noqa: BLE001 - the original error matters more
                log.error("could not remove what the failed submission left: %s", cleanup)
            finally:
                self.state.remove_job(key)
                _remove_empty(made)
            raise
        if files_made is not None:
            files_made.extend(made)
        return job_id

    def submit_array(self, template: "JobTemplate", image: ImageRecord, indices: range,
                     on_submitted: Callable[[int, int], None] | None = None, *, array: str | None = None) -> list[str]:
        """One job per index, their IDs in index order. The first alone (what
        every task would trip over fails at once, and what is made once per
        process is made), then up to the runner's ``concurrency`` at once:
        each is a CLI call or two, mostly spent waiting. A failure or an
        interrupt part-way removes every task made, those still under way
        included, and their empty output files."""
        made: dict[int, str] = {}
        files: list[Path] = []
        lock = threading.Lock()
        abandoned = threading.Event()

        def one(index: int) -> None:
            job_id = self.submit(template, image, index=index, array=array, files_made=files)
            with lock:
                if not abandoned.is_set():
                    made[index] = job_id
                    return
            self.discard([job_id], missing_ok=True)  # finished after the rollback began

        def progress() -> None:
            if on_submitted:
                on_submitted(len(made), len(indices))

        try:
            rest = list(indices)
            one(rest.pop(0))
            progress()
            self.runner.each(one, rest, stop_at_error=True, done=progress)
        except BaseException:
            with lock:
                abandoned.set()
                ids = list(made.values())
            try:
                self.discard(ids)
            except Exception as cleanup:  # noqa: BLE001 - the original error matters more
                log.error("could not remove the tasks of the failed array submission: %s", cleanup)
            finally:
                _remove_empty(files)
            raise
        return [made[index] for index in indices]

    def start_queued(self, job: Snapshot) -> None:
        """Start a job that was created without starting (held, or waiting in
        a throttled array)."""
        from . import submission

        output = self.state.default_output(job.folder)
        log_uri = job.info.labels.get(L.LOG_URI) or self.output.log_uri(job.folder, output, output)
        self.start(job.id, job.folder, log_uri, wrapped=submission.wrapped(job.info.args))
        if job.info.labels.get(L.LIMITED) == "true" and self.on_limited_start is not None:
            self.on_limited_start()

    def record_unstarted(self, job: Snapshot, record: ExitRecord) -> None:
        """How a job that never ran ended (terminated while queued, or it could
        not start): in its labels, or in its folder where labels are fixed."""
        if self.backend.mutable_labels:
            self.backend.set_labels(job.id, record.to_labels())
        else:
            self.state.write_exit(job.folder, record)

    def start(self, job_id: str, key: str, log_uri: str | None, *, wrapped: bool) -> None:
        self.state.make_job_dir(key)  # the pid file (and ctr's logger marker) go there
        with self._start_errors(wrapped=wrapped):
            self.backend.start_task(job_id, log_uri=log_uri or "", pid_file=str(self.state.pid_file(key)))

    @contextlib.contextmanager
    def _start_errors(self, *, wrapped: bool,
                      only: tuple[type[BackendError], ...] = (BackendError,)) -> Iterator[None]:
        """A start the CLI refused, as the DRMAA2 error that says why; other
        than a missing program or user, only failures of kind ``only`` (a call
        that also creates the container: only those of the start)."""
        try:
            yield
        except UserNotFound as exc:
            raise ProgramNotStartable(
                "extension 'user': the image has no such user or group (names are looked up in the image's "
                "/etc/passwd and /etc/group)", argv=exc.argv, exit_code=exc.exit_code, stderr=exc.stderr) from exc
        except ExecutableNotFound as exc:
            if wrapped and exc.program == "/bin/sh":
                raise UnsupportedAttributeError(
                    "input_path and, through ctr, resource_limits need /bin/sh in the image (ctr gives a "
                    "detached task no stdin and sets no rlimits: the tracker does both with the image's shell)",
                    argv=exc.argv, exit_code=exc.exit_code, stderr=exc.stderr,
                ) from exc
            raise ProgramNotStartable(
                f"the job could not be started: {exc.program!r} is not in the image or not executable",
                argv=exc.argv, exit_code=exc.exit_code, stderr=exc.stderr,
            ) from exc
        except only as exc:
            raise InvalidArgumentError(
                "the job could not be started", argv=exc.argv, exit_code=exc.exit_code, stderr=exc.stderr
            ) from exc

    def discard(self, job_ids: Iterable[str], *, missing_ok: bool = False) -> None:
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
        deadline = self.runner.monotonic() + 10
        remaining = [cid for cid in ids if cid in tasks]
        while remaining:
            deleted = self.backend.delete_tasks(remaining)
            deleted.raise_error()  # the daemon failed a call: no retry will do better
            remaining = [cid for cid in deleted.failed if cid not in deleted.missing()]
            if not remaining or self.runner.monotonic() > deadline:
                break
            self.runner.sleep(0.1)
        self.backend.delete_containers(ids)
        for cid in ids:
            self.state.remove_job(folder_of(cid, observed[cid].info.labels) if cid in observed else cid)


def _remove_empty(paths: Iterable[Path]) -> None:
    """Output files a rolled-back submission created, unless a job wrote into them."""
    for path in paths:
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()
