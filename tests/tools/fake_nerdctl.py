#!/usr/bin/env python3
"""A stand-in for ``nerdctl`` that drives the nerdctl code path over Docker.

nerdctl is in no registry these machines reach. This shim takes nerdctl's
argv (``nerdctl --address A --namespace N <command> …``), runs the same
command through the ``docker`` CLI against the Docker engine named by
``$FAKE_NERDCTL_DOCKER_HOST``, and rewrites what docker printed into the
shapes real nerdctl prints. ``$FAKE_NERDCTL_SHAPE`` picks which:

* ``v2`` (the default): nerdctl 2.1.6, as the real recordings in
  ``fixtures/nerdctl/2.1.6/`` show it (and nerdctl's source at
  tag v2.1.6 where the recordings hold no such output, named below):

  - ``container inspect``: every field of nerdctl's dockercompat ``Container``
    (``HostConfig``, ``Mounts``, ``NetworkSettings``, nerdctl's own labels,
    ``Config`` without ``Cmd``/``Entrypoint``/``WorkingDir``), ``Args: null``
    for none, ``State.Status ""`` with zero ``Pid``/``ExitCode`` and empty
    times for a container without a task, ``"Running": false,
    "Paused": true`` for a paused one, indented JSON followed by an empty
    line; ``level=warning msg="failed to inspect NetNS"`` on stderr for each
    exited container; one missing name makes the whole answer ``level=fatal
    msg="N errors:\\nno such container: …"``, exit code 1, nothing on stdout;
  - ``events``: compact ``{Timestamp, ID, Namespace, Topic, Status, Event}``
    lines, each followed by an empty line, with containerd's payloads
    (``/tasks/exit`` with ``pid``, ``exit_status`` left out when 0, and
    ``exited_at`` as ``{seconds, nanos}``); topics ``/containers/create``,
    ``/tasks/start``, ``/tasks/paused``, ``/tasks/resumed``, ``/tasks/exit``,
    ``/containers/delete`` (real nerdctl prints every containerd event, more
    topics than these);
  - ``image ls``: compact lines, ``Repository`` as docker names it, ``Name``
    the full reference, ``ID`` the first 12 hex digits of ``Digest``;
  - ``version`` (source: cmd/nerdctl/version.go, pkg/infoutil): Client with an
    empty ``buildctl`` component and a warning on stderr that buildctl is
    missing, Server with the engine's containerd and runc;
  - ``container start|kill|pause|unpause`` failures as ``level=fatal
    msg="1 errors:\\n…"``; ``container rm --force`` of a missing container
    logs ``level=error`` and exits 0.

* ``v1`` (nerdctl 1.x), kept as it was: ``State: null`` for a container
  without a task, ``version`` with Server.Components, events as containerd
  envelopes ``{Timestamp, Namespace, Topic, Event: "<json>"}``.

The rewrites are pure functions of docker's output (``inspect_answer``,
``EventRewriter``, ``images_answer``, ``version_answer``, ``control_answer``)
so tests/offline/test_fake_nerdctl_shapes.py can compare them with the real
recordings. It is not nerdctl: values it cannot know (the pid of an exited
task, the Go version nerdctl was built with) are stand-ins.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable

#: What the v2 shape answers as (the build the real recordings were made with).
NERDCTL_V2 = "v2.1.6"
NERDCTL_V2_COMMIT = "59253e9931873e79b92fe3400f14e69d6be34025"
#: A stand-in: the go directive of nerdctl v2.1.6's go.mod (the real value is the builder's Go).
NERDCTL_V2_GO = "go1.24.2"
DATA_ROOT = "/var/lib/nerdctl"
DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
RUNTIME = "io.containerd.runc.v2"

TOPICS = {"create": "/containers/create", "destroy": "/containers/delete", "start": "/tasks/start",
          "die": "/tasks/exit", "pause": "/tasks/paused", "unpause": "/tasks/resumed"}

_MISSING = re.compile(r"[Nn]o such (?:container|object): (?P<name>[^\s\"]+)")
_LOGFMT_BARE = re.compile(r"^[A-Za-z0-9\-._/@^+]+$")

Answer = tuple[int, str, str]  # exit code, stdout, stderr


# -- small helpers -----------------------------------------------------------

def zero_to_empty(value: str | None) -> str:
    return "" if not value or value.startswith("0001-01-01") else value


def compact(value: Any) -> str:
    """Go's ``{{json .}}``: compact, HTML characters and non-ASCII left as they are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def addr_hash(address: str) -> str:
    """nerdctl's data store folder for a containerd address (clientutil.DataStore)."""
    return hashlib.sha256(address.encode()).hexdigest()[:8]


