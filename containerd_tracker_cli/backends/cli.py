"""What every CLI-driven backend shares: running an argv through the
injected runner, and turning failures into typed errors.

A subclass names its daemon and the stderr texts that mean "no such
container" and "daemon unreachable"; the rest is the same for every CLI.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

from ..drmaa2.errors import InvalidArgumentError
from ..runner import CommandNotFound, CommandNotStarted, CommandTimeout, Completed, Runner, Stream, StreamClosed
from .base import ContainerBackend, EventStream
from .errors import (BackendError, ContainerNotFound, DaemonUnreachable, ExecutableNotFound, ImageNotFound,
                     StartRefused, UserNotFound)
from .models import Event


#: The runtime's words (runc, through every CLI) when a job's program is not there.
_EXEC_FAILED = re.compile(
    r'exec: \\?"(?P<program>[^"\\]+)\\?": '
    r'(?:executable file not found|stat [^:]*: no such file or directory|permission denied)'
    r'|executable file `(?P<crun>[^`]+)` not found')  # crun's wording

#: containerd's and the runtime's words when a made container's task cannot
#: be started (ctr and docker alike: the shim's task create runs runc).
_START_FAILED = re.compile(r"failed to create shim task|OCI runtime|starting container process|failed to start")

#: Each CLI's own words for a user or group its image does not have:
#: containerd's (ctr 1.7+, nerdctl), docker's, ctr 1.6's through the tracker's
#: runtime (ctr/runc_user.py) — never a job's own mount or program errors.
_USER_UNKNOWN = re.compile(
    r"\bno (?:users|groups) found\b"
    r"|unable to find (?:user|group) \S+: no matching entries in (?:passwd|group) file"
    r"|mount callback failed on \S+: open \S+/etc/(?:passwd|group): no such file or directory"
    r"|containerd-tracker: extension 'user': ")

#: A pull moves gigabytes; it gets far longer than the ordinary call timeout.
PULL_TIMEOUT = 3600.0

#: IDs per call that takes many: keeps every argv far below the kernel's
#: limit, and each call short (docker inspects one container per request).
BATCH = 100


def batches(container_ids: Iterable[str], size: int = BATCH) -> list[list[str]]:
    """The distinct IDs, in order, ``size`` per call."""
    ids = list(dict.fromkeys(container_ids))
    return [ids[start:start + size] for start in range(0, len(ids), size)]


class CliBackend(ContainerBackend):
    runner: Runner
    commands: Any  # the CLI's argv builder (CtrCommands, DockerCompatCommands)
    address: str
    timeout: float
    #: What the CLI talks to, for messages ("containerd", "docker").
    daemon: str = "containerd"
    #: stderr that means the container does not exist.
    not_found: re.Pattern[str] = re.compile(r"not found")
    #: lower-cased stderr fragments that mean the daemon cannot be reached.
    unreachable: tuple[str, ...] = ()
    #: stderr of a create or run whose image is not in the store, where the
    #: CLI never pulls one itself and refuses before making anything.
    image_missing: re.Pattern[str] | None = None

    @property
    def refuses_missing_images(self) -> bool:  # type: ignore[override]
        return self.image_missing is not None

    def _run(self, argv: Sequence[str], *, allow_failure: bool = False,
             container_id: str | None = None, timeout: float | None = None) -> Completed:
        """Run with the call timeout; a non-zero exit raises unless allowed."""
        try:
            done = self.runner.run(argv, timeout=timeout or self.timeout)
        except CommandNotFound as exc:
            raise DaemonUnreachable(f"{argv[0]} is not installed or not on PATH", argv=argv) from exc
        except CommandTimeout as exc:
            raise DaemonUnreachable(f"{self.daemon} at {self.address} did not answer within {exc.timeout:g} s",
                                    argv=argv) from exc
        except CommandNotStarted as exc:  # what the job asked for cannot be passed to any process
            raise InvalidArgumentError(f"{self.name} could not be started with these arguments: {exc}",
                                       argv=_shortened(argv)) from exc
        if done.exit_code != 0 and not allow_failure:
            self._raise(done, container_id)
        return done

    def _run_started(self, argv: Sequence[str], container_id: str) -> Completed:
        """A call that creates *and* starts a container (``run --detach``): a
        failure of the start is a :class:`StartRefused`, one of the creation
        stays what it is (a full disk is not the job's fault)."""
        try:
            return self._run(argv, container_id=container_id)
        except (ExecutableNotFound, UserNotFound, ImageNotFound):
            raise
        except BackendError as exc:
            if _START_FAILED.search(exc.stderr or ""):
                raise StartRefused("the runtime refused to start the job", argv=exc.argv, exit_code=exc.exit_code,
                                   stderr=exc.stderr) from exc
            raise

    def _raise(self, done: Completed, container_id: str | None) -> None:
        err = done.stderr.strip()
        if (missing := _EXEC_FAILED.search(err)) is not None:
            raise ExecutableNotFound(missing["program"] or missing["crun"], argv=done.argv, exit_code=done.exit_code,
                                     stderr=err)
        if container_id and self.not_found.search(err):
            raise ContainerNotFound(container_id, argv=done.argv, exit_code=done.exit_code, stderr=err)
        if any(marker in err.lower() for marker in self.unreachable):
            raise DaemonUnreachable(f"cannot reach {self.daemon} at {self.address}", argv=done.argv,
                                    exit_code=done.exit_code, stderr=err)
        if self.image_missing is not None and self.image_missing.search(err):
            raise ImageNotFound("the job's image is not present", argv=done.argv, exit_code=done.exit_code,
                                stderr=err)
        if _USER_UNKNOWN.search(err):
            raise UserNotFound("the job's user or group is not in its image", argv=done.argv,
                               exit_code=done.exit_code, stderr=err)
        raise BackendError(f"{self.name} failed", argv=done.argv, exit_code=done.exit_code, stderr=err)

    # Controls: every CLI's command builder names them alike.
    def kill_task(self, container_id: str, signal: str) -> None:
        self._run(self.commands.kill(container_id, signal), container_id=container_id)

    def pause_task(self, container_id: str) -> None:
        self._run(self.commands.pause(container_id), container_id=container_id)

    def resume_task(self, container_id: str) -> None:
        self._run(self.commands.resume(container_id), container_id=container_id)

    def _stream(self, argv: Sequence[str], parse: Callable[[Sequence[str], str], Event]) -> EventStream:
        try:
            return LineEventStream(self.runner.stream(argv), parse)
        except CommandNotFound as exc:
            raise DaemonUnreachable(f"{argv[0]} is not installed or not on PATH", argv=argv) from exc
        except CommandNotStarted as exc:
            raise InvalidArgumentError(f"{self.name} could not be started with these arguments: {exc}",
                                       argv=_shortened(argv)) from exc

    @staticmethod
    def check_executable(runner: Runner, executable: str) -> None:
        """Fail when the tracker is made, not at its first call, if the CLI
        cannot be run at all."""
        if runner.find(executable) is None:
            raise DaemonUnreachable(
                f"{executable!r} is not installed, not on PATH or not executable "
                "(the tracker runs it for every operation)", argv=[executable])


def _shortened(argv: Sequence[str], limit: int = 200) -> list[str]:
    """argv for a message: a 100 KB argument would drown it."""
    return [arg if len(arg) <= limit else f"{arg[:limit]}…({len(arg)} characters)" for arg in argv]


class LineEventStream(EventStream):
    """Events parsed line by line from a streaming process."""

    def __init__(self, stream: Stream, parse: Callable[[Sequence[str], str], Event]) -> None:
        self._stream = stream
        self._parse = parse

    def next(self, timeout: float) -> Event | None:
        try:
            line = self._stream.readline(timeout)
        except StreamClosed as closed:
            raise DaemonUnreachable("the event stream ended", argv=closed.argv, exit_code=closed.exit_code,
                                    stderr=closed.stderr) from closed
        if line is None or not line.strip():
            return None
        return self._parse(self._stream.argv, line)

    def close(self) -> None:
        self._stream.close()
