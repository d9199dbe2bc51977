"""Parsers for what ``ctr`` prints. Total: each returns a model or raises
:class:`CliParseError` naming the command — never a stray exception."""
from __future__ import annotations

import json
import re
from typing import Any, NamedTuple, Sequence

from ..errors import CliParseError
from ..models import ContainerInfo, Event, ImageConfig, ImageRecord, TaskRecord, TaskStatus
from ...records.timeparse import parse_go_time

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# ASCII digits only ("²".isdigit() is true, int("²") fails) and short enough for int().
_PID = re.compile(r"[0-9]{1,10}")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
#: A content digest as the OCI image spec defines it (``algorithm:encoded``);
#: never an option (``--help``) or a path for the ``content get`` it goes to.
_OCI_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_NONZERO_EXIT = re.compile(r'task (?P<id>\S+) exit with non-zero exit code (?P<code>-?\d+)')
# A task ctr could not load, or that another process deleted first.
_DELETE_FAILED = re.compile(
    r'(?:failed to load task from|unable to delete) (?P<id>[^"\s]+)"? error="(?P<error>(?:[^"\\]|\\.)*)"'
)
_EVENT = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? [+-]\d{4}(?: [A-Z]{2,5})?) "
    r"(?P<ns>\S*) (?P<topic>/\S+)(?: (?P<json>.*))?$"
)


def parse_server_version(argv: Sequence[str], out: str) -> str:
    section = None
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and " " not in stripped:
            section = stripped[:-1]
        elif section == "Server" and stripped.startswith("Version:"):
            return stripped.split(":", 1)[1].strip()
    raise CliParseError(argv, "no Server Version line", out)


_CLIENT_VERSION = re.compile(r"^ctr \S+ v?(?P<major>\d+)\.(?P<minor>\d+)\S*\s*$")


def parse_client_version(argv: Sequence[str], out: str) -> tuple[int, int]:
    """(major, minor) from ``ctr --version``: ``ctr github.com/containerd/containerd/v2 2.1.9+unknown``."""
    match = _CLIENT_VERSION.match(out.strip())
    if not match:
        raise CliParseError(argv, "not a ctr version line", out)
    return int(match["major"]), int(match["minor"])


def parse_container_ids(argv: Sequence[str], out: str) -> list[str]:
    ids = [line.strip() for line in out.splitlines() if line.strip()]
    for cid in ids:
        if not _ID.match(cid):
            raise CliParseError(argv, f"not a container ID: {cid!r}", out)
    return ids


def parse_task_list(argv: Sequence[str], out: str) -> dict[str, TaskRecord]:
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return {}
    if lines[0].split() != ["TASK", "PID", "STATUS"]:
        raise CliParseError(argv, "unexpected header", out)
    tasks: dict[str, TaskRecord] = {}
    for line in lines[1:]:
        fields = line.split()
        if len(fields) != 3 or not _PID.fullmatch(fields[1]):
            raise CliParseError(argv, f"unexpected row {line!r}", out)
        cid, pid, status = fields
        try:
            task_status = TaskStatus(status.lower())
        except ValueError:
            task_status = TaskStatus.UNKNOWN
        tasks[cid] = TaskRecord(container_id=cid, pid=int(pid), status=task_status)
    return tasks


def _json(argv: Sequence[str], out: str) -> Any:
    try:
        return json.loads(out)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise CliParseError(argv, f"invalid JSON ({exc})", out) from exc


