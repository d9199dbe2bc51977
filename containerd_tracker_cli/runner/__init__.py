"""Layer 2: the one place where an argv becomes a process.

Backends receive a :class:`Runner` in their constructor. The same backend code
then runs live (:class:`LiveRunner`), records what the real CLI printed
(:class:`RecordingRunner`) or replays a recording offline
(:class:`ReplayRunner`) — no global patching anywhere.
"""
from .base import (
    CommandNotFound,
    CommandNotStarted,
    CommandTimeout,
    Completed,
    Runner,
    RunnerError,
    Stream,
    StreamClosed,
)
from .live import LiveRunner

_CASSETTE = ("Cassette", "RecordingRunner", "ReplayMismatch", "ReplayRunner")


def __getattr__(name: str) -> object:
    # Recording and replay are for tests; a live command never loads them.
    if name in _CASSETTE:
        from . import cassette

        return getattr(cassette, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Cassette",
    "CommandNotFound",
    "CommandNotStarted",
    "CommandTimeout",
    "Completed",
    "LiveRunner",
    "RecordingRunner",
    "ReplayMismatch",
    "ReplayRunner",
    "Runner",
    "RunnerError",
    "Stream",
    "StreamClosed",
]
