"""DRMAA2 ``MonitoringSession``: every job of the namespace, whatever its
session, read-only; this host as the one machine; no queues."""
from __future__ import annotations

import os
import platform
import socket
from typing import TYPE_CHECKING

from .jobs import Job
from .settings import Settings

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo, MachineInfo


class MonitoringSession:
    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self._tracker = settings.monitor()
        self.name = name

    def __enter__(self) -> "MonitoringSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass  # holds nothing open

    def get_all_jobs(self, filter: "JobInfo | None" = None) -> list[Job]:  # noqa: A002 - DRMAA2's name
        """Jobs of every session; their controls and reap raise
        UnsupportedOperationError."""
        from .job_session import matches

        ids = self._tracker.list_jobs()
        if filter is not None and not filter.model_fields_set <= {"id"}:
            infos = self._tracker.job_infos(ids, cpu_time="cpu_time" in filter.model_fields_set)
            ids = [job_id for job_id in ids if job_id in infos and matches(infos[job_id], filter)]
        elif filter is not None and filter.id is not None:
            ids = [job_id for job_id in ids if job_id == filter.id]
        return [Job(self._tracker, job_id) for job_id in ids]

    def get_all_queues(self, names: list[str] | None = None) -> list[str]:
        return []  # containerd has no queues

    def get_all_machines(self, names: list[str] | None = None) -> list["MachineInfo"]:
        machine = this_machine()
        return [machine] if not names or machine.name in names else []


def this_machine() -> "MachineInfo":
    """This host from /proc: sockets, cores, threads, memory, load."""
    from ..drmaa2.models import MachineInfo

    sockets, cores, logical = set(), set(), 0
    try:
        physical = "0"
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "processor":
                logical += 1
            elif key == "physical id":
                physical = value
                sockets.add(value)
            elif key == "core id":
                cores.add((physical, value))
    except OSError:
        pass
    logical = logical or os.cpu_count() or 1
    n_sockets = len(sockets) or 1
    n_cores = len(cores) or logical
    memory = swap = None
    try:
        for line in open("/proc/meminfo"):
            key, _, value = line.partition(":")
            if key == "MemTotal":
                memory = int(value.split()[0]) * 1024
            elif key == "SwapTotal":
                swap = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return MachineInfo(
        name=socket.gethostname(), available=True, sockets=n_sockets,
        cores_per_socket=max(n_cores // n_sockets, 1), threads_per_core=max(logical // n_cores, 1),
        load=os.getloadavg()[0], phys_memory=memory,
        virt_memory=None if memory is None else memory + (swap or 0),
        machine_arch=platform.machine(), machine_os=platform.system(), machine_os_version=platform.release(),
    )