def parse_container_info(argv: Sequence[str], out: str) -> ContainerInfo:
    data = _json(argv, out)
    if not isinstance(data, dict) or not isinstance(data.get("ID"), str):
        raise CliParseError(argv, "no container ID in the record", out)
    try:
        spec = data.get("Spec") or {}
        process = spec.get("process") or {}
        user = process.get("user") or {}
        return ContainerInfo(
            id=data["ID"],
            labels=data.get("Labels") or {},
            image=data.get("Image") or "",
            runtime=(data.get("Runtime") or {}).get("Name", ""),
            snapshot_key=data.get("SnapshotKey") or "",
            created_at=parse_go_time(data.get("CreatedAt")),
            updated_at=parse_go_time(data.get("UpdatedAt")),
            args=process.get("args") or [],
            env=process.get("env") or [],
            cwd=process.get("cwd") or "",
            user=str(user.get("username") or user.get("uid", "")),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise CliParseError(argv, str(exc), out) from exc


def parse_delete_output(argv: Sequence[str], ids: Sequence[str], err: str) -> tuple[dict[str, int], dict[str, str]]:
    """Exit statuses and failures from ``ctr tasks delete``'s stderr.

    ctr logs ``task ID exit with non-zero exit code N`` for each non-zero
    status and nothing for zero; an ID it could not load gets an error line.
    """
    failed = {m["id"]: m["error"].replace('\\"', '"') for m in _DELETE_FAILED.finditer(err)}
    try:
        codes = {m["id"]: int(m["code"]) for m in _NONZERO_EXIT.finditer(err)}
    except ValueError as exc:  # more digits than int() takes
        raise CliParseError(argv, f"unreadable exit code ({exc})", err) from exc
    for line in err.splitlines():
        # "ctr: container "x" in namespace "n": not found" for a lone failed ID.
        match = re.search(r'ctr: .*?"(?P<id>[^"]+)" in namespace "[^"]*": (?P<error>.*)', line)
        if match and match["id"] in ids and match["id"] not in failed:
            failed[match["id"]] = match["error"]
    return {cid: codes.get(cid, 0) for cid in ids if cid not in failed}, failed


# 'container "ID" in namespace "NS": not found', or 'container ID: not found' when
# another process deleted it in the middle of this delete (seen on 2.1).
_MISSING_CONTAINER = re.compile(
    r'container \\?"?(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*)\\?"?(?: in namespace \\?"[^"\\]*\\?")?: not found')


def parse_missing_containers(err: str) -> set[str]:
    """IDs ``ctr containers delete`` found missing (same text in 1.6–2.1)."""
    return {m["id"] for m in _MISSING_CONTAINER.finditer(err)}


def parse_cpu_ns(argv: Sequence[str], out: str) -> int | None:
    """CPU time from ``ctr tasks metrics --format json`` (cgroup v1 or v2)."""
    return parse_usage(argv, out).cpu_ns


class Usage(NamedTuple):
    """What a task's cgroup says of it."""

    cpu_ns: int | None
    #: Processes the kernel killed for exceeding the memory limit.
    oom_kills: int


def parse_usage(argv: Sequence[str], out: str) -> Usage:
    """CPU time and OOM kills from ``ctr tasks metrics --format json``
    (cgroup v1: ``cpu.usage.total`` ns, ``memory_oom_control.oom_kill``;
    v2: ``cpu.usage_usec``, ``memory_events.oom_kill``)."""
    data = _json(argv, out)
    if not isinstance(data, dict):
        return Usage(None, 0)
    cpu, cpu_ns = data.get("cpu"), None
    if isinstance(cpu, dict):
        usage = cpu.get("usage")
        if isinstance(usage, dict) and _is_int(usage.get("total")):
            cpu_ns = usage["total"]
        elif _is_int(cpu.get("usage_usec")):
            cpu_ns = cpu["usage_usec"] * 1000
    kills = 0
    for key in ("memory_oom_control", "memory_events"):
        section = data.get(key)
        if isinstance(section, dict) and _is_int(section.get("oom_kill")):
            kills = max(kills, section["oom_kill"])
    return Usage(cpu_ns, kills)


def _is_int(value: Any) -> bool:
    """A JSON integer: ``true`` is an ``int`` to Python, not a count."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_event(argv: Sequence[str], line: str) -> Event:
    match = _EVENT.match(line.strip())
    if not match:
        raise CliParseError(argv, "not an event line", line)
    payload: dict[str, Any] = {}
    if match["json"]:
        decoded = _json(argv, match["json"])
        if not isinstance(decoded, dict):
            raise CliParseError(argv, "event payload is not an object", line)
        payload = decoded
    try:
        if "exited_at" in payload:
            # RFC 3339 text in containerd 1.6, {"seconds","nanos"} from 1.7 on.
            payload["exited_at"] = parse_go_time(payload["exited_at"])
        timestamp = parse_go_time(match["ts"])
    except ValueError as exc:
        raise CliParseError(argv, str(exc), line) from exc
    if timestamp is None:  # Go's zero time
        raise CliParseError(argv, "event without a time", line)
    return Event(timestamp=timestamp, namespace=match["ns"], topic=match["topic"], payload=payload)


def parse_image_list(argv: Sequence[str], out: str) -> list[ImageRecord]:
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return []
    if not lines[0].startswith("REF"):
        raise CliParseError(argv, "unexpected header", out)
    images = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < 3 or not _DIGEST.match(fields[2]):
            raise CliParseError(argv, f"unexpected row {line!r}", out)
        images.append(ImageRecord(name=fields[0], media_type=fields[1], digest=fields[2]))
    return images


def parse_json_object(argv: Sequence[str], out: str) -> dict[str, Any]:
    data = _json(argv, out)
    if not isinstance(data, dict):
        raise CliParseError(argv, "expected a JSON object", out)
    return data


def _descriptor_digest(argv: Sequence[str], descriptor: Any, what: str, out: str) -> str:
    """The ``digest`` of an OCI descriptor (``{"mediaType", "digest", "size"}``)."""
    if not isinstance(descriptor, dict):
        raise CliParseError(argv, f"{what} is not an object", out)
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _OCI_DIGEST.fullmatch(digest):
        raise CliParseError(argv, f"{what} has no valid digest", out)
    return digest


def parse_manifest_choice(argv: Sequence[str], out: str, arch: str) -> str | None:
    """``ctr content get`` of an image's digest: for an OCI image index (or
    a Docker manifest list), the digest of the first manifest for linux on
    Go architecture ``arch`` (an entry without platform, or without os or
    architecture, fits any); ``None`` when the document is a manifest
    already (no ``manifests`` key)."""
    document = parse_json_object(argv, out)
    if "manifests" not in document:
        return None
    manifests = document["manifests"]
    if manifests is None:
        manifests = []
    if not isinstance(manifests, list):
        raise CliParseError(argv, "manifests is not a list", out)
    for entry in manifests:
        if not isinstance(entry, dict):
            raise CliParseError(argv, "an entry of manifests is not an object", out)
        plat = entry.get("platform") or {}
        if not isinstance(plat, dict):
            raise CliParseError(argv, "a manifest's platform is not an object", out)
        if plat.get("os", "linux") == "linux" and plat.get("architecture", arch) == arch:
            return _descriptor_digest(argv, entry, f"the linux/{arch} manifest", out)
    raise CliParseError(argv, f"no linux/{arch} manifest in the image index", out)


def parse_config_digest(argv: Sequence[str], out: str) -> str:
    """``ctr content get`` of an image manifest: its config's digest."""
    document = parse_json_object(argv, out)
    if not document.get("config"):
        raise CliParseError(argv, "manifest has no config digest", out)
    return _descriptor_digest(argv, document["config"], "the manifest's config", out)


