"""argv builders for nerdctl and docker: the same grammar; where the two
differ (how the daemon is named, filter quoting, event replay) the
:class:`~.flavours.Flavour` says so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from ...records import labels as L
from ..csvfields import COMMA_OR_QUOTE, csv_field
from ..models import ContainerSpec
from .flavours import Flavour

JSON = "{{json .}}"  # works with old and new clients alike (`--format json` does not)
#: ``ps`` where the CLI has no namespaces: the ID and the job's namespace label.
NAMESPACED_ID = '{{.ID}}\t{{.Label "%s"}}' % L.NAMESPACE


@dataclass(frozen=True)
class DockerCompatCommands:
    flavour: Flavour  # FLAVOURS["nerdctl"] or FLAVOURS["docker"]
    address: str
    namespace: str
    executable: str

    def base(self) -> list[str]:
        return self.flavour.base_argv(self.executable, self.address, self.namespace)

    def version(self) -> list[str]:
        return [*self.base(), "version", "--format", JSON]

    def list_ids(self, labels: Mapping[str, str]) -> list[str]:
        """IDs, one a line; where the CLI has no namespaces, each followed by a
        tab and its namespace label (empty when it has none)."""
        if self.flavour.namespace_flag is None:
            argv = [*self.base(), "ps", "--all", "--no-trunc", "--format", NAMESPACED_ID]
        else:
            argv = [*self.base(), "ps", "--all", "--quiet", "--no-trunc"]
        for key, value in labels.items():
            argv += ["--filter", csv_field(f"label={key}={value}", self.flavour.filter_csv_specials)]
        return argv

    def inspect(self, names: Iterable[str]) -> list[str]:
        return [*self.base(), "container", "inspect", *names]

    def create(self, spec: ContainerSpec) -> list[str]:
        return self._container(["container", "create"], spec)

    def run(self, spec: ContainerSpec) -> list[str]:
        """``create`` and ``start`` in one call: the same flags."""
        return self._container(["container", "run", "--detach"], spec)

    def _container(self, command: list[str], spec: ContainerSpec) -> list[str]:
        # --network none (the default): a job gets loopback only, as with ctr.
        argv = [*self.base(), *command, "--name", spec.id, "--network", spec.network]
        labels = dict(spec.labels)
        if self.flavour.namespace_flag is None:
            labels[L.NAMESPACE] = self.namespace  # the CLI has none: kept as a label
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        for key, value in spec.env.items():
            argv += ["--env", f"{key}={value}"]
        if spec.cwd:
            argv += ["--workdir", spec.cwd]
        if spec.user:
            argv += ["--user", spec.user]
        if spec.memory_bytes:
            argv += ["--memory", str(spec.memory_bytes)]
        if spec.cpus:
            argv += ["--cpus", f"{spec.cpus:g}"]
        for name, value in sorted(spec.rlimits.items()):
            argv += ["--ulimit", f"{name}={value}:{value}"]
        for mount in spec.mounts:
            # --mount is a CSV record (a path may hold ',' or ':'), unlike --volume.
            fields = ["type=bind", f"source={mount.source}", f"target={mount.destination}"]
            fields += ["readonly"] if mount.read_only else []
            argv += ["--mount", ",".join(csv_field(f, COMMA_OR_QUOTE) for f in fields)]
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

    def events(self, names: Iterable[str], labelled: Mapping[str, str] | None = None) -> list[str]:
        """Events of these containers, or of those carrying the ``labelled``
        label (docker or-s filters of one key: so the first label only — a
        session's, or the DRMAA2 mark; callers match the IDs events name)."""
        argv = [*self.base(), "events", "--format", JSON]
        if self.flavour.replay_window:
            argv += ["--since", self.flavour.replay_window]
        if self.flavour.filters_events:
            for name in names:
                argv += ["--filter", f"container={name}"]
            for key, value in list((labelled or {}).items())[:1]:
                argv += ["--filter", f"label={key}={value}"]
        return argv

    def oom_events(self, names: Iterable[str], since: int, until: int) -> list[str]:
        """The containers' ``oom`` events between two Unix times (exits at
        once; filters on one key are or-ed)."""
        argv = [*self.base(), "events", "--since", str(since), "--until", str(until), "--filter", "event=oom"]
        for name in names:
            argv += ["--filter", f"container={name}"]
        return [*argv, "--format", JSON]

    def images(self) -> list[str]:
        return [*self.base(), "image", "ls", "--format", JSON]

    def pull(self, ref: str) -> list[str]:
        return [*self.base(), "image", "pull", ref]

    def image_inspect(self, ref: str) -> list[str]:
        return [*self.base(), "image", "inspect", ref]
