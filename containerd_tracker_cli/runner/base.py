"""The runner contract: run an argv to completion, or stream its lines."""
from __future__ import annotations

import abc
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Completed:
    """A finished process: what it was, how it ended, what it printed."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class RunnerError(Exception):
    """A process could not be run to an answer at all."""

    def __init__(self, message: str, argv: Sequence[str]) -> None:
        self.argv = tuple(argv)
        super().__init__(f"{message}: {' '.join(self.argv)}")


class CommandNotFound(RunnerError):
    """The executable is not installed (or not on PATH)."""


class CommandNotStarted(RunnerError):
    """The system refused to start the process: an argument too long for
    the kernel, or one holding a NUL byte (no process argument can)."""


class CommandTimeout(RunnerError):
    """The process did not finish in time and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"no answer within {timeout:g} s", argv)


class StreamClosed(Exception):
    """The streaming process ended; ``exit_code`` and ``stderr`` say how."""

    def __init__(self, argv: Sequence[str], exit_code: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(f"stream ended (exit code {exit_code}): {' '.join(self.argv)}: {stderr.strip()}")


class Stream(abc.ABC):
    """Lines of a long-running process (``ctr events``), read with a timeout."""

    argv: tuple[str, ...]

    @abc.abstractmethod
    def readline(self, timeout: float) -> str | None:
        """The next line, or ``None`` if none came within ``timeout`` seconds.

        Raises :class:`StreamClosed` once the process has ended and every
        line it printed has been read.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the process; safe to call twice."""

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Runner(abc.ABC):
    """Runs argv lists. Never a shell string."""

    #: How many calls the tracker may have running at once where work is
    #: independent (an array's tasks are submitted so). One unless the runner
    #: says otherwise: a recording keeps a single order, and a replay serves it.
    concurrency: int = 1

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        """Run ``argv`` to completion; a non-zero exit is returned, not raised."""

    def run_private(self, argv: Sequence[str], *, timeout: float, keep: Callable[[str], str]) -> Completed:
        """``run`` for a command whose output is mostly the host's, not the
        jobs' (the kernel's log): ``keep(stdout)`` is all the caller reads of
        it, and all a recording stores."""
        done = self.run(argv, timeout=timeout)
        return Completed(done.argv, done.exit_code, keep(done.stdout), done.stderr)

    @abc.abstractmethod
    def stream(self, argv: Sequence[str]) -> Stream:
        """Start ``argv`` and hand back its stdout line by line."""

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        """Start ``argv`` detached (its own session, stdout and stderr appended
        to ``log``, ``keep_fd`` inherited) and return its pid without waiting:
        for the one helper process the tracker may leave behind (a throttled
        array's driver). A replay starts nothing and returns ``None``."""
        raise NotImplementedError(f"{type(self).__name__} cannot start background processes")

    def find(self, executable: str) -> str | None:
        """Where ``executable`` would be run from, or ``None`` when it cannot
        be (not on PATH, not executable). Replays need no executable at all."""
        return executable

    def unique_token(self) -> str:
        """A fresh random token (job IDs, probe nonces).

        It lives on the runner because it is the other thing, besides process
        output, that differs from run to run: a recording stores the tokens it
        handed out and a replay hands the same ones back.
        """
        return uuid.uuid4().hex[:12]

    def each(self, call: Callable[[T], R], items: Iterable[T], *, stop_at_error: bool = False,
             done: Callable[[], None] | None = None) -> list[R]:
        """``call`` on every item, up to ``concurrency`` at once; the results
        in the items' order. Every call is waited for; then the first error
        (in that order) is raised. One at a time, in order, when the runner
        allows no more (a recording keeps one order). ``stop_at_error``: once
        a call fails, start no more (those under way end), then raise its
        error. ``done()`` is called after each call that succeeded, in the
        caller's thread (progress)."""
        items = list(items)
        workers = min(self.concurrency, len(items))
        if workers <= 1:
            results: list[R] = []
            first_error: BaseException | None = None
            for item in items:
                try:
                    results.append(call(item))
                except Exception as exc:  # noqa: BLE001 - raised once the others ran, as in parallel
                    if stop_at_error:
                        raise
                    first_error = first_error or exc
                    continue
                if done is not None:
                    done()
            if first_error is not None:
                raise first_error
            return results
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(workers, thread_name_prefix="cli") as pool:
            futures = [pool.submit(call, item) for item in items]
            try:
                for future in as_completed(futures):
                    if future.exception() is None:
                        if done is not None:
                            done()
                    elif stop_at_error:
                        raise future.exception()  # type: ignore[misc]
            except BaseException:  # interrupted, or stopped: start no more, let those under way end
                for future in futures:
                    future.cancel()
                raise
        return [future.result() for future in futures]

    def monotonic(self) -> float:
        """The clock the tracker's deadlines are measured on. Live it is the
        real one; a replay moves its own clock on by each wait the recording
        timed out on instead of sleeping through it, so deadline logic takes
        the branch it took when recorded, at once."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Pause between retries, on this runner's clock (a replay only
        moves its clock on)."""
        time.sleep(max(seconds, 0.0))

    def settled(self, job_id: str, files: Callable[[], Sequence[str]]) -> None:
        """Told each time a job is seen ended, its files complete; ``files()``
        gives their paths (output, error, input), asked only when needed. Live
        there is nothing to do; a recording keeps what the files hold the first
        time and a replay writes it back at the same point, so a test that reads
        a job's output works offline as it does live."""
