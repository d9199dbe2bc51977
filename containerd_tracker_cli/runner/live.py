"""The live runner: real processes through the ``sh`` library."""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from typing import Sequence

import sh

from .base import CommandNotFound, CommandNotStarted, CommandTimeout, Completed, Runner, Stream, StreamClosed

_ALL_EXIT_CODES = list(range(256))


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def _last_line(exc: BaseException) -> str:
    """sh wraps the child's exec error in a traceback: its last line says why."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


#: The environment variable that bounds a live runner's calls at once.
CONCURRENCY_VARIABLE = "CONTAINERD_TRACKER_CONCURRENCY"
DEFAULT_CONCURRENCY = 8


def default_concurrency() -> int:
    """``$CONTAINERD_TRACKER_CONCURRENCY``, else 8: how many CLI calls of one
    batch (an array's tasks, many records, exits, deletes) run at once; a
    busy host's sysadmin can lower it (1: one after another)."""
    text = os.environ.get(CONCURRENCY_VARIABLE, "").strip()
    if not text:
        return DEFAULT_CONCURRENCY
    if not (text.isascii() and text.isdecimal()) or int(text) < 1:
        from ..drmaa2.errors import InvalidArgumentError

        raise InvalidArgumentError(f"{CONCURRENCY_VARIABLE} must be a whole number of at least 1, not {text!r}")
    return int(text)


class LiveRunner(Runner):
    """Runs processes for real. ``env`` is added to the inherited environment;
    ``concurrency`` bounds the calls run at once (see Runner.concurrency;
    default: ``default_concurrency()``)."""

    def __init__(self, env: dict[str, str] | None = None, concurrency: int | None = None) -> None:
        self._env = {**os.environ, **(env or {})}
        self.concurrency = max(1, default_concurrency() if concurrency is None else concurrency)

    def find(self, executable: str) -> str | None:
        return shutil.which(executable, path=self._env.get("PATH", os.defpath))

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        """Detached for real: a new session, so it outlives this process and
        no terminal signal of the caller reaches it."""
        if any("\0" in arg for arg in argv):
            raise CommandNotStarted("an argument holds a NUL byte", argv)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, env=self._env,
                                       start_new_session=True, close_fds=True,
                                       pass_fds=() if keep_fd is None else (keep_fd,))
        except FileNotFoundError as exc:
            raise CommandNotFound("executable not found", argv) from exc
        except OSError as exc:
            raise CommandNotStarted(str(exc), argv) from exc
        finally:
            os.close(fd)
        # Reaped when it ends, should this process still be alive then: no zombie.
        threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
        return process.pid

    def _command(self, argv: Sequence[str]) -> sh.Command:
        if not argv:
            raise ValueError("empty argv")
        if any("\0" in arg for arg in argv):
            raise CommandNotStarted("an argument holds a NUL byte", argv)
        try:
            # Found on the PATH the process will run with (env may change it).
            return sh.Command(argv[0], search_paths=self._env.get("PATH", os.defpath).split(os.pathsep))
        except sh.CommandNotFound as exc:
            raise CommandNotFound("executable not found", argv) from exc

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        command = self._command(argv)
        try:
            proc = command(
                *argv[1:],
                _in=stdin,
                _bg=True,
                _bg_exc=False,
                _tty_out=False,
                _tty_in=False,
                _ok_code=_ALL_EXIT_CODES,
                _env=self._env,
                _return_cmd=True,
            )
        except sh.ForkException as exc:  # exec refused it, e.g. E2BIG
            raise CommandNotStarted(_last_line(exc), argv) from exc
        # sh's own _timeout polls every 100 ms, which would add ~95 ms to every
        # 10 ms ctr call; a timer that kills the process costs nothing.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            proc.wait()
        except sh.SignalException as exc:
            if expired.is_set():
                raise CommandTimeout(argv, timeout) from exc
            # killed by a signal we did not send
            return Completed(tuple(argv), 128 + abs(exc.exit_code), _decode(exc.stdout), _decode(exc.stderr))
        finally:
            timer.cancel()
        if expired.is_set():
            raise CommandTimeout(argv, timeout)
        return Completed(tuple(argv), proc.exit_code, _decode(proc.stdout), _decode(proc.stderr))

    def stream(self, argv: Sequence[str]) -> Stream:
        return _LiveStream(self._command(argv), tuple(argv), self._env)


class _LiveStream(Stream):
    """A background process whose stdout lines a pump thread queues.

    The end is queued only after the last line *and* the exit status, so a
    reader never sees "closed" while output is still in flight.
    """

    _EOF = object()

    def __init__(self, command: sh.Command, argv: tuple[str, ...], env: dict[str, str]) -> None:
        self.argv = argv
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr: list[str] = []
        self._closed = threading.Event()
        self._exit_code: int | None = None
        try:
            self._proc = command(
                *argv[1:],
                _iter=True,
                _bg_exc=False,
                _err=lambda chunk: self._stderr.append(_decode(chunk)),
                _tty_out=False,
                _tty_in=False,
                _ok_code=_ALL_EXIT_CODES,
                _env=env,
                _new_session=True,
            )
        except sh.ForkException as exc:
            raise CommandNotStarted(_last_line(exc), argv) from exc
        self._pump = threading.Thread(target=self._drain, name=f"stream {argv[0]}", daemon=True)
        self._pump.start()

    def _drain(self) -> None:
        try:
            for line in self._proc:
                self._lines.put(line)
        except (sh.ErrorReturnCode, sh.SignalException):
            pass
        try:
            self._proc.wait()
            self._exit_code = self._proc.exit_code
        except sh.SignalException as exc:
            self._exit_code = 128 + abs(exc.exit_code)
        except sh.ErrorReturnCode as exc:
            self._exit_code = exc.exit_code
        self._lines.put(self._EOF)

    def readline(self, timeout: float) -> str | None:
        try:
            item = self._lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if item is self._EOF:
            self._lines.put(self._EOF)  # stay closed for later reads
            raise StreamClosed(self.argv, self._exit_code, "".join(self._stderr))
        return _decode(item).rstrip("\n")  # type: ignore[arg-type]

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            if self._proc.process.is_alive()[0]:
                self._proc.terminate()
        except (ProcessLookupError, OSError):
            pass
        self._pump.join(timeout=10)
