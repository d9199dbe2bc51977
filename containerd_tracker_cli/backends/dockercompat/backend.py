"""The Docker-compatible backend: ``nerdctl`` on containerd, or ``docker``.

Differences from ctr that the tracker relies on, stated as capabilities:
* exits: ``inspect`` keeps a finished container's exit code and times, so
  the default ``exit_keeping`` (nothing to do) serves;
* ``mutable_labels`` is False: labels are fixed at creation;
* output: the CLI keeps the streams; ``output_delivery`` copies them into the
  job's files once it has ended (:mod:`.output`).
A job's ID is the container ID, as with ctr, so every CLI and every backend
names a job the same way; the readable ``<name>-<token>`` is its name.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Collection, Iterable, Mapping

from ...records import labels as L
from ...runner import Runner
from ..base import EventStream, Observed, TaskDeletion
from ..cli import PULL_TIMEOUT, CliBackend, batches
from ..errors import CliParseError, ContainerNotFound
from ..images import normalize_image_ref
from ..models import ContainerInfo, ContainerSpec, ImageConfig, ImageRecord
from . import parsers
from .commands import DockerCompatCommands
from .flavours import FLAVOURS
from .oom import OomWitness

if TYPE_CHECKING:
    from ...records.statedir import StateDir
    from .output import CopiedOutput

DEFAULT_TIMEOUT = 30.0
_HEX_ID = re.compile(r"^[0-9a-f]{64}$")
_MISSING = re.compile(r"[Nn]o such (?:container|object)|not found")
_MISSING_ID = re.compile(r"[Nn]o such (?:container|object): (?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*)")
# Precise on purpose: "no such file or directory" also ends a failed exec.
_UNREACHABLE = (
    "cannot connect to the docker daemon",          # docker, socket missing or daemon down
    "while trying to connect to the docker daemon",  # docker, permission denied
    "cannot access containerd socket",               # nerdctl, socket missing
    "connection refused",
    "failed to dial",
    "context deadline exceeded",
)


class DockerCompatBackend(CliBackend):
    not_found = _MISSING
    unreachable = _UNREACHABLE
    mutable_labels = False
    #: What ``--ulimit`` of docker 20.10 and nerdctl know (not ``as``: VIRTUAL_MEMORY goes to the shell).
    native_rlimits = frozenset({"core", "cpu", "data", "fsize", "nofile", "stack"})

    def __init__(self, runner: Runner, flavour: str, address: str, namespace: str, *,
                 executable: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}")
        self.check_executable(runner, executable or flavour)
        #: Where nerdctl and docker differ, as data (see flavours.py).
        self.flavour = FLAVOURS[flavour]
        self.name = self.flavour.name
        self.daemon = self.flavour.daemon
        self.runner = runner
        self.address = self.flavour.normalise_address(address)
        self.namespace = namespace
        self.timeout = timeout
        self.commands = DockerCompatCommands(self.flavour, self.address, namespace, executable or flavour)
        #: Tells the OOM kills the engine's ``State.OOMKilled`` misses (see oom.py).
        self.oom = OomWitness(self)

    def use_state(self, state: "StateDir") -> None:
        """Whether a job was OOM-killed is kept there once known (oom.py)."""
        self.oom.state = state

    # -- queries --------------------------------------------------------
    def server_version(self) -> str:
        argv = self.commands.version()
        versions = parsers.parse_version(argv, self._run(argv).stdout)
        return versions.get("server") or versions.get("containerd") or versions["client"]

    def list_container_ids(self, labels: Mapping[str, str]) -> list[str]:
        argv = self.commands.list_ids(labels)
        lines = [line.strip() for line in self._run(argv).stdout.splitlines() if line.strip()]
        if self.flavour.namespace_flag is not None:
            return lines
        ids = []
        for line in lines:
            cid, _, namespace = line.partition("\t")
            if not _HEX_ID.match(cid.strip()):
                raise CliParseError(argv, "a line is not a container ID and its namespace", line)
            if self._ours(namespace.strip()):
                ids.append(cid.strip())
        return ids

    def _ours(self, namespace: str) -> bool:
        """Whether a job labelled so is in this backend's namespace (the CLI
        has none; a job without the label is "default"'s)."""
        return (namespace or "default") == self.namespace

    def observe(self, container_ids: Iterable[str], *, exited: Collection[str] = ()) -> dict[str, Observed]:
        """One ``container inspect`` per hundred, side by side as the runner
        allows: the CLI asks the engine one container at a time, so a
        thousand in one call can outlast the call's timeout. Then the OOM
        kills the engine missed, once for all (oom.py). ``exited`` changes
        nothing: the inspect is needed for the exit status anyway."""
        seen: dict[str, tuple[Observed, str | None]] = {}
        for part in self.runner.each(self._inspect, batches(container_ids)):
            seen.update(part)
        found = {cid: observed for cid, (observed, _) in seen.items()}
        suspects = {cid: engine_id for cid, (_, engine_id) in seen.items() if engine_id}
        for cid in self.oom.killed(suspects, found):
            info, task = found[cid]
            found[cid] = Observed(info, task.model_copy(update={"oom_killed": True}) if task else task)
        return found

    def _inspect(self, names: list[str]) -> dict[str, tuple[Observed, str | None]]:
        """One ``container inspect``: found ones print, missing ones are
        named on stderr (exit code 1). With each, the engine's ID of a DRMAA2
        job that died of SIGKILL under a memory limit while the engine says
        "not OOM-killed" (else None)."""
        if not names:
            return {}
        argv = self.commands.inspect(names)
        done = self._run(argv, allow_failure=True)
        if done.exit_code != 0 and not done.stdout.strip().startswith("["):
            if not _MISSING.search(done.stderr):
                self._raise(done, None)
            # nerdctl (0.22–1.1, 2.1) prints nothing at all when one name is
            # missing: ask again for those it did not name, or, when it named
            # none, for each alone (docker prints the others).
            named = {m["id"] for m in _MISSING_ID.finditer(done.stderr)} & set(names)
            rest = [name for name in names if name not in named]
            if named:
                return self._inspect(rest) if rest else {}
            if len(names) == 1:
                return {}
            return {cid: seen for name in names for cid, seen in self._inspect([name]).items()}
        found: dict[str, tuple[Observed, str | None]] = {}
        for item in parsers.parse_inspect(argv, done.stdout):
            # Asked by ID (the job ID) as a rule; by name also answers.
            asked = item.info.id if item.info.id in names else item.name
            if asked not in names:
                continue
            if self.flavour.namespace_flag is None and not self._ours(item.info.labels.get(L.NAMESPACE, "")):
                continue  # another namespace's job: not there for this one
            info = item.info.model_copy(update={"id": asked})
            task = item.task.model_copy(update={"container_id": asked, "started_at": item.started_at}) \
                if item.task else None
            suspect = (task is not None and task.exit_status == 137 and not task.oom_killed and item.memory_limit > 0
                       and info.labels.get(L.DRMAA2) == "true")
            found[asked] = (Observed(info, task), item.info.id if suspect else None)
        return found

    def container_info(self, container_id: str) -> ContainerInfo:
        observed = self.observe([container_id])
        if container_id not in observed:
            raise ContainerNotFound(container_id, argv=self.commands.inspect([container_id]), exit_code=1,
                                    stderr=f"no such container: {container_id}")
        return observed[container_id].info

    def task_cpu_ns(self, container_id: str) -> int | None:
        return None  # neither CLI reports accumulated CPU time

    def read_output(self, container_id: str) -> tuple[str, str]:
        """(stdout, stderr) the CLI kept for the container (``logs`` keeps them apart)."""
        done = self._run(self.commands.logs(container_id), container_id=container_id)
        return done.stdout, done.stderr

    def output_delivery(self, state: "StateDir") -> "CopiedOutput":
        """The CLI keeps the streams: copied into the job's files once it ends."""
        from .output import CopiedOutput

        return CopiedOutput(self, state)

    # -- changes --------------------------------------------------------
    def create_container(self, spec: ContainerSpec) -> str:
        """The CLI picks the container ID (printed on the last line); ``spec.id``
        becomes the container's name."""
        argv = self.commands.create(spec)
        done = self._run(argv)
        lines = done.stdout.strip().splitlines()
        if not lines or not _HEX_ID.match(lines[-1].strip()):
            self._run(self.commands.remove([spec.id]), allow_failure=True)
            raise CliParseError(argv, "no container ID printed", done.stdout)
        return lines[-1].strip()

    def start_task(self, container_id: str, *, log_uri: str, pid_file: str | None = None) -> None:
        # The CLI's own logging keeps the streams; log_uri and pid_file are ctr's.
        self._run(self.commands.start(container_id), container_id=container_id)

    @property
    def runs_in_one_call(self) -> bool:  # type: ignore[override]
        return self.flavour.runs_detached

    def run_container(self, spec: ContainerSpec, *, log_uri: str, pid_file: str | None = None) -> str:
        argv = self.commands.run(spec)
        done = self._run_started(argv, spec.id)
        lines = done.stdout.strip().splitlines()
        if not lines or not _HEX_ID.match(lines[-1].strip()):
            raise CliParseError(argv, "no container ID printed", done.stdout)  # the caller removes it by name
        return lines[-1].strip()

    def delete_tasks(self, container_ids: Iterable[str]) -> TaskDeletion:
        return TaskDeletion({}, {})  # an ended container's task is already gone; rm removes the rest

    def delete_containers(self, container_ids: Iterable[str]) -> set[str]:
        """A hundred per ``rm``, side by side as the runner allows (the engine
        removes one container per request, as it inspects)."""
        return set().union(*self.runner.each(self._remove, batches(container_ids)))

    def _remove(self, ids: list[str]) -> set[str]:
        done = self._run(self.commands.remove(ids), allow_failure=True)
        errors = [line for line in done.stderr.splitlines() if line.strip() and not _MISSING.search(line)]
        if done.exit_code != 0 and errors:
            self._raise(done, None)
        return {m["id"] for m in _MISSING_ID.finditer(done.stderr)} & set(ids)

    def set_labels(self, container_id: str, labels: Mapping[str, str]) -> dict[str, str]:
        from ...drmaa2.errors import UnsupportedOperationError

        raise UnsupportedOperationError(f"{self.name} cannot change a container's labels after creation")

    def events(self, container_ids: Iterable[str], *, labelled: Mapping[str, str] | None = None) -> EventStream:
        return self._stream(self.commands.events(list(container_ids), labelled or {}), parsers.parse_event)

    def prove_subscribed(self, events: EventStream, container_id: str, token: str, on_event=None,
                         timeout: float = 10.0) -> bool:
        # docker replays the last seconds on connect (--since): live by
        # construction. nerdctl offers nothing: the tracker re-reads more often.
        return self.flavour.subscription_provable

    # -- images ---------------------------------------------------------
    def list_images(self) -> list[ImageRecord]:
        argv = self.commands.images()
        images = []
        for image in parsers.parse_images(argv, self._run(argv).stdout):
            try:
                images.append(image.model_copy(update={"name": normalize_image_ref(image.name)}))
            except ValueError:
                continue
        return images

    def pull_image(self, ref: str) -> None:
        self._run(self.commands.pull(ref), timeout=PULL_TIMEOUT)

    def image_config(self, image: ImageRecord) -> ImageConfig:
        argv = self.commands.image_inspect(image.name)
        return parsers.parse_image_inspect_config(argv, self._run(argv).stdout)
