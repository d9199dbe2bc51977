"""Replay runners for the pytest plugin that keep a wrong replay visible:
one that remembers a mismatch the code under test may have swallowed, and
one that stands in for a missing recording."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from .base import Completed, Runner, Stream
from .cassette import ReplayMismatch


class GuardedReplay(Runner):
    """Replays through ``inner`` and remembers any mismatch it raised.

    Code under test may catch broad exceptions; remembering the mismatch lets
    teardown fail such a test instead of letting it pass on a wrong replay.
    """

    def __init__(self, inner: Runner, hint: str) -> None:
        self.inner = inner
        self.hint = hint
        self.mismatch: ReplayMismatch | None = None

    def _guard(self, call: Callable[[], Any]) -> Any:
        __tracebackhide__ = True  # the user's code and the mismatch are what matter
        try:
            return call()
        except ReplayMismatch as exc:
            error = ReplayMismatch(f"{exc}\n{self.hint}")
            if self.mismatch is None:
                self.mismatch = error
            raise error from None

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        __tracebackhide__ = True
        return self._guard(lambda: self.inner.run(argv, timeout=timeout, stdin=stdin))

    def stream(self, argv: Sequence[str]) -> Stream:
        __tracebackhide__ = True
        return GuardedStream(self, self._guard(lambda: self.inner.stream(argv)))

    def unique_token(self) -> str:
        __tracebackhide__ = True
        return self._guard(self.inner.unique_token)

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        __tracebackhide__ = True
        return self._guard(lambda: self.inner.spawn(argv, log=log, keep_fd=keep_fd))

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def settled(self, job_id: str, files: Callable[[], Sequence[str]]) -> None:
        __tracebackhide__ = True
        self._guard(lambda: self.inner.settled(job_id, files))


class GuardedStream(Stream):
    def __init__(self, owner: GuardedReplay, inner: Stream) -> None:
        self._owner = owner
        self._inner = inner
        self.argv = inner.argv

    def readline(self, timeout: float) -> str | None:
        __tracebackhide__ = True
        return self._owner._guard(lambda: self._inner.readline(timeout))

    def close(self) -> None:
        self._inner.close()


class MissingRecording(Runner):
    """Stands in when there is no recording: the first command fails the
    test, naming that command (a test that runs none passes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _fail(self, what: str) -> Any:
        __tracebackhide__ = True
        raise ReplayMismatch(f"no recording at {self.path}; the code under test wants {what}")

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        __tracebackhide__ = True
        return self._fail(f"to run: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        __tracebackhide__ = True
        return self._fail(f"to stream: {' '.join(argv)}")

    def unique_token(self) -> str:
        __tracebackhide__ = True
        return self._fail("a unique token (recorded, like every command)")

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        __tracebackhide__ = True
        return self._fail(f"to start in the background: {' '.join(argv)}")
