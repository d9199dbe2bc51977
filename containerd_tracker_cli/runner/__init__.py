"""Layer 2: the one place where an argv becomes a process.

Backends receive a :class:`Runner` in their constructor. The same backend code
then runs live (:class:`LiveRunner`), records what the real CLI printed
(:class:`RecordingRunner`) or replays a recording offline
(:class:`ReplayRunner`) — no global patching anywhere.
"""
from .base import (
    CommandNotFound,
    CommandTimeout,
    Completed,
    Runner,
    RunnerError,
    Stream,
    StreamClosed,
)
from .cassette import Cassette, RecordingRunner, ReplayMismatch, ReplayRunner
from .live import LiveRunner

__all__ = [
    "Cassette",
    "CommandNotFound",
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
