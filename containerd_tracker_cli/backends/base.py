"""The contract every backend fulfils for the tracker."""
from __future__ import annotations

import abc
from typing import Callable, Iterable, Mapping, NamedTuple

from .models import ContainerInfo, ContainerSpec, Event, ImageConfig, ImageRecord, TaskRecord


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


class ContainerBackend(abc.ABC):
    """Operations on one containerd namespace through one CLI.

    Methods taking several IDs make one CLI call where the CLI allows it.
    """

    name: str
    namespace: str
    #: True when the CLI itself keeps a finished task's exit status and time
    #: (docker, nerdctl inspect); False when the tracker must record them (ctr).
    records_exit: bool = False
    #: True when labels can be changed after creation (hold, probes, exit records).
    mutable_labels: bool = True
    #: True when containerd writes the job's streams to the log URI's files;
    #: False when the CLI keeps them (docker) and ``read_output`` fetches them.
    writes_output_files: bool = True

    @abc.abstractmethod
    def server_version(self) -> str: ...

    @abc.abstractmethod
    def list_container_ids(self, labels: Mapping[str, str]) -> list[str]:
        """IDs of the containers carrying all of ``labels``, in one call."""

    @abc.abstractmethod
    def container_info(self, container_id: str) -> ContainerInfo: ...

    @abc.abstractmethod
    def observe(self, container_ids: Iterable[str]) -> dict[str, Observed]:
        """Records and tasks of these containers; a missing one is left out.
        As few calls as the CLI allows (one ``inspect``; ctr: one record each
        and one task listing)."""

    @abc.abstractmethod
    def create_container(self, spec: ContainerSpec) -> str:
        """Create it; return its container ID (the job ID)."""

    @abc.abstractmethod
    def start_task(self, container_id: str, *, log_uri: str, pid_file: str | None = None) -> None: ...

    @abc.abstractmethod
    def kill_task(self, container_id: str, signal: str) -> None: ...

    @abc.abstractmethod
    def pause_task(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def resume_task(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def delete_tasks(self, container_ids: Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
        """Delete stopped tasks. Returns (exit status of each deleted task as
        far as the CLI tells it, error text of each that could not be deleted)."""

    @abc.abstractmethod
    def delete_containers(self, container_ids: Iterable[str]) -> set[str]:
        """Remove containers and their snapshots; returns the IDs that were
        not there (someone deleted them first), which are skipped."""

    @abc.abstractmethod
    def set_labels(self, container_id: str, labels: Mapping[str, str]) -> dict[str, str]:
        """Set labels (an empty value removes one); returns the non-empty ones set."""

    def task_exits(self, container_ids: Iterable[str]) -> dict[str, TaskRecord]:
        """Exit status and time of those tasks that have stopped, as their
        runtime holds them, for CLIs that keep no record (``records_exit``
        False). A task that is gone is left out."""
        return {}

    def saved_task(self, container_id: str, text: str) -> TaskRecord | None:
        """A stopped task as its runtime described it in ``text``, saved when
        the job's process ended (ctr's logger keeps the shim's state, which
        containerd 1.7+ forget on a restart); ``None`` if unusable."""
        return None

    @abc.abstractmethod
    def task_cpu_ns(self, container_id: str) -> int | None:
        """CPU time used so far by the task's cgroup, if the runtime tells."""

    @abc.abstractmethod
    def events(self, container_ids: Iterable[str]) -> EventStream:
        """Subscribe to the events of these containers."""

    def prove_subscribed(self, events: EventStream, container_id: str, token: str,
                         on_event: Callable[[Event], None] | None = None, timeout: float = 10.0) -> bool:
        """Make sure no later event of ``events`` can be missed; False when
        the CLI offers no way to know (callers then re-read state more often)."""
        return False

    def read_output(self, container_id: str) -> tuple[str, str]:
        """(stdout, stderr) the CLI kept for the container."""
        raise NotImplementedError(f"{self.name} writes output files itself")

    @abc.abstractmethod
    def list_images(self) -> list[ImageRecord]: ...

    @abc.abstractmethod
    def pull_image(self, ref: str) -> None: ...

    @abc.abstractmethod
    def image_config(self, image: ImageRecord) -> ImageConfig: ...
