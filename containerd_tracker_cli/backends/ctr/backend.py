"""``ctr`` backend: runs argv from :mod:`.commands` through the injected
runner and turns output into models with :mod:`.parsers`."""
from __future__ import annotations

import hashlib
import logging
import platform
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Iterable, Mapping

from ...drmaa2.errors import DrmaaError
from ...records import labels as L
from ...runner import Runner
from ..base import EventStream, Observed, TaskDeletion
from ..cli import PULL_TIMEOUT, CliBackend, batches
from ..errors import BackendError, CliParseError, ContainerNotFound, TaskNotFound
from ..models import ContainerInfo, ContainerSpec, Event, ImageConfig, ImageRecord, TaskRecord, TaskStatus
from . import parsers
from .commands import CtrCommands

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




#: Up to this many jobs are read one ``containers info`` each, kept records
#: or not: so ``job_state`` costs two ctr calls (the listings cost up to three).
DIRECT_READS = 2


class CtrBackend(CliBackend):
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

    def observe(self, container_ids: Iterable[str], *, exited: Collection[str] = ()) -> dict[str, Observed]:
        """One ``tasks list`` for all, listed *first* (exits are labelled
        before their task is deleted, so a task missing from this listing has
        its exit in any record read after it), then records: kept copies (see
        :mod:`.records`) checked against listings — every container, and
        when some job may have ended or be held, those labelled so — and
        ``containers info`` only for a record not kept yet or newly ended.
        For a job or two (where the listings would cost more than they save):
        the kept copy while a task is listed, else one ``containers info``
        each (always, where no records are kept), several at once as the
        runner allows. Jobs just seen ``exited``: their kept copies with a
        stopped task and no call at all (see _kept_exited)."""
        wanted = list(dict.fromkeys(container_ids))
        if exited and (known := self._kept_exited(wanted, exited)) is not None:
            return known
        tasks = self.list_tasks()
        listed = self.records is not None and len(wanted) > DIRECT_READS
        infos = self._records(wanted, tasks) if listed else {cid: self._kept_with_task(cid, tasks) for cid in wanted}
        unread = [cid for cid, info in infos.items() if info is None]
        infos.update(zip(unread, self.runner.each(self._read_record, unread)))  # side by side
        return {cid: Observed(info, tasks.get(cid)) for cid, info in infos.items() if info is not None}

    def _kept_with_task(self, container_id: str, tasks: Mapping[str, TaskRecord]) -> ContainerInfo | None:
        """The kept copy of a job whose task is listed: its container exists,
        and its record changes no more until its exit is labelled — after the
        task stopped, and labelling again what another process just labelled
        writes the same values. ``None``: containerd must be asked."""
        if self.records is None or container_id not in tasks:
            return None
        return self.records.get(container_id)

    def _kept_exited(self, wanted: list[str], exited: Collection[str]) -> dict[str, Observed] | None:
        """After an exit event of a job or two: their kept copies (not yet
        carrying an exit) with a stopped task, so the exit is harvested from
        the shim without a ``tasks list`` first — the shim's answer, not the
        event's, is the status recorded, and a task gone meanwhile is found
        by the harvest. ``None``: containerd must be asked."""
        if self.records is None or len(wanted) > DIRECT_READS or not set(wanted) <= set(exited):
            return None
        kept = [self.records.get(cid) for cid in wanted]
        if any(info is None or L.EXIT_STATUS in info.labels for info in kept):
            return None
        # (pid 0: a stopped task's pid is read by nobody once its exit is recorded)
        return {info.id: Observed(info, TaskRecord(container_id=info.id, pid=0, status=TaskStatus.STOPPED))
                for info in kept if info is not None}

    def _read_record(self, container_id: str) -> ContainerInfo | None:
        """``containers info``, kept where records are; ``None``: it is gone."""
        try:
            info = self.container_info(container_id)
        except ContainerNotFound:
            return None
        if self.records is not None:
            self.records.put(info)
        return info

    def _records(self, wanted: list[str], tasks: Mapping[str, TaskRecord]) -> dict[str, ContainerInfo | None]:
        """Kept records of the ``wanted`` containers that exist, brought up to
        date by listings; ``None`` where containerd must be asked."""
        assert self.records is not None
        listed_at = time.time()
        present = set(self.list_container_ids({}))
        self.records.drop(cid for cid in wanted if cid not in present)
        self.records.prune(present, listed_at)
        infos = {cid: self.records.get(cid) for cid in wanted if cid in present}
        # Its exit label may have come, or its hold changed: no live task, no exit kept.
        open_ = [cid for cid, info in infos.items() if info is not None and L.EXIT_STATUS not in info.labels
                 and (cid not in tasks or tasks[cid].status == TaskStatus.STOPPED)]
        if open_:
            ended = set(self._ids_labelled(L.EXIT_STATUS))
            held = set(self.list_container_ids({L.HOLD: "true"}))
            for cid in open_:
                if cid in ended:
                    infos[cid] = None  # read it once more, with its exit
                elif cid in held:
                    kept = infos[cid]
                    infos[cid] = kept.model_copy(update={"labels": {**kept.labels, L.HOLD: "true"}})
        return infos

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
            log.warning("cannot ask the shim of %s (is %s the address containerd listens on?): %s",
                        container_id, self.address, done.stderr.strip())
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
        if not spec.user or self._client_version() >= (1, 7):
            return None
        if self._bin_dir is None:
            from ...drmaa2.errors import UnsupportedAttributeError

            raise UnsupportedAttributeError(
                f"extension 'user': ctr {'.'.join(map(str, self._client_version()))} cannot set a container's "
                "user without the tracker's runtime, which lives in a state directory (use_state)")
        from .user_runtime import install

        try:
            return str(install(self._bin_dir))
        except OSError as exc:
            from ...drmaa2.errors import InternalError

            raise InternalError(f"cannot write ctr 1.6's user runtime into {str(self._bin_dir)!r}: {exc}") from exc

    def _refuse_what_ctr_would_trim(self, spec: ContainerSpec) -> None:
        """ctr 2.x trims trailing whitespace from every option value (1.6 and
        1.7 do not): a job would silently get another environment value,
        working directory or label. Refused there; asked only when it matters."""
        values = {**{f"job_environment[{k!r}]": v for k, v in spec.env.items()},
                  **{f"label {k!r}": v for k, v in spec.labels.items()}, "working_directory": spec.cwd or ""}
        changed = [name for name, value in values.items() if value != value.rstrip()]
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

    def events(self, container_ids: Iterable[str]) -> EventStream:
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
