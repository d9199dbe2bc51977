"""What a job may use and see: DRMAA2 resource limits, slots and memory
requirements, data mounts (stage-in/out), network and user — checked and
turned into the ContainerSpec fields every backend reads.

Units are DRMAA2's: sizes in KiB, times in seconds, ``OPEN_FILES`` a count;
``min_phys_memory`` in KiB. The docker-style extension keys (``memory``,
``cpus``, ``network``/``net``, ``user``) are those of drmaa2os' Docker
tracker where it has them. Every refusal names the field, before anything is
created.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..backends.models import Mount
from ..drmaa2.errors import InvalidArgumentError, UnsupportedAttributeError
from ..drmaa2.models import JobTemplate
from .paths import expand_inside, expand_path

#: DRMAA2 limit → (the rlimit as docker's ``--ulimit`` names it, bytes per DRMAA2 unit).
RLIMITS: dict[str, tuple[str, int]] = {
    "CORE_FILE_SIZE": ("core", 1024),
    "CPU_TIME": ("cpu", 1),
    "DATA_SIZE": ("data", 1024),
    "FILE_SIZE": ("fsize", 1024),
    "OPEN_FILES": ("nofile", 1),
    "STACK_SIZE": ("stack", 1024),
    "VIRTUAL_MEMORY": ("as", 1024),
}
WALLCLOCK_TIME = "WALLCLOCK_TIME"
NETWORKS = ("none", "host")
#: A CFS period of 100 ms, docker's: ``cpus`` × this is the quota.
CPU_PERIOD_US = 100_000

_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[bkmgt]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(?::[A-Za-z0-9_.][A-Za-z0-9_.-]*)?")


@dataclass(frozen=True)
class Resources:
    memory_bytes: int | None = None
    cpus: float | None = None
    #: rlimit name → value in the rlimit's own unit (bytes, seconds, count).
    rlimits: dict[str, int] = field(default_factory=dict)
    wallclock_seconds: int | None = None
    network: str = "none"
    user: str | None = None
    mounts: list[Mount] = field(default_factory=list)


def parse_size(text: str, what: str) -> int:
    """Bytes from docker's size grammar: ``512m``, ``1g``, ``1.5G``, ``1048576``."""
    match = _SIZE.fullmatch(text.strip()) if len(text) < 40 else None
    if not match:
        raise InvalidArgumentError(f"{what}: not a size: {text!r} (e.g. 512m, 2g, 1048576)")
    size = int(float(match["number"]) * _UNITS[match["unit"].lower()])
    if not 0 < size <= 2**60:
        raise InvalidArgumentError(f"{what} must be more than 0 and at most an exbibyte, got {text!r}")
    return size


#: Above any real limit (2^50 KiB is an exbibyte, 2^50 s 35 million years).
_MAX = 2**50


def _count(text: str, what: str) -> int:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,16}", text.strip()) or int(text) > _MAX:
        raise InvalidArgumentError(f"{what}: expected a whole number up to {_MAX}, got {text!r}")
    return int(text)


