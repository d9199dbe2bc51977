"""Errors a backend raises. They are DRMAA2 errors already, so nothing untyped
escapes to a user; the tracker refines them (a missing container becomes a
missing *job*)."""
from __future__ import annotations

from typing import Sequence

from ..drmaa2.errors import DrmCommunicationError, InternalError


class BackendError(InternalError):
    """A CLI call failed; the message names argv, exit code and stderr."""


class ContainerNotFound(BackendError):
    def __init__(self, container_id: str, *, argv: Sequence[str], exit_code: int | None, stderr: str) -> None:
        self.container_id = container_id
        super().__init__(f"container {container_id!r} not found", argv=argv, exit_code=exit_code, stderr=stderr)


class TaskNotFound(BackendError):
    """The container has no task (never started, or deleted by someone else)."""


class ExecutableNotFound(BackendError):
    """The job's process could not be started: its program is not in the image."""

    def __init__(self, program: str, *, argv: Sequence[str], exit_code: int | None, stderr: str) -> None:
        self.program = program
        super().__init__(f"{program!r} is not in the image", argv=argv, exit_code=exit_code, stderr=stderr)


class StartRefused(BackendError):
    """The runtime refused to start the job's process (its container was made)."""


class ImageNotFound(BackendError):
    """The job's image is not in the daemon's store (ctr never pulls it):
    refused before anything was made."""


class UserNotFound(BackendError):
    """The job's user or group is not in its image: found when the container
    is made (ctr 1.7 and later, nerdctl) or started (docker; ctr 1.6 through
    the tracker's runtime)."""


class DaemonUnreachable(DrmCommunicationError):
    """The daemon did not answer, the CLI is missing, or a call hung."""


class CliParseError(InternalError):
    """The CLI printed something no parser here understands."""

    def __init__(self, argv: Sequence[str], reason: str, output: str) -> None:
        self.output = output
        excerpt = output if len(output) <= 300 else output[:300] + "…"
        super().__init__(f"cannot parse the output of the command ({reason}); output: {excerpt!r}", argv=argv)
