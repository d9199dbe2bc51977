"""Constants and small real helpers shared by the tests."""
from __future__ import annotations

from typing import Sequence

from containerd_tracker_cli.runner import Completed, LiveRunner, Runner, Stream
from containerd_tracker_cli.testing import DEFAULT_REF

BUSYBOX = DEFAULT_REF
ENTRYPOINT_IMAGE = "example.com/entrypoint:1"


class CountingRunner(Runner):
    """A real runner that counts the processes it starts."""

    def __init__(self) -> None:
        self.inner = LiveRunner()
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.calls.append(tuple(argv))
        return self.inner.run(argv, timeout=timeout, stdin=stdin)

    def stream(self, argv: Sequence[str]) -> Stream:
        self.calls.append(tuple(argv))
        return self.inner.stream(argv)
