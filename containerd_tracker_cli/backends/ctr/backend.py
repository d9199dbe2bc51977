"""``ctr`` backend: runs argv from :mod:`.commands` through the injected
runner and turns output into models with :mod:`.parsers`."""
from __future__ import annotations

import hashlib
import logging
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ...drmaa2.errors import DrmaaError
from ...records import labels as L
from ...runner import Runner
from ..base import EventStream, TaskDeletion
from ..cli import PULL_TIMEOUT, CliBackend, batches
from ..errors import BackendError, CliParseError, TaskNotFound
from ..models import ContainerInfo, ContainerSpec, Event, ImageConfig, ImageRecord, TaskRecord, TaskStatus
from . import parsers
from .commands import CtrCommands, trimmed_values
from .reading import RecordReads

if TYPE_CHECKING:
    from ...records.statedir import StateDir
    from .exits import ShimExits
    from .logger import LoggerOutput
    from .records import RecordCache

DEFAULT_TIMEOUT = 30.0
#: ctr deletes the tasks (and containers) one call names one after another,
#: each task waiting for its shim to drain its output (≈ 35 ms idle, ten times
#: that under load): 300 in one call outran the call timeout in CI. So
#: deletes go this many per call, the calls side by side (Runner.each).
DELETE_BATCH = 20
#: The label a subscription probe sets on a container (see prove_subscribed).
PROBE_LABEL = L.PROBE

log = logging.getLogger(__name__)


_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def _go_arch() -> str:
    """This machine's architecture as Go (and an OCI platform) names it."""
    return _GO_ARCH.get(platform.machine(), platform.machine())


