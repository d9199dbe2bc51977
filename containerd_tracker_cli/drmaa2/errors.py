"""DRMAA2 errors: one exception class per DRMAA2 error ID.

Every error carries its DRMAA2 ``ErrorId`` so callers (and the CLI) can act on
the kind of failure without matching message text.
"""
from __future__ import annotations

import enum
from typing import Sequence


class ErrorId(enum.IntEnum):
    """DRMAA2 error IDs in drmaa2interface order."""

    SUCCESS = 0
    DENIED_BY_DRMS = 1
    DRM_COMMUNICATION = 2
    TRY_LATER = 3
    SESSION_MANAGEMENT = 4
    TIMEOUT = 5
    INTERNAL = 6
    INVALID_ARGUMENT = 7
    INVALID_SESSION = 8
    INVALID_STATE = 9
    OUT_OF_RESOURCE = 10
    UNSUPPORTED_ATTRIBUTE = 11
    UNSUPPORTED_OPERATION = 12
    IMPLEMENTATION_SPECIFIC = 13
    LAST_ERROR = 14


class DrmaaError(Exception):
    """Base of every error the tracker raises.

    ``argv``, ``exit_code`` and ``stderr`` are set when the error comes from a
    CLI call, and are part of the message so a log line alone says what failed.
    """

    error_id: ErrorId = ErrorId.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] | None = None,
        exit_code: int | None = None,
        stderr: str | None = None,
    ) -> None:
        self.message = message
        self.argv = list(argv) if argv is not None else None
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.argv is not None:
            parts.append(f"command: {' '.join(self.argv)}")
        if self.exit_code is not None:
            parts.append(f"exit code: {self.exit_code}")
        if self.stderr:
            parts.append(f"stderr: {self.stderr.strip()}")
        return "; ".join(parts)


class DeniedByDrmsError(DrmaaError):
    error_id = ErrorId.DENIED_BY_DRMS


class DrmCommunicationError(DrmaaError):
    """containerd unreachable, the CLI missing, or a CLI call that hung."""

    error_id = ErrorId.DRM_COMMUNICATION


class TryLaterError(DrmaaError):
    error_id = ErrorId.TRY_LATER


class DrmaaTimeoutError(DrmaaError, TimeoutError):
    """A wait ran out of time (also a builtin ``TimeoutError``)."""

    error_id = ErrorId.TIMEOUT


class InternalError(DrmaaError):
    error_id = ErrorId.INTERNAL


class InvalidArgumentError(DrmaaError, ValueError):
    error_id = ErrorId.INVALID_ARGUMENT


class JobNotFoundError(InvalidArgumentError, LookupError):
    """No job with that ID in this session (DRMAA2 reports it as an invalid argument)."""


class InvalidStateError(DrmaaError):
    error_id = ErrorId.INVALID_STATE


class UnsupportedAttributeError(DrmaaError):
    error_id = ErrorId.UNSUPPORTED_ATTRIBUTE


class UnsupportedOperationError(DrmaaError):
    error_id = ErrorId.UNSUPPORTED_OPERATION


class ImplementationSpecificError(DrmaaError):
    error_id = ErrorId.IMPLEMENTATION_SPECIFIC
