"""The contract every backend fulfils for the tracker."""
from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Iterable, Mapping, NamedTuple

from ..drmaa2.errors import DrmaaError
from .errors import BackendError
from .models import ContainerInfo, ContainerSpec, Event, ImageConfig, ImageRecord, TaskRecord

if TYPE_CHECKING:
    from ..records.labels import ExitRecord
    from ..records.statedir import StateDir
    from ..runner import Runner


class Observed(NamedTuple):
    """A container's record and its task (``None``: it has none)."""

    info: ContainerInfo
    task: TaskRecord | None


class EventStream(abc.ABC):
    """Typed events from a running event subscription."""

    @abc.abstractmethod
    def next(self, timeout: float) -> Event | None:
        """The next event, or ``None`` when none came within ``timeout`` seconds."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OutputDelivery(abc.ABC):
    """How a job's stdout and stderr reach the host files its template names:
    each backend has its own way (ctr: a logger process containerd runs;
    docker/nerdctl: the CLI keeps the streams and they are copied)."""

    @abc.abstractmethod
    def log_uri(self, key: str, stdout: Path, stderr: Path) -> str | None:
        """What ``start_task`` is given so the streams land in these files
        (kept as the job's log-uri label); ``None`` when the CLI keeps them."""

    @abc.abstractmethod
    def settle(self, job_id: str, key: str, labels: Mapping[str, str], task_gone: bool) -> None:
        """Called whenever an ended job is observed, before anyone is told:
        afterwards its output files are complete. Must be idempotent and cheap
        once done (it runs on every later observation too)."""


class ExitKeeping:
    """How an ended job's exit status outlives its task. This default is for
    CLIs that keep it themselves (docker and nerdctl ``inspect``): nothing to do."""

    def complete(self, observed: Mapping[str, "Observed"], exits: dict[str, "ExitRecord | None"]) \
            -> dict[str, "ExitRecord | None"]:
        """``exits`` (by job ID: what labels and files say) completed for
        jobs whose task has stopped or vanished with no record yet."""
        return exits


class TaskDeletion(NamedTuple):
    """What deleting tasks did: the exit status of each deleted task as far as
    the CLI tells it, and why each other one was not deleted. ``errors``: calls
    that failed as a whole (their tasks are in ``failed`` too); a caller uses
    what the other calls did, then raises the first."""

    codes: dict[str, int]
    failed: dict[str, BackendError]
    errors: tuple[DrmaaError, ...] = ()

    def missing(self) -> set[str]:
        """Tasks that were not there (another process deleted them first)."""
        from .errors import TaskNotFound

        return {cid for cid, why in self.failed.items() if isinstance(why, TaskNotFound)}

    def raise_error(self) -> None:
        """Raise the first call's failure, if one failed as a whole: after
        the caller used what the other calls did (a task not deleted may
        still be writing its output)."""
        if self.errors:
            raise self.errors[0]


class ContainerBackend(abc.ABC):
    """Operations on one containerd namespace through one CLI.

    Methods taking several IDs make one CLI call where the CLI allows it.
    """

    name: str
    namespace: str
    #: Where the daemon listens, as the CLI is given it.
    address: str
    #: Where this backend's commands run (live, recording or replaying).
    runner: "Runner"
    #: True when labels can be changed after creation (hold, probes, exit records).
    mutable_labels: bool = True
    #: The rlimits the CLI sets itself (``ContainerSpec.rlimits``, docker's
    #: ``--ulimit`` names); the tracker sets the others with the image's
    #: ``/bin/sh`` before the program.
    native_rlimits: frozenset[str] = frozenset()
    #: True when ``run_container`` makes and starts a job in one CLI call.
    runs_in_one_call: bool = False
    #: True when making a container whose image is missing fails before
    #: anything is made, as ``ImageNotFound``, and never pulls: the image
    #: then need not be looked up before each submission.
    refuses_missing_images: bool = False

    @abc.abstractmethod
    def output_delivery(self, state: "StateDir") -> OutputDelivery:
        """This backend's way of getting job output into files (see OutputDelivery)."""

    def exit_keeping(self, state: "StateDir") -> ExitKeeping:
        """This backend's way of keeping exit statuses (default: the CLI keeps them)."""
        return ExitKeeping()

    def use_state(self, state: "StateDir") -> None:
        """The tracker's state directory. Where a backend reads one record per
        call, it may keep what never changes there; what containerd must run
        for it lives there too (default: nothing kept)."""

    @abc.abstractmethod
    def server_version(self) -> str: ...

    @abc.abstractmethod
    def list_container_ids(self, labels: Mapping[str, str]) -> list[str]:
        """IDs of the containers carrying all of ``labels``, in one call."""

    @abc.abstractmethod
    def container_info(self, container_id: str) -> ContainerInfo: ...

    @abc.abstractmethod
    def observe(self, container_ids: Iterable[str], *, exited: Collection[str] = ()) -> dict[str, Observed]:
        """Records and tasks of these containers; a missing one is left out.
        A number of calls that does not grow with the number of containers
        (one ``inspect``; ctr: listings and kept records). ``exited``: those
        the caller has just seen end (an exit event of their own process), so
        a backend may take their tasks as stopped without listing them."""

    @abc.abstractmethod
    def create_container(self, spec: ContainerSpec) -> str:
        """Create it; return its container ID (the job ID)."""

    @abc.abstractmethod
    def start_task(self, container_id: str, *, log_uri: str, pid_file: str | None = None) -> None: ...

    def run_container(self, spec: ContainerSpec, *, log_uri: str, pid_file: str | None = None) -> str:
        """Create it and start its task in one CLI call (``run --detach``),
        where ``runs_in_one_call`` says the CLI has one; its container ID. A
        start that fails may leave the container made, named ``spec.id``."""
        raise NotImplementedError(f"{self.name} creates and starts a job in two calls")

    @abc.abstractmethod
    def kill_task(self, container_id: str, signal: str) -> None: ...

    @abc.abstractmethod
    def pause_task(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def resume_task(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def delete_tasks(self, container_ids: Iterable[str]) -> TaskDeletion:
        """Delete stopped tasks (a task not there is a ``TaskNotFound`` failure)."""

    @abc.abstractmethod
    def delete_containers(self, container_ids: Iterable[str]) -> set[str]:
        """Remove containers and their snapshots; returns the IDs that were
        not there (someone deleted them first), which are skipped."""

    @abc.abstractmethod
    def set_labels(self, container_id: str, labels: Mapping[str, str]) -> dict[str, str]:
        """Set labels (an empty value removes one); returns the non-empty ones set."""

    @abc.abstractmethod
    def task_cpu_ns(self, container_id: str) -> int | None:
        """CPU time used so far by the task's cgroup, if the runtime tells."""

    @abc.abstractmethod
    def events(self, container_ids: Iterable[str], *, labelled: Mapping[str, str] | None = None) -> EventStream:
        """Subscribe to the events of these containers (none named: of the
        namespace). ``labelled``: only of containers carrying these labels,
        where the CLI filters so (docker); else ignored — callers match the
        containers an event names themselves."""

    def prove_subscribed(self, events: EventStream, container_id: str, token: str,
                         on_event: Callable[[Event], None] | None = None, timeout: float = 10.0) -> bool:
        """Make sure no later event of ``events`` can be missed; False when
        the CLI offers no way to know (callers then re-read state more often)."""
        return False

    @abc.abstractmethod
    def list_images(self) -> list[ImageRecord]: ...

    @abc.abstractmethod
    def pull_image(self, ref: str) -> None: ...

    @abc.abstractmethod
    def image_config(self, image: ImageRecord) -> ImageConfig: ...