class CtrBackend(RecordReads, CliBackend):
    name = "ctr"
    daemon = "containerd"
    not_found = re.compile(r'container "[^"]+" in namespace "[^"]*": not found')
    #: ``run`` and ``containers create`` of every version, before making anything.
    image_missing = re.compile(r'^ctr: image "[^"]*": not found$', re.MULTILINE)
    unreachable = (
        "connection refused",
        "failed to dial",
        "connection error",
        "transport: error while dialing",
        "context deadline exceeded",
        'no such file or directory" dial',
        "dial unix",
        "cannot access socket",  # ctr 2.x, before dialling a socket that is not there
    )

    def __init__(
        self,
        runner: Runner,
        address: str,
        namespace: str,
        *,
        executable: str = "ctr",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.check_executable(runner, executable)
        self.runner = runner
        self.address = address
        self.namespace = namespace
        self.timeout = timeout
        self._version: tuple[int, int] | None = None  # ctr's own, read once when needed
        #: Kept container records (see use_state); ``None``: ask containerd each time.
        self.records: "RecordCache | None" = None
        #: Where programs containerd runs for us live (see use_state); ``None``: nowhere yet.
        self._bin_dir: "Path | None" = None
        self.commands = CtrCommands(
            address=address, namespace=namespace, executable=executable,
            # ctr gives up connecting well before we would kill it
            connect_timeout=min(5.0, timeout / 2),
        )

    # -- what ctr leaves to the tracker ----------------------------------
    def output_delivery(self, state: "StateDir") -> "LoggerOutput":
        """containerd runs our logger per task; it also keeps the shim's exit record."""
        from .logger import LoggerOutput

        return LoggerOutput(state, self.address)

    def exit_keeping(self, state: "StateDir") -> "ShimExits":
        """ctr prints no exit status and containerd forgets it: harvest it."""
        from .exits import ShimExits

        return ShimExits(self, state, self.output_delivery(state))

    # -- queries --------------------------------------------------------
    def server_version(self) -> str:
        argv = self.commands.version()
        return parsers.parse_server_version(argv, self._run(argv).stdout)

    def list_container_ids(self, labels: Mapping[str, str]) -> list[str]:
        argv = self.commands.list_containers(labels)
        return parsers.parse_container_ids(argv, self._run(argv).stdout)

    def container_info(self, container_id: str) -> ContainerInfo:
        argv = self.commands.container_info(container_id)
        return parsers.parse_container_info(argv, self._run(argv, container_id=container_id).stdout)

    def _ids_labelled(self, key: str) -> list[str]:
        argv = self.commands.list_labelled(key)
        return parsers.parse_container_ids(argv, self._run(argv).stdout)

    def use_state(self, state: "StateDir") -> None:
        """ctr reads one record per call: keep what never changes (see
        :mod:`.records`). ctr 1.6's runtime for jobs with a user goes there too."""
        from .records import RecordCache

        self.records = RecordCache(state.records_dir() / hashlib.sha256(self.address.encode()).hexdigest()[:12])
        self._bin_dir = state.root / "bin"

    def list_tasks(self) -> dict[str, TaskRecord]:
        argv = self.commands.list_tasks()
        return parsers.parse_task_list(argv, self._run(argv).stdout)

    def task_exit(self, container_id: str) -> TaskRecord | None:
        """Exit status and time of a stopped task, from its shim: no ctr
        listing prints them, and ``/tasks/delete`` events are not reliable
        (containerd 2.1 drops about one in ten). ctr has no batch form: one
        call per task. ``None``: not stopped, or its shim is gone (deleted
        meanwhile)."""
        argv = self.commands.shim_state(container_id)
        done = self._run(argv, allow_failure=True)
        if done.exit_code != 0:
            # Deleted meanwhile by another process — or the shim cannot be found
            # because the address differs from the one containerd was started
            # with (a symlinked path): then exits lose their finish time.
            log.warning("cannot ask the shim of %s (deleted meanwhile, or %s is not the address containerd "
                        "listens on?): %s", container_id, self.address, done.stderr.strip())
            return None
        record = parsers.parse_shim_state(argv, done.stdout)
        return record if record.status == TaskStatus.STOPPED else None

    def saved_task(self, container_id: str, text: str) -> TaskRecord | None:
        try:
            task = parsers.parse_shim_state(self.commands.shim_state(container_id), text)
        except CliParseError as exc:
            log.warning("the saved shim state of %s is unreadable: %s", container_id, exc)
            return None
        return task if task.status == TaskStatus.STOPPED and task.container_id == container_id else None

    def task_cpu_ns(self, container_id: str) -> int | None:
        usage = self.task_usage(container_id)
        return usage.cpu_ns if usage is not None else None

    def task_usage(self, container_id: str) -> parsers.Usage | None:
        """CPU time and OOM kills of the task's cgroup (also of a stopped,
        not yet deleted task); ``None`` when the task or its cgroup is gone."""
        argv = self.commands.metrics(container_id)
        done = self._run(argv, allow_failure=True)
        if done.exit_code != 0:
            return None
        return parsers.parse_usage(argv, done.stdout)

    # -- changes --------------------------------------------------------
    def create_container(self, spec: ContainerSpec) -> str:
        self._refuse_what_ctr_would_trim(spec)
        self._run(self.commands.create(spec, self._user_runtime(spec)))
        return spec.id  # ctr takes the ID it is given

    runs_in_one_call = True

    def run_container(self, spec: ContainerSpec, *, log_uri: str, pid_file: str | None = None) -> str:
        self._refuse_what_ctr_would_trim(spec)
        self._run_started(self.commands.run(spec, log_uri, pid_file, self._user_runtime(spec)), spec.id)
        return spec.id

    def _user_runtime(self, spec: ContainerSpec) -> str | None:
        """ctr 1.6 has no ``--user``: a job with a user gets the tracker's own
        runtime (:mod:`.user_runtime`), kept in the state directory."""
        from .user_runtime import runtime_for

        return runtime_for(spec, self._client_version, self._bin_dir)

    def _refuse_what_ctr_would_trim(self, spec: ContainerSpec) -> None:
        """ctr 2.x trims trailing whitespace from every option value (1.6 and
        1.7 do not): a job would silently get another value. Refused there;
        ctr's version asked only when it matters."""
        changed = trimmed_values(spec)
        if changed and self._client_version() >= (2, 0):
            from ...drmaa2.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"ctr {'.'.join(map(str, self._client_version()))} trims trailing whitespace from option values, "
                f"so these would reach the job changed: {', '.join(changed)}")

    def _client_version(self) -> tuple[int, int]:
        if self._version is None:
            argv = self.commands.client_version()
            self._version = parsers.parse_client_version(argv, self._run(argv).stdout)
        return self._version

    def start_task(self, container_id: str, *, log_uri: str, pid_file: str | None = None) -> None:
        self._run(self.commands.start(container_id, log_uri, pid_file), container_id=container_id)

    def delete_tasks(self, container_ids: Iterable[str]) -> TaskDeletion:
        codes: dict[str, int] = {}
        failed: dict[str, BackendError] = {}
        errors: list[DrmaaError] = []
        for part in self.runner.each(self._delete_tasks, batches(container_ids, DELETE_BATCH)):
            codes.update(part.codes)
            failed.update(part.failed)
            errors.extend(part.errors)
        return TaskDeletion(codes, failed, tuple(errors))

    def _delete_tasks(self, batch: list[str]) -> TaskDeletion:
        """One call's deletions. A call that fails as a whole fails each task
        it does not prove deleted, and its error is returned, not raised: the
        exit statuses the calls beside it read from ctr's warnings exist
        nowhere else once their tasks are gone."""
        argv = self.commands.delete_tasks(batch)
        try:
            done = self._run(argv, allow_failure=True)
        except DrmaaError as exc:
            return TaskDeletion({}, {cid: BackendError(f"task {cid!r} not deleted: {exc}", argv=argv)
                                     for cid in batch}, (exc,))
        codes, failures = parsers.parse_delete_output(argv, batch, done.stderr)
        if done.exit_code != 0 and not failures:
            try:
                self._raise(done, None)
            except DrmaaError as exc:  # only a warning's non-zero status proves a task deleted
                proven = {cid: code for cid, code in codes.items() if code}
                return TaskDeletion(proven, {cid: BackendError(f"task {cid!r} not deleted: {exc}", argv=argv)
                                             for cid in batch if cid not in proven}, (exc,))
        failed: dict[str, BackendError] = {}
        for cid, why in failures.items():
            kind = TaskNotFound if "not found" in why else BackendError
            failed[cid] = kind(f"task {cid!r} not deleted: {why}", argv=argv, exit_code=done.exit_code, stderr=why)
        return TaskDeletion(codes, failed)

    def delete_containers(self, container_ids: Iterable[str]) -> set[str]:
        missing: set[str] = set()
        for batch_missing in self.runner.each(self._delete_containers, batches(container_ids, DELETE_BATCH)):
            missing |= batch_missing
        return missing

    def _delete_containers(self, batch: list[str]) -> set[str]:
        done = self._run(self.commands.delete_containers(batch), allow_failure=True)
        if self.records is not None:
            self.records.drop(batch)  # kept or not, it is read afresh next time
        if done.exit_code == 0:
            return set()
        if any(line.strip() and "not found" not in line for line in done.stderr.splitlines()):
            self._raise(done, None)
        return parsers.parse_missing_containers(done.stderr) & set(batch)

    def set_labels(self, container_id: str, labels: Mapping[str, str]) -> dict[str, str]:
        argv = self.commands.set_labels(container_id, labels)
        self._run(argv, container_id=container_id)
        if self.records is not None and labels.get(L.EXIT_STATUS):
            # An exit record never changes once written: the kept copy takes
            # it, so the next read needs no `containers info` for this job.
            self.records.amend(container_id, labels)
        # ctr prints the resulting set as k=v,k2=v2, which is ambiguous when a
        # value holds a comma; callers that need the full set ask container_info.
        return {k: v for k, v in labels.items() if v}

    def events(self, container_ids: Iterable[str], *, labelled: Mapping[str, str] | None = None) -> EventStream:
        # ctr filters on the event's fields; a task's events carry no labels
        return self._stream(self.commands.events(list(container_ids)), parsers.parse_event)

    def prove_subscribed(self, events: EventStream, container_id: str, token: str,
                         on_event: Callable[[Event], None] | None = None, timeout: float = 10.0) -> bool:
        """Label ``container_id`` with ``token`` until our own update comes
        back: from then on no event of this subscription is missed.

        ``ctr events`` gives no sign of when it is subscribed, so an update
        made too early is simply never seen: the probe is repeated, at growing
        intervals, until one arrives. Other events read meanwhile go to
        ``on_event``.
        """
        deadline = self.runner.monotonic() + timeout
        interval = 0.05
        while (remaining := deadline - self.runner.monotonic()) > 0:
            self.set_labels(container_id, {PROBE_LABEL: token})
            probe_deadline = self.runner.monotonic() + min(interval, remaining)
            while (left := probe_deadline - self.runner.monotonic()) > 0:
                event = events.next(left)
                if event is None:
                    break
                if (event.topic == "/containers/update" and event.container_id == container_id
                        and event.labels.get(PROBE_LABEL) == token):
                    return True
                if on_event:
                    on_event(event)
            interval = min(interval * 2, 1.0)
        log.warning("event subscription for %s not confirmed within %.0f s", container_id, timeout)
        return False

    # -- images ---------------------------------------------------------
    def list_images(self) -> list[ImageRecord]:
        argv = self.commands.list_images()
        return parsers.parse_image_list(argv, self._run(argv).stdout)

    def pull_image(self, ref: str) -> None:
        self._run(self.commands.pull(ref), timeout=PULL_TIMEOUT)

    def image_config(self, image: ImageRecord) -> ImageConfig:
        """The image's config: from an index, this machine's manifest
        first; from the manifest, its config blob."""
        argv = self.commands.content(image.digest)
        out = self._run(argv).stdout
        manifest = parsers.parse_manifest_choice(argv, out, _go_arch())
        if manifest is not None:  # an index
            argv = self.commands.content(manifest)
            out = self._run(argv).stdout
        argv = self.commands.content(parsers.parse_config_digest(argv, out))
        return parsers.parse_image_config(argv, self._run(argv).stdout)