def _logfmt(value: str) -> str:
    return value if _LOGFMT_BARE.match(value) else json.dumps(value, ensure_ascii=False)


def _now() -> float:
    return time.time()


def log_line(level: str, msg: str, now: float | None = None, **fields: str) -> str:
    """One line as nerdctl's logrus text formatter writes it to stderr."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_now() if now is None else now))
    parts = [f"time={_logfmt(stamp)}", f"level={level}", f"msg={_logfmt(msg)}"]
    parts += [f"{key}={_logfmt(value)}" for key, value in sorted(fields.items())]
    return " ".join(parts) + "\n"


def full_ref(repository: str, tag: str | None = None) -> str:
    """``busybox`` → ``docker.io/library/busybox`` (plus ``:tag``)."""
    first = repository.split("/")[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        full = repository
    elif "/" in repository:
        full = f"docker.io/{repository}"
    else:
        full = f"docker.io/library/{repository}"
    return f"{full}:{tag}" if tag else full


def _image_ref(image: str) -> str:
    if not image or "@" in image or image.startswith("sha256:"):
        return image
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return full_ref(name, tag or "latest")


def _go_time(nanos: int) -> str:
    """RFC 3339 with nanoseconds, trailing zeros dropped (Go's time.RFC3339Nano)."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{rest:09d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


# -- container inspect -------------------------------------------------------

def _v1_container(item: dict[str, Any], namespace: str) -> dict[str, Any]:
    state = item.get("State") or {}
    status = state.get("Status", "")
    nerd_state = {k: state.get(k) for k in ("Status", "Running", "Paused", "Restarting", "Pid", "ExitCode",
                                             "Error", "StartedAt", "FinishedAt")}
    nerd_state["StartedAt"] = zero_to_empty(state.get("StartedAt", ""))
    nerd_state["FinishedAt"] = zero_to_empty(state.get("FinishedAt", ""))
    config = item.get("Config") or {}
    return {
        "Id": item["Id"], "Created": item["Created"], "Path": item.get("Path", ""), "Args": item.get("Args"),
        "State": None if status == "created" else nerd_state,
        "Image": config.get("Image", ""),
        # nerdctl's own layout (as in the corpus), not the Docker engine's data-root.
        "LogPath": f"/var/lib/nerdctl/1935db59/containers/{namespace}/{item['Id']}/{item['Id']}-json.log",
        "Name": item.get("Name", "").lstrip("/"), "RestartCount": 0, "Driver": "overlayfs",
        "Platform": "linux", "AppArmorProfile": "",
        "Config": {"Hostname": config.get("Hostname", ""), "User": config.get("User", ""),
                   "Env": config.get("Env"), "Cmd": config.get("Cmd"), "Image": config.get("Image", ""),
                   "WorkingDir": config.get("WorkingDir", ""), "Entrypoint": config.get("Entrypoint"),
                   "Labels": {**(config.get("Labels") or {}), **_v1_labels(item, namespace)}},
    }


def _v1_labels(item: dict[str, Any], namespace: str) -> dict[str, str]:
    """What nerdctl 1.x adds to every container it makes (as fixtures/nerdctl/composed-v1/
    holds it); the backend reads nerdctl/log-uri to know nerdctl keeps the container's logs."""
    return {"nerdctl/log-uri": "binary:///usr/local/bin/nerdctl?_NERDCTL_INTERNAL_LOGGING=%2Fvar%2Flib%2Fnerdctl",
            "nerdctl/name": str(item.get("Name") or "").lstrip("/"), "nerdctl/namespace": namespace,
            "nerdctl/platform": "linux/amd64"}


def _has_task(item: dict[str, Any]) -> bool:
    """docker's "created": never started (or its start failed); nerdctl: no task."""
    return str((item.get("State") or {}).get("Status") or "") not in ("", "created")


def _bind(source: str, destination: str, mode: str = "bind,rprivate", rw: bool = True,
          propagation: str = "rprivate") -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Destination": destination, "Mode": mode, "RW": rw,
            "Propagation": propagation}