def parse_image_config(argv: Sequence[str], out: str) -> ImageConfig:
    data = parse_json_object(argv, out)
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise CliParseError(argv, "config is not an object", out)
    try:
        return ImageConfig.from_config(config)
    except ValueError as exc:
        raise CliParseError(argv, str(exc), out) from exc


#: The runtime's process status in ``ctr shim state`` (containerd's task.Status enum).
_SHIM_STATUS = {0: TaskStatus.UNKNOWN, 1: TaskStatus.CREATED, 2: TaskStatus.RUNNING, 3: TaskStatus.STOPPED,
                4: TaskStatus.PAUSED, 5: TaskStatus.PAUSING}


def parse_shim_state(argv: Sequence[str], out: str) -> TaskRecord:
    """A task as its shim holds it (``ctr shim --id ID state``): the only
    place ctr prints a stopped task's exit status *and* time, identically
    in 1.6, 1.7 and 2.x apart from the time's form (RFC 3339 text in 1.6,
    ``{"seconds", "nanos"}`` later; containerd omits a zero status)."""
    data = parse_json_object(argv, out)
    cid, pid, status = data.get("id"), data.get("pid", 0), data.get("status", 0)
    exit_status = data.get("exit_status", 0)
    if not isinstance(cid, str) or not cid:
        raise CliParseError(argv, "no task ID in the shim's state", out)
    for name, value in (("pid", pid), ("status", status), ("exit_status", exit_status)):
        if not _is_int(value):
            raise CliParseError(argv, f"{name} is not an integer", out)
    try:
        exited_at = parse_go_time(data.get("exited_at"))
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise CliParseError(argv, f"exited_at: {exc}", out) from exc
    task_status = _SHIM_STATUS.get(status, TaskStatus.UNKNOWN)
    stopped = task_status == TaskStatus.STOPPED
    return TaskRecord(container_id=cid, pid=pid, status=task_status,
                      exit_status=exit_status if stopped else None, exited_at=exited_at if stopped else None)
