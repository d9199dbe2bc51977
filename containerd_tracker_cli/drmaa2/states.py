"""DRMAA2 job states, with Go's integer values and names (drmaa2interface)."""
from __future__ import annotations

import enum


class JobState(enum.IntEnum):
    """A DRMAA2 job state. ``int()`` is Go's value, ``str()`` is Go's name."""

    UNSET = 0
    UNDETERMINED = 1
    QUEUED = 2
    QUEUED_HELD = 3
    RUNNING = 4
    SUSPENDED = 5
    REQUEUED = 6
    REQUEUED_HELD = 7
    DONE = 8
    FAILED = 9

    def __str__(self) -> str:
        return _GO_NAMES[self]

    @property
    def go_name(self) -> str:
        return _GO_NAMES[self]

    @classmethod
    def parse(cls, value: "str | int | JobState") -> "JobState":
        """Accept a member, Go's integer, Go's name or the member name, in any case.

        ``"queuedheld"``, ``"QueuedHeld"``, ``"QUEUED_HELD"`` and ``3`` all give
        ``JobState.QUEUED_HELD``; anything else raises ``ValueError``.
        """
        if isinstance(value, JobState):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        if isinstance(value, str):
            key = value.strip().replace("_", "").replace("-", "").lower()
            for member in cls:
                if key in (member.go_name.lower(), member.name.replace("_", "").lower()):
                    return member
            if key.isdigit():
                return cls(int(key))
        raise ValueError(f"not a DRMAA2 job state: {value!r}")


_GO_NAMES = {
    JobState.UNSET: "Unset",
    JobState.UNDETERMINED: "Undetermined",
    JobState.QUEUED: "Queued",
    JobState.QUEUED_HELD: "QueuedHeld",
    JobState.RUNNING: "Running",
    JobState.SUSPENDED: "Suspended",
    JobState.REQUEUED: "Requeued",
    JobState.REQUEUED_HELD: "RequeuedHeld",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
}

#: States a job never leaves.
TERMINAL_STATES = frozenset({JobState.DONE, JobState.FAILED})