def nerdctl_container(item: dict[str, Any], *, namespace: str, address: str) -> dict[str, Any]:
    """One docker ``inspect`` element as nerdctl 2.x's dockercompat ``Container``
    (field order as nerdctl prints it)."""
    cid = item["Id"]
    state = item.get("State") or {}
    config = item.get("Config") or {}
    host = item.get("HostConfig") or {}
    root = f"{DATA_ROOT}/{addr_hash(address)}"
    state_dir = f"{root}/containers/{namespace}/{cid}"
    hostname = config.get("Hostname") or cid[:12]
    name = str(item.get("Name") or "").lstrip("/")
    image = _image_ref(str(config.get("Image") or item.get("Image") or ""))
    error = str(state.get("Error") or "")
    status = str(state.get("Status") or "")
    if _has_task(item):
        nerd_state = {"Status": status, "Running": status == "running", "Paused": status == "paused",
                      "Restarting": False, "Pid": int(state.get("Pid") or 0),
                      "ExitCode": int(state.get("ExitCode") or 0), "Error": error,
                      "StartedAt": zero_to_empty(state.get("StartedAt")),
                      "FinishedAt": zero_to_empty(state.get("FinishedAt"))}
    else:
        nerd_state = {"Status": "", "Running": False, "Paused": False, "Restarting": False, "Pid": 0,
                      "ExitCode": 0, "Error": error, "StartedAt": "", "FinishedAt": ""}
    user_mounts = [
        {"Type": m.get("Type", "bind"), "Source": m.get("Source", ""), "Destination": m.get("Destination", ""),
         "Mode": m.get("Mode", ""), "RW": bool(m.get("RW", True)), "Propagation": m.get("Propagation", "")}
        for m in item.get("Mounts") or []]
    mounts = [_bind(f"{state_dir}/resolv.conf", "/etc/resolv.conf"),
              _bind(f"{root}/etchosts/{namespace}/{cid}/hosts", "/etc/hosts"),
              _bind(f"{state_dir}/hostname", "/etc/hostname"), *user_mounts]
    network = str(host.get("NetworkMode") or "none")
    user = str(config.get("User") or "")
    labels = dict(config.get("Labels") or {})
    if _has_task(item) or error:  # nerdctl sets it when it starts the container
        labels["containerd.io/restart.explicitly-stopped"] = "false"
    labels.update({
        "io.containerd.image.config.stop-signal": str(config.get("StopSignal") or "SIGTERM"),
        "nerdctl/auto-remove": "true" if host.get("AutoRemove") else "false",
        "nerdctl/dns": '{"DNSServers":null,"DNSResolvConfOptions":null,"DNSSearchDomains":null}',
        "nerdctl/extraHosts": "[]",
        "nerdctl/host-config": '{"BlkioWeight":0,"CidFile":"","Devices":null}',
        "nerdctl/hostname": hostname,
        "nerdctl/ipc": '{"mode":"private"}',
        "nerdctl/log-config": compact({"driver": "json-file", "address": address}),
        "nerdctl/log-uri": f"binary:///usr/local/bin/nerdctl?_NERDCTL_INTERNAL_LOGGING=%2Fvar%2Flib%2Fnerdctl%2F"
                           f"{addr_hash(address)}",
        "nerdctl/name": name,
        "nerdctl/namespace": namespace,
        "nerdctl/networks": compact([network]),
        "nerdctl/platform": "linux/amd64",
        "nerdctl/state-dir": state_dir,
    })
    if error:
        labels["nerdctl/error"] = error
    if user_mounts:
        labels["nerdctl/mounts"] = compact(user_mounts)
    if user:
        labels["nerdctl/user"] = user
    nano_cpus = int(host.get("NanoCpus") or 0)
    host_config = {
        "ContainerIDFile": "",
        "LogConfig": {"driver": "json-file", "address": address},
        "PortBindings": {} if _has_task(item) else None,
        "CgroupnsMode": "", "Dns": None, "DnsOptions": None, "DnsSearch": None, "ExtraHosts": [], "GroupAdd": [],
        "IpcMode": "private", "OomScoreAdj": 0, "PidMode": "", "ReadonlyRootfs": bool(host.get("ReadonlyRootfs")),
        "UTSMode": "", "ShmSize": 0, "Sysctls": None, "Runtime": RUNTIME, "CpusetMems": "", "CpusetCpus": "",
        "CpuQuota": nano_cpus // 10_000 if nano_cpus else int(host.get("CpuQuota") or 0),
        "CpuShares": int(host.get("CpuShares") or 0),
        "CpuPeriod": 100_000 if nano_cpus else int(host.get("CpuPeriod") or 0),
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "Memory": int(host.get("Memory") or 0), "MemorySwap": int(host.get("MemorySwap") or 0),
        "OomKillDisable": bool(host.get("OomKillDisable")), "Devices": None, "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
    }
    env = [str(e) for e in config.get("Env") or []]
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.append(f"HOSTNAME={hostname}")
    nerd_config: dict[str, Any] = {"Hostname": hostname}
    if user:
        nerd_config["User"] = user
    nerd_config.update({"AttachStdin": False, "Env": env, "Image": image, "Labels": dict(sorted(labels.items()))})
    return {
        "Id": cid, "Created": item.get("Created", ""), "Path": item.get("Path", ""),
        "Args": list(item.get("Args") or []) or None,
        "State": nerd_state,
        "Image": image,
        "ResolvConfPath": f"{state_dir}/resolv.conf",
        "HostnamePath": f"{state_dir}/hostname",
        "HostsPath": f"{root}/etchosts/{namespace}/{cid}/hosts",
        "LogPath": f"{state_dir}/{cid}-json.log",
        "Name": name, "RestartCount": 0, "Driver": "overlayfs", "Platform": "linux", "AppArmorProfile": "",
        "HostConfig": host_config,
        "Mounts": mounts,
        "Config": nerd_config,
        "NetworkSettings": {"Ports": {}, "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
                            "IPPrefixLen": 0, "MacAddress": "", "Networks": {}},
    }


