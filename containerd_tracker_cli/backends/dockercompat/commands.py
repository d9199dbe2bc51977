"""argv builders for nerdctl and docker: the same grammar, told apart only by
how the daemon is named (nerdctl: containerd socket and namespace; docker:
the engine's host)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..models import ContainerSpec

JSON = "{{json .}}"  # works with old and new clients alike (`--format json` does not)
REPLAY_WINDOW = "5s"


def docker_host(address: str) -> str:
    """What ``docker --host`` needs: a bare socket path (as containerd's
    address is given) means ``unix://PATH``; URLs (``unix://``, ``tcp://``,
    ``ssh://`` …) pass unchanged. docker itself would read a bare path as a
    TCP address."""
    if "://" in address:
        return address
    return "unix://" + os.path.abspath(address)


@dataclass(frozen=True)
class DockerCompatCommands:
    flavour: str  # "nerdctl" or "docker"
    address: str
    namespace: str
    executable: str

    def base(self) -> list[str]:
        if self.flavour == "docker":
            return [self.executable, "--host", self.address]
        return [self.executable, "--address", self.address, "--namespace", self.namespace]

    def version(self) -> list[str]:
        return [*self.base(), "version", "--format", JSON]

    def list_ids(self, labels: Mapping[str, str]) -> list[str]:
        argv = [*self.base(), "ps", "--all", "--quiet", "--no-trunc"]
        for key, value in labels.items():
            condition = f"label={key}={value}"
            if self.flavour == "nerdctl" and any(c in condition for c in ',"'):
                condition = '"' + condition.replace('"', '""') + '"'  # nerdctl splits filters as CSV
            argv += ["--filter", condition]
        return argv

    def inspect(self, names: Iterable[str]) -> list[str]:
        return [*self.base(), "container", "inspect", *names]

    def create(self, spec: ContainerSpec) -> list[str]:
        # --network none: a job gets loopback only, as with ctr.
        argv = [*self.base(), "container", "create", "--name", spec.id, "--network", "none"]
        for key, value in spec.labels.items():
            argv += ["--label", f"{key}={value}"]
        for key, value in spec.env.items():
            argv += ["--env", f"{key}={value}"]
        if spec.cwd:
            argv += ["--workdir", spec.cwd]
        for mount in spec.mounts:
            # --mount is a CSV record (a path may hold ',' or ':'), unlike --volume.
            fields = ["type=bind", f"source={mount.source}", f"target={mount.destination}"]
            fields += ["readonly"] if mount.read_only else []
            argv += ["--mount", ",".join('"' + f.replace('"', '""') + '"' if any(c in f for c in ',"') else f
                                         for f in fields)]
        if spec.args is not None:
            # The tracker resolved the whole argv: its head replaces the entrypoint.
            argv += ["--entrypoint", spec.args[0], spec.image, *spec.args[1:]]
        else:
            argv.append(spec.image)
        return argv

    def start(self, name: str) -> list[str]:
        return [*self.base(), "container", "start", name]

    def kill(self, name: str, signal: str) -> list[str]:
        return [*self.base(), "container", "kill", "--signal", signal, name]

    def pause(self, name: str) -> list[str]:
        return [*self.base(), "container", "pause", name]

    def resume(self, name: str) -> list[str]:
        return [*self.base(), "container", "unpause", name]

    def remove(self, names: Iterable[str]) -> list[str]:
        return [*self.base(), "container", "rm", "--force", *names]

    def logs(self, name: str) -> list[str]:
        return [*self.base(), "container", "logs", name]

    def events(self, names: Iterable[str]) -> list[str]:
        argv = [*self.base(), "events", "--format", JSON]
        if self.flavour == "docker":
            # The engine replays what it saw in the last seconds before the
            # stream connects, so nothing between "subscribe" and "live" is
            # lost (relative, so the argv is the same every time).
            argv += ["--since", REPLAY_WINDOW]
            for name in names:
                argv += ["--filter", f"container={name}"]
        return argv

    def images(self) -> list[str]:
        return [*self.base(), "image", "ls", "--format", JSON]

    def pull(self, ref: str) -> list[str]:
        return [*self.base(), "image", "pull", ref]

    def image_inspect(self, ref: str) -> list[str]:
        return [*self.base(), "image", "inspect", ref]
