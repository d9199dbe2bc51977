"""Layer 2: the one place where an argv becomes a process.

Backends receive a :class:`Runner` in their constructor. The same backend code
then runs live (:class:`LiveRunner`), records what the real CLI printed
(:class:`RecordingRunner`) or replays a recording offline
(:class:`ReplayRunner`) — no global patching anywhere.
"""
from .._lazy import lazy_exports
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

# Recording and replay are for tests; a live command never loads them.
__getattr__ = lazy_exports(__name__, {name: ".cassette" for name in (
    "Cassette", "RecordingRunner", "ReplayMismatch", "ReplayRunner")})

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