def missing_names(docker_stderr: str) -> list[str]:
    return [m["name"] for m in _MISSING.finditer(docker_stderr)]


def _errors(messages: list[str]) -> str:
    return f"{len(messages)} errors:\n" + "\n".join(messages)


def inspect_answer(shape: str, namespace: str, address: str, names: list[str], exit_code: int, stdout: str,
                   stderr: str, now: float | None = None) -> Answer:
    """nerdctl's ``container inspect NAMES…`` from docker's answer to the same."""
    items = json.loads(stdout) if stdout.strip() else []
    if shape == "v1":
        out = [_v1_container(item, namespace) for item in items]
        return exit_code, json.dumps(out, indent=4) + "\n", stderr.replace("No such object", "no such container")
    missing = missing_names(stderr)
    if missing:  # nerdctl walks every name first: one missing and nothing is printed
        return 1, "", log_line("fatal", _errors([f"no such container: {name}" for name in missing]), now)
    if exit_code != 0 and not items:
        return exit_code, "", stderr
    out, warnings = [], ""
    for item in items:
        element = nerdctl_container(item, namespace=namespace, address=address)
        out.append(element)
        if element["State"]["Status"] == "exited":  # the task's netns went with its process
            pid = element["State"]["Pid"]
            warnings += log_line("warning", "failed to inspect NetNS", now,
                                 error=f'failed to Statfs "/proc/{pid}/ns/net": no such file or directory',
                                 id=element["Id"])
    return 0, json.dumps(out, indent=4, ensure_ascii=False) + "\n\n", warnings


# -- events ------------------------------------------------------------------

