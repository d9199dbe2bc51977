"""Which backends exist, and how a name such as ``auto`` becomes a connected
backend: the one place that chooses. The tracker, the command line, the
pytest plugin (and the session layer to come) all ask here, so defaults,
environment variables and ``auto`` mean the same everywhere.

Adding a backend: a folder under ``backends/`` with a ``ContainerBackend``
subclass, and one :class:`BackendKind` in :data:`BACKENDS` below.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..drmaa2.errors import InvalidArgumentError

if TYPE_CHECKING:
    from ..runner import Runner
    from .base import ContainerBackend

DEFAULT_NAMESPACE = "default"
ENV_NAMESPACE = "CONTAINERD_NAMESPACE"
#: Names the backend ``auto`` stands for (the library's default and the CLI's).
ENV_BACKEND = "CONTAINERD_TRACKER_BACKEND"
AUTO = "auto"
DEFAULT_TIMEOUT = 30.0

#: (runner, address, namespace, timeout) -> backend; imports its module only when called.
Factory = Callable[["Runner", str, str, float], "ContainerBackend"]


@dataclass(frozen=True)
class BackendKind:
    """One CLI the tracker can drive, and where it finds its daemon."""

    name: str
    executable: str
    #: Environment variable naming the daemon's address, then the default.
    address_env: str
    default_address: str
    make: Factory
    #: One line for help texts.
    summary: str
    #: What the CLI talks to, for messages.
    daemon: str = "containerd"
    #: The address as the CLI needs it written (docker: ``unix://`` before a path).
    normalize: Callable[[str], str] = str

    def address(self, given: str | None = None) -> str:
        """The given address, else the environment's, else the default."""
        return self.normalize(given or os.environ.get(self.address_env) or self.default_address)


def _ctr(runner: "Runner", address: str, namespace: str, timeout: float) -> "ContainerBackend":
    from .ctr import CtrBackend

    return CtrBackend(runner, address, namespace, timeout=timeout)


def _docker_compatible(flavour: str) -> Factory:
    def make(runner: "Runner", address: str, namespace: str, timeout: float) -> "ContainerBackend":
        from .dockercompat.backend import DockerCompatBackend

        return DockerCompatBackend(runner, flavour, address, namespace, timeout=timeout)

    return make


def _docker_host(address: str) -> str:
    from .dockercompat.flavours import docker_host

    return docker_host(address)


_CONTAINERD = ("CONTAINERD_ADDRESS", "/run/containerd/containerd.sock")

BACKENDS: dict[str, BackendKind] = {
    kind.name: kind for kind in (
        BackendKind("ctr", "ctr", *_CONTAINERD, _ctr, "containerd's own CLI (every containerd has it)"),
        BackendKind("nerdctl", "nerdctl", *_CONTAINERD, _docker_compatible("nerdctl"),
                    "containerd's Docker-compatible CLI"),
        BackendKind("docker", "docker", "DOCKER_HOST", "unix:///var/run/docker.sock", _docker_compatible("docker"),
                    "the Docker engine (on containerd)", "docker", _docker_host),
    )
}
#: What ``auto`` tries, in order: the richest CLI that is installed.
AUTO_ORDER = ("nerdctl", "ctr")
#: Every name a user may give.
CHOICES = (AUTO, *BACKENDS)


def kind_of(name: str) -> BackendKind:
    """The backend a name means; ``auto``: the one ``$CONTAINERD_TRACKER_BACKEND``
    names, else nerdctl when installed on this host, else ctr (asked of the
    host even when replaying a recording)."""
    if name == AUTO and (chosen := os.environ.get(ENV_BACKEND, "").strip()) and chosen != AUTO:
        if chosen not in BACKENDS:
            raise InvalidArgumentError(f"${ENV_BACKEND}={chosen!r}: use {', '.join(repr(c) for c in CHOICES)}")
        return BACKENDS[chosen]
    if name == AUTO:
        from ..runner import LiveRunner

        host = LiveRunner(concurrency=1)  # only looks for executables
        found = next((n for n in AUTO_ORDER if host.find(BACKENDS[n].executable) is not None), AUTO_ORDER[-1])
        return BACKENDS[found]
    if not isinstance(name, str) or name not in BACKENDS:
        raise InvalidArgumentError(f"unknown backend {name!r}: use {', '.join(repr(c) for c in CHOICES)}")
    return BACKENDS[name]


def namespace_of(given: str | None = None) -> str:
    """The containerd namespace: given, else ``$CONTAINERD_NAMESPACE``, else ``default``."""
    return given or os.environ.get(ENV_NAMESPACE) or DEFAULT_NAMESPACE


def connect(
    name: str = AUTO,
    address: str | None = None,
    namespace: str | None = None,
    *,
    runner: "Runner | None" = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> "ContainerBackend":
    """A backend by name, with every default filled in the one way."""
    if runner is None:
        from ..runner import LiveRunner

        runner = LiveRunner()
    kind = kind_of(name)
    return kind.make(runner, kind.address(address), namespace_of(namespace), timeout)
