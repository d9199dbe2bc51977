#!/usr/bin/env python3
"""A stand-in for ``nerdctl`` that records the nerdctl replay fixtures.

nerdctl is in no registry these machines reach. This shim takes nerdctl's
argv (``nerdctl --address A --namespace N <command> …``), runs the same
command through the ``docker`` CLI against the Docker engine named by
``$FAKE_NERDCTL_DOCKER_HOST``, and rewrites what docker printed into the
shapes real nerdctl prints, as ``../shared/corpus/nerdctl/`` shows them:

* ``$FAKE_NERDCTL_SHAPE=v1`` (nerdctl 1.x): ``State: null`` for a container
  without a task, ``version`` with Server.Components, events as containerd
  envelopes ``{Timestamp, Namespace, Topic, Event: "<json>"}``;
* ``v2`` (nerdctl 2.x): ``State.Status ""`` for a container without a task,
  empty ``StartedAt``/``FinishedAt``, events with the added ``ID``/``Status``.

Used only to record ``fixtures/nerdctl/<shape>/``; it is not nerdctl.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

TOPICS = {"create": "/containers/create", "destroy": "/containers/delete", "start": "/tasks/start",
          "die": "/tasks/exit", "pause": "/tasks/paused", "unpause": "/tasks/resumed"}


def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    host = os.environ["FAKE_NERDCTL_DOCKER_HOST"]
    return subprocess.run(["docker", "--host", host, *args], capture_output=True, input=stdin)


def passthrough(*args: str) -> int:
    done = docker(*args)
    sys.stdout.buffer.write(done.stdout)
    sys.stderr.buffer.write(done.stderr)
    return done.returncode


def zero_to_empty(value: str) -> str:
    return "" if not value or value.startswith("0001-01-01") else value


def inspect(shape: str, namespace: str, names: list[str]) -> int:
    done = docker("container", "inspect", *names)
    items = json.loads(done.stdout or b"[]")
    out = []
    for item in items:
        state = item.get("State") or {}
        status = state.get("Status", "")
        nerd_state = {k: state.get(k) for k in ("Status", "Running", "Paused", "Restarting", "Pid", "ExitCode",
                                                 "Error", "StartedAt", "FinishedAt")}
        nerd_state["StartedAt"] = zero_to_empty(state.get("StartedAt", ""))
        nerd_state["FinishedAt"] = zero_to_empty(state.get("FinishedAt", ""))
        if status == "created":  # docker: never started; nerdctl: a container without a task
            nerd_state.update(Status="", Running=False, Paused=False, Pid=0)
        config = item.get("Config") or {}
        element = {
            "Id": item["Id"], "Created": item["Created"], "Path": item.get("Path", ""), "Args": item.get("Args"),
            "State": None if (shape == "v1" and status == "created") else nerd_state,
            "Image": config.get("Image", ""),
            # nerdctl's own layout (as in the corpus), not the Docker engine's data-root.
            "LogPath": f"/var/lib/nerdctl/1935db59/containers/{namespace}/{item['Id']}/{item['Id']}-json.log",
            "Name": item.get("Name", "").lstrip("/"), "RestartCount": 0, "Driver": "overlayfs",
            "Platform": "linux", "AppArmorProfile": "",
            "Config": {"Hostname": config.get("Hostname", ""), "User": config.get("User", ""),
                       "Env": config.get("Env"), "Cmd": config.get("Cmd"), "Image": config.get("Image", ""),
                       "WorkingDir": config.get("WorkingDir", ""), "Entrypoint": config.get("Entrypoint"),
                       "Labels": config.get("Labels") or {}},
        }
        out.append(element)
    sys.stdout.write(json.dumps(out, indent=4) + "\n")
    sys.stderr.buffer.write(done.stderr.replace(b"No such object", b"no such container"))
    return done.returncode


def events(shape: str, namespace: str) -> int:
    proc = subprocess.Popen(["docker", "--host", os.environ["FAKE_NERDCTL_DOCKER_HOST"], "events", "--format",
                             "{{json .}}"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            event = json.loads(raw)
            if event.get("Type") != "container" or event.get("Action") not in TOPICS:
                continue
            actor = event.get("Actor") or {}
            payload: dict[str, object] = {"container_id": actor.get("ID")}
            if event["Action"] in ("die",):
                payload.update(id=actor.get("ID"), exit_status=int((actor.get("Attributes") or {}).get("exitCode", 0)))
            stamp = datetime.fromtimestamp(int(event["timeNano"]) / 1e9, tz=timezone.utc)
            line: dict[str, object] = {"Timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "Namespace": namespace,
                                       "Topic": TOPICS[event["Action"]], "Event": json.dumps(payload)}
            if shape == "v2":
                line = {"Timestamp": line["Timestamp"], "ID": actor.get("ID"), "Namespace": namespace,
                        "Topic": line["Topic"], "Status": event["Action"].upper(), "Event": line["Event"]}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        proc.terminate()
    return 0


def images() -> int:
    done = docker("image", "ls", "--format", "{{json .}}")
    for raw in done.stdout.splitlines():
        row = json.loads(raw)
        repo = row["Repository"]
        full = repo if "/" in repo and "." in repo.split("/")[0] else (
            f"docker.io/library/{repo}" if "/" not in repo else f"docker.io/{repo}")
        sys.stdout.write(json.dumps({
            "CreatedAt": row.get("CreatedAt", ""), "CreatedSince": row.get("CreatedSince", ""),
            "Digest": "sha256:" + "0" * 64 if row.get("Digest") in (None, "", "<none>") else row["Digest"],
            "ID": row["ID"], "Repository": full, "Tag": row["Tag"], "Name": f"{full}:{row['Tag']}",
            "Size": row.get("Size", ""), "BlobSize": row.get("Size", ""), "Platform": "linux/amd64"}) + "\n")
    return done.returncode


def version(shape: str) -> int:
    number = "v1.7.7" if shape == "v1" else "v2.1.6"
    sys.stdout.write(json.dumps({
        "Client": {"Version": number, "GitCommit": "fake", "GoVersion": "go1.21", "Os": "linux", "Arch": "amd64",
                   "Components": [{"Name": "buildctl", "Version": "v0.12.5", "Details": {"GitCommit": "fake"}}]},
        "Server": {"Components": [{"Name": "containerd", "Version": "v1.6.20", "Details": {"GitCommit": "fake"}},
                                  {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": "fake"}}]},
    }) + "\n")
    return 0


def main(argv: list[str]) -> int:
    shape = os.environ.get("FAKE_NERDCTL_SHAPE", "v2")
    namespace = "default"
    while argv and argv[0].startswith("--"):  # global flags: --address A --namespace N
        if argv[0] == "--namespace":
            namespace = argv[1]
        argv = argv[2:]
    command = argv[:2] if argv and argv[0] in ("container", "image") else argv[:1]
    rest = argv[len(command):]
    if command == ["version"]:
        return version(shape)
    if command == ["container", "inspect"]:
        return inspect(shape, namespace, rest)
    if command == ["events"]:
        return events(shape, namespace)
    if command == ["image", "ls"]:
        return images()
    return passthrough(*argv)  # ps, create, start, kill, pause, unpause, rm, logs, image inspect/pull


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
