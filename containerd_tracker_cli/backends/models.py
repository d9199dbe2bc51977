"""What a backend reports about containers, tasks, images and events.

Backend-neutral: the ctr and nerdctl backends both fill these, and the tracker
reads only these.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field


class TaskStatus(str, enum.Enum):
    """containerd's task status (``ctr task ls`` STATUS, lower-cased)."""

    CREATED = "created"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


class _Model(BaseModel):
    # No defer_build: a validator first built in several threads at once is
    # not safe in pydantic up to 2.13 (arrays submit and read side by side),
    # and it saved only ~3 ms of a 200 ms ``state``.
    model_config = ConfigDict(frozen=True, extra="ignore")


class TaskRecord(_Model):
    """A task as a listing shows it. ``exit_status`` only where the CLI tells it."""

    container_id: str
    pid: int
    status: TaskStatus
    exit_status: int | None = None
    exited_at: datetime | None = None
    started_at: datetime | None = None
    #: The kernel killed a process of it for exceeding its memory limit
    #: (where the CLI tells: docker/nerdctl ``State.OOMKilled``).
    oom_killed: bool = False


class ContainerInfo(_Model):
    """A container's stored record (``ctr containers info``)."""

    id: str
    labels: dict[str, str] = Field(default_factory=dict)
    image: str = ""
    runtime: str = ""
    snapshot_key: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    args: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    cwd: str = ""
    user: str = ""


class ImageRecord(_Model):
    name: str
    digest: str = ""
    media_type: str = ""
    #: False: only named (by a template), not looked up in the store yet.
    looked_up: bool = True


class ImageConfig(_Model):
    """The parts of an OCI image config that decide what a container runs."""

    entrypoint: list[str] = Field(default_factory=list)
    cmd: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    working_dir: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ImageConfig":
        """From an OCI (ctr) or Docker (``image inspect``) config object: both
        use these keys, and either may leave one out or ``null``. Raises
        ValueError for values of the wrong type."""
        return cls(entrypoint=config.get("Entrypoint") or [], cmd=config.get("Cmd") or [],
                   env=config.get("Env") or [], working_dir=config.get("WorkingDir") or "")


class Mount(_Model):
    source: str
    destination: str
    read_only: bool = True


class ContainerSpec(_Model):
    """What to create. ``args=None`` keeps the image's own entrypoint and cmd."""

    id: str
    image: str
    args: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    mounts: list[Mount] = Field(default_factory=list)
    #: "none" (loopback only) or "host" (the host's network stack).
    network: str = "none"
    #: ``name|uid[:group|gid]`` to run as; ``None``: the image's user.
    user: str | None = None
    #: The memory cgroup limit.
    memory_bytes: int | None = None
    #: CPUs of CFS quota (period 100 ms).
    cpus: float | None = None
    #: rlimit name as docker's ``--ulimit`` spells it → soft and hard value, in
    #: its own unit: only those in the backend's ``native_rlimits``; the
    #: tracker's shell wrapper in ``args`` sets the others.
    rlimits: dict[str, int] = Field(default_factory=dict)


class Event(_Model):
    """One containerd event (``ctr events``)."""

    timestamp: datetime
    namespace: str
    topic: str
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def container_id(self) -> str | None:
        value = self.payload.get("container_id") or (self.payload.get("id") if self.topic.startswith("/containers/") else None)
        return str(value) if value else None

    @property
    def exited_container(self) -> str | None:
        """The container whose own process (not an exec in it) this
        ``/tasks/exit`` reports ended; ``None`` for any other event."""
        cid = self.container_id
        if self.topic != "/tasks/exit" or cid is None or str(self.payload.get("id") or cid) != cid:
            return None
        return cid

    @property
    def exit_status(self) -> int:
        """Exit status of /tasks/exit and /tasks/delete (containerd omits a 0)."""
        return int(self.payload.get("exit_status", 0) or 0)

    @property
    def exited_at(self) -> datetime | None:
        value = self.payload.get("exited_at")
        return value if isinstance(value, datetime) else None

    @property
    def labels(self) -> dict[str, str]:
        labels = self.payload.get("labels")
        return dict(labels) if isinstance(labels, dict) else {}