def host_memory_bytes() -> int | None:
    try:
        for line in open("/proc/meminfo"):
            key, _, value = line.partition(":")
            if key == "MemTotal":
                return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def resources(template: JobTemplate, index: int | None = None) -> Resources:
    """The template's resources, checked; raises InvalidArgumentError for a
    bad value, UnsupportedAttributeError for what cannot be enforced."""
    ext = template.extension.extension_list
    rlimits: dict[str, int] = {}
    wallclock = None
    for key, value in template.resource_limits.items():
        name = key.strip().upper()
        if name == WALLCLOCK_TIME:
            wallclock = _count(value, f"resource_limits[{key!r}]")
            if wallclock == 0:
                raise InvalidArgumentError(f"resource_limits[{key!r}] must be more than 0 seconds")
        elif name in RLIMITS:
            rlimit, scale = RLIMITS[name]
            rlimits[rlimit] = _count(value, f"resource_limits[{key!r}]") * scale
        else:
            raise UnsupportedAttributeError(
                f"resource_limits[{key!r}]: not a limit containerd can enforce (known: "
                f"{', '.join([*RLIMITS, WALLCLOCK_TIME])})")

    memory = parse_size(ext["memory"], "extension 'memory'") if ext.get("memory") else None
    cpus = None
    if ext.get("cpus"):
        try:
            cpus = float(ext["cpus"])
        except ValueError:
            raise InvalidArgumentError(f"extension 'cpus': not a number: {ext['cpus']!r}") from None
        if not 0.01 <= cpus <= 10_000:
            raise InvalidArgumentError(f"extension 'cpus' must be between 0.01 and 10000, got {ext['cpus']!r}")
    _check_slots(template)
    if cpus is None and template.max_slots is not None and template.max_slots >= 1:
        cpus = float(template.max_slots)  # a slot is a CPU: the quota
    if template.min_phys_memory is not None and template.min_phys_memory > 0:
        have = host_memory_bytes()
        if have is not None and template.min_phys_memory * 1024 > have:
            raise InvalidArgumentError(
                f"min_phys_memory {template.min_phys_memory} KiB: this host has {have // 1024} KiB")

    network = (ext.get("network") or ext.get("net") or "none").strip().lower()
    if network not in NETWORKS:
        raise InvalidArgumentError(f"extension 'network': {network!r} is not one of {', '.join(NETWORKS)}")
    user = ext.get("user") or None
    if user is not None and not _USER.fullmatch(user):
        raise InvalidArgumentError(f"extension 'user': {user!r} is not a name or uid, with an optional :group or :gid")
    return Resources(memory_bytes=memory, cpus=cpus, rlimits=rlimits, wallclock_seconds=wallclock,
                     network=network, user=user, mounts=mounts(template, index))


def host_owner(user: str) -> tuple[int, int] | None:
    """(uid, gid) to give a job's new output files to: only for a numeric
    ``uid[:gid]`` (a missing gid is the uid's). A name is the image's, not
    the host's: a host account of that name may be someone else."""
    name, _, group = user.partition(":")
    if not re.fullmatch(r"[0-9]{1,10}", name) or (group and not re.fullmatch(r"[0-9]{1,10}", group)):
        return None
    uid, gid = int(name), int(group) if group else int(name)
    return (uid, gid) if uid < 2**32 - 1 and gid < 2**32 - 1 else None


def _check_slots(template: JobTemplate) -> None:
    low, high = template.min_slots, template.max_slots
    for name, value in (("min_slots", low), ("max_slots", high)):
        if value is not None and value < 1:
            raise InvalidArgumentError(f"{name} must be at least 1, got {value}")
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(f"min_slots ({low}) is above max_slots ({high})")
    cpus = os.cpu_count() or 1
    if low is not None and low > cpus:
        raise InvalidArgumentError(f"min_slots {low}: this host has {cpus} CPUs")


def mounts(template: JobTemplate, index: int | None = None) -> list[Mount]:
    """Bind mounts: ``stage_in_files`` {host path: container path}, as
    drmaa2os' Docker tracker reads them, read-write — a container path
    ending in ``:ro`` makes it read-only; ``stage_out_files`` {container
    path: host path}, read-write (what the job writes there is on the host at
    once). Each host path must exist."""
    found: list[Mount] = []
    pairs = [("stage_in_files", host, inner) for host, inner in template.stage_in_files.items()]
    pairs += [("stage_out_files", host, inner) for inner, host in template.stage_out_files.items()]
    for field_name, host, inner in pairs:
        read_only = False
        for suffix, flag in ((":ro", True), (":rw", False)):
            if inner.endswith(suffix):
                inner, read_only = inner[: -len(suffix)], flag
        source = expand_path(host, index)
        destination = expand_inside(inner, index)
        if not source.exists():
            raise InvalidArgumentError(f"{field_name}: host path {str(source)!r} does not exist")
        if not destination.startswith("/") or destination == "/":
            raise InvalidArgumentError(
                f"{field_name}: {inner!r} must be an absolute path inside the container, not '/'")
        if any(m.destination == destination for m in found):
            raise InvalidArgumentError(f"{field_name}: {destination!r} is mounted twice")
        found.append(Mount(source=str(source), destination=destination, read_only=read_only))
    return found
