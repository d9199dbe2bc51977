"""argv builders for ``ctr``: pure functions of their inputs, so the exact
command can be shown (``CtrCommands(...).create(spec)``) without running it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from ..csvfields import csv_field
from ..models import ContainerSpec
from .runc_user import ANNOTATION as USER_ANNOTATION

#: The CFS period a CPU quota is given in (docker's): 100 ms.
CPU_PERIOD_US = 100_000


def filter_value(value: str) -> str:
    """Quote a value for a containerd filter expression."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + escaped + '"'


def label_filter(labels: Mapping[str, str]) -> str:
    """``labels."k"=="v",…`` — every label must match (comma is AND)."""
    return ",".join(f"labels.{filter_value(k)}=={filter_value(v)}" for k, v in labels.items())


def trimmed_values(spec: ContainerSpec) -> list[str]:
    """The values of ``spec`` that ctr 2.x would trim (it strips trailing
    whitespace from every option value; 1.6 and 1.7 do not), by name."""
    values = {**{f"job_environment[{k!r}]": v for k, v in spec.env.items()},
              **{f"label {k!r}": v for k, v in spec.labels.items()}, "working_directory": spec.cwd or ""}
    return [name for name, value in values.items() if value != value.rstrip()]


@dataclass(frozen=True)
class CtrCommands:
    address: str
    namespace: str
    executable: str = "ctr"
    #: Seconds ctr may spend connecting. Without it ctr retries a missing
    #: socket until it is killed, so "no daemon" would look like "daemon hung".
    connect_timeout: float = 5.0

    def base(self) -> list[str]:
        return [
            self.executable,
            "--address", self.address,
            "--namespace", self.namespace,
            "--connect-timeout", f"{self.connect_timeout:g}s",
        ]

    def version(self) -> list[str]:
        return [*self.base(), "version"]

    def client_version(self) -> list[str]:
        """ctr's own version: no daemon asked."""
        return [self.executable, "--version"]

    def list_containers(self, labels: Mapping[str, str]) -> list[str]:
        argv = [*self.base(), "containers", "list", "--quiet"]
        if labels:
            argv.append(label_filter(labels))
        return argv

    def list_labelled(self, key: str) -> list[str]:
        """IDs of the containers that carry label ``key``, whatever its value."""
        return [*self.base(), "containers", "list", "--quiet", f"labels.{filter_value(key)}"]

    def container_info(self, container_id: str) -> list[str]:
        return [*self.base(), "containers", "info", container_id]

    def list_tasks(self) -> list[str]:
        return [*self.base(), "tasks", "list"]

    def create(self, spec: ContainerSpec, user_runtime: str | None = None) -> list[str]:
        """``containers create --flag=value… -- IMAGE ID [ARGS…]``.

        Every ctr reads this alike. ctr 1.6 moves flags found after the
        positionals to the front unless a ``--`` precedes them; ctr 1.7 and
        2.x keep everything after ``IMAGE ID`` as it is, a ``--`` there
        included (it became the job's command). A ``--`` *before* the image
        ends the flags for all of them, and ``--flag=value`` keeps a value
        that begins with ``-`` from being read as a flag.
        """
        return [*self.base(), "containers", "create", *self._container(spec, user_runtime)]

    def run(self, spec: ContainerSpec, log_uri: str, pid_file: str | None,
            user_runtime: str | None = None) -> list[str]:
        """``run --detach``: ``containers create`` and ``tasks start`` in one
        call, the same flags and positionals read the same way."""
        argv = [*self.base(), "run", "--detach", f"--log-uri={log_uri}"]
        if pid_file:
            argv.append(f"--pid-file={pid_file}")
        return [*argv, *self._container(spec, user_runtime)]

    def _container(self, spec: ContainerSpec, user_runtime: str | None) -> list[str]:
        """The container's flags, then ``-- IMAGE ID [ARGS…]``. With
        ``user_runtime`` (ctr 1.6, see :mod:`.user_runtime`) the user goes to
        that runtime as an annotation; else ``--user`` (ctr 1.7 and later)."""
        argv = [f"--label={key}={value}" for key, value in spec.labels.items()]
        argv += [f"--env={key}={value}" for key, value in spec.env.items()]
        if spec.cwd:
            argv.append(f"--cwd={spec.cwd}")
        if spec.network == "host":
            argv.append("--net-host")
        if spec.user and user_runtime:
            argv += [f"--runtime={user_runtime}", f"--annotation={USER_ANNOTATION}={spec.user}"]
        elif spec.user:
            argv.append(f"--user={spec.user}")
        if spec.memory_bytes:
            argv.append(f"--memory-limit={spec.memory_bytes}")
        if spec.cpus:
            argv += [f"--cpu-quota={round(spec.cpus * CPU_PERIOD_US)}", f"--cpu-period={CPU_PERIOD_US}"]
        for mount in spec.mounts:
            options = "rbind:ro" if mount.read_only else "rbind:rw"
            # ctr reads --mount as one CSV record: quote fields a path could break.
            fields = ["type=bind", f"src={mount.source}", f"dst={mount.destination}", f"options={options}"]
            argv.append("--mount=" + ",".join(csv_field(f) for f in fields))
        argv += ["--", spec.image, spec.id]
        if spec.args is not None:
            argv += spec.args
        return argv

    def start(self, container_id: str, log_uri: str, pid_file: str | None) -> list[str]:
        argv = [*self.base(), "tasks", "start", "--detach", "--log-uri", log_uri]
        if pid_file:
            argv += ["--pid-file", pid_file]
        return [*argv, container_id]

    def kill(self, container_id: str, signal: str) -> list[str]:
        return [*self.base(), "tasks", "kill", "--signal", signal, container_id]

    def pause(self, container_id: str) -> list[str]:
        return [*self.base(), "tasks", "pause", container_id]

    def resume(self, container_id: str) -> list[str]:
        return [*self.base(), "tasks", "resume", container_id]

    def delete_tasks(self, container_ids: Iterable[str]) -> list[str]:
        return [*self.base(), "tasks", "delete", *container_ids]

    def delete_containers(self, container_ids: Iterable[str]) -> list[str]:
        return [*self.base(), "containers", "delete", *container_ids]

    def set_labels(self, container_id: str, labels: Mapping[str, str]) -> list[str]:
        return [*self.base(), "containers", "label", container_id, *(f"{k}={v}" for k, v in labels.items())]

    def shim_state(self, container_id: str) -> list[str]:
        """The task's state straight from its shim (a runc v2 shim's ID is
        the container's): status, exit status and exit time."""
        return [*self.base(), "shim", "--id", container_id, "state"]

    def metrics(self, container_id: str) -> list[str]:
        return [*self.base(), "tasks", "metrics", "--format", "json", container_id]

    def events(self, container_ids: Iterable[str]) -> list[str]:
        """Events naming these containers (filters are or-ed); none named:
        the task and container events of the namespace (a comma and-s), as
        ctr's stream carries every namespace's events, snapshots and images."""
        ids = list(container_ids)
        argv = [*self.base(), "events"]
        for cid in ids:
            # Task events name the container as container_id, container events as id.
            argv += [f"event.container_id=={filter_value(cid)}", f"event.id=={filter_value(cid)}"]
        if not ids:
            argv.append(f"namespace=={filter_value(self.namespace)},topic~=\"^/(tasks|containers)/\"")
        return argv

    def list_images(self) -> list[str]:
        return [*self.base(), "images", "list"]

    def pull(self, ref: str) -> list[str]:
        return [*self.base(), "images", "pull", ref]

    def content(self, digest: str) -> list[str]:
        return [*self.base(), "content", "get", digest]
