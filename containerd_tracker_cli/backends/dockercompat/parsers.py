"""Parsers for what nerdctl and docker print. Total: each returns models or
raises :class:`CliParseError` naming the command.

Shapes that differ between versions and tools, all accepted:
* ``Labels`` (as ``ps`` prints them too): a JSON object (nerdctl 0.22–1.7) or
  a ``k=v,k2=v2`` string (nerdctl 2.x, docker) whose values may themselves
  hold ``,`` and ``=``;
* ``inspect`` ``State``: ``null`` (old nerdctl) or ``Status: ""`` for a
  container without a task; empty or Go-zero ``StartedAt``/``FinishedAt``;
* events: nerdctl's ``{Timestamp, Namespace, Topic, Event: "<json>"}`` and
  docker's ``{Type, Action, Actor{ID, Attributes}, timeNano}``.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict

from ..errors import CliParseError
from ..models import ContainerInfo, Event, ImageConfig, ImageRecord, TaskRecord, TaskStatus
from ...records.timeparse import parse_go_time

_LABEL_START = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*=")

#: inspect's State.Status → containerd task status. "created" (and "") mean
#: the container has no running task yet: a queued job.
_INSPECT_STATUS = {
    "running": TaskStatus.RUNNING,
    "paused": TaskStatus.PAUSED,
    "pausing": TaskStatus.PAUSING,
    "exited": TaskStatus.STOPPED,
    "stopped": TaskStatus.STOPPED,
}
_NO_TASK = ("", "created")

#: docker event actions → the containerd topic that means the same.
_DOCKER_TOPICS = {
    ("container", "create"): "/containers/create",
    ("container", "destroy"): "/containers/delete",
    ("container", "start"): "/tasks/start",
    ("container", "die"): "/tasks/exit",
    ("container", "pause"): "/tasks/paused",
    ("container", "unpause"): "/tasks/resumed",
    ("container", "kill"): "/tasks/kill",
    ("container", "oom"): "/tasks/oom",
}


class Inspected(BaseModel):
    """One element of ``inspect``: the record and the task, if any."""

    model_config = ConfigDict(frozen=True)

    info: ContainerInfo
    task: TaskRecord | None
    started_at: datetime | None = None
    name: str = ""
    error: str = ""
    #: ``HostConfig.Memory``: the memory limit in bytes, 0 for none.
    memory_limit: int = 0


def parse_label_string(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` where a value may contain ``,`` or ``=``: a comma starts a
    new label only when what follows looks like ``key=``."""
    labels: dict[str, str] = {}
    key: str | None = None
    for part in text.split(","):
        if _LABEL_START.match(part) or key is None:
            key, _, value = part.partition("=")
            labels[key] = value
        else:
            labels[key] += "," + part
    return {k: v for k, v in labels.items() if k}


def parse_labels(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, str):
        return parse_label_string(value)
    raise ValueError(f"labels are neither an object nor a string: {value!r}")