class EventRewriter:
    """docker ``events --format '{{json .}}'`` lines → nerdctl ``events`` output.

    ``pid_of(container_id)`` is asked once per started container (v2), so the
    exit event can name the task's pid as containerd does; a container that
    has already exited by then has none to give, and its exit event has no
    ``pid`` (as a zero one would be left out).
    """

    def __init__(self, shape: str, namespace: str, pid_of: Callable[[str], int] | None = None) -> None:
        self.shape = shape
        self.namespace = namespace
        self.pid_of = pid_of
        self.pids: dict[str, int] = {}

    def rewrite(self, event: dict[str, Any]) -> str:
        """What nerdctl writes for one docker event ("" for none)."""
        if event.get("Type") != "container" or event.get("Action") not in TOPICS:
            return ""
        action = event["Action"]
        actor = event.get("Actor") or {}
        cid = str(actor.get("ID") or "")
        nanos = int(event["timeNano"])
        if self.shape == "v1":
            payload: dict[str, object] = {"container_id": cid}
            if action == "die":
                payload.update(id=cid, exit_status=int((actor.get("Attributes") or {}).get("exitCode", 0)))
            stamp = datetime.fromtimestamp(nanos / 1e9, tz=timezone.utc)
            line = {"Timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "Namespace": self.namespace,
                    "Topic": TOPICS[action], "Event": json.dumps(payload)}
            return json.dumps(line) + "\n"
        return self._v2(action, actor, cid, nanos)

    def _v2(self, action: str, actor: dict[str, Any], cid: str, nanos: int) -> str:
        attributes = actor.get("Attributes") or {}
        payload: dict[str, Any]
        if action == "create":  # containerd's ContainerCreate: no container_id, so no ID either
            payload = {"id": cid, "image": _image_ref(str(attributes.get("image") or "")),
                       "runtime": {"name": RUNTIME}}
        elif action == "destroy":
            payload = {"id": cid}
        elif action == "start":
            pid = self.pid_of(cid) if self.pid_of else 0
            if pid:
                self.pids[cid] = pid
            payload = {"container_id": cid, "pid": pid}
        elif action == "die":
            payload = {"container_id": cid, "id": cid, "pid": self.pids.pop(cid, 0),
                       "exit_status": int(attributes.get("exitCode") or 0),
                       "exited_at": {"seconds": nanos // 1_000_000_000, "nanos": nanos % 1_000_000_000}}
        else:  # pause, unpause
            payload = {"container_id": cid}
        # protobuf's Go structs: zero values are left out (omitempty).
        payload = {k: v for k, v in payload.items() if v not in (0, "", None)}
        topic = TOPICS[action]
        line = {"Timestamp": _go_time(nanos), "ID": str(payload.get("container_id") or ""),
                "Namespace": self.namespace, "Topic": topic,
                "Status": "start" if "start" in topic.lower() else "unknown", "Event": compact(payload)}
        return compact(line) + "\n\n"  # Fprintln(b.String() + "\n"): an empty line after each event


# -- images, version, control commands ---------------------------------------

#: ``docker image inspect --format`` giving when each image came into the engine's store.
LOADED_FORMAT = "{{.Id}} {{.Metadata.LastTagTime}}"


def unknown_creation(docker_stdout: str) -> list[str]:
    """The IDs of images docker knows no creation time of (built without one, as
    the test image is): nerdctl shows when they came into containerd's store."""
    ids = []
    for raw in docker_stdout.splitlines():
        if raw.strip():
            row = json.loads(raw)
            if str(row.get("CreatedAt") or "").startswith("0001-01-01") and row.get("ID") not in ids:
                ids.append(row["ID"])
    return ids


def human_duration(seconds: float) -> str:
    """Go's units.HumanDuration, as nerdctl's CreatedSince uses it."""
    seconds = int(seconds)
    minutes, hours = seconds // 60, int(seconds / 3600 + 0.5)
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if minutes < 60:
        return "About a minute" if minutes == 1 else f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{seconds // 3600 // 24 // 365} years"


def images_answer(shape: str, docker_stdout: str, loaded: dict[str, str] | None = None,
                  now: float | None = None) -> str:
    """nerdctl ``image ls --format '{{json .}}'`` from docker's (v2: docker's run
    with ``--no-trunc``; ``loaded``: image ID → docker's Metadata.LastTagTime, for
    the images :func:`unknown_creation` names)."""
    out = ""
    for raw in docker_stdout.splitlines():
        if not raw.strip():
            continue
        row = json.loads(raw)
        repo = row["Repository"]
        if shape == "v1":
            full = repo if "/" in repo and "." in repo.split("/")[0] else (
                f"docker.io/library/{repo}" if "/" not in repo else f"docker.io/{repo}")
            out += json.dumps({
                "CreatedAt": row.get("CreatedAt", ""), "CreatedSince": row.get("CreatedSince", ""),
                "Digest": "sha256:" + "0" * 64 if row.get("Digest") in (None, "", "<none>") else row["Digest"],
                "ID": row["ID"], "Repository": full, "Tag": row["Tag"], "Name": f"{full}:{row['Tag']}",
                "Size": row.get("Size", ""), "BlobSize": row.get("Size", ""), "Platform": "linux/amd64"}) + "\n"
            continue
        tag = row.get("Tag") or ""
        if repo in ("", "<none>") or tag in ("", "<none>"):
            continue  # nerdctl lists images by name
        digest = str(row.get("Digest") or "")
        if not digest.startswith("sha256:"):
            image_id = str(row.get("ID") or "")
            digest = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
        created, since = str(row.get("CreatedAt") or ""), str(row.get("CreatedSince") or "")
        if created.startswith("0001-01-01"):
            # nerdctl: when the image came into the store. docker knows it only for a
            # pulled or tagged image (LastTagTime); a loaded one gets now, a stand-in.
            current = _now() if now is None else now
            tagged = (loaded or {}).get(row.get("ID"), "")
            stamp = current if not tagged or tagged.startswith("0001-01-01") else datetime.strptime(
                tagged[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
            created = datetime.fromtimestamp(int(stamp), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
            since = human_duration(current - stamp) + " ago"
        out += compact({
            "CreatedAt": created, "CreatedSince": since, "Digest": digest,
            "ID": digest.removeprefix("sha256:")[:12], "Repository": repo, "Tag": tag, "Name": full_ref(repo, tag),
            "Size": row.get("Size", ""), "BlobSize": row.get("Size", ""), "Platform": "linux/amd64"}) + "\n"
    return out


def version_answer(shape: str, docker_version: dict[str, Any] | None, now: float | None = None) -> Answer:
    """nerdctl ``version --format '{{json .}}'``; v2 reads containerd's and
    runc's versions from the engine's (``docker version``) Server.Components."""
    if shape == "v1":
        return 0, json.dumps({
            "Client": {"Version": "v1.7.7", "GitCommit": "fake", "GoVersion": "go1.21", "Os": "linux",
                       "Arch": "amd64",
                       "Components": [{"Name": "buildctl", "Version": "v0.12.5", "Details": {"GitCommit": "fake"}}]},
            "Server": {"Components": [{"Name": "containerd", "Version": "v1.6.20", "Details": {"GitCommit": "fake"}},
                                      {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": "fake"}}]},
        }) + "\n", ""
    # buildctl is not installed: nerdctl warns and names the component without a version.
    stderr = log_line("warning", "unable to determine buildctl version", now,
                      error='exec: "buildctl": executable file not found in $PATH')
    client = {"Version": NERDCTL_V2, "GitCommit": NERDCTL_V2_COMMIT, "GoVersion": NERDCTL_V2_GO, "Os": "linux",
              "Arch": "amd64", "Components": [{"Name": "buildctl", "Version": ""}]}
    components = {str(c.get("Name", "")).lower(): c
                  for c in ((docker_version or {}).get("Server") or {}).get("Components") or []}
    if "containerd" not in components:
        return 1, compact({"Client": client, "Server": None}) + "\n", stderr + log_line(
            "fatal", "cannot access containerd socket", now)
    server = []
    for name in ("containerd", "runc"):
        found = components.get(name) or {}
        entry: dict[str, Any] = {"Name": name, "Version": str(found.get("Version") or "")}
        if (found.get("Details") or {}).get("GitCommit"):
            entry["Details"] = {"GitCommit": str(found["Details"]["GitCommit"])}
        server.append(entry)
    return 0, compact({"Client": client, "Server": {"Components": server}}) + "\n", stderr


def _docker_errors(stderr: str) -> list[str]:
    """The messages of docker's error lines, as nerdctl words them."""
    messages = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line or line.startswith("Error: failed to"):  # docker's summary of the ones above
            continue
        if (missing := _MISSING.search(line)) is not None:
            messages.append(f"no such container: {missing['name']}")
            continue
        for prefix in ("Error response from daemon: ", "Error: "):
            line = line.removeprefix(prefix)
        messages.append(line)
    return messages


def control_answer(shape: str, command: str, exit_code: int, stdout: str, stderr: str,
                   now: float | None = None) -> Answer:
    """``container start|kill|pause|unpause|rm`` from docker's answer: nerdctl
    walks every name and reports the failures together."""
    if shape == "v1":
        return exit_code, stdout, stderr
    messages = _docker_errors(stderr)
    if command == "rm":  # rm --force: nerdctl logs what failed and succeeds
        return 0, stdout, log_line("error", _errors(messages), now) if messages else ""
    if exit_code == 0 or not messages:
        return exit_code, stdout, stderr
    return 1, stdout, log_line("fatal", _errors(messages), now)


# -- the command line --------------------------------------------------------

def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    host = os.environ["FAKE_NERDCTL_DOCKER_HOST"]
    return subprocess.run(["docker", "--host", host, *args], capture_output=True, input=stdin)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _write(answer: Answer) -> int:
    code, out, err = answer
    sys.stdout.buffer.write(out.encode("utf-8", errors="surrogateescape"))
    sys.stderr.buffer.write(err.encode("utf-8", errors="surrogateescape"))
    return code


def passthrough(*args: str) -> int:
    done = docker(*args)
    sys.stdout.buffer.write(done.stdout)
    sys.stderr.buffer.write(done.stderr)
    return done.returncode


def _pid_of(container_id: str) -> int:
    done = docker("container", "inspect", "--format", "{{.State.Pid}}", container_id)
    try:
        return int(done.stdout.strip() or 0)
    except ValueError:
        return 0


def events(shape: str, namespace: str) -> int:
    proc = subprocess.Popen(["docker", "--host", os.environ["FAKE_NERDCTL_DOCKER_HOST"], "events", "--format",
                             "{{json .}}"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    rewriter = EventRewriter(shape, namespace, _pid_of)
    try:
        for raw in proc.stdout:
            text = rewriter.rewrite(json.loads(raw))
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        proc.terminate()
    return 0


def main(argv: list[str]) -> int:
    shape = os.environ.get("FAKE_NERDCTL_SHAPE", "v2")
    namespace, address = "default", DEFAULT_ADDRESS
    while argv and argv[0].startswith("--"):  # global flags: --address A --namespace N
        if argv[0] == "--namespace":
            namespace = argv[1]
        elif argv[0] == "--address":
            address = argv[1]
        argv = argv[2:]
    command = argv[:2] if argv and argv[0] in ("container", "image") else argv[:1]
    rest = argv[len(command):]
    if command == ["version"]:
        if shape == "v1":
            return _write(version_answer(shape, None))
        done = docker("version", "--format", "{{json .}}")
        try:
            found = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            found = None
        return _write(version_answer(shape, found))
    if command == ["container", "inspect"]:
        done = docker("container", "inspect", *rest)
        return _write(inspect_answer(shape, namespace, address, rest, done.returncode, _text(done.stdout),
                                     _text(done.stderr)))
    if command == ["events"]:
        return events(shape, namespace)
    if command == ["image", "ls"]:
        done = docker("image", "ls", "--format", "{{json .}}", *(["--no-trunc"] if shape == "v2" else []))
        loaded: dict[str, str] = {}
        if shape == "v2" and (ids := unknown_creation(_text(done.stdout))):
            answer = docker("image", "inspect", "--format", LOADED_FORMAT, *ids)
            loaded = dict(line.split(" ", 1) for line in _text(answer.stdout).splitlines() if " " in line)
        return _write((done.returncode, images_answer(shape, _text(done.stdout), loaded), ""))
    if command[:1] == ["container"] and command[1:] and command[1] in ("start", "kill", "pause", "unpause", "rm"):
        done = docker(*argv)
        return _write(control_answer(shape, command[1], done.returncode, _text(done.stdout), _text(done.stderr)))
    return passthrough(*argv)  # ps, create, logs, image inspect/pull


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
