"""docker and nerdctl inspect one container per engine request: a thousand
jobs in one ``container inspect`` outlasted the call's timeout in CI. The
reads go a hundred per call, side by side as the runner allows."""
from __future__ import annotations

import threading
from typing import Sequence

from containerd_tracker_cli.backends.dockercompat.backend import DockerCompatBackend
from containerd_tracker_cli.runner import Completed, Runner, Stream


class Engine(Runner):
    """Answers every ``container inspect`` with no container; keeps what was asked."""

    concurrency = 4

    def __init__(self) -> None:
        self.asked: list[list[str]] = []
        self.lock = threading.Lock()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        assert "inspect" in argv, argv
        with self.lock:
            self.asked.append([arg for arg in argv if arg.startswith("job-")])
        return Completed(tuple(argv), 0, "[]\n", "")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError("no stream expected")


def test_many_jobs_are_inspected_a_hundred_per_call():
    engine = Engine()
    backend = DockerCompatBackend(engine, "docker", "unix:///d.sock", "default")
    ids = [f"job-{n:04d}" for n in range(250)]
    assert backend.observe(ids + ids[:10]) == {}  # asked twice: inspected once
    assert sorted(len(call) for call in engine.asked) == [50, 100, 100]
    assert sorted(i for call in engine.asked for i in call) == ids
