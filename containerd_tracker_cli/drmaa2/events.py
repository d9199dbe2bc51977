"""DRMAA2 event notification: what a registered callback is told (drmaa2os'
``Event`` and ``Notification``, in snake_case)."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .states import JobState


class DrmaaEvent(enum.IntEnum):
    """What happened (Go's values). This implementation sends ``NEW_STATE``:
    containers do not migrate, and a job's attributes do not change."""

    NEW_STATE = 0
    MIGRATED = 1
    ATTRIBUTE_CHANGE = 2


@dataclass(frozen=True)
class Notification:
    """One event about one job."""

    event: DrmaaEvent
    job_id: str
    session_name: str
    job_state: JobState
