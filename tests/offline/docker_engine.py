"""A Docker engine for offline tests of the docker backend: containers that
ended as given, answered the way docker 20.10 answers, and the host's
``dmesg``; every call kept."""
from __future__ import annotations

import json
import threading
from typing import Sequence

from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.runner import CommandNotFound, Completed, Runner, Stream


def inspected(engine_id: str, name: str, exit_code: int, memory: int, oom: bool = False, drmaa2: bool = True) -> dict:
    labels = {L.DRMAA2: "true", L.SESSION: "oom", L.OWNER: "someone", L.JOB_NAME: "oom", L.KEY: name}
    return {
        "Id": engine_id, "Name": f"/{name}", "Created": "2026-11-26T05:00:00.000000000Z",
        "Path": "dd", "Args": ["if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
        "State": {"Status": "exited", "Running": False, "Paused": False, "OOMKilled": oom, "Pid": 0,
                  "ExitCode": exit_code, "StartedAt": "2026-11-26T05:00:01.000000000Z",
                  "FinishedAt": "2026-11-26T05:00:02.000000000Z"},
        "HostConfig": {"Memory": memory},
        "Config": {"Image": "busybox", "Env": [], "Labels": labels if drmaa2 else {}},
    }


class Engine(Runner):
    """A docker engine whose containers ended as given, whose event buffer
    holds ``events``, on a host whose kernel log is ``kernel`` (``None``: no
    dmesg installed; a ``Completed``: dmesg's answer)."""

    concurrency = 4

    def __init__(self, containers: list[dict], kernel: str | Completed | None, events: str = "") -> None:
        self.containers = containers
        self.kernel = kernel
        self.events = events
        #: Names whose ``rm`` fails (docker still removes the others of the call).
        self.rm_fails: set[str] = set()
        self.asked: list[list[str]] = []
        self.lock = threading.Lock()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        with self.lock:
            self.asked.append(list(argv))
        if argv[0] == "dmesg":
            if self.kernel is None:
                raise CommandNotFound("executable not found", argv)
            return self.kernel if isinstance(self.kernel, Completed) else Completed(tuple(argv), 0, self.kernel, "")
        if "inspect" in argv:
            return Completed(tuple(argv), 0, json.dumps([c for c in self.containers
                                                         if c["Name"][1:] in argv or c["Id"] in argv]), "")
        if "rm" in argv:  # as docker: removes what it can, names each failure, exit code 1 if any
            names = argv[argv.index("--force") + 1:]
            failing = [name for name in names if name in self.rm_fails]
            self.containers = [c for c in self.containers
                               if c["Name"][1:] in failing or (c["Id"] not in names and c["Name"][1:] not in names)]
            errors = "".join(f"Error response from daemon: driver failed to remove root filesystem for {name}\n"
                             for name in failing)
            removed = "".join(f"{name}\n" for name in names if name not in failing)
            return Completed(tuple(argv), 1 if failing else 0, removed, errors)
        if "events" in argv:
            return Completed(tuple(argv), 0, self.events, "")
        if "logs" in argv:
            return Completed(tuple(argv), 0, "", "")
        raise AssertionError(f"not expected here: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError(f"no stream expected: {' '.join(argv)}")

    def calls(self, word: str) -> int:
        return sum(1 for argv in self.asked if word in argv)