def _json_lines(argv: Sequence[str], out: str) -> list[dict[str, Any]]:
    rows = []
    # Only "\n" ends a line: Go leaves U+0085 and U+2028 unescaped in JSON
    # strings, and str.splitlines would cut there.
    for line in out.split("\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise CliParseError(argv, f"a line is not JSON ({exc})", line) from exc
        if not isinstance(row, dict):
            raise CliParseError(argv, "a line is not a JSON object", line)
        rows.append(row)
    return rows


def _json_array(argv: Sequence[str], out: str) -> list[Any]:
    try:
        data = json.loads(out) if out.strip() else []
    except (ValueError, RecursionError) as exc:
        raise CliParseError(argv, f"invalid JSON ({exc})", out) from exc
    if not isinstance(data, list):
        raise CliParseError(argv, "expected a JSON array", out)
    return data


def parse_inspect(argv: Sequence[str], out: str) -> list[Inspected]:
    """``inspect`` (Docker's format) of one or more containers."""
    found = []
    for item in _json_array(argv, out):
        if not isinstance(item, dict) or not isinstance(item.get("Id"), str):
            raise CliParseError(argv, "an element has no container Id", json.dumps(item)[:300])
        try:
            found.append(_inspected(item))
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # OverflowError: int(inf)
            raise CliParseError(argv, f"unexpected inspect element ({exc})", json.dumps(item)[:300]) from exc
    return found


def _inspected(item: dict[str, Any]) -> Inspected:
    state = item.get("State") or {}
    config = item.get("Config") or {}
    status_text = str(state.get("Status") or "").lower()
    started = parse_go_time(state.get("StartedAt"))
    task: TaskRecord | None = None
    if status_text not in _NO_TASK:
        status = _INSPECT_STATUS.get(status_text, TaskStatus.UNKNOWN)
        if status == TaskStatus.RUNNING and state.get("Paused"):
            status = TaskStatus.PAUSED
        stopped = status == TaskStatus.STOPPED
        task = TaskRecord(
            container_id=item["Id"],
            pid=int(state.get("Pid") or 0),
            status=status,
            exit_status=int(state.get("ExitCode") or 0) if stopped else None,
            exited_at=parse_go_time(state.get("FinishedAt")) if stopped else None,
            oom_killed=stopped and state.get("OOMKilled") is True,
        )
    path = item.get("Path") or ""
    args = [str(a) for a in (item.get("Args") or [])]
    info = ContainerInfo(
        id=item["Id"],
        labels=parse_labels(config.get("Labels") if "Labels" in config else item.get("Labels")),
        image=str(config.get("Image") or item.get("Image") or ""),
        created_at=parse_go_time(item.get("Created")),
        args=([path] if path else []) + args,
        env=[str(e) for e in (config.get("Env") or [])],
        cwd=str(config.get("WorkingDir") or ""),
        user=str(config.get("User") or ""),
    )
    return Inspected(info=info, task=task, started_at=started, name=str(item.get("Name") or "").lstrip("/"),
                     error=str(state.get("Error") or ""),
                     memory_limit=int((item.get("HostConfig") or {}).get("Memory") or 0))


def parse_images(argv: Sequence[str], out: str) -> list[ImageRecord]:
    images = []
    for row in _json_lines(argv, out):
        name = row.get("Name")
        if not name:
            repo, tag = row.get("Repository"), row.get("Tag")
            if not repo or repo == "<none>":
                continue
            name = f"{repo}:{tag}" if tag and tag != "<none>" else repo
        # A local image has no registry digest ("<none>"): its ID names it.
        digest = str(row.get("Digest") or "")
        if not digest.startswith("sha256:"):
            image_id = str(row.get("ID") or "")
            digest = image_id if image_id.startswith("sha256:") else f"id:{image_id}" if image_id else ""
        images.append(ImageRecord(name=str(name), digest=digest))
    return images


def parse_image_inspect_config(argv: Sequence[str], out: str) -> ImageConfig:
    """``image inspect REF``: the first image's ``Config`` (``null`` for an
    image without one)."""
    data = _json_array(argv, out)
    if not data or not isinstance(data[0], dict):
        raise CliParseError(argv, "no image in the answer", out)
    config = data[0].get("Config") or {}
    if not isinstance(config, dict):
        raise CliParseError(argv, "Config is not an object", out)
    try:
        return ImageConfig.from_config(config)
    except ValueError as exc:
        raise CliParseError(argv, f"unexpected image Config ({exc})", out) from exc


def parse_event(argv: Sequence[str], line: str) -> Event:
    rows = _json_lines(argv, line)
    if len(rows) != 1:
        raise CliParseError(argv, "not one event", line)
    row = rows[0]
    try:
        if "Topic" in row:  # nerdctl: containerd's envelope, the event as a JSON string
            payload = row.get("Event") or {}
            if isinstance(payload, str):
                payload = json.loads(payload) if payload.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("event payload is not an object")
            if "exited_at" in payload:
                payload["exited_at"] = parse_go_time(payload["exited_at"])
            timestamp = parse_go_time(row.get("Timestamp")) or datetime.now(timezone.utc)
            return Event(timestamp=timestamp, namespace=str(row.get("Namespace") or ""), topic=str(row["Topic"]),
                         payload=payload)
        if "Action" in row or "status" in row:  # docker
            kind = str(row.get("Type") or "container")
            action = str(row.get("Action") or row.get("status") or "")
            actor = row.get("Actor") or {}
            attributes = actor.get("Attributes") or {}
            base_action = action.split(":", 1)[0]  # "exec_start: sh" and the like
            payload: dict[str, Any] = {"container_id": actor.get("ID") or row.get("id"), "id": actor.get("ID") or row.get("id"),
                                       "action": action, "attributes": attributes}
            if "exitCode" in attributes:
                payload["exit_status"] = int(attributes["exitCode"])
            if row.get("timeNano"):
                timestamp = datetime.fromtimestamp(int(row["timeNano"]) / 1e9, tz=timezone.utc)
            else:
                timestamp = datetime.fromtimestamp(int(row.get("time") or 0), tz=timezone.utc)
            topic = _DOCKER_TOPICS.get((kind, base_action), f"/docker/{kind}/{base_action}")
            return Event(timestamp=timestamp, namespace=str(row.get("scope") or ""), topic=topic, payload=payload)
    # OverflowError, OSError: int(inf), or a time past what the platform's time_t holds.
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError, RecursionError) as exc:
        raise CliParseError(argv, f"unexpected event ({exc})", line) from exc
    raise CliParseError(argv, "neither a nerdctl nor a docker event", line)


def parse_version(argv: Sequence[str], out: str) -> dict[str, str]:
    """``version --format '{{json .}}'``: the client's and the engine's versions.

    nerdctl's Server lists components (containerd, runc); docker's has Version.
    """
    try:
        data = json.loads(out)
        client = data.get("Client") or {}
        server = data.get("Server") or {}
        versions = {"client": str(client.get("Version") or "")}
        if server.get("Version"):
            versions["server"] = str(server["Version"])
        for component in server.get("Components") or []:
            versions[str(component.get("Name", "")).lower()] = str(component.get("Version") or "")
    except (ValueError, AttributeError, TypeError, RecursionError) as exc:
        raise CliParseError(argv, f"unexpected version output ({exc})", out) from exc
    if not versions["client"]:
        raise CliParseError(argv, "no client version", out)
    return versions
